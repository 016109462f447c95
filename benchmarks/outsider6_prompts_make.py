"""A sixth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written after the grammar was fixed on the misreadings of the first five sets (issue #32), and
committed before any model or the grammar was run on it: its word lists and sentence frames are
this file's own, more conversational than the earlier makers' ("hi! can i get", " for my slide"),
with other color namesakes ("ladybug red", "yolk yellow", "shamrock green"), shape nouns ("polka
dot", "coin shape", "checker square"), count frames ("a total of 3", "(3)", "3×", "— 3 of
them"), relation frames ("further left than", "put A above it", "B with A to the left") and
positions ("near the top edge", "dead center"). The expected scenes are written here, not read by
genlab's grammar; as in the earlier makers a word is used only where it clearly names one of the
world's facts, and every scene is checked with the judge's rules to be drawable (the set loop of
benchmarks/outsider5_prompts_make.py).

Usage:
  python benchmarks/outsider6_prompts_make.py --seed 6606 --n 300   # -> outsider6_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider6_prompts.json"
_spec = importlib.util.spec_from_file_location("outsider5_make", HERE / "outsider5_prompts_make.py")
m5 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m5)
SEED = 6606
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a sixth maker with the scene each asks for; made by "
    "benchmarks/outsider6_prompts_make.py --seed {seed} --n {n}"
)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "crimson red", "cranberry red", "ladybug red", "chili red", "true red"],
    "orange": ["orange", "orange", "tangerine orange", "mango orange", "safety orange",
               "marmalade orange"],
    "yellow": ["yellow", "yellow", "banana yellow", "dandelion yellow", "yolk yellow",
               "sun yellow"],
    "green": ["green", "green", "lime green", "emerald green", "shamrock green", "apple-green",
              "clover green"],
    "cyan": ["cyan", "cyan", "turquoise", "aqua", "caribbean cyan", "deep cyan"],
    "blue": ["blue", "blue", "royal blue", "midnight blue", "cobalt", "blueberry blue"],
    "purple": ["purple", "purple", "violet", "plum purple", "mulberry purple", "regal purple"],
    "pink": ["pink", "pink", "hot-pink", "neon pink", "cotton candy pink", "peony pink"],
}
SHAPE_WORDS = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("ball", "balls"),
               ("polka dot", "polka dots"), ("sphere", "spheres"), ("coin shape", "coin shapes")],
    "square": [("square", "squares"), ("square", "squares"), ("box", "boxes"),
               ("square tile", "square tiles"), ("checker square", "checker squares"),
               ("cube", "cubes")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("triangular shape", "triangular shapes"), ("pyramid shape", "pyramid shapes"),
                 ("wedge", "wedges")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("rhombus", "rhombi"),
                ("diamond thing", "diamond things"), ("lozenge shape", "lozenge shapes")],
    "star": [("star", "stars"), ("star", "stars"), ("5-point star", "5-point stars"),
             ("star symbol", "star symbols"), ("star thing", "star things")],
}
SIZE_WORDS = {"small": ["small", "smallish", "tiny", "mini", "small-sized", "undersized"],
              "large": ["large", "big", "oversized", "giant", "large-sized", "gigantic"]}
NUMBERS = {2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]}
POSITION_WORDS = {  # judge position -> phrases
    "top left": ["in the upper left", "upper-left", "at top-left"],
    "top right": ["in the upper right", "upper-right", "at top-right"],
    "bottom left": ["in the lower left corner", "lower-left", "at bottom-left"],
    "bottom right": ["in the lower right corner", "lower-right", "at bottom-right"],
    "center": ["in the centre", "dead center", "centered"],
    "top": ["at the top edge", "near the top edge", "up top"],
    "bottom": ["at the bottom edge", "near the bottom edge", "down low"],
    "left": ["on the left edge", "along the left edge", "toward the left"],
    "right": ["on the right edge", "along the right edge", "toward the right"],
}
BACKGROUNDS = {
    "black": ["on black", "on a pitch-black background", "background black", "black bg"],
    "gray": ["on a grey background", "background = gray", "background gray", "gray bg"],
    "white": ["over a white background", "background = white", "background white", "white bg"],
}
LEADS = ["", "", "", "hi! can i get ", "yo, draw ", "i want ", "please draw ",
         "could you generate ", "generate an image with ", "show me ", "I'd love ", "sketch ",
         "need "]
LEAD_INS = LEADS  # the judge reads a maker's lead-ins by this name (outsider_judge.filler_words)
ENDS = ["", "", ".", "!", " thx", " asap", " :)", " for my slide", " thank u"]
RELATIONS = {  # "A <words> B"
    "left of": ["further left than", "off to the left of", "immediately left of",
                "located left of"],
    "right of": ["further right than", "off to the right of", "immediately right of",
                 "located right of"],
    "above": ["up above", "directly above", "atop", "placed over", "sitting on top of"],
    "below": ["down below", "directly below", "sitting below", "placed beneath",
              "lower down than"],
}
PUT_IT = {  # "B; put A <words>": A <relation> B
    "left of": ["to the left of it", "on its left"],
    "right of": ["to the right of it", "on its right"],
    "above": ["above it", "over it"],
    "below": ["below it", "beneath it"],
}
WITH_SIDE = {"left of": "to the left", "right of": "to the right", "above": "on top",
             "below": "underneath"}
# fmt: on


def np(rng, o: dict, with_count: bool = True) -> str:
    """Noun phrase: '[count] [size] color noun [position]', sometimes with the color after the
    noun ('a star in red', 'a star, red in color')."""
    plural = o["count"] > 1
    noun = rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]
    size = rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    color = rng.choice(COLOR_WORDS[o["color"]])
    frame = rng.random()
    if frame < 0.1:
        body = f"{size}{noun} in {color}"
    elif frame < 0.16:
        body = f"{size}{noun} ({color})"
    else:
        body = f"{size}{color} {noun}"
    return m5.sets.counted(rng, body, o, with_count, NUMBERS, POSITION_WORDS)


def single(rng):
    o = m5.new_obj(rng, 1, 0.5, 0.5)
    frame = rng.randrange(6)
    if frame == 0:
        return f"{np(rng, o)} only", [o], []
    if frame == 1:
        return f"a single {np(rng, o, False)}", [o], []
    if frame == 2:
        return f"{np(rng, o)} by itself", [o], []
    return np(rng, o), [o], []


def count(rng):
    n = rng.choice([2, 3, 4])
    o = m5.new_obj(rng, n, 0.3, 0.25 if n < 4 else 0.0)
    words = rng.choice(NUMBERS[n])
    frame = rng.randrange(6)
    if frame == 0:
        return f"a total of {words} {np(rng, o, False)}", [o], []
    if frame == 1:
        return f"{np(rng, o, False)} ({n})", [o], []
    if frame == 2:
        return f"{n}× {np(rng, o, False)}", [o], []
    if frame == 3:
        return f"{np(rng, o, False)} — {words} of them", [o], []
    return np(rng, o), [o], []


def two_objects(rng):
    a, b = m5.two_kinds(rng)
    frame = rng.randrange(6)
    if frame == 0:
        return f"two things: {np(rng, a)} and {np(rng, b)}", [a, b], []
    if frame == 1:
        return f"{np(rng, a)}, {np(rng, b)}", [a, b], []
    glue = rng.choice(["and", "as well as", "and then", "together with"])
    return f"{np(rng, a)} {glue} {np(rng, b)}", [a, b], []


def relation(rng):
    a, b = m5.two_kinds(rng)
    rel = rng.choice(list(RELATIONS))
    frame = rng.randrange(5)
    ab = [{"subject": 0, "relation": rel, "target": 1}]
    ba = [{"subject": 1, "relation": rel, "target": 0}]
    if frame == 0 and b["count"] == 1:  # "B; put A above it"
        return f"{np(rng, b)}; put {np(rng, a)} {rng.choice(PUT_IT[rel])}", [b, a], ba
    if frame == 1 and b["count"] == 1:  # "B with A to the left"
        return f"{np(rng, b)} with {np(rng, a)} {WITH_SIDE[rel]}", [b, a], ba
    if frame == 2:  # "A should be above B"
        words = rng.choice(RELATIONS[rel])
        participle = words.split()[0] in ("located", "placed", "sitting")
        verb = "should be" if participle or rng.random() < 0.5 else "goes"
        return f"{np(rng, a)} {verb} {words} {np(rng, b)}", [a, b], ab
    return f"{np(rng, a)} {rng.choice(RELATIONS[rel])} {np(rng, b)}", [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; about a third name a background."""
    return m5.sets.phrased_set(seed, n, MAKERS, LEADS, ENDS, BACKGROUNDS)


def main(argv=None) -> int:
    return m5.sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
