"""GPU speed of genlab's DiT at the paper's sizes (S/2, B/2, XL/2 on 32×32×4 latents): training
images/s, TFLOP/s and MFU for TF32 vs bf16 vs bf16 + torch.compile, and 20-step CFG sampling.

    python benchmarks/gpu_dit.py --out results.json      # one GPU, under 8 minutes on an H100
    python benchmarks/gpu_dit.py --tiny                  # tiny sizes on the CPU, a few seconds

Conditioning: `--cond class` (default) is the paper's: a 1,000-class label embedding added to the
timestep embedding. `--cond text` runs the text path instead (cross-attention in every block to a
1-token sequence, plus a pooled vector in adaLN, both from a learned class embedding); it costs
+2·N·D² multiply-adds per block (q and output projections): forward GFLOP per image S/2 12.1 -> 13.9,
B/2 46.0 -> 53.3, XL/2 237.2 -> 275.5 (+15-16%), as FlopCounterMode counts them.
FLOPs are counted by torch.utils.flop_counter.FlopCounterMode on one eager forward+backward
(optimizer excluded); MFU divides achieved FLOP/s by a bf16 matmul peak measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from genlab.diffusion import NoiseSchedule, classifier_free_guidance, sample
from genlab.models import create_model, model_config
from genlab.nn import (
    attention_backend,
    prefer_attention_backend,
    run_with_compile_fallback,
    uncompile,
)
from genlab.nn.attention import SDPA_BACKENDS

TRAIN_MODES = ("tf32", "bf16", "bf16+compile")
DEFAULT_BATCH = {"DiT-S/2": 256, "DiT-B/2": 256, "DiT-L/2": 128, "DiT-XL/2": 64}
# --tiny: the same architectures at toy width/depth on 8×8 inputs, for a CPU smoke run.
TINY = dict(depth=2, hidden_size=64, num_heads=2, input_size=8, num_classes=10)


class ClassAsText(nn.Module):
    """A DiT conditioned through its text path by a learned class embedding: the label gives a
    1-token sequence for cross-attention and the same vector as the pooled embedding."""

    def __init__(self, dit: nn.Module, num_classes: int):
        super().__init__()
        self.dit = dit
        self.config = dit.config
        self.null_label = num_classes
        self.embedding = nn.Embedding(num_classes + 1, dit.config.context_dim)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x, t, cond):
        e = self.embedding(cond["labels"])  # (B, D)
        text = {
            "tokens": e[:, None],
            "mask": torch.ones_like(e[:, :1], dtype=torch.bool),
            "pooled": e,
        }
        return self.dit(x, t, text)

    def compile(self, **kwargs) -> bool:
        ok = self.dit.compile(**kwargs)
        self._genlab_compiled = ok
        return ok


def build_model(name: str, cond: str, tiny: bool, device: torch.device) -> tuple[nn.Module, int]:
    """The named DiT (tiny-sized with --tiny) and its number of classes."""
    overrides = dict(TINY) if tiny else {}
    if cond == "class":
        model = create_model(name, **overrides)
        num_classes = model.config.num_classes
    else:
        num_classes = overrides.pop("num_classes", 1000)
        hidden = overrides.get("hidden_size") or model_config(name).hidden_size
        dit = create_model(name, num_classes=0, context_dim=hidden, pooled_dim=hidden, **overrides)
        model = ClassAsText(dit, num_classes)
    return model.to(device), num_classes


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, mode: str):
    if mode.startswith("bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def measure_matmul_peak(device: torch.device, tiny: bool) -> float:
    """Achieved bf16 TFLOP/s of a large square matmul: the MFU denominator."""
    n, iters = (256, 3) if tiny else (8192, 50)
    dtype = torch.bfloat16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        a @ b
    synchronize(device)
    return 2 * n**3 * iters / (time.perf_counter() - start) / 1e12


def count_flops(
    model: nn.Module, shape, num_classes: int, device: torch.device
) -> tuple[float, float]:
    """(forward, forward+backward) FLOPs per image, counted on a 2-image eager fp32 step."""
    x = torch.randn(2, *shape[1:], device=device)
    t = torch.randint(0, 1000, (2,), device=device).float()
    y = torch.randint(0, num_classes, (2,), device=device)
    model.train()
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x, t, {"labels": y})
    forward = counter.get_total_flops()
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x, t, {"labels": y})
        out.float().square().mean().backward()
    model.zero_grad(set_to_none=True)
    return forward / 2, counter.get_total_flops() / 2


def make_optimizer(model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """AdamW as DiT trains (lr 1e-4, no weight decay), fused into one kernel where available."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=1e-4, weight_decay=0, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=1e-4, weight_decay=0, foreach=True)


# Kernel families of a profile, by name (first match wins; CUDA kernel names, or CPU op names).
KERNEL_FAMILIES = (
    ("attention", ("flash", "fmha", "attention", "_efficient_attention", "sdpa")),
    ("gemm", ("gemm", "cutlass", "cublas", "sm90_xmma", "sm80_xmma", "nvjet", "aten::mm",
              "aten::addmm", "aten::bmm", "aten::linear", "aten::convolution", "triton_mm")),
    ("optimizer + EMA", ("adam", "foreach", "multi_tensor", "lerp")),
    ("fused elementwise (triton)", ("triton_",)),
    ("normalization", ("layer_norm", "layernorm", "group_norm")),
)  # fmt: skip


def kernel_family(name: str) -> str:
    low = name.lower()
    for family, keys in KERNEL_FAMILIES:
        if any(k in low for k in keys):
            return family
    return "other"


def profile_steps(step, steps: int, device: torch.device, top: int = 12) -> dict:
    """Where a training step's time goes: torch.profiler over `steps` steps, self time per kernel
    (CUDA) or per op (CPU), summed by family (gemm, attention, optimizer, ...) and the top ones."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    rows = []
    for event in prof.key_averages():
        if device.type == "cuda":
            us = getattr(event, "self_device_time_total", None)
            if us is None:
                us = getattr(event, "self_cuda_time_total", 0)
            if getattr(event, "device_type", None) is not None and "CUDA" not in str(
                event.device_type
            ):
                continue
        else:
            us = event.self_cpu_time_total
        if us > 0:
            rows.append((event.key, us / 1000 / steps))
    total = sum(ms for _, ms in rows) or 1.0
    families: dict[str, float] = {}
    for name, ms in rows:
        families[kernel_family(name)] = families.get(kernel_family(name), 0.0) + ms
    rows.sort(key=lambda r: -r[1])
    return {
        "device_ms_per_step": total,
        "families_ms": dict(sorted(families.items(), key=lambda kv: -kv[1])),
        "top": [{"kernel": name[:120], "ms": ms, "share": ms / total} for name, ms in rows[:top]],
    }


def train_speed(model, mode, batch, shape, num_classes, steps, warmup, device, schedule,
                profile: int = 0) -> dict:  # fmt: skip
    """Images/s of full training steps: noise → forward → MSE(ε) → backward → AdamW → EMA."""
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = mode == "tf32"
    model.train()
    opt = make_optimizer(model, device)
    params = [p for p in model.parameters() if p.requires_grad]
    ema = [p.detach().clone() for p in params]
    sqrt_ac = schedule.alphas_cumprod.sqrt().float().to(device)  # a_t, indexed on the device
    sqrt_1m_ac = (1 - schedule.alphas_cumprod).sqrt().float().to(device)  # b_t
    x0 = torch.randn(batch, *shape[1:], device=device)  # stands in for VAE latents
    labels = torch.randint(0, num_classes, (batch,), device=device)

    def step():
        t = torch.randint(0, schedule.num_train_timesteps, (batch,), device=device)
        noise = torch.randn_like(x0)
        x_t = sqrt_ac[t, None, None, None] * x0 + sqrt_1m_ac[t, None, None, None] * noise  # eq. 4
        with autocast(device, mode):
            pred = model(x_t, t.float(), {"labels": labels})
        loss = F.mse_loss(pred.float(), noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            torch._foreach_lerp_(ema, params, 1 - 0.9999)
        return loss

    for _ in range(warmup):
        loss = run_with_compile_fallback(model, step)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    synchronize(device)
    elapsed = time.perf_counter() - start
    loss = float(loss.detach())
    if not math.isfinite(loss):
        raise RuntimeError(f"training loss is {loss}")
    out = {"images_per_s": steps * batch / elapsed, "step_ms": 1000 * elapsed / steps,
           "loss": float(loss)}  # fmt: skip
    if profile:
        out["profile"] = profile_steps(step, profile, device)
    return out


def sample_speed(model, mode, batch, shape, num_classes, steps, device, schedule, repeats) -> dict:
    """Images/s of `steps`-step DDIM sampling with CFG (scale 4): both halves in one 2B batch."""
    model.eval()
    labels = torch.randint(0, num_classes, (batch,), device=device)
    null = torch.full((batch,), num_classes, device=device)
    denoise = classifier_free_guidance(model, {"labels": labels}, {"labels": null}, 4.0)
    x_T = torch.randn(batch, *shape[1:], device=device)

    def run():
        with torch.inference_mode(), autocast(device, mode):
            return sample(
                denoise,
                x_T.shape,
                schedule=schedule,
                sampler="ddim",
                num_inference_steps=steps,
                x_T=x_T,
                device=device,
            )

    run_with_compile_fallback(model, run)  # warm-up (and compilation)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        out = run()
    synchronize(device)
    elapsed = time.perf_counter() - start
    if not torch.isfinite(out).all():
        raise RuntimeError("sampling produced non-finite values")
    model.train()
    return {"images_per_s": repeats * batch / elapsed, "run_ms": 1000 * elapsed / repeats}


def reset_memory(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gib(device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return None


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sizes",
        default="DiT-S/2,DiT-B/2,DiT-XL/2",
        help="comma-separated DiT names from genlab's registry (default %(default)s)",
    )
    p.add_argument(
        "--modes",
        default=",".join(TRAIN_MODES),
        help="training precisions to compare, from: "
        + ", ".join(TRAIN_MODES)
        + " (default %(default)s)",
    )
    p.add_argument(
        "--cond",
        choices=("class", "text"),
        default="class",
        help="conditioning path: paper's class embedding, or the text path fed a 1-token class embedding (default %(default)s)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="training and sampling batch for every size (default: 256, XL/2 64; 4 with --tiny)",
    )
    p.add_argument(
        "--train-steps",
        type=int,
        default=None,
        help="timed training steps per mode (default 15; 2 with --tiny)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed steps first, compilation included (default 3; 1 with --tiny)",
    )
    p.add_argument(
        "--sample-steps",
        type=int,
        default=20,
        help="denoising steps per sample (default %(default)s)",
    )
    p.add_argument(
        "--sample-repeats",
        type=int,
        default=None,
        help="timed sampling runs per mode (default 2; 1 with --tiny)",
    )
    p.add_argument("--no-sample", action="store_true", help="skip the sampling measurements")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="after timing, profile this many training steps per mode: time per kernel family "
        "(gemm, attention, optimizer, fused elementwise, ...) and the top kernels (default off)",
    )
    p.add_argument(
        "--compile-scope",
        choices=("blocks", "model"),
        default="blocks",
        help="compile each transformer block (fast to compile) or the whole model (default %(default)s)",
    )
    p.add_argument(
        "--compile-mode",
        default=None,
        choices=("default", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead"),
        help="torch.compile mode (default: torch's default)",
    )
    p.add_argument(
        "--coordinate-descent",
        action="store_true",
        help="let inductor tune each generated kernel's launch configuration by coordinate descent "
        "(torch._inductor.config.coordinate_descent_tuning): slower to compile, may speed up the "
        "fused normalization and elementwise kernels",
    )
    p.add_argument(
        "--attention",
        choices=("auto", *SDPA_BACKENDS),
        default="auto",
        help="SDPA kernel to try first (cudnn: cuDNN's fused attention; default: torch's order)",
    )
    p.add_argument(
        "--tiny", action="store_true", help="toy widths on 8×8 inputs, few steps: a CPU smoke run"
    )
    p.add_argument(
        "--device", default=None, help="torch device (default: cuda if available, else cpu)"
    )
    p.add_argument(
        "--out",
        default=None,
        help="write all results as JSON here (rewritten after each measurement)",
    )
    args = p.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in args.modes if m not in TRAIN_MODES]
    if bad:
        p.error(f"--modes: unknown {bad}; choose from {', '.join(TRAIN_MODES)}")
    args.train_steps = args.train_steps or (2 if args.tiny else 15)
    args.warmup = args.warmup or (1 if args.tiny else 3)
    args.sample_repeats = args.sample_repeats or (1 if args.tiny else 2)
    return args


def compile_model(model: nn.Module, scope: str, mode: str | None) -> bool:
    """torch.compile the transformer blocks (regional, the default) or the whole model."""
    kwargs = {} if mode in (None, "default") else {"mode": mode}
    if scope == "blocks":
        return model.compile(**kwargs)
    nn.Module.compile(model, dynamic=False, **kwargs)
    model._genlab_compiled = True
    return True


def attention_kernel(config, batch: int, device: torch.device) -> str:
    """The SDPA kernel torch picks for this DiT's self-attention in bf16 (fp32 on a CPU), laid
    out as the model's fused qkv gives it."""
    side = config.input_size // config.patch_size
    heads, d = config.num_heads, config.hidden_size // config.num_heads
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    qkv = torch.randn(batch, side * side, 3, heads, d, device=device, dtype=dtype)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    try:
        return attention_backend(q, k, v)
    except (RuntimeError, ValueError) as e:  # no kernel accepts them: SDPA itself would say so
        return f"none ({e})"


def measure_mode(model, mode, name, batch, shape, num_classes, flops, args, device, schedule, log):
    """One row of the table: training speed, then (bf16 modes) sampling speed."""
    fwd_flops, train_flops = flops
    run = {"model": name, "mode": mode, "batch": batch,
           "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
           "fwd_gflop_per_image": fwd_flops / 1e9, "train_gflop_per_image": train_flops / 1e9}  # fmt: skip
    if mode.endswith("+compile"):
        run["compile"] = f"{args.compile_scope}, mode={args.compile_mode or 'default'}" + (
            ", coordinate-descent tuning" if args.coordinate_descent else ""
        )
        if not getattr(model, "_genlab_compiled", False):
            run["compiled"] = compile_model(model, args.compile_scope, args.compile_mode)
            if not run["compiled"]:
                log(f"  {mode}: torch.compile unavailable here, measuring eager")
    reset_memory(device)
    r = train_speed(model, mode, batch, shape, num_classes, args.train_steps, args.warmup,
                    device, schedule, profile=args.profile)  # fmt: skip
    tflops = r["images_per_s"] * train_flops / 1e12
    peak = args.peak_tflops
    run.update(train_images_per_s=r["images_per_s"], step_ms=r["step_ms"], train_tflops=tflops,
               mfu=tflops / peak, train_peak_mem_gib=peak_memory_gib(device))  # fmt: skip
    if getattr(model, "compile_error", None):
        run["compile_fallback"] = model.compile_error
        log(f"  {mode}: torch.compile failed, measured eager instead: {model.compile_error}")
    log(f"  train {mode:13s} {r['images_per_s']:9.1f} img/s  {tflops:7.1f} TFLOP/s  "
        f"MFU {100 * tflops / peak:5.1f}%  peak mem {fmt_gib(run['train_peak_mem_gib'])}")  # fmt: skip
    if "profile" in r:
        prof = run["profile"] = r["profile"]
        total = prof["device_ms_per_step"]
        log(f"    profile: {total:.1f} ms of {'GPU' if device.type == 'cuda' else 'CPU'} time "
            f"per step (wall {r['step_ms']:.1f} ms): " + ", ".join(
                f"{k} {v:.1f} ({100 * v / total:.0f}%)" for k, v in prof["families_ms"].items()))  # fmt: skip
        for row in prof["top"]:
            log(f"      {row['ms']:7.2f} ms {100 * row['share']:5.1f}%  {row['kernel']}")
    yield run
    if args.no_sample or mode == "tf32":
        return
    reset_memory(device)
    s = sample_speed(model, mode, batch, shape, num_classes, args.sample_steps, device, schedule,
                     args.sample_repeats)  # fmt: skip
    run.update(sample_images_per_s=s["images_per_s"], sample_run_ms=s["run_ms"],
               sample_peak_mem_gib=peak_memory_gib(device))  # fmt: skip
    if getattr(model, "compile_error", None):
        run["compile_fallback"] = model.compile_error
    log(f"  sample {mode:12s} {s['images_per_s']:9.1f} img/s  ({args.sample_steps} steps, "
        f"CFG batch {2 * batch})  peak mem {fmt_gib(run['sample_peak_mem_gib'])}")  # fmt: skip
    yield run


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    schedule = NoiseSchedule.create("linear")
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "cond": args.cond, "tiny": args.tiny, "runs": []}  # fmt: skip

    def save():
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))

    def log(msg):
        print(msg, flush=True)

    args.peak_tflops = measure_matmul_peak(device, args.tiny)
    results["bf16_matmul_peak_tflops"] = args.peak_tflops
    results["attention"] = args.attention
    results["coordinate_descent_tuning"] = args.coordinate_descent
    if args.coordinate_descent:
        import torch._inductor.config as inductor_config

        inductor_config.coordinate_descent_tuning = True
    if args.attention != "auto":
        prefer_attention_backend(args.attention)
    log(f"device {results['device']}, torch {torch.__version__}; "
        f"bf16 matmul peak {args.peak_tflops:.1f} TFLOP/s")  # fmt: skip
    save()
    for name in args.sizes:
        batch = args.batch or (4 if args.tiny else DEFAULT_BATCH.get(name, 64))
        try:
            model, num_classes = build_model(name, args.cond, args.tiny, device)
        except Exception as e:
            log(f"{name}: cannot build ({e})")
            results["runs"].append({"model": name, "error": str(e)})
            continue
        side = model.config.input_size
        shape = (batch, model.config.in_channels, side, side)
        flops = count_flops(model, shape, num_classes, device)
        n_params = sum(p.numel() for p in model.parameters())
        kernel = attention_kernel(model.config, batch, device)
        log(f"{name}: {n_params / 1e6:.1f}M params, {flops[0] / 1e9:.2f} GFLOP forward / image, "
            f"{flops[1] / 1e9:.2f} GFLOP train step / image, batch {batch}, input {tuple(shape[1:])}, "
            f"attention kernel {kernel} (asked: {args.attention})")  # fmt: skip
        for mode in args.modes:
            run = {"model": name, "mode": mode, "batch": batch, "attention_kernel": kernel}
            try:
                for run in measure_mode(model, mode, name, batch, shape, num_classes, flops, args,
                                        device, schedule, log):  # fmt: skip
                    run["attention_kernel"] = kernel
                    if run not in results["runs"]:
                        results["runs"].append(run)
                    save()
            except Exception as e:  # one failing configuration must not lose the others
                lines = [line for line in str(e).splitlines() if line.strip()]
                run["error"] = f"{type(e).__name__}: {' '.join(lines[:2])[:300]}"
                if run not in results["runs"]:
                    results["runs"].append(run)
                log(f"  {mode}: FAILED {run['error']}")
                traceback.print_exc(limit=3)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            save()
        uncompile(model)
        del model
        reset_memory(device)
    log("")
    log(format_table(results))
    save()
    return 0 if all("error" not in r for r in results["runs"]) else 1


def fmt_gib(value) -> str:
    return "-" if value is None else f"{value:.1f} GiB"


def format_table(results) -> str:
    """The results as a fixed-width table; speedup is against the same model's tf32 run."""
    head = (
        f"{'model':10s} {'mode':13s} {'batch':>5s} {'train img/s':>11s} {'TFLOP/s':>8s} "
        f"{'MFU':>6s} {'vs tf32':>7s} {'mem GiB':>7s} {'sample img/s':>12s}"
    )
    lines = [
        f"DiT speed on {results['device']} (cond: {results['cond']}; attention: "
        f"{results.get('attention', 'auto')}; bf16 matmul peak "
        f"{results['bf16_matmul_peak_tflops']:.0f} TFLOP/s)",
        head,
        "-" * len(head),
    ]
    base = {
        r["model"]: r.get("train_images_per_s") for r in results["runs"] if r.get("mode") == "tf32"
    }
    for r in results["runs"]:
        if "error" in r and "train_images_per_s" not in r:
            lines.append(f"{r['model']:10s} {r.get('mode', ''):13s} FAILED: {r['error'][:80]}")
            continue
        ips = r["train_images_per_s"]
        speedup = f"{ips / base[r['model']]:.2f}x" if base.get(r["model"]) else "-"
        sample_ips = f"{r['sample_images_per_s']:.1f}" if "sample_images_per_s" in r else "-"
        mem = r.get("train_peak_mem_gib")
        lines.append(
            f"{r['model']:10s} {r['mode']:13s} {r['batch']:5d} {ips:11.1f} "
            f"{r['train_tflops']:8.1f} {100 * r['mfu']:5.1f}% {speedup:>7s} "
            f"{'-' if mem is None else f'{mem:.1f}':>7s} {sample_ips:>12s}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
