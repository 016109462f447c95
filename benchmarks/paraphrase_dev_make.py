"""A development set for the world grammar's reading of free phrasing (issue #32, item 3): prompts
written with constructions the captioner never uses, each with the SceneRequest it asks for, and
how many of them the grammar (genlab.world.grammar.parse_prompt) reads back to exactly that request.

Constructions: attributes after the noun ("a square that is cyan-colored", "stars, each one
sapphire blue"), counts after the noun ("pink round shapes, three in total", "orange blocks x3",
"a trio of"), size words ("oversized", "teeny"), colors after a descriptive word ("fire-engine
red", "kelly green"), shape nouns ("star figure", "three-sided shape"), positions ("in the lower
row", "smack in the middle"), relations with "it"/"its" ("a yellow circle, and directly above it a
yellow square"), list syntax ("shapes: a; b"), backgrounds ("inky black bg") and filler ("okay
so", "pls", "nothing else"). The words and frames are this file's own; the held-out outsider sets
(benchmarks/outsider*_prompts.json) are written by other makers and were not used to tune it.

Usage:
  python benchmarks/paraphrase_dev_make.py --n 400 --seed 7 [--show 20]
"""

from __future__ import annotations

import argparse
import random
import sys

from genlab.world.grammar import ObjectRequest, RelationRequest, SceneRequest, parse_prompt

CATEGORIES = ("single", "count", "two_objects", "relation")
COLORS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
SHAPES = ("circle", "square", "triangle", "diamond", "star")
# fmt: off
COLOR_PHRASES = {
    "red": ["red", "fire-engine red", "tomato red", "blood red", "deep red", "red-colored"],
    "orange": ["orange", "traffic-cone orange", "mandarin orange", "bright orange",
               "orange-colored"],
    "yellow": ["yellow", "sunny yellow", "pale yellow", "yellow-colored", "vivid yellow"],
    "green": ["green", "kelly green", "apple green", "leaf green", "rich green"],
    "cyan": ["cyan", "cyan-colored", "bright cyan", "vivid cyan"],
    "blue": ["blue", "electric blue", "sapphire blue", "deep blue", "blue-colored"],
    "purple": ["purple", "vivid purple", "rich purple", "purple-colored"],
    "pink": ["pink", "flamingo pink", "pale pink", "pink-colored"],
}
SHAPE_NOUNS = {
    "circle": [("circle", "circles"), ("round shape", "round shapes"),
               ("circular shape", "circular shapes"), ("orb", "orbs")],
    "square": [("square", "squares"), ("square block", "square blocks"), ("block", "blocks"),
               ("square piece", "square pieces")],
    "triangle": [("triangle", "triangles"), ("three-sided shape", "three-sided shapes"),
                 ("triangle icon", "triangle icons")],
    "diamond": [("diamond", "diamonds"), ("diamond-shaped piece", "diamond-shaped pieces"),
                ("diamond icon", "diamond icons")],
    "star": [("star", "stars"), ("star figure", "star figures"),
             ("five pointed star", "five pointed stars")],
}
SIZE_PHRASES = {"small": ["small", "smallish", "teeny", "miniature", "tiny"],
                "large": ["large", "oversized", "huge", "big"]}
NUMBERS = {1: ["a", "one"], 2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]}
POST_COUNTS = {1: ["a lone {np}", "exactly one {np}", "just a single {np}"],
               2: ["a couple of {np}", "{np}, two in total", "{np} x2", "a pair of {np}"],
               3: ["a trio of {np}", "{np}, three in total", "{np} x3", "{np}, three of them"],
               4: ["{np}, four in total", "{np} x4", "four {np}"]}
POSITIONS = {  # phrase -> (row, col)
    "in the lower row": (2, None), "in the upper row": (0, None),
    "along the right side": (None, 2), "on the left-hand edge": (None, 0),
    "across the top": (0, None), "smack in the middle": (1, 1), "centered": (1, 1),
    "up in the top left": (0, 0), "down in the bottom left": (2, 0),
    "in the leftmost column": (None, 0), "in the rightmost column": (None, 2),
    "down at the bottom": (2, None), "in the top right corner": (0, 2),
}
BACKGROUNDS = {"black": ["inky black", "black", "pitch black"], "gray": ["concrete gray", "gray"],
               "white": ["white", "snow white"]}
BACKGROUND_FRAMES = [" on an {b} bg", "; background color {b}", ". Keep the background {b}.",
                     " with the background in {b}", " against a {b} backdrop"]
LEADS = ["", "okay so ", "I would like ", "I'd love ", "pls draw ", "render me ", "design ",
         "would love to see ", "Let's see ", "Need ", "could you sketch "]
ENDS = ["", " thanks", ", nothing else", " pls", ".", "!", ", thanks!"]
# fmt: on


def _color(rng, c):
    return rng.choice(COLOR_PHRASES[c])


def _noun(rng, shape, plural):
    return rng.choice(SHAPE_NOUNS[shape])[1 if plural else 0]


def _np(rng, o: ObjectRequest) -> str:
    """A noun phrase for one group, in one of this file's frames."""
    plural = o.count > 1
    noun = _noun(rng, o.shape, plural)
    size = rng.choice(SIZE_PHRASES[o.size]) + " " if o.size else ""
    color = _color(rng, o.color)
    frame = rng.randrange(4)
    if frame == 0:  # attribute after the noun
        verb = "are" if plural else "is"
        body = f"{size}{noun} that {verb} {color}"
    elif frame == 1 and plural:
        body = f"{size}{noun}, each one {color}"
    else:
        body = f"{size}{color} {noun}"
    if o.count == 1:
        if rng.random() < 0.3:
            return rng.choice(POST_COUNTS[1]).format(np=body)
        return ("an " if body[0] in "aeiou" else "a ") + body
    if frame in (0, 1):  # a count after an attribute clause would read ambiguously
        return f"{rng.choice(NUMBERS[o.count])} {body}"
    if rng.random() < 0.6:
        return rng.choice(POST_COUNTS[o.count]).format(np=body)
    return f"{rng.choice(NUMBERS[o.count])} {body}"


def _object(rng, count=1, position=False) -> ObjectRequest:
    cell = rng.choice(list(POSITIONS.values())) if position else (None, None)
    size = rng.choice([None, None, "small", "large"])
    return ObjectRequest(rng.choice(SHAPES), rng.choice(COLORS), size, count, *cell)


def _place(rng, o: ObjectRequest) -> str:
    if o.row is None and o.col is None:
        return ""
    return " " + rng.choice([p for p, cell in POSITIONS.items() if cell == (o.row, o.col)])


def make_item(rng: random.Random, category: str) -> tuple[str, SceneRequest]:
    """One (prompt, request) of `category`."""
    relations: tuple = ()
    if category == "single":
        objs = [_object(rng, 1, position=rng.random() < 0.5)]
        body = _np(rng, objs[0]) + _place(rng, objs[0])
    elif category == "count":
        objs = [_object(rng, rng.choice((2, 3, 4)))]
        body = _np(rng, objs[0])
    elif category == "two_objects":
        a, b = _object(rng), _object(rng)
        while (a.shape, a.color) == (b.shape, b.color):
            b = _object(rng)
        objs = [a, b]
        if rng.random() < 0.3:
            body = f"{rng.choice(['shapes', 'two things', 'items'])}: {_np(rng, a)}; {_np(rng, b)}"
        else:
            body = f"{_np(rng, a)} {rng.choice(['and', 'plus', 'and also', ', and'])} {_np(rng, b)}"
    else:
        a, b = _object(rng), _object(rng)
        while (a.shape, a.color) == (b.shape, b.color):
            b = _object(rng)
        objs = [a, b]
        rel = rng.choice(("left of", "right of", "above", "below"))
        frame = rng.randrange(4)
        if frame == 0:  # "A, and directly above it B": B is above A
            words = {"above": "directly above it", "below": "directly below it",
                     "left of": "to its left", "right of": "to its right"}[rel]  # fmt: skip
            body = f"{_np(rng, a)}, and {words} {_np(rng, b)}"
            relations = (RelationRequest(1, rel, 0),)
        elif frame == 1 and rel in ("above", "below"):
            word = "higher up than" if rel == "above" else "lower down than"
            body = f"{_np(rng, a)} {word} {_np(rng, b)}"
            relations = (RelationRequest(0, rel, 1),)
        elif frame == 2:
            words = {"above": "directly above", "below": "directly below",
                     "left of": "to the left of", "right of": "to the right of"}[rel]  # fmt: skip
            body = f"{_np(rng, b)}. it should sit {words} {_np(rng, a)}"
            objs = [b, a]
            relations = (RelationRequest(0, rel, 1),)
        else:
            words = {"above": "sitting above", "below": "just below",
                     "left of": "off to the left of", "right of": "off to the right of"}[rel]  # fmt: skip
            body = f"{_np(rng, a)} {words} {_np(rng, b)}"
            relations = (RelationRequest(0, rel, 1),)
    background = None
    if rng.random() < 0.3:
        background = rng.choice(list(BACKGROUNDS))
        body += rng.choice(BACKGROUND_FRAMES).format(b=rng.choice(BACKGROUNDS[background]))
        body = body.replace("an bg", "a bg").replace("an gray", "a gray")
        body = body.replace("an concrete", "a concrete").replace("an pitch", "a pitch")
        body = body.replace("an black", "a black").replace("an snow", "a snow")
    text = rng.choice(LEADS) + body + rng.choice(ENDS)
    return text, SceneRequest(tuple(objs), relations, background)


def make(n: int, seed: int) -> list[tuple[str, str, SceneRequest]]:
    """n (category, prompt, request), the categories in turn."""
    rng = random.Random(seed)
    return [(c, *make_item(rng, c)) for c in (CATEGORIES[i % 4] for i in range(n))]


def read_right(text: str, request: SceneRequest) -> bool:
    """Whether the grammar reads `text` to exactly `request` (order of groups aside)."""
    return parse_prompt(text).request.normalized() == request.normalized()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=20, help="failures printed")
    args = ap.parse_args(argv)
    items = make(args.n, args.seed)
    right = {c: [0, 0] for c in CATEGORIES}
    understood = 0
    shown = 0
    for category, text, request in items:
        reading = parse_prompt(text)
        ok = reading.request.normalized() == request.normalized()
        right[category][0] += ok
        right[category][1] += 1
        understood += reading.understood
        if not ok and shown < args.show:
            shown += 1
            print(f"MISS {text!r}\n  read: {reading.canonical!r} {reading.warnings()}")
    total = sum(r[0] for r in right.values())
    print(f"read right: {total}/{len(items)} = {total / len(items):.3f}")
    for c, (k, m) in right.items():
        print(f"  {c:12s} {k}/{m} = {k / m:.3f}")
    print(f"fully understood (no word unread): {understood}/{len(items)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
