"""Sampling settings of an autoregressive world model chosen by measurement: strict accuracy on the
compositional suite (in-distribution split, one image per prompt) for each combination of
guidance scale, temperature and top-k, the same prompts and seeds for every point.

    .venv/bin/python benchmarks/vq_ar_sampling.py [--model world-vq-ar] [--prompts-per-category 10]
        [--guidance 1 2 3] [--temperature 0.7 1.0] [--top-k 0 16] [--json out.json]

top-k 0 means no limit. Prints one row per point (accuracy, its 95% interval, per category) and
the best point; the model card records the chosen defaults from such a run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

import torch


def measure(pipe, prompts, guidance, temperature, top_k, seed=0, plan_layout=True) -> dict:
    """Strict suite accuracy of one sampling setting (genlab.eval.compositional)."""
    from genlab.eval import compositional as comp

    images = []
    start = time.perf_counter()
    for c in range(0, len(prompts), 16):
        chunk = [p.prompt for p in prompts[c : c + 16]]
        result = pipe(
            chunk,
            seed=seed + 1000 * c,
            guidance_scale=guidance,
            temperature=temperature,
            top_k=top_k or None,
            plan_layout=plan_layout,
        )
        images += result.images
    seconds = time.perf_counter() - start
    summary = comp.summarize(comp.run_suite(lambda *_: images, prompts, 1, seed, False))
    split = summary["in_distribution"]
    return {
        "guidance_scale": guidance,
        "temperature": temperature,
        "top_k": top_k or None,
        "plan_layout": plan_layout,
        "accuracy": split["pooled_accuracy"],
        "ci95": split["pooled_ci95"],
        "categories": {c: v["accuracy"] for c, v in split["categories"].items()},
        "images_per_s": len(images) / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    import genlab
    from genlab.cli import HelpFormatter
    from genlab.errors import GenlabError
    from genlab.eval import compositional as comp

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--model", default="world-vq-ar", help="model name or checkpoint path")
    parser.add_argument("--prompts-per-category", type=int, default=10, help="suite prompts")
    parser.add_argument("--guidance", type=float, nargs="+", default=[3.0], help="CFG scales")
    parser.add_argument("--temperature", type=float, nargs="+", default=[1.0], help="temperatures")
    parser.add_argument("--top-k", type=int, nargs="+", default=[0], help="top-k (0: no limit)")
    parser.add_argument("--no-layout", action="store_true", help="draw from the text alone")
    parser.add_argument("--seed", type=int, default=0, help="suite and sampling seed")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", help="write the rows as JSON to this path")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        pipe = genlab.load(args.model)
        prompts = comp.suite(args.prompts_per_category, args.seed, splits=("in_distribution",))
        rows = []
        for g, t, k in itertools.product(args.guidance, args.temperature, args.top_k):
            row = measure(pipe, prompts, g, t, k, args.seed, not args.no_layout)
            rows.append(row)
            cats = " ".join(f"{v:.2f}" for v in row["categories"].values())
            lo, hi = row["ci95"]
            print(
                f"guidance {g:g} temperature {t:g} top-k {k or '-'}: accuracy "
                f"{row['accuracy']:.3f} ({lo:.3f}-{hi:.3f}) | {cats}",
                flush=True,
            )
    except GenlabError as e:
        print(f"vq_ar_sampling: error: {e}", file=sys.stderr)
        return 2
    best = max(rows, key=lambda r: r["accuracy"])
    print(f"best: {json.dumps({k: best[k] for k in ('guidance_scale', 'temperature', 'top_k')})}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
