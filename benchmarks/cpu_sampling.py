"""CPU sampling speed of bundled text-to-image models, per sampler, before and after genlab's CPU path.

    python benchmarks/cpu_sampling.py                                   # world-t2i, 6 samplers
    python benchmarks/cpu_sampling.py --models world-t2i runs/x/world-t2i.safetensors --compile

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

DEFAULT_SAMPLERS = ("ddim", "ddpm", "dpmpp_2m", "euler", "euler_a", "heun")
# No fresh noise after x_T (ddim at its default eta = 0): the loop and the batch must agree.
DETERMINISTIC = ("ddim", "dpmpp_2m", "euler", "heun")
PROMPT = "a red circle above a blue square on a black background"


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


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["world-t2i"], help="bundled names or paths")
    p.add_argument("--samplers", nargs="+", default=list(DEFAULT_SAMPLERS))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--num-images", type=int, default=16, help="images per timed batch (after)")
    p.add_argument("--num-before", type=int, default=4, help="images timed in the slow loops")
    p.add_argument("--compile", action="store_true", help="also time torch.compile'd blocks")
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
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cpu_sampling.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'cpu_sampling.json'}")
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
