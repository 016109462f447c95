"""A second, independent set of free-form prompts for the built-in world, each with the exact scene
it asks for, in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written without genlab's prompt reading (grammar, lexicon, paraphrase, caption) or the first
outsider's maker: the word lists and sentence frames below are this file's own, in the way people
type requests ("can you draw two big crimson balls on the left?"). A word is used only where it
clearly names one of the world's facts:
- colors red, orange, yellow, green, cyan, blue, purple, pink: shades such as "crimson" (red),
  "lime green", "turquoise" (cyan), "cobalt blue", "violet" (purple), "hot pink"; shades between
  two world colors are left out ("sky blue", "teal", "magenta", "coral", "amber", "indigo");
- shapes circle, square, triangle, diamond (taller than wide: "rhombus", "lozenge"), star (five
  points: "5-point star"); "dot" only when the size is not asked large;
- sizes small ("little", "tiny") and large ("big", "huge");
- positions as the judge defines them: a corner or "center" is one cell, "top"/"bottom" a row,
  "left"/"right" a column; relations left of / right of / above / below between two objects;
- backgrounds black, gray, white ("dark"/"light" backgrounds are left out: not one color).

Every scene is checked against the world's limits before it is kept: at most 4 objects, each in
its own cell of the 3x3 grid, and a placement that satisfies every position and relation must be
common enough for the judge's rejection sampler (benchmarks/outsider_judge.py truth_scene).

Usage:
  python benchmarks/outsider2_prompts_make.py --seed 20261208   # -> benchmarks/outsider2_prompts.json
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
layout_share, MIN_LAYOUT_SHARE = sets.layout_share, sets.MIN_LAYOUT_SHARE  # read by other makers

OUT = HERE / "outsider2_prompts.json"
SEED = 20261208
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts written by a second outsider with the scene each asks "
    "for; made by benchmarks/outsider2_prompts_make.py --seed {seed}"
)
BACKGROUND_SHARE = 0.4  # of each category's prompts name a background, spread evenly over the three

# ---------------------------------------------------------------------------------- word lists

COLOR_WORDS: dict[str, list[str]] = {
    "red": ["red", "red", "crimson", "scarlet", "cherry red", "bright red", "ruby red"],
    "orange": ["orange", "orange", "bright orange", "tangerine", "pumpkin orange", "carrot orange"],
    "yellow": ["yellow", "yellow", "lemon yellow", "canary yellow", "bright yellow", "sunflower yellow"],
    "green": ["green", "green", "lime green", "emerald green", "grass green", "forest green"],
    "cyan": ["cyan", "cyan", "aqua", "turquoise", "bright cyan"],
    "blue": ["blue", "blue", "royal blue", "cobalt blue", "navy blue", "deep blue", "ultramarine"],
    "purple": ["purple", "purple", "violet", "deep purple", "grape purple", "royal purple"],
    "pink": ["pink", "pink", "hot pink", "bubblegum pink", "baby pink", "pale pink"],
}  # fmt: skip

# (singular, plural)
SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("circle", "circles"), ("circle", "circles"), ("ball", "balls"),
               ("disc", "discs"), ("disk", "disks"), ("dot", "dots")],
    "square": [("square", "squares"), ("square", "squares"), ("box", "boxes"),
               ("square tile", "square tiles"), ("square shape", "square shapes")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("triangle shape", "triangle shapes"), ("triangular shape", "triangular shapes")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("rhombus", "rhombuses"),
                ("diamond shape", "diamond shapes"), ("lozenge", "lozenges")],
    "star": [("star", "stars"), ("star", "stars"), ("5-point star", "5-point stars"),
             ("five-pointed star", "five-pointed stars"), ("star shape", "star shapes")],
}  # fmt: skip
SMALL_ONLY_NOUNS = {"dot"}  # "a huge dot" is no way to ask for a large circle

SIZE_WORDS: dict[str, list[str]] = {
    "small": ["small", "small", "little", "tiny", "mini"],
    "large": ["large", "large", "big", "huge", "giant"],
}

NUMBER_WORDS: dict[int, list[str]] = {
    1: ["a", "a", "one", "a single", "1", "just one"],
    2: ["two", "two", "2", "a pair of"],
    3: ["three", "three", "3"],
    4: ["four", "four", "4"],
}

POSITION_WORDS: dict[str, list[str]] = {
    "top left": ["in the top left corner", "in the top-left corner", "at the upper left",
                 "in the upper left corner", "top left"],
    "top right": ["in the top right corner", "in the top-right corner", "at the upper right",
                  "in the upper right corner", "top right"],
    "bottom left": ["in the bottom left corner", "in the bottom-left corner", "at the lower left",
                    "in the lower left corner", "bottom left"],
    "bottom right": ["in the bottom right corner", "in the bottom-right corner",
                     "at the lower right", "in the lower right corner", "bottom right"],
    "center": ["in the center", "in the middle", "in the centre", "right in the middle",
               "at the center of the image", "dead center"],
    "top": ["at the top", "at the top of the image", "along the top", "near the top edge",
            "up top", "in the top row"],
    "bottom": ["at the bottom", "at the bottom of the picture", "along the bottom",
               "near the bottom edge", "down at the bottom", "in the bottom row"],
    "left": ["on the left", "on the left side", "on the left-hand side", "at the left edge",
             "in the left column"],
    "right": ["on the right", "on the right side", "on the right-hand side", "at the right edge",
              "in the right column"],
}  # fmt: skip

# subject REL target
RELATION_WORDS: dict[str, list[str]] = {
    "left of": ["to the left of", "to the left of", "left of", "on the left of",
                "on the left side of", "just left of"],
    "right of": ["to the right of", "to the right of", "right of", "on the right of",
                 "on the right side of"],
    "above": ["above", "above", "on top of", "sitting on top of"],
    "below": ["below", "below", "under", "underneath", "beneath"],
}  # fmt: skip
# subject REL it (the target already named): {it}/{its} become "it"/"its" or "them"/"their"
RELATION_PRONOUN_WORDS: dict[str, list[str]] = {
    "left of": ["to the left of {it}", "to {its} left", "on {its} left",
                "next to {it} on {its} left"],
    "right of": ["to the right of {it}", "to {its} right", "on {its} right",
                 "next to {it} on {its} right"],
    "above": ["above {it}", "on top of {it}"],
    "below": ["below {it}", "under {it}", "underneath {it}", "beneath {it}"],
}  # fmt: skip

BACKGROUND_WORDS: dict[str, list[str]] = {
    "black": ["black", "black", "jet black", "solid black", "pitch-black"],
    "gray": ["gray", "grey", "gray", "grey", "mid-grey", "neutral gray"],
    "white": ["white", "white", "pure white", "bright white", "snow-white"],
}
BACKGROUND_SUFFIXES = [" on a {b} background", " on a {b} background", " against {b}",
                       " against a {b} backdrop", " on a {b} backdrop", ", {b} background",
                       " with a {b} background", " on {b}", " over a {b} background"]  # fmt: skip
BACKGROUND_PREFIXES = ["On a {b} background, ", "{B} background: ", "Against {b}, ",
                       "{B} background, "]  # fmt: skip
BACKGROUND_SENTENCES = [" The background should be {b}.", " Make the background {b}.",
                        " Use a {b} background.", " Background: {b}.", " {B} background please."]  # fmt: skip

LEAD_INS: list[str] = [
    "", "", "draw ", "please draw ", "can you draw ", "could you make ", "I'd like ", "I want ",
    "make me ", "generate ", "show me ", "give me a picture of ", "paint ", "create an image of ",
    "I need ", "render ", "a picture with ", "an image showing ", "can I get ",
    "could you generate ", "picture of ", "hey, draw ", "sketch ", "please make ",
    "would you draw ", "I'm looking for ", "just draw ", "quick one: ",
]  # fmt: skip
QUESTIONS = {"can you draw ", "could you make ", "can I get ", "could you generate ",
             "would you draw "}  # fmt: skip
ENDINGS = [".", ".", "", "", "!", " please", ", please."]
QUESTION_ENDINGS = ["?", "?", " please?", ""]
VERBS = ["draw", "make", "paint", "start with", "first draw", "put down"]  # "V a box and put ..."


# ---------------------------------------------------------------------------------- phrases


class Writer:
    """Random phrases for one prompt; remembers the noun it chose for each object."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.nouns: dict[int, tuple[str, str]] = {}
        self.colors: dict[int, str] = {}  # the shade said for each object, to refer back to it
        self.said_just = False  # "just" once per prompt

    def pick(self, words):
        return self.rng.choice(words)

    def lead(self) -> tuple[str, bool]:
        """A lead-in ("can you draw ", "I'd like ", ...) and whether it asks a question."""
        lead = self.pick(LEAD_INS)
        self.said_just |= "just" in lead
        return lead, lead in QUESTIONS

    def noun(self, k: int, o: dict) -> tuple[str, str]:
        if k not in self.nouns:
            choices = [
                n for n in SHAPE_WORDS[o["shape"]]
                if not (n[0] in SMALL_ONLY_NOUNS and o["size"] == "large")
            ]  # fmt: skip
            self.nouns[k] = self.pick(choices)
        return self.nouns[k]

    def np(self, k: int, o: dict, style: str | None = None, position: bool = True) -> str:
        """A noun phrase for object k: "two big crimson balls", "a star in violet", ..."""
        singular, plural = self.noun(k, o)
        noun = singular if o["count"] == 1 else plural
        color = self.colors.setdefault(k, self.pick(COLOR_WORDS[o["color"]]))
        size = self.pick(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
        style = style or self.pick(["adj"] * 6 + ["in", "colored"])
        if style == "in":
            body = f"{size}{noun} in {color}"
        elif style == "colored":
            body = f"{size}{noun} colored {color}"
        else:
            body = f"{size}{color} {noun}"
        number = self.pick(NUMBER_WORDS[o["count"]])
        if number == "just one" and self.said_just:
            number = "one"
        self.said_just |= number == "just one"
        if number == "a":
            number = sets.article(body)
        where = ""
        if position and o["position"]:
            where = " " + self.pick(POSITION_WORDS[o["position"]])
        return f"{number} {body}{where}"

    def ref(self, k: int, o: dict, other: dict) -> str:
        """'the ball' or, when both objects are the same shape, 'the red one'."""
        if o["shape"] != other["shape"]:
            singular, plural = self.noun(k, o)
            return "the " + (singular if o["count"] == 1 else plural)
        return f"the {self.colors[k]} " + ("one" if o["count"] == 1 else "ones")

    def background(self, main: str, question: bool, bg: str | None, tail: str = "") -> str:
        """`main` (a lead-in and what to draw) with the background worded in, then `tail` (a
        last clause: ", nothing else", ", all red") and an ending."""
        ends = QUESTION_ENDINGS if question else ENDINGS
        if "please" in main.lower():  # once is enough
            ends = [e for e in ends if "please" not in e]
        end = self.pick(ends)
        if not bg:
            return main + tail + end
        b = self.pick(BACKGROUND_WORDS[bg])
        where = self.pick(["suffix"] * 3 + ["prefix", "sentence"])
        if where == "suffix":
            return main + self.pick(BACKGROUND_SUFFIXES).format(b=b) + tail + end
        if where == "prefix" and not question and main[:5] not in ("hey, ", "quick"):
            pre = self.pick(BACKGROUND_PREFIXES).format(b=b, B=b[0].upper() + b[1:])
            return pre + main + tail + end
        stop = "?" if question else self.pick([".", ".", "!"])
        sentence = self.pick(BACKGROUND_SENTENCES).format(b=b, B=b[0].upper() + b[1:])
        if "please" in (main + tail).lower():
            sentence = sentence.replace(" please", "")
        return main + tail + stop + sentence


def finish(text: str, rng: random.Random) -> str:
    text = " ".join(text.split()).replace(" ,", ",")
    return text[0].upper() + text[1:] if rng.random() < 0.55 else text


# ---------------------------------------------------------------------------------- the categories


def single(rng: random.Random, bg: str | None):
    o = sets.obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), 1,
                 sets.pick_size(rng, 0.5), sets.pick_position(rng, 1, 0.5))  # fmt: skip
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["plain"] * 4 + ["just", "nothing else"])
    style = None if not o["position"] else "adj"
    if frame == "just" and not w.said_just:
        w.said_just = True
        return w.background(f"{lead}just {w.np(0, o, style)}", question, bg), [o], []
    if frame == "nothing else" and not question:
        return w.background(f"{lead}{w.np(0, o, style)}", question, bg, ", nothing else"), [o], []
    return w.background(f"{lead}{w.np(0, o, style)}", question, bg), [o], []


def count(rng: random.Random, bg: str | None):
    n = rng.choice([2, 2, 3, 3, 4])
    o = sets.obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), n,
                 sets.pick_size(rng, 0.35), sets.pick_position(rng, n, 0.3 if n < 4 else 0.0))  # fmt: skip
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["plain"] * 4 + ["of them", "all", "exactly"])
    singular, plural = w.noun(0, o)
    color = w.pick(COLOR_WORDS[o["color"]])
    size = w.pick(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    number = w.pick(NUMBER_WORDS[n])
    where = " " + w.pick(POSITION_WORDS[o["position"]]) if o["position"] else ""
    if frame == "of them":
        word = w.pick(["two", "2"] if n == 2 else NUMBER_WORDS[n])
        main = f"{lead}{size}{color} {plural}{where}"
        return w.background(main, question, bg, f", {word} of them"), [o], []
    if frame == "all":
        main = f"{lead}{number} {size}{plural}{where}"
        tail = f", {'both' if n == 2 else 'all'} {w.pick(['', 'of them '])}{color}"
        return w.background(main, question, bg, tail), [o], []
    if frame == "exactly":
        word = w.pick([x for x in NUMBER_WORDS[n] if x != "a pair of"])
        main = f"{lead}exactly {word} {size}{color} {plural}{where}"
    else:
        main = f"{lead}{number} {size}{color} {plural}{where}"
    return w.background(main, question, bg), [o], []


def two_objects(rng: random.Random, bg: str | None):
    a, b = sets.two_objects_pair(rng, list(COLOR_WORDS), list(SHAPE_WORDS))
    w = Writer(rng)
    lead, question = w.lead()
    same_shape = a["shape"] == b["shape"] and a["count"] == b["count"] == 1
    if same_shape and not (a["position"] or b["position"]) and rng.random() < 0.6:
        # "a red and a blue circle" / "two stars, one yellow and one green"
        a["size"] = b["size"] = a["size"] if rng.random() < 0.5 else None
        size = w.pick(SIZE_WORDS[a["size"]]) + " " if a["size"] else ""
        singular, plural = w.noun(0, a)
        ca, cb = w.pick(COLOR_WORDS[a["color"]]), w.pick(COLOR_WORDS[b["color"]])
        if rng.random() < 0.5:
            main = f"{lead}{sets.article(ca)} {ca} and {sets.article(cb)} {cb} {size}{singular}"
        else:
            two = w.pick(["two", "2"])
            main = f"{lead}{two} {size}{plural}, one {ca} and one {cb}"
        return w.background(main, question, bg), [a, b], []
    joiner = w.pick([" and ", " and ", " together with ", " plus ", ", and also ", " along with ",
                     " and one more thing: "])  # fmt: skip
    if a["count"] > 1 or b["count"] > 1 or a["position"] or b["position"]:
        first, second = w.np(0, a, "adj"), w.np(1, b, "adj")
    else:
        first, second = w.np(0, a), w.np(1, b)
    return w.background(f"{lead}{first}{joiner}{second}", question, bg), [a, b], []


def relation(rng: random.Random, bg: str | None):
    s, t = sets.two_kinds(
        rng, [(1, 1)] * 8 + [(2, 1), (1, 2)], list(COLOR_WORDS), list(SHAPE_WORDS)
    )
    rel = rng.choice(list(RELATION_WORDS))
    for o in (s, t):
        o["size"] = sets.pick_size(rng, 0.25)
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["direct"] * 4 + ["with it", "the one", "put", "sits"])
    # At most one of the two also placed on the grid, and never the object named last in
    # "A left of B": "... left of a blue box in the middle" could be read either way.
    if rng.random() < 0.25:
        placed = s if frame == "direct" else rng.choice([s, t])
        placed["position"] = sets.pick_position(rng, placed["count"], 1.0)
    its = {"it": "it", "its": "its"} if t["count"] == 1 else {"it": "them", "its": "their"}
    if frame == "with it":  # "a blue box with a red star above it" (objects listed target first)
        objects = [t, s]
        pron = w.pick(RELATION_PRONOUN_WORDS[rel]).format(**its)
        main = f"{lead}{w.np(1, t, 'adj')} with {w.np(0, s, 'adj')} {pron}"
        return w.background(main, question, bg), objects, [sets.rel_of(1, rel, 0)]
    if frame == "the one":  # "a red ball and a blue box, with the ball to the left of the box"
        objects = [s, t]
        glue = w.pick([", with ", ", with ", "; ", " - "])
        be = "are" if s["count"] > 1 else "is"
        verb = " " if glue == ", with " else w.pick([" should be ", f" {be} "])
        main = f"{lead}{w.np(0, s, 'adj')} and {w.np(1, t, 'adj')}"
        tail = f"{glue}{w.ref(0, s, t)}{verb}{w.pick(RELATION_WORDS[rel])} {w.ref(1, t, s)}"
        return w.background(main, question, bg, tail), objects, [sets.rel_of(0, rel, 1)]
    if frame == "put":  # "Draw a green square and put a pink circle underneath it"
        objects = [t, s]
        pron = w.pick(RELATION_PRONOUN_WORDS[rel]).format(**its)
        verb = w.pick(VERBS)
        main = f"{verb} {w.np(1, t, 'adj')} and {w.pick(['put', 'place', 'add'])} {w.np(0, s, 'adj')} {pron}"
        return w.background(main, False, bg), objects, [sets.rel_of(1, rel, 0)]
    if frame == "sits":  # "a blue box; a red star sits above it"
        objects = [t, s]
        pron = w.pick(RELATION_PRONOUN_WORDS[rel]).format(**its)
        sit = "sits" if s["count"] == 1 else "sit"
        main = f"{lead}{w.np(1, t, 'adj')}; {w.np(0, s, 'adj')} {sit} {pron}"
        return w.background(main, question, bg), objects, [sets.rel_of(1, rel, 0)]
    objects = [s, t]  # "a red circle to the left of a blue square"
    first = w.np(0, s, "adj")
    comma = "," if s["position"] else ""
    main = f"{lead}{first}{comma} {w.pick(RELATION_WORDS[rel])} {w.np(1, t, 'adj')}"
    return w.background(main, question, bg), objects, [sets.rel_of(0, rel, 1)]


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


# ---------------------------------------------------------------------------------- the set


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn, BACKGROUND_SHARE of each naming a background."""
    return sets.planned_set(seed, n, MAKERS, finish, list(BACKGROUND_WORDS), BACKGROUND_SHARE)


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
