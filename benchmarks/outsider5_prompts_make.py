"""A fifth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written after the grammar was fixed on the misreadings of the first four sets (issue #32), and
committed before any model or the grammar was run on it: its word lists and sentence frames are
this file's own, as a person might write them, and were not used to tune anything: other color
namesakes ("stop-sign red", "school-bus yellow", "denim blue"), shape nouns ("bubble" is left out:
only words that clearly name a world shape), count frames ("3 copies of", "exactly four", "x 2"),
relation frames ("to the left of it", a relation put first: "Above a blue square, a red dot"),
positions, backgrounds, lead-ins and endings. The expected scenes are written here, not read by
genlab's grammar. As in the earlier makers, a word is used only where it clearly names one of the
world's facts (no shade between two world colors, no size between small and large), and every
scene is checked with the judge's own rules to be drawable (outsider_sets.layout_share).

Usage:
  python benchmarks/outsider5_prompts_make.py --seed 5505 --n 300   # -> outsider5_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider5_prompts.json"
SEED = 5505
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a fifth maker with the scene each asks for; made by "
    "benchmarks/outsider5_prompts_make.py --seed {seed} --n {n}"
)
_spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sets)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "cherry", "stop-sign red", "fire-truck red", "raspberry red", "bright red"],
    "orange": ["orange", "orange", "pumpkin orange", "clementine orange", "traffic orange",
               "sunset orange"],
    "yellow": ["yellow", "yellow", "golden", "school-bus yellow", "butter yellow", "lemon-yellow",
               "sunflower yellow"],
    "green": ["green", "green", "grass-green", "jade", "forest green", "mint green", "kiwi green"],
    "cyan": ["cyan", "cyan", "aqua", "turquoise", "bright aqua", "pool cyan", "electric cyan"],
    "blue": ["blue", "blue", "navy blue", "sapphire", "ocean blue", "denim blue", "cobalt blue"],
    "purple": ["purple", "purple", "violet", "grape purple", "amethyst", "eggplant purple",
               "royal purple"],
    "pink": ["pink", "pink", "bubblegum pink", "flamingo pink", "blush pink", "rose pink",
             "watermelon pink"],
}
SHAPE_WORDS = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("dot", "dots"), ("disk", "disks"),
               ("round dot", "round dots"), ("circle shape", "circle shapes"), ("orb", "orbs")],
    "square": [("square", "squares"), ("square", "squares"), ("block", "blocks"), ("cube", "cubes"),
               ("square block", "square blocks"), ("square panel", "square panels")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"), ("pyramid", "pyramids"),
                 ("triangle shape", "triangle shapes"), ("triangle icon", "triangle icons")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("lozenge", "lozenges"),
                ("rhombus shape", "rhombus shapes"), ("diamond tile", "diamond tiles")],
    "star": [("star", "stars"), ("star", "stars"), ("five-pointed star", "five-pointed stars"),
             ("star icon", "star icons"), ("star figure", "star figures")],
}
SIZE_WORDS = {"small": ["small", "little", "tiny", "teeny-tiny", "itty-bitty", "wee", "petite"],
              "large": ["large", "big", "huge", "massive", "jumbo", "enormous", "really big"]}
NUMBERS = {2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]}
POSITION_WORDS = {  # judge position -> phrases
    "top left": ["in the upper-left corner", "top-left", "in the top left"],
    "top right": ["in the upper-right corner", "top-right", "in the top right"],
    "bottom left": ["in the lower-left corner", "bottom-left", "in the lower left"],
    "bottom right": ["in the lower-right corner", "bottom-right", "in the lower right"],
    "center": ["in the middle", "at the center", "in the very middle"],
    "top": ["at the top", "along the top", "up at the top"],
    "bottom": ["at the bottom", "along the bottom", "down at the bottom"],
    "left": ["on the left-hand side", "at the left", "on the far left"],
    "right": ["on the right-hand side", "at the right", "on the far right"],
}
ONE_CELL = ("top left", "top right", "bottom left", "bottom right", "center")
BACKGROUNDS = {
    "black": ["on a black background", "with a black background", "- black background",
              "against black", "(black bg)"],
    "gray": ["on a plain grey background", "with a gray background", "- gray background",
             "against grey", "(grey bg)"],
    "white": ["on a white background", "with a white background", "- white background",
              "against white", "(white bg)"],
}
LEADS = ["", "", "", "can you draw ", "please render ", "I need ", "give me ", "draw me ",
         "would you make ", "an image of ", "make me ", "let's have ", "create ", "picture: "]
LEAD_INS = LEADS  # the judge reads a maker's lead-ins by this name (outsider_judge.filler_words)
ENDS = ["", "", ".", "?", " please", " thanks!", " - thank you", " pls"]
RELATIONS = {  # "A <words> B"
    "left of": ["left of", "to the left of", "on the left side of", "sitting to the left of"],
    "right of": ["right of", "to the right of", "on the right side of", "sitting to the right of"],
    "above": ["above", "over", "on top of", "higher than", "stacked above"],
    "below": ["below", "under", "underneath", "beneath", "lower than"],
}
IT_WORDS = {  # "B, and A <words>": A <relation> B
    "left of": ["to the left of it", "to its left"],
    "right of": ["to the right of it", "to its right"],
    "above": ["above it", "on top of it", "over it"],
    "below": ["below it", "under it", "beneath it"],
}
FRONTED = {"left of": "To the left of", "right of": "To the right of", "above": "Above",
           "below": "Below"}
# fmt: on


def obj(color, shape, count=1, size=None, position=None) -> dict:
    return {"shape": shape, "color": color, "count": count, "size": size, "position": position}


def new_obj(rng, count=1, size_chance=0.35, pos_chance=0.0) -> dict:
    position = None
    if rng.random() < pos_chance:
        position = rng.choice(
            list(POSITION_WORDS) if count == 1 else [p for p in POSITION_WORDS if p not in ONE_CELL]
        )
    size = rng.choice(["small", "large"]) if rng.random() < size_chance else None
    return obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), count, size, position)


def np(rng, o: dict, with_count: bool = True) -> str:
    """Noun phrase: '[count] [size] color noun [position]', sometimes the color after the noun
    ('a star that is red', 'a star colored red')."""
    plural = o["count"] > 1
    noun = rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]
    size = rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    color = rng.choice(COLOR_WORDS[o["color"]])
    frame = rng.random()
    if frame < 0.12:
        body = f"{size}{noun} that {'are' if plural else 'is'} {color}"
    elif frame < 0.2:
        body = f"{size}{noun} colored {color}"
    else:
        body = f"{size}{color} {noun}"
    return sets.counted(rng, body, o, with_count, NUMBERS, POSITION_WORDS)


def single(rng):
    o = new_obj(rng, 1, 0.5, 0.5)
    frame = rng.randrange(5)
    if frame == 0:
        return f"just {np(rng, o)}", [o], []
    if frame == 1:
        return f"{np(rng, o)}, nothing else", [o], []
    return np(rng, o), [o], []


def count(rng):
    n = rng.choice([2, 3, 4])
    o = new_obj(rng, n, 0.3, 0.25 if n < 4 else 0.0)
    words = rng.choice(NUMBERS[n])
    frame = rng.randrange(6)
    if frame == 0:
        return f"exactly {words} {np(rng, o, False)}", [o], []
    if frame == 1:
        return f"{np(rng, o, False)} x {n}", [o], []
    if frame == 2:
        return f"{np(rng, o, False)}, {words} in all", [o], []
    if frame == 3 and not o["position"]:
        one = dict(o, count=1)
        return f"{words} copies of {np(rng, one)}", [o], []
    return np(rng, o), [o], []


def two_kinds(rng):
    a = new_obj(rng, rng.choice([1, 1, 1, 2]), 0.3)
    b = new_obj(rng, 1, 0.3)
    while (b["shape"], b["color"]) == (a["shape"], a["color"]):
        b = new_obj(rng, 1, 0.3)
    return a, b


def two_objects(rng):
    a, b = two_kinds(rng)
    glue = rng.choice(["and", "and", "plus", "next to", "and also", "with", "alongside"])
    if rng.random() < 0.15:
        return f"{np(rng, a)}; {np(rng, b)}", [a, b], []
    return f"{np(rng, a)} {glue} {np(rng, b)}", [a, b], []


def relation(rng):
    a, b = two_kinds(rng)
    rel = rng.choice(list(RELATIONS))
    frame = rng.randrange(5)
    if frame == 0 and b["count"] == 1:  # "B, and A to the left of it": A left of B
        return (
            f"{np(rng, b)}, and {np(rng, a)} {rng.choice(IT_WORDS[rel])}",
            [b, a],
            [{"subject": 1, "relation": rel, "target": 0}],
        )
    if frame == 1:  # "Above a blue square, a red dot"
        return (
            f"{FRONTED[rel]} {np(rng, b)}, {np(rng, a)}",
            [a, b],
            [{"subject": 0, "relation": rel, "target": 1}],
        )
    verb = ("are " if a["count"] > 1 else "is ") if frame == 2 else ""
    return (
        f"{np(rng, a)} {verb}{rng.choice(RELATIONS[rel])} {np(rng, b)}",
        [a, b],
        [{"subject": 0, "relation": rel, "target": 1}],
    )


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; about a third name a background."""
    return sets.phrased_set(seed, n, MAKERS, LEADS, ENDS, BACKGROUNDS)


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
