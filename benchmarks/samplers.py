"""Samplers compared on one text-to-image model: images/s at 20 steps, compositional accuracy
(world scene parser + match) against the number of steps, and accuracy against guidance scale.

    python benchmarks/samplers.py --model world-dit-s                  # a bundled model's name
    python benchmarks/samplers.py --model runs/x/model.safetensors --num-prompts 16 --steps 5 10 20
    python benchmarks/samplers.py --model world-t2i --reference ddpm:1000 --num-prompts 120

`--reference SAMPLER:STEPS` (e.g. ddpm:1000, the ancestral sampler over every training step)
draws the same prompts and seeds once more with that sampler, and each sampler at 20 steps is
compared with it image by image: the paired differences of accuracy and of mean match score,
with 95% confidence intervals (normal approximation over prompts).

Prompts are random world scenes captioned with random templates (genlab.world.sample_scene and
caption_and_request); an image counts as correct when every check of genlab.world.match passes
on genlab.world.parse_image's reading of it (GenEval-style), and the mean match score is kept
too. Every sampler sees the same prompts and seeds. Writes samplers.json,
accuracy_vs_steps.png and accuracy_vs_guidance.png to --out-dir.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from genlab.cli import ArgumentParser
from genlab.diffusion import SAMPLERS
from genlab.errors import GenlabError, InvalidArgument
from genlab.eval import metrics
from genlab.world import caption_and_request, match, parse_image, sample_scene

DEFAULT_SAMPLERS = ("ddim", "ddpm", "dpmpp_2m", "euler", "euler_a", "heun")


def world_prompts(num_prompts: int, seed: int = 0) -> list[tuple[str, object]]:
    """(caption, SceneRequest) pairs for random world scenes, the same for a given seed."""
    rng = np.random.default_rng(seed)
    return [caption_and_request(sample_scene(rng), rng) for _ in range(num_prompts)]


def images_per_second(pipe, sampler: str, *, steps: int, num_images: int, seed: int = 0) -> float:
    """Throughput of one batched call of `num_images` images (after a one-image warm-up)."""
    prompt = "a red circle above a blue square"
    pipe(prompt, num_inference_steps=2, sampler=sampler, seed=seed)  # warm-up: caches, kernels
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    pipe(prompt, num_inference_steps=steps, sampler=sampler, seed=seed, num_images=num_images)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return num_images / (time.perf_counter() - start)


def compositional_accuracy(
    pipe,
    prompts: list[tuple[str, object]],
    *,
    sampler: str,
    steps: int,
    guidance_scale: float | None = None,
    seed: int = 0,
    batch_size: int = 16,
) -> dict[str, float]:
    """Fraction of prompts whose image satisfies every check, and the mean match score.

    Prompt i is generated with seed + i in every configuration, so configurations differ only
    by the sampler, steps or guidance.
    """
    satisfied, scores = [], []
    bar = tqdm(total=len(prompts), desc=f"{sampler} {steps} steps", leave=False)
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        result = pipe(
            [text for text, _ in chunk],
            num_inference_steps=steps,
            guidance_scale=guidance_scale,
            sampler=sampler,
            seed=seed + start,
        )
        for (_, request), image in zip(chunk, result.images):
            verdict = match(request, parse_image(image))
            satisfied.append(verdict.satisfied)
            scores.append(verdict.score)
        bar.update(len(chunk))
    bar.close()
    return {
        "accuracy": float(np.mean(satisfied)),
        "mean_score": float(np.mean(scores)),
        "per_prompt": {
            "satisfied": [bool(v) for v in satisfied],
            "score": [float(v) for v in scores],
        },
    }


def paired_difference(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of a - b over the same prompts and its 95% interval, as JSON."""
    mean, low, high = metrics.paired_difference(a, b)
    return {"mean": mean, "ci95": [low, high]}


def parse_reference(text: str) -> tuple[str, int]:
    """'ddpm:1000' -> ("ddpm", 1000), checked."""
    name, _, steps = text.partition(":")
    if name not in SAMPLERS or not steps.isdigit() or int(steps) < 1:
        raise InvalidArgument(
            "--reference", "SAMPLER:STEPS with a sampler from " + ", ".join(sorted(SAMPLERS)), text
        )
    return name, int(steps)


def plot_curves(curves: dict[str, list[tuple[float, float]]], xlabel: str, title: str, path: Path):
    """One line per sampler: (x, accuracy) points; written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, points in sorted(curves.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("compositional accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def run(args) -> dict:
    from genlab.pipelines.registry import load

    for name in args.samplers:
        if name not in SAMPLERS:
            raise InvalidArgument("--samplers", "names from " + ", ".join(sorted(SAMPLERS)), name)
    if args.num_prompts < 1:
        raise InvalidArgument("--num-prompts", "an integer ≥ 1", args.num_prompts)
    pipe = load(args.model, device=args.device) if args.device else load(args.model)
    prompts = world_prompts(args.num_prompts, args.seed)
    out_dir = Path(args.out_dir)
    results: dict = {
        "model": str(args.model),
        "device": str(getattr(pipe, "device", "cpu")),
        "torch_threads": torch.get_num_threads(),
        "num_prompts": args.num_prompts,
        "seed": args.seed,
        "speed": {},
        "accuracy_vs_steps": {},
        "accuracy_vs_guidance": {},
    }
    reference = parse_reference(args.reference) if args.reference else None
    if reference is not None and args.compare_steps not in args.steps:
        raise InvalidArgument("--compare-steps", f"one of --steps {args.steps}", args.compare_steps)
    total = len(args.samplers) * (1 + len(args.steps)) + len(args.guidance_samplers) * len(
        args.guidance
    )
    total += reference is not None
    bar = tqdm(total=total, desc="samplers benchmark")
    for name in args.samplers:
        ips = images_per_second(pipe, name, steps=args.speed_steps, num_images=args.speed_images)
        results["speed"][name] = {"images_per_s": ips, "steps": args.speed_steps}
        bar.update()
        results["accuracy_vs_steps"][name] = []
        for steps in args.steps:
            acc = compositional_accuracy(pipe, prompts, sampler=name, steps=steps, seed=args.seed)
            results["accuracy_vs_steps"][name].append({"steps": steps, **acc})
            bar.update()
    for name in args.guidance_samplers:
        results["accuracy_vs_guidance"][name] = []
        for scale in args.guidance:
            acc = compositional_accuracy(
                pipe,
                prompts,
                sampler=name,
                steps=args.guidance_steps,
                guidance_scale=scale,
                seed=args.seed,
            )
            results["accuracy_vs_guidance"][name].append({"guidance_scale": scale, **acc})
            bar.update()
    if reference is not None:
        ref_name, ref_steps = reference
        ref = compositional_accuracy(
            pipe, prompts, sampler=ref_name, steps=ref_steps, seed=args.seed
        )
        bar.update()
        gaps = {}
        for name, rows in results["accuracy_vs_steps"].items():
            row = next((r for r in rows if r["steps"] == args.compare_steps), None)
            if row is None:
                continue
            gaps[name] = {
                "steps": args.compare_steps,
                "accuracy": paired_difference(
                    row["per_prompt"]["satisfied"], ref["per_prompt"]["satisfied"]
                ),
                "mean_score": paired_difference(
                    row["per_prompt"]["score"], ref["per_prompt"]["score"]
                ),
            }
        results["reference"] = {"sampler": ref_name, "steps": ref_steps, **ref, "gaps": gaps}
    bar.close()

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "samplers.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_curves(
        {
            n: [(r["steps"], r["accuracy"]) for r in rs]
            for n, rs in results["accuracy_vs_steps"].items()
        },
        "sampling steps",
        f"{args.model}: accuracy vs steps ({args.num_prompts} prompts)",
        out_dir / "accuracy_vs_steps.png",
    )
    plot_curves(
        {
            n: [(r["guidance_scale"], r["accuracy"]) for r in rs]
            for n, rs in results["accuracy_vs_guidance"].items()
        },
        "guidance scale",
        f"{args.model}: accuracy vs guidance ({args.guidance_steps} steps)",
        out_dir / "accuracy_vs_guidance.png",
    )
    return results


def report(results: dict) -> str:
    """Markdown tables of the results."""
    lines = [
        f"model {results['model']} on {results['device']}",
        "",
        "| sampler | images/s |",
        "|---|---|",
    ]
    lines += [f"| {n} | {r['images_per_s']:.2f} |" for n, r in results["speed"].items()]
    ref = results.get("reference")
    if ref:
        lines += [
            "",
            f"reference {ref['sampler']} at {ref['steps']} steps: accuracy {ref['accuracy']:.3f}, "
            f"mean score {ref['mean_score']:.3f}",
            "",
            "| sampler | steps | accuracy − reference (95% CI) | mean score − reference (95% CI) |",
            "|---|---|---|---|",
        ]
        for n, g in ref["gaps"].items():
            a, m = g["accuracy"], g["mean_score"]
            lines.append(
                f"| {n} | {g['steps']} | {a['mean']:+.3f} ({a['ci95'][0]:+.3f}, {a['ci95'][1]:+.3f})"
                f" | {m['mean']:+.3f} ({m['ci95'][0]:+.3f}, {m['ci95'][1]:+.3f}) |"
            )
    for key, col in (("accuracy_vs_steps", "steps"), ("accuracy_vs_guidance", "guidance_scale")):
        if results[key]:
            lines += ["", f"| sampler | {col} | accuracy | mean score |", "|---|---|---|---|"]
            lines += [
                f"| {n} | {r[col]} | {r['accuracy']:.3f} | {r['mean_score']:.3f} |"
                for n, rs in results[key].items()
                for r in rs
            ]
    return "\n".join(lines)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model", required=True, help="bundled model name or text2image checkpoint path"
    )
    p.add_argument(
        "--samplers", nargs="+", default=list(DEFAULT_SAMPLERS), help="samplers to compare"
    )
    p.add_argument("--speed-steps", type=int, default=20, help="steps for the images/s measurement")
    p.add_argument("--speed-images", type=int, default=8, help="images in the timed batch")
    p.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[5, 10, 20, 50],
        help="step counts for accuracy vs steps",
    )
    p.add_argument("--num-prompts", type=int, default=64, help="world prompts per configuration")
    p.add_argument(
        "--guidance",
        type=float,
        nargs="+",
        default=[1.0, 1.5, 2.0, 3.0, 5.0, 7.5],
        help="guidance scales for accuracy vs guidance",
    )
    p.add_argument(
        "--guidance-samplers",
        nargs="+",
        default=["dpmpp_2m"],
        help="samplers in the guidance sweep",
    )
    p.add_argument("--guidance-steps", type=int, default=20, help="steps in the guidance sweep")
    p.add_argument(
        "--reference",
        default=None,
        help="SAMPLER:STEPS drawn once more as the reference, e.g. ddpm:1000 (default: none)",
    )
    p.add_argument(
        "--compare-steps",
        type=int,
        default=20,
        help="the step count (one of --steps) compared with the reference",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the prompts and of every image's noise"
    )
    p.add_argument(
        "--device",
        default=None,
        help="cpu or cuda; None lets the loader choose (cuda when available)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads; None keeps torch's own choice"
    )
    p.add_argument(
        "--out-dir",
        default="benchmarks/results/samplers",
        help="where the JSON and the PNG plots go",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        for name in args.guidance_samplers:
            if name not in SAMPLERS:
                raise InvalidArgument(
                    "--guidance-samplers", "names from " + ", ".join(sorted(SAMPLERS)), name
                )
        results = run(args)
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    print(report(results))
    print(f"\nwrote {Path(args.out_dir) / 'samplers.json'} and the PNG plots beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
