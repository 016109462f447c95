"""An independent strict judge of text-to-image models on the built-in world, run on the outsider's
free-form prompts (benchmarks/outsider_prompts.json): one image per prompt, judged by what the
world's detector (genlab.world.parser.parse_image) finds against the scene the prompt asks for.

Usage:
  python benchmarks/outsider_judge.py --model world-t2i-layout --seeds 0 [--limit N] [--out DIR]
  python benchmarks/outsider_judge.py --validate 200   # the judge on rendered true scenes

A picture passes only if all of these hold:
- objects: the detected (color, shape) multiset equals the requested one exactly: every count
  exact, and no object of any kind that was not asked for;
- size: every object whose size was asked for has it (an assignment of detected objects to
  requested ones that satisfies every size, position and relation at once must exist);
- position: an object's cell is read from its center (col = floor(3x), row = floor(3y), y down).
  "top left", "top right", "bottom left", "bottom right" and "center" name one cell; "top" and
  "bottom" name a row (any column), "left" and "right" a column (any row);
- relation: "A left of B" iff B.x - A.x >= 1/6 (half a cell) and |A.y - B.y| <= |A.x - B.x| + 0.05,
  that is A is clearly to the left and the offset is at least as horizontal as vertical (within 45
  degrees, plus a tolerance for the jitter of diagonal neighbours); "right of", "above" and
  "below" likewise (y downward, so "above" means a smaller y). With counts > 1 a relation must
  hold for every pair of their objects;
- background: the detected background, when the prompt names one.
The judge uses none of genlab's prompt reading or matching (grammar, lexicon, match, caption,
eval.compositional): the expected scenes were written by benchmarks/outsider_prompts_make.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

PROMPTS = Path(__file__).with_name("outsider_prompts.json")
CATEGORIES = ("single", "count", "two_objects", "relation")
HALF_CELL = 1 / 6  # a relation's offset must be at least half a cell along its axis
DIAGONAL_TOLERANCE = 0.05  # jitter allowance so exact diagonal neighbours count either way
CHECKS = ("objects", "size", "position", "relation", "background")

# Position -> (allowed rows, allowed cols); None = any.
POSITIONS: dict[str, tuple[set[int] | None, set[int] | None]] = {
    "top left": ({0}, {0}),
    "top right": ({0}, {2}),
    "bottom left": ({2}, {0}),
    "bottom right": ({2}, {2}),
    "center": ({1}, {1}),
    "top": ({0}, None),
    "bottom": ({2}, None),
    "left": (None, {0}),
    "right": (None, {2}),
}


# ---------------------------------------------------------------------------------- the judge


class Verdict(NamedTuple):  # not a dataclass: tests load this script without a sys.modules entry
    passed: bool
    reason: str  # "ok" or the first failed check: missing/extra/wrong objects, size, ...
    detail: str = ""


def cell_of(center) -> tuple[int, int]:
    """(row, col) of a center given as fractions of the side, y downward."""
    x, y = center
    return min(2, max(0, math.floor(3 * y))), min(2, max(0, math.floor(3 * x)))


def position_holds(center, position: str) -> bool:
    rows, cols = POSITIONS[position]
    row, col = cell_of(center)
    return (rows is None or row in rows) and (cols is None or col in cols)


def relation_holds(a_center, relation: str, b_center) -> bool:
    """'a <relation> b' by the rule in the module docstring."""
    dx, dy = a_center[0] - b_center[0], a_center[1] - b_center[1]
    if relation in ("left of", "right of"):
        along, across = (-dx if relation == "left of" else dx), dy
    elif relation in ("above", "below"):
        along, across = (-dy if relation == "above" else dy), dx
    else:
        raise ValueError(f"unknown relation {relation!r}")
    return along >= HALF_CELL and abs(across) <= along + DIAGONAL_TOLERANCE


def _kinds(pairs) -> str:
    return ", ".join(f"{n}x {c} {s}" for (c, s), n in sorted(pairs.items())) or "none"


def judge(item: dict, objects, background: str | None) -> Verdict:
    """Strict verdict for one picture. `item` is an entry of outsider_prompts.json; `objects` are
    the detections (anything with .shape, .color, .size and .center); `background` the detected
    background (None skips that check, e.g. for a layout plan)."""
    specs = item["objects"]
    # One entry per requested object: the index of its spec.
    wanted = [i for i, o in enumerate(specs) for _ in range(o["count"])]
    want = Counter((specs[i]["color"], specs[i]["shape"]) for i in wanted)
    got = Counter((o.color, o.shape) for o in objects)
    if want != got:
        missing, extra = want - got, got - want
        reason = (
            "extra objects" if not missing else "missing objects" if not extra else "wrong objects"
        )
        return Verdict(False, reason, f"missing: {_kinds(missing)}; extra: {_kinds(extra)}")

    # Every assignment of detections to requested objects that agrees on (color, shape); the
    # picture passes if one satisfies every check. Otherwise report the check that failed in the
    # assignment that got furthest (sizes, then positions, then relations).
    best = (-1, "")
    for perm in itertools.permutations(range(len(objects))):
        det = [objects[p] for p in perm]
        if any(
            (d.color, d.shape) != (specs[i]["color"], specs[i]["shape"])
            for d, i in zip(det, wanted)
        ):
            continue
        failed = _first_failure(specs, item.get("relations", []), wanted, det)
        if failed is None:
            break
        best = max(best, failed)
    else:
        return Verdict(False, CHECKS[best[0]], best[1])
    if item.get("background") and background is not None and background != item["background"]:
        return Verdict(False, "background", f"asked {item['background']}, got {background}")
    return Verdict(True, "ok")


def _first_failure(specs, relations, wanted, det) -> tuple[int, str] | None:
    """None if this assignment satisfies sizes, positions and relations, else (check index, why)."""
    for d, i in zip(det, wanted):
        if specs[i]["size"] and d.size != specs[i]["size"]:
            return 1, f"{d.color} {d.shape} is {d.size}, asked {specs[i]['size']}"
    for d, i in zip(det, wanted):
        position = specs[i]["position"]
        if position and not position_holds(d.center, position):
            where = "row {} col {}".format(*cell_of(d.center))
            return 2, f"{d.color} {d.shape} at {where}, asked {position}"
    for rel in relations:
        subjects = [d for d, i in zip(det, wanted) if i == rel["subject"]]
        targets = [d for d, i in zip(det, wanted) if i == rel["target"]]
        for a, b in itertools.product(subjects, targets):
            if not relation_holds(a.center, rel["relation"], b.center):
                return 3, (
                    f"{a.color} {a.shape} at ({a.center[0]:.2f}, {a.center[1]:.2f}) not "
                    f"{rel['relation']} {b.color} {b.shape} at ({b.center[0]:.2f}, {b.center[1]:.2f})"
                )
    return None


def describe(objects, background=None) -> str:
    parts = [f"{o.size} {o.color} {o.shape} r{cell_of(o.center)[0]}c{cell_of(o.center)[1]}"
             for o in objects]  # fmt: skip
    return ", ".join(parts) + (f" on {background}" if background else "")


def plan_objects(layout_cells) -> list:
    """A layout plan's objects (9 cell classes from a pipeline's metadata) at their cells' centers,
    so the plan can be judged with the same rules as the picture."""
    from genlab.world.layout import layout_objects

    return [
        SimpleNamespace(shape=o.shape, color=o.color, size=o.size, center=o.center)
        for o in layout_objects(layout_cells)
    ]


# ---------------------------------------------------------------------------------- statistics


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, mid - half), min(1.0, mid + half)


def summarize(rows: list[dict], key: str = "passed") -> dict:
    """{group: {n, passed, accuracy, low, high}} overall and per category."""
    groups = {"overall": rows} | {c: [r for r in rows if r["category"] == c] for c in CATEGORIES}
    out = {}
    for name, rs in groups.items():
        k = sum(1 for r in rs if r.get(key))
        lo, hi = wilson(k, len(rs))
        out[name] = {"n": len(rs), "passed": k, "accuracy": k / len(rs) if rs else 0.0,
                     "low": lo, "high": hi}  # fmt: skip
    return out


# ---------------------------------------------------------------------------------- ground truth


def truth_scene(item: dict, seed: int, extra_object: bool = False):
    """A genlab.world Scene that shows exactly what `item` asks for (random free choices: cells,
    unspecified sizes and background, a jitter of the centers), drawn so the judge can be checked
    on pictures known to be right; `extra_object` adds one object of a kind not asked for."""
    from genlab.world.spec import BACKGROUNDS, COLORS, JITTER, SHAPES, Obj, Scene

    rng = random.Random(seed)
    specs = item["objects"]
    wanted = [i for i, o in enumerate(specs) for _ in range(o["count"])]
    cells = [(r, c) for r in range(3) for c in range(3)]
    need = len(wanted) + extra_object
    for _ in range(20000):  # rejection sampling of distinct cells that satisfy the request
        chosen = rng.sample(cells, need)
        centers = [((c + 0.5) / 3, (r + 0.5) / 3) for r, c in chosen]
        ok = all(
            not specs[i]["position"] or position_holds(centers[k], specs[i]["position"])
            for k, i in enumerate(wanted)
        ) and all(
            relation_holds(centers[a], rel["relation"], centers[b])
            for rel in item.get("relations", [])
            for a, i in enumerate(wanted)
            if i == rel["subject"]
            for b, j in enumerate(wanted)
            if j == rel["target"]
        )
        if ok:
            break
    else:
        raise RuntimeError(f"no layout satisfies {item['prompt']!r}")
    objects = []
    for k, (row, col) in enumerate(chosen):
        if k < len(wanted):
            spec = specs[wanted[k]]
            color, shape, size = spec["color"], spec["shape"], spec["size"]
        else:
            asked = {(o["color"], o["shape"]) for o in specs}
            color, shape = rng.choice(
                [(c, s) for c in COLORS for s in SHAPES if (c, s) not in asked]
            )
            size = None
        x = (col + 0.5) / 3 + rng.uniform(-JITTER, JITTER)
        y = (row + 0.5) / 3 + rng.uniform(-JITTER, JITTER)
        objects.append(Obj(shape, color, size or rng.choice(["small", "large"]), row, col, x, y))
    background = item.get("background") or rng.choice(list(BACKGROUNDS))
    return Scene(tuple(objects), background)


def validate(items: list[dict], n: int, seed: int = 0) -> dict:
    """The judge on rendered truth: the fraction of true scenes it passes (should be 1) and of
    true scenes plus one extra object it fails (should be 1)."""
    from genlab.world.parser import parse_image
    from genlab.world.render import render

    picked = random.Random(seed).sample(items, min(n, len(items)))
    accepted = rejected = 0
    misjudged = []
    for k, item in enumerate(picked):
        parsed = parse_image(render(truth_scene(item, seed + k)))
        v = judge(item, parsed.objects, parsed.background)
        accepted += v.passed
        if not v.passed:
            misjudged.append({"prompt": item["prompt"], "truth": True, "reason": v.detail})
        if sum(o["count"] for o in item["objects"]) < 4:
            parsed = parse_image(render(truth_scene(item, seed + k, extra_object=True)))
            v = judge(item, parsed.objects, parsed.background)
            rejected += not v.passed
            if v.passed:
                misjudged.append({"prompt": item["prompt"], "truth": False})
    with_room = sum(1 for it in picked if sum(o["count"] for o in it["objects"]) < 4)
    return {
        "truth_scenes": len(picked),
        "truth_accepted": accepted / len(picked),
        "extra_object_scenes": with_room,
        "extra_object_rejected": rejected / max(1, with_room),
        "misjudged": misjudged,
    }


# ---------------------------------------------------------------------------------- the runner


def load_items(path=PROMPTS) -> list[dict]:
    return json.loads(Path(path).read_text())["prompts"]


def unknown_words(pipe, prompt: str) -> list[str]:
    """Words of `prompt` the model's own tokenizer maps to [UNK] (its vocabulary lacks them)."""
    from genlab.text.tokenizer import UNK_ID, split_words

    tokenizer = getattr(getattr(pipe, "text_encoder", None), "tokenizer", None)
    if tokenizer is None:
        return []
    return [w for w in split_words(prompt) if tokenizer.index.get(w, UNK_ID) == UNK_ID]


def filler_words(prompts=PROMPTS) -> set[str]:
    """Words of the prompt maker's lead-ins ("can you show me", "I'd like", ...) and "please":
    words that ask for nothing in the picture. The maker is the script the prompts file's
    description names ("made by benchmarks/NAME.py"), outsider_prompts_make.py by default."""
    import importlib.util
    import re

    said = re.search(r"benchmarks/(\w+\.py)", json.loads(Path(prompts).read_text())["description"])
    maker = Path(__file__).with_name(said.group(1) if said else "outsider_prompts_make.py")
    spec = importlib.util.spec_from_file_location(maker.stem, maker)
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    from genlab.text.tokenizer import split_words

    return {w for lead in make.LEAD_INS for w in split_words(lead)} | {"please"}


def generate_and_judge(pipe, items, base_seed: int, batch: int, cache: Path, log=print) -> list:
    """One image per prompt (prompt i with seed base_seed + i), judged; results are appended to
    `cache` (JSON lines) as they come, and prompts already there are not drawn again. Each
    picture is kept as a PNG in the folder `cache` names without its suffix."""
    from genlab.errors import GenlabError
    from genlab.world.parser import parse_image

    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            r = json.loads(line)
            done[(r["index"], r["prompt"], r["seed"])] = r
    todo = [i for i, it in enumerate(items) if (i, it["prompt"], base_seed + i) not in done]
    log(f"seed {base_seed}: {len(items) - len(todo)} cached, {len(todo)} to draw")
    start = time.time()
    pictures = cache.with_suffix("")
    pictures.mkdir(exist_ok=True)
    with cache.open("a") as f:
        for b in range(0, len(todo), batch):
            idx = todo[b : b + batch]
            # Image i of a call starts from seed + i, so consecutive prompts are drawn together;
            # a gap in `idx` (a partly cached run) is drawn as its own call.
            for run in consecutive_runs(idx):
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        result = pipe([items[i]["prompt"] for i in run], seed=base_seed + run[0])
                except GenlabError:  # a prompt the model refuses: each one alone
                    for i in run:
                        r = _draw_or_refuse(pipe, items, i, base_seed, parse_image, pictures)
                        done[(i, r["prompt"], r["seed"])] = r
                        f.write(json.dumps(r) + "\n")
                    f.flush()
                    continue
                said = sorted({str(w.message) for w in caught})
                for i, image, meta in zip(run, result.images, result.metadata, strict=True):
                    assert meta["seed"] == base_seed + i, (meta["seed"], base_seed + i)
                    r = _judge_one(pipe, items[i], i, image, meta, parse_image, said)
                    image.save(pictures / f"{i:03d}.png")
                    done[(i, r["prompt"], r["seed"])] = r
                    f.write(json.dumps(r) + "\n")
                f.flush()
            n = b + len(idx)
            rate = (time.time() - start) / n
            log(
                f"  {n}/{len(todo)} drawn, {rate:.1f} s/image, ~{rate * (len(todo) - n) / 60:.0f} min left"
            )
    return [done[(i, it["prompt"], base_seed + i)] for i, it in enumerate(items)]


def _draw_or_refuse(pipe, items, i: int, base_seed: int, parse_image, pictures: Path) -> dict:
    """Prompt i alone; one the model refuses with an error (e.g. read as more objects than a
    scene holds) fails with the error as its detail and no picture."""
    from genlab.errors import GenlabError

    item = items[i]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = pipe([item["prompt"]], seed=base_seed + i)
    except GenlabError as e:
        return {
            "index": i, "prompt": item["prompt"], "category": item["category"],
            "seed": base_seed + i, "passed": False, "reason": "refused", "detail": str(e),
            "detected": "", "unknown_words": unknown_words(pipe, item["prompt"]), "notes": {},
            "warnings": [],
        }  # fmt: skip
    said = sorted({str(w.message) for w in caught})
    row = _judge_one(pipe, item, i, result.images[0], result.metadata[0], parse_image, said)
    result.images[0].save(pictures / f"{i:03d}.png")
    return row


def consecutive_runs(idx: list[int]) -> list[list[int]]:
    """Sorted indices split into runs of consecutive ones ([1, 2, 5] -> [[1, 2], [5]])."""
    runs: list[list[int]] = []
    for i in idx:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _judge_one(pipe, item, index, image, meta, parse_image, said) -> dict:
    parsed = parse_image(image)
    v = judge(item, parsed.objects, parsed.background)
    row = {
        "index": index,
        "prompt": item["prompt"],
        "category": item["category"],
        "seed": meta["seed"],
        "passed": v.passed,
        "reason": v.reason,
        "detail": v.detail,
        "detected": describe(parsed.objects, parsed.background),
        "unknown_words": unknown_words(pipe, item["prompt"]),
        # anything the pipeline says about the prompt (a warning, a field naming unknown words)
        "notes": {k: meta[k] for k in meta if "warn" in k or "unknown" in k or "ignored" in k},
        "warnings": said,
    }
    if "layout_cells" in meta:  # a two-stage model: was its plan already right?
        pv = judge(item, plan_objects(meta["layout_cells"]), None)
        row.update(plan_passed=pv.passed, plan_reason=pv.reason, plan=meta.get("layout"))
    return row


def failure_grid(rows, pictures: Path, path: Path, n: int = 24, columns: int = 4) -> int:
    """A PNG of the first `n` failures, taken from the categories in turn: each picture (read from `pictures`/NNN.png) 4x enlarged
    with its prompt, what the judge found wrong and what was detected."""
    import textwrap

    from PIL import Image, ImageDraw

    # the first failures of each category in turn, so every category shows
    by_category = [[r for r in rows if not r["passed"] and r["category"] == c] for c in CATEGORIES]
    failed = [r for group in itertools.zip_longest(*by_category) for r in group if r]
    failed = [r for r in failed if (pictures / f"{r['index']:03d}.png").exists()][:n]  # drawn
    if not failed:
        return 0
    images = [Image.open(pictures / f"{r['index']:03d}.png").convert("RGB") for r in failed]
    tile_w, img, text_h = 300, 128, 120
    rows_n = math.ceil(len(failed) / columns)
    sheet = Image.new("RGB", (columns * tile_w, rows_n * (img + text_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (r, im) in enumerate(zip(failed, images)):
        x, y = (k % columns) * tile_w, (k // columns) * (img + text_h)
        sheet.paste(im.resize((img, img), Image.NEAREST), (x + 4, y + 4))
        lines = textwrap.wrap(f"#{r['index']} {r['prompt']}", 48)[:3]
        lines += textwrap.wrap(f"{r['reason']}: {r['detail']}", 48)[:3]
        lines += textwrap.wrap(f"saw: {r['detected']}", 48)[:3]
        for j, line in enumerate(lines):
            draw.text((x + 4, y + img + 8 + 12 * j), line, fill="black")
    sheet.save(path)
    return len(failed)


def print_table(model: str, seed: int, rows: list[dict], log=print, prompts=PROMPTS) -> dict:
    summary = {"image": summarize(rows)}
    if all("plan_passed" in r for r in rows):
        summary["plan"] = summarize(rows, "plan_passed")
    log(f"\n{model}, seed {seed}, strict, one image per prompt ({len(rows)} prompts)")
    header = f"{'category':<12} {'n':>4}  {'strict acc':>10}  {'95% Wilson':>13}"
    if "plan" in summary:
        header += f"  {'plan right':>10}"
    log(header)
    for name in ("overall", *CATEGORIES):
        s = summary["image"][name]
        if not s["n"]:
            continue
        line = f"{name:<12} {s['n']:>4}  {s['accuracy']:>10.3f}  [{s['low']:.3f}, {s['high']:.3f}]"
        if "plan" in summary:
            line += f"  {summary['plan'][name]['accuracy']:>10.3f}"
        log(line)
    reasons = Counter(r["reason"] for r in rows if not r["passed"])
    log(
        "failures by first failed check: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common())
    )
    unk = [r for r in rows if r["unknown_words"]]
    words = Counter(w for r in unk for w in r["unknown_words"])
    log(f"prompts with words the model's tokenizer does not know: {len(unk)}/{len(rows)}; "
        f"accuracy on them {sum(r['passed'] for r in unk) / max(1, len(unk)):.3f}, on the rest "
        f"{sum(r['passed'] for r in rows if not r['unknown_words']) / max(1, len(rows) - len(unk)):.3f}")  # fmt: skip
    log("  unknown words: " + ", ".join(f"{w} {n}" for w, n in words.most_common()))
    fillers = filler_words(prompts)
    content = [r for r in rows if set(r["unknown_words"]) - fillers]
    log(f"  of them, with an unknown word that names a color, shape, count, size, position, "
        f"relation or background (not a lead-in or 'please'): {len(content)}/{len(rows)}, "
        f"accuracy {sum(r['passed'] for r in content) / max(1, len(content)):.3f}")  # fmt: skip
    by_unknown = {}
    for label, lo, hi in (("0", 0, 0), ("1", 1, 1), ("2", 2, 2), ("3+", 3, 10**6)):
        rs = [r for r in rows if lo <= len(r["unknown_words"]) <= hi]
        by_unknown[label] = {"n": len(rs), "passed": sum(r["passed"] for r in rs)}
    log("  accuracy by the number of unknown words in the prompt: " + ", ".join(
        f"{k}: {v['passed']}/{v['n']}" for k, v in by_unknown.items()))  # fmt: skip
    noted = sum(1 for r in rows if r["notes"] or r["warnings"])
    log(f"prompts whose result carried a warning or an unknown-word note: {noted}")
    summary["reasons"] = dict(reasons)
    summary["unknown_word_prompts"] = len(unk)
    summary["unknown_words"] = dict(words)
    summary["unknown_content_word_prompts"] = len(content)
    summary["noted_prompts"] = noted
    summary["by_unknown_word_count"] = by_unknown
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="world-t2i-layout")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--limit", type=int, default=None, help="first N prompts only")
    ap.add_argument("--prompts", default=str(PROMPTS))
    ap.add_argument("--batch", type=int, default=16, help="prompts per pipeline call")
    ap.add_argument("--out", default="benchmarks/results/outsider")
    ap.add_argument("--grid", type=int, default=24, help="failures shown in the PNG")
    ap.add_argument("--validate", type=int, default=0,
                    help="only check the judge on N rendered true scenes (and with an extra object)")  # fmt: skip
    args = ap.parse_args(argv)

    items = load_items(args.prompts)[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.validate:
        report = validate(items, args.validate)
        print(json.dumps(report, indent=1))
        (out / "validate.json").write_text(json.dumps(report, indent=1) + "\n")
        return 0 if report["truth_accepted"] == 1 and report["extra_object_rejected"] == 1 else 1

    import genlab

    pipe = genlab.load(args.model)
    report = {"model": args.model, "prompts": args.prompts, "n": len(items), "seeds": {}}
    for seed in args.seeds:
        cache = out / f"{args.model.replace('/', '_')}-seed{seed}.jsonl"
        rows = generate_and_judge(pipe, items, seed, args.batch, cache)
        summary = print_table(args.model, seed, rows, prompts=args.prompts)
        png = out / f"{args.model.replace('/', '_')}-seed{seed}-failures.png"
        shown = failure_grid(rows, cache.with_suffix(""), png, args.grid)
        print(f"wrote {png} ({shown} failures)")
        report["seeds"][str(seed)] = {"summary": summary, "results": rows}
    path = out / f"{args.model.replace('/', '_')}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
