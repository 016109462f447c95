"""Realizing a request of the built-in world: SceneRequest -> a concrete Scene. A prompt only
partly specifies a scene ("two red circles above a blue square" fixes colors, shapes and a
relation but not sizes or cells); `realize` draws what it leaves open.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from genlab.errors import InvalidArgument
from genlab.world.motion import DIRECTIONS as _DIRECTIONS
from genlab.world.motion import start_size, target_cell
from genlab.world.phrasing import canonical_text
from genlab.world.request import ObjectRequest, SceneRequest, object_attrs
from genlab.world.sample import as_generator, jittered_center
from genlab.world.spec import (
    BACKGROUNDS,
    COLORS,
    GRID,
    HELD_OUT,
    MAX_OBJECTS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
)


def _relation_holds(
    rel: str, a: tuple[int, int], b: tuple[int, int], aligned: bool = False
) -> bool:
    """Whether cell a is `rel` cell b; `aligned` also asks for the same row ("left of", "right
    of", "beside") or column ("above", "below"), so no reader could see another relation."""
    if rel in ("left of", "right of", "beside"):
        side = {"left of": a[1] < b[1], "right of": a[1] > b[1], "beside": a[1] != b[1]}[rel]
        return side and (not aligned or a[0] == b[0])
    return (a[0] < b[0] if rel == "above" else a[0] > b[0]) and (not aligned or a[1] == b[1])


def _place(
    instances: list[int], req: SceneRequest, rng: np.random.Generator, aligned: bool = False
) -> list[tuple[int, int]] | None:
    """Cells for each instance (its group index given) meeting positions and relations, or None;
    `aligned`: each relation along one axis only (see _relation_holds)."""
    cells = [(r, c) for r in range(GRID) for c in range(GRID)]
    chosen: list[tuple[int, int]] = []

    def sweep(k: int, cell) -> tuple[int, int] | None:
        motion = req.objects[instances[k]].motion
        return target_cell(*cell, motion) if motion else None

    def ok(k: int, cell) -> bool:
        g = instances[k]
        if not req.objects[g].allows_cell(*cell):
            return False
        # A moving object needs the cell it moves (or bounces) into: inside the grid and free.
        target = sweep(k, cell)
        if target is not None and not (0 <= target[0] < GRID and 0 <= target[1] < GRID):
            return False
        motion = req.objects[g].motion
        for j in range(k):
            other = sweep(j, chosen[j])
            # Objects moving the same way move in lockstep, so one may follow another into the
            # cell it leaves; anything else must not enter a cell that is used.
            lockstep = motion in _DIRECTIONS and req.objects[instances[j]].motion == motion
            if target is not None and (target == other or (target == chosen[j] and not lockstep)):
                return False
            if other is not None and other == cell and not lockstep:
                return False
        for rel in req.relations:
            for j in range(k):
                h = instances[j]
                if rel.subject == rel.target == g == h:  # within a group: either order
                    if not (
                        _relation_holds(rel.relation, cell, chosen[j], aligned)
                        or _relation_holds(rel.relation, chosen[j], cell, aligned)
                    ):
                        return False
                    continue
                if (
                    rel.subject == g
                    and rel.target == h
                    and not _relation_holds(rel.relation, cell, chosen[j], aligned)
                ):
                    return False
                if (
                    rel.subject == h
                    and rel.target == g
                    and not _relation_holds(rel.relation, chosen[j], cell, aligned)
                ):
                    return False
        return True

    def search(k: int) -> bool:
        if k == len(instances):
            return True
        for i in rng.permutation(len(cells)):
            cell = cells[i]
            if cell not in chosen and ok(k, cell):
                chosen.append(cell)
                if search(k + 1):
                    return True
                chosen.pop()
        return False

    return list(chosen) if search(0) else None


def _fill(o: ObjectRequest, rng: np.random.Generator, exclude_held_out: bool):
    """(shape, color, size) for one object of group o, drawing what o leaves open."""
    shapes = [o.shape] if o.shape else list(SHAPES)
    colors = [o.color] if o.color else list(COLORS)
    pairs = [(c, s) for c in colors for s in shapes]
    if exclude_held_out and (o.shape is None or o.color is None):
        pairs = [p for p in pairs if p not in HELD_OUT] or pairs
    color, shape = pairs[int(rng.integers(len(pairs)))]
    size = o.size or start_size(o.motion) or list(SIZES)[int(rng.integers(len(SIZES)))]
    return shape, color, size


def realize(
    request: SceneRequest,
    rng=None,
    *,
    exclude_held_out: bool = True,
    max_tries: int = 200,
    aligned: bool = False,
) -> Scene:
    """A concrete Scene satisfying `request` (unspecified attributes and cells drawn from `rng`).

    Raises InvalidArgument when no scene can satisfy it (too many objects, contradictory positions
    or relations). Attributes left open avoid held-out pairs unless exclude_held_out is False;
    pairs the request names explicitly are always honoured. `aligned` puts related objects in
    one row ("left of", "beside") or column ("above") where some arrangement allows it, so the
    relation reads one way only.
    """
    rng = as_generator(rng)
    if not isinstance(request, SceneRequest):
        raise InvalidArgument("request", "a SceneRequest", type(request).__name__)
    if not request.objects:
        request = replace(request, objects=(ObjectRequest(),))
    total = request.total_objects
    if total > MAX_OBJECTS:
        raise InvalidArgument("objects", f"at most {MAX_OBJECTS} objects in a scene", total)
    for o in request.objects:
        needed = start_size(o.motion)
        if needed is not None and o.size not in (None, needed):
            raise InvalidArgument(
                "prompt",
                f"a {needed} object when it is to {o.motion}",
                canonical_text(request),
                hint=f"{o.motion} goes between the small and the large size",
            )
    instances = [g for g, o in enumerate(request.objects) for _ in range(o.count)]
    cells = (_place(instances, request, rng, aligned=True) if aligned else None) or _place(
        instances, request, rng
    )
    if cells is None:
        raise InvalidArgument(
            "prompt",
            "positions, relations and motions that fit one 3×3 grid",
            canonical_text(request),
            hint="no arrangement satisfies all of them",
        )
    background = request.background or list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
    has_motion = request.has_motion
    for _ in range(max_tries):
        objects = []
        for g, (row, col) in zip(instances, cells):
            shape, color, size = _fill(request.objects[g], rng, exclude_held_out)
            x, y = jittered_center(rng, row, col)
            objects.append(Obj(shape, color, size, row, col, x, y))
        if _no_strays(request, instances, objects):
            extras = {}
            if has_motion:
                extras["motions"] = [request.objects[g].motion or "still" for g in instances]
            return Scene(tuple(objects), background, extras)
    raise InvalidArgument("prompt", "object groups that can be told apart", canonical_text(request))


def _implies(h: ObjectRequest, g: ObjectRequest) -> bool:
    """Every object of group h is necessarily also an object of group g ("red circle" -> "circle")."""
    return all(b is None or a == b for a, b in zip(object_attrs(h)[:3], object_attrs(g)[:3]))


def _no_strays(request: SceneRequest, instances: list[int], objects: list[Obj]) -> bool:
    """No object drawn for one group happens to also be an object of another group by chance
    (e.g. the free color of "a circle" coming out red next to "two red circles")."""
    for h, b in zip(instances, objects):
        for g, o in enumerate(request.objects):
            if (
                g != h
                and o.matches(b.shape, b.color, b.size)
                and not _implies(request.objects[h], o)
            ):
                return False
    return True
