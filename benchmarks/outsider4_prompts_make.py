"""A fourth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written after the grammar's reading was extended for issue #32 (item 3), and before any model was
measured on it: its word lists and sentence frames are this file's own, and differ from those of
the development set the grammar was tuned on (benchmarks/paraphrase_dev_make.py) wherever a
natural wording allows: other color namesakes ("poppy red", "marigold yellow", "cornflower blue"),
other count frames ("a set of three", "three identical", "stars: 3 of them"), other relation and
position wordings. The expected scenes are written here, not read by genlab's grammar.

A word is used only where it clearly names one of the world's facts (as in the second outsider's
maker): shades between two world colors ("teal", "magenta", "amber"), dark/light backgrounds and
sizes between small and large are left out. Every scene is checked with the judge's own rules to
be drawable (benchmarks/outsider_sets.layout_share).

Usage:
  python benchmarks/outsider4_prompts_make.py --seed 4404 --n 300   # -> outsider4_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sets)
layout_share, MIN_LAYOUT_SHARE = sets.layout_share, sets.MIN_LAYOUT_SHARE

OUT = HERE / "outsider4_prompts.json"
SEED = 4404
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a fourth maker with the scene each asks for; made by "
    "benchmarks/outsider4_prompts_make.py --seed {seed} --n {n}"
)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "scarlet", "crimson", "poppy red", "ruby red", "cherry-red"],
    "orange": ["orange", "orange", "tangerine", "papaya orange", "carrot-orange"],
    "yellow": ["yellow", "yellow", "lemon", "marigold yellow", "canary-yellow"],
    "green": ["green", "green", "emerald", "pea green", "lime", "emerald-green"],
    "cyan": ["cyan", "cyan", "aqua", "turquoise", "lagoon cyan"],
    "blue": ["blue", "blue", "cobalt", "cornflower blue", "navy", "royal-blue"],
    "purple": ["purple", "purple", "violet", "orchid purple", "plum"],
    "pink": ["pink", "pink", "hot pink", "rose", "candy-floss pink", "fuchsia"],
}
SHAPE_WORDS = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("disc", "discs"), ("ball", "balls"),
               ("round disc", "round discs"), ("circle badge", "circle badges")],
    "square": [("square", "squares"), ("square", "squares"), ("box", "boxes"), ("tile", "tiles"),
               ("square tile", "square tiles"), ("squarish shape", "squarish shapes")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"), ("wedge", "wedges"),
                 ("triangular piece", "triangular pieces"), ("triangle form", "triangle forms")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("rhombus", "rhombuses"),
                ("diamond shape", "diamond shapes"), ("diamond symbol", "diamond symbols")],
    "star": [("star", "stars"), ("star", "stars"), ("five-point star", "five-point stars"),
             ("star shape", "star shapes"), ("star sticker", "star stickers")],
}
SIZE_WORDS = {"small": ["small", "little", "tiny", "mini", "pint-sized"],
              "large": ["large", "big", "huge", "giant", "extra-large"]}
NUMBERS = {2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]}
# judge position -> phrases
POSITION_WORDS = {
    "top left": ["in the top-left corner", "at the upper left", "top left"],
    "top right": ["in the top-right corner", "at the upper right", "top right"],
    "bottom left": ["in the bottom-left corner", "at the lower left", "bottom left"],
    "bottom right": ["in the bottom-right corner", "at the lower right", "bottom right"],
    "center": ["in the center", "at the centre", "right in the middle"],
    "top": ["at the very top", "near the top", "in the top row"],
    "bottom": ["at the very bottom", "near the bottom", "in the bottom row"],
    "left": ["on the left", "on the left side", "over on the left"],
    "right": ["on the right", "on the right side", "over on the right"],
}
BACKGROUNDS = {
    "black": ["on black", "on a black canvas", ", background: black", "set against black"],
    "gray": ["on a grey canvas", "over a gray backdrop", ", background: gray", "on gray"],
    "white": ["on a white canvas", "over a white backdrop", ", background: white", "on white"],
}
LEADS = ["", "", "", "hey, can you make ", "I'm after ", "could I have ", "Generate ", "show ",
         "make a picture with ", "draw up ", "I'd like to get ", "quick sketch: ", "Produce "]
LEAD_INS = LEADS  # the judge reads a maker's lead-ins by this name (outsider_judge.lead_in_words)
ENDS = ["", "", ".", " please", ", ta", " :)", "!", ", if possible"]
RELATIONS = {
    "left of": ["placed to the left of", "to the left of", "left of", "just left of"],
    "right of": ["placed to the right of", "to the right of", "right of", "just right of"],
    "above": ["is located above", "hovering over", "above", "positioned higher than"],
    "below": ["beneath", "is located below", "under", "positioned lower than"],
}
SIDE_OF = {"left of": "on its left", "right of": "on its right", "above": "above it",
           "below": "below it"}
# fmt: on


def new_obj(rng, count=1, size_chance=0.4, pos_chance=0.0) -> dict:
    position = sets.pick_position(rng, count, pos_chance)
    size = sets.pick_size(rng, size_chance)
    return sets.obj(
        rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), count, size, position
    )


def np(rng, o: dict, with_count: bool = True) -> str:
    """Noun phrase: '[count] [size] color noun [position]', or a color after the noun."""
    plural = o["count"] > 1
    noun = rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]
    size = rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    color = rng.choice(COLOR_WORDS[o["color"]])
    if rng.random() < 0.2:
        body = f"{size}{noun} in {color}"
    else:
        body = f"{size}{color} {noun}"
    return sets.counted(rng, body, o, with_count, NUMBERS, POSITION_WORDS)


def single(rng):
    o = new_obj(rng, 1, 0.5, 0.5)
    frame = rng.randrange(3)
    if frame == 0:
        return f"only {np(rng, o)}", [o], []
    return np(rng, o), [o], []


def count(rng):
    n = rng.choice([2, 3, 4])
    o = new_obj(rng, n, 0.35, 0.25 if n < 4 else 0.0)
    frame = rng.randrange(5)
    if frame == 0:
        return f"a set of {rng.choice(NUMBERS[n])} {np(rng, o, False)}", [o], []
    if frame == 1:
        words = np(rng, o, False)
        return f"{rng.choice(NUMBERS[n])} identical {words}", [o], []
    if frame == 2:
        return f"{np(rng, o, False)}: {rng.choice(NUMBERS[n])} of them", [o], []
    return np(rng, o), [o], []


def two_kinds(rng, n_max=2):
    a = new_obj(rng, rng.choice([1] * 3 + list(range(2, n_max + 1))), 0.3)
    b = new_obj(rng, 1, 0.3)
    while (b["shape"], b["color"]) == (a["shape"], a["color"]):
        b = new_obj(rng, 1, 0.3)
    return a, b


def two_objects(rng):
    a, b = two_kinds(rng)
    glue = rng.choice(["together with", "&", "as well as", "and", "and", "along with"])
    if rng.random() < 0.2:
        return f"both {np(rng, a)} and {np(rng, b)}", [a, b], []
    return f"{np(rng, a)} {glue} {np(rng, b)}", [a, b], []


def relation(rng):
    a, b = two_kinds(rng)
    rel = rng.choice(list(RELATIONS))
    frame = rng.randrange(3)
    if frame == 0 and b["count"] == 1:  # "B, with A on its left"
        return (
            f"{np(rng, b)}, with {np(rng, a)} {SIDE_OF[rel]}",
            [b, a],
            [{"subject": 1, "relation": rel, "target": 0}],
        )
    words = rng.choice(RELATIONS[rel])
    if words.startswith("is ") and a["count"] > 1:
        words = "are " + words[3:]
    return (
        f"{np(rng, a)} {words} {np(rng, b)}",
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
