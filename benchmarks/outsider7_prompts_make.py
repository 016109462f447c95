"""A seventh set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written after the grammar was fixed on the misreadings of the first six sets (issue #32), and
committed before any model or the grammar was run on it: its word lists and sentence frames are
this file's own, terser and more list-like than the earlier makers' ("Prompt: ", "bg: white"),
with other color names ("blood-red", "bottle green", "ultramarine"), shape nouns ("round thing",
"triangular block"), count frames ("three (3)", "a couple of", "count: 3"), relation frames in
two clauses ("X. Y goes below it.", "X; Y under that", "place Y beneath X", "X has Y to its
right"), glue ("w/", "+", ", also") and positions ("in the centre of the image", "upper left-hand
corner"). The expected scenes are written here, not read by genlab's grammar; as in the earlier
makers a word is used only where it clearly names one of the world's facts, and every scene is
checked with the judge's rules to be drawable (the set loop of outsider5_prompts_make.py).

Usage:
  python benchmarks/outsider7_prompts_make.py --seed 7707 --n 300   # -> outsider7_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider7_prompts.json"
_spec = importlib.util.spec_from_file_location("outsider5_make", HERE / "outsider5_prompts_make.py")
m5 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m5)
SEED = 7707
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a seventh maker with the scene each asks for; made by "
    "benchmarks/outsider7_prompts_make.py --seed {seed} --n {n}"
)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "scarlet", "blood-red", "fire red", "signal red"],
    "orange": ["orange", "orange", "carrot", "bright-orange", "pure orange", "orange-colored"],
    "yellow": ["yellow", "yellow", "canary", "lemon yellow", "yellow-colored", "sunshine yellow"],
    "green": ["green", "green", "bottle green", "pine green", "spring green", "grass green"],
    "cyan": ["cyan", "cyan", "aqua", "cyan-colored", "vivid cyan", "turquoise"],
    "blue": ["blue", "blue", "navy", "ultramarine", "cobalt blue", "strong blue"],
    "purple": ["purple", "purple", "violet", "purple-colored", "deep purple", "grape-colored"],
    "pink": ["pink", "pink", "baby pink", "candy pink", "pink-colored", "shocking pink"],
}
SHAPE_WORDS = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("round thing", "round things"),
               ("dot", "dots"), ("ball", "balls")],
    "square": [("square", "squares"), ("square", "squares"), ("block", "blocks"),
               ("square block", "square blocks"), ("box", "boxes")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("triangular block", "triangular blocks"), ("pyramid", "pyramids")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("diamond shape", "diamond shapes"),
                ("rhombus", "rhombuses")],
    "star": [("star", "stars"), ("star", "stars"), ("star shape", "star shapes"),
             ("five-pointed star", "five-pointed stars")],
}
SIZE_WORDS = {"small": ["small", "tiny", "little", "very small", "mini"],
              "large": ["large", "big", "very large", "huge", "giant"]}
NUMBERS = {2: ["two", "2", "two (2)"], 3: ["three", "3", "three (3)"], 4: ["four", "4", "four (4)"]}
POSITION_WORDS = {  # judge position -> phrases
    "top left": ["in the upper left-hand corner", "top left of the image", "in the top-left"],
    "top right": ["in the upper right-hand corner", "top right of the image", "in the top-right"],
    "bottom left": ["in the lower left-hand corner", "bottom left of the image",
                    "in the bottom-left"],
    "bottom right": ["in the lower right-hand corner", "bottom right of the image",
                     "in the bottom-right"],
    "center": ["in the centre of the image", "in the middle of the picture", "at the center"],
    "top": ["at the top of the image", "in the upper part", "on top"],
    "bottom": ["at the bottom of the image", "in the lower part", "on the bottom"],
    "left": ["on the left side of the image", "in the left part", "on the left side"],
    "right": ["on the right side of the image", "in the right part", "on the right side"],
}
BACKGROUNDS = {
    "black": ["on a black backdrop", "bg: black", "background colour: black", "black background"],
    "gray": ["on a gray backdrop", "bg: grey", "background colour: grey", "grey background"],
    "white": ["on a white backdrop", "bg: white", "background colour: white", "white background"],
}
LEADS = ["", "", "", "draw: ", "Prompt: ", "make an illustration of ", "I would like to see ",
         "render ", "Create a picture showing ", "pls make ", "Can I have ", "generate "]
LEAD_INS = LEADS  # the judge reads a maker's lead-ins by this name (outsider_judge.filler_words)
ENDS = ["", "", ".", " thanks", ", nothing fancy", " - cheers", ", simple style"]
RELATIONS = {  # "A <words> B"
    "left of": ["to the left-hand side of", "a bit to the left of", "positioned to the left of",
                "left of"],
    "right of": ["to the right-hand side of", "a bit to the right of",
                 "positioned to the right of", "right of"],
    "above": ["just above", "well above", "right above", "set above"],
    "below": ["just below", "well below", "immediately below", "set below"],
}
IT_WORDS = {  # "... Y <words>": Y <relation> X
    "left of": ["to the left of it", "left of it"],
    "right of": ["to the right of it", "right of it"],
    "above": ["above it", "over it"],
    "below": ["below it", "under it"],
}
THAT_WORDS = {"left of": "left of that", "right of": "right of that", "above": "above that",
              "below": "under that"}
HAS_SIDE = {"left of": "to its left", "right of": "to its right", "above": "above it",
            "below": "below it"}
PLACE_WORDS = {"left of": "to the left of", "right of": "to the right of", "above": "above",
               "below": "beneath"}
# fmt: on


def np(rng, o: dict, with_count: bool = True) -> str:
    """Noun phrase: '[count] [size] color noun [position]'."""
    plural = o["count"] > 1
    noun = rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]
    size = rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    color = rng.choice(COLOR_WORDS[o["color"]])
    body = f"{size}{color} {noun}"
    return m5.sets.counted(rng, body, o, with_count, NUMBERS, POSITION_WORDS)


def single(rng):
    o = m5.new_obj(rng, 1, 0.5, 0.5)
    frame = rng.randrange(5)
    if frame == 0:
        return f"one {np(rng, o, False)}", [o], []
    if frame == 1:
        return f"{np(rng, o)} and nothing else", [o], []
    return np(rng, o), [o], []


def count(rng):
    n = rng.choice([2, 3, 4])
    o = m5.new_obj(rng, n, 0.3, 0.25 if n < 4 else 0.0)
    frame = rng.randrange(5)
    if frame == 0 and n == 2:
        return f"a couple of {np(rng, o, False)}", [o], []
    if frame == 1:
        return f"{np(rng, o, False)}, count: {n}", [o], []
    if frame == 2:
        return f"{np(rng, o, False)} - {rng.choice(NUMBERS[n][:2])} total", [o], []
    return np(rng, o), [o], []


def two_objects(rng):
    a, b = m5.two_kinds(rng)
    glue = rng.choice(["and", "and", "w/", "+", ", also", "along with", ", and"])
    sep = "" if glue.startswith(",") else " "
    return f"{np(rng, a)}{sep}{glue} {np(rng, b)}", [a, b], []


def relation(rng):
    a, b = m5.two_kinds(rng)
    rel = rng.choice(list(RELATIONS))
    frame = rng.randrange(6)
    ab = [{"subject": 0, "relation": rel, "target": 1}]
    ba = [{"subject": 1, "relation": rel, "target": 0}]
    if frame == 0 and b["count"] == 1:  # "B. A goes below it."
        verb = "go" if a["count"] > 1 else "goes"
        return f"{np(rng, b)}. {np(rng, a)} {verb} {rng.choice(IT_WORDS[rel])}", [b, a], ba
    if frame == 1 and b["count"] == 1:  # "B; A under that"
        return f"{np(rng, b)}; {np(rng, a)} {THAT_WORDS[rel]}", [b, a], ba
    if frame == 2:  # "place A beneath B"
        return f"place {np(rng, a)} {PLACE_WORDS[rel]} {np(rng, b)}", [a, b], ab
    if frame == 3 and b["count"] == 1:  # "B has A to its right"
        return f"{np(rng, b)} has {np(rng, a)} {HAS_SIDE[rel]}", [b, a], ba
    return f"{np(rng, a)} {rng.choice(RELATIONS[rel])} {np(rng, b)}", [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; about a third name a background."""
    return m5.sets.phrased_set(seed, n, MAKERS, LEADS, ENDS, BACKGROUNDS)


def main(argv=None) -> int:
    return m5.sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
