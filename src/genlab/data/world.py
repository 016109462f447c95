"""Datasets of the built-in world: (image, caption, scene) and (video, caption, scene), endless or
fixed-size, where item i is always the same (seeded by (seed, i)), plus a process-pool prerender.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace as dc_replace

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from genlab.data.parallel import spawn_map
from genlab.errors import InvalidArgument
from genlab.world.caption import caption, caption_and_request, random_template
from genlab.world.render import check_size, render
from genlab.world.sample import sample_scene
from genlab.world.spec import COLORS, HELD_OUT, RELATIONS, SHAPES, SIZES, Scene
from genlab.world.video import check_num_frames, render_video, sample_video_scene

_CHUNK = 1024  # scenes per process-pool task


def to_signed(images: np.ndarray) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0
    return t.movedim(-1, -3)


def world_item(
    seed: int,
    index: int,
    *,
    include_held_out: bool = False,
    n_objects=None,
    canonical=False,
    moving=False,
) -> tuple[Scene, str]:
    """Scene and caption number `index` of the stream seeded by `seed` (with `moving`, of the
    video stream: one motion per object, which the caption says)."""
    rng = np.random.default_rng([seed, index])
    sample = sample_video_scene if moving else sample_scene
    scene = sample(rng, n_objects=n_objects, exclude_held_out=not include_held_out)
    return scene, caption(scene, None if canonical else rng)


# Scene mix of text-to-image training (kind, share): the plain stream, then scenes of the sizes
# people ask for most (one or two objects), then 2-4 alike objects so that counts appear at all
# (in the plain stream, four objects of one shape are a 1-in-125 event).
BALANCED_MIX = (("any", 0.3), ("one", 0.2), ("two", 0.3), ("alike", 0.2))


def draw_kind(rng, mix) -> str:
    """One kind of a ((kind, share), ...) mix, drawn with one rng.random()."""
    u, kind = rng.random(), mix[-1][0]
    for name, share in mix:
        if u < share:
            return name
        u -= share
    return kind


def balanced_scene(rng) -> Scene:
    """A scene from BALANCED_MIX (held-out pairs excluded): rebalanced training data."""
    kind = draw_kind(rng, BALANCED_MIX)
    if kind == "any":
        return sample_scene(rng)
    if kind in ("one", "two"):
        return sample_scene(rng, n_objects=1 if kind == "one" else 2)
    return alike_scene(rng)


def alike_scene(rng) -> Scene:
    """2-4 objects of one shape, often of one color or one size: what counts are about."""
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    colors = [c for c in COLORS if (c, shape) not in HELD_OUT]
    if rng.random() < 0.5:  # one color for all, or any colors
        colors = [colors[int(rng.integers(len(colors)))]]
    sizes = [list(SIZES)[int(rng.integers(len(SIZES)))]] if rng.random() < 0.5 else None
    n = int(rng.integers(2, 5))
    return sample_scene(rng, n_objects=n, shapes=[shape], colors=colors, sizes=sizes)


def balanced_item(seed: int, index: int) -> tuple[Scene, str]:
    """Scene and full caption number `index` of the rebalanced text-to-image stream."""
    rng = np.random.default_rng([seed, index, 1])
    scene = balanced_scene(rng)
    return scene, caption(scene, rng)


# A fine-tuning mix for what the balanced stream leaves rare (kind, share): a quarter of it is
# balanced scenes (so that nothing is forgotten), the rest two objects stated by one relation
# chosen uniformly among those that hold (the plain captioner says "left of" for any diagonal
# pair, so "above" and "below" were written only for objects in one column: 1 relation caption in
# 8), alike objects stated by counts ("three circles") and two objects that differ in color and
# shape stated with both colors ("a red circle and a blue square").
FOCUS_MIX = (("balanced", 0.25), ("relation", 0.3), ("counts", 0.25), ("binding", 0.2))


def focus_scene(rng) -> tuple[Scene, str | None, str | None]:
    """A scene from FOCUS_MIX and how its captions must state it: (scene, detail, relation);
    detail None for the balanced share (any template)."""
    kind = draw_kind(rng, FOCUS_MIX)
    if kind == "balanced":
        return balanced_scene(rng), None, None
    if kind == "relation":
        relation = RELATIONS[int(rng.integers(len(RELATIONS)))]
        return sample_scene(rng, n_objects=2, relation=relation), "relation", relation
    if kind == "counts":
        return alike_scene(rng), "counts", None
    pairs = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in HELD_OUT]
    while True:  # binding: colors and shapes both differ (most draws: a few tries at most)
        picks = [pairs[int(i)] for i in rng.choice(len(pairs), size=2, replace=False)]
        if picks[0][0] != picks[1][0] and picks[0][1] != picks[1][1]:
            break
    scene = sample_scene(rng, n_objects=2)
    objects = tuple(dc_replace(o, color=c, shape=s) for o, (c, s) in zip(scene.objects, picks))
    return Scene(objects, scene.background), "objects", None


def focus_item(seed: int, index: int) -> tuple[Scene, str, str | None, str | None]:
    """Scene, full caption, detail and relation number `index` of the focus stream."""
    rng = np.random.default_rng([seed, index, 2])
    scene, detail, relation = focus_scene(rng)
    template = random_template(scene, rng, detail)
    return scene, caption_and_request(scene, rng, template, relation)[0], detail, relation


def video_item(seed: int, index: int, **options) -> tuple[Scene, str]:
    """Moving scene and caption number `index` of the video stream: world_item(moving=True)."""
    return world_item(seed, index, moving=True, **options)


class _WorldStream(Dataset):
    """Map-style and iterable at once: `ds[i]` for any i ≥ 0 (below `length` if one is set);
    `len(ds)` raises TypeError for an endless stream, as for any unsized iterable."""

    moving = False  # the scenes of the video stream (world_item's `moving`)

    def __init__(
        self,
        size: int = 32,
        length: int | None = None,
        seed: int = 0,
        include_held_out: bool = False,
        n_objects=None,
        canonical_captions: bool = False,
    ):
        self.size = check_size(size)
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or length < 1
        ):
            raise InvalidArgument("length", "a positive integer or None (endless)", length)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidArgument("seed", "an integer", seed)
        self.length, self.seed = length, seed
        self.include_held_out, self.n_objects = include_held_out, n_objects
        self.canonical_captions = canonical_captions

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"{type(self).__name__} is endless (length=None): it has no len()")
        return self.length

    def _check_index(self, index) -> int:
        index = int(index)
        if index < 0 or (self.length is not None and index >= self.length):
            raise IndexError(f"index {index} out of range for length {self.length}")
        return index

    def __iter__(self):
        indices = range(self.length) if self.length is not None else itertools.count()
        return (self[i] for i in indices)

    def _item(self, index) -> tuple[Scene, str]:
        return world_item(
            self.seed,
            self._check_index(index),
            include_held_out=self.include_held_out,
            n_objects=self.n_objects,
            canonical=self.canonical_captions,
            moving=self.moving,
        )


class WorldImageDataset(_WorldStream):
    """Items {"image": float (3, H, W) in [-1, 1], "caption": str, "scene": scene JSON}.

    include_held_out=False (training) never yields a held-out (color, shape) pair.
    canonical_captions=True gives the one canonical caption instead of random templates.
    """

    def __getitem__(self, index) -> dict:
        scene, text = self._item(index)
        image = to_signed(render(scene, self.size))
        return {"image": image, "caption": text, "scene": scene.to_json()}


class WorldVideoDataset(_WorldStream):
    """Items {"video": float (T, 3, H, W) in [-1, 1], "caption": str, "scene": scene JSON}; the
    scene's extras hold one motion per object, and the caption says how each moves."""

    moving = True

    def __init__(self, size: int = 32, num_frames: int = 8, **kwargs):
        super().__init__(size, **kwargs)
        self.num_frames = check_num_frames(num_frames)

    def __getitem__(self, index) -> dict:
        scene, text = self._item(index)
        video = to_signed(render_video(scene, self.num_frames, self.size))
        return {"video": video, "caption": text, "scene": scene.to_json()}


def _render_chunk(args) -> tuple[np.ndarray, list[str], list[str]]:
    kind, seed, start, stop, size, num_frames, include_held_out, canonical = args
    images, captions, scenes = [], [], []
    for i in range(start, stop):
        scene, text = world_item(
            seed, i, include_held_out=include_held_out, canonical=canonical, moving=kind == "video"
        )
        images.append(
            render(scene, size) if kind == "image" else render_video(scene, num_frames, size)
        )
        captions.append(text)
        scenes.append(scene.to_json())
    return np.stack(images), captions, scenes


def prerender(
    n: int,
    size: int = 32,
    seed: int = 0,
    workers: int | None = None,
    *,
    include_held_out: bool = False,
    canonical_captions: bool = False,
    progress: bool = False,
    chunk_size: int = _CHUNK,
    num_frames: int | None = None,
) -> dict:
    """The first n items of WorldImageDataset(size, seed=seed) (with `num_frames`, of
    WorldVideoDataset) rendered by a process pool: {"images": uint8 tensor (N, H, W, 3) or
    (N, T, H, W, 3), "captions": [str], "scenes": [scene JSON]}.

    workers: processes (default: every CPU; 1 renders in this process); each task renders
    chunk_size consecutive items, so the result does not depend on the number of workers.
    """
    kind = "image" if num_frames is None else "video"
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument("n", "a positive number of scenes", n)
    size = check_size(size)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgument("workers", "a positive number of processes", workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidArgument("chunk_size", "a positive number of scenes per task", chunk_size)
    tasks = [
        (
            kind,
            seed,
            s,
            min(s + chunk_size, n),
            size,
            num_frames,
            include_held_out,
            canonical_captions,
        )
        for s in range(0, n, chunk_size)
    ]

    bar = tqdm(total=n, desc=f"render {kind}s", unit=kind, disable=not progress)
    results = []
    for t, r in zip(tasks, spawn_map(_render_chunk, tasks, workers), strict=True):
        results.append(r)
        bar.update(t[3] - t[2])
    bar.close()
    images = torch.from_numpy(np.concatenate([r[0] for r in results]))
    captions = [c for r in results for c in r[1]]
    scenes = [s for r in results for s in r[2]]
    return {"images": images, "captions": captions, "scenes": scenes}


def prerender_videos(
    n: int, size: int = 32, num_frames: int = 8, seed: int = 0, workers: int | None = None, **kw
) -> dict:
    """prerender of WorldVideoDataset's clips (the same keyword options): "images" is uint8
    (N, T, H, W, 3)."""
    return prerender(n, size, seed, workers, num_frames=check_num_frames(num_frames), **kw)
