"""Pixel vs latent text-to-image diffusion at equal training compute (the same wall-clock seconds on
the same machine): training and sampling speed and compositional accuracy, printed as one table.

    .venv/bin/python benchmarks/latent_vs_pixel.py --seconds 600 --size 32 --threads 1

Both models share everything but the space they denoise: the world-t2i task, text encoder, v-
prediction on the cosine schedule, corpus, batch and learning rate (genlab.train.text2image /
genlab.train.latent). The latent model works on world-kl-f4 latents (8×8×4 for 32 px images).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

# CPU-sized denoisers: the pixel U-Net sees 32×32×3, the latent U-Net 8×8×4.
PIXEL_UNET = dict(
    model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1, attention_levels=(2,), head_dim=32
)


def build(kind: str, args):
    from genlab.train import RecipeOptions
    from genlab.train.latent import LATENT_UNET, build_latent_t2i
    from genlab.train.text2image import WorldT2ISpec, build_world_t2i

    options = RecipeOptions(
        out_dir=str(Path(args.out) / kind),
        batch_size=args.batch_size,
        data_size=args.data_size,
        time_budget=args.seconds,
        seed=args.seed,
        progress=not args.no_progress,
    )
    common = dict(image_size=args.size, text_width=128, text_depth=2, lr=args.lr, warmup_steps=100)
    if kind == "pixel":
        spec = WorldT2ISpec(denoiser="unet-world-s", denoiser_overrides=PIXEL_UNET, **common)
        job = build_world_t2i(f"world-t2i-{kind}-cpu", spec, {}, options)
    else:
        spec = WorldT2ISpec(
            denoiser="unet-latent-world-m", denoiser_overrides=LATENT_UNET, **common
        )
        job = build_latent_t2i(f"world-t2i-{kind}-cpu", spec, {}, options, args.autoencoder)
    job.config.budget_start = None  # the budget covers training only, not rendering the corpus
    job.config.checkpoint_every_s = 0
    return job


def sampling_speed(pipe, prompts, steps: int) -> float:
    pipe(prompts[:2], num_inference_steps=2, seed=0)  # warm-up
    t0 = time.perf_counter()
    pipe(prompts, num_inference_steps=steps, seed=0)
    return len(prompts) / (time.perf_counter() - t0)


def compositional(pipe, n_per_category: int, images_per_prompt: int, steps: int) -> dict:
    from genlab.eval.compositional import score_image, suite

    prompts = suite(n_per_category, splits=("in_distribution",))
    ok, scores = [], []
    for p in prompts:
        images = pipe(
            p.prompt, num_inference_steps=steps, seed=0, num_images=images_per_prompt
        ).images
        for image in images:
            satisfied, score, _, _ = score_image(p.prompt, image)
            ok.append(satisfied)
            scores.append(score)
    return {
        "accuracy": float(np.mean(ok)),
        "match_score": float(np.mean(scores)),
        "images": len(ok),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=600, help="training wall-clock seconds per model"
    )
    parser.add_argument(
        "--size", type=int, default=32, help="image side in pixels (64 asked; 32 fits this CPU)"
    )
    parser.add_argument("--data-size", type=int, default=20_000, help="world scenes in the corpus")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size")
    parser.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (both models)")
    parser.add_argument(
        "--autoencoder", default="world-kl-f4", help="autoencoder of the latent model"
    )
    parser.add_argument(
        "--prompts", type=int, default=3, help="suite prompts per category (in-distribution)"
    )
    parser.add_argument("--images-per-prompt", type=int, default=2, help="images scored per prompt")
    parser.add_argument("--sample-steps", type=int, default=20, help="sampler steps (dpmpp_2m)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of data, initialisation and noise"
    )
    parser.add_argument(
        "--only",
        choices=["pixel", "latent"],
        help="run one model only (e.g. both at once in two processes, under the same load)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the runs in --out for another --seconds each (same other arguments)",
    )
    parser.add_argument(
        "--table", action="store_true", help="only print the table of the results already in --out"
    )
    parser.add_argument(
        "--out", default="runs/latent_vs_pixel", help="folder for both runs and results.json"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.table:
        print_table(Path(args.out))
        return

    import genlab
    from genlab.train import Trainer
    from genlab.train.text2image import forward_flops, sample_prompts

    rows = {}
    for kind in [args.only] if args.only else ["pixel", "latent"]:
        job = build(kind, args)
        task = job.task
        side = args.size // (task.autoencoder.downsample_factor if kind == "latent" else 1)
        flops = forward_flops(task.denoiser, task.text_encoder.width, side, 48)
        trainer = Trainer(task, job.data, job.config)
        try:
            if args.resume:
                trainer.resume()
            summary = trainer.run()
        finally:
            trainer.close()
        pipe = genlab.load(summary["model"], device="cpu")
        rows[kind] = {
            "denoiser input": f"{task.denoiser.config.in_channels}×{side}×{side}",
            "denoiser parameters": sum(p.numel() for p in task.denoiser.parameters()),
            "forward GFLOPs/image": flops / 1e9,
            "train seconds": summary["wall_time_s"],
            "train steps": summary["steps"],
            "train images/s": summary["samples_seen"] / summary["wall_time_s"],
            "final loss": (summary.get("last_logs") or {}).get("loss"),
            "sampling images/s": sampling_speed(pipe, sample_prompts(8), args.sample_steps),
            **compositional(pipe, args.prompts, args.images_per_prompt, args.sample_steps),
            "model": summary["model"],
        }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for kind, row in rows.items():
        (out / f"results-{kind}.json").write_text(
            json.dumps({"args": vars(args), "row": row}, indent=2)
        )
    print_table(out)


def print_table(out: Path) -> None:
    """One table of every results-*.json in `out` (runs made together or with --only each)."""
    results = {
        p.stem.split("-", 1)[1]: json.loads(p.read_text())
        for p in sorted(out.glob("results-*.json"))
    }
    if not results:
        raise SystemExit(f"no results-*.json in {out}: run the benchmark first")
    rows = {kind: r["row"] for kind, r in sorted(results.items(), reverse=True)}  # pixel, latent
    a = next(iter(results.values()))["args"]
    seconds = next(iter(rows.values()))["train seconds"]
    print(f"equal compute: {seconds:.0f} s of training each on this machine "
          f"({a['threads']} thread(s)), {a['size']}×{a['size']} world images, batch {a['batch_size']}")  # fmt: skip
    keys = [k for k in next(iter(rows.values())) if k != "model"]
    print("| | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for k in keys:
        cells = [_fmt(rows[kind][k]) for kind in rows]
        print(f"| {k} | " + " | ".join(cells) + " |")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


if __name__ == "__main__":
    main()
