"""Video post-processing: flow-based frame interpolation, temporal smoothing, upscaling (bicubic or a
small learned upscaler), and MP4 / GIF writers that store the generation parameters in the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from genlab.errors import CheckpointError, GenlabError, InvalidArgument, check_choice
from genlab.io import atomic_path
from genlab.nn import ModelConfig

VIDEO_EXTENSIONS = (".mp4", ".gif")
UPSCALER_KIND = "upscaler"


# --------------------------------------------------------------------------- frames


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


def check_factor(factor) -> int:
    if isinstance(factor, bool) or factor not in (2, 4):
        raise InvalidArgument("factor", "2 or 4", factor)
    return int(factor)


# --------------------------------------------------------------------------- interpolation


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) from frame a to frame b (Farnebäck 2003, OpenCV), in pixels."""
    import cv2

    ga, gb = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (a, b))
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 9, 3, 5, 1.1, 0)


def interpolate_frames(frames, factor: int = 2) -> np.ndarray:
    """Insert factor - 1 frames between each pair: T frames -> (T - 1)·factor + 1.

    Each in-between frame at time τ ∈ (0, 1) blends both neighbours warped along the flow F
    from a to b: I_τ(x) = (1 - τ)·a(x - τ F(x)) + τ·b(x + (1 - τ) F(x)), the linear-motion
    approximation of flow-based interpolation (e.g. Jiang et al. 2018, "Super SloMo", eq. 1).
    """
    import cv2

    frames, factor = as_frames(frames), check_factor(factor)
    T, H, W, _ = frames.shape
    grid_x, grid_y = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    out = [frames[0]]
    for a, b in zip(frames[:-1], frames[1:]):
        flow = optical_flow(a, b)
        for k in range(1, factor):
            tau = k / factor
            warp = dict(interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            wa = cv2.remap(a, grid_x - tau * flow[..., 0], grid_y - tau * flow[..., 1], **warp)
            wb = cv2.remap(
                b, grid_x + (1 - tau) * flow[..., 0], grid_y + (1 - tau) * flow[..., 1], **warp
            )
            mid = (1 - tau) * wa.astype(np.float32) + tau * wb.astype(np.float32)
            out.append(np.clip(mid + 0.5, 0, 255).astype(np.uint8))
        out.append(b)
    return np.stack(out)


def temporal_smoothing(frames, sigma: float = 0.7) -> np.ndarray:
    """Each frame becomes a Gaussian-weighted mean of its neighbours in time (σ in frames), which
    damps frame-to-frame flicker; edges use the frames that exist (weights renormalised)."""
    frames = as_frames(frames).astype(np.float32)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise InvalidArgument("sigma", "a number > 0 (frames)", sigma)
    radius = max(1, int(np.ceil(2 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    T = len(frames)
    out = np.empty_like(frames)
    for t in range(T):
        idx = t + offsets
        keep = (idx >= 0) & (idx < T)
        w = kernel[keep] / kernel[keep].sum()
        out[t] = np.tensordot(w, frames[idx[keep]], axes=1)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- upscaling


@dataclass
class UpscalerConfig(ModelConfig):
    """A small sub-pixel CNN (ESPCN, Shi et al. 2016) predicting the residual over bicubic."""

    arch = "upscaler"
    factor: int = 2
    channels: int = 32
    depth: int = 3


class Upscaler(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> (B, 3, fH, fW): bicubic + convs -> PixelShuffle residual."""

    def __init__(self, config: UpscalerConfig | None = None, **overrides):
        super().__init__()
        self.config = config = (config or UpscalerConfig()).replace(**overrides)
        layers, c_in = [], 3
        for _ in range(config.depth - 1):
            layers += [nn.Conv2d(c_in, config.channels, 3, padding=1), nn.SiLU()]
            c_in = config.channels
        layers += [
            nn.Conv2d(c_in, 3 * config.factor**2, 3, padding=1),
            nn.PixelShuffle(config.factor),
        ]
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(layers[-2].weight)  # starts as plain bicubic: the residual is 0
        nn.init.zeros_(layers[-2].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = nn.functional.interpolate(
            x, scale_factor=self.config.factor, mode="bicubic", align_corners=False
        )
        return base + self.body(x)


def bicubic_upscale(frames, factor: int = 2) -> np.ndarray:
    frames = as_frames(frames)
    check_factor(factor)
    _, H, W, _ = frames.shape
    return np.stack(
        [
            np.asarray(Image.fromarray(f).resize((W * factor, H * factor), Image.BICUBIC))
            for f in frames
        ]
    )


@torch.inference_mode()
def learned_upscale(frames, model: Upscaler) -> np.ndarray:
    """Upscale every frame with a trained Upscaler (its own factor)."""
    x = torch.from_numpy(as_frames(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1  # (T, 3, H, W)
    y = model.to("cpu").eval()(x).clamp(-1, 1)
    return ((y + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def load_upscaler(name_or_path: str = "world-upscaler") -> Upscaler:
    """A trained Upscaler from a bundled name or a checkpoint path (config kind 'upscaler')."""
    from genlab.io import load_checkpoint
    from genlab.pipelines.registry import resolve_path

    path = resolve_path(name_or_path)
    if path is None:
        raise InvalidArgument(
            "upscaler", "a bundled upscaler name or a checkpoint path", name_or_path
        )
    tensors, config = load_checkpoint(path, dtype=torch.float32)
    if config.get("kind") != UPSCALER_KIND:
        raise CheckpointError(f"{path}: not an upscaler checkpoint")
    model = Upscaler(UpscalerConfig.from_dict(config["model"]))
    model.load_state_dict(tensors)
    return model.eval()


def upscale(frames, factor: int = 2, method: str = "bicubic", model: Upscaler | None = None):
    """Upscale frames by `factor` with "bicubic" or "learned" (the bundled world upscaler)."""
    check_choice("method", method, ("bicubic", "learned"))
    if method == "bicubic":
        return bicubic_upscale(frames, factor)
    model = model or load_upscaler()
    if model.config.factor != factor:
        raise InvalidArgument("factor", f"{model.config.factor} (the upscaler's factor)", factor)
    return learned_upscale(frames, model)


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
    from fractions import Fraction

    import av

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
    import av

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
    from PIL import ImageSequence

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
        import av

        with av.open(str(path)) as container:
            text = container.metadata.get("comment")
    return json.loads(text) if text else None
