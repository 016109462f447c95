"""Prompts as people write them: strict compositional accuracy of a model on the suite's canonical
prompts and on the same scenes paraphrased (lead-ins, synonyms, digits, "a pair of", shaded
colors, relation wordings, punctuation), one image per prompt, per GenEval category.

    python benchmarks/paraphrase.py world-t2i-layout --prompts-per-category 100 --out DIR

Strict: exactly the objects asked for and nothing else, every color, shape, count, position and
relation right (genlab.world.match); the lenient GenEval reading is printed after it. Prompt j
of a split is drawn with seed `--seed` + j at the pipeline's defaults (20 DPM-Solver++ steps,
its own guidance), through `genlab.load(model)(prompts, ...)`: the path of the CLI, REST and
the OpenAI-compatible endpoint too. `--layout-source planner` draws every plan with the learned
planner instead of the grammar (the comparison of the two).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def draw(pipe, texts: list[str], seed: int, batch: int, **kwargs) -> list:
    """One image per text, text j with seed `seed` + j, in batches."""
    images = []
    for start in range(0, len(texts), batch):
        result = pipe(texts[start : start + batch], seed=seed + start, **kwargs)
        images += result.images
    return images


def table(summary: dict, splits: tuple[str, ...], key: str = "accuracy") -> str:
    from genlab.eval.compositional import CATEGORIES

    head = f"{'category':<20}" + "".join(f"{s:>17}" for s in splits)
    both = "in_distribution" in splits and "paraphrased" in splits
    head += f"{'gap':>8}" if both else ""
    rows = [head]
    for category in (*CATEGORIES, "overall"):
        cells, values = "", {}
        for split in splits:
            stats = summary.get(split, {})
            if category == "overall":
                v = stats.get("overall") if key == "accuracy" else _mean_lenient(stats)
                cells += f"{v:>17.3f}" if v is not None else f"{'':>17}"
            else:
                c = stats.get("categories", {}).get(category)
                v = None if c is None else c.get(key if key == "accuracy" else "lenient_accuracy")
                if v is not None and key == "accuracy":
                    lo, hi = c["ci95"]
                    cells += f"{v:>7.3f} ({lo:.2f}-{hi:.2f})"
                else:
                    cells += f"{v:>17.3f}" if v is not None else f"{'':>17}"
            values[split] = v
        if both and None not in (values["in_distribution"], values["paraphrased"]):
            cells += f"{values['in_distribution'] - values['paraphrased']:>+8.3f}"
        rows.append(f"{category:<20}{cells}")
    return "\n".join(rows)


def _mean_lenient(stats: dict):
    vals = [c["lenient_accuracy"] for c in stats.get("categories", {}).values()]
    return sum(vals) / len(vals) if vals else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default="world-t2i-layout")
    p.add_argument("--prompts-per-category", type=int, default=100)
    p.add_argument("--splits", default="in_distribution,paraphrased")
    p.add_argument("--seed", type=int, default=0, help="suite sampling seed and first image seed")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--layout-source", choices=("auto", "planner"), default="auto")
    p.add_argument("--out", default=None, help="folder for results.json and failures.png")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    import genlab
    from genlab.eval import compositional as comp
    from genlab.io import image_grid

    splits = tuple(s for s in args.splits.split(",") if s)
    pipe = genlab.load(args.model, device="cpu")
    kwargs = {"num_inference_steps": args.steps}
    if getattr(pipe, "layout_planner", None) is not None:
        kwargs["layout_source"] = args.layout_source
    items = comp.suite(args.prompts_per_category, seed=args.seed, splits=splits)
    start = time.perf_counter()
    results = []
    for split in splits:
        chosen = [it for it in items if it.split == split]
        results += comp.run_suite(
            lambda texts, n, seed: draw(pipe, texts, seed, args.batch, **kwargs),
            chosen,
            images_per_prompt=1,
            seed=args.seed,
            progress=not args.no_progress,
        )
    seconds = time.perf_counter() - start
    summary = comp.summarize(results)
    print(
        f"{args.model}: {len(results)} images in {seconds:.0f} s "
        f"({len(results) / seconds:.2f} images/s, {torch.get_num_threads()} threads); "
        f"layout source {args.layout_source}"
    )
    print("\nstrict accuracy (95% Wilson interval), one image per prompt")
    print(table(summary, splits))
    print("\nlenient accuracy (GenEval's reading: one asked = at least one, extras ignored)")
    print(table(summary, splits, key="lenient"))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        failed = comp.worst_failures(results, k=32)
        data = {
            "model": args.model,
            "options": vars(args),
            "seconds": seconds,
            "summary": summary,
            "results": [r.to_dict() for r in results],
        }
        (out / "results.json").write_text(json.dumps(data, indent=1))
        if failed:
            image_grid([r.image for r in failed], ncols=8, scale=3).save(out / "failures.png")
        print(f"\nwrote {out / 'results.json'}" + (" and failures.png" if failed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
