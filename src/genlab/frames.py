"""Video frames and files: frames as (T, H, W, 3) uint8 arrays, dense optical flow, and the MP4 /
GIF reader and writers that keep the generation parameters in the file's comment.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageSequence

from genlab.errors import GenlabError, InvalidArgument
from genlab.io import atomic_path

VIDEO_EXTENSIONS = (".mp4", ".gif")


def as_frames(frames) -> np.ndarray:
    """A list of PIL images / (H, W, 3) uint8 arrays, or a (T, H, W, 3) array -> (T, H, W, 3) uint8."""
    if isinstance(frames, np.ndarray) and frames.ndim == 4:
        arr = frames
    else:
        frames = list(frames)
        if not frames:
            raise InvalidArgument("frames", "at least one frame", 0)
        arr = np.stack(
            [np.asarray(f.convert("RGB") if isinstance(f, Image.Image) else f) for f in frames]
        )
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8 or len(arr) == 0:
        raise InvalidArgument("frames", "(T, H, W, 3) uint8 frames", (arr.shape, str(arr.dtype)))
    return arr


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) from frame a to frame b (Farnebäck 2003, OpenCV), in pixels."""
    import cv2  # optional: the data extra (OpenCV)

    ga, gb = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (a, b))
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 9, 3, 5, 1.1, 0)


# --------------------------------------------------------------------------- writers


def check_video_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise InvalidArgument("out", "a path ending in " + " or ".join(VIDEO_EXTENSIONS), str(path))
    return path


def check_fps(fps) -> float:
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0 or fps > 240:
        raise InvalidArgument("fps", "a number of frames per second in (0, 240]", fps)
    return float(fps)


def write_video(
    path: str | os.PathLike, frames, fps: float = 8, params: dict[str, Any] | None = None
) -> Path:
    """Write frames to .mp4 (H.264 through PyAV, yuv420p, sides padded to even) or .gif (looping),
    atomically, with `params` plus fps as JSON in the file's comment (`read_video_params`)."""
    path = check_video_path(path)
    frames, fps = as_frames(frames), check_fps(fps)
    comment = json.dumps({**(params or {}), "fps": fps}, sort_keys=True, default=str)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            _write_gif(tmp, frames, fps, comment)
        else:
            _write_mp4(tmp, frames, fps, comment)
    return path


def _write_gif(tmp: Path, frames: np.ndarray, fps: float, comment: str) -> None:
    pils = [Image.fromarray(f) for f in frames]
    pils[0].save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=pils[1:],
        duration=int(round(1000 / fps)),
        loop=0,
        comment=comment.encode("utf-8"),
        optimize=False,
    )


def _write_mp4(tmp: Path, frames: np.ndarray, fps: float, comment: str) -> None:
    import av  # optional: the data extra (PyAV, FFmpeg)

    T, H, W, _ = frames.shape
    # H.264 with 4:2:0 chroma needs even sides: repeat the last row / column where odd.
    frames = np.pad(frames, ((0, 0), (0, H % 2), (0, W % 2), (0, 0)), mode="edge")
    with av.open(str(tmp), mode="w", format="mp4") as container:
        container.metadata["comment"] = comment
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "medium"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """(frames (T, H, W, 3) uint8, fps) of a video file; GenlabError if it cannot be decoded."""
    import av  # optional: the data extra (PyAV, FFmpeg)

    path = Path(path)
    if not path.is_file():
        raise InvalidArgument("video", "an existing file", str(path))
    if path.suffix.lower() == ".gif":
        return _read_gif(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 8.0
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    except (av.FFmpegError, IndexError, ValueError) as e:
        raise GenlabError(f"video: cannot decode {path} ({type(e).__name__}: {e})") from None
    if not frames:
        raise GenlabError(f"video: {path} holds no frames")
    return np.stack(frames), fps


def _read_gif(path: Path) -> tuple[np.ndarray, float]:
    """GIF frames through Pillow. Pillow merges identical consecutive frames into one longer
    frame when writing; at the fps stored in the comment each is expanded back."""
    try:
        with Image.open(path) as im:
            text = im.info.get("comment")
            durations, frames = [], []
            for f in ImageSequence.Iterator(im):
                durations.append(f.info.get("duration") or 100)
                frames.append(np.asarray(f.convert("RGB")))
    except (OSError, ValueError, SyntaxError) as e:
        raise GenlabError(f"video: cannot decode {path} ({type(e).__name__}: {e})") from None
    try:
        fps = float(json.loads(text)["fps"]) if text else 0.0
    except (ValueError, KeyError, TypeError):
        fps = 0.0
    fps = fps or 1000 / min(durations)
    counts = [max(1, round(d * fps / 1000)) for d in durations]
    return np.stack([f for f, n in zip(frames, counts) for _ in range(n)]), fps


def read_video_params(path: str | os.PathLike) -> dict[str, Any] | None:
    """The generation parameters `write_video` stored in an .mp4 or .gif, or None."""
    path = check_video_path(path)
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            text = im.info.get("comment")
        text = text.decode("utf-8") if isinstance(text, bytes) else text
    else:
        import av  # optional: the data extra (PyAV, FFmpeg)

        with av.open(str(path)) as container:
            text = container.metadata.get("comment")
    return json.loads(text) if text else None
