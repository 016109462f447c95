"""A third, fresh set of free-form prompts for the built-in world (issue #32's acceptance check),
each with the exact scene it asks for, in the format of benchmarks/outsider_prompts.json (read by
benchmarks/outsider_judge.py).

Written after the first two sets were used to fix the grammar, and on purpose unlike them: other
lead-ins ("I would like", "design", "illustrate", "okay so,"), other shades ("fire-engine red",
"banana yellow", "kelly green", "sapphire blue", "flamingo pink"), other nouns ("orb", "block",
"star figure", "three-sided shape"), other size words ("teeny", "jumbo", "massive"), counts as
"a trio of", "a quartet of", "a couple of", "twin", other position and relation wordings ("smack
in the middle", "along the upper edge", "positioned to the left of", "higher up than", "further
down than") and other word orders ("a star that is red", "a red-colored box", "three circles, in
green"). None of genlab's prompt reading (grammar, lexicon, paraphrase, caption) is used; the
word lists below were written without looking at the lexicon, and a word is used only where it
plainly names one of the world's facts:
- colors red, orange, yellow, green, cyan, blue, purple, pink; backgrounds black, gray, white;
- shapes circle, square, triangle, diamond, star; sizes small and large;
- positions as the judge defines them (a corner or the center is one cell, top/bottom a row,
  left/right a column), relations left of / right of / above / below between two objects.

Every scene is checked against the world's limits before it is kept: at most 4 objects, each in
its own cell, and a placement satisfying every position and relation common enough for the
judge's rejection sampler (benchmarks/outsider_judge.py truth_scene).

Usage:
  python benchmarks/outsider3_prompts_make.py --seed 31337   # -> benchmarks/outsider3_prompts.json
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sets)

OUT = HERE / "outsider3_prompts.json"
SEED = 31337
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a third, fresh outsider set (issue #32's check) with "
    "the scene each asks for; made by benchmarks/outsider3_prompts_make.py --seed {seed}"
)
BACKGROUND_SHARE = 0.4  # of each category's prompts name a background, spread over the three

# ---------------------------------------------------------------------------------- word lists

COLOR_WORDS: dict[str, list[str]] = {
    "red": ["red", "red", "fire-engine red", "blood red", "tomato red", "vivid red", "rich red"],
    "orange": ["orange", "orange", "vivid orange", "mandarin orange", "traffic-cone orange",
               "rich orange"],
    "yellow": ["yellow", "yellow", "banana yellow", "daffodil yellow", "sunny yellow",
               "vivid yellow"],
    "green": ["green", "green", "kelly green", "leaf green", "apple green", "vivid green"],
    "cyan": ["cyan", "cyan", "electric cyan", "vivid cyan", "cyan-colored"],
    "blue": ["blue", "blue", "sapphire blue", "pure blue", "vivid blue", "medium blue"],
    "purple": ["purple", "purple", "amethyst purple", "plum purple", "vivid purple"],
    "pink": ["pink", "pink", "rose pink", "flamingo pink", "candy pink", "bright pink"],
}  # fmt: skip

# (singular, plural)
SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("orb", "orbs"),
               ("round shape", "round shapes"), ("circular shape", "circular shapes")],
    "square": [("square", "squares"), ("square", "squares"), ("block", "blocks"),
               ("square block", "square blocks")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("three-sided shape", "three-sided shapes"), ("triangle figure", "triangle figures")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"),
                ("diamond figure", "diamond figures"), ("diamond-shaped piece", "diamond-shaped pieces")],
    "star": [("star", "stars"), ("star", "stars"), ("star figure", "star figures"),
             ("five pointed star", "five pointed stars"), ("star icon", "star icons")],
}  # fmt: skip

SIZE_WORDS: dict[str, list[str]] = {
    "small": ["small", "small", "teeny", "miniature", "smallish"],
    "large": ["large", "large", "massive", "jumbo", "enormous", "oversized"],
}

NUMBER_WORDS: dict[int, list[str]] = {
    1: ["a", "a", "one", "1", "a lone", "exactly one"],
    2: ["two", "two", "2", "a couple of", "twin"],
    3: ["three", "three", "3", "a trio of"],
    4: ["four", "four", "4", "a quartet of", "a set of four"],
}

POSITION_WORDS: dict[str, list[str]] = {
    "top left": ["in the upper-left", "top-left", "at the top left of the canvas",
                 "up in the top left"],
    "top right": ["in the upper-right", "top-right", "at the top right of the canvas",
                  "up in the top right"],
    "bottom left": ["in the lower-left", "bottom-left", "at the bottom left of the canvas",
                    "down in the bottom left"],
    "bottom right": ["in the lower-right", "bottom-right", "at the bottom right of the canvas",
                     "down in the bottom right"],
    "center": ["smack in the middle", "in the very center", "centered", "in the centre of the frame",
               "at the middle of the canvas"],
    "top": ["across the top", "along the upper edge", "in the upper row", "at the top of the canvas"],
    "bottom": ["across the bottom", "along the lower edge", "in the lower row",
               "at the bottom of the canvas"],
    "left": ["over on the left", "along the left side", "in the leftmost column",
             "on the left-hand edge"],
    "right": ["over on the right", "along the right side", "in the rightmost column",
              "on the right-hand edge"],
}  # fmt: skip

# subject REL target
RELATION_WORDS: dict[str, list[str]] = {
    "left of": ["to the left of", "to the left of", "positioned to the left of", "placed left of",
                "off to the left of"],
    "right of": ["to the right of", "to the right of", "positioned to the right of",
                 "placed right of", "off to the right of"],
    "above": ["above", "above", "directly above", "higher up than", "placed above"],
    "below": ["below", "below", "directly below", "lower down than", "further down than"],
}  # fmt: skip
# "B, and REL-it A": the target named first
RELATION_AFTER_WORDS: dict[str, list[str]] = {
    "left of": ["to its left", "left of it", "on its left side"],
    "right of": ["to its right", "right of it", "on its right side"],
    "above": ["above it", "directly above it", "over it"],
    "below": ["below it", "directly below it", "under it"],
}  # fmt: skip

BACKGROUND_WORDS: dict[str, list[str]] = {
    "black": ["black", "black", "inky black", "coal black", "deep black"],
    "gray": ["gray", "grey", "gray", "grey", "medium gray", "ash grey", "concrete gray"],
    "white": ["white", "white", "plain white", "paper white", "clean white"],
}
BACKGROUND_SUFFIXES = [" set on a {b} background", " with the background in {b}",
                       ", background color {b}", " on plain {b}", ", {b} bg",
                       " over a {b} backdrop", " with a {b} background"]  # fmt: skip
BACKGROUND_PREFIXES = ["{B} background, ", "Background {b}: ", "On {b}: "]
BACKGROUND_SENTENCES = [" Fill the background with {b}.", " The backdrop is {b}.",
                        " Keep the background {b}.", " Background color: {b}."]  # fmt: skip

LEAD_INS: list[str] = [
    "", "", "", "generate me ", "I would like ", "make an image with ", "can you please create ",
    "I'd love ", "design ", "illustrate ", "produce ", "render me ", "could I have ",
    "please show ", "let's see ", "need ", "give me ", "image: ", "create ", "draw me ",
    "would love to see ", "okay so, ", "i want to see ",
]  # fmt: skip
QUESTIONS = {"can you please create ", "could I have "}
ENDINGS = ["", "", ".", "!", " thanks", ", thank you.", " pls"]
QUESTION_ENDINGS = ["?", "?", " thanks?"]


# ---------------------------------------------------------------------------------- phrases


class Writer:
    """Random phrases for one prompt."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, words):
        return self.rng.choice(words)

    def lead(self) -> tuple[str, bool]:
        lead = self.pick(LEAD_INS)
        return lead, lead in QUESTIONS

    def np(self, o: dict, position: bool = True, plain: bool = False) -> str:
        """A noun phrase: "two massive sapphire blue orbs", "a star that is red", "three
        circles, in green", "a red-colored block" (plain: always size-color-noun)."""
        singular, plural = self.pick(SHAPE_WORDS[o["shape"]])
        noun = singular if o["count"] == 1 else plural
        color = self.pick(COLOR_WORDS[o["color"]])
        size = self.pick(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
        number = self.pick(NUMBER_WORDS[o["count"]])
        style = "adj" if plain else self.pick(["adj"] * 5 + ["that is", "colored", "comma"])
        if style == "that is" and o["count"] == 1:
            body = f"{size}{noun} that is {color}"
        elif style == "that is":
            body = f"{size}{noun} that are {color}"
        elif style == "colored" and " " not in color and "-" not in color:
            body = f"{size}{color}-colored {noun}"
        elif style == "comma" and o["count"] > 1 and not (position and o["position"]):
            body = f"{size}{noun}, in {color},"
        else:
            body = f"{size}{color} {noun}"
        if number == "a":
            number = sets.article(body)
        where = ""
        if position and o["position"]:
            where = " " + self.pick(POSITION_WORDS[o["position"]])
        return f"{number} {body}{where}".replace(",,", ",")

    def background(self, main: str, question: bool, bg: str | None) -> str:
        end = self.pick(QUESTION_ENDINGS if question else ENDINGS)
        if not bg:
            return main + end
        b = self.pick(BACKGROUND_WORDS[bg])
        where = self.pick(["suffix"] * 3 + ["prefix", "sentence"])
        if where == "prefix" and not question and not main.startswith("okay"):
            return self.pick(BACKGROUND_PREFIXES).format(b=b, B=b[0].upper() + b[1:]) + main + end
        if where == "sentence":
            stop = "?" if question else "."
            return main + stop + self.pick(BACKGROUND_SENTENCES).format(b=b)
        return main + self.pick(BACKGROUND_SUFFIXES).format(b=b) + end


def finish(text: str, rng: random.Random) -> str:
    text = " ".join(text.split()).replace(" ,", ",").replace(",,", ",").replace(",.", ".")
    text = text.replace(",!", "!").replace(",;", ";")
    text = text.replace(",?", "?").rstrip(",")
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text


# ---------------------------------------------------------------------------------- the categories


def single(rng: random.Random, bg: str | None):
    o = sets.obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), 1,
                 sets.pick_size(rng, 0.5), sets.pick_position(rng, 1, 0.45))  # fmt: skip
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["plain"] * 4 + ["only", "position first"])
    if frame == "only":
        main = f"{lead}{w.np(o)} and nothing else"
    elif frame == "position first" and o["position"] and not lead:
        where = w.pick(POSITION_WORDS[o["position"]])
        main = f"{where[0].upper() + where[1:]}, {w.np(o, position=False, plain=True)}"
    else:
        main = f"{lead}{w.np(o)}"
    return w.background(main, question, bg), [o], []


def count(rng: random.Random, bg: str | None):
    n = rng.choice([2, 2, 3, 3, 4])
    o = sets.obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), n,
                 sets.pick_size(rng, 0.35), sets.pick_position(rng, n, 0.3 if n < 4 else 0.0))  # fmt: skip
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["plain"] * 4 + ["how many", "each", "digits after"])
    singular, plural = w.pick(SHAPE_WORDS[o["shape"]])
    color = w.pick(COLOR_WORDS[o["color"]])
    size = w.pick(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    where = " " + w.pick(POSITION_WORDS[o["position"]]) if o["position"] else ""
    word = w.pick([x for x in NUMBER_WORDS[n] if not x.startswith("a ")])
    if frame == "how many":  # "blue orbs, three in total"
        main = f"{lead}{size}{color} {plural}{where}, {word} in total"
    elif frame == "each":  # "three orbs, each one blue"
        main = f"{lead}{word} {size}{plural}{where}, each one {color}"
    elif frame == "digits after" and not o["position"]:  # "sapphire blue orbs x3"
        main = f"{lead}{size}{color} {plural} x{n}"
    else:
        main = f"{lead}{w.np(o)}"
    return w.background(main, question, bg), [o], []


def two_objects(rng: random.Random, bg: str | None):
    a, b = sets.two_objects_pair(rng, list(COLOR_WORDS), list(SHAPE_WORDS))
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["joined"] * 5 + ["list", "as well as"])
    plain = a["count"] > 1 or b["count"] > 1
    first, second = w.np(a, plain=plain), w.np(b, plain=plain)
    if frame == "list" and not question:  # "objects: a red orb; two blue blocks"
        main = f"{lead}{w.pick(['objects', 'shapes', 'contents'])}: {first}; {second}"
    elif frame == "as well as":
        main = f"{lead}{first}, as well as {second}"
    else:
        joiner = w.pick([" and ", " and ", " with ", " next to ", " plus also ", " & "])
        if joiner == " next to " and (a["position"] or b["position"]):
            joiner = " and "
        main = f"{lead}{first}{joiner}{second}"
    return w.background(main, question, bg), [a, b], []


def relation(rng: random.Random, bg: str | None):
    s, t = sets.two_kinds(
        rng, [(1, 1)] * 8 + [(2, 1), (1, 2)], list(COLOR_WORDS), list(SHAPE_WORDS)
    )
    rel = rng.choice(list(RELATION_WORDS))
    for o in (s, t):
        o["size"] = sets.pick_size(rng, 0.25)
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["direct"] * 4 + ["after", "where", "should be"])
    if rng.random() < 0.2:  # the subject also placed on the grid (never the target named last)
        s["position"] = sets.pick_position(rng, s["count"], 1.0)
    if frame == "after":  # "a blue block, and to its left a red orb"
        after = w.pick(RELATION_AFTER_WORDS[rel]) if t["count"] == 1 else None
        if after:
            s["position"] = None
            main = f"{lead}{w.np(t, plain=True)}, and {after} {w.np(s, plain=True)}"
            return w.background(main, question, bg), [t, s], [sets.rel_of(1, rel, 0)]
    # "a red orb and a blue block, where the orb is left of the block"
    if frame == "where" and s["shape"] != t["shape"] and s["count"] == t["count"] == 1:
        sn, tn = w.pick(SHAPE_WORDS[s["shape"]])[0], w.pick(SHAPE_WORDS[t["shape"]])[0]
        main = (f"{lead}{w.np(s, plain=True)} and {w.np(t, plain=True)}, where the {sn} is "
                f"{w.pick(RELATION_WORDS[rel])} the {tn}")  # fmt: skip
        return w.background(main, question, bg), [s, t], [sets.rel_of(0, rel, 1)]
    if frame == "should be" and not question and not s["position"]:
        # "a red orb; it should sit to the left of a blue block"
        they = "it" if s["count"] == 1 else "they"
        first, second = w.np(s, plain=True), w.np(t, plain=True)
        words = [r for r in RELATION_WORDS[rel] if not r.startswith(("positioned", "placed"))]
        main = f"{lead}{first}; {they} should sit {w.pick(words)} {second}"
        return w.background(main, question, bg), [s, t], [sets.rel_of(0, rel, 1)]
    comma = "," if s["position"] else ""
    main = f"{lead}{w.np(s, plain=True)}{comma} {w.pick(RELATION_WORDS[rel])} {w.np(t, plain=True)}"
    return w.background(main, question, bg), [s, t], [sets.rel_of(0, rel, 1)]


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


# ---------------------------------------------------------------------------------- the set


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn, BACKGROUND_SHARE of each naming a background."""
    return sets.planned_set(seed, n, MAKERS, finish, list(BACKGROUND_WORDS), BACKGROUND_SHARE)


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
