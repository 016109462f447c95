"""Pixel vs latent text-to-image diffusion at equal training compute: training and sampling speed
and compositional accuracy of models trained for the same wall-clock seconds on the same machine,
printed as one table.

Train the two side by side (one thread each, so both run under the same load):

    OMP_NUM_THREADS=1 genlab train --recipe world-t2i-64-cpu --time-budget 3600 --out runs/px64 &
    OMP_NUM_THREADS=1 genlab train --recipe world-t2i-latent-64-cpu --time-budget 3600 --out runs/lat64

evaluate each on the same prompts and seeds (`genlab eval MODEL --suite compositional
--prompts-per-category 100 --images-per-prompt 1 --splits in_distribution --threads 1 --out DIR`),
then:

    .venv/bin/python benchmarks/latent_vs_pixel.py runs/px64/world-t2i-64.safetensors \
        runs/lat64/world-t2i-latent-64.safetensors --names pixel latent \
        --reports runs/ev-px64/report.json runs/ev-lat64/report.json

The recipes share everything but the space they denoise: the world-t2i task and corpus, the frozen
world-clip text tower, v-prediction on the cosine schedule with min-SNR weighting, batch and
learning rate (genlab/train/recipes/image.py). The latent model encodes each batch with its frozen
autoencoder inside its time budget.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from compare_reports import compare, load_images

from genlab.cli import ArgumentParser
from genlab.errors import GenlabError, InvalidArgument


def sampling_speed(pipe, prompts: list[str], steps: int, sampler: str) -> tuple[float, list]:
    """Images per second of `pipe` drawing one image per prompt (batched, with CFG), and the
    images."""
    pipe(prompts[:2], num_inference_steps=2, seed=0, sampler=sampler)  # warm-up
    t0 = time.perf_counter()
    images = pipe(prompts, num_inference_steps=steps, seed=0, sampler=sampler).images
    return len(prompts) / (time.perf_counter() - t0), images


def measure(path: str, steps: int, sampler: str, n_prompts: int) -> tuple[dict, list]:
    """A trained model's sizes, its training figures (from the checkpoint) and sampling speed;
    and the images drawn for the speed (the same prompts and seed for every model)."""
    import genlab
    from genlab.train.text2image import forward_flops, sample_prompts

    pipe = genlab.load(path, device="cpu")
    training = pipe.info.get("training") or {}
    if not training.get("wall_time_s"):
        raise InvalidArgument("model", "a checkpoint exported by genlab train", path)
    denoiser, ae = pipe.denoiser, pipe.autoencoder
    size = pipe.info["image_size"]
    side = size // ae.downsample_factor if ae is not None else size
    length = pipe.text_encoder.config.max_length
    flops = forward_flops(denoiser, pipe.text_encoder.width, side, length)
    space = f"{denoiser.config.in_channels}×{side}×{side}"
    speed, images = sampling_speed(pipe, sample_prompts(n_prompts), steps, sampler)
    row = {
        "recipe": training.get("recipe"),
        "space": space + (f" (KL latents, f = {ae.downsample_factor})" if ae else " (pixels)"),
        "image size": f"{size}×{size}",
        "denoiser parameters": sum(p.numel() for p in denoiser.parameters()),
        "forward GFLOPs/image": flops / 1e9,
        "hardware": training.get("hardware"),
        "train seconds": training["wall_time_s"],
        "train steps": training["steps"],
        "train images": training["samples_seen"],
        "train images/s": training["samples_seen"] / training["wall_time_s"],
        f"sampling images/s ({sampler}, {steps} steps, CFG)": speed,
    }
    return row, images


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows: dict[str, dict], comparison: dict | None) -> str:
    names = list(rows)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in rows[names[0]]:
        lines.append(f"| {key} | " + " | ".join(_fmt(rows[n][key]) for n in names) + " |")
    if comparison is not None:
        models = comparison["models"]
        cell = {
            f"compositional accuracy ({comparison['images']} images, 95% CI)": lambda m: (
                f"{m['accuracy']:.3f} ({m['ci95'][0]:.3f}-{m['ci95'][1]:.3f})"
            ),
            "mean match score": lambda m: f"{m['mean_score']:.3f}",
            f"accuracy − {names[0]} (paired, 95% CI)": lambda m: (
                "{:+.3f} ({:+.3f}, {:+.3f})".format(*m["minus_first"]["accuracy"])
            ),
        }
        for c in comparison["categories"]:
            cell[f"· {c.replace('_', ' ')}"] = lambda m, c=c: f"{m['per_category'][c]:.3f}"
        for key, fmt in cell.items():
            lines.append(f"| {key} | " + " | ".join(fmt(models[n]) for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="checkpoints exported by genlab train")
    p.add_argument("--names", nargs="+", default=None, help="a name per model (default: paths)")
    p.add_argument(
        "--reports",
        nargs="+",
        default=None,
        help="a genlab eval report.json per model, drawn on the same prompts and seeds",
    )
    p.add_argument("--split", default="in_distribution", help="compositional split to compare")
    p.add_argument("--steps", type=int, default=20, help="sampler steps for the speed figure")
    p.add_argument("--sampler", default="dpmpp_2m", help="sampler for the speed figure")
    p.add_argument("--speed-prompts", type=int, default=16, help="images drawn for the speed")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument(
        "--grid", default=None, help="also write the speed run's images to this PNG, a row a model"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        names = args.names or args.models
        if len(names) != len(args.models):
            raise InvalidArgument("--names", f"{len(args.models)} names, one per model", names)
        if args.reports is not None and len(args.reports) != len(args.models):
            raise InvalidArgument(
                "--reports", f"{len(args.models)} reports, one per model", args.reports
            )
        comparison = None
        if args.reports:
            comparison = compare([load_images(r, args.split) for r in args.reports], names)
        measured = {
            n: measure(m, args.steps, args.sampler, args.speed_prompts)
            for n, m in zip(names, args.models)
        }
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    rows = {n: row for n, (row, _) in measured.items()}
    print(table(rows, comparison))
    if args.grid:
        from genlab.io import image_grid

        images = [im for _, ims in measured.values() for im in ims]
        image_grid(images, ncols=args.speed_prompts, scale=2).save(args.grid)
        print(f"grid: {args.grid} (rows: {', '.join(names)}; same prompts and seed)")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"models": rows, "compositional": comparison}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
