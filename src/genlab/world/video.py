"""Videos of the built-in world: scenes whose objects move (left/right/up/down by one cell, bounce,
grow, shrink), their rendering frame by frame, the parser across frames (tracks -> motions), and
the strict judge of a video against its prompt (`judge_video`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from genlab.errors import InvalidArgument
from genlab.frames import as_frames
from genlab.world.grammar import SceneRequest, parse_prompt
from genlab.world.lexicon import MOTION_WORDS
from genlab.world.match import Check, Match, found_objects, match
from genlab.world.motion import (  # noqa: F401  (public here too: genlab.world.video.DIRECTIONS)
    DIRECTIONS,
    motion_feasible,
    motion_feasible_at,
    motion_target,
    start_size,
    target_cell,
)
from genlab.world.parser import ParsedObject, parse_image
from genlab.world.render import blank, check_size, draw, to_uint8
from genlab.world.sample import as_generator, sample_scene
from genlab.world.spec import GRID, MOTIONS, SIZES, Obj, Scene

STEP = 1 / GRID  # left/right/up/down move the object by one cell over the clip
BOUNCE_HEIGHT = 0.6 / GRID  # a bounce rises into the cell above and comes back, twice
BOUNCES = 2
MIN_FRAMES, MAX_FRAMES = 2, 32


def keyframe_fit(prompt: str, image) -> float:
    """How well `image` can start a world video of `prompt`, in [0, 1]: the mean of the scene
    matcher's score for the still picture (objects, counts, relations; motions left out) and the
    fraction of the asked motions the world could play from where (and at what size) the parser
    finds their objects. A keyframe model that ignores motion words draws, say, "a red circle
    moving left" in the left column as often as elsewhere, and a video model given that frame can
    only leave it still or move it the other way; choosing among keyframes by this fit avoids it.
    """
    request = parse_prompt(prompt).request
    if not isinstance(request, SceneRequest) or not request.objects:
        raise InvalidArgument("prompt", "a prompt naming objects of the built-in world", prompt)
    still = replace(request, objects=tuple(replace(o, motion=None) for o in request.objects))
    parsed = parse_image(image)
    score = match(still, parsed).score
    found, _ = found_objects(parsed)
    moving = [o for o in request.objects if o.motion is not None]
    if not moving:
        return float(score)
    feasible = 0
    for group in moving:
        mine = [group.matches(f.shape, f.color, f.size) for f in found]
        reserved = {f.cell for f, m in zip(found, mine) if not m}
        feasible += any(
            motion_feasible_at(*f.cell, f.size, group.motion, reserved)
            for f, m in zip(found, mine)
            if m
        )
    return 0.5 * float(score) + 0.5 * feasible / len(moving)


def object_state(obj: Obj, motion: str, t: float) -> tuple[float, float, float]:
    """(cx, cy, radius) of `obj` at time t in [0, 1] of the clip."""
    cx, cy = obj.center
    radius = obj.radius
    if motion in DIRECTIONS:
        dr, dc = DIRECTIONS[motion]
        cx, cy = cx + dc * STEP * t, cy + dr * STEP * t
    elif motion == "bounce":
        cy -= BOUNCE_HEIGHT * abs(math.sin(math.pi * BOUNCES * t))
    elif motion in ("grow", "shrink"):
        lo, hi = min(SIZES.values()), max(SIZES.values())
        a, b = (lo, hi) if motion == "grow" else (hi, lo)
        radius = a + (b - a) * t
    return cx, cy, radius


def sample_video_scene(rng, *, motions=None, n_objects=None, **scene_kwargs) -> Scene:
    """A scene plus one motion per object in scene.extras["motions"].

    motions: the allowed motion names (default: all of spec.MOTIONS). Objects whose motions would
    collide are given another; grow starts small and shrink starts large (sizes are adjusted).
    Other keyword arguments go to sample_scene (relation, exclude_held_out, colors, ...).
    """
    rng = as_generator(rng)
    allowed = list(MOTIONS) if motions is None else list(motions)
    for m in allowed:
        if m not in MOTIONS:
            raise InvalidArgument("motions", "names from " + ", ".join(MOTIONS), m)
    if not allowed:
        raise InvalidArgument("motions", "at least one motion", allowed)
    scene = sample_scene(rng, n_objects=n_objects, **scene_kwargs)
    reserved = {(o.row, o.col) for o in scene.objects}
    objects, chosen = [], []
    for o in scene.objects:
        options = []
        for m in allowed:
            resized = o
            if start_size(m) is not None:
                resized = replace(o, size=start_size(m))
            if motion_feasible(resized, m, reserved):
                options.append((m, resized))
        if not options:  # every allowed motion is blocked here: stay still
            options = [("still", o)]
        m, o = options[int(rng.integers(len(options)))]
        target = motion_target(o, m)
        if target is not None:
            reserved.add(target)
        objects.append(o)
        chosen.append(m)
    return Scene(tuple(objects), scene.background, {"motions": chosen})


def check_num_frames(num_frames) -> int:
    if (
        isinstance(num_frames, bool)
        or not isinstance(num_frames, int | np.integer)
        or not MIN_FRAMES <= num_frames <= MAX_FRAMES
    ):
        raise InvalidArgument("num_frames", f"an integer in {MIN_FRAMES}..{MAX_FRAMES}", num_frames)
    return int(num_frames)


def render_video(scene: Scene, num_frames: int = 8, size: int = 32) -> np.ndarray:
    """Frames of `scene` with its motions: (T, size, size, 3) uint8, deterministic."""
    num_frames, size = check_num_frames(num_frames), check_size(size)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    motions = scene.motions
    for k in range(num_frames):
        t = k / (num_frames - 1)
        canvas = blank(scene.background, size)
        for o, m in zip(scene.objects, motions):
            draw(canvas, o.shape, o.color, *object_state(o, m, t))
        frames[k] = to_uint8(canvas)
    return frames


# --------------------------------------------------------------------------- parsing videos


@dataclass
class Track:
    """One object followed across frames: its detection in each frame (None where it was lost)."""

    detections: list[ParsedObject | None]

    @property
    def first(self) -> ParsedObject:
        return next(d for d in self.detections if d is not None)

    def centers(self) -> np.ndarray:
        return np.array([d.center for d in self.detections if d is not None])  # (T', 2)

    def areas(self) -> np.ndarray:
        return np.array([d.area for d in self.detections if d is not None])

    def majority(self, attribute: str) -> str:
        """The value of an attribute seen in most frames (one misread frame does not count)."""
        values = [getattr(d, attribute) for d in self.detections if d is not None]
        return max(
            set(values), key=lambda v: (values.count(v), v == getattr(self.first, attribute))
        )


@dataclass
class TrackedObject:
    """A video object: attributes from its first frame, plus its motion (for `match`)."""

    shape: str
    color: str
    size: str
    center: tuple[float, float]
    motion: str
    area: float
    track: Track = field(repr=False)


@dataclass
class ParsedVideo:
    objects: list[TrackedObject]
    background: str
    num_frames: int

    def frame_objects(self, k: int) -> list:
        """Every object the parser found in frame k (each frame's detections all sit in tracks)."""
        return [o.track.detections[k] for o in self.objects if o.track.detections[k] is not None]

    def to_dict(self) -> dict:
        return {
            "background": self.background,
            "num_frames": self.num_frames,
            "objects": [
                {
                    "shape": o.shape,
                    "color": o.color,
                    "size": o.size,
                    "center": list(o.center),
                    "motion": o.motion,
                    "frames_seen": sum(d is not None for d in o.track.detections),
                }
                for o in self.objects
            ],
        }


def track_objects(frames) -> tuple[list[Track], str]:
    """Parse every frame and link detections frame to frame (same color, nearest center).

    frames: (T, H, W, 3) uint8 array or a list of images. Returns (tracks, background).
    """
    parsed = [parse_image(f) for f in frames]
    if not parsed:
        raise InvalidArgument("frames", "at least one frame", 0)
    tracks = [Track([d]) for d in parsed[0].objects]
    for k, frame in enumerate(parsed[1:], start=1):
        free = list(frame.objects)
        for tr in tracks:
            last = next((d for d in reversed(tr.detections) if d is not None), None)
            options = [d for d in free if d.color == last.color]
            if options:
                d = min(options, key=lambda d: math.dist(d.center, last.center))
                if math.dist(d.center, last.center) < 2 * STEP:
                    free.remove(d)
                    tr.detections.append(d)
                    continue
            tr.detections.append(None)
        tracks.extend(Track([None] * k + [d]) for d in free)  # objects that appeared late
    return tracks, parsed[0].background


def classify_motion(track: Track) -> str:
    """The motion name that best explains a track's centers and radii over time."""
    centers, areas = track.centers(), track.areas()
    if len(centers) < 2:
        return "still"
    # Areas, not fitted radii: the area does not depend on which shape the fit picked.
    ratio = math.sqrt(areas[-1] / areas[0])
    growth = max(SIZES.values()) / min(SIZES.values())
    if ratio > growth**0.5:
        return "grow"
    if ratio < growth**-0.5:
        return "shrink"
    dx, dy = centers[-1] - centers[0]
    if max(abs(dx), abs(dy)) > STEP / 2:
        if abs(dx) >= abs(dy):
            return "right" if dx > 0 else "left"
        return "down" if dy > 0 else "up"
    if centers[0, 1] - centers[:, 1].min() > BOUNCE_HEIGHT / 2:
        return "bounce"
    return "still"


def parse_video(frames) -> ParsedVideo:
    """Objects of a world video with their motions; `match` accepts the result."""
    tracks, background = track_objects(frames)
    objects = []
    for tr in tracks:
        d = tr.first
        shape, color = tr.majority("shape"), tr.majority("color")
        objects.append(
            TrackedObject(shape, color, d.size, d.center, classify_motion(tr), d.area, tr)
        )
    return ParsedVideo(objects, background, len(tracks[0].detections) if tracks else 0)


# --------------------------------------------------------------------------- judging videos

# A motion's extent in units of the world's own (one cell of travel, small <-> large, one bounce
# height): a video passes the speed check when each asked motion's extent is in this range. The
# lower end is where classify_motion starts to name the motion; the upper end is half a cell (or
# size step) too far: too fast for the clip.
SPEED_RANGE = (0.5, 1.5)


def end_size(motion: str | None, size: str | None) -> str | None:
    """The size an object has at the last frame: growing ends large, shrinking small."""
    return {"grow": "large", "shrink": "small"}.get(motion or "", size)


def motion_extent(track: Track, motion: str) -> float:
    """How far a track carries `motion`, 1.0 being the world's own: cells travelled along the
    motion's direction, the change of size in steps from small to large (log of the radius
    ratio), or the bounce's peak height; 0 for "still" and for a track seen in one frame."""
    centers, areas = track.centers(), track.areas()
    if len(centers) < 2 or motion == "still":
        return 0.0
    if motion in DIRECTIONS:
        dr, dc = DIRECTIONS[motion]
        dx, dy = centers[-1] - centers[0]
        return float((dx * dc + dy * dr) / STEP)
    if motion in ("grow", "shrink"):
        growth = max(SIZES.values()) / min(SIZES.values())
        ratio = math.sqrt(max(areas[-1], 1e-9) / max(areas[0], 1e-9))
        return math.log(ratio) / math.log(growth) * (1 if motion == "grow" else -1)
    if motion == "bounce":
        return float((centers[0, 1] - centers[:, 1].min()) / BOUNCE_HEIGHT)
    raise InvalidArgument("motion", "one of " + ", ".join(MOTIONS), motion)


def frame_request(request, which: str):
    """What the first or last frame of a video of `request` must show, as a still request:
    the asked objects without their motions; at the last frame a growing or shrinking object
    has its end size (when a size was asked), and a translated one has left its asked cell
    (its position, and relations that involve it, are not checked there)."""

    if which not in ("first", "last"):
        raise InvalidArgument("which", "'first' or 'last'", which)
    if not isinstance(request, SceneRequest):
        raise InvalidArgument("request", "a SceneRequest", type(request).__name__)
    if which == "first":
        objects = tuple(replace(o, motion=None) for o in request.objects)
        return replace(request, objects=objects)
    moved = {g for g, o in enumerate(request.objects) if o.motion in DIRECTIONS}
    objects = tuple(
        replace(
            o,
            motion=None,
            size=o.size and end_size(o.motion, o.size),
            row=None if g in moved else o.row,
            col=None if g in moved else o.col,
        )
        for g, o in enumerate(request.objects)
    )
    relations = tuple(r for r in request.relations if not {r.subject, r.target} & moved)
    return replace(request, objects=objects, relations=relations)


def judge_video(request, frames, *, strict: bool = True):
    """Does a world video show what was asked? A `genlab.world.match.Match` (score, verdict,
    one check per part) of the tracked video against `request` (SceneRequest or prompt text).

    strict (default), as a user would judge: exactly the objects asked for and nothing else over
    the whole clip (an object that appears, splits or changes color midway is a track of its own,
    so an extra object); each asked motion found, its direction right and its extent (speed over
    the clip) in SPEED_RANGE; and the first and last frames each showing exactly the asked
    objects with their asked attributes (`frame_request`). False: the forgiving reading of
    `match(strict=False)` (the asked objects and motions found, others ignored).
    """
    if isinstance(request, str):
        request = parse_prompt(request).request
    if not isinstance(request, SceneRequest):
        raise InvalidArgument("request", "a SceneRequest or prompt text", type(request).__name__)
    clip = as_frames(frames)
    parsed = parse_video(clip)
    result = match(request, parsed, strict=strict)
    if not strict:
        return result
    checks = list(result.checks)
    for group in request.objects:
        if group.motion is None or group.motion == "still":
            continue
        movers = [
            o
            for o in parsed.objects
            if group.matches(o.shape, o.color, o.size) and o.motion == group.motion
        ]
        extents = [motion_extent(o.track, group.motion) for o in movers]
        ok = bool(extents) and all(SPEED_RANGE[0] <= e <= SPEED_RANGE[1] for e in extents)
        asked = f"{group.describe(1)} {MOTION_WORDS[group.motion][0]}, one step over the clip"
        found = ", ".join(f"{e:.2f}" for e in extents) or "no such motion"
        reason = f"asked for {asked}, found " + (
            f"{found} step{'s' if extents != [1.0] else ''}" if extents else "no object doing so"
        )
        checks.append(Check("speed", asked, found, ok, reason))
    for which, k in (("first", 0), ("last", len(clip) - 1)):
        still = match(frame_request(request, which), parse_image(clip[k]), strict=True)
        problems = "; ".join(c.reason for c in still.failures)
        checks.append(
            Check(
                f"{which} frame",
                f"exactly the asked objects in the {which} frame",
                "as asked" if still.satisfied else problems,
                still.satisfied,
                f"{which} frame: " + ("shows what was asked" if still.satisfied else problems),
            )
        )
    score = sum(c.ok for c in checks) / len(checks) if checks else 1.0
    return Match(score, all(c.ok for c in checks), checks)
