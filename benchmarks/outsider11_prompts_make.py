"""An eleventh set of free-form prompts for the built-in world, each with the exact scene it asks
for, in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written by a new outside writer after the tenth set, and committed before any model or the grammar
was run on it (issue #32): its word lists and sentence frames are this file's own, written without
reading genlab's grammar or lexicon. The writer is a mix of a non-native English speaker and a
child: plain words, short sentences, lowercase, mostly no punctuation (sometimes "!!!"), articles
dropped ("draw red circle"), word-order quirks ("circle red big", "star blue, small one", "circles
green small, 3 pieces"), counting with "pieces" and "times" ("3 pieces green square", "draw blue
star 2 times"), a singular noun after a number ("two red circle"), "is" for a position ("blue
square is on the left", "2 red balls are all at the top"), "from" in relations ("red circle is
left from blue box"), a thing said first and then its neighbour ("blue square and under it yellow
star"), back references without "the" ("circle is under square"), and now and then a typo of a
common word that a careful reader reads without doubt ("cirle", "trinagle", "yelow", "backround";
at most one prompt in ten, and one typo a prompt).

A word is used only where a careful reader maps it to exactly one of the world's facts, so some
words such a writer uses are left out: "light blue" (blue or cyan), "near" and "next to" (no side
named), "over" and "on top of" (touching or overlapping), "corner" without a side. Within a prompt
a color, size or shape is always said with one word. Where only one of two objects has a position
the other is said to be anywhere ("blue square can be anywhere"), so the position is not read as
both objects'. Every scene is checked with the judge's own rules to be drawable
(benchmarks/outsider_sets.layout_share).

Usage:
  python benchmarks/outsider11_prompts_make.py --seed 11011 --n 300   # -> outsider11_prompts.json
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider11_prompts.json"
SEED = 11011
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of an eleventh maker with the scene each asks for; made by "
    "benchmarks/outsider11_prompts_make.py --seed {seed} --n {n}"
)
_spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sets)

# fmt: off
COLOR_WORDS = {c: [c] for c in ("red", "orange", "yellow", "green", "cyan", "blue", "purple",
                                "pink")}
SHAPE_WORDS = {  # (singular, plural)
    "circle": [("circle", "circles"), ("circle", "circles"), ("ball", "balls")],
    "square": [("square", "squares"), ("square", "squares"), ("box", "boxes")],
    "triangle": [("triangle", "triangles")],
    "diamond": [("diamond", "diamonds")],
    "star": [("star", "stars")],
}
SIZE_WORDS = {"small": ["small", "small", "little"], "large": ["big", "big", "large"]}
NUMBERS = {1: ["one", "1"], 2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]}
POSITION_WORDS = {  # one object: judge position -> phrase said after the thing or after "is"
    "top left": ["in top left corner", "in left top corner", "in the top left corner",
                 "at top left"],
    "top right": ["in top right corner", "in right top corner", "in the top right corner",
                  "at top right"],
    "bottom left": ["in bottom left corner", "in left bottom corner",
                    "in the bottom left corner", "at bottom left"],
    "bottom right": ["in bottom right corner", "in right bottom corner",
                     "in the bottom right corner", "at bottom right"],
    "center": ["in the middle", "in middle", "in the center", "in center of picture"],
    "top": ["at the top", "at top", "up at the top", "in top part of picture"],
    "bottom": ["at the bottom", "at bottom", "down at the bottom", "in bottom part of picture"],
    "left": ["on the left", "on left side", "at left side", "in left part of picture"],
    "right": ["on the right", "on right side", "at right side", "in right part of picture"],
}
GROUP_POSITION_WORDS = {  # a group of 2-3 (pick_position gives them a row or a column)
    "top": ["at the top", "in top row", "all at top", "up at the top"],
    "bottom": ["at the bottom", "in bottom row", "all at bottom", "down at the bottom"],
    "left": ["on the left", "on left side", "all on left side", "in left column"],
    "right": ["on the right", "on right side", "all on right side", "in right column"],
}
BACKGROUND_WORDS = {"black": ["black"], "gray": ["gray", "grey"], "white": ["white"]}
BACKGROUND_AFTER = [", {b} background", " and {b} background", ", background {b}",
                    " and background is {b}", ", background is {b}", " on {b} background",
                    " with {b} background"]
BACKGROUND_BEFORE = ["{b} background, ", "on {b} background ", "background {b}, "]
LEADS = ["", "", "", "draw ", "draw ", "draw ", "please draw ", "pls draw ", "make ",
         "i want ", "can you draw ", "draw me ", "make me "]
SAYS_LEADS = ["", "", "", "", "picture: ", "draw this: ", "my picture: "]
DO_LEADS = ["", "", "", "please ", "pls ", "ok "]  # before "draw A and draw B"
ENDS = ["", "", "", "", "", "!", "!!", "!!!", " please", " pls", " thank you", " thanks", "."]
LEAD_INS = LEADS + SAYS_LEADS + DO_LEADS + ENDS  # words asking for nothing (judge.filler_words)
ANYWHERE = ["anywhere", "in any place", "where you want"]  # of one of two, the other placed
RELATION_WORDS = {  # "A <words> B"
    "left of": ["left from", "on the left of", "left of", "to the left of"],
    "right of": ["right from", "on the right of", "right of", "to the right of"],
    "above": ["above"],
    "below": ["under", "below", "underneath"],
}
ITS = {  # said after B, of an A said after it: (B is one, B are several)
    "left of": (["on the left of it", "left from it", "on its left"],
                ["on the left of them", "left from them"]),
    "right of": (["on the right of it", "right from it", "on its right"],
                 ["on the right of them", "right from them"]),
    "above": (["above it"], ["above them"]),
    "below": (["under it", "below it"], ["under them", "below them"]),
}
TYPOS = {  # a common word -> how the writer sometimes mistypes it
    "circle": "cirle", "circles": "cirles", "triangle": "trinagle", "triangles": "trinagles",
    "square": "sqare", "squares": "sqares", "yellow": "yelow", "purple": "purpel",
    "orange": "oragne", "diamond": "dimond", "diamonds": "dimonds", "background": "backround",
    "green": "gren", "pieces": "peices",
}
TYPO_CHANCE = 0.07  # per prompt; make() checks that at most one prompt in ten has one
# fmt: on


def size_(pen: sets.Pen, o: dict) -> str:
    """The size word and a space, or nothing where no size is asked."""
    return pen.word(("size", o["size"]), SIZE_WORDS[o["size"]]) + " " if o["size"] else ""


def where(pen: sets.Pen, o: dict) -> str:
    """The object's position phrase ('in top left corner', 'in left column')."""
    words = POSITION_WORDS if o["count"] == 1 else GROUP_POSITION_WORDS
    return pen.choice(words[o["position"]])


def number(pen: sets.Pen, n: int) -> str:
    return pen.choice(NUMBERS[n])


def thing(pen: sets.Pen, o: dict, placed: bool = True) -> str:
    """'[count] [size] color noun [position]': one object mostly without an article ('red
    circle'), sometimes 'a' or 'one'; a group with its number ('2 red circles')."""
    body = f"{size_(pen, o)}{pen.color(o)} {pen.noun(o)}"
    if o["count"] > 1:
        body = f"{number(pen, o['count'])} {body}"
    else:
        lead = pen.choice(["", "", "", "a ", "one "])
        body = (sets.article(body) + " " if lead == "a " else lead) + body
    if placed and o["position"]:
        body += " " + where(pen, o)
    return body


def is_are(o: dict) -> str:
    return "are" if o["count"] > 1 else "is"


# ---------------------------------------------------------------------------------- categories
# Each maker gives (kind, text, objects, relations). The kinds: "np" a thing that may get a
# drawing verb ("draw red circle"); "says" a sentence that may get a lead like "picture: "; "do"
# an instruction ("draw A and draw B") that may get "please".


def single(pen: sets.Pen):
    o = pen.new_obj(1, 0.45, 0.45)
    c, s = pen.color(o), pen.noun(o)
    at = f" {where(pen, o)}" if o["position"] else ""
    frame = pen.randrange(7)
    if frame == 0:  # "circle red big", "circle red big in the middle"
        size = f" {size_(pen, o).strip()}" if o["size"] else ""
        return "np", f"{s} {c}{size}{at}", [o], []
    if frame == 1 and o["size"]:  # "star blue, small one"
        return "np", f"{s} {c}, {size_(pen, o).strip()} one{at}", [o], []
    if frame == 2 and o["position"]:  # "blue square is on the left"
        return "says", f"{size_(pen, o)}{c} {s} is{at}", [o], []
    if frame == 3:  # "only one red circle", "1 piece red circle"
        one = pen.choice(["only one", "just one", "1 piece", "one piece"])
        return "np", f"{one} {size_(pen, o)}{c} {s}{at}", [o], []
    if frame == 4 and o["position"]:  # "red circle, it is in the middle"
        return "np", f"{size_(pen, o)}{c} {s}, it is{at}", [o], []
    return "np", thing(pen, o), [o], []


def count(pen: sets.Pen):
    n = pen.choice([2, 3, 4])
    o = pen.new_obj(n, 0.35, 0.25 if n < 4 else 0.0)
    c, one, many = pen.color(o), pen.noun(o, plural=False), pen.noun(o)
    at = f" {where(pen, o)}" if o["position"] else ""
    num = number(pen, n)
    frame = pen.randrange(7)
    if frame == 0:  # "3 pieces green square"
        return "np", f"{num} pieces {size_(pen, o)}{c} {one}{at}", [o], []
    if frame == 1:  # "draw blue star 2 times", "3 times red circle"
        if pen.random() < 0.5:
            return "np", f"{size_(pen, o)}{c} {one} {num} times{at}", [o], []
        return "np", f"{num} times {size_(pen, o)}{c} {one}{at}", [o], []
    if frame == 2:  # "two red circle" (no plural after the number)
        return "np", f"{num} {size_(pen, o)}{c} {one}{at}", [o], []
    if frame == 3 and o["position"]:  # "2 red balls are all at the top"
        return "says", f"{num} {size_(pen, o)}{c} {many} are{at}", [o], []
    if frame == 4:  # "circles green small, 3 pieces"
        size = f" {size_(pen, o).strip()}" if o["size"] else ""
        return "np", f"{many} {c}{size}, {num} pieces{at}", [o], []
    if frame == 5 and not o["position"]:  # "red circles, three of them"
        return "np", f"{size_(pen, o)}{c} {many}, {num} of them", [o], []
    return "np", thing(pen, o), [o], []


def two_objects(pen: sets.Pen):
    a, b = sets.two_objects_pair(pen, list(COLOR_WORDS), list(SHAPE_WORDS))
    if b["position"] and not a["position"]:  # the placed one first, the other "anywhere"
        a, b = b, a
    one_placed = bool(a["position"]) != bool(b["position"])
    frame = pen.randrange(5)
    if frame == 0 or one_placed and frame == 1:
        # "red circle is on the left, blue square can be anywhere"
        if a["position"]:
            first = f"{thing(pen, a, placed=False)} {is_are(a)} {where(pen, a)}"
        else:
            first = thing(pen, a)
        if b["position"]:
            second = f"{thing(pen, b, placed=False)} {is_are(b)} {where(pen, b)}"
        elif one_placed:
            second = f"{thing(pen, b)} {pen.choice(['can be anywhere', *ANYWHERE])}"
        else:
            second = thing(pen, b)
        return "says", f"{first}{pen.choice([', ', ' and ', ', and '])}{second}", [a, b], []
    tail = f" {pen.choice(ANYWHERE)}" if one_placed else ""
    if frame == 1:  # "red circle, blue square" (neither placed)
        return "np", f"{thing(pen, a)}, {thing(pen, b)}", [a, b], []
    if frame == 2:  # "first red circle, then blue square"
        return "np", f"first {thing(pen, a)}, then {thing(pen, b)}{tail}", [a, b], []
    if frame == 3:  # "draw red circle and draw blue square"
        verb = pen.choice(["draw", "make"])
        return "do", f"{verb} {thing(pen, a)} and {verb} {thing(pen, b)}{tail}", [a, b], []
    glue = pen.choice([" and ", " and also "]) if not a["position"] else " and "
    return "np", f"{thing(pen, a)}{glue}{thing(pen, b)}{tail}", [a, b], []


def back(pen: sets.Pen, a: dict, b: dict) -> tuple[str, str]:
    """How the writer refers back to a and b: 'circle' and 'square' ('the' mostly dropped), or
    with their colors ('red circle', 'blue circle') where both are one shape."""
    the = pen.choice(["", "", "the "])
    if a["shape"] != b["shape"]:
        return f"{the}{pen.noun(a)}", f"{the}{pen.noun(b)}"
    return f"{the}{pen.color(a)} {pen.noun(a)}", f"{the}{pen.color(b)} {pen.noun(b)}"


def relation(pen: sets.Pen):
    counts = [(1, 1)] * 6 + [(2, 1), (1, 2)]
    a, b = sets.two_kinds(pen, counts, list(COLOR_WORDS), list(SHAPE_WORDS))
    for o in (a, b):
        o["size"] = sets.pick_size(pen, 0.25)
    rel = pen.choice(list(RELATION_WORDS))
    ab, ba = [sets.rel_of(0, rel, 1)], [sets.rel_of(1, rel, 0)]
    words = pen.choice(RELATION_WORDS[rel])
    frame = pen.randrange(5)
    if frame == 0:  # "red circle is left from blue square"
        return "says", f"{thing(pen, a)} {is_are(a)} {words} {thing(pen, b)}", [a, b], ab
    if frame == 1:  # "blue square and under it yellow star"
        its = pen.choice(ITS[rel][b["count"] > 1])
        return "np", f"{thing(pen, b)} and {its} {thing(pen, a)}", [b, a], ba
    if frame == 2:  # "blue square, left from it is red circle"
        its = pen.choice(ITS[rel][b["count"] > 1])
        return "np", f"{thing(pen, b)}, {its} {is_are(a)} {thing(pen, a)}", [b, a], ba
    if frame == 3:  # "red circle and blue square, circle is under square"
        ra, rb = back(pen, a, b)
        both = f"{thing(pen, a)} and {thing(pen, b)}"
        return "np", f"{both}{pen.choice([', ', '. '])}{ra} {is_are(a)} {words} {rb}", [a, b], ab
    return "np", f"{thing(pen, a)} {words} {thing(pen, b)}", [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}
BACKGROUND_SHARE = 0.35


def say(pen: sets.Pen, kind: str, text: str, background) -> str:
    """A whole request: a lead-in ("draw ", "picture: "), the background where one is asked
    (before or after the rest), an ending ("!!!", " pls") and mostly lowercase."""
    lead = pen.choice({"np": LEADS, "says": SAYS_LEADS, "do": DO_LEADS}[kind])
    out = lead + text
    if background:
        b = pen.choice(BACKGROUND_WORDS[background])
        if pen.random() < 0.3:  # a sentence keeps no lead after it: "on black background ..."
            out = pen.choice(BACKGROUND_BEFORE).format(b=b) + (out if kind == "np" else text)
        else:
            out += pen.choice(BACKGROUND_AFTER).format(b=b)
    out += pen.choice(ENDS)
    return out[0].upper() + out[1:] if pen.random() < 0.15 else out


def typo(text: str, rng) -> str:
    """Now and then one common word mistyped (every time it occurs in the prompt)."""
    words = [w for w in TYPOS if re.search(rf"\b{w}\b", text)]
    if not words or rng.random() >= TYPO_CHANCE:
        return text
    w = rng.choice(words)
    return re.sub(rf"\b{w}\b", TYPOS[w], text)


def said(maker):
    """`maker` as planned_set calls it: its text said as a whole request with the background, in
    the words of one Pen."""

    def draw(rng, background):
        pen = sets.Pen(rng, COLOR_WORDS, SHAPE_WORDS)
        kind, text, objects, relations = maker(pen)
        return say(pen, kind, text, background), objects, relations

    return draw


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; 35 % of each name a background; at most one in
    ten has a typo."""
    makers = {category: said(maker) for category, maker in MAKERS.items()}
    items = sets.planned_set(seed, n, makers, typo, list(BACKGROUND_WORDS), BACKGROUND_SHARE)
    mistyped = sum(
        any(re.search(rf"\b{t}\b", it["prompt"], re.I) for t in TYPOS.values()) for it in items
    )
    if mistyped > n // 10:
        raise RuntimeError(f"{mistyped} of {n} prompts have a typo; at most one in ten may")
    return items


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
