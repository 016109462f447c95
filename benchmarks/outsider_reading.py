"""Reading alone: how many prompts of an outsider set (benchmarks/outsider*_prompts.json) the world
grammar (genlab.world.grammar.parse_prompt) reads to exactly the scene the set's maker wrote for
them, per category with Wilson intervals, and the misreadings. No model is run: a prompt read
wrong here is drawn from a wrong plan by a two-stage model of the world, whatever it draws.

Usage:
  python benchmarks/outsider_reading.py benchmarks/outsider4_prompts.json [--show 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

from genlab.world.grammar import ObjectRequest, RelationRequest, SceneRequest, parse_prompt

spec = importlib.util.spec_from_file_location(
    "outsider_judge", Path(__file__).with_name("outsider_judge.py")
)
J = importlib.util.module_from_spec(spec)
spec.loader.exec_module(J)

# the judge's position names -> the grammar's (row, col)
CELLS = {
    name: (
        None if rows is None else next(iter(rows)),
        None if cols is None else next(iter(cols)),
    )
    for name, (rows, cols) in J.POSITIONS.items()
}


def truth_request(item: dict) -> SceneRequest:
    """The SceneRequest the set's maker wrote for `item` (its objects, relations, background)."""
    objects = tuple(
        ObjectRequest(o["shape"], o["color"], o["size"], o["count"], *CELLS.get(o["position"], (None, None)))
        for o in item["objects"]
    )  # fmt: skip
    relations = tuple(
        RelationRequest(r["subject"], r["relation"], r["target"]) for r in item["relations"]
    )
    return SceneRequest(objects, relations, item.get("background"))


def read_right(item: dict) -> bool:
    """Whether the grammar reads the prompt to exactly the scene asked for (group order aside).
    A "beside" the grammar reads ("next to") is left out: the judge has no such relation, and a
    plan puts the two in one row, which no check of the judge's fails."""
    read = parse_prompt(item["prompt"]).request
    read = replace(read, relations=tuple(r for r in read.relations if r.relation != "beside"))
    return read.normalized() == truth_request(item).normalized()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prompts", nargs="+")
    ap.add_argument("--show", type=int, default=40, help="misreadings printed per set")
    args = ap.parse_args(argv)
    for path in args.prompts:
        items = J.load_items(path)
        rows = []
        for i, item in enumerate(items):
            rows.append({"category": item["category"], "passed": read_right(item), "index": i})
        summary = J.summarize(rows)
        print(f"{path}: read right")
        for name, s in summary.items():
            print(f"  {name:<12} {s['passed']}/{s['n']} = {s['accuracy']:.3f} "
                  f"[{s['low']:.3f}, {s['high']:.3f}]")  # fmt: skip
        wrong = [r for r in rows if not r["passed"]]
        for r in wrong[: args.show]:
            item = items[r["index"]]
            reading = parse_prompt(item["prompt"])
            print(f"MISS {r['index']} {item['prompt']!r}\n  read: {reading.canonical!r} "
                  f"{reading.warnings()}\n  want: {truth_request(item).normalized()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
