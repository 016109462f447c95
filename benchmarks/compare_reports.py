"""Compare compositional reports of several models drawn on the same prompts and seeds (`genlab eval
MODEL --suite compositional --seed S` gives every model the same prompts): per-category accuracy,
the pooled accuracy with its 95% interval, the mean match score, and each model's paired
difference from the first one (image by image, 95% interval by the normal approximation).

    .venv/bin/python benchmarks/compare_reports.py runs/eval/a/report.json runs/eval/b/report.json \
        --names joint clip --split in_distribution

When the reports differ by one number (guidance scale, steps), name each by its value and add
`--plot out.png --xlabel "guidance scale"` for accuracy against that number: overall with its
95% interval, and each category.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from genlab.cli import ArgumentParser
from genlab.errors import GenlabError, InvalidArgument
from genlab.eval.metrics import paired_difference, wilson_interval


def load_images(path: str | Path, split: str) -> list[dict]:
    """The report's per-image results of `split`, in the order they were drawn."""
    try:
        report = json.loads(Path(path).read_text())
        images = [r for r in report["compositional_images"] if r["split"] == split]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidArgument(
            "report", "a genlab eval report.json with compositional images", path
        ) from e
    if not images:
        raise InvalidArgument("--split", f"a split the report {path} has", split)
    return images


def compare(reports: list[list[dict]], names: list[str]) -> dict:
    """Per-model summaries and paired differences from the first model."""
    keys = [(r["category"], r["prompt"], r["seed"]) for r in reports[0]]
    for name, images in zip(names[1:], reports[1:]):
        if [(r["category"], r["prompt"], r["seed"]) for r in images] != keys:
            raise InvalidArgument(
                "reports",
                f"the same prompts and seeds as {names[0]!r} (evaluate with one --seed)",
                name,
            )
    categories = list(dict.fromkeys(k[0] for k in keys))
    base_ok = np.array([r["satisfied"] for r in reports[0]], float)
    base_score = np.array([r["score"] for r in reports[0]], float)
    out = {"images": len(keys), "categories": categories, "models": {}}
    for name, images in zip(names, reports):
        ok = np.array([r["satisfied"] for r in images], float)
        score = np.array([r["score"] for r in images], float)
        out["models"][name] = {
            "accuracy": float(ok.mean()),
            "ci95": list(wilson_interval(int(ok.sum()), len(ok))),
            "mean_score": float(score.mean()),
            "per_category": {c: float(ok[[k[0] == c for k in keys]].mean()) for c in categories},
            "minus_first": {
                "accuracy": paired_difference(ok, base_ok),
                "mean_score": paired_difference(score, base_score),
            },
        }
    return out


def table(result: dict) -> str:
    cats = " / ".join(c.replace("_", " ") for c in result["categories"])
    lines = [
        f"| model | accuracy (95% CI) | {cats} | mean score | accuracy − first (95% CI) |",
        "|---|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        d = m["minus_first"]["accuracy"]
        per = " / ".join(f"{v:.3f}" for v in m["per_category"].values())
        lines.append(
            f"| {name} | {m['accuracy']:.3f} ({m['ci95'][0]:.3f}-{m['ci95'][1]:.3f}) | {per} "
            f"| {m['mean_score']:.3f} | {d[0]:+.3f} ({d[1]:+.3f}, {d[2]:+.3f}) |"
        )
    return "\n".join(lines)


def plot(result: dict, path: str | Path, xlabel: str, title: str = "") -> None:
    """Accuracy against the reports' numeric names: overall (95% interval shaded) and per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        xs = [float(name) for name in result["models"]]
    except ValueError:
        raise InvalidArgument(
            "--names", "numbers (one value per report) with --plot", list(result["models"])
        ) from None
    models = list(result["models"].values())
    order = np.argsort(xs)
    x = np.array(xs)[order]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for c in result["categories"]:
        y = [models[i]["per_category"][c] for i in order]
        ax.plot(x, y, marker=".", linewidth=1, alpha=0.7, label=c.replace("_", " "))
    overall = [models[i]["accuracy"] for i in order]
    lo = [models[i]["ci95"][0] for i in order]
    hi = [models[i]["ci95"][1] for i in order]
    ax.fill_between(x, lo, hi, color="black", alpha=0.12, linewidth=0)
    ax.plot(x, overall, color="black", marker="o", linewidth=2.2, label="overall (95% CI)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("compositional accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{result['images']} images per point")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", help="report.json files of genlab eval")
    p.add_argument("--names", nargs="+", default=None, help="a name per report (default: paths)")
    p.add_argument("--split", default="in_distribution", help="in_distribution or held_out")
    p.add_argument("--json", default=None, help="also write the comparison to this JSON file")
    p.add_argument(
        "--plot", default=None, help="also plot accuracy against the (numeric) names to this PNG"
    )
    p.add_argument("--xlabel", default="value", help="x-axis label of --plot")
    args = p.parse_args(argv)
    try:
        names = args.names or args.reports
        if len(names) != len(args.reports):
            raise InvalidArgument("--names", f"{len(args.reports)} names, one per report", names)
        result = compare([load_images(r, args.split) for r in args.reports], names)
        if args.plot:
            plot(
                result, args.plot, args.xlabel, f"{result['images']} images per point, {args.split}"
            )
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    print(f"{result['images']} images per model, split {args.split}\n")
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
