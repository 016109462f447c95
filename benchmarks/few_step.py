"""Few-step generation: the teacher (world-t2i-layout, DPM-Solver++ with guidance) at 20, 10 and 4
steps against its distilled student (world-t2i-turbo, lcm, guidance folded in) at 4, 2 and 1, in
one run and one table: images/s at batch 32, strict compositional accuracy, FID.

    python benchmarks/few_step.py --out benchmarks/results/few-step

Speed: one batch of 32 prompts per row after a warm-up batch, the best of `--repeats`, with
`--threads` intra-op threads (2: the 2-core CPU). Accuracy: the paraphrase suite's prompts
(genlab.eval.compositional, `--splits`, `--prompts-per-category` each, suite seed `--seed`), one
image each, judged strictly (exactly the objects asked for, nothing else; genlab.world.match),
prompt j drawn with seed `--seed` + j as benchmarks/paraphrase.py does. FID: `--fid-n` images of
fresh world captions against as many rendered world scenes, with the world feature net (the
floor: real against another real set), as `genlab eval --suite fid`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

ROWS = (
    ("teacher", 20),
    ("teacher", 10),
    ("teacher", 4),
    ("student", 4),
    ("student", 2),
    ("student", 1),
)


def images_per_s(pipe, prompts: list[str], steps: int, repeats: int) -> float:
    """Batch throughput: len(prompts) images in one call, the best of `repeats` after a warm-up."""
    pipe(prompts, seed=0, num_inference_steps=steps)
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        pipe(prompts, seed=1 + r, num_inference_steps=steps)
        best = min(best, time.perf_counter() - start)
    return len(prompts) / best


def strict_accuracy(pipe, items, steps: int, seed: int, batch: int) -> dict:
    from genlab.eval import compositional as comp

    def draw(texts, n, s):
        images = []
        for start in range(0, len(texts), batch):
            result = pipe(texts[start : start + batch], seed=s + start, num_inference_steps=steps)
            images += result.images
        return images

    results = comp.run_suite(draw, items, images_per_prompt=1, seed=seed, progress=False)
    summary = comp.summarize(results)  # per split; the suite has as many prompts per category
    return {
        "overall": sum(r.satisfied for r in results) / len(results),
        "n": len(results),
        "splits": {
            split: {k: v["accuracy"] for k, v in stats["categories"].items()}
            for split, stats in summary.items()
            if split in comp.SPLITS
        },
        "lenient": sum(bool(r.lenient) for r in results) / len(results),
    }


def fid(pipe, steps: int, captions: list[str], seed: int, batch: int, net, real) -> float:
    from genlab.eval import metrics as M

    images = []
    for start in range(0, len(captions), batch):
        result = pipe(captions[start : start + batch], seed=seed + start, num_inference_steps=steps)
        images += [torch.from_numpy(np.array(im.convert("RGB"))) for im in result.images]
    fake = torch.stack(images).permute(0, 3, 1, 2).contiguous()  # (N, H, W, 3) -> (N, 3, H, W)
    return M.fid_from_features(real, net.features(fake))


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"Teacher `{meta['teacher']}` vs student `{meta['student']}`; {meta['threads']} threads, "
        f"batch {meta['batch']}; strict accuracy on {meta['accuracy_prompts']} prompts "
        f"({meta['splits']}, suite seed {meta['seed']}); FID on {meta['fid_n']} images "
        f"(real-vs-real floor {meta['fid_floor']:.2f}).",
        "",
        "| model | sampler | steps | network evaluations per image | images/s | strict accuracy "
        "(95% CI) | lenient | FID |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["accuracy_ci95"]
        lines.append(
            f"| {r['model']} | {r['sampler']} | {r['steps']} | {r['evaluations']} | "
            f"{r['images_per_s']:.1f} | {r['accuracy']:.3f} ({lo:.2f}-{hi:.2f}) | "
            f"{r['lenient']:.3f} | {r['fid']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", default="world-t2i-layout")
    p.add_argument("--student", default="world-t2i-turbo")
    p.add_argument("--prompts-per-category", type=int, default=25)
    p.add_argument("--splits", default="paraphrased")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--fid-n", type=int, default=300)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", default=",".join(f"{m}:{s}" for m, s in ROWS))
    p.add_argument("--out", default=None, help="folder for few_step.json and few_step.md")
    args = p.parse_args(argv)

    import genlab
    from genlab.eval import compositional as comp
    from genlab.eval.features import load_feature_net
    from genlab.eval.images import world_set
    from genlab.eval.metrics import fid_from_features, wilson_interval

    torch.set_num_threads(args.threads)
    pipes = {"teacher": genlab.load(args.teacher, device="cpu")}
    pipes["student"] = genlab.load(args.student, device="cpu")
    splits = tuple(s for s in args.splits.split(",") if s)
    items = comp.suite(args.prompts_per_category, seed=args.seed, splits=splits)
    speed_prompts = [it.prompt for it in items[: args.batch]]
    size = pipes["teacher"].image_size
    net = load_feature_net("world")
    real = world_set(args.fid_n, size=size, seed=args.seed + 101)
    real_b = world_set(args.fid_n, size=size, seed=args.seed + 202)
    real_feats, real_b_feats = net.features(real.images), net.features(real_b.images)
    floor = fid_from_features(real_feats, real_b_feats)

    rows = []
    for spec in args.rows.split(","):
        which, steps = spec.split(":")
        pipe, steps = pipes[which], int(steps)
        start = time.perf_counter()
        speed = images_per_s(pipe, speed_prompts, steps, args.repeats)
        acc = strict_accuracy(pipe, items, steps, args.seed, args.batch)
        f = fid(pipe, steps, real.captions, args.seed, args.batch, net, real_feats)
        k = round(acc["overall"] * acc["n"])
        guided = pipe.default_guidance_scale != 1
        row = {
            "model": pipe.name,
            "sampler": pipe.default_sampler,
            "steps": steps,
            "evaluations": steps * (2 if guided else 1),
            "guidance_scale": pipe.default_guidance_scale,
            "images_per_s": speed,
            "accuracy": acc["overall"],
            "accuracy_ci95": wilson_interval(k, acc["n"]),
            "lenient": acc["lenient"],
            "categories": acc["splits"],
            "fid": f,
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        print(
            f"{row['model']:<18} {row['sampler']:<9} {steps:>2} steps: {speed:6.1f} images/s, "
            f"strict {acc['overall']:.3f}, FID {f:.2f} ({row['seconds']:.0f} s)",
            flush=True,
        )
    meta = {
        "teacher": args.teacher,
        "student": args.student,
        "threads": args.threads,
        "batch": args.batch,
        "accuracy_prompts": len(items),
        "splits": args.splits,
        "seed": args.seed,
        "fid_n": args.fid_n,
        "fid_floor": floor,
        "date": time.strftime("%Y-%m-%d"),
    }
    table = markdown(rows, meta)
    print()
    print(table)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "few_step.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        (out / "few_step.md").write_text(table + "\n")
        print(f"\nwrote {out / 'few_step.json'} and few_step.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
