"""How good is a two-stage model's layout planner alone? For the compositional suite's prompts,
each plan the planner samples is rendered exactly by the world's renderer and read back by the
scene parser: the accuracy a denoiser that draws every plan perfectly would reach (the planner's
ceiling), per category, beside how often the plan is drawn from the text alone.

    python benchmarks/layout_planner.py world-t2i --prompts-per-category 500 --splits in_distribution

Prompt i of the suite's seeded sample is planned with seed i.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a two-stage text-to-image model (name or path)")
    p.add_argument("--prompts-per-category", type=int, default=100)
    p.add_argument("--splits", default="in_distribution,held_out")
    p.add_argument("--seed", type=int, default=0, help="the suite's sampling seed")
    p.add_argument("--size", type=int, default=32, help="side of the rendered plans")
    p.add_argument("--batch", type=int, default=64, help="prompts planned per call")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    import genlab
    from genlab.eval.compositional import score_image, suite
    from genlab.world import Scene, render
    from genlab.world.grammar import parse_prompt
    from genlab.world.layout import layout_objects
    from genlab.world.spec import MAX_OBJECTS

    torch.set_num_threads(max(1, torch.get_num_threads()))
    pipe = genlab.load(args.model, device="cpu")
    if getattr(pipe, "layout_planner", None) is None:
        p.error(f"model {args.model!r} has no layout planner")
    splits = tuple(s for s in args.splits.split(",") if s)
    items = suite(args.prompts_per_category, seed=args.seed, splits=splits)
    start = time.perf_counter()
    passed: dict[tuple[str, str], list[bool]] = defaultdict(list)
    invalid = 0
    for b in range(0, len(items), args.batch):
        chunk = items[b : b + args.batch]
        # prompt i planned with seed i, one per call
        layouts = torch.cat(
            [pipe.plan_layouts([item.prompt], seed=b + j) for j, item in enumerate(chunk)]
        )
        for item, layout in zip(chunk, layouts.tolist(), strict=True):
            objects = layout_objects(layout)
            if not 1 <= len(objects) <= MAX_OBJECTS:  # no world scene: the plan fails
                invalid += 1
                passed[item.category, item.split].append(False)
                continue
            background = parse_prompt(item.prompt).request.background or "gray"
            image = render(Scene(tuple(objects), background), args.size)
            passed[item.category, item.split].append(score_image(item.prompt, image)[0])
    seconds = time.perf_counter() - start
    table = {}
    for split in splits:
        rows = {c: v for (c, s), v in passed.items() if s == split}
        table[split] = {c: round(sum(v) / len(v), 3) for c, v in rows.items()}
        pooled = [x for v in rows.values() for x in v]
        table[split]["overall"] = round(sum(pooled) / len(pooled), 3)
    print(f"{args.model}: planner ceiling (plans rendered exactly, parsed), {len(items)} prompts,"
          f" {seconds:.0f} s, plans with no or over {MAX_OBJECTS} objects {invalid}")  # fmt: skip
    for split, row in table.items():
        print(f"  {split:>16}: " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if args.json:
        out = {"model": args.model, "prompts_per_category": args.prompts_per_category,
               "seed": args.seed, "invalid_plans": invalid, "seconds": seconds, "ceiling": table}  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
