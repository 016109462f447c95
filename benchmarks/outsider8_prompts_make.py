"""An eighth set of free-form prompts for the built-in world, each with the exact scene it asks for,
in the format of benchmarks/outsider_prompts.json (read by benchmarks/outsider_judge.py).

Written by a new outside writer after the seventh set had been measured and tuned on, and committed
before any model or the grammar was run on it (issue #32): its word lists and sentence frames are
this file's own, written without reading genlab's grammar or lexicon. The writer is terse and
British: field lists ("shape: star / colour: red / pos: top-left"), shopping-list counts
("2 x red disc", "red discs (x3)", "qty 4"), "a pair of", "a trio of", attributes after the noun
("star, red, large"), one kind said once for two objects ("2 stars: one red, one blue", "2 red
shapes: star + disc"), spatial sequences for relations ("side by side: A on the left, B on the
right", "top to bottom: A, B", "one above the other: A (upper), B (lower)"), British color words
("pillar-box red", "custard yellow", "racing green", "aubergine-purple", "candyfloss pink") and
"grey" backgrounds. The expected scenes are written here; a word is used only where it clearly
names one of the world's facts, and every scene is checked with the judge's own rules to be
drawable (benchmarks/outsider_sets.layout_share).

Usage:
  python benchmarks/outsider8_prompts_make.py --seed 8808 --n 300   # -> outsider8_prompts.json
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider8_prompts.json"
SEED = 8808
DESCRIPTION = (  # of the json; formatted with the seed and n used
    "Free-form prompts of an eighth maker with the scene each asks for; made by "
    "benchmarks/outsider8_prompts_make.py --seed {seed} --n {n}"
)
_spec = importlib.util.spec_from_file_location("outsider_sets", HERE / "outsider_sets.py")
sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sets)

# fmt: off
COLOUR_WORDS = {
    "red": ["red", "red", "pillar-box red", "post-box red", "London-bus red", "strawberry red"],
    "orange": ["orange", "orange", "satsuma orange", "jaffa orange", "hi-vis orange",
               "Tango orange"],
    "yellow": ["yellow", "yellow", "custard yellow", "buttercup yellow", "primrose yellow",
               "hi-vis yellow"],
    "green": ["green", "green", "racing green", "pea-green", "moss green", "holly green"],
    "cyan": ["cyan", "cyan", "turquoise", "aqua", "bright turquoise"],
    "blue": ["blue", "blue", "Oxford blue", "primary blue", "cobalt-blue", "bold blue"],
    "purple": ["purple", "purple", "aubergine-purple", "Cadbury purple", "violet", "deep violet"],
    "pink": ["pink", "pink", "Barbie pink", "candyfloss pink", "blossom pink", "sugar pink"],
}
SHAPE_WORDS = {  # (singular, plural)
    "circle": [("circle", "circles"), ("circle", "circles"), ("disc", "discs"), ("spot", "spots"),
               ("filled circle", "filled circles")],
    "square": [("square", "squares"), ("square", "squares"), ("solid square", "solid squares"),
               ("block", "blocks"), ("square shape", "square shapes")],
    "triangle": [("triangle", "triangles"), ("triangle", "triangles"),
                 ("solid triangle", "solid triangles"), ("triangle shape", "triangle shapes")],
    "diamond": [("diamond", "diamonds"), ("diamond", "diamonds"), ("lozenge", "lozenges"),
                ("rhombus", "rhombuses"), ("solid diamond", "solid diamonds")],
    "star": [("star", "stars"), ("star", "stars"), ("five-point star", "five-point stars"),
             ("five-pointed star", "five-pointed stars"), ("star shape", "star shapes")],
}
SIZE_WORDS = {"small": ["small", "small", "little", "tiny", "titchy"],
              "large": ["large", "large", "big", "XL", "great big"]}
NUMBERS = {2: ["2", "two", "a pair of"], 3: ["3", "three", "a trio of"], 4: ["4", "four"]}
POSITION_WORDS = {  # judge position -> phrases said after a comma, in brackets or after "pos:"
    "top left": ["top-left", "top left corner", "upper left", "top-left corner"],
    "top right": ["top-right", "top right corner", "upper right", "top-right corner"],
    "bottom left": ["bottom-left", "bottom left corner", "lower left", "bottom-left corner"],
    "bottom right": ["bottom-right", "bottom right corner", "lower right", "bottom-right corner"],
    "center": ["centre", "dead centre", "centre of frame", "middle of frame"],
    "top": ["top third", "top third of frame", "along the top", "top edge of frame"],
    "bottom": ["bottom third", "bottom third of frame", "along the bottom",
               "bottom edge of frame"],
    "left": ["left third", "left third of frame", "left-hand side of frame", "left edge of frame"],
    "right": ["right third", "right third of frame", "right-hand side of frame",
              "right edge of frame"],
}
BACKGROUND_WORDS = {"black": ["black", "black", "jet black", "matt black"],
                    "gray": ["grey", "grey", "mid-grey", "slate grey"],
                    "white": ["white", "white", "brilliant white", "plain white"]}
BACKGROUND_FRAMES = [" | bg: {b}", " // {b} background", ", on {b}", "; backdrop {b}",
                     " - {b} background"]
FIELD_SEPARATORS = [" / ", "; ", " | "]
LEADS = ["", "", "", "", "img: ", "draw: ", "need: ", "pic: ", "render: ", "spec: ",
         "request - ", "to draw: "]
LEAD_INS = LEADS  # the judge reads a maker's lead-ins by this name (outsider_judge.filler_words)
ENDS = ["", "", "", ".", " (nothing else)", ", nothing else in frame", ". cheers", " - ta"]
RELATIONS = {  # "A <words> B", no articles
    "left of": ["left of", "to the left of", "on the left of"],
    "right of": ["right of", "to the right of", "on the right of"],
    "above": ["above", "higher up than", "further up than"],
    "below": ["below", "beneath", "lower down than"],
}
OF_IT = {"left of": "left of it", "right of": "right of it", "above": "above it",
         "below": "below it"}
# fmt: on


def new_obj(rng, count: int, size_chance: float, pos_chance: float) -> dict:
    color, shape = rng.choice(list(COLOUR_WORDS)), rng.choice(list(SHAPE_WORDS))
    size = sets.pick_size(rng, size_chance)
    return sets.obj(color, shape, count, size, sets.pick_position(rng, count, pos_chance))


def noun(rng, o: dict, plural: bool | None = None) -> str:
    plural = o["count"] > 1 if plural is None else plural
    return rng.choice(SHAPE_WORDS[o["shape"]])[1 if plural else 0]


def colour(rng, o: dict) -> str:
    return rng.choice(COLOUR_WORDS[o["color"]])


def size_(rng, o: dict) -> str:
    """The size word and a space, or nothing where no size is asked."""
    return rng.choice(SIZE_WORDS[o["size"]]) + " " if o["size"] else ""


def pos(rng, o: dict, style: str = "comma") -> str:
    """The position after a noun: ', top-left' or ' (top-left)'; nothing where none is asked."""
    if not o["position"]:
        return ""
    words = rng.choice(POSITION_WORDS[o["position"]])
    return f", {words}" if style == "comma" else f" ({words})"


def body(rng, o: dict, plural: bool | None = None) -> str:
    """'[size] colour noun' without a count."""
    return f"{size_(rng, o)}{colour(rng, o)} {noun(rng, o, plural)}"


def article(text: str) -> str:
    return ("an" if text.startswith("XL") else sets.article(text)) + " " + text


def counted(rng, o: dict, style: str = "comma") -> str:
    """The object with its count said the terse way: 'red disc', '2 red discs', '2 x red disc',
    'a pair of red discs', with its position after it."""
    n = o["count"]
    frame = rng.randrange(4)
    if n == 1:
        text = (
            body(rng, o)
            if frame < 2
            else f"1 x {body(rng, o)}"
            if frame == 2
            else article(body(rng, o))
        )
    elif frame == 0:
        text = f"{n} x {body(rng, o, plural=False)}"
    else:
        text = f"{rng.choice(NUMBERS[n])} {body(rng, o)}"
    return text + pos(rng, o, style)


def fields(rng, o: dict, with_count: bool) -> list[str]:
    """The object as 'name: value' fields."""
    out = [f"shape: {noun(rng, o, plural=False)}"]
    if with_count:
        out.append(f"{rng.choice(['count', 'qty', 'number'])}: {o['count']}")
    out.append(f"colour: {colour(rng, o)}")
    if o["size"]:
        out.append(f"size: {rng.choice(SIZE_WORDS[o['size']])}")
    if o["position"]:
        name = rng.choice(["pos", "position", "where"])
        out.append(f"{name}: {rng.choice(POSITION_WORDS[o['position']])}")
    return out


def with_background(rng, text: str, background, field_list: str | None = None) -> str:
    """`text` with the background said after it; a field list (its separator given) gets a
    'bg: grey' field."""
    if not background:
        return text
    b = rng.choice(BACKGROUND_WORDS[background])
    if field_list:
        return f"{text}{field_list}{rng.choice(['bg', 'background', 'backdrop'])}: {b}"
    return text + rng.choice(BACKGROUND_FRAMES).format(b=b)


def single(rng, background):
    o = new_obj(rng, 1, 0.5, 0.5)
    frame = rng.randrange(6)
    if frame == 0:  # "shape: star / colour: red / size: large / pos: top-left"
        sep = rng.choice(FIELD_SEPARATORS)
        text = with_background(rng, sep.join(fields(rng, o, False)), background, sep)
        return text, [o], []
    if frame == 1:  # "star, red, large, top-left"
        words = [noun(rng, o), colour(rng, o)]
        if o["size"]:
            words.append(rng.choice(SIZE_WORDS[o["size"]]))
        text = ", ".join(words) + pos(rng, o)
    elif frame == 2:
        text = f"just the one {body(rng, o)}{pos(rng, o)}"
    elif frame == 3:
        text = f"single {body(rng, o)}{pos(rng, o)}"
    else:
        text = counted(rng, o)
    return with_background(rng, text, background), [o], []


def count(rng, background):
    n = rng.choice([2, 3, 4])
    o = new_obj(rng, n, 0.3, 0.25 if n < 4 else 0.0)
    frame = rng.randrange(6)
    if frame == 0:  # "shape: star / count: 3 / colour: red"
        sep = rng.choice(FIELD_SEPARATORS)
        text = with_background(rng, sep.join(fields(rng, o, True)), background, sep)
        return text, [o], []
    if frame == 1:
        text = f"{body(rng, o)} (x{n}){pos(rng, o)}"
    elif frame == 2:
        text = f"{body(rng, o)}, qty {n}{pos(rng, o)}"
    elif frame == 3:  # "3 stars, all red, all small"; "2 stars, both red"
        every = "both" if n == 2 else "all"
        size = f", {every} {rng.choice(SIZE_WORDS[o['size']])}" if o["size"] else ""
        words = rng.choice(NUMBERS[n])
        text = f"{words} {noun(rng, o)}, {every} {colour(rng, o)}{size}{pos(rng, o)}"
    else:
        text = counted(rng, o)
    return with_background(rng, text, background), [o], []


def two_objects(rng, background):
    a, b = sets.two_objects_pair(rng, list(COLOUR_WORDS), list(SHAPE_WORDS))
    side = set(sets.JUDGE.POSITIONS) - sets.ONE_CELL
    if a["position"] in side and b["position"] in side:  # two sides could be read as a relation
        b["position"] = None
    frame = rng.randrange(6)
    ones = a["count"] == b["count"] == 1
    if frame == 0 and ones and a["shape"] == b["shape"]:  # "2 stars: one red, one blue"
        parts = [f"one {size_(rng, o)}{colour(rng, o)}{pos(rng, o, 'brackets')}" for o in (a, b)]
        head = rng.choice(["2", "two", "a pair of"])
        text = f"{head} {noun(rng, a, plural=True)}: {parts[0]}, {rng.choice(['one', 'the other'])}"
        text += parts[1].removeprefix("one")
    elif frame == 0 and ones and a["color"] == b["color"]:  # "2 red shapes: big star + disc"
        parts = [f"{size_(rng, o)}{noun(rng, o)}{pos(rng, o, 'brackets')}" for o in (a, b)]
        text = f"2 {colour(rng, a)} shapes: {parts[0]} {rng.choice(['+', '&', 'and'])} {parts[1]}"
    elif frame == 1:  # "3 objects: ...; ..."
        total = a["count"] + b["count"]
        head = rng.choice([f"{total} objects", f"{total} shapes", f"{total} items"])
        text = f"{head}: {counted(rng, a, 'brackets')}; {counted(rng, b, 'brackets')}"
    elif frame == 2:  # "2 x red disc + 1 x blue square"
        parts = [f"{o['count']} x {body(rng, o, False)}{pos(rng, o, 'brackets')}" for o in (a, b)]
        text = " + ".join(parts)
    else:
        glue = rng.choice([" + ", " & ", " w/ ", ", plus ", " and "])
        text = f"{counted(rng, a, 'brackets')}{glue}{counted(rng, b, 'brackets')}"
    return with_background(rng, text, background), [a, b], []


def relation(rng, background):
    counts = [(1, 1)] * 6 + [(2, 1), (1, 2)]
    a, b = sets.two_kinds(rng, counts, list(COLOUR_WORDS), list(SHAPE_WORDS))
    for o in (a, b):
        o["size"] = sets.pick_size(rng, 0.25)
    rel = rng.choice(list(RELATIONS))
    ab = [sets.rel_of(0, rel, 1)]
    ones = a["count"] == b["count"] == 1
    horizontal = rel in ("left of", "right of")
    first, second = (a, b) if rel in ("left of", "above") else (b, a)  # left/upper one first
    frame = rng.randrange(6)
    if frame == 0:  # "side by side: A on the left, B on the right"
        one, other = counted(rng, first), counted(rng, second)
        if horizontal:
            text = f"side by side: {one} on the left, {other} on the right"
        elif ones:
            text = f"one above the other: {one} (upper), {other} (lower)"
        else:
            text = f"{one} higher up, {other} lower down"
    elif frame == 1 and ones:  # "left to right: A, B"
        order = "left to right" if horizontal else "top to bottom"
        text = f"{order}: {counted(rng, first)}, {counted(rng, second)}"
    elif frame == 2 and ones and a["shape"] == b["shape"]:  # "2 stars: red on the left, ..."
        one, other = (f"{size_(rng, o)}{colour(rng, o)}" for o in (first, second))
        head = f"{rng.choice(['2', 'a pair of'])} {noun(rng, a, plural=True)}"
        if horizontal:
            text = f"{head}: one {one} on the left, another {other} on the right"
        else:
            text = f"{head}, one above the other: {one} on top, {other} below it"

    elif frame == 3 and b["count"] == 1:  # "B; A left of it"
        text = f"{counted(rng, b)}; {counted(rng, a)} {OF_IT[rel]}"
    else:
        text = f"{counted(rng, a)} {rng.choice(RELATIONS[rel])} {counted(rng, b)}"
    return with_background(rng, text, background), [a, b], ab


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}
BACKGROUND_SHARE = 0.3


def finish(text: str, rng) -> str:
    return rng.choice(LEADS) + text + rng.choice(ENDS)


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn; 30 % of each name a background."""
    return sets.planned_set(seed, n, MAKERS, finish, list(BACKGROUND_WORDS), BACKGROUND_SHARE)


def main(argv=None) -> int:
    return sets.main(argv, make, OUT, SEED, DESCRIPTION, about=__doc__)


if __name__ == "__main__":
    sys.exit(main())
