"""The built-in world's vocabulary and scene specification: shapes, colors, sizes, grid positions,
relations, held-out combinations. Every other part of genlab speaks this vocabulary.

Geometry: an image is a 3×3 grid of cells; each object sits in its own cell (center jittered a
little), so absolute positions ("top left") and relations ("left of") are never ambiguous.
Coordinates are fractions of the image side, x to the right and y downwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from genlab.errors import InvalidArgument

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star")

# Object colors (RGB). Chosen far apart in hue and lightness so that the scene parser can
# segment by nearest palette color even after anti-aliasing, noise and blur.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 30),
    "green": (30, 170, 50),
    "cyan": (30, 210, 220),
    "blue": (30, 60, 225),
    "purple": (140, 40, 200),
    "pink": (250, 120, 200),
}

# Background colors: neutral, so that no object color is mistaken for background.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (18, 18, 18),
    "gray": (100, 100, 100),
    "white": (238, 238, 238),
}

# Object sizes as the radius of the shape's circumscribed circle, in fractions of the image side.
# A cell is 1/3 wide, so radius + jitter stays below 1/6 and objects never touch: two objects in
# neighbouring cells keep a gap of at least 1/3 - 2 * (0.14 + 0.01) = 0.033 (one pixel at 32 px),
# which lets the scene parser separate them by connected components.
SIZES: dict[str, float] = {"small": 0.09, "large": 0.14}
JITTER = 0.01  # max offset of an object's center from its cell's center

GRID = 3
ROWS = ("top", "middle", "bottom")
COLS = ("left", "center", "right")
MAX_OBJECTS = 4
MIN_OBJECTS = 1

RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")
MOTIONS: tuple[str, ...] = ("still", "left", "right", "up", "down", "bounce", "grow", "shrink")

# (color, shape) pairs that training data never contains: compositional generalisation is
# measured on these. Each color and each shape still appears in training with other partners.
HELD_OUT: frozenset[tuple[str, str]] = frozenset(
    {
        ("red", "triangle"),
        ("blue", "star"),
        ("green", "square"),
        ("yellow", "circle"),
        ("purple", "diamond"),
    }
)


@dataclass(frozen=True)
class Obj:
    """One object: what it is, and which grid cell it is in (row, col) with its exact center."""

    shape: str
    color: str
    size: str
    row: int
    col: int
    x: float | None = None  # exact center; None means the cell's center
    y: float | None = None

    def __post_init__(self):
        for name, value, choices in (
            ("shape", self.shape, SHAPES),
            ("color", self.color, COLORS),
            ("size", self.size, SIZES),
        ):
            if value not in choices:
                raise InvalidArgument(name, "one of " + ", ".join(choices), value)
        if not (0 <= self.row < GRID and 0 <= self.col < GRID):
            raise InvalidArgument("cell", f"row and col in 0..{GRID - 1}", (self.row, self.col))

    @property
    def center(self) -> tuple[float, float]:
        cx = (self.col + 0.5) / GRID if self.x is None else self.x
        cy = (self.row + 0.5) / GRID if self.y is None else self.y
        return cx, cy

    @property
    def radius(self) -> float:
        return SIZES[self.size]

    @property
    def position(self) -> str:
        """Absolute position words: 'top left', 'top', 'left', 'center', ..."""
        return position_name(self.row, self.col)

    @property
    def is_held_out(self) -> bool:
        return (self.color, self.shape) in HELD_OUT

    def to_dict(self) -> dict:
        return {
            "shape": self.shape,
            "color": self.color,
            "size": self.size,
            "row": self.row,
            "col": self.col,
            "x": self.x,
            "y": self.y,
        }

    def describe(self, with_size: bool = True) -> str:
        return (
            f"{self.size} {self.color} {self.shape}" if with_size else f"{self.color} {self.shape}"
        )


@dataclass(frozen=True)
class Scene:
    """A whole image: 1–4 objects in distinct cells on a background."""

    objects: tuple[Obj, ...]
    background: str = "black"
    extras: dict = field(default_factory=dict, compare=False, hash=False)  # e.g. motions for video

    def __post_init__(self):
        if not MIN_OBJECTS <= len(self.objects) <= MAX_OBJECTS:
            raise InvalidArgument(
                "objects", f"{MIN_OBJECTS} to {MAX_OBJECTS} objects", len(self.objects)
            )
        if self.background not in BACKGROUNDS:
            raise InvalidArgument("background", "one of " + ", ".join(BACKGROUNDS), self.background)
        cells = [(o.row, o.col) for o in self.objects]
        if len(set(cells)) != len(cells):
            raise InvalidArgument("objects", "each object in its own grid cell", cells)

    @property
    def has_held_out(self) -> bool:
        return any(o.is_held_out for o in self.objects)

    def relations(self) -> list[tuple[int, str, int]]:
        """Every true (i, relation, j) between objects i and j, from their grid cells."""
        out = []
        for i, a in enumerate(self.objects):
            for j, b in enumerate(self.objects):
                if i != j:
                    out.extend((i, r, j) for r in relation_between(a, b))
        return out

    def with_objects(self, objects) -> Scene:
        return replace(self, objects=tuple(objects))

    @property
    def motions(self) -> tuple[str, ...]:
        """One motion per object for video scenes ('still' where none was set)."""
        motions = self.extras.get("motions") or ()
        return tuple(motions[i] if i < len(motions) else "still" for i in range(len(self.objects)))

    def to_dict(self) -> dict:
        return {
            "objects": [o.to_dict() for o in self.objects],
            "background": self.background,
            "extras": dict(self.extras),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> Scene:
        try:
            objects = tuple(Obj(**o) for o in data["objects"])
            return cls(objects, data.get("background", "black"), dict(data.get("extras") or {}))
        except (KeyError, TypeError) as e:
            raise InvalidArgument("scene", "a scene dict {objects, background}", str(e)) from None

    @classmethod
    def from_json(cls, text: str) -> Scene:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidArgument("scene", "scene JSON", str(e)) from None
        return cls.from_dict(data)


def relation_between(a: Obj, b: Obj) -> list[str]:
    """Relations that hold for 'a <relation> b' (a may be both left of and above b)."""
    rels = []
    if a.col < b.col:
        rels.append("left of")
    if a.col > b.col:
        rels.append("right of")
    if a.row < b.row:
        rels.append("above")
    if a.row > b.row:
        rels.append("below")
    return rels


def position_name(row: int, col: int) -> str:
    vertical = {0: "top", 1: "", 2: "bottom"}[row]
    horizontal = {0: "left", 1: "", 2: "right"}[col]
    return " ".join(w for w in (vertical, horizontal) if w) or "center"


def cell_of_position(name: str) -> tuple[set[int], set[int]]:
    """Rows and cols allowed by a position phrase: 'left' -> any row, col 0; 'top left' -> (0, 0)."""
    rows, cols = set(range(GRID)), set(range(GRID))
    words = name.split()
    if "top" in words:
        rows = {0}
    if "bottom" in words:
        rows = {2}
    if "left" in words:
        cols = {0}
    if "right" in words:
        cols = {2}
    if words == ["center"]:
        rows, cols = {1}, {1}
    return rows, cols
