"""The words of the built-in world: every synonym the captioner may write and the grammar reads.
The first word of each list is the canonical one; both directions come from these tables.
"""

from __future__ import annotations

from genlab.world.spec import BACKGROUNDS, COLORS, MOTIONS, RELATIONS, SHAPES, SIZES

# shape -> [(singular, plural), ...]
SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("circle", "circles"), ("ball", "balls"), ("disc", "discs"), ("dot", "dots")],
    "square": [("square", "squares"), ("box", "boxes"), ("block", "blocks")],
    "triangle": [("triangle", "triangles"), ("pyramid", "pyramids")],
    "diamond": [("diamond", "diamonds"), ("rhombus", "rhombuses"), ("lozenge", "lozenges")],
    "star": [("star", "stars"), ("pentagram", "pentagrams")],
}
# Nouns that name an object without saying its shape ("two objects").
ANY_SHAPE_WORDS: list[tuple[str, str]] = [
    ("object", "objects"),
    ("shape", "shapes"),
    ("thing", "things"),
    ("item", "items"),
]
COLOR_WORDS: dict[str, list[str]] = {
    "red": ["red", "crimson", "scarlet"],
    "orange": ["orange", "tangerine"],
    "yellow": ["yellow", "golden", "lemon"],
    "green": ["green", "emerald", "lime"],
    "cyan": ["cyan", "turquoise", "aqua"],
    "blue": ["blue", "cobalt", "sapphire"],
    "purple": ["purple", "violet", "plum"],
    "pink": ["pink", "rose", "fuchsia"],
}
SIZE_WORDS: dict[str, list[str]] = {
    "small": ["small", "little", "tiny"],
    "large": ["large", "big", "huge"],
}
BACKGROUND_WORDS: dict[str, list[str]] = {
    "black": ["black", "dark"],
    "gray": ["gray", "grey"],
    "white": ["white", "light"],
}
RELATION_WORDS: dict[str, list[str]] = {
    "left of": ["left of", "to the left of", "on the left of"],
    "right of": ["right of", "to the right of", "on the right of"],
    "above": ["above", "over", "on top of"],
    "below": ["below", "under", "beneath", "underneath"],
}
INVERSE_RELATION = {
    "left of": "right of",
    "right of": "left of",
    "above": "below",
    "below": "above",
}
# Motion phrases follow the object: "a red circle moving right".
MOTION_WORDS: dict[str, list[str]] = {
    "still": ["staying still", "standing still", "not moving"],
    "left": ["moving left", "sliding left", "moving to the left"],
    "right": ["moving right", "sliding right", "moving to the right"],
    "up": ["moving up", "rising", "moving upward"],
    "down": ["moving down", "falling", "moving downward"],
    "bounce": ["bouncing", "hopping"],
    "grow": ["growing", "getting bigger", "expanding"],
    "shrink": ["shrinking", "getting smaller", "contracting"],
}
# Verb forms used after "while": "while a blue square grows".
MOTION_VERBS: dict[str, list[str]] = {
    "still": ["stays still"],
    "left": ["moves left", "slides left"],
    "right": ["moves right", "slides right"],
    "up": ["moves up", "rises"],
    "down": ["moves down", "falls"],
    "bounce": ["bounces", "hops"],
    "grow": ["grows", "expands"],
    "shrink": ["shrinks", "contracts"],
}
COUNT_WORDS: dict[int, list[str]] = {
    1: ["a", "one", "an"],
    2: ["two"],
    3: ["three"],
    4: ["four"],
    5: ["five"],
    6: ["six"],
    7: ["seven"],
    8: ["eight"],
    9: ["nine"],
    10: ["ten"],
}
# Grid cells: (row, col) with None for "any"; the first phrase is the canonical one.
POSITION_WORDS: dict[tuple[int | None, int | None], list[str]] = {
    (0, 0): ["top left", "upper left", "top left corner"],
    (0, 1): ["top center", "top middle", "upper center"],
    (0, 2): ["top right", "upper right", "top right corner"],
    (1, 0): ["middle left", "center left"],
    (1, 1): ["center", "middle", "centre"],
    (1, 2): ["middle right", "center right"],
    (2, 0): ["bottom left", "lower left", "bottom left corner"],
    (2, 1): ["bottom center", "bottom middle", "lower center"],
    (2, 2): ["bottom right", "lower right", "bottom right corner"],
    (0, None): ["top", "upper half"],
    (1, None): ["middle row"],
    (2, None): ["bottom", "lower half"],
    (None, 0): ["left", "left side"],
    (None, 1): ["center column", "middle column"],
    (None, 2): ["right", "right side"],
}
# Words that carry no meaning here; they are skipped without being reported as unknown.
STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "and",
        "there",
        "is",
        "are",
        "it",
        "its",
        "image",
        "picture",
        "photo",
        "photograph",
        "drawing",
        "scene",
        "showing",
        "shows",
        "show",
        "containing",
        "contains",
        "has",
        "have",
        "background",
        "backdrop",
        "colored",
        "coloured",
        "color",
        "colour",
        "which",
        "that",
        "one",
        "another",
        "also",
        "next",
        "plus",
        "while",
        "against",
        "some",
        "exactly",
        "just",
        "only",
        "both",
        "each",
        "all",
        "side",
        "corner",
        "other",
    ]
)


def _check_complete() -> None:
    assert set(SHAPE_WORDS) == set(SHAPES)
    assert set(COLOR_WORDS) == set(COLORS)
    assert set(SIZE_WORDS) == set(SIZES)
    assert set(BACKGROUND_WORDS) == set(BACKGROUNDS)
    assert set(RELATION_WORDS) == set(RELATIONS)
    assert set(MOTION_WORDS) == set(MOTIONS) == set(MOTION_VERBS)


_check_complete()
