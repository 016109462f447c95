"""Replay of outsider prompt sets through a world grammar with the reading check and fallback
(genlab/world/reading_check.py) on top: how many misreadings the check flags (recall), how many
right readings it flags (false alarms), how many misreadings the fallback fixes and how many right
readings it breaks. No model is run; a reading is right when it is the scene the set's maker wrote.

--grammar-src replays an older grammar: a `src` folder of a checkout at the commit where a set was
measured fresh (git worktree add /tmp/oldgrammar5 43f3f64); the check and fallback of THIS tree
are loaded on top of it, reading with that grammar's own words.

Usage:
  python benchmarks/reading_fallback_replay.py benchmarks/outsider5_prompts.json \
      --grammar-src /tmp/oldgrammar5/src [--show 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prompts", nargs="+")
    ap.add_argument("--grammar-src", help="an older checkout's src folder (default: this tree's)")
    ap.add_argument("--show", type=int, default=0, help="flagged or changed prompts printed")
    args = ap.parse_args(argv)
    if args.grammar_src:
        sys.path.insert(0, str(Path(args.grammar_src).resolve()))
    from genlab.world import reading  # the grammar replayed (an older one with --grammar-src)

    check = _load("reading_check_replayed", HERE.parent / "src/genlab/world/reading_check.py")
    judge = _load("outsider_reading", HERE / "outsider_reading.py")
    print(f"grammar: {Path(reading.__file__).parent}")

    def right(request, item) -> bool:
        read = replace(
            request, relations=tuple(r for r in request.relations if r.relation != "beside")
        )
        return read.normalized() == judge.truth_request(item).normalized()

    for path in args.prompts:
        items = judge.J.load_items(path)
        n = {k: 0 for k in ("wrong", "flagged_wrong", "right", "flagged_right", "fixed", "broken")}
        shown = 0
        for item in items:
            text = item["prompt"]
            first = reading.parse_prompt(text)
            verdict = check.check_reading(reading._tokenize(text), first)
            final, final_check = check.best_reading(text, reading._tokenize, reading.parse_prompt)
            was, now = right(first.request, item), right(final.request, item)
            n["right" if was else "wrong"] += 1
            if not verdict.accounted:
                n["flagged_right" if was else "flagged_wrong"] += 1
            n["fixed"] += not was and now
            n["broken"] += was and not now
            if shown < args.show and (not verdict.accounted or not was or not now):
                shown += 1
                print(f"{'RIGHT' if was else 'WRONG'}->{'RIGHT' if now else 'WRONG'} {text!r}\n"
                      f"  read {first.canonical!r} {verdict}\n  kept {final.canonical!r} "
                      f"{final_check}")  # fmt: skip
        total = len(items)
        print(f"{path}: {total} prompts, read right {n['right']}/{total} -> "
              f"{n['right'] - n['broken'] + n['fixed']}/{total} with the fallback\n"
              f"  misreadings flagged {n['flagged_wrong']}/{n['wrong']}, right readings flagged "
              f"{n['flagged_right']}/{n['right']}, fixed {n['fixed']}/{n['wrong']}, "
              f"broken {n['broken']}/{n['right']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
