"""A ninth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written by a new outside writer after the seventh set had been measured and tuned on, and committed
before any model or the grammar was run on it (issue #32): its word lists and sentence frames are
this file's own, written without reading genlab's grammar or lexicon. The writer is chatty: long
requests with hedges and lead-ins ("So, I'm thinking", "no background stuff, just"), corrections
that the scene follows ("a red star. Actually, make it blue", "three of them, actually let's
make that four", "to the left of it, no wait, to the right of it"), asides in parentheses and
quotes ("(like the ones on playing cards)"), passive voice ("the star should be positioned beneath
the square"), relative clauses ("a blue square, underneath which is a red star", "a red star that
sits atop a blue square", "with a red star just to its left"), comparative relations ("with the
star a bit higher up than the square"), and color words of its own ("lipstick red", "highlighter
yellow", "Barney purple"). A correction always names what replaces what, so a careful reader
knows the one scene meant; that scene is written here, and a word is used only where it clearly
names one of the world's facts. Every scene is checked with the judge's own rules to be drawable
(benchmarks/outsider_sets.layout_share).

Usage:
  python benchmarks/outsider9_prompts_make.py --seed 9909 --n 300   # -> outsider9_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider9_prompts.json"
SEED = 9909
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of a ninth maker with the scene each asks for; made by "
    "benchmarks/outsider9_prompts_make.py --seed {seed} --n {n}"
)
_spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sets)

# fmt: off
COLOR_WORDS = {
    "red": ["red", "red", "lipstick red", "candy-apple red", "bright red"],
    "orange": ["orange", "orange", "basketball orange", "goldfish orange", "bright orange"],
    "yellow": ["yellow", "yellow", "highlighter yellow", "rubber-duck yellow", "taxi-cab yellow"],
    "green": ["green", "green", "frog green", "traffic-light green", "bright green"],
    "cyan": ["cyan", "cyan", "turquoise", "aqua", "light turquoise"],
    "blue": ["blue", "blue", "crayon blue", "bright blue", "ballpoint-pen blue"],
    "purple": ["purple", "purple", "Barney purple", "violet", "grape-soda purple"],
    "pink": ["pink", "pink", "bright pink", "pastel pink", "strawberry-milk pink"],
}
SHAPE_WORDS = {  # (singular, plural)
    "circle": [("circle", "circles"), ("circle", "circles"), ("plain circle", "plain circles"),
               ("circle shape", "circle shapes")],
    "square": [("square", "squares"), ("square", "squares"), ("square shape", "square shapes"),
               ("perfect square", "perfect squares")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("triangle shape", "triangle shapes"),
                 ("three-cornered shape", "three-cornered shapes")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"),
                ("diamond shape", "diamond shapes"), ("rhombus", "rhombuses")],
    "star": [("star", "stars"), ("star", "stars"), ("star shape", "star shapes"),
             ("five-pointed star", "five-pointed stars")],
}
ASIDES = {  # said after a shape noun, (singular, plural)
    "circle": ("(like a coin)", "(like coins)"),
    "square": ("(all four sides the same length)", "(all four sides the same length)"),
    "triangle": ("(just a plain triangle, nothing fancy)", "(just plain triangles)"),
    "diamond": ("(like the ones on playing cards)", "(like the ones on playing cards)"),
    "star": ("(a regular star, nothing fancy)", "(regular stars, nothing fancy)"),
}
SIZE_WORDS = {"small": ["small", "small", "little", "fairly small", "pretty small"],
              "large": ["large", "large", "big", "pretty big", "fairly large"]}
NUMBERS = {2: ["two", "two", "2"], 3: ["three", "three", "3"], 4: ["four", "four", "4"]}
POSITION_WORDS = {  # judge position -> phrases
    "top left": ["up in the top left-hand corner", "tucked into the top-left corner",
                 "in the upper left corner of the picture"],
    "top right": ["up in the top right-hand corner", "tucked into the top-right corner",
                  "in the upper right corner of the picture"],
    "bottom left": ["down in the bottom left-hand corner", "tucked into the bottom-left corner",
                    "in the lower left corner of the picture"],
    "bottom right": ["down in the bottom right-hand corner", "tucked into the bottom-right corner",
                     "in the lower right corner of the picture"],
    "center": ["right in the middle of the picture", "in the exact center",
               "dead in the middle of the image"],
    "top": ["somewhere along the top of the picture", "up along the top edge",
            "near the top of the image (left, middle or right, I don't mind)"],
    "bottom": ["somewhere along the bottom of the picture", "down along the bottom edge",
               "near the bottom of the image (left, middle or right, I don't mind)"],
    "left": ["somewhere on the left side of the picture", "over on the left-hand side of the image",
             "along the left edge (any height is fine)"],
    "right": ["somewhere on the right side of the picture",
              "over on the right-hand side of the image",
              "along the right edge (any height is fine)"],
}
BACKGROUND_WORDS = {"black": ["black", "plain black", "solid black"],
                    "gray": ["gray", "plain gray", "medium gray"],
                    "white": ["white", "plain white", "clean white"]}
BACKGROUND_FRAMES = [". For the background, let's go with {b}", " (on a {b} background, please)",
                     ", and the background should be {b}", ". Oh, and make the background {b}",
                     ". The background itself should be {b}"]
NO_BACKGROUND_LEAD = "no background stuff, just "
LEADS = ["", "", "So, I'm thinking ", "Hi there! Could you make me ", "Okay, so what I'd like is ",
         "Hmm, let me think... I'd like ", "I was hoping you could draw ",
         "For a little project I'm working on, I need ", "Could you possibly draw ",
         "I'm not sure how best to phrase this, but I want ", NO_BACKGROUND_LEAD]
ENDS = ["", ".", ". Thanks so much!", ", if that's not too much trouble.",
        ". Nothing else in the picture, please.", " (thank you!)", ". I hope that makes sense!",
        ". That's all I need."]
LEAD_INS = LEADS + ENDS  # words that ask for nothing in the picture (outsider_judge.filler_words)
PASSIVE = {  # "the A should be <placed> <words> the B"
    "left of": ["to the left of", "on the left side of"],
    "right of": ["to the right of", "on the right side of"],
    "above": ["above", "higher up than"],
    "below": ["beneath", "below", "underneath"],
}
PLACED = ["positioned", "placed", "put", "drawn"]
ITS = {  # "B, with A <words>": A <relation> B
    "left of": ["just to its left", "off to its left"],
    "right of": ["just to its right", "off to its right"],
    "above": ["just above it", "sitting above it"],
    "below": ["just below it", "sitting underneath it"],
}
SITS = {"left of": "to the left of", "right of": "to the right of", "above": "atop",
        "below": "underneath"}
WHICH = {"left of": "to the left of which", "right of": "to the right of which",
         "above": "above which", "below": "underneath which"}
COMPARE = {"left of": "a bit further left than", "right of": "a bit further right than",
           "above": "a bit higher up than", "below": "a bit lower down than"}
FIX_IT = [". Actually, make it {c}", " (actually, make it {c})", ", no wait, {c}, not {x}"]
FIX_COUNT = [". Actually, let's make that {n}", " (no wait, {n} of them, not {x})",
             ", actually, make it {n}"]
FIX_COLOR = [" (actually, make the {n} {c})", ". Actually, could you make the {n} {c} instead"]
IT_WORDS = {"left of": "to the left of it", "right of": "to the right of it",
            "above": "above it", "below": "below it"}
# fmt: on


def new_obj(rng, count: int, size_chance: float, pos_chance: float) -> dict:
    color, shape = rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS))
    size = sets.pick_size(rng, size_chance)
    return sets.obj(color, shape, count, size, sets.pick_position(rng, count, pos_chance))


def noun(rng, o: dict, plural: bool | None = None) -> str:
    plural = o["count"] > 1 if plural is None else plural
    return rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]


def color(rng, o: dict) -> str:
    return rng.choice(COLOR_WORDS[o["color"]])


def body(rng, o: dict, aside: bool = False, hue: str | None = None) -> str:
    """'[size] color noun [aside]' without a count or position."""
    size = rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""
    text = f"{size}{hue or color(rng, o)} {noun(rng, o)}"
    if aside:
        text += " " + ASIDES[o["shape"]][o["count"] > 1]
    return text


def np(rng, o: dict, with_count: bool = True, aside: bool = False, hue: str | None = None) -> str:
    """Noun phrase: '[count] [size] color noun [aside] [position]'."""
    return sets.counted(rng, body(rng, o, aside, hue), o, with_count, NUMBERS, POSITION_WORDS)


def ref(a: dict, b: dict, hues: list[str]) -> tuple[str, str]:
    """How the chatty writer refers back to a and b: 'the star' and 'the square', or by the
    color words it used for them ('the lipstick red one') where both have one shape (plural where
    there are several)."""
    out = []
    for o, hue in zip((a, b), hues):
        plural = o["count"] > 1
        if a["shape"] != b["shape"]:
            out.append(f"the {o['shape']}{'s' if plural else ''}")
        else:
            out.append(f"the {hue} {'ones' if plural else 'one'}")
    return out[0], out[1]


def a_body(rng, o: dict, aside: bool = False) -> str:
    """'a [size] color noun [aside]': one object without its position."""
    text = body(rng, o, aside)
    return f"{sets.article(text)} {text}"


def other_color(rng, o: dict) -> str:
    return rng.choice([c for c in COLOR_WORDS if c != o["color"]])


def single(rng):
    o = new_obj(rng, 1, 0.45, 0.45)
    frame = rng.randrange(7)
    if frame == 0:  # a color correction: the scene has the second color
        wrong = dict(o, color=other_color(rng, o))
        fix = rng.choice(FIX_IT).format(c=color(rng, o), x=wrong["color"])
        return np(rng, wrong) + fix, [o], []
    if frame == 1:  # a shape correction
        wrong = rng.choice([s for s in SHAPE_WORDS if s != o["shape"]])
        return (
            f"{np(rng, dict(o, shape=wrong))} (sorry, I meant a {o['shape']}, not a {wrong})",
            [o],
            [],
        )
    if frame == 2 and o["size"]:  # a size correction
        wrong = dict(o, size="small" if o["size"] == "large" else "large")
        return f"{np(rng, wrong)}. Actually, make it a {o['size']} one", [o], []
    if frame == 3 and o["position"]:  # "a red star, which should be positioned in the middle"
        where = rng.choice(POSITION_WORDS[o["position"]])
        return f"{a_body(rng, o)}, which should be {rng.choice(PLACED)} {where}", [o], []
    if frame == 4:
        return f"just one {np(rng, o, False)} and nothing else", [o], []
    return np(rng, o, aside=frame == 5), [o], []


def count(rng):
    n = rng.choice([2, 3, 4])
    o = new_obj(rng, n, 0.3, 0.25 if n < 4 else 0.0)
    words = rng.choice(NUMBERS[n])
    frame = rng.randrange(7)
    if frame == 0:  # a count correction: the scene has the second count
        wrong = dict(o, count=rng.choice([k for k in (2, 3, 4) if k != n]))
        fix = rng.choice(FIX_COUNT).format(n=NUMBERS[n][0], x=NUMBERS[wrong["count"]][0])
        return np(rng, wrong) + fix, [o], []
    if frame == 1:
        return f"a group of {words} {np(rng, o, False)}", [o], []
    if frame == 2:  # "some red stars, four of them to be exact"
        tail = rng.choice(["{w} of them to be exact", "{w} in total", "exactly {w} of them"])
        text = f"some {body(rng, o)}, {tail.format(w=NUMBERS[n][0])}"
        if o["position"]:
            text += f", all of them {rng.choice(POSITION_WORDS[o['position']])}"
        return text, [o], []
    if frame == 3:  # "three stars (all of them red)", "two stars (both of them red)"
        every = "both" if n == 2 else "all"
        size = f", {every} {rng.choice(SIZE_WORDS[o['size']])}" if o["size"] else ""
        text = f"{words} {noun(rng, o)} ({every} of them {color(rng, o)}{size})"
        if o["position"]:
            text += f" {rng.choice(POSITION_WORDS[o['position']])}"
        return text, [o], []
    if frame == 4:
        return f"{np(rng, o)} (yes, {NUMBERS[n][0]})", [o], []
    return np(rng, o, aside=frame == 5), [o], []


def two_objects(rng):
    a, b = sets.two_objects_pair(rng, list(COLOR_WORDS), list(SHAPE_WORDS))
    side = set(sets.JUDGE.POSITIONS) - sets.ONE_CELL
    if a["position"] in side and b["position"] in side:  # two sides could be read as a relation
        b["position"] = None
    frame = rng.randrange(6)
    if frame == 0 and a["shape"] != b["shape"]:  # a color correction of the second object
        wrong = dict(b, color=other_color(rng, b))  # the shapes differ: "the star" names b
        b_noun = b["shape"] + ("s" if b["count"] > 1 else "")
        fix = rng.choice(FIX_COLOR).format(n=b_noun, c=color(rng, b))
        return f"{np(rng, a)} and {np(rng, wrong)}{fix}", [a, b], []
    if frame == 1:  # "three shapes in total: ..."
        total = NUMBERS[a["count"] + b["count"]][0]
        head = rng.choice(["{t} shapes in total: ", "{t} things, please: ", "{t} objects, namely "])
        return head.format(t=total) + f"{np(rng, a)} and {np(rng, b)}", [a, b], []
    if frame == 2 and not b["position"]:
        return f"{np(rng, a)}, and also {np(rng, b)} somewhere", [a, b], []
    if frame == 3:
        return f"{np(rng, a)}. Oh, and {np(rng, b)} too", [a, b], []
    glue = rng.choice([" and ", " and ", " along with ", ", plus "])
    return f"{np(rng, a)}{glue}{np(rng, b)}", [a, b], []


def relation(rng):
    counts = [(1, 1)] * 6 + [(2, 1), (1, 2)]
    a, b = sets.two_kinds(rng, counts, list(COLOR_WORDS), list(SHAPE_WORDS))
    for o in (a, b):
        o["size"] = sets.pick_size(rng, 0.25)
    rel = rng.choice(list(PASSIVE))
    ab, ba = [sets.rel_of(0, rel, 1)], [sets.rel_of(1, rel, 0)]
    plural = a["count"] > 1
    frame = rng.randrange(7)
    if frame == 0:  # "A and B, where the A should be positioned beneath the B"
        hues = [color(rng, a), color(rng, b)]
        ra, rb = ref(a, b, hues)
        both = f"{np(rng, a, hue=hues[0])} and {np(rng, b, hue=hues[1])}"
        placed = f"{rng.choice(PLACED)} {rng.choice(PASSIVE[rel])}"
        return f"{both}, where {ra} should be {placed} {rb}", [a, b], ab
    if frame == 1 and b["count"] == 1:  # "B, with A just to its left"
        return f"{np(rng, b)}, with {np(rng, a)} {rng.choice(ITS[rel])}", [b, a], ba
    if frame == 2:  # "A that sits atop B"
        sits = "sit" if plural else "sits"
        return f"{np(rng, a)} that {sits} {SITS[rel]} {np(rng, b)}", [a, b], ab
    if frame == 3:  # "B, underneath which is A"
        is_ = "are" if plural else "is"
        return f"{np(rng, b)}, {WHICH[rel]} {is_} {np(rng, a)}", [b, a], ba
    if frame == 4 and b["count"] == 1:  # a relation correction: "A left of B, no wait, ..."
        wrong = IT_WORDS[rng.choice([r for r in PASSIVE if r != rel])].removesuffix(" it")
        fix = f", no wait, sorry, I mean {IT_WORDS[rel]}"
        return f"{np(rng, a)} {wrong} {np(rng, b)}{fix}", [a, b], ab
    if frame == 5:  # "A and B, with the A a bit higher up than the B"
        hues = [color(rng, a), color(rng, b)]
        ra, rb = ref(a, b, hues)
        both = f"{np(rng, a, hue=hues[0])} and {np(rng, b, hue=hues[1])}"
        return f"{both}, with {ra} {COMPARE[rel]} {rb}", [a, b], ab
    verb = rng.choice(["should be", "needs to be" if not plural else "need to be"])  # passive
    words = f"{rng.choice(PLACED)} {rng.choice(PASSIVE[rel])}"
    return f"{np(rng, a)}, which {verb} {words} {np(rng, b)}", [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}
BACKGROUND_SHARE = 0.35


def say(rng, text: str, background) -> str:
    """A whole request: a lead-in, `text`, the background where one is asked (never after "no
    background stuff, just", nor before a "just" of its own), and an ending."""
    just = background or text.startswith("just ")
    lead = rng.choice([x for x in LEADS if x != NO_BACKGROUND_LEAD] if just else LEADS)
    if background:
        text += rng.choice(BACKGROUND_FRAMES).format(b=rng.choice(BACKGROUND_WORDS[background]))
    end = rng.choice(ENDS)
    if text.endswith(")") and end.startswith(" ("):
        end = "."
    out = lead + text + end
    return out[0].upper() + out[1:]


def said(maker):
    """`maker` as planned_set calls it: its text said as a whole request with the background."""

    def draw(rng, background):
        text, objects, relations = maker(rng)
        return say(rng, text, background), objects, relations

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
