"""The words the world grammar reads (genlab.world.reading): every phrase, as a tuple of words, to
(kind, value), e.g. ("navy", "blue") -> ("color", "blue"), ("to", "the", "left", "of") -> ("rel", ...).
"""

from __future__ import annotations

import itertools

from genlab.world.lexicon import (
    ANY_SHAPE_WORDS,
    BACKGROUND_SHADES,
    BACKGROUND_WORDS,
    COLOR_NAMESAKES,
    COMPARED_RELATIONS,
    COPY_NOUNS,
    COUNT_LABELS,
    FOREIGN_COLORS,
    FOREIGN_RELATIONS,
    FOREIGN_SHAPES,
    GROUP_NOUNS,
    MOTION_VERBS,
    MOTION_WORDS,
    NAMESAKE_COLORS,
    POSITION_WORDS,
    READ_ANY_SHAPE_WORDS,
    READ_MOTION_WORDS,
    READ_ONLY_SHAPE_WORDS,
    READ_POSITION_WORDS,
    SHADE_WORDS,
    SHAPE_ADJECTIVES,
    SIDE_ENDINGS,
    SIZE_ABBREVIATIONS,
    SIZE_INTENSIFIERS,
    SIZED_NAMESAKES,
)
from genlab.world.phrasing import READ_WORDING


def build_lexicon() -> dict[tuple[str, ...], tuple[str, object]]:
    lex: dict[tuple[str, ...], tuple[str, object]] = {}

    def add(phrase: str, kind: str, value) -> None:
        lex.setdefault(tuple(phrase.split()), (kind, value))

    words = READ_WORDING
    for shape, forms in words.shapes.items():
        for singular, plural in forms:
            add(singular, "shape", (shape, False))
            add(plural, "shape", (shape, True))
    for shape, forms in READ_ONLY_SHAPE_WORDS.items():
        for singular, plural in forms:
            add(singular, "shape", (shape, False))
            add(plural, "shape", (shape, True))
    for value, names in COMPARED_RELATIONS.items():  # "further left than"
        for w in names:
            add(w, "rel", value)
    for value, names in words.relations.items():  # "to the right-hand side of"
        for w in names:
            if "left side" in w or "right side" in w:
                add(w.replace(" side", " hand side"), "rel", value)
    for w in COUNT_LABELS:  # "count: 3"
        add(w, "count label", None)
        add(f"{w} :", "count label", None)
    for value, names in SIDE_ENDINGS.items():  # "... with a red circle to the left"
        for w in names:
            add(w, "side end", value)
    for w in ("(", ")"):  # "a star (red)", "stars (4)"
        add(w, "stop", None)
    for singular, plural in (*ANY_SHAPE_WORDS, *READ_ANY_SHAPE_WORDS):
        add(singular, "shape", (None, False))
        add(plural, "shape", (None, True))
    for color, names in words.colors.items():
        for w in names:
            add(w, "color", color)
        # "golden yellow", "navy blue": two words for one color; "light green": a shade of it
        for a, b in itertools.product(names, names):
            if a != b:
                add(f"{a} {b}", "color", color)
        for shade, w in itertools.product((*SHADE_WORDS, *COLOR_NAMESAKES), names):
            add(f"{shade} {w}", "color", color)
    for table, kind in ((words.sizes, "size"), (BACKGROUND_WORDS, "bg")):
        for value, names in table.items():
            for w in names:
                add(w, kind, value)
    for value, names in words.sizes.items():  # "extra-large", "pint-sized", "xl"
        for w in (*names, *SIZE_ABBREVIATIONS[value]):
            add(w, "size", value)
            for intensifier in SIZE_INTENSIFIERS:
                add(f"{intensifier} {w}", "size", value)
        for namesake in SIZED_NAMESAKES[value]:
            for tail in ("sized", "size"):
                add(f"{namesake} {tail}", "size", value)
    for group in GROUP_NOUNS:  # "a set of three": the count follows
        add(f"a {group} of", "stop", None)
    for noun in COPY_NOUNS:  # "three copies of a red star": the count comes before
        for tail in ("of", "of a", "of an", "of one"):
            add(f"{noun} {tail}", "stop", None)
    for value, names in BACKGROUND_WORDS.items():  # "jet black", "mid grey", "snow white"
        for shade, w in itertools.product(BACKGROUND_SHADES, names):
            add(f"{shade} {w}", "bg", value)
    for value, names in NAMESAKE_COLORS.items():  # "a carrot ball", "grape-colored"
        for w in names:
            add(w, "color", value)
    for table, kind in (
        (words.relations, "rel"),
        (MOTION_WORDS, "motion"),
        (MOTION_VERBS, "motion"),
        (READ_MOTION_WORDS, "motion"),
    ):
        for value, names in table.items():
            for w in names:
                add(w, kind, value)
    for table in (POSITION_WORDS, READ_POSITION_WORDS):
        for cell, names in table.items():
            for w in names:
                add(w, "pos", cell)
    for n, names in words.counts.items():
        for w in names:
            add(w, "count", n)
    for w in (
        "and",
        ",",
        ":",
        "while",
        "with",
        "w",  # "a disc w/ a star": the slash is dropped with the other punctuation
        "plus",
        "along with",
        "together with",
        "as well as",
    ):
        add(w, "sep", None)
    for w in ("one more thing", "another thing", "one last thing"):  # "... and one more thing: X"
        add(w, "stop", None)
    add("the", "the", None)
    add("other", "other", None)
    for w in ("it", "its", "them", "their"):  # "... with a red ball above it / on its left"
        add(w, "pronoun", w)
    for w in ("background", "backdrop", "bg", "backround", "back ground"):
        add(w, "background", None)
    # "three stars, each one blue", "two boxes that are red": the color of the group just named
    for w in ("each one", "every one", "each of them", "every one of them", "both of them"):
        add(w, "stop", None)
    for shape, names in SHAPE_ADJECTIVES.items():
        for w in names:
            add(w, "shape adjective", shape)
        for singular, _ in words.shapes[shape]:
            add(f"{singular} shaped", "shape adjective", shape)
    # What this world does not have, named in a warning rather than dropped.
    for w in FOREIGN_COLORS:
        add(w, "foreign color", w)
        for shade in SHADE_WORDS:
            add(f"{shade} {w}", "foreign color", f"{shade} {w}")
    for w in FOREIGN_SHAPES:
        add(w, "foreign shape", (w, False))
        add(w + ("es" if w.endswith(("s", "x", "ch", "sh")) else "s"), "foreign shape", (w, True))
    for w in FOREIGN_RELATIONS:
        add(w, "foreign relation", w)
    return lex


LEXICON = build_lexicon()
