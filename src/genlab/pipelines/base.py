"""What every pipeline returns and the argument checks they share.

A pipeline is called as `pipe(prompt, negative_prompt=None, num_inference_steps=..., guidance_scale=...,
sampler=..., seed=..., num_images=..., height=..., width=...)` and returns a `GenerationResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from genlab.errors import InvalidArgument

# The bounds every face shares (CLI, Python, REST, OpenAI endpoint, agent): past 50, guidance only
# saturates the image; seeds are what a 31-bit random draw gives, which every RNG here takes.
MAX_GUIDANCE = 50.0
MAX_SEED = 2**31 - 1


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
        or not 0 <= guidance_scale <= MAX_GUIDANCE  # NaN compares false
    ):
        raise InvalidArgument("guidance_scale", f"a number in 0..{MAX_GUIDANCE:g}", guidance_scale)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise InvalidArgument("seed", f"an integer in 0..{MAX_SEED}", seed)
    if num_images is not None and (
        isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 1
    ):
        raise InvalidArgument("num_images", "an integer ≥ 1", num_images)


def check_prompt(prompt, name: str = "prompt") -> str:
    """A prompt with something to draw: a string that is not empty or only spaces."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidArgument(name, "a non-empty prompt", prompt)
    return prompt


def check_device(device: str | None, name: str = "device"):
    """`device` as a torch.device, if this machine has it (None: left to the pipeline)."""
    if device is None:
        return None
    import torch

    try:
        d = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InvalidArgument(name, "cpu, cuda, cuda:N or mps", device) from None
    if d.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidArgument(name, "cpu (this machine's torch sees no CUDA device)", device)
        if d.index is not None and d.index >= count:
            raise InvalidArgument(name, f"cuda or cuda:0..cuda:{count - 1}", device)
    elif d.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidArgument(name, "cpu (no MPS device here)", device)
    elif d.type not in ("cpu", "cuda", "mps"):
        raise InvalidArgument(name, "cpu, cuda, cuda:N or mps", device)
    return d
