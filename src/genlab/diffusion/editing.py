"""Editing with any sampler: img2img (noise an image part-way, then denoise, as in SDEdit, Meng
et al. 2022) and inpainting (known pixels re-imposed at every step at the current noise level).
"""

from __future__ import annotations

import math

import torch

from genlab.diffusion.schedules import NoiseSchedule
from genlab.errors import InvalidArgument, check_range


def img2img_timesteps(timesteps: torch.Tensor, strength: float) -> torch.Tensor:
    """The last round(strength · n) timesteps (halves round up; at least one): strength 1 keeps
    all of them, strength 0.5 of 20 steps runs the last 10."""
    n = len(timesteps)
    keep = max(1, min(n, math.floor(n * strength + 0.5)))
    return timesteps[n - keep :]


def impose_known(
    x: torch.Tensor,
    known: torch.Tensor,
    mask: torch.Tensor,
    noise: torch.Tensor,
    schedule: NoiseSchedule,
    t: int | None,
) -> torch.Tensor:
    """x where mask = 1; elsewhere `known` noised to timestep t with the run's initial noise
    (t None: clean, after the last step). Reusing one noise keeps DDIM (η = 0) deterministic."""
    level = known if t is None else schedule.add_noise(known, noise, t)
    return mask * x + (1 - mask) * level


def check_edit_args(shape, strength, init, mask, known, like: torch.Tensor):
    """Validate img2img / inpainting inputs against the output `shape`; return (init, mask,
    known) moved to `like`'s device and dtype, with the mask as 0/1 floats."""
    if strength is not None:
        check_range("strength", strength, 0, 1, low_open=True)
        if init is None:
            raise InvalidArgument("init", "an image tensor when strength is given", None)
    if init is not None:
        if strength is None:
            raise InvalidArgument("strength", "a value in (0, 1] when init is given", None)
        init = _broadcast("init", init, shape).to(like.device, like.dtype)
    if (mask is None) != (known is None):
        missing = "known" if known is None else "mask"
        raise InvalidArgument(missing, "a tensor (inpainting needs both mask and known)", None)
    if mask is not None:
        if mask.ndim != len(shape) or tuple(mask.shape[-2:]) != tuple(shape[-2:]):
            raise InvalidArgument(
                "mask",
                f"a tensor broadcastable to {tuple(shape)} (same height and width)",
                tuple(mask.shape),
            )
        mask = _broadcast("mask", mask, shape).to(like.device, like.dtype)
        if mask.min() < 0 or mask.max() > 1:
            raise InvalidArgument("mask", "values in [0, 1] (1 = generate, 0 = keep)", None)
        known = _broadcast("known", known, shape).to(like.device, like.dtype)
    return init, mask, known


def _broadcast(name: str, tensor: torch.Tensor, shape) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise InvalidArgument(name, "a torch.Tensor", type(tensor).__name__)
    try:
        if torch.broadcast_shapes(tuple(tensor.shape), tuple(shape)) != tuple(shape):
            raise RuntimeError
    except RuntimeError:
        raise InvalidArgument(
            name, f"a tensor broadcastable to {tuple(shape)}", tuple(tensor.shape)
        ) from None
    return tensor.expand(shape)
