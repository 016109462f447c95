"""Video post-processing: flow-based frame interpolation, temporal smoothing, upscaling (bicubic or a
small learned upscaler). The MP4 / GIF reader and writers live in genlab/frames.py (re-exported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from genlab.errors import InvalidArgument, check_choice
from genlab.frames import (  # noqa: F401  (public here too: genlab.pipelines.postprocess.write_video)
    VIDEO_EXTENSIONS,
    as_frames,
    check_fps,
    check_video_path,
    optical_flow,
    read_video,
    read_video_params,
    write_video,
)
from genlab.nn import ModelConfig
from genlab.pipelines.registry import load_network

UPSCALER_KIND = "upscaler"


# --------------------------------------------------------------------------- frames


def check_factor(factor) -> int:
    if isinstance(factor, bool) or factor not in (2, 4):
        raise InvalidArgument("factor", "2 or 4", factor)
    return int(factor)


# --------------------------------------------------------------------------- interpolation


def interpolate_frames(frames, factor: int = 2) -> np.ndarray:
    """Insert factor - 1 frames between each pair: T frames -> (T - 1)·factor + 1.

    Each in-between frame at time τ ∈ (0, 1) blends both neighbours warped along the flow F
    from a to b: I_τ(x) = (1 - τ)·a(x - τ F(x)) + τ·b(x + (1 - τ) F(x)), the linear-motion
    approximation of flow-based interpolation (e.g. Jiang et al. 2018, "Super SloMo", eq. 1).
    """
    import cv2  # optional: the data extra (OpenCV)

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
    return load_network(name_or_path, UPSCALER_KIND, Upscaler, UpscalerConfig, arg="upscaler")


def upscale(frames, factor: int = 2, method: str = "bicubic", model: Upscaler | None = None):
    """Upscale frames by `factor` with "bicubic" or "learned" (the bundled world upscaler)."""
    check_choice("method", method, ("bicubic", "learned"))
    if method == "bicubic":
        return bicubic_upscale(frames, factor)
    model = model or load_upscaler()
    if model.config.factor != factor:
        raise InvalidArgument("factor", f"{model.config.factor} (the upscaler's factor)", factor)
    return learned_upscale(frames, model)
