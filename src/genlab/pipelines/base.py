"""What every pipeline returns and the argument checks they share.

A pipeline is called as `pipe(prompt, negative_prompt=None, num_inference_steps=..., guidance_scale=...,
sampler=..., seed=..., num_images=..., height=..., width=...)` and returns a `GenerationResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from genlab.errors import InvalidArgument


@dataclass
class GenerationResult:
    """Images (or videos as lists of frames) plus one metadata dict per output.

    Each metadata dict holds everything needed to regenerate that output exactly: prompt,
    negative_prompt, seed, num_inference_steps, guidance_scale, sampler, model, height, width.
    """

    images: list[Image.Image] = field(default_factory=list)
    frames: list[list[Image.Image]] | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)


def check_generation_args(
    *,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int | None = None,
    num_images: int | None = None,
) -> None:
    """Raise InvalidArgument for the common bad inputs, naming the argument."""
    if num_inference_steps is not None and (
        isinstance(num_inference_steps, bool)
        or not isinstance(num_inference_steps, int)
        or num_inference_steps < 1
    ):
        raise InvalidArgument("num_inference_steps", "an integer ≥ 1", num_inference_steps)
    if guidance_scale is not None and (
        not isinstance(guidance_scale, int | float)
        or math.isnan(guidance_scale)
        or guidance_scale < 0
    ):
        raise InvalidArgument("guidance_scale", "a number ≥ 0", guidance_scale)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidArgument("seed", "an integer", seed)
    if num_images is not None and (
        isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 1
    ):
        raise InvalidArgument("num_images", "an integer ≥ 1", num_images)
