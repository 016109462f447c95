"""Video prompts as people write them: strict accuracy of a text-to-video model on one object
moving and on two objects moving differently ("a red ball moving left and a blue box moving up"),
in canonical words and paraphrased (lead-ins, synonyms, motion as people write it: "drifting
rightward", "sinks", "from left to right"), one video per prompt, per motion asked.

    python benchmarks/video_paraphrase.py world-t2v --n 8 --out benchmarks/results/video-paraphrase

Strict (genlab.world.video.judge_video): exactly the objects asked for and nothing else over the
clip, each motion's direction and extent (speed) right, the first and last frames showing the
asked objects; lenient (the forgiving reading) beside it, with Wilson 95% intervals. Prompt j of
a (category, split) is drawn with seed `--seed` + j at the pipeline's defaults (20 DPM-Solver++
steps, its guidance, 8 frames) through `genlab.load(model)(prompts, ...)`: the path of the CLI,
REST and the playground too (tests/test_video_faces.py). A paraphrase the grammar reads as its
canonical caption is given the model as that caption, so the two splits share its video (drawn
once). `--plan-source grammar` gives the model the grammar's whole-scene plan of what was read
(sizes, cells where each motion can play) instead of the caption of the reading (the comparison
of the two). `--rejudge DIR` judges the clips a
previous run saved (clips.npz) again, drawing nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def table(summary: dict) -> str:
    """Strict (95% interval) and lenient per split, category and motion."""
    from genlab.eval.video import VIDEO_CATEGORIES

    rows = [
        f"{'split':<12}{'category':<9}{'motion':<8}{'n':>4}  {'strict (95% CI)':<22}{'lenient':>8}"
    ]

    def row(split, category, motion, s):
        lo, hi = s["strict_ci95"]
        cell = f"{s['strict']:.3f} ({lo:.2f}-{hi:.2f})"
        return (
            f"{split:<12}{category:<9}{motion:<8}{s['videos']:>4}  {cell:<22}{s['lenient']:>8.3f}"
        )

    for split, entry in summary.items():
        for category in VIDEO_CATEGORIES:
            if category not in entry["categories"]:
                continue
            rows.append(row(split, category, "all", entry["categories"][category]))
            for motion, s in entry["motions"][category].items():
                rows.append(row(split, category, motion, s))
        rows.append(row(split, "both", "all", entry))
    return "\n".join(rows)


def failure_strips(results, path: Path, k: int = 6) -> None:
    """The first k strict failures as rows of frames, each captioned with its prompt and the
    first failed check."""
    from PIL import Image, ImageDraw

    failed = [r for r in results if not r.satisfied][:k]
    if not failed:
        return
    T, S = failed[0].clip.shape[0], failed[0].clip.shape[1]
    scale, text_h = 4, 24
    sheet = Image.new("RGB", (T * S * scale, len(failed) * (S * scale + text_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(failed):
        y = i * (S * scale + text_h)
        draw.text((2, y + 1), r.prompt[:110], fill="black")
        draw.text((2, y + 12), (r.reasons[0] if r.reasons else "")[:110], fill=(160, 0, 0))
        for t, frame in enumerate(r.clip):
            big = Image.fromarray(frame).resize((S * scale, S * scale), Image.NEAREST)
            sheet.paste(big, (t * S * scale, y + text_h))
    sheet.save(path)


def main() -> None:
    from genlab.eval.video import (
        VIDEO_CATEGORIES,
        VIDEO_SPLITS,
        VideoPrompt,
        judge_result,
        run_video_suite,
        summarize_videos,
        video_suite,
    )

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default="world-t2v")
    ap.add_argument("--n", type=int, default=8, help="prompts per (category, split)")
    ap.add_argument("--categories", default=",".join(VIDEO_CATEGORIES))
    ap.add_argument("--splits", default=",".join(VIDEO_SPLITS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--plan-source", default="reading", choices=["reading", "grammar"])
    ap.add_argument(
        "--animation",
        choices=["redraw", "cutout"],
        help="world-t2v-layout: every frame drawn from its layout, or the first frame's objects "
        "moved (default: the model's)",
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rejudge", help="a previous --out folder: judge its clips.npz again")
    ap.add_argument("--out", help="folder for results.json, clips.npz and failures.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    if args.rejudge:
        saved = np.load(Path(args.rejudge) / "clips.npz")
        old = json.loads((Path(args.rejudge) / "results.json").read_text())
        results = [
            judge_result(
                VideoPrompt(r["category"], r["split"], r["prompt"], tuple(r["motions"])),
                r["seed"],
                clip,
                r["read_as"],
            )  # fmt: skip
            for r, clip in zip(old["results"], saved["clips"])
        ]
        config = old["config"]
    else:
        import genlab

        pipe = genlab.load(args.model, device="cpu")
        prompts = video_suite(
            args.n, args.seed, tuple(args.categories.split(",")), tuple(args.splits.split(","))
        )
        options = {"plan_source": args.plan_source} if args.plan_source != "reading" else {}
        if args.animation:
            options["animation"] = args.animation
        results = run_video_suite(
            pipe, prompts, seed=args.seed, steps=args.steps, batch_size=args.batch, **options
        )
        config = {k: v for k, v in vars(args).items() if k not in ("out", "rejudge")}
    seconds = time.perf_counter() - t0
    summary = summarize_videos(results)
    print(table(summary))
    print(f"{len(results)} prompts in {seconds:.0f} s")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        record = {
            "config": config,
            "seconds": round(seconds, 1),
            "summary": summary,
            "results": [r.to_dict() for r in results],
        }
        (out / "results.json").write_text(json.dumps(record, indent=1))
        np.savez_compressed(out / "clips.npz", clips=np.stack([r.clip for r in results]))
        (out / "table.txt").write_text(table(summary) + "\n")
        failure_strips(results, out / "failures.png")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
