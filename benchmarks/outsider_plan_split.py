"""Reading or drawing? An outsider judge record (benchmarks/outsider_judge.py's MODEL.json) split
by whether the model's plan (the grammar's reading, as a layout) was right: strict accuracy, the
plan's, and the picture's where the plan was right, per category with Wilson intervals; then how
often the plan is right for prompts with and without some wordings.

Usage:
  python benchmarks/outsider_plan_split.py benchmarks/results/outsider3/world-t2i-turbo.json [...]
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "outsider_judge", Path(__file__).with_name("outsider_judge.py")
)
J = importlib.util.module_from_spec(spec)
spec.loader.exec_module(J)

# wordings of the third outsider set (benchmarks/outsider3_prompts_make.py), by kind
FEATURES = {
    "color after the noun": r"\bthat (is|are)\b|each one|, in [a-z]",
    "list frame": r"(objects|shapes|contents): ",
    "background words": r"inky|coal|ash gr|concrete|paper white|clean white|\bbg\b",
    "positions": r"upper row|lower row|leftmost|rightmost|centered|upper edge|lower edge|smack|"
    r"up in the|down in the|left-hand edge|right-hand edge",
    "counts": r"\bx[234]\b|in total|trio|quartet|couple of|\btwin\b|set of four",
    "size words": r"oversized|smallish|miniature|teeny|jumbo|massive|enormous",
    "shade and thing-named colors": r"kelly|leaf green|apple green|flamingo|tomato|fire-engine|"
    r"traffic-cone|mandarin|sunny|banana|daffodil|amethyst|plum|candy|rose pink|sapphire|"
    r"electric|medium blue|blood",
    "relations": r"higher up than|lower down than|further down than|to its (left|right)|"
    r"(left|right) of it|above it|below it|under it|over it|placed|positioned|off to|"
    r"should sit|, where the",
}


def main(paths: list[str]) -> int:
    for path in paths:
        doc = json.loads(Path(path).read_text())
        rows = next(iter(doc["seeds"].values()))["results"]
        print(f"{path} ({doc['model']})")
        for cat in ("overall", *J.CATEGORIES):
            rs = rows if cat == "overall" else [r for r in rows if r["category"] == cat]
            k = sum(r["passed"] for r in rs)
            lo, hi = J.wilson(k, len(rs))
            right = [r for r in rs if r.get("plan_passed")]
            kp = sum(r["passed"] for r in right)
            plo, phi = J.wilson(kp, len(right))
            print(f"  {cat:<12} strict {k}/{len(rs)} = {k / len(rs):.3f} [{lo:.3f}, {hi:.3f}]; "
                  f"plan right {len(right)}/{len(rs)}; drawn right where the plan is right "
                  f"{kp}/{len(right)} = {kp / max(1, len(right)):.3f} [{plo:.3f}, {phi:.3f}]")  # fmt: skip
        print("  plan right with the wording / without it:")
        for name, rx in FEATURES.items():
            has = [r for r in rows if re.search(rx, r["prompt"].lower())]
            lacks = [r for r in rows if not re.search(rx, r["prompt"].lower())]
            a = sum(bool(r.get("plan_passed")) for r in has)
            b = sum(bool(r.get("plan_passed")) for r in lacks)
            print(f"    {name:<30} {a}/{len(has)} vs {b}/{len(lacks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
