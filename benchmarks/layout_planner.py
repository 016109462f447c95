"""How good is a two-stage model's layout planner alone? For the compositional suite's prompts,
each plan the planner samples is rendered exactly by the world's renderer and read back by the
scene parser: the accuracy a denoiser that draws every plan perfectly would reach (the planner's
ceiling), per category, beside how often the plan is drawn from the text alone.

    python benchmarks/layout_planner.py world-t2i --prompts-per-category 500 --splits in_distribution

Prompt i of the suite's seeded sample is planned with seed i.

`--draw N` also measures the other stage alone: for N prompts per category, a plan that
satisfies the prompt is looked for (the planner sampled up to --tries times, each rendering
parsed), and the model draws it (`pipe(prompt, layout=plan)`, 20 DPM-Solver++ steps, seed i):
how faithfully the denoiser draws a right plan.
"""

from __future__ import annotations

import argparse
import json
import math
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
    p.add_argument(
        "--temperature", type=float, default=1.0, help="the planner's sampling temperature"
    )
    p.add_argument("--draw", type=int, default=0, help="prompts per category to draw (0: none)")
    p.add_argument("--tries", type=int, default=30, help="plans sampled per prompt for --draw")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    import genlab
    from genlab.eval.compositional import suite
    from genlab.world.spec import MAX_OBJECTS, RELATIONS

    torch.set_num_threads(max(1, torch.get_num_threads()))
    pipe = genlab.load(args.model, device="cpu")
    if getattr(pipe, "layout_planner", None) is None:
        p.error(f"model {args.model!r} has no layout planner")
    splits = tuple(s for s in args.splits.split(",") if s)
    items = suite(args.prompts_per_category, seed=args.seed, splits=splits)
    start = time.perf_counter()
    passed: dict[tuple[str, str], list[bool]] = defaultdict(list)
    cells: dict[str, list[int]] = defaultdict(list)  # split -> cells of single objects' plans
    relations: dict[tuple[str, str], list[bool]] = defaultdict(list)  # (split, relation) -> passed
    invalid = 0
    for i, item in enumerate(items):  # prompt i planned with seed i
        layout = pipe.plan_layouts([item.prompt], seed=i, temperature=args.temperature)[0]
        ok = _plan_satisfies(item.prompt, layout, args.size)
        invalid += ok is None
        passed[item.category, item.split].append(bool(ok))
        if item.category == "single_object":  # no position asked: where does the plan put it?
            cells[item.split] += [c for c, k in enumerate(layout.tolist()) if k]
        if item.category == "position":
            relation = next((r for r in RELATIONS if f" {r} " in item.prompt), "other")
            relations[item.split, relation].append(bool(ok))
    seconds = time.perf_counter() - start
    table = {}
    for split in splits:
        rows = {c: v for (c, s), v in passed.items() if s == split}
        table[split] = {c: round(sum(v) / len(v), 3) for c, v in rows.items()}
        pooled = [x for v in rows.values() for x in v]
        table[split]["overall"] = round(sum(pooled) / len(pooled), 3)
    print(f"{args.model}: planner ceiling (plans rendered exactly, parsed), {len(items)} prompts,"
          f" temperature {args.temperature:g},"
          f" {seconds:.0f} s, plans with no or over {MAX_OBJECTS} objects {invalid}")  # fmt: skip
    for split, row in table.items():
        print(f"  {split:>16}: " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    by_relation = {split: {r: round(sum(v) / len(v), 3) for (s, r), v in relations.items()
                           if s == split} for split in splits}  # fmt: skip
    for split, row in by_relation.items():
        if row:
            print(f"  {split:>16}: position by relation: "
                  + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))  # fmt: skip
    variety = {split: _entropy_bits(c) for split, c in cells.items()}
    for split, bits in variety.items():
        print(f"  {split:>16}: variety of placement: the cells single_object plans use, entropy"
              f" {bits:.2f} bits (one cell: 0, all 9 alike: {math.log2(9):.2f})")  # fmt: skip
    out = {"model": args.model, "prompts_per_category": args.prompts_per_category,
           "seed": args.seed, "temperature": args.temperature, "invalid_plans": invalid, "seconds": seconds, "ceiling": table,
           "position_by_relation": by_relation, "single_object_cell_entropy_bits": variety}  # fmt: skip
    if args.draw:
        out["drawing"] = _drawing(pipe, args, splits[0])
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def _entropy_bits(values: list[int]) -> float:
    counts = torch.bincount(torch.tensor(values, dtype=torch.long)).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log2()).sum())


def _plan_satisfies(prompt: str, layout, size: int) -> bool | None:
    """Whether `layout` rendered exactly (on the prompt's background) satisfies `prompt` by the
    scene parser; None when it is no world scene (no object, or more than the world allows)."""
    from genlab.eval.compositional import score_image
    from genlab.world import Scene, render
    from genlab.world.grammar import parse_prompt
    from genlab.world.layout import layout_objects
    from genlab.world.spec import MAX_OBJECTS

    objects = layout_objects(layout.tolist())
    if not 1 <= len(objects) <= MAX_OBJECTS:
        return None
    background = parse_prompt(prompt).request.background or "gray"
    return bool(score_image(prompt, render(Scene(tuple(objects), background), size))[0])


def _drawing(pipe, args, split: str) -> dict:
    """Accuracy of images drawn from plans that satisfy their prompts (see the module doc)."""
    from genlab.eval.compositional import score_image, suite

    start = time.perf_counter()
    drawn: dict[str, list[bool]] = defaultdict(list)
    no_plan: dict[str, int] = defaultdict(int)
    for i, item in enumerate(suite(args.draw, seed=args.seed, splits=(split,))):
        plan = None
        for t in range(args.tries):
            layout = pipe.plan_layouts([item.prompt], seed=1000 * i + t)[0]
            if _plan_satisfies(item.prompt, layout, args.size):
                plan = layout
                break
        if plan is None:
            no_plan[item.category] += 1
            continue
        image = pipe(item.prompt, seed=i, num_inference_steps=20, layout=plan).images[0]
        drawn[item.category].append(score_image(item.prompt, image)[0])
    rates = {c: round(sum(v) / len(v), 3) for c, v in drawn.items()}
    pooled = [x for v in drawn.values() for x in v]
    rates["overall"] = round(sum(pooled) / len(pooled), 3) if pooled else None
    print(f"  drawing a right plan ({split}, {len(pooled)} images, "
          f"{time.perf_counter() - start:.0f} s): "
          + "  ".join(f"{k} {v:.3f}" for k, v in rates.items() if v is not None)
          + (f"; no right plan in {args.tries} tries: {dict(no_plan)}" if no_plan else ""))  # fmt: skip
    return {"split": split, "accuracy": rates, "images": len(pooled), "no_plan": dict(no_plan)}


if __name__ == "__main__":
    raise SystemExit(main())
