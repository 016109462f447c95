"""A tenth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written by a new outside writer after the ninth set, and committed before any model or the grammar
was run on it (issue #32; the judge has only seen rendered true scenes of it, in the tests): its word lists and sentence frames are this file's own,
written without reading genlab's grammar or lexicon. The writer is a designer who also teaches,
and writes layout instructions: imperative steps that build the picture ("Start with a navy box,
then add a hot pink star to its right", "Draw a big star and color it tangerine. Put it in the
upper-left corner", "Draw a tiny lemon yellow ball, then duplicate it until there are three"),
numbered steps ("1) a brick red ball 2) a navy box under it 3) make the background gray"),
descriptive sentences ("The star goes to the right of the box", "A plum purple kite shape sits
above a tomato red disk", "This layout has four navy boxes"), copies ("Draw three identical tiny
lemon yellow stars"), rule-of-thirds positions
("in the upper third of the canvas", "in a column down the left side"), American spelling and
color names from everyday objects and design talk ("brick red", "traffic-cone orange", "mustard
yellow", "forest green", "electric cyan", "navy", "lavender", "hot pink").

A word is used only where a careful reader maps it to exactly one of the world's facts, so some
words such a writer uses are left out: "teal" (between green, cyan and blue), "mint", "charcoal"
and "light gray" backgrounds, "medium-large" (between the two sizes), "wedge" (a triangle or a pie
slice), "a couple of" (two, or a few), "stacked on top of" and "over" (touching or overlapping),
"directly beneath" (the judge's "below" also takes a diagonal neighbour), "higher than" (any
height difference, where the judge's "above" wants the offset mostly vertical). Within a prompt a
color, size or shape is always said with one word (never "navy" and "royal blue", or "tiny" and
"small", as if they were two), and where only one of two objects has a position the other is said
to go elsewhere ("a star in the left third and a box anywhere else"). Copies ("identical",
"duplicate it", "just like it") are said only where the size is asked, so the copies' one size is
in the scene. A row or column of a group ("in a row across the top") is said only where the group's
position is that row or column. Every scene is checked with the judge's own rules to be drawable
(benchmarks/outsider_sets.layout_share).

Usage:
  python benchmarks/outsider10_prompts_make.py --seed 10010 --n 300   # -> outsider10_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider10_prompts.json"
SEED = 10010
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a tenth maker with the scene each asks for; made by "
    "benchmarks/outsider10_prompts_make.py --seed {seed} --n {n}"
)
_spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sets)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "brick red", "cherry red", "tomato red"],
    "orange": ["orange", "orange", "tangerine", "pumpkin orange", "traffic-cone orange"],
    "yellow": ["yellow", "yellow", "mustard yellow", "lemon yellow", "sunflower yellow"],
    "green": ["green", "green", "forest green", "grass green", "leaf green"],
    "cyan": ["cyan", "cyan", "bright cyan", "electric cyan"],
    "blue": ["blue", "blue", "navy", "navy blue", "royal blue"],
    "purple": ["purple", "purple", "lavender", "plum purple", "grape purple"],
    "pink": ["pink", "pink", "hot pink", "bubblegum pink", "blush pink"],
}
SHAPE_WORDS = {  # (singular, plural)
    "circle": [("circle", "circles"), ("circle", "circles"), ("ball", "balls"), ("disk", "disks")],
    "square": [("square", "squares"), ("square", "squares"), ("box", "boxes"),
               ("square tile", "square tiles")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("upright triangle", "upright triangles"),
                 ("triangular shape", "triangular shapes")],  # the world's triangles point up
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("kite shape", "kite shapes"),
                ("diamond shape", "diamond shapes")],  # taller than wide, as a kite
    "star": [("star", "stars"), ("star", "stars"), ("star shape", "star shapes"),
             ("five-point star", "five-point stars")],
}
SIZE_WORDS = {"small": ["small", "small", "tiny", "little"],
              "large": ["large", "big", "oversized", "extra-large"]}
NUMBERS = {2: ["two", "two", "2", "a pair of"], 3: ["three", "three", "3"],
           4: ["four", "four", "4"]}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
POSITION_WORDS = {  # one object: judge position -> phrases said after a noun or "put it"
    "top left": ["in the top-left corner", "in the upper-left corner",
                 "in the top-left corner of the canvas"],
    "top right": ["in the top-right corner", "in the upper-right corner",
                  "in the top-right corner of the canvas"],
    "bottom left": ["in the bottom-left corner", "in the lower-left corner",
                    "in the bottom-left corner of the canvas"],
    "bottom right": ["in the bottom-right corner", "in the lower-right corner",
                     "in the bottom-right corner of the canvas"],
    "center": ["in the center", "in the center of the canvas", "in the middle of the frame",
               "dead center"],
    "top": ["in the upper third of the canvas", "in the top third", "up at the top"],
    "bottom": ["in the lower third of the canvas", "in the bottom third", "down at the bottom"],
    "left": ["in the left third", "on the left side", "over on the left side of the canvas"],
    "right": ["in the right third", "on the right side", "over on the right side of the canvas"],
}
GROUP_POSITION_WORDS = {  # a group of 2-3 (pick_position gives them a row or a column)
    "top": ["in a row across the top", "along the top", "in the upper third of the canvas"],
    "bottom": ["in a row along the bottom", "along the bottom", "in the lower third of the canvas"],
    "left": ["in a column down the left side", "down the left side", "in the left third"],
    "right": ["in a column down the right side", "down the right side", "in the right third"],
}
BACKGROUND_WORDS = {"black": ["black", "solid black", "jet black"],
                    "gray": ["gray", "mid-gray", "neutral gray", "medium gray"],
                    "white": ["white", "plain white", "pure white"]}
BACKGROUND_BEFORE = ["On a {b} background, ", "On a {b} canvas, ", "Using a {b} background, "]
BACKGROUND_AFTER = [" Use a {b} background.", " Background: {b}.",
                    " Fill the background with {b}.", " Make the background {b}.",
                    " The background is {b}."]
BACKGROUND_STEPS = ["make the background {b}", "fill the background {b}", "{b} background"]
DRAW = ["Draw ", "Draw ", "Please draw ", "Sketch ", "Make ", "Lay out ", "Mock up ", "Show "]
BRIEFS = ["", "", "", "", "Quick layout: ", "Next exercise: ", "Here's the brief: ",
          "Layout request: ", "Okay, "]
ENDS = ["", "", "", " Keep the rest of the canvas empty.", " Nothing else on the canvas.",
        " Thanks!", " That's it.", " Keep it simple."]
LEAD_INS = DRAW + BRIEFS + ENDS  # words that ask for nothing in the picture (judge.filler_words)
RELATION_WORDS = {  # "A <words> B"
    "left of": ["to the left of", "off to the left of", "left of"],
    "right of": ["to the right of", "off to the right of", "right of"],
    "above": ["above", "up above"],
    "below": ["below", "under", "beneath", "underneath"],
}
ITS = {  # said after A, of a B said before: (B is one, B are several)
    "left of": (["to its left", "off to its left", "to the left of it"],
                ["to their left", "to the left of them"]),
    "right of": (["to its right", "off to its right", "to the right of it"],
                 ["to their right", "to the right of them"]),
    "above": (["above it", "up above it"], ["above them"]),
    "below": (["under it", "beneath it", "below it"], ["under them", "below them"]),
}
COLOR_IT = ["color it", "make it", "paint it"]
COLOR_THEM = ["color them", "make them", "paint them"]
HAS = ["This layout has", "The canvas holds"]
ELSEWHERE = [" anywhere else", " somewhere else", " wherever you like"]
# fmt: on


def size_word(pen: sets.Pen, o: dict) -> str:
    return pen.word(("size", o["size"]), SIZE_WORDS[o["size"]])


def size_(pen: sets.Pen, o: dict) -> str:
    """The size word and a space, or nothing where no size is asked."""
    return size_word(pen, o) + " " if o["size"] else ""


def where(pen: sets.Pen, o: dict) -> str:
    """The object's position phrase ('in the top-left corner', 'in a row across the top')."""
    words = POSITION_WORDS if o["count"] == 1 else GROUP_POSITION_WORDS
    return pen.choice(words[o["position"]])


def np(pen: sets.Pen, o: dict) -> str:
    """'[count] [size] color noun [position]'."""
    positions = POSITION_WORDS if o["count"] == 1 else GROUP_POSITION_WORDS
    body = f"{size_(pen, o)}{pen.color(o)} {pen.noun(o)}"
    return sets.counted(pen, body, o, True, NUMBERS, positions)


def a_(text: str) -> str:
    return f"{sets.article(text)} {text}"


def steps(pen: sets.Pen, parts: list[str]) -> str:
    """'1) a red ball 2) a navy box under it.' or 'Step 1: A red ball. Step 2: ...'."""
    if pen.random() < 0.5:
        return " ".join(f"Step {k}: {p[0].upper()}{p[1:]}." for k, p in enumerate(parts, 1))
    return " ".join(f"{k}) {p}" for k, p in enumerate(parts, 1)) + "."


# ---------------------------------------------------------------------------------- categories
# Each maker gives (kind, text, objects, relations). The kinds: "np" a noun phrase that gets a
# drawing verb; "do" an imperative sentence; "says" a descriptive sentence; "steps" a list of
# numbered steps (text is the list).


def single(pen: sets.Pen):
    o = pen.new_obj(1, 0.45, 0.45)
    frame = pen.randrange(7)
    if frame == 0 and o["position"]:  # "Put a navy box in the top-left corner"
        return "do", f"{pen.choice(['Put', 'Place'])} {np(pen, o)}", [o], []
    if frame == 1:  # "Draw a big star and color it tangerine. Put it in the center."
        text = f"Draw {a_(size_(pen, o) + pen.noun(o))} and {pen.choice(COLOR_IT)} {pen.color(o)}"
        if o["position"]:
            text += f". Put it {where(pen, o)}"
        return "do", text, [o], []
    if frame == 2 and (o["size"] or o["position"]):  # "Draw a red ball. Make it tiny. ..."
        text = f"Draw {a_(pen.color(o) + ' ' + pen.noun(o))}"
        if o["size"]:
            text += f". Make it {size_word(pen, o)}"
        if o["position"]:
            text += f". Put it {where(pen, o)}"
        return "do", text, [o], []
    if frame == 3 and (o["size"] or o["position"]):  # "1) draw a red ball 2) make it tiny"
        parts = [f"draw {a_(pen.color(o) + ' ' + pen.noun(o))}"]
        if o["size"]:
            parts.append(f"make it {size_word(pen, o)}")
        if o["position"]:
            parts.append(f"put it {where(pen, o)}")
        return "steps", parts, [o], []
    if frame == 4:  # "just one red ball"
        one = pen.choice(["just one", "a single", "only one"])
        text = f"{one} {size_(pen, o)}{pen.color(o)} {pen.noun(o)}"
        return "np", text + (f" {where(pen, o)}" if o["position"] else ""), [o], []
    if frame == 5:  # "This layout has a red ball in the center"
        return "says", f"{pen.choice(HAS)} {np(pen, o)}", [o], []
    return "np", np(pen, o), [o], []


def count(pen: sets.Pen):
    n = pen.choice([2, 3, 4])
    o = pen.new_obj(n, 0.35, 0.25 if n < 4 else 0.0)
    frame = pen.randrange(7)
    every = "both" if n == 2 else "all"
    keep = f". Keep them {every} {where(pen, o)}" if o["position"] else ""
    if frame == 0 and o["size"]:  # copies: "Draw a tiny red ball, then duplicate it until ..."
        first = f"{size_(pen, o)}{pen.color(o)} {pen.noun(o, plural=False)}"
        copy = pen.choice(
            [f", then duplicate it until there are {pen.choice(NUMBERS[n][:3])}",
             f", then duplicate it so there are {NUMBER_WORDS[n]} in total",
             f" and add {NUMBER_WORDS[n - 1]} more just like it"]
        )  # fmt: skip
        return "do", f"Draw {a_(first)}{copy}{keep}", [o], []
    if frame == 1 and o["size"]:  # "three identical tiny red balls"
        text = f"{pen.choice(NUMBERS[n])} identical {size_(pen, o)}{pen.color(o)} {pen.noun(o)}"
        return "np", text + (f" {where(pen, o)}" if o["position"] else ""), [o], []
    if frame == 2:  # "Draw three big stars and color them all navy"
        text = f"Draw {pen.choice(NUMBERS[n])} {size_(pen, o)}{pen.noun(o)}"
        return "do", f"{text} and {pen.choice(COLOR_THEM)} {every} {pen.color(o)}{keep}", [o], []
    if frame == 3 and o["size"]:  # "1) draw a tiny red ball 2) duplicate it until there are 3"
        first = f"{size_(pen, o)}{pen.color(o)} {pen.noun(o, plural=False)}"
        parts = [f"draw {a_(first)}", f"duplicate it until there are {pen.choice(NUMBERS[n][:3])}"]
        if o["position"]:
            parts.append(f"put them {every} {where(pen, o)}")
        return "steps", parts, [o], []
    if frame == 4:  # "This layout has four navy boxes"
        return "says", f"{pen.choice(HAS)} {np(pen, o)}", [o], []
    if frame == 5:  # "exactly four red balls"
        text = f"exactly {pen.choice(NUMBERS[n][:3])} {size_(pen, o)}{pen.color(o)} {pen.noun(o)}"
        return "np", text + (f" {where(pen, o)}" if o["position"] else ""), [o], []
    return "np", np(pen, o), [o], []


def two_objects(pen: sets.Pen):
    a, b = sets.two_objects_pair(pen, list(COLOR_WORDS), list(SHAPE_WORDS))
    frame = pen.randrange(6)
    if frame == 0:  # "Start with a red ball, then add a navy box"
        return "do", f"Start with {np(pen, a)}, then add {np(pen, b)}", [a, b], []
    if frame == 1:  # "1) a red ball 2) a navy box"
        first, then = pen.choice([("", ""), ("draw ", "add ")])
        return "steps", [first + np(pen, a), then + np(pen, b)], [a, b], []
    if frame == 3:  # "Draw a red ball. Then add a navy box somewhere else."
        tail = "" if b["position"] else pen.choice(ELSEWHERE)
        return "do", f"Draw {np(pen, a)}. Then add {np(pen, b)}{tail}", [a, b], []
    # "A and B": a position said last could be read as both objects' ("a star and a box in the
    # left third"), so an object with a position is said first when the other has none, and the
    # other is then said to go elsewhere ("and a box anywhere else")
    if b["position"] and not a["position"]:
        a, b = b, a
    one_placed = bool(a["position"]) != bool(b["position"])
    glue = " and " if a["position"] or b["position"] else pen.choice([" and ", " together with "])
    both = f"{np(pen, a)}{glue}{np(pen, b)}" + (pen.choice(ELSEWHERE) if one_placed else "")
    if frame == 2:  # "Put a red ball and a navy box on the canvas"
        tail = "" if a["position"] else " on the canvas"
        return "do", f"{pen.choice(['Put', 'Place'])} {both}{tail}", [a, b], []
    if frame == 4:  # "This layout has a red ball and a navy box"
        return "says", f"{pen.choice(HAS)} {both}", [a, b], []
    return "np", both, [a, b], []


def the(pen: sets.Pen, a: dict, b: dict) -> tuple[str, str]:
    """How the writer refers back to a and b: 'the star' and 'the box', or with their color words
    ('the brick red ball', 'the navy ball') where both are one shape."""
    if a["shape"] != b["shape"]:
        return f"the {pen.noun(a)}", f"the {pen.noun(b)}"
    return f"the {pen.color(a)} {pen.noun(a)}", f"the {pen.color(b)} {pen.noun(b)}"


def relation(pen: sets.Pen):
    counts = [(1, 1)] * 6 + [(2, 1), (1, 2)]
    a, b = sets.two_kinds(pen, counts, list(COLOR_WORDS), list(SHAPE_WORDS))
    for o in (a, b):
        o["size"] = sets.pick_size(pen, 0.25)
    rel = pen.choice(list(RELATION_WORDS))
    ab, ba = [sets.rel_of(0, rel, 1)], [sets.rel_of(1, rel, 0)]
    several = a["count"] > 1
    its = pen.choice(ITS[rel][b["count"] > 1])
    words = pen.choice(RELATION_WORDS[rel])
    frame = pen.randrange(6)
    if frame == 0:  # "Start with a navy box, then add a red star to its right"
        return "do", f"Start with {np(pen, b)}, then add {np(pen, a)} {its}", [b, a], ba
    if frame == 1:  # "1) a navy box 2) a red star to its right"
        first, then = pen.choice([("", ""), ("draw ", "add "), ("draw ", "put ")])
        return "steps", [first + np(pen, b), f"{then}{np(pen, a)} {its}"], [b, a], ba
    if frame == 2:  # "Draw a red star and a navy box. The star goes to the right of the box."
        both = f"Draw {np(pen, a)} and {np(pen, b)}"
        ra, rb = the(pen, a, b)
        goes = "go" if several else "goes"
        return "do", f"{both}. {ra[0].upper()}{ra[1:]} {goes} {words} {rb}", [a, b], ab
    if frame == 3:  # "Put a red star off to the left of a navy box"
        return "do", f"{pen.choice(['Put', 'Place'])} {np(pen, a)} {words} {np(pen, b)}", [a, b], ab
    if frame == 4:  # "A red star sits above a navy box"
        sits = "sit" if several else "sits"
        return "says", f"{np(pen, a)} {sits} {words} {np(pen, b)}", [a, b], ab
    return "np", f"{np(pen, a)} {words} {np(pen, b)}", [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}
BACKGROUND_SHARE = 0.35


def say(pen: sets.Pen, kind: str, text, background) -> str:
    """A whole request: `text` said as its kind is (a noun phrase gets a drawing verb, steps are
    numbered), the background where one is asked (before an instruction, after any text, or as a
    last step), an opening ("Quick layout: ") and an ending ("Nothing else on the canvas.") now
    and then."""
    bg = pen.choice(BACKGROUND_WORDS[background]) if background else None
    if kind == "steps":
        out = steps(pen, [*text, pen.choice(BACKGROUND_STEPS).format(b=bg)] if bg else text)
    else:
        if kind == "np":
            text = pen.choice(DRAW) + text
        out = text[0].upper() + text[1:] + "."
        if bg and kind != "says" and pen.random() < 0.4:  # "On a white canvas, draw ..."
            out = pen.choice(BACKGROUND_BEFORE).format(b=bg) + out[0].lower() + out[1:]
        elif bg:
            out += pen.choice(BACKGROUND_AFTER).format(b=bg)
    brief = pen.choice(BRIEFS)
    if brief.endswith(", "):  # "Okay, draw ..."
        out = out[0].lower() + out[1:]
    out = brief + out
    return out[0].upper() + out[1:] + pen.choice(ENDS)


def said(maker):
    """`maker` as planned_set calls it: its text said as a whole request with the background, in
    the words of one Pen."""

    def draw(rng, background):
        pen = sets.Pen(rng, COLOR_WORDS, SHAPE_WORDS)
        kind, text, objects, relations = maker(pen)
        return say(pen, kind, text, background), objects, relations

    return draw


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; 35 % of each name a background."""
    makers = {category: said(maker) for category, maker in MAKERS.items()}
    backgrounds = list(BACKGROUND_WORDS)
    return sets.planned_set(seed, n, makers, lambda text, rng: text, backgrounds, BACKGROUND_SHARE)


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
