"""Writes benchmarks/outsider_prompts.json: 400 prompts phrased the way people type them, each with
the scene it asks for, for the independent strict judge (benchmarks/outsider_judge.py).

The word lists and templates here are written from scratch, without looking at the project's own
lexicon or grammar, so the prompts measure how the project reads phrasings it was not tuned on.
Usage: python benchmarks/outsider_prompts_make.py [--seed 20261207] [--out benchmarks/outsider_prompts.json]
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "outsider_sets", Path(__file__).with_name("outsider_sets.py")
)
sets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sets)

OUT = Path(__file__).with_name("outsider_prompts.json")
SEED = 20261207
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts written by an outsider with the scene each asks for; "
    "made by benchmarks/outsider_prompts_make.py --seed {seed}"
)

# What a person says -> the world color they mean. Only words whose meaning is clear in a world
# with exactly these eight hues; left out as ambiguous: "sky blue"/"light blue" (cyan or blue?),
# "magenta" (as near the world's purple as its pink), "indigo", "lavender", "gold" (yellow or
# orange?), "rose".
COLOR_WORDS: dict[str, list[str]] = {
    "red": ["red", "red", "crimson", "scarlet", "bright red", "cherry red"],
    "orange": ["orange", "orange", "tangerine", "bright orange", "pumpkin orange"],
    "yellow": ["yellow", "yellow", "golden", "lemon yellow", "golden yellow", "sunflower yellow"],
    "green": ["green", "green", "lime", "lime green", "emerald", "grass green"],
    "cyan": ["cyan", "cyan", "turquoise", "aqua", "teal"],
    "blue": ["blue", "blue", "navy", "navy blue", "royal blue", "cobalt blue"],
    "purple": ["purple", "purple", "violet", "dark purple", "deep purple"],
    "pink": ["pink", "pink", "hot pink", "bubblegum pink", "baby pink"],
}

# Shape words, (singular, plural). "cube" and "sphere" are flat here: a 2-D world has one round
# and one square shape. Left out: "ring" (hollow), "cone", "gem", "oval", "rectangle".
SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [
        ("circle", "circles"),
        ("circle", "circles"),
        ("ball", "balls"),
        ("disc", "discs"),
        ("disk", "disks"),
        ("dot", "dots"),
        ("round shape", "round shapes"),
    ],
    "square": [
        ("square", "squares"),
        ("square", "squares"),
        ("box", "boxes"),
        ("block", "blocks"),
        ("cube", "cubes"),
        ("square tile", "square tiles"),
    ],
    "triangle": [
        ("triangle", "triangles"),
        ("triangle", "triangles"),
        ("pyramid", "pyramids"),
        ("triangular shape", "triangular shapes"),
    ],
    "diamond": [
        ("diamond", "diamonds"),
        ("diamond", "diamonds"),
        ("rhombus", "rhombuses"),
        ("lozenge", "lozenges"),
        ("diamond shape", "diamond shapes"),
    ],
    "star": [
        ("star", "stars"),
        ("star", "stars"),
        ("five-pointed star", "five-pointed stars"),
        ("star shape", "star shapes"),
    ],
}

SIZE_WORDS = {
    "small": ["small", "small", "little", "tiny"],
    "large": ["large", "large", "big", "huge"],
}

COUNT_WORDS = {
    2: ["2", "two", "two", "a pair of"],
    3: ["3", "three", "three"],
    4: ["4", "four", "four"],
}

# Position phrases -> position: corners and the center are one cell; "top"/"bottom" mean the top
# or bottom row (any column), "left"/"right" the left or right column (any row).
POSITION_WORDS = {
    "top left": ["in the top left corner", "in the upper left", "at the top-left", "top left"],
    "top right": ["in the top right corner", "in the upper right corner", "at the top right"],
    "bottom left": ["in the bottom left corner", "in the lower left", "at the bottom-left"],
    "bottom right": ["in the bottom right corner", "in the lower right corner", "bottom right"],
    "center": ["in the center", "in the middle", "right in the middle", "in the centre"],
    "top": ["at the top", "near the top", "at the top of the picture"],
    "bottom": ["at the bottom", "near the bottom", "at the bottom of the image"],
    "left": ["on the left", "on the left side", "over on the left"],
    "right": ["on the right", "on the right side", "over on the right"],
}

BACKGROUND_WORDS = {
    "black": ["on a black background", "against a black backdrop", "on black", "black background"],
    "gray": ["on a gray background", "on a grey background", "against a grey backdrop"],
    "white": ["on a white background", "against a white backdrop", "on white", "white background"],
}

# Relation templates: {a} is the subject, {b} the target ("{a} left of {b}").
RELATION_TEMPLATES = {
    "left of": [
        "{a} to the left of {b}",
        "{a} left of {b}",
        "{a} on the left side of {b}",
        "{b} with {a} on its left",
        "{b} and {a} next to it on the left",
    ],
    "right of": [
        "{a} to the right of {b}",
        "{a} right of {b}",
        "{b} with {a} beside it on the right",
        "{b} with {a} on its right",
        "{a} on the right side of {b}",
    ],
    "above": [
        "{a} above {b}",
        "{a} on top of {b}",
        "{a} sitting above {b}",
        "{a} over {b}",
        "{b} with {a} above it",
        "{a} floating above {b}",
    ],
    "below": [
        "{a} below {b}",
        "{a} beneath {b}",
        "{a} under {b}",
        "{a} underneath {b}",
        "{b} with {a} below it",
        "{a} sitting under {b}",
    ],
}

LEAD_INS = [
    "",
    "",
    "",
    "draw",
    "draw me",
    "please draw",
    "please make",
    "make",
    "can you show me",
    "could you draw",
    "show me",
    "I'd like",
    "I want",
    "generate",
    "create an image with",
    "an image of",
    "a picture of",
    "give me",
    "paint",
    "render",
    "i need",
]
QUESTION_LEAD_INS = {"can you show me", "could you draw"}

TWO_JOINERS = ["{a} and {b}", "{a} and {b}", "{a} with {b}", "{a}, {b}", "{a} plus {b}",
               "{a} together with {b}", "{a} and also {b}"]  # fmt: skip

COLORS = list(COLOR_WORDS)
SHAPES = list(SHAPE_WORDS)


def article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def noun_phrase(
    rng, color, shape, count=1, size=None, position=None, *, one_word=False, words=None
) -> str:
    """'a tiny crimson disc', 'three navy boxes', 'a pair of big lime stars in the upper left'.
    `words` (a dict kept for one prompt) makes a color or shape named twice use the same word, as
    a person would ("a lime star and a lime box", not "a lime star and a green box")."""
    words_for = {} if words is None else words
    color_w = words_for.setdefault(color, rng.choice(COLOR_WORDS[color]))
    singular, plural = words_for.setdefault(shape, rng.choice(SHAPE_WORDS[shape]))
    adjectives = ([rng.choice(SIZE_WORDS[size])] if size else []) + [color_w]
    if count == 1:
        core = " ".join(adjectives + [singular])
        head = "one " + core if one_word else article(core)
    else:
        head = f"{rng.choice(COUNT_WORDS[count])} " + " ".join(adjectives + [plural])
    if position:
        head += " " + rng.choice(POSITION_WORDS[position])
    return head


def finish(rng, body: str, background: str | None) -> str:
    """Lead-in, background, casing and punctuation around the object phrase."""
    if background:
        bg = rng.choice(BACKGROUND_WORDS[background])
        if bg.endswith("background") and not bg.startswith(("on", "against")):
            body = f"{bg}, {body}" if rng.random() < 0.5 else f"{body}, {bg}"
        else:
            body = f"{body} {bg}"
    lead = rng.choice(LEAD_INS)
    text = f"{lead} {body}" if lead else body
    if not lead and rng.random() < 0.1:
        text += ", please"
    r = rng.random()
    if r < 0.45:
        text = text[0].upper() + text[1:]
    elif r < 0.5:
        text = text.upper()
    if lead in QUESTION_LEAD_INS:
        text += rng.choice(["?", "?", ""])
    else:
        text += rng.choice(["", "", "", ".", ".", "!"])
    return text


def balanced(rng, items: list, n: int) -> list:
    """n items cycling through shuffled copies of `items`, so each appears n/len(items) ± 1 times."""
    out: list = []
    while len(out) < n:
        block = list(items)
        rng.shuffle(block)
        out.extend(block)
    return out[:n]


def maybe(rng, p: float, values):
    return rng.choice(values) if rng.random() < p else None


def obj(color, shape, count=1, size=None, position=None) -> dict:
    return {"shape": shape, "color": color, "count": count, "size": size, "position": position}


def make_single(rng, n: int) -> list[dict]:
    out = []
    pairs = balanced(rng, [(c, s) for c in COLORS for s in SHAPES], n)
    for color, shape in pairs:
        size = maybe(rng, 0.3, ["small", "large"])
        position = maybe(rng, 0.35, list(POSITION_WORDS))
        background = maybe(rng, 0.25, list(BACKGROUND_WORDS))
        body = noun_phrase(rng, color, shape, 1, size, position, one_word=rng.random() < 0.1)
        out.append(
            {
                "prompt": finish(rng, body, background),
                "category": "single",
                "objects": [obj(color, shape, 1, size, position)],
                "relations": [],
                "background": background,
            }
        )
    return out


def make_count(rng, n: int) -> list[dict]:
    out = []
    pairs = balanced(rng, [(c, s) for c in COLORS for s in SHAPES], n)
    counts = balanced(rng, [2, 3, 4], n)
    for (color, shape), count in zip(pairs, counts):
        size = maybe(rng, 0.25, ["small", "large"])
        background = maybe(rng, 0.25, list(BACKGROUND_WORDS))
        body = noun_phrase(rng, color, shape, count, size)
        out.append(
            {
                "prompt": finish(rng, body, background),
                "category": "count",
                "objects": [obj(color, shape, count, size)],
                "relations": [],
                "background": background,
            }
        )
    return out


def two_kinds(rng, colors_a, shapes_a) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two different (color, shape) kinds; the second shares the color or the shape of the first
    now and then, the hardest case for binding attributes to objects."""
    a = (colors_a, shapes_a)
    r = rng.random()
    if r < 0.2:
        b = (a[0], rng.choice([s for s in SHAPES if s != a[1]]))
    elif r < 0.4:
        b = (rng.choice([c for c in COLORS if c != a[0]]), a[1])
    else:
        b = (
            rng.choice([c for c in COLORS if c != a[0]]),
            rng.choice([s for s in SHAPES if s != a[1]]),
        )
    return a, b


def make_two(rng, n: int) -> list[dict]:
    out = []
    colors, shapes = balanced(rng, COLORS, n), balanced(rng, SHAPES, n)
    for color, shape in zip(colors, shapes):
        (ca, sa), (cb, sb) = two_kinds(rng, color, shape)
        counts = rng.choice([(1, 1)] * 4 + [(2, 1), (1, 2)])
        sizes = rng.choice(
            [(None, None)] * 4 + [("small", "large"), ("large", None), (None, "small")]
        )
        positions = (None, None)
        if counts == (1, 1) and rng.random() < 0.2:
            positions = rng.choice(
                [("top left", "bottom right"), ("left", "right"), ("top", "bottom"),
                 ("top right", "bottom left"), ("center", "top left"), ("bottom", "top right")]
            )  # fmt: skip
        background = maybe(rng, 0.2, list(BACKGROUND_WORDS))
        words: dict = {}
        a = noun_phrase(rng, ca, sa, counts[0], sizes[0], positions[0], words=words)
        b = noun_phrase(rng, cb, sb, counts[1], sizes[1], positions[1], words=words)
        body = rng.choice(TWO_JOINERS).format(a=a, b=b)
        out.append(
            {
                "prompt": finish(rng, body, background),
                "category": "two_objects",
                "objects": [
                    obj(ca, sa, counts[0], sizes[0], positions[0]),
                    obj(cb, sb, counts[1], sizes[1], positions[1]),
                ],
                "relations": [],
                "background": background,
            }
        )
    return out


def make_relation(rng, n: int) -> list[dict]:
    out = []
    colors, shapes = balanced(rng, COLORS, n), balanced(rng, SHAPES, n)
    relations = balanced(rng, list(RELATION_TEMPLATES), n)
    for color, shape, relation in zip(colors, shapes, relations):
        (ca, sa), (cb, sb) = two_kinds(rng, color, shape)
        sizes = rng.choice([(None, None)] * 5 + [("small", "large"), ("large", "small")])
        background = maybe(rng, 0.2, list(BACKGROUND_WORDS))
        words: dict = {}
        a = noun_phrase(rng, ca, sa, 1, sizes[0], words=words)
        b = noun_phrase(rng, cb, sb, 1, sizes[1], words=words)
        body = rng.choice(RELATION_TEMPLATES[relation]).format(a=a, b=b)
        out.append(
            {
                "prompt": finish(rng, body, background),
                "category": "relation",
                "objects": [obj(ca, sa, 1, sizes[0]), obj(cb, sb, 1, sizes[1])],
                "relations": [{"subject": 0, "relation": relation, "target": 1}],
                "background": background,
            }
        )
    return out


def make_prompts(seed: int, per_category: int = 100) -> list[dict]:
    rng = random.Random(seed)
    items = (
        make_single(rng, per_category)
        + make_count(rng, per_category)
        + make_two(rng, per_category)
        + make_relation(rng, per_category)
    )
    prompts = [it["prompt"] for it in items]
    if len(set(prompts)) != len(prompts):  # a repeat would count one phrasing twice
        raise RuntimeError("duplicate prompts; change the seed")
    return items


def main(argv=None) -> None:
    sets.main(argv, make_prompts, OUT, SEED, DESCRIPTION, n=None, about=__doc__)


if __name__ == "__main__":
    main()
