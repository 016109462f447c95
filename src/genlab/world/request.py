"""What a prompt or caption of the built-in world asks for: groups of alike objects
(ObjectRequest), relations between them, a background (SceneRequest); `request_of` a Scene.
"""

from __future__ import annotations

from dataclasses import dataclass

from genlab.errors import InvalidArgument
from genlab.world.lexicon import POSITION_WORDS, SIDE_RELATIONS
from genlab.world.phrasing import INVERSE, describe_object
from genlab.world.spec import RELATIONS, Scene, relation_between

DETAILS = ("full", "objects", "counts", "relation")
# Relations a request may hold: the world's four, and "beside" (left of or right of, either side).
REQUEST_RELATIONS = (*RELATIONS, *SIDE_RELATIONS)


@dataclass(frozen=True)
class ObjectRequest:
    """A group of `count` alike objects; None means "any" for that attribute."""

    shape: str | None = None
    color: str | None = None
    size: str | None = None
    count: int = 1
    row: int | None = None
    col: int | None = None
    motion: str | None = None

    def matches(self, shape: str, color: str, size: str) -> bool:
        """Whether an object with these attributes is one of this group (position aside)."""
        return (
            (self.shape is None or self.shape == shape)
            and (self.color is None or self.color == color)
            and (self.size is None or self.size == size)
        )

    def allows_cell(self, row: int, col: int) -> bool:
        return (self.row is None or self.row == row) and (self.col is None or self.col == col)

    def describe(self, count: int | None = None) -> str:
        """Canonical noun phrase without position: 'two small red circles', 'a blue object'."""
        return describe_object(self, self.count if count is None else count)

    @property
    def position(self) -> str | None:
        if self.row is None and self.col is None:
            return None
        return POSITION_WORDS[(self.row, self.col)][0]


@dataclass(frozen=True)
class RelationRequest:
    """objects[subject] <relation> objects[target], for every instance of both groups."""

    subject: int
    relation: str
    target: int


@dataclass(frozen=True)
class SceneRequest:
    objects: tuple[ObjectRequest, ...] = ()
    relations: tuple[RelationRequest, ...] = ()
    background: str | None = None

    @property
    def total_objects(self) -> int:
        return sum(o.count for o in self.objects)

    @property
    def has_motion(self) -> bool:
        """Whether some group is asked to move (its caption then reads "A while B")."""
        return any(o.motion is not None for o in self.objects)

    def normalized(self) -> SceneRequest:
        """The same request in a canonical order (sorted groups, 'left of'/'above' relations)."""

        def key(o: ObjectRequest):
            return tuple("" if v is None else str(v) for v in (o.row, o.col, *object_attrs(o)))

        order = sorted(range(len(self.objects)), key=lambda i: key(self.objects[i]))
        new_index = {old: new for new, old in enumerate(order)}
        relations = set()
        for r in self.relations:
            s, rel, t = new_index[r.subject], r.relation, new_index[r.target]
            if rel in ("right of", "below"):
                s, rel, t = t, INVERSE[rel], s
            relations.add(RelationRequest(s, rel, t))
        return SceneRequest(
            tuple(self.objects[i] for i in order),
            tuple(sorted(relations, key=lambda r: (r.subject, r.relation, r.target))),
            self.background,
        )


def object_attrs(o: ObjectRequest) -> tuple:
    """(shape, color, size, count, motion): what a group states, its cell aside."""
    return (o.shape, o.color, o.size, o.count, o.motion)


def group_alike(objects) -> list[ObjectRequest]:
    """Alike single objects (same stated shape, color, size, motion) as one group with a count,
    in order of first appearance: red circle, blue square, red circle -> two red circles, ..."""
    grouped: dict[tuple, int] = {}
    for o in objects:
        key = (o.shape, o.color, o.size, o.motion)
        grouped[key] = grouped.get(key, 0) + o.count
    return [ObjectRequest(s, c, z, n, motion=m) for (s, c, z, m), n in grouped.items()]


def request_of(
    scene: Scene,
    detail: str = "full",
    *,
    with_background: bool = True,
    with_motion: bool = True,
    relation: str | None = None,
) -> SceneRequest:
    """What a caption of `scene` says, at a level of detail.

    full: every object with its cell; objects: every object, no positions; counts: alike objects
    grouped ("two red circles"); relation: two objects and one relation between them, `relation`
    if given (it must hold), else the first that holds (left/right before above/below).
    """
    if detail not in DETAILS:
        raise InvalidArgument("detail", "one of " + ", ".join(DETAILS), detail)
    if relation is not None and detail != "relation":
        raise InvalidArgument("relation", "None unless detail is 'relation'", relation)
    motions = (
        scene.motions if with_motion and "motions" in scene.extras else [None] * len(scene.objects)
    )
    objects = []
    for o, motion in zip(scene.objects, motions):
        at = (o.row, o.col) if detail == "full" else (None, None)
        objects.append(ObjectRequest(o.shape, o.color, o.size, 1, *at, motion))
    relations: tuple[RelationRequest, ...] = ()
    if detail == "counts":
        objects = group_alike(objects)
    elif detail == "relation":
        if len(objects) != 2:
            raise InvalidArgument(
                "detail", "'relation' only for scenes of two objects", len(scene.objects)
            )
        holds = relation_between(*scene.objects)
        if relation is not None and relation not in holds:
            raise InvalidArgument(
                "relation", "one that holds between the two objects: " + ", ".join(holds), relation
            )
        relations = (RelationRequest(0, relation or holds[0], 1),)
    background = scene.background if with_background else None
    return SceneRequest(tuple(objects), relations, background)
