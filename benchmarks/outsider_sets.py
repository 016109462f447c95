"""What the outsider prompt makers (benchmarks/outsider*_prompts_make.py) share: the judge's test
that a scene can be drawn, the loop that draws a balanced set of distinct prompts, and the command
line that writes the set's json. Each maker keeps its own word lists and sentence frames.

A maker loads this file as the other benchmark scripts load each other (benchmarks/ is no package):
  spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
  sets = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(sets)
and then writes its set with `sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)`.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).parent
CATEGORIES = ("single", "count", "two_objects", "relation")
MAX_OBJECTS = 4
MIN_LAYOUT_SHARE = 0.002  # a kept scene's share of satisfying cell placements (judge samples 20000)
TRIES = 1000  # draws of one category before a maker's frames are taken to be unable to fill it


def load_script(name: str):
    """benchmarks/NAME.py as a module."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JUDGE = load_script("outsider_judge")  # its position and relation rules: a kept scene fits them
CELLS = [(r, c) for r in range(3) for c in range(3)]
ONE_CELL = {p for p, (rows, cols) in JUDGE.POSITIONS.items() if rows and cols}  # corners, center


def layout_share(objects: list[dict], relations: list[dict]) -> float:
    """The share of ordered placements of the scene's objects on distinct cells (at the cells'
    centers) that satisfy every position and relation: 0 where the scene cannot be drawn."""
    wanted = [i for i, o in enumerate(objects) for _ in range(o["count"])]
    if not 1 <= len(wanted) <= MAX_OBJECTS:
        return 0.0
    good = total = 0
    for chosen in itertools.permutations(CELLS, len(wanted)):
        total += 1
        centers = [((c + 0.5) / 3, (r + 0.5) / 3) for r, c in chosen]
        if all(
            not objects[i]["position"] or JUDGE.position_holds(centers[k], objects[i]["position"])
            for k, i in enumerate(wanted)
        ) and all(
            JUDGE.relation_holds(centers[a], rel["relation"], centers[b])
            for rel in relations
            for a, i in enumerate(wanted)
            if i == rel["subject"]
            for b, j in enumerate(wanted)
            if j == rel["target"]
        ):
            good += 1
    return good / total


# ---------------------------------------------------------------------------------- scene parts


def obj(color: str, shape: str, count: int = 1, size=None, position=None) -> dict:
    """One object of a scene as the judge reads it."""
    return {"shape": shape, "color": color, "count": count, "size": size, "position": position}


def rel_of(subject: int, rel: str, target: int) -> dict:
    """A relation between two objects of a scene (their indices) as the judge reads it."""
    return {"subject": subject, "relation": rel, "target": target}


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def counted(rng: random.Random, body: str, o: dict, with_count: bool, numbers, positions) -> str:
    """A noun phrase's `body` ('small red star') with its count in front (a number word from
    `numbers[count]`, or "a"/"an" for one) where `with_count`, and its position phrase after it
    (from `positions[position]`) where the object has one."""
    if with_count:
        if o["count"] > 1:
            body = f"{rng.choice(numbers[o['count']])} {body}"
        else:
            body = article(body) + " " + body
    if o["position"]:
        body += " " + rng.choice(positions[o["position"]])
    return body


def two_kinds(
    rng: random.Random, counts_from: Sequence[tuple[int, int]], colors: list[str], shapes: list[str]
) -> list[dict]:
    """Two objects of different kinds (color, shape), their counts a pair of `counts_from`;
    sometimes one shape in two colors or one color on two shapes."""
    while True:
        (c1, c2), (s1, s2) = rng.sample(colors, 2), rng.sample(shapes, 2)
        kind = rng.random()
        if kind < 0.2:
            s2 = s1
        elif kind < 0.35:
            c2 = c1
        n1, n2 = rng.choice(counts_from)
        if (c1, s1) != (c2, s2):
            return [obj(c1, s1, n1), obj(c2, s2, n2)]


def two_objects_pair(rng: random.Random, colors: list[str], shapes: list[str]) -> list[dict]:
    """The two objects of a "two_objects" prompt: two kinds, mostly one of each (up to three of
    one), each with a size (30 %) and a position (25 %)."""
    pair = two_kinds(rng, [(1, 1)] * 6 + [(2, 1), (1, 2), (2, 2), (3, 1), (1, 3)], colors, shapes)
    for o in pair:
        o["size"] = pick_size(rng, 0.3)
        o["position"] = pick_position(rng, o["count"], 0.25)
    return pair


def pick_size(rng: random.Random, chance: float) -> str | None:
    """A size ("small" or "large") with probability `chance`, else None."""
    return rng.choice(["small", "large"]) if rng.random() < chance else None


def pick_position(rng: random.Random, count: int, chance: float) -> str | None:
    """One of the judge's positions with probability `chance`, else None; a group of `count` > 1
    gets a row or column (a corner or the center is one cell)."""
    if rng.random() >= chance:
        return None
    if count == 1:
        return rng.choice(list(JUDGE.POSITIONS))
    return rng.choice([p for p in JUDGE.POSITIONS if p not in ONE_CELL])


# ---------------------------------------------------------------------------------- the set


class Pen:
    """A writer's hand for one prompt: the set's random draws (every other attribute is the
    rng's), and one word per color, size and shape within the prompt, so that "navy" and "royal
    blue", or "ball" and "circle", never sit in one prompt as if they were two colors or shapes.
    `colors`/`shapes`: the maker's words, world color -> words, world shape -> (singular, plural)
    pairs."""

    def __init__(self, rng: random.Random, colors: dict, shapes: dict):
        self.rng, self.colors, self.shapes, self.words = rng, colors, shapes, {}

    def __getattr__(self, name):
        return getattr(self.rng, name)

    def word(self, key: tuple, options: list):
        if key not in self.words:
            self.words[key] = self.rng.choice(options)
        return self.words[key]

    def new_obj(self, count: int, size_chance: float, pos_chance: float) -> dict:
        color, shape = self.rng.choice(list(self.colors)), self.rng.choice(list(self.shapes))
        size = pick_size(self, size_chance)
        return obj(color, shape, count, size, pick_position(self, count, pos_chance))

    def noun(self, o: dict, plural: bool | None = None) -> str:
        plural = o["count"] > 1 if plural is None else plural
        return self.word(("shape", o["shape"]), self.shapes[o["shape"]])[1 if plural else 0]

    def color(self, o: dict) -> str:
        return self.word(("color", o["color"]), self.colors[o["color"]])


def per_category(n: int) -> int:
    """How many prompts each category gets in a set of n."""
    if n < len(CATEGORIES) or n % len(CATEGORIES):
        raise SystemExit(f"--n must be a positive multiple of {len(CATEGORIES)}, got {n}")
    return n // len(CATEGORIES)


def draw_set(
    per: int, draw: Callable[[str, int], tuple[str, list[dict], list[dict], str | None]]
) -> list[dict]:
    """`per` rounds over the categories, one prompt of each a round. `draw(category, k)` (k the
    round) gives (text, objects, relations, background); a draw whose text repeats a kept one
    (ignoring case) or whose scene is too rare to place (layout_share) is drawn again."""
    items, seen = [], set()
    for k in range(per):
        for category in CATEGORIES:
            for _ in range(TRIES):
                text, objects, relations, background = draw(category, k)
                if text.lower() in seen or layout_share(objects, relations) < MIN_LAYOUT_SHARE:
                    continue
                break
            else:
                raise RuntimeError(f"no drawable {category} prompt after {TRIES} tries")
            seen.add(text.lower())
            items.append({"prompt": text, "category": category, "objects": objects,
                          "relations": relations, "background": background})  # fmt: skip
    return items


def background_plans(
    rng: random.Random, per: int, backgrounds: Sequence[str], share: float
) -> dict[str, list[str | None]]:
    """For each category, the background of each of its `per` prompts in turn (None: not named):
    round(per * share) name one, spread evenly over `backgrounds`, in a shuffled order."""
    plans = {}
    for category in CATEGORIES:
        with_bg = round(per * share)
        bgs = [backgrounds[k % len(backgrounds)] for k in range(with_bg)] + [None] * (per - with_bg)
        rng.shuffle(bgs)
        plans[category] = bgs
    return plans


def planned_set(
    seed: int,
    n: int,
    makers: dict[str, Callable],
    finish: Callable[[str, random.Random], str],
    backgrounds: Sequence[str],
    share: float,
) -> list[dict]:
    """n prompts, a quarter per category in turn, `share` of each naming a background (planned
    ahead by background_plans). `makers[category](rng, background)` gives (text, objects,
    relations); `finish(text, rng)` tidies the text."""
    per = per_category(n)
    rng = random.Random(seed)
    plans = background_plans(rng, per, list(backgrounds), share)

    def draw(category: str, k: int):
        background = plans[category][k]
        text, objects, relations = makers[category](rng, background)
        return finish(text, rng), objects, relations, background

    return draw_set(per, draw)


def phrased_set(
    seed: int,
    n: int,
    makers: dict[str, Callable],
    leads: Sequence[str],
    ends: Sequence[str],
    backgrounds: dict[str, Sequence[str]],
    share: float = 0.35,
) -> list[dict]:
    """n prompts, a quarter per category in turn: `makers[category](rng)` gives (text, objects,
    relations); each prompt names a background with probability `share` (one of its phrases,
    appended; a phrase starting with "," is appended as it is) and gets a lead-in and an ending."""
    per = per_category(n)
    rng = random.Random(seed)

    def draw(category: str, k: int):
        text, objects, relations = makers[category](rng)
        background = None
        if rng.random() < share:
            background = rng.choice(list(backgrounds))
            phrase = rng.choice(backgrounds[background])
            text += phrase if phrase.startswith(",") else " " + phrase
        return rng.choice(leads) + text + rng.choice(ends), objects, relations, background

    return draw_set(per, draw)


# ---------------------------------------------------------------------------------- the command


def main(
    argv,
    make: Callable[..., list[dict]],
    out: Path,
    seed: int,
    description: str,
    n: int | None = 300,
    about: str = "",
) -> int:
    """A maker's command line: --seed (default `seed`), --n (default `n`; none where `n` is None,
    then make(seed) is called, else make(seed, n)) and --out (default `out`). The json written
    holds `description` (formatted with the seed and n used), the seed and the prompts. The first
    line of `about` (the maker's docstring) describes the command."""
    ap = argparse.ArgumentParser(description=about.splitlines()[0] if about else None)
    ap.add_argument("--seed", type=int, default=seed)
    if n is not None:
        ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--out", default=str(out))
    args = ap.parse_args(argv)
    items = make(args.seed) if n is None else make(args.seed, args.n)
    doc = {
        "description": description.format(seed=args.seed, n=getattr(args, "n", None)),
        "seed": args.seed,
        "prompts": items,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(items)} prompts to {args.out}")
    return 0
