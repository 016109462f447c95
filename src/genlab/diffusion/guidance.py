"""Classifier-free guidance (Ho & Salimans 2022): turn a conditional model and its conditions
into the `denoise(x_t, t)` callable samplers take, with both passes in one batched forward call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from genlab.errors import InvalidArgument

Cond = Mapping[str, torch.Tensor]


def check_guidance_scale(guidance_scale) -> float:
    if (
        isinstance(guidance_scale, bool)
        or not isinstance(guidance_scale, int | float)
        or math.isnan(guidance_scale)
        or guidance_scale < 0
    ):
        raise InvalidArgument("guidance_scale", "a number ≥ 0", guidance_scale)
    return float(guidance_scale)


def classifier_free_guidance(
    model: Callable[[torch.Tensor, torch.Tensor, Cond], torch.Tensor],
    cond: Cond,
    uncond: Cond | None,
    guidance_scale: float,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A denoise callable: ε̃ = ε_u + w (ε_c - ε_u) (Ho & Salimans 2022, eq. 6, written with
    w = guidance_scale so that w = 1 is the plain conditional model).

    `uncond` holds the negative prompt's encoding (or the empty prompt's); its batch may be 1
    and is then repeated. Both halves go through ONE forward call on a (2B, ...) batch. w = 1
    runs only the conditional half, w = 0 only the unconditional one. The same combination is
    right for ε, x_0 and v predictions: at fixed x_t each is an affine function of the others,
    and affine maps commute with u + w (c - u).
    """
    w = check_guidance_scale(guidance_scale)
    if uncond is None and w != 1:
        raise InvalidArgument(
            "uncond", "the unconditional (negative prompt) condition when guidance_scale ≠ 1", None
        )

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        if w == 1:
            return model(x, t, _repeat_to(cond, B, "cond"))
        if w == 0:
            return model(x, t, _repeat_to(uncond, B, "uncond"))
        both = _concat(_repeat_to(uncond, B, "uncond"), _repeat_to(cond, B, "cond"))
        pred = model(torch.cat([x, x]), torch.cat([t, t]), both)  # (2B, ...)
        pred_uncond, pred_cond = pred.chunk(2)
        return pred_uncond + w * (pred_cond - pred_uncond)

    return denoise


def _repeat_to(cond: Cond, B: int, name: str) -> dict[str, torch.Tensor]:
    """Each tensor's batch dim made B: kept if B, repeated if 1, else an error."""
    out = {}
    for key, value in cond.items():
        n = value.shape[0]
        if n == B:
            out[key] = value
        elif n == 1:
            out[key] = value.expand(B, *value.shape[1:])
        else:
            raise InvalidArgument(f"{name}[{key!r}]", f"batch size 1 or {B}", n)
    return out


def _concat(a: Cond, b: Cond) -> dict[str, torch.Tensor]:
    """Concatenate two conditions along the batch; token sequences of different lengths L are
    right-padded with zeros (mask False) to the longer one."""
    if set(a) != set(b):
        raise InvalidArgument("uncond", f"the same keys as cond {sorted(b)}", sorted(a))
    out = {}
    for key in a:
        x, y = a[key], b[key]
        if x.ndim >= 2 and y.ndim == x.ndim and x.shape[1] != y.shape[1]:
            L = max(x.shape[1], y.shape[1])
            x, y = _pad_dim1(x, L), _pad_dim1(y, L)
        out[key] = torch.cat([x, y])
    return out


def _pad_dim1(x: torch.Tensor, length: int) -> torch.Tensor:
    if x.shape[1] == length:
        return x
    pad = x.new_zeros((x.shape[0], length - x.shape[1], *x.shape[2:]))
    return torch.cat([x, pad], dim=1)
