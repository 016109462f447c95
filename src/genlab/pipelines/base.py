"""What every pipeline returns and the argument checks they share.

A pipeline is called as `pipe(prompt, negative_prompt=None, num_inference_steps=..., guidance_scale=...,
sampler=..., seed=..., num_images=..., height=..., width=...)` and returns a `GenerationResult`.
`@diffusers_call` lets every pipeline also be called the way diffusers' pipelines are
(`num_images_per_prompt`, `generator`, `output_type`, `return_dict`, `callback_on_step_end`, `eta`).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from PIL import Image

from genlab.errors import InvalidArgument
from genlab.pipelines.request import (  # noqa: F401 (the shared bounds and checks, as before)
    MAX_GUIDANCE,
    MAX_SEED,
    check_generation_args,
    check_prompt,
)

OUTPUT_TYPES = ("pil", "np", "pt")


@dataclass
class GenerationResult:
    """Images (or videos as lists of frames) plus one metadata dict per output.

    Each metadata dict holds everything needed to regenerate that output exactly: prompt,
    negative_prompt, seed, num_inference_steps, guidance_scale, sampler, model, height, width.
    """

    images: list[Image.Image] = field(default_factory=list)
    frames: list[list[Image.Image]] | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of_videos(
        cls, frames: list[list[Image.Image]], metadata: list[dict[str, Any]]
    ) -> GenerationResult:
        """Videos (each a list of frames), with each one's first frame as its image."""
        return cls(images=[video[0] for video in frames], frames=frames, metadata=metadata)

    def to_tuple(self) -> tuple:
        """The fields that are set, as diffusers' `BaseOutput.to_tuple`: (images, metadata), or
        (frames, metadata) for videos (diffusers' video outputs lead with their frames)."""
        first = self.frames if self.frames is not None else self.images
        return (first, self.metadata)

    def __getitem__(self, key):
        """`result[0]` is the images (a video's frames), `result["images"]` a field by name, as
        diffusers' pipeline outputs answer."""
        if isinstance(key, str):
            if key not in {f.name for f in fields(self)} or getattr(self, key) is None:
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def converted(self, output_type: str) -> GenerationResult:
        """The same outputs as diffusers' `output_type` gives them: "pil" (PIL images), "np"
        (float32 array (B, H, W, 3) in [0, 1]; videos (B, T, H, W, 3)) or "pt" (float32 tensor
        (B, 3, H, W) in [0, 1]; videos (B, T, 3, H, W)). Values are those of the 8-bit images."""
        check_output_type(output_type)
        if output_type == "pil":
            return self

        def stack(pils) -> np.ndarray:  # (N, H, W, 3) float32 in [0, 1]
            return np.stack([np.asarray(im.convert("RGB"), np.float32) / 255.0 for im in pils])

        images: Any = stack(self.images) if self.images else np.zeros((0, 0, 0, 3), np.float32)
        frames: Any = None if self.frames is None else np.stack([stack(v) for v in self.frames])
        if output_type == "pt":
            images = torch.from_numpy(images).permute(0, 3, 1, 2)  # (B, H, W, 3) -> (B, 3, H, W)
            if frames is not None:  # (B, T, H, W, 3) -> (B, T, 3, H, W)
                frames = torch.from_numpy(frames).permute(0, 1, 4, 2, 3)
        return GenerationResult(images=images, frames=frames, metadata=self.metadata)


@dataclass(frozen=True)
class SamplingArgs:
    """The arguments of a call that every pipeline takes, as given (`prompts` a list); a
    pipeline validates them and fills in its model's defaults (TextDiffusionPipeline._checked)."""

    prompts: list[str]
    negative_prompt: str | None
    num_inference_steps: int | None  # None: the model's own
    guidance_scale: float | None  # None: the model's default
    sampler: str | None  # None: the model's own
    seed: int | None  # None: a random one
    num_images: int
    eta: float | None = None
    callback: Any = None  # callback(step, total, x) after each denoising step

    def check(self) -> SamplingArgs:
        """Raise InvalidArgument for a number out of its range (PARAMS'), naming the argument;
        returns the arguments, for `args = SamplingArgs(...).check()`."""
        check_generation_args(
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            seed=self.seed,
            num_images=self.num_images,
        )
        return self


def aspect_size(native: int, multiple: int, width: int, height: int) -> tuple[int, int]:
    """(height, width) at which a model of `native` square size draws the aspect width:height:
    the shorter side `native`, the longer one the nearest multiple of `multiple` (as SDXL-style
    aspect buckets keep the pixel count near the trained one)."""
    short, ratio = native, max(width, height) / min(width, height)
    long = max(multiple, round(short * ratio / multiple) * multiple)
    return (short, long) if width >= height else (long, short)


def check_output_type(output_type) -> None:
    if output_type not in OUTPUT_TYPES:
        raise InvalidArgument("output_type", "one of " + ", ".join(OUTPUT_TYPES), output_type)


def generator_seed(generator) -> int:
    """The seed a diffusers-style `generator` stands for: a torch.Generator's initial seed, or
    for a list (one per image, as diffusers takes them) the first one's, when they are seeded
    s, s+1, ... as genlab seeds image i (other lists cannot be honoured and are refused)."""
    gens = generator if isinstance(generator, list | tuple) else [generator]
    if not gens or not all(isinstance(g, torch.Generator) for g in gens):
        raise InvalidArgument("generator", "a torch.Generator or a list of them", generator)
    seeds = [int(g.initial_seed()) for g in gens]
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise InvalidArgument(
            "generator", "generators seeded s, s+1, s+2, ... (image i is drawn from seed s + i)",
            seeds,
        )  # fmt: skip
    return seeds[0]


def diffusers_call(fn=None, *, one_prompt: bool = False):
    """Let a pipeline's `__call__` or `edit` also take diffusers' call arguments:

    - `num_images_per_prompt` is `num_images`; a list of prompts gives that many images each.
    - `generator` (a torch.Generator, or one per image) stands for its seed: the same images as
      `seed=generator.initial_seed()`.
    - `output_type` "pil", "np" or "pt" (see GenerationResult.converted); `return_dict=False`
      returns the tuple (images, metadata).
    - `callback_on_step_end(pipe, step, timestep, callback_kwargs)` after each denoising step,
      with callback_kwargs {"latents": x}; returning a dict with new "latents" replaces them.
      A model without steps of its own (one decoder pass, a hosted API) calls it once, at the end.
    - `eta` is dropped for models and samplers that take none, as diffusers does.

    `one_prompt=True` (or a pipeline whose `one_prompt` is true) marks a call that takes one
    prompt: a list is then drawn prompt by prompt (prompt k from seed + k·num_images, as the
    pipelines that take lists seed their images).
    """
    if fn is None:
        return functools.partial(diffusers_call, one_prompt=one_prompt)
    params = inspect.signature(fn).parameters
    takes_callback, takes_eta = "callback" in params, "eta" in params

    @functools.wraps(fn)
    def call(
        self,
        *args,
        num_images_per_prompt: int | None = None,
        generator=None,
        output_type: str = "pil",
        return_dict: bool = True,
        callback_on_step_end=None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        **kwargs,
    ):
        check_output_type(output_type)
        if num_images_per_prompt is not None:
            if kwargs.get("num_images", num_images_per_prompt) != num_images_per_prompt:
                raise InvalidArgument(
                    "num_images_per_prompt", f"num_images ({kwargs['num_images']}) or nothing",
                    num_images_per_prompt,
                )  # fmt: skip
            kwargs["num_images"] = num_images_per_prompt
        if generator is not None:
            seed = generator_seed(generator)
            if kwargs.get("seed") not in (None, seed):
                raise InvalidArgument("generator", f"a generator seeded {kwargs['seed']}", seed)
            kwargs["seed"] = seed
        if not takes_eta:
            kwargs.pop("eta", None)
        if callback_on_step_end_tensor_inputs not in (None, ["latents"]):
            raise InvalidArgument(
                "callback_on_step_end_tensor_inputs", '["latents"]',
                callback_on_step_end_tensor_inputs,
            )  # fmt: skip
        if callback_on_step_end is not None and takes_callback:
            kwargs["callback"] = _step_end_adapter(
                self, callback_on_step_end, kwargs.get("callback")
            )
        if one_prompt or getattr(self, "one_prompt", False):
            result = _prompt_by_prompt(fn, self, args, kwargs)
        else:
            result = fn(self, *args, **kwargs)
        if callback_on_step_end is not None and not takes_callback:
            callback_on_step_end(self, 0, None, {})
        result = result.converted(output_type)
        return result if return_dict else result.to_tuple()

    return call


class ContractPipeline:
    """A pipeline whose call is the contract's (the module docstring) with no arguments of its
    own (the classic families, the hosted APIs, the world oracle): the signature and the checks
    of its arguments written once. A subclass draws in `_generate(args, height, width,
    **options)`: `args` the call's SamplingArgs, `options` its own keywords (the family options
    of the classic models, Stability's `aspect_ratio`); the sampler is the model's. With
    `one_prompt` it draws one prompt at a time: a list is drawn prompt by prompt (see
    diffusers_call), and `args.prompts` holds one."""

    one_prompt = False

    @diffusers_call
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        seed: int | None = None,
        num_images: int = 1,
        height: int | None = None,
        width: int | None = None,
        **options: Any,
    ) -> GenerationResult:
        """`num_images` images of each prompt (how `seed` seeds them: the subclass says)."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        args = SamplingArgs(
            prompts, negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images,
        ).check()  # fmt: skip
        return self._generate(args, height, width, **options)

    def _generate(self, args: SamplingArgs, height, width, **options) -> GenerationResult:
        raise NotImplementedError


def _prompt_by_prompt(fn, pipe, args, kwargs) -> GenerationResult:
    """Call `fn`, which takes one prompt, once per prompt of a list; the results joined."""
    prompt = args[0] if args else kwargs.get("prompt")
    if not isinstance(prompt, list | tuple):
        return fn(pipe, *args, **kwargs)
    if not prompt:
        raise InvalidArgument("prompt", "a prompt or a non-empty list of prompts", prompt)
    joined = GenerationResult()
    seed, n = kwargs.get("seed"), kwargs.get("num_images", 1)
    for k, p in enumerate(prompt):
        call_args = (p, *args[1:]) if args else ()
        call_kwargs = dict(kwargs) if args else dict(kwargs, prompt=p)
        if seed is not None:
            call_kwargs["seed"] = seed + k * n
        part = fn(pipe, *call_args, **call_kwargs)
        joined.images += part.images
        joined.metadata += part.metadata
        if part.frames is not None:
            joined.frames = (joined.frames or []) + part.frames
    return joined


def _step_end_adapter(pipe, on_step_end, callback=None):
    """genlab's callback(step, total, x, t) calling diffusers' on_step_end(pipe, i, t, kwargs)."""

    def step(done, total, x, t=None):
        if callback is not None:
            callback(done, total, x)
        out = on_step_end(pipe, done - 1, t, {"latents": x})
        return out.get("latents") if isinstance(out, dict) else None

    return step


def move_modules(obj, device) -> None:
    """Move every torch module `obj` holds as an attribute to `device` (a pipeline's `.to`)."""
    for value in vars(obj).values():
        if isinstance(value, torch.nn.Module):
            value.to(device)


def check_device(device: str | None, name: str = "device"):
    """`device` as a torch.device, if this machine has it (None: left to the pipeline)."""
    if device is None:
        return None

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
