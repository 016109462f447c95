"""CPU sampling speed of bundled text-to-image models, per sampler, before and after genlab's CPU path.

    python benchmarks/cpu_sampling.py                                   # world-t2i, 6 samplers
    python benchmarks/cpu_sampling.py --models world-t2i runs/x/world-t2i.safetensors --compile
    python benchmarks/cpu_sampling.py --vs-diffusers --num-images 32 --rounds 3   # the peer

--vs-diffusers: genlab against diffusers on the same U-Net. The twin is diffusers'
UNet2DConditionModel built from the genlab denoiser's config (DownBlock2D/CrossAttnDownBlock2D,
scale-shift ResNet blocks, conv projections, GEGLU, the pooled text through a "projection" class
embedding) with the genlab weights copied in (diffusers' q/k/v have no bias: those are left
out), driven by diffusers' own StableDiffusionPipeline (DPM-Solver++ 2M on the genlab betas,
same steps and guidance, the genlab prompt embeddings given as prompt_embeds, output_type
"latent": no text encoder or VAE in its time, which favours diffusers). genlab is timed as
shipped, `pipe(prompt, num_images=N)`, eager and compiled (pipe.compile(): one inductor graph
called on micro-batches of 16 rows; --compile-micro-batch changes that); the three run in turn,
--rounds times, in one process, so that load on a shared CPU falls on all alike, the order
rotated each round, at each --threads count in turn (`--threads 1 2`: compiled once; compile
time is not counted). Each call is timed on the wall clock and on the process's CPU time
(which, at 1 thread, leaves out the waits for a core held by another process). Per thread
count the medians and the per-round ratios with their range are reported, with the load
average before, after and per round, and a closing summary gives compiled/diffusers per thread
count: median of the per-round ratios, quartiles and range, wall clock and CPU time.

Configurations (the same model, prompt, seeds, sampler and 20 steps in each):

- before: what a straightforward sampling loop does: one image at a time, the conditional and
  unconditional passes of classifier-free guidance as two forward calls, autograd left on
  (no torch.no_grad / inference_mode), one thread. A two-stage model (a layout planner) plans
  each image's layout in the loop too, with the seed the pipeline gives it.
- threads: the same loop on every core (torch.set_num_threads(os.cpu_count())).
- after: `pipe(prompt, num_images=N)` as shipped: the N images in one batch, both guidance halves
  in one forward call, torch.inference_mode, every core.
- after+compile (--compile): `after` with the denoiser's blocks compiled (torch.compile, inductor's
  C++ backend on a CPU); compile time is reported apart and not counted.

Each configuration is timed after a warm-up call; images/s = N / wall time. The script also checks
that `before` and `after` draw the same images (max |Δ| on [-1, 1] pixels, float rounding only).
Writes cpu_sampling.json to --out-dir and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import genlab
from genlab.cli import ArgumentParser
from genlab.diffusion import SAMPLERS, sample
from genlab.errors import GenlabError, InvalidArgument
from genlab.nn.utils import CPU_MICRO_BATCH
from genlab.pipelines.text2image import DEFAULT_SAMPLER

DEFAULT_SAMPLERS = ("ddim", "ddpm", "dpmpp_2m", "euler", "euler_a", "heun")
# No fresh noise after x_T (ddim at its default eta = 0): the loop and the batch must agree.
DETERMINISTIC = ("ddim", "dpmpp_2m", "euler", "heun")
PROMPT = "a red circle above a blue square on a black background"
# --vs-diffusers --micro-batch-threads N: the compiled contender with micro-batches up to N threads
MICRO_VARIANT = "genlab+compile+micro"


def naive_images(pipe, sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
    """The straightforward loop: per image, two forward calls per step, autograd on."""
    denoiser, guidance = pipe.denoiser, pipe.default_guidance_scale
    C, S = denoiser.config.in_channels, pipe.image_size
    out = []
    with torch.enable_grad():
        text = pipe.text_encoder.encode([PROMPT]).cond
        uncond = pipe.text_encoder.null(1).cond
        cond = text
        if pipe.layout_planner is not None:  # a two-stage model: the null plan in the other half
            from genlab.world.layout import layout_features, null_layout_features

            C_plan = denoiser.config.layout_channels
            readings = pipe.read_prompts([PROMPT])  # the background the prompt names, if read
            backgrounds = None if readings is None else [readings[0].request.background]
            uncond = {**uncond, "layout": null_layout_features(1, pipe.device, channels=C_plan)}

        def denoise(x, t):
            eps_c = denoiser(x, t, cond)
            eps_u = denoiser(x, t, uncond)
            return eps_u + guidance * (eps_c - eps_u)

        for i in range(n):
            if pipe.layout_planner is not None:  # image i's plan, sampled with seed + i
                tokens = pipe.text_encoder.tokenizer([PROMPT], pipe.max_prompt_tokens)
                plan = pipe.layout_planner.sample(
                    tokens.ids, tokens.mask, [torch.Generator().manual_seed(seed + i)]
                )
                cond = {**text, "layout": layout_features(plan, backgrounds, channels=C_plan)}
            x_T = torch.randn((1, C, S, S), generator=torch.Generator().manual_seed(seed + i))
            x0 = sample(
                denoise,
                (1, C, S, S),
                schedule=pipe.schedule,
                prediction_type=pipe.prediction_type,
                sampler=sampler,
                num_inference_steps=steps,
                generator=torch.Generator().manual_seed(seed + i),
                x_T=x_T,
            )
            out.append(x0.detach())
    return torch.cat(out).clamp(-1, 1)


def pipeline_images(pipe, sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
    result = pipe(PROMPT, num_inference_steps=steps, sampler=sampler, seed=seed, num_images=n)
    arrays = np.stack([np.asarray(im, dtype=np.float32) for im in result.images])
    return torch.from_numpy(arrays).permute(0, 3, 1, 2) / 127.5 - 1.0


def timed(fn, *args) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> the uint8 pixel values the pipeline writes, back on [-1, 1]."""
    return ((x + 1) * 127.5).round().clamp(0, 255) / 127.5 - 1.0


def bench_model(name: str, samplers, steps: int, n: int, n_before: int, compile_: bool) -> dict:
    cores = os.cpu_count() or 1
    pipe = genlab.load(name)
    rows: dict[str, dict] = {}
    configs = ["before", "threads", "after"]
    compile_s = None
    for sampler in samplers:
        row: dict[str, float] = {}
        for config in configs:
            torch.set_num_threads(1 if config == "before" else cores)
            if config == "after":
                pipeline_images(pipe, sampler, 2, 1, 0)  # warm-up
                dt, after = timed(pipeline_images, pipe, sampler, steps, n, 0)
                row["after"] = n / dt
            else:
                naive_images(pipe, sampler, 2, 1, 0)
                dt, before = timed(naive_images, pipe, sampler, steps, n_before, 0)
                row[config] = n_before / dt
        # euler_a and ddpm draw fresh noise each step from a generator that is per image in the
        # loop and per batch in the pipeline, so only the deterministic samplers must agree.
        if sampler in DETERMINISTIC:
            diff = (to_pixels(before) - after[:n_before]).abs().max().item()
            row["max_abs_diff_before_vs_after"] = diff
        rows[sampler] = row
    if compile_:
        torch.set_num_threads(cores)
        start = time.perf_counter()
        compiled = pipe.compile()
        if compiled:
            pipeline_images(pipe, samplers[0], 2, n, 0)  # compile for this batch shape
            pipeline_images(pipe, samplers[0], 2, 1, 0)
            compile_s = time.perf_counter() - start
            for sampler in samplers:
                pipeline_images(pipe, sampler, 2, n, 0)
                dt, _ = timed(pipeline_images, pipe, sampler, steps, n, 0)
                rows[sampler]["after+compile"] = n / dt
            configs.append("after+compile")
    return {"rows": rows, "configs": configs, "compile_s": compile_s}


def diffusers_twin(denoiser):
    """diffusers' UNet2DConditionModel with the same layers as a genlab U-Net denoiser, holding its
    weights (q/k/v biases aside: diffusers' attention has none; a denoiser with zero q/k/v biases
    gives the same outputs). Refuses denoisers diffusers cannot express (layout adapters)."""
    from diffusers import UNet2DConditionModel

    c = denoiser.config
    if getattr(c, "arch", None) != "unet" or c.num_classes or c.layout_channels:
        raise InvalidArgument(
            "--models", "a text-to-image U-Net without class labels or layout adapters", c.arch
        )
    levels = range(len(c.channel_mult))
    widths = tuple(c.model_channels * m for m in c.channel_mult)
    cross = {lvl: lvl in c.attention_levels for lvl in levels}
    twin = UNet2DConditionModel(
        in_channels=c.in_channels,
        out_channels=c.out_channels or c.in_channels,
        block_out_channels=widths,
        layers_per_block=c.num_res_blocks,
        down_block_types=tuple(
            "CrossAttnDownBlock2D" if cross[lvl] else "DownBlock2D" for lvl in levels
        ),
        up_block_types=tuple(
            "CrossAttnUpBlock2D" if cross[lvl] else "UpBlock2D" for lvl in reversed(levels)
        ),
        cross_attention_dim=c.context_dim,
        # diffusers names the head count attention_head_dim here (its own note says so)
        attention_head_dim=tuple(max(1, w // c.head_dim) for w in widths),
        transformer_layers_per_block=c.transformer_depth,
        norm_num_groups=32,
        norm_eps=1e-6,
        resnet_time_scale_shift="scale_shift",
        class_embed_type="projection" if c.pooled_dim else None,
        projection_class_embeddings_input_dim=c.pooled_dim,
        flip_sin_to_cos=True,
        freq_shift=0,
    )
    g, sd = denoiser.state_dict(), {}

    def copy(src, dst):
        for p in ("weight", "bias"):
            if f"{src}.{p}" in g:
                sd[f"{dst}.{p}"] = g[f"{src}.{p}"]

    def res(src, dst):
        for a, b in (("norm1", "norm1"), ("conv1", "conv1"), ("emb_proj.1", "time_emb_proj"),
                     ("norm2", "norm2"), ("conv2", "conv2"), ("skip", "conv_shortcut")):  # fmt: skip
            copy(f"{src}.{a}", f"{dst}.{b}")

    def attn(src, dst):
        for a in ("norm", "proj_in", "proj_out"):
            copy(f"{src}.{a}", f"{dst}.{a}")
        for i in range(c.transformer_depth):
            s, d = f"{src}.blocks.{i}", f"{dst}.transformer_blocks.{i}"
            for a, b in (("norm1", "norm1"), ("norm_cross", "norm2"), ("norm2", "norm3"),
                         ("attn.proj", "attn1.to_out.0"), ("cross.proj", "attn2.to_out.0"),
                         ("mlp.fc1", "ff.net.0.proj"), ("mlp.fc2", "ff.net.2")):  # fmt: skip
                copy(f"{s}.{a}", f"{d}.{b}")
            q, k, v = g[f"{s}.attn.qkv.weight"].chunk(3)
            ck, cv = g[f"{s}.cross.kv.weight"].chunk(2)
            sd.update({f"{d}.attn1.to_q.weight": q, f"{d}.attn1.to_k.weight": k,
                       f"{d}.attn1.to_v.weight": v, f"{d}.attn2.to_q.weight": g[f"{s}.cross.q.weight"],
                       f"{d}.attn2.to_k.weight": ck, f"{d}.attn2.to_v.weight": cv})  # fmt: skip

    for a, b in (("input_blocks.0.0", "conv_in"), ("time_embed.mlp.0", "time_embedding.linear_1"),
                 ("time_embed.mlp.2", "time_embedding.linear_2"), ("out.0", "conv_norm_out"),
                 ("pooled_embed.0", "class_embedding.linear_1"), ("conv_out", "conv_out"),
                 ("pooled_embed.2", "class_embedding.linear_2")):  # fmt: skip
        copy(a, b)
    stage = 1  # genlab's input stages: the input conv, then per level its blocks and a Downsample
    for lvl in levels:
        for j in range(c.num_res_blocks):
            res(f"input_blocks.{stage}.0", f"down_blocks.{lvl}.resnets.{j}")
            if cross[lvl]:
                attn(f"input_blocks.{stage}.1", f"down_blocks.{lvl}.attentions.{j}")
            stage += 1
        if lvl != levels[-1]:
            copy(f"input_blocks.{stage}.0.conv", f"down_blocks.{lvl}.downsamplers.0.conv")
            stage += 1
    res("middle_block.0.0", "mid_block.resnets.0")
    attn("middle_block.0.1", "mid_block.attentions.0")
    res("middle_block.0.2", "mid_block.resnets.1")
    stage = 0
    for u, lvl in enumerate(reversed(levels)):
        for j in range(c.num_res_blocks + 1):
            res(f"output_blocks.{stage}.0", f"up_blocks.{u}.resnets.{j}")
            if cross[lvl]:
                attn(f"output_blocks.{stage}.1", f"up_blocks.{u}.attentions.{j}")
            if lvl != 0 and j == c.num_res_blocks:
                last = 2 if cross[lvl] else 1
                copy(f"output_blocks.{stage}.{last}.conv", f"up_blocks.{u}.upsamplers.0.conv")
            stage += 1
    twin.load_state_dict(sd, strict=True)
    return twin.eval()


def diffusers_pipeline(pipe):
    """(StableDiffusionPipeline around the denoiser's twin, images(n, steps, seed)): diffusers'
    own sampling loop on the same U-Net, scheduler betas, prompt and guidance as `pipe`."""
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline

    twin = diffusers_twin(pipe.denoiser)
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=pipe.schedule.num_train_timesteps,
        trained_betas=pipe.schedule.betas.double().numpy(),
        prediction_type=pipe.prediction_type,
        algorithm_type="dpmsolver++",
        solver_order=2,
        steps_offset=1,  # what StableDiffusionPipeline asks of a scheduler (else it warns)
    )
    # One block: vae_scale_factor 1, so the "latents" are the pixels the U-Net denoises; with
    # output_type="latent" the pipeline never runs it.
    vae = AutoencoderKL(block_out_channels=(8,), latent_channels=twin.config.in_channels,
                        norm_num_groups=8)  # fmt: skip
    sd = StableDiffusionPipeline(
        vae=vae, text_encoder=None, tokenizer=None, unet=twin, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    sd.set_progress_bar_config(disable=True)
    text = pipe.text_encoder.encode([PROMPT]).cond
    null = pipe.text_encoder.null(1).cond
    state = {}

    def pooled_text(module, args, kwargs):
        # StableDiffusionPipeline passes no class labels: the pooled text (null half first, as
        # the pipeline orders the guidance batch) goes in here, the only addition to its loop.
        kwargs["class_labels"] = state["pooled"]
        return args, kwargs

    if twin.config.class_embed_type is not None:
        twin.register_forward_pre_hook(pooled_text, with_kwargs=True)

    def images(n: int, steps: int, seed: int) -> torch.Tensor:
        state["pooled"] = torch.cat([null["pooled"].expand(n, -1), text["pooled"].expand(n, -1)])
        C, S = twin.config.in_channels, pipe.image_size
        latents = torch.randn((n, C, S, S), generator=torch.Generator().manual_seed(seed))
        out = sd(
            prompt_embeds=text["tokens"].expand(n, -1, -1),
            negative_prompt_embeds=null["tokens"].expand(n, -1, -1),
            num_inference_steps=steps,
            guidance_scale=pipe.default_guidance_scale,
            height=S,
            width=S,
            latents=latents,
            output_type="latent",
        )
        return out.images.clamp(-1, 1)

    return sd, images


def load_average() -> float:
    return os.getloadavg()[0]


def bench_vs_diffusers(
    name: str,
    steps: int,
    n: int,
    rounds: int,
    compile_: bool,
    threads: list[int] | None = None,
    backend: str | None = None,
    micro_batch: int | None = None,
    micro_batch_threads: int | None = None,
) -> dict:
    """genlab eager, genlab compiled and diffusers eager on the same U-Net, in turn, `rounds`
    times at each thread count of `threads` (default: every core); compiled once (its kernels
    read the thread count at run time), then per thread count: images/s medians, per-round
    ratios with their range, load averages. `micro_batch_threads`: a fourth contender, compiled
    with micro-batches up to that many threads (`compile_for_inference`'s
    micro_batch_max_threads), for the A/B against the default in the same rounds."""
    threads = threads or [os.cpu_count() or 1]
    torch.set_num_threads(threads[0])
    eager = genlab.load(name)
    contenders = {"genlab": lambda: pipeline_images(eager, DEFAULT_SAMPLER, steps, n, 0)}
    _, diffusers_images = diffusers_pipeline(eager)
    contenders["diffusers"] = lambda: diffusers_images(n, steps, 0)
    result = {"sampler": DEFAULT_SAMPLER, "steps": steps, "num_images": n, "rounds": rounds,
              "compile_s": None, "compile_error": None, "compile_cache": {},
              "micro_batch": CPU_MICRO_BATCH if micro_batch is None else micro_batch}  # fmt: skip
    if compile_:
        from torch._dynamo.utils import counters

        compiled = genlab.load(name)
        before = dict(counters["inductor"])
        start = time.perf_counter()
        options = {"backend": backend} if backend else {}
        if micro_batch is not None:
            options["micro_batch"] = micro_batch
        if compiled.compile(**options):
            pipeline_images(compiled, DEFAULT_SAMPLER, 2, n, 0)  # compiles for this batch shape
            result["compile_s"] = time.perf_counter() - start
            result["compile_error"] = compiled.compile_error
            # inductor's on-disk FX graph cache: a hit loads the kernels a former run built
            result["compile_cache"] = {
                k: counters["inductor"][k] - before.get(k, 0)
                for k in ("fxgraph_cache_hit", "fxgraph_cache_miss", "fxgraph_cache_bypass")
            }
            contenders["genlab+compile"] = lambda: pipeline_images(
                compiled, DEFAULT_SAMPLER, steps, n, 0
            )
        if micro_batch_threads and compiled.compile_error is None:
            variant = genlab.load(name)  # the same graphs: inductor's cache has them now
            options["micro_batch_max_threads"] = micro_batch_threads
            if variant.compile(**options):
                pipeline_images(variant, DEFAULT_SAMPLER, 2, n, 0)
                contenders[MICRO_VARIANT] = lambda: pipeline_images(
                    variant, DEFAULT_SAMPLER, steps, n, 0
                )
                result["micro_batch_threads"] = micro_batch_threads
    result["runs"] = [time_in_turn(contenders, n, rounds, t, result["compile_s"]) for t in threads]
    return result


def time_in_turn(contenders: dict, n: int, rounds: int, threads: int, compile_s) -> dict:
    """Each contender once per round, `rounds` times at `threads` torch threads (after one
    warm-up call each), the order rotated each round so that none always runs first or after the
    same neighbour: images/s on the wall clock, and on the process's CPU time, medians, the
    per-round ratios of both, the load average per round."""
    torch.set_num_threads(threads)
    for fn in contenders.values():  # warm-up: first-call allocations, thread pools
        fn()
    load_before = load_average()
    keys = list(contenders)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    loads = []
    outputs = {}
    for r in range(rounds):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            c0 = time.process_time()
            dt, outputs[key] = timed(contenders[key])
            cpu[key].append(time.process_time() - c0)
            times[key].append(dt)
        loads.append(load_average())
    load_after = load_average()
    ips = {k: [n / t for t in v] for k, v in times.items()}
    # CPU time (user + system, every thread of the process): at 1 thread it leaves out the time
    # the process waited for a core another process held, which on a shared CPU is most of the
    # spread between rounds; at more threads it also counts threads spinning at barriers.
    cpu_ips = {k: [n / t for t in v] for k, v in cpu.items()}
    run = {
        "threads": torch.get_num_threads(),
        "images_per_s": ips,
        "median_images_per_s": {k: float(np.median(v)) for k, v in ips.items()},
        "images_per_cpu_s": cpu_ips,
        "median_images_per_cpu_s": {k: float(np.median(v)) for k, v in cpu_ips.items()},
        "load_average_1min": [load_before, load_after],
        "load_average_1min_per_round": loads,
    }
    pairs = [(key, "diffusers") for key in contenders if key != "diffusers"]
    if "genlab+compile" in contenders:
        pairs.append(("genlab+compile", "genlab"))
    if MICRO_VARIANT in contenders:
        pairs.append((MICRO_VARIANT, "genlab+compile"))
    for key, base in pairs:
        per_round = [a / b for a, b in zip(ips[key], ips[base])]
        run[f"{key}/{base}"] = float(np.median(per_round))
        run[f"{key}/{base} per round"] = per_round
        per_round_cpu = [a / b for a, b in zip(cpu_ips[key], cpu_ips[base])]
        run[f"{key}/{base} cpu"] = float(np.median(per_round_cpu))
        run[f"{key}/{base} cpu per round"] = per_round_cpu
    if "genlab+compile" in contenders:
        # Images after which compiling has paid for itself at this batch shape: its compile
        # time over the time it saves per image (None when it saves none).
        saved = (
            1 / run["median_images_per_s"]["genlab"]
            - 1 / run["median_images_per_s"]["genlab+compile"]
        )
        run["break_even_images"] = compile_s / saved if saved > 0 else None
        run["max_abs_diff_compiled_vs_eager"] = (
            (outputs["genlab+compile"] - outputs["genlab"]).abs().max().item()
        )
    # Same U-Net, same noise; different timestep grids and text handling (genlab reads the prompt
    # with its grammar), so the images are close, not equal: reported, not asserted.
    run["mean_abs_diff_genlab_vs_diffusers"] = (
        (outputs["genlab"] - to_pixels(outputs["diffusers"])).abs().mean().item()
    )
    return run


def threads_text(n: int) -> str:
    return f"{n} thread" + ("s" if n != 1 else "")


def print_vs_diffusers(name: str, r: dict) -> None:
    if r["compile_s"] is not None:
        hits = r["compile_cache"]
        print(f"\n{name}: compile time (not counted) {r['compile_s']:.0f} s at batch "
              f"{r['num_images']}, micro-batches of {r['micro_batch'] or 'all'} rows (FX graph "
              f"cache: {hits.get('fxgraph_cache_hit', 0)} hit, "
              f"{hits.get('fxgraph_cache_miss', 0)} miss)")  # fmt: skip
    if r.get("compile_error"):
        print(f"compile failed, eager instead: {r['compile_error']}")
    for run in r["runs"]:
        print(f"\n{name}: genlab vs diffusers on the same U-Net ({r['sampler']}, {r['steps']} "
              f"steps, batch {r['num_images']}, {threads_text(run['threads'])}, "
              f"{r['rounds']} rounds)")  # fmt: skip
        for key, v in run["median_images_per_s"].items():
            print(f"{key:16s}{v:8.2f} images/s{run['median_images_per_cpu_s'][key]:8.2f} per "
                  "CPU-second")  # fmt: skip
        for ratio in [k[: -len(" per round")] for k in run if k.endswith(" per round")]:
            rounds = run[f"{ratio} per round"]
            print(f"{ratio:30s}{run[ratio]:6.2f}× (median of per-round ratios; range "
                  f"{min(rounds):.2f}–{max(rounds):.2f}: " + ", ".join(f"{x:.2f}" for x in rounds)
                  + ")")  # fmt: skip
        if "break_even_images" in run:
            even = run["break_even_images"]
            print("compiling pays after " + (f"{even:.0f} images" if even else "never (no saving)")
                  + f"; compiled vs eager images max |Δ| "
                  f"{run['max_abs_diff_compiled_vs_eager']:.2g}")  # fmt: skip
        loads = run.get("load_average_1min_per_round") or run["load_average_1min"]
        print(f"load average (1 min) before/after: {run['load_average_1min'][0]:.1f} / "
              f"{run['load_average_1min'][1]:.1f}; over the rounds {min(loads):.1f}–"
              f"{max(loads):.1f}")  # fmt: skip
    key = "genlab+compile/diffusers" if r["compile_s"] is not None else "genlab/diffusers"
    print(f"\n{name}, {key}: median of the per-round ratios [quartiles] (range), on the wall "
          "clock and on CPU time, and the load:")  # fmt: skip
    for run in r["runs"]:
        loads = run.get("load_average_1min_per_round") or run["load_average_1min"]
        if f"{MICRO_VARIANT}/diffusers" in run:  # the A/B's other arm, in the same rounds
            print(f"  {threads_text(run['threads'])}, {MICRO_VARIANT}/diffusers: "
                  f"{spread(run, f'{MICRO_VARIANT}/diffusers')}; CPU time "
                  f"{spread(run, f'{MICRO_VARIANT}/diffusers cpu')}")  # fmt: skip
        print(f"  {threads_text(run['threads'])}: {spread(run, key)}; CPU time "
              f"{spread(run, key + ' cpu')}; load {run['load_average_1min'][0]:.1f}→"
              f"{run['load_average_1min'][1]:.1f} (rounds {min(loads):.1f}–{max(loads):.1f})")  # fmt: skip


def spread(run: dict, ratio: str) -> str:
    """`ratio`'s median of per-round values, quartiles and range, e.g. 1.41× [1.35–1.46] (1.2–1.6)."""
    rounds = run[f"{ratio} per round"]
    q1, q3 = np.percentile(rounds, [25, 75])
    return f"{run[ratio]:.2f}× [{q1:.2f}–{q3:.2f}] ({min(rounds):.2f}–{max(rounds):.2f})"


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["world-t2i"], help="bundled names or paths")
    p.add_argument("--samplers", nargs="+", default=list(DEFAULT_SAMPLERS))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--num-images", type=int, default=16, help="images per timed batch (after)")
    p.add_argument("--num-before", type=int, default=4, help="images timed in the slow loops")
    p.add_argument("--compile", action="store_true", help="also time torch.compile'd blocks")
    p.add_argument("--vs-diffusers", action="store_true",
                   help="genlab (eager, and compiled with --compile) vs diffusers' pipeline on the "
                   "same U-Net, in turn in one process")  # fmt: skip
    p.add_argument("--rounds", type=int, default=3, help="--vs-diffusers: timed rounds")
    p.add_argument("--compile-backend", default=None,
                   help="--vs-diffusers --compile: a torch.compile backend instead of genlab's CPU "
                   "path (inductor, frozen weights); e.g. eager, to check the run without a C++ "
                   "build")  # fmt: skip
    p.add_argument("--compile-micro-batch", type=int, default=None,
                   help="--vs-diffusers --compile: rows per compiled call (default: pipe.compile's, "
                   f"{CPU_MICRO_BATCH}; 0: the whole batch in one call)")  # fmt: skip
    p.add_argument("--micro-batch-threads", type=int, default=None,
                   help="--vs-diffusers --compile: also time the compiled pipeline with micro-batches "
                   "up to this many threads (genlab+compile+micro; default: micro-batches at 1 "
                   "thread only), in the same rounds")  # fmt: skip
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="--vs-diffusers: torch threads, one or more counts timed in turn in one "
                   "run, compiled once (default: every core; 1 on a busy machine, where threads "
                   "that wait on each other are slower than one)")  # fmt: skip
    p.add_argument("--out-dir", default="benchmarks/results/cpu_sampling")
    args = p.parse_args(argv)
    try:
        for s in args.samplers:
            if s not in SAMPLERS:
                raise InvalidArgument("--samplers", "names among " + ", ".join(sorted(SAMPLERS)), s)
        for flag, v in (("--steps", args.steps), ("--num-images", args.num_images),
                        ("--num-before", args.num_before)):  # fmt: skip
            if v < 1:
                raise InvalidArgument(flag, "an integer ≥ 1", v)
        ints = [("--rounds", args.rounds)] + [("--threads", t) for t in args.threads or []]
        if args.micro_batch_threads is not None:
            ints.append(("--micro-batch-threads", args.micro_batch_threads))
        for flag, v in ints:
            if v < 1:
                raise InvalidArgument(flag, "an integer ≥ 1", v)
        if args.compile_micro_batch is not None and args.compile_micro_batch < 0:
            raise InvalidArgument(
                "--compile-micro-batch", "an integer ≥ 0", args.compile_micro_batch
            )
        if args.vs_diffusers:
            report = {"cpu": platform.processor() or platform.machine(),
                      "cores": os.cpu_count(), "torch": torch.__version__, "models": {}}  # fmt: skip
            for name in args.models:
                r = bench_vs_diffusers(
                    name, args.steps, args.num_images, args.rounds, args.compile, args.threads,
                    args.compile_backend, args.compile_micro_batch, args.micro_batch_threads,
                )  # fmt: skip
                report["models"][name] = r
                print_vs_diffusers(name, r)
            return write_report(report, args.out_dir, "cpu_vs_diffusers.json")
        if args.num_before > args.num_images:
            raise InvalidArgument("--num-before", f"at most --num-images ({args.num_images})",
                                  args.num_before)  # fmt: skip
        report = {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "steps": args.steps,
            "num_images": args.num_images,
            "num_before": args.num_before,
            "models": {},
        }
        for name in args.models:
            result = bench_model(
                name, args.samplers, args.steps, args.num_images, args.num_before, args.compile
            )
            report["models"][name] = result
            print_table(name, result)
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    return write_report(report, args.out_dir, "cpu_sampling.json")


def write_report(report: dict, out_dir: str, filename: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / filename).write_text(json.dumps(report, indent=2))
    print(f"wrote {out / filename}")
    return 0


def print_table(name: str, result: dict) -> None:
    configs = result["configs"]
    print(f"\n{name}: images/s at the steps given (cores: {os.cpu_count()})")
    head = f"{'sampler':10s}" + "".join(f"{c:>15s}" for c in configs) + f"{'after/before':>14s}"
    print(head + f"{'max |Δ|':>10s}")
    for sampler, row in result["rows"].items():
        cells = "".join(f"{row.get(c, float('nan')):15.2f}" for c in configs)
        ratio = row["after"] / row["before"]
        diff = row.get("max_abs_diff_before_vs_after")
        print(f"{sampler:10s}{cells}{ratio:13.1f}×{'' if diff is None else f'{diff:10.4f}'}")
    if result["compile_s"] is not None:
        print(f"compile time (not counted): {result['compile_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
