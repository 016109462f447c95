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

import argparse
import importlib.util
import itertools
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "outsider3_prompts.json"
CATEGORIES = ("single", "count", "two_objects", "relation")
BACKGROUND_SHARE = 0.4  # of each category's prompts name a background, spread over the three
MAX_OBJECTS = 4
MIN_LAYOUT_SHARE = 0.002  # a kept scene's share of satisfying cell placements (judge samples 20000)

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
ONE_CELL = {"top left", "top right", "bottom left", "bottom right", "center"}

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


# ---------------------------------------------------------------------------------- the judge's rules


def _judge():
    """The judge's own position and relation rules, so a kept scene fits what it will check."""
    spec = importlib.util.spec_from_file_location("outsider_judge", HERE / "outsider_judge.py")
    judge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judge)
    return judge


JUDGE = _judge()
CELLS = [(r, c) for r in range(3) for c in range(3)]


def layout_share(objects: list[dict], relations: list[dict]) -> float:
    """The share of ordered placements of the scene's objects on distinct cells (at the cells'
    centers) that satisfy every position and relation: 0 where the scene cannot be drawn."""
    wanted = [i for i, o in enumerate(objects) for _ in range(o["count"])]
    if not 1 <= len(wanted) <= MAX_OBJECTS:
        return 0.0
    good = total = 0
    for chosen in itertools.permutations(CELLS, len(wanted)):
        total += 1
        centers = [((c + 0.5) / 3, (r + 0.5) / 3) for r, c in chosen]
        if all(
            not objects[i]["position"] or JUDGE.position_holds(centers[k], objects[i]["position"])
            for k, i in enumerate(wanted)
        ) and all(
            JUDGE.relation_holds(centers[a], rel["relation"], centers[b])
            for rel in relations
            for a, i in enumerate(wanted)
            if i == rel["subject"]
            for b, j in enumerate(wanted)
            if j == rel["target"]
        ):
            good += 1
    return good / total


# ---------------------------------------------------------------------------------- phrases


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def obj(color: str, shape: str, count: int = 1, size=None, position=None) -> dict:
    return {"shape": shape, "color": color, "count": count, "size": size, "position": position}


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
            number = article(body)
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


def pick_position(rng: random.Random, count: int, chance: float) -> str | None:
    if rng.random() >= chance:
        return None
    if count == 1:
        return rng.choice(list(POSITION_WORDS))
    return rng.choice([p for p in POSITION_WORDS if p not in ONE_CELL])  # a row/column holds 3


def pick_size(rng: random.Random, chance: float) -> str | None:
    return rng.choice(["small", "large"]) if rng.random() < chance else None


def single(rng: random.Random, bg: str | None):
    o = obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), 1,
            pick_size(rng, 0.5), pick_position(rng, 1, 0.45))  # fmt: skip
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
    o = obj(rng.choice(list(COLOR_WORDS)), rng.choice(list(SHAPE_WORDS)), n,
            pick_size(rng, 0.35), pick_position(rng, n, 0.3 if n < 4 else 0.0))  # fmt: skip
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


def two_kinds(rng: random.Random, counts_from) -> list[dict]:
    """Two objects of different kinds (color, shape); sometimes one shape in two colors or one
    color on two shapes."""
    colors, shapes = list(COLOR_WORDS), list(SHAPE_WORDS)
    while True:
        (c1, c2), (s1, s2) = rng.sample(colors, 2), rng.sample(shapes, 2)
        kind = rng.random()
        if kind < 0.2:
            s2 = s1
        elif kind < 0.35:
            c2 = c1
        n1, n2 = rng.choice(counts_from)
        if (c1, s1) != (c2, s2):
            return [obj(c1, s1, n1), obj(c2, s2, n2)]


def two_objects(rng: random.Random, bg: str | None):
    a, b = two_kinds(rng, [(1, 1)] * 6 + [(2, 1), (1, 2), (2, 2), (3, 1), (1, 3)])
    for o in (a, b):
        o["size"] = pick_size(rng, 0.3)
        o["position"] = pick_position(rng, o["count"], 0.25)
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


def rel_of(subject: int, rel: str, target: int) -> dict:
    return {"subject": subject, "relation": rel, "target": target}


def relation(rng: random.Random, bg: str | None):
    s, t = two_kinds(rng, [(1, 1)] * 8 + [(2, 1), (1, 2)])
    rel = rng.choice(list(RELATION_WORDS))
    for o in (s, t):
        o["size"] = pick_size(rng, 0.25)
    w = Writer(rng)
    lead, question = w.lead()
    frame = w.pick(["direct"] * 4 + ["after", "where", "should be"])
    if rng.random() < 0.2:  # the subject also placed on the grid (never the target named last)
        s["position"] = pick_position(rng, s["count"], 1.0)
    if frame == "after":  # "a blue block, and to its left a red orb"
        after = w.pick(RELATION_AFTER_WORDS[rel]) if t["count"] == 1 else None
        if after:
            s["position"] = None
            main = f"{lead}{w.np(t, plain=True)}, and {after} {w.np(s, plain=True)}"
            return w.background(main, question, bg), [t, s], [rel_of(1, rel, 0)]
    # "a red orb and a blue block, where the orb is left of the block"
    if frame == "where" and s["shape"] != t["shape"] and s["count"] == t["count"] == 1:
        sn, tn = w.pick(SHAPE_WORDS[s["shape"]])[0], w.pick(SHAPE_WORDS[t["shape"]])[0]
        main = (f"{lead}{w.np(s, plain=True)} and {w.np(t, plain=True)}, where the {sn} is "
                f"{w.pick(RELATION_WORDS[rel])} the {tn}")  # fmt: skip
        return w.background(main, question, bg), [s, t], [rel_of(0, rel, 1)]
    if frame == "should be" and not question and not s["position"]:
        # "a red orb; it should sit to the left of a blue block"
        they = "it" if s["count"] == 1 else "they"
        first, second = w.np(s, plain=True), w.np(t, plain=True)
        words = [r for r in RELATION_WORDS[rel] if not r.startswith(("positioned", "placed"))]
        main = f"{lead}{first}; {they} should sit {w.pick(words)} {second}"
        return w.background(main, question, bg), [s, t], [rel_of(0, rel, 1)]
    comma = "," if s["position"] else ""
    main = f"{lead}{w.np(s, plain=True)}{comma} {w.pick(RELATION_WORDS[rel])} {w.np(t, plain=True)}"
    return w.background(main, question, bg), [s, t], [rel_of(0, rel, 1)]


MAKERS = {"single": single, "count": count, "two_objects": two_objects, "relation": relation}


# ---------------------------------------------------------------------------------- the set


def make(seed: int, n: int) -> list[dict]:
    """n prompts, a quarter per category in turn, BACKGROUND_SHARE of each naming a background."""
    if n < len(CATEGORIES) or n % len(CATEGORIES):
        raise SystemExit(f"--n must be a positive multiple of {len(CATEGORIES)}, got {n}")
    rng = random.Random(seed)
    per = n // len(CATEGORIES)
    plans = {}
    for category in CATEGORIES:
        with_bg = round(per * BACKGROUND_SHARE)
        bgs = [list(BACKGROUND_WORDS)[k % 3] for k in range(with_bg)] + [None] * (per - with_bg)
        rng.shuffle(bgs)
        plans[category] = bgs
    items, seen = [], set()
    for k in range(per):
        for category in CATEGORIES:
            bg = plans[category][k]
            for _ in range(1000):
                text, objects, relations = MAKERS[category](rng, bg)
                text = finish(text, rng)
                if text.lower() in seen or layout_share(objects, relations) < MIN_LAYOUT_SHARE:
                    continue
                break
            else:
                raise RuntimeError(f"no drawable {category} prompt after 1000 tries")
            seen.add(text.lower())
            items.append({"prompt": text, "category": category, "objects": objects,
                          "relations": relations, "background": bg})  # fmt: skip
    return items


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=31337)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    items = make(args.seed, args.n)
    doc = {
        "description": "Free-form prompts of a third, fresh outsider set (issue #32's check) with "
        f"the scene each asks for; made by benchmarks/outsider3_prompts_make.py --seed {args.seed}",
        "seed": args.seed,
        "prompts": items,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}: {len(items)} prompts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
