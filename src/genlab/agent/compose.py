"""Layout-first composition: when one prompt cannot get several objects right at once, draw them
one at a time. In the spirit of planning-then-generating agents (LayoutGPT, Feng et al. 2023;
RPG, Yang et al. 2024): the planner fixes a layout (a grid cell for every object, satisfying the
request's positions and relations), draws the first object alone, then paints each further
object into its own cell by inpainting, checking every step with the scene parser before going on.

A small model binds one object's color and shape far more reliably than two objects' (and
positions come from the mask rather than from the model), so the failure of a multi-object
prompt becomes a sequence of single-object problems, each retried with fresh seeds and rising
guidance until it passes. This module only plans: prompts, regions, the questions that check each
step and which candidate to keep; the offline planner turns them into tool calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genlab.world.grammar import ObjectRequest, SceneRequest, canonical_caption, realize
from genlab.world.lexicon import POSITION_WORDS

Cell = tuple[int, int]
# Guidance of successive tries at a step, two tries each (5.5-7 suit single objects best).
GUIDANCES = (5.5, 7.0, 8.0)
TRIES_PER_GUIDANCE = 2
MAX_LAYOUT_DRAWS = 300  # realize() draws searched for arrangements of the request


def instances(request: SceneRequest) -> list[ObjectRequest]:
    """One ObjectRequest per object to draw (a group of count n gives n), in realize's order."""
    return [single_object(o) for o in request.objects for _ in range(o.count)]


def single_object(o: ObjectRequest) -> ObjectRequest:
    """One object of group `o` (count 1), its attributes and position constraints kept."""
    return ObjectRequest(o.shape, o.color, o.size, 1, o.row, o.col)


def arrangements(request: SceneRequest, seed: int) -> list[tuple[Cell, ...]]:
    """Distinct cell assignments (one cell per object, in instances() order) that satisfy the
    request, in the order realize() draws them (it honours positions and relations)."""
    found: dict[tuple[Cell, ...], None] = {}
    for k in range(MAX_LAYOUT_DRAWS):
        try:
            scene = realize(request, seed + k, exclude_held_out=False)
        except ValueError:
            break  # no arrangement at all (the request cannot fit one grid)
        found.setdefault(tuple((o.row, o.col) for o in scene.objects), None)
    return list(found)


def composable(request: SceneRequest) -> bool:
    """Worth composing: more than one object, no motion (videos are not inpainted)."""
    return request.total_objects > 1 and not any(o.motion for o in request.objects)


def placed(o: ObjectRequest, cell: Cell) -> ObjectRequest:
    """One object of group `o` pinned to `cell`."""
    return ObjectRequest(o.shape, o.color, o.size, 1, *cell)


def position_phrase(cell: Cell) -> str:
    """The region name edit_image understands for a cell ('top left', 'center', ...)."""
    return POSITION_WORDS[cell][0]


@dataclass
class Composition:
    """The plan and progress of one composition round.

    Steps: 0 draws the first object (generate_image), k ≥ 1 inpaints object k into its cell
    (edit_image). Each step gets up to `tries` batches of candidates; the first candidate whose
    analysis satisfies the step's question is kept.
    """

    request: SceneRequest
    seed: int
    tries: int = 6
    objects: list[ObjectRequest] = field(init=False)
    groups: list[int] = field(init=False)  # the request's object group of each object
    options: list[tuple[Cell, ...]] = field(init=False)  # every valid arrangement found
    layouts: dict[Cell, tuple[Cell, ...]] = field(init=False)  # one per first object's cell
    cells: tuple[Cell, ...] | None = None  # fixed once the first object is drawn
    background: str | None = None
    current: str | None = None  # id of the image that holds the objects drawn so far
    done: int = 0  # objects drawn and checked
    log: list[str] = field(default_factory=list)
    tried: dict[int, set[Cell]] = field(default_factory=dict)  # cells each step failed in

    def __post_init__(self):
        self.objects = instances(self.request)
        self.groups = [g for g, o in enumerate(self.request.objects) for _ in range(o.count)]
        self.options = arrangements(self.request, self.seed)
        self.layouts = {}
        for cells in self.options:
            self.layouts.setdefault(cells[0], cells)
        self.background = self.request.background

    @property
    def possible(self) -> bool:
        return bool(self.layouts)

    @property
    def complete(self) -> bool:
        return self.done == len(self.objects)

    def guidance(self, attempt: int) -> float:
        return GUIDANCES[min(attempt // TRIES_PER_GUIDANCE, len(GUIDANCES) - 1)]

    def _placed(self, k: int) -> ObjectRequest:
        return placed(self.objects[k], self.cells[k])

    # ------------------------------------------------------------------ step 0: the first object

    def first_prompt(self) -> str:
        """The first object alone, at the first arrangement's cell (a hint: any valid cell will do)."""
        first = placed(self.objects[0], next(iter(self.layouts)))
        return canonical_caption(SceneRequest((first,), (), self.background))

    def first_question(self) -> str:
        """What the first image must show: that object (anywhere) on the right background."""
        o = self.objects[0]
        return canonical_caption(SceneRequest((single_object(o),), (), self.background))

    def accept_first(self, analyses: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The first candidate showing exactly that object, in a cell some arrangement allows."""
        for a in analyses:
            found = a.get("found", [])
            if not a.get("satisfied") or len(found) != 1:
                continue
            cell = (found[0]["row"], found[0]["col"])
            if cell in self.layouts:
                self.cells = self.layouts[cell]
                self.background = self.background or a.get("background")
                self.current, self.done = a["image_id"], 1
                where = ", ".join(
                    f"{self.objects[i].describe()} {position_phrase(c)}"
                    for i, c in enumerate(self.cells)
                )
                self.log.append(f"layout: {where}")
                return a
        return None

    # ------------------------------------------------------------------ steps k ≥ 1: inpainting

    def next_prompt(self) -> str:
        """The next object on the background, with the objects of its own group drawn so far.

        Other objects are left out (one binding for the model to get right, not several); alike
        ones are kept, else a model asked for "a red circle" beside a red circle it can already
        see mostly draws nothing (measured: 16 of 80 inpaintings right without them, 34 with).
        """
        k = self.done
        alike = [i for i in range(k + 1) if self.groups[i] == self.groups[k]]
        placed = tuple(self._placed(i) for i in alike)
        return canonical_caption(SceneRequest(placed, (), self.background))

    def next_region(self) -> str:
        return position_phrase(self.cells[self.done])

    def next_question(self) -> str:
        """Every object drawn so far plus the next one, each in its cell, and nothing else."""
        placed = tuple(self._placed(i) for i in range(self.done + 1))
        return canonical_caption(SceneRequest(placed, (), self.background))

    def accept_next(self, analyses: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The first candidate with every object so far in its cell and nothing more (a second
        object painted into the same cell would pass the per-object checks but break counts)."""
        for a in analyses:
            if a.get("satisfied") and len(a.get("found", [])) == self.done + 1:
                self.current, self.done = a["image_id"], self.done + 1
                return a
        return None

    def replan(self) -> bool:
        """After the next object failed in its cell: move it (and those after it) to another
        arrangement that keeps the objects already drawn where they are. False if none is left."""
        k = self.done
        tried = self.tried.setdefault(k, set())
        tried.add(self.cells[k])
        for cells in self.options:
            if cells[:k] == self.cells[:k] and cells[k] not in tried:
                self.cells = cells
                self.log.append(f"{self.describe_next()} instead")
                return True
        return False

    def describe_next(self) -> str:
        o = self.objects[self.done].describe()
        return f"{o} in the {self.next_region()}"
