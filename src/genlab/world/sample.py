"""Random scenes of the built-in world, seeded and optionally constrained (object count, a relation
between the first two objects, allowed shapes/colors/backgrounds, held-out combinations).
"""

from __future__ import annotations

import numpy as np

from genlab.errors import InvalidArgument
from genlab.world.spec import (
    BACKGROUNDS,
    COLORS,
    GRID,
    HELD_OUT,
    JITTER,
    MAX_OBJECTS,
    MIN_OBJECTS,
    RELATIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
)

_ALL_CELLS = [(r, c) for r in range(GRID) for c in range(GRID)]
_CELL_PAIRS = {
    rel: [
        (a, b)
        for a in _ALL_CELLS
        for b in _ALL_CELLS
        if a != b
        and {
            "left of": a[1] < b[1],
            "right of": a[1] > b[1],
            "above": a[0] < b[0],
            "below": a[0] > b[0],
        }[rel]
    ]
    for rel in RELATIONS
}


def as_generator(rng) -> np.random.Generator:
    """An int seed, a sequence of ints, None or a Generator -> np.random.Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer | list | tuple):
        return np.random.default_rng(rng)
    raise InvalidArgument("rng", "an int seed or a numpy Generator", rng)


def _choices(name: str, given, allowed) -> list[str]:
    if given is None:
        return list(allowed)
    given = [given] if isinstance(given, str) else list(given)
    for g in given:
        if g not in allowed:
            raise InvalidArgument(name, "values from " + ", ".join(allowed), g)
    if not given:
        raise InvalidArgument(name, "at least one value", given)
    return given


def object_count(rng: np.random.Generator, n_objects) -> int:
    if n_objects is None:
        return int(rng.integers(MIN_OBJECTS, MAX_OBJECTS + 1))
    if isinstance(n_objects, tuple | list) and len(n_objects) == 2:
        lo, hi = n_objects
        if not (MIN_OBJECTS <= lo <= hi <= MAX_OBJECTS):
            raise InvalidArgument(
                "n_objects", f"a range within {MIN_OBJECTS}..{MAX_OBJECTS}", tuple(n_objects)
            )
        return int(rng.integers(lo, hi + 1))
    if isinstance(n_objects, int | np.integer) and not isinstance(n_objects, bool):
        if not MIN_OBJECTS <= n_objects <= MAX_OBJECTS:
            raise InvalidArgument(
                "n_objects", f"{MIN_OBJECTS} to {MAX_OBJECTS} objects", int(n_objects)
            )
        return int(n_objects)
    raise InvalidArgument("n_objects", "an int, a (min, max) pair or None", n_objects)


def jittered_center(rng: np.random.Generator, row: int, col: int) -> tuple[float, float]:
    dx, dy = rng.uniform(-JITTER, JITTER, size=2)
    return round((col + 0.5) / GRID + float(dx), 5), round((row + 0.5) / GRID + float(dy), 5)


def sample_scene(
    rng,
    *,
    n_objects: int | tuple[int, int] | None = None,
    relation: str | None = None,
    exclude_held_out: bool = True,
    only_held_out: bool = False,
    shapes=None,
    colors=None,
    backgrounds=None,
    sizes=None,
) -> Scene:
    """A random scene: 1–4 objects in distinct grid cells, jittered centers, a background.

    relation: objects[0] <relation> objects[1] holds (needs ≥ 2 objects).
    exclude_held_out: no object has a (color, shape) pair from spec.HELD_OUT (training data).
    only_held_out: objects[0] has a held-out pair (the complement of the training distribution).
    shapes / colors / backgrounds / sizes restrict the vocabulary used.
    """
    rng = as_generator(rng)
    shapes = _choices("shapes", shapes, SHAPES)
    colors = _choices("colors", colors, COLORS)
    backgrounds = _choices("backgrounds", backgrounds, BACKGROUNDS)
    sizes = _choices("sizes", sizes, SIZES)
    n = object_count(rng, n_objects)
    pairs = [(c, s) for c in colors for s in shapes]
    regular = [p for p in pairs if p not in HELD_OUT] if exclude_held_out else pairs
    held = [p for p in pairs if p in HELD_OUT]
    if only_held_out and exclude_held_out:
        raise InvalidArgument("only_held_out", "exclude_held_out=False alongside it", True)
    if only_held_out and not held:
        raise InvalidArgument("only_held_out", "shapes and colors that form a held-out pair", True)
    if not regular:
        raise InvalidArgument(
            "shapes/colors", "at least one (color, shape) pair outside spec.HELD_OUT", pairs
        )

    if relation is not None:
        if relation not in RELATIONS:
            raise InvalidArgument("relation", "one of " + ", ".join(RELATIONS), relation)
        if n < 2:
            raise InvalidArgument("n_objects", "at least 2 objects when a relation is asked", n)
        a, b = _CELL_PAIRS[relation][int(rng.integers(len(_CELL_PAIRS[relation])))]
        rest = [i for i in range(GRID * GRID) if i not in (a[0] * GRID + a[1], b[0] * GRID + b[1])]
        cells = [a, b] + [_ALL_CELLS[i] for i in rng.permutation(rest)[: n - 2]]
    else:
        cells = [_ALL_CELLS[i] for i in rng.permutation(GRID * GRID)[:n]]

    objects = []
    for k, (row, col) in enumerate(cells):
        pool = held if (only_held_out and k == 0) else regular
        color, shape = pool[int(rng.integers(len(pool)))]
        size = sizes[int(rng.integers(len(sizes)))]
        x, y = jittered_center(rng, row, col)
        objects.append(Obj(shape, color, size, row, col, x, y))
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    return Scene(tuple(objects), background)
