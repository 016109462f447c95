"""Issue #32, option (a): where does `world-t2i-layout` draw a gray background black? Its prompts
of an outsider set that ask for a given background, drawn at several guidance scales and with
several samplers, each picture judged strictly (benchmarks/outsider_judge.py) and its background
read by the world's detector.

Usage:
  python benchmarks/gray_background.py --model world-t2i-layout \
      --prompts benchmarks/outsider2_prompts.json --background gray \
      --settings dpmpp_2m:3,dpmpp_2m:1.5,dpmpp_2m:5,ddim:3,euler:3 --out DIR

A setting is SAMPLER:GUIDANCE[:STEPS] (steps 20 unless given). Prompt i of the set is drawn with
seed i in every setting, so the settings differ only in how they sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def _judge():
    spec = importlib.util.spec_from_file_location("outsider_judge", HERE / "outsider_judge.py")
    judge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judge)
    return judge


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="world-t2i-layout")
    ap.add_argument("--prompts", default=str(HERE / "outsider2_prompts.json"))
    ap.add_argument("--background", default="gray")
    ap.add_argument("--settings", default="dpmpp_2m:3,dpmpp_2m:1.5,dpmpp_2m:5,ddim:3,euler:3")
    ap.add_argument("--out", default="benchmarks/results/gray-background")
    args = ap.parse_args(argv)

    import genlab
    from genlab.world.parser import parse_image

    J = _judge()
    items = J.load_items(args.prompts)
    picked = [i for i, it in enumerate(items) if it.get("background") == args.background]
    pipe = genlab.load(args.model)
    report = {"model": args.model, "prompts": args.prompts, "background": args.background,
              "n": len(picked), "settings": {}}  # fmt: skip
    print(f"{args.model}: {len(picked)} prompts asking for a {args.background} background")
    print(f"{'setting':<18} {'strict':>7} {'bg right':>9}  backgrounds drawn")
    for setting in args.settings.split(","):
        sampler, guidance, *steps = setting.split(":")
        steps = int(steps[0]) if steps else 20
        start = time.time()
        rows = []
        for i in picked:
            result = pipe(items[i]["prompt"], seed=i, sampler=sampler,
                          guidance_scale=float(guidance), num_inference_steps=steps)  # fmt: skip
            parsed = parse_image(result.images[0])
            v = J.judge(items[i], parsed.objects, parsed.background)
            rows.append({"index": i, "passed": v.passed, "reason": v.reason,
                         "background": parsed.background})  # fmt: skip
        drawn = Counter(r["background"] for r in rows)
        ok = sum(r["passed"] for r in rows)
        bg_ok = drawn[args.background]
        lo, hi = J.wilson(ok, len(rows))
        print(f"{setting:<18} {ok / len(rows):>7.3f} {bg_ok / len(rows):>9.3f}  {dict(drawn)}  "
              f"[{lo:.3f}, {hi:.3f}] {time.time() - start:.0f} s")  # fmt: skip
        report["settings"][setting] = {"strict": ok / len(rows), "strict_low": lo,
                                       "strict_high": hi, "background_right": bg_ok / len(rows),
                                       "backgrounds": dict(drawn), "results": rows}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.model}-{Path(args.prompts).stem}-{args.background}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
