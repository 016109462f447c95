"""Does an image show what was asked? `match(request, parsed)` compares a SceneRequest with a parsed
(or true) scene and returns a score in [0, 1], a verdict, and one human-readable check per part.

One check per requested object group (is it there, in exactly the asked number), per position,
per motion, per relation and for the background, and, judged strictly as a user would (the
default), one check that nothing else is there: an object no group asked for fails the picture.
The score is the fraction of checks that pass (GenEval-style). Objects are assigned to groups so
that the most checks pass, each object serving one group.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

from genlab.errors import InvalidArgument
from genlab.world.grammar import ObjectRequest, SceneRequest, parse_prompt
from genlab.world.lexicon import MOTION_WORDS, POSITION_WORDS
from genlab.world.spec import GRID, Scene

# Two objects are "left of"/"above" each other when their centers differ by more than this
# (fraction of the image side): neighbouring grid cells differ by 1/3, one cell's jitter by ≤ 0.02.
RELATION_MARGIN = 0.1
_MAX_FOUND = 12  # objects considered from a cluttered image (largest first)
_MAX_ASSIGNMENTS = 5000  # object-to-group assignments tried at most


@dataclass(frozen=True)
class Found:
    """An object as seen in a scene or image, the common ground of Scene, ParsedScene and tracks."""

    shape: str
    color: str
    size: str
    cx: float
    cy: float
    motion: str | None = None

    @property
    def cell(self) -> tuple[int, int]:
        return (
            min(max(int(self.cy * GRID), 0), GRID - 1),
            min(max(int(self.cx * GRID), 0), GRID - 1),
        )

    def describe(self) -> str:
        text = f"a {self.size} {self.color} {self.shape} in the {POSITION_WORDS[self.cell][0]}"
        if self.motion and self.motion != "still":
            text += " " + _motion_words(self.motion)
        return text


@dataclass
class Check:
    """One part of the request: what was asked, what was found, whether it holds, and why."""

    kind: str  # "object", "position", "motion", "relation" or "background"
    asked: str
    found: str
    ok: bool
    reason: str


@dataclass
class Match:
    score: float
    satisfied: bool
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "satisfied": self.satisfied,
            "checks": [asdict(c) for c in self.checks],
        }

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        head = f"score {self.score:.2f} ({'satisfied' if self.satisfied else 'not satisfied'})"
        return "\n".join(
            [head] + [("  ok   " if c.ok else "  FAIL ") + c.reason for c in self.checks]
        )


def found_objects(parsed) -> tuple[list[Found], str | None]:
    """Objects and background from a Scene, a ParsedScene, or a ParsedVideo-like object with
    `.objects` whose items have shape/color/size/center (and optionally motion)."""
    if isinstance(parsed, Scene):
        motions = parsed.motions if "motions" in parsed.extras else [None] * len(parsed.objects)
        out = [
            Found(o.shape, o.color, o.size, *o.center, m) for o, m in zip(parsed.objects, motions)
        ]
        return out, parsed.background
    objects = getattr(parsed, "objects", None)
    if objects is None:
        raise InvalidArgument("parsed", "a Scene or a parsed scene", type(parsed).__name__)
    items = sorted(objects, key=lambda o: -float(getattr(o, "area", 0.0)))[:_MAX_FOUND]
    out = [Found(o.shape, o.color, o.size, *o.center, getattr(o, "motion", None)) for o in items]
    return out, getattr(parsed, "background", None)


def _motion_words(motion: str) -> str:
    return MOTION_WORDS[motion][0] if motion in MOTION_WORDS else motion


def _holds(rel: str, a: Found, b: Found) -> bool:
    if rel == "beside":  # either side
        return _holds("left of", a, b) or _holds("right of", a, b)
    return {
        "left of": a.cx < b.cx - RELATION_MARGIN,
        "right of": a.cx > b.cx + RELATION_MARGIN,
        "above": a.cy < b.cy - RELATION_MARGIN,
        "below": a.cy > b.cy + RELATION_MARGIN,
    }[rel]


def _actual_relation(a: Found, b: Found) -> str:
    rels = [r for r in ("left of", "right of", "above", "below") if _holds(r, a, b)]
    return " and ".join(rels) if rels else "level with"


def _implies(h: ObjectRequest, g: ObjectRequest) -> bool:
    return all(
        b is None or a == b for a, b in ((h.shape, g.shape), (h.color, g.color), (h.size, g.size))
    )


def _closest(group: ObjectRequest, candidates: list[Found]) -> Found | None:
    """The found object agreeing with the group on most attributes (at least one)."""

    def agreement(f: Found) -> int:
        return sum(
            want is not None and want == got
            for want, got in ((group.shape, f.shape), (group.color, f.color), (group.size, f.size))
        )

    scored = [(agreement(f), i) for i, f in enumerate(candidates)]
    scored = [s for s in scored if s[0] > 0]
    return candidates[max(scored)[1]] if scored else None


def _checks_for(
    req: SceneRequest,
    found: list[Found],
    background: str | None,
    assignment: list[tuple[int, ...]],
    strict: bool = True,
) -> list[Check]:
    checks: list[Check] = []
    used = {i for chosen in assignment for i in chosen}
    for g, (group, chosen) in enumerate(zip(req.objects, assignment)):
        asked = group.describe()
        matching = [i for i, f in enumerate(found) if group.matches(f.shape, f.color, f.size)]
        # Objects of other groups that are necessarily also of this one ("a red circle" is a
        # circle) do not count as extra circles.
        shared = {
            i
            for h, other in enumerate(assignment)
            if h != g and _implies(req.objects[h], group)
            for i in other
        }
        n_found = len([i for i in matching if i not in shared])
        # Lenient reading: a count of one means "at least one" (GenEval's); two or more are exact.
        ok = len(chosen) == group.count and (
            n_found == group.count or (group.count == 1 and not strict)
        )
        if ok:
            reason = f"asked for {asked}, found " + ("it" if group.count == 1 else f"{n_found}")
        else:
            reason = f"asked for {asked}, found {n_found if n_found else 'none'}"
            if not n_found:
                near = _closest(group, [f for i, f in enumerate(found) if i not in used])
                if near is not None:
                    reason += f" (closest: {near.describe()})"
        checks.append(Check("object", asked, str(n_found), ok, reason))
        if group.position is not None:
            cells = [found[i].cell for i in chosen]
            ok = bool(chosen) and all(group.allows_cell(*c) for c in cells)
            where = ", ".join(POSITION_WORDS[c][0] for c in cells) or "nowhere"
            checks.append(
                Check(
                    "position",
                    f"{group.describe(1)} in the {group.position}",
                    where,
                    ok,
                    f"asked for {group.describe(1)} in the {group.position}, found "
                    + (f"it in the {where}" if chosen else "no such object"),
                )
            )
        if group.motion is not None:
            motions = [found[i].motion or "unknown" for i in chosen]
            ok = bool(chosen) and all(m == group.motion for m in motions)
            checks.append(
                Check(
                    "motion",
                    f"{group.describe(1)} {_motion_words(group.motion)}",
                    ", ".join(motions) or "nothing",
                    ok,
                    f"asked for {group.describe(1)} {_motion_words(group.motion)}, found "
                    + (
                        "it " + ", ".join(_motion_words(m) for m in motions)
                        if chosen
                        else "no such object"
                    ),
                )
            )
    extra = [f for i, f in enumerate(found) if i not in used]
    if strict and req.objects:
        described = "; ".join(f.describe() for f in extra)
        checks.append(
            Check(
                "extra",
                "nothing else",
                described or "nothing else",
                not extra,
                "found nothing that was not asked for"
                if not extra
                else f"found {len(extra)} object{'s' if len(extra) > 1 else ''} not asked for: "
                + described,
            )
        )
    for rel in req.relations:
        if rel.subject == rel.target:
            checks.append(
                _within_group_check(
                    req.objects[rel.subject], rel.relation, found, assignment[rel.subject]
                )
            )
            continue
        a_group, b_group = req.objects[rel.subject], req.objects[rel.target]
        asked = f"{a_group.describe()} {rel.relation} {b_group.describe()}"
        a_ids, b_ids = assignment[rel.subject], assignment[rel.target]
        pairs = [(found[i], found[j]) for i in a_ids for j in b_ids]
        ok = bool(pairs) and all(_holds(rel.relation, a, b) for a, b in pairs)
        if not pairs:
            missing = a_group if not a_ids else b_group
            got, reason = "missing", f"asked for {asked}, but found no {missing.describe(1)[2:]}"
        else:
            got = _actual_relation(*pairs[0]) if not ok else rel.relation
            bad = next(((a, b) for a, b in pairs if not _holds(rel.relation, a, b)), pairs[0])
            reason = (
                f"asked for {asked}, found that"
                if ok
                else f"asked for {asked}, found the {bad[0].color} {bad[0].shape} "
                f"{_actual_relation(*bad)} the {bad[1].color} {bad[1].shape}"
            )
        checks.append(Check("relation", asked, got, ok, reason))
    if req.background is not None:
        ok = background == req.background
        checks.append(
            Check(
                "background",
                req.background,
                str(background),
                ok,
                f"asked for a {req.background} background, found {background or 'none'}",
            )
        )
    return checks


def _within_group_check(group: ObjectRequest, relation: str, found: list[Found], ids) -> Check:
    """ "two circles, one above the other": every pair of the group's members, in either order."""
    asked = f"{group.describe()}, one {relation} the other"
    pairs = [(found[i], found[j]) for i, j in itertools.combinations(ids, 2)]
    ok = bool(pairs) and all(_holds(relation, a, b) or _holds(relation, b, a) for a, b in pairs)
    if not pairs:
        return Check(
            "relation", asked, "missing", False, f"asked for {asked}, found fewer than two"
        )
    if ok:
        return Check("relation", asked, relation, True, f"asked for {asked}, found that")
    a, b = next((a, b) for a, b in pairs if not (_holds(relation, a, b) or _holds(relation, b, a)))
    got = _actual_relation(a, b)
    return Check(
        "relation",
        asked,
        got,
        False,
        f"asked for {asked}, found the {a.color} {a.shape} {got} the {b.color} {b.shape}",
    )


def match(request, parsed, *, strict: bool = True) -> Match:
    """Compare what was asked (SceneRequest or prompt text) with what an image shows.

    parsed: a ParsedScene from parse_image, a Scene, or a parsed video with per-object motions.
    strict (default): exactly the objects asked for, in the asked numbers, and nothing else;
    False is the forgiving GenEval-style reading (a count of one is "at least one", objects
    nobody asked for are ignored), kept to compare with earlier reports.
    """
    if isinstance(request, str):
        request = parse_prompt(request).request
    if not isinstance(request, SceneRequest):
        raise InvalidArgument("request", "a SceneRequest or prompt text", type(request).__name__)
    found, background = found_objects(parsed)
    candidates = [
        [i for i, f in enumerate(found) if g.matches(f.shape, f.color, f.size)]
        for g in request.objects
    ]

    best: tuple[float, list[Check]] | None = None
    budget = [_MAX_ASSIGNMENTS]

    def search(g: int, taken: frozenset, assignment: list[tuple[int, ...]]) -> None:
        nonlocal best
        if budget[0] <= 0 and best is not None:
            return  # a cluttered image and a long request: keep the best assignment so far
        if g == len(request.objects):
            budget[0] -= 1
            checks = _checks_for(request, found, background, assignment, strict)
            score = sum(c.ok for c in checks)
            if best is None or score > best[0]:
                best = (score, checks)
            return
        free = [i for i in candidates[g] if i not in taken]
        k = min(request.objects[g].count, len(free))
        for chosen in itertools.combinations(free, k):
            search(g + 1, taken | set(chosen), assignment + [chosen])

    search(0, frozenset(), [])
    checks = best[1]
    score = sum(c.ok for c in checks) / len(checks) if checks else 1.0
    return Match(score, all(c.ok for c in checks), checks)
