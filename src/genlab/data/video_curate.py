"""Video curation: decode clips, split at scene cuts (colour histograms), drop static segments (mean
Farnebäck flow), standardise fps / size / length, caption, and write WebDataset shards with counts.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from genlab.data.shards import ShardWriter
from genlab.errors import GenlabError, InvalidArgument, check_choice
from genlab.frames import optical_flow, read_video, write_video
from genlab.io import atomic_write_text
from genlab.world import Scene, canonical_caption, parse_image
from genlab.world.video import parse_video

VIDEO_EXTENSIONS = (".mp4", ".gif", ".avi", ".mov", ".webm", ".mkv")
COUNT_KEYS = ("files", "corrupt", "cuts", "segments", "static", "clips", "padded", "cropped")


@dataclass
class CurateConfig:
    """num_frames / size / fps: the standard every output clip has. A segment shorter than
    num_frames is padded by repeating its last frame; a longer one is cut into consecutive
    num_frames windows (the rest is dropped). Segments whose mean flow magnitude (pixels at the
    output size) is below `min_flow` are static and dropped; a histogram distance above
    `cut_threshold` between consecutive frames is a scene cut."""

    num_frames: int = 8
    size: int = 32
    fps: float = 8.0
    min_flow: float = 0.2
    cut_threshold: float = 0.5
    captioner: str | Callable = "world"
    workers: int = 1
    shard_size: int = 1000
    histogram_bins: int = 8
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if not isinstance(self.num_frames, int) or self.num_frames < 1:
            raise InvalidArgument("num_frames", "an integer ≥ 1", self.num_frames)
        if not isinstance(self.size, int) or self.size < 2 or self.size % 2:
            raise InvalidArgument("size", "an even integer ≥ 2", self.size)
        if not self.fps > 0:
            raise InvalidArgument("fps", "a number > 0", self.fps)
        if not self.min_flow >= 0:
            raise InvalidArgument("min_flow", "a number ≥ 0", self.min_flow)
        if not 0 < self.cut_threshold <= 2:
            raise InvalidArgument("cut_threshold", "a number in (0, 2]", self.cut_threshold)
        if not callable(self.captioner):
            check_choice("captioner", self.captioner, ("world", "none"))


# --------------------------------------------------------------------------- analysis steps


def color_histograms(frames: np.ndarray, bins: int = 8) -> np.ndarray:
    """(T, bins³) colour histograms of (T, H, W, 3) uint8 frames, each summing to 1."""
    q = (frames.astype(np.int64) * bins) // 256  # (T, H, W, 3) bin per channel
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hist = np.stack([np.bincount(i.ravel(), minlength=bins**3) for i in idx]).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def detect_cuts(frames: np.ndarray, threshold: float = 0.5, bins: int = 8) -> list[int]:
    """Frame indices where a new shot starts: the L1 distance (in [0, 2]) between the colour
    histograms of a frame and the one before exceeds `threshold`."""
    if len(frames) < 2:
        return []
    h = color_histograms(frames, bins)
    distance = np.abs(np.diff(h, axis=0)).sum(axis=1)  # (T - 1,)
    return [int(i) + 1 for i in np.flatnonzero(distance > threshold)]


def motion_score(frames: np.ndarray) -> float:
    """Mean optical-flow magnitude (pixels per frame) over consecutive frames (Farnebäck)."""
    if len(frames) < 2:
        return 0.0
    mags = [np.linalg.norm(optical_flow(a, b), axis=-1).mean() for a, b in zip(frames, frames[1:])]
    return float(np.mean(mags))


def resample_fps(frames: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Nearest-frame resampling in time from src_fps to dst_fps (same duration)."""
    if abs(src_fps - dst_fps) < 1e-6:
        return frames
    n = max(1, int(round(len(frames) * dst_fps / src_fps)))
    idx = np.minimum((np.arange(n) * src_fps / dst_fps + 1e-6).astype(int), len(frames) - 1)
    return frames[idx]


def resize_square(frames: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to a square, then resize to size × size (area filter when shrinking)."""
    T, H, W, _ = frames.shape
    s = min(H, W)
    top, left = (H - s) // 2, (W - s) // 2
    crop = frames[:, top : top + s, left : left + s]
    if s == size:
        return crop
    method = Image.BOX if s > size else Image.BICUBIC
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), method)) for f in crop])


def standard_lengths(frames: np.ndarray, num_frames: int) -> tuple[list[np.ndarray], str]:
    """Windows of exactly num_frames: ([padded], "padded"), ([w1, w2, ...], "cropped"), or
    ([frames], "exact")."""
    T = len(frames)
    if num_frames > T:
        pad = np.repeat(frames[-1:], num_frames - T, axis=0)
        return [np.concatenate([frames, pad])], "padded"
    windows = [frames[s : s + num_frames] for s in range(0, T - num_frames + 1, num_frames)]
    return windows, "exact" if num_frames == T else "cropped"


def world_video_captioner(frames: np.ndarray) -> str | None:
    """The scene parser tracked across frames: objects of the first frame with their motions, as
    the canonical caption; None when the first frame is not a valid world scene."""
    scene = parse_image(frames[0]).to_scene()
    if scene is None:
        return None
    tracked = parse_video(frames).objects  # tracks start from the first frame's objects, in order
    motions = [o.motion for o in tracked[: len(scene.objects)]]
    return canonical_caption(Scene(scene.objects, scene.background, {"motions": motions}))


# --------------------------------------------------------------------------- one file


def curate_file(path: str | Path, config: CurateConfig) -> tuple[list[dict], Counter]:
    """All output clips of one file ({"frames", "caption", "meta"}) and the file's counts."""
    counts: Counter = Counter(files=1)
    try:
        frames, fps = read_video(path)
    except GenlabError:
        counts["corrupt"] += 1
        return [], counts
    cuts = detect_cuts(frames, config.cut_threshold, config.histogram_bins)
    counts["cuts"] += len(cuts)
    bounds = [0, *cuts, len(frames)]
    captioner = config.captioner
    if captioner == "world":
        captioner = world_video_captioner
    clips = []
    for seg, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        counts["segments"] += 1
        segment = resize_square(resample_fps(frames[start:stop], fps, config.fps), config.size)
        score = motion_score(segment)
        if score < config.min_flow:
            counts["static"] += 1
            continue
        windows, how = standard_lengths(segment, config.num_frames)
        if how != "exact":
            counts[how] += 1
        for w, clip in enumerate(windows):
            text = captioner(clip) if callable(captioner) else None
            meta = {
                "source": Path(path).name,
                "segment": seg,
                "window": w,
                "start_frame": start,
                "motion_score": round(score, 4),
                "fps": config.fps,
                "standardised": how,
            }
            clips.append({"frames": clip, "caption": text or "", "meta": meta})
            counts["clips"] += 1
    return clips, counts


def _curate_job(job):
    path, config = job
    return str(path), *curate_file(path, config)


# --------------------------------------------------------------------------- the pipeline


def curate_videos(source: str | Path, out_dir: str | Path, config: CurateConfig | None = None):
    """Curate every clip under `source` into WebDataset shards in `out_dir` (`key.mp4`, `key.txt`,
    `key.json`) and a manifest.json; returns the counts per step (files, corrupt, cuts, segments,
    static, clips, padded, cropped). Corrupt files are skipped and counted, never fatal."""
    config = config or CurateConfig()
    config.validate()
    source = Path(source)
    if not source.is_dir():
        raise InvalidArgument("source", "a directory of video files", str(source))
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
    if not files:
        raise InvalidArgument(
            "source", "a directory with " + ", ".join(VIDEO_EXTENSIONS), str(source)
        )
    counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
    jobs = [(p, config) for p in files]
    if config.workers > 1 and not callable(config.captioner):
        pool = ProcessPoolExecutor(max_workers=config.workers)
        results = pool.map(_curate_job, jobs)
    else:
        pool, results = None, map(_curate_job, jobs)
    out_dir = Path(out_dir)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ShardWriter(out_dir, "clips", config.shard_size) as writer,
    ):
        bar = tqdm(results, total=len(files), desc="curating videos", unit="file")
        for path, clips, file_counts in bar:
            counts.update(file_counts)
            bar.set_postfix(
                clips=counts["clips"], static=counts["static"], corrupt=counts["corrupt"]
            )
            for clip in clips:
                m = clip["meta"]
                key = f"{Path(path).stem}-s{m['segment']:03d}-w{m['window']:03d}"
                mp4 = write_video(Path(tmp) / "clip.mp4", clip["frames"], config.fps)
                writer.write(key, mp4.read_bytes(), clip["caption"], m, ext=".mp4")
    if pool is not None:
        pool.shutdown()
    summary = dict(counts)
    manifest = {"counts": summary, "shards": writer.shards, "config": _config_json(config)}
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2))
    return summary


def _config_json(config: CurateConfig) -> dict:
    d = {k: v for k, v in vars(config).items() if k != "captioner"}
    d["captioner"] = config.captioner if isinstance(config.captioner, str) else "custom"
    d["workers"] = os.cpu_count() if config.workers is None else config.workers
    return d
