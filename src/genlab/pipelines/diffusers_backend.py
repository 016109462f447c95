"""Pretrained diffusers pipelines (SD 1.x/2.x, SDXL, SD3/Flux-style, DiT, CogVideoX-style video)
behind genlab's pipeline call, so that real models answer to the same arguments as the world model.

A directory holding `model_index.json`, a name written `diffusers:<dir or hub id>`, or a model
configured with `backend = "diffusers"` in models.toml is loaded here. Hub ids need network; with
none, pass a local directory (or set HF_HUB_OFFLINE=1 and use the local cache).
"""

from __future__ import annotations

import inspect
import random
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from genlab.errors import GenlabError, InvalidArgument
from genlab.pipelines.base import GenerationResult, SamplingArgs, diffusers_call
from genlab.pipelines.registry import register_resolver

# genlab sampler name -> diffusers scheduler class (and the config overrides that make it so).
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddpm": ("DDPMScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpmpp_2m": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2},
    ),
}
DTYPES = ("auto", "float32", "float16", "bfloat16")


def _torch_dtype(name: str, device: str):
    if name not in DTYPES:
        raise InvalidArgument("dtype", "one of " + ", ".join(DTYPES), name)
    if name == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def _auto_device(device: str) -> str:
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class DiffusersPipeline:
    """A diffusers pipeline called with genlab's arguments, returning a GenerationResult.

    Args:
        source: a local pipeline directory (with model_index.json) or a hub id.
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        dtype: "auto" (fp16 on CUDA, fp32 elsewhere), "float32", "float16" or "bfloat16".
        cpu_offload: move sub-models to the GPU only while they run (needs accelerate and CUDA).
        attention_slicing: compute attention in slices to save memory.
        vae_tiling: decode large images tile by tile (bounded memory for any size).
        name: the model name recorded in metadata (defaults to `source`).
    """

    def __init__(
        self,
        source: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        cpu_offload: bool = False,
        attention_slicing: bool = False,
        vae_tiling: bool = False,
        local_files_only: bool | None = None,
        name: str | None = None,
    ):
        from diffusers import DiffusionPipeline  # optional: the hub extra

        self.source = str(source)
        self.name = name or self.source
        path = Path(self.source).expanduser()
        is_local = path.exists()
        if is_local and not (path / "model_index.json").is_file():
            raise InvalidArgument(
                "model", "a diffusers pipeline directory (it has no model_index.json)", str(path)
            )
        self.device = _auto_device(device)
        torch_dtype = _torch_dtype(dtype, self.device)
        try:
            self.pipe = DiffusionPipeline.from_pretrained(
                str(path) if is_local else self.source,
                torch_dtype=torch_dtype,
                local_files_only=is_local if local_files_only is None else local_files_only,
            )
        except (OSError, ValueError) as e:
            where = (
                "directory"
                if is_local
                else "hub id (is the network reachable, or is it in the local cache?)"
            )
            raise GenlabError(
                f"model: cannot load diffusers pipeline from {where} {self.source!r}: {e}"
            ) from None
        self.pipe.set_progress_bar_config(disable=True)
        if cpu_offload:
            if not self.device.startswith("cuda"):
                raise InvalidArgument(
                    "cpu_offload",
                    "a CUDA device (offload moves models to the GPU on demand)",
                    self.device,
                )
            self.pipe.enable_model_cpu_offload()
        else:
            self.pipe.to(self.device)
        if attention_slicing and hasattr(self.pipe, "enable_attention_slicing"):
            self.pipe.enable_attention_slicing()
        if (
            vae_tiling
            and getattr(self.pipe, "vae", None) is not None
            and hasattr(self.pipe.vae, "enable_tiling")
        ):
            self.pipe.vae.enable_tiling()
        self._call_params = set(inspect.signature(self.pipe.__call__).parameters)
        self._base_scheduler_config = (
            dict(self.pipe.scheduler.config) if hasattr(self.pipe, "scheduler") else None
        )

    # ------------------------------------------------------------------ what it can do

    @property
    def is_video(self) -> bool:
        return "num_frames" in self._call_params

    @property
    def size_multiple(self) -> int:
        vae_scale = getattr(self.pipe, "vae_scale_factor", None) or getattr(
            self.pipe, "vae_scale_factor_spatial", 8
        )
        patch = (
            getattr(
                getattr(getattr(self.pipe, "transformer", None), "config", None), "patch_size", 1
            )
            or 1
        )
        return int(vae_scale) * int(patch if isinstance(patch, int) else 1)

    def capabilities(self) -> dict[str, Any]:
        return {
            "backend": "diffusers",
            "pipeline": type(self.pipe).__name__,
            "image": not self.is_video,
            "video": self.is_video,
            "edit": self._supports_edit(),
            "negative_prompt": "negative_prompt" in self._call_params,
            "samplers": sorted(SCHEDULERS) if self._base_scheduler_config else [],
            "sizes": f"multiples of {self.size_multiple}",
        }

    def _supports_edit(self) -> bool:
        from diffusers import AutoPipelineForInpainting  # optional: the hub extra

        try:
            AutoPipelineForInpainting.from_pipe(self.pipe)
        except Exception:
            return False
        return True

    # ------------------------------------------------------------------ generation

    def _set_sampler(self, pipe, sampler: str | None) -> str:
        if sampler is None:
            return type(pipe.scheduler).__name__
        if sampler not in SCHEDULERS:
            raise InvalidArgument("sampler", "one of " + ", ".join(SCHEDULERS), sampler)
        if self._base_scheduler_config is None:
            raise InvalidArgument(
                "sampler", f"no sampler choice: {type(pipe).__name__} has no scheduler", sampler
            )
        import diffusers  # optional: the hub extra

        cls_name, overrides = SCHEDULERS[sampler]
        if self._base_scheduler_config.get("_class_name") == "FlowMatchEulerDiscreteScheduler":
            raise InvalidArgument(
                "sampler",
                f"the flow-matching scheduler of {type(pipe).__name__} (leave it unset)",
                sampler,
            )
        pipe.scheduler = getattr(diffusers, cls_name).from_config(
            self._base_scheduler_config, **overrides
        )
        return sampler

    def _check_size(self, height: int | None, width: int | None) -> None:
        m = self.size_multiple
        for name, value in (("height", height), ("width", width)):
            if value is not None and (not isinstance(value, int) or value < m or value % m):
                raise InvalidArgument(
                    name, f"a positive multiple of {m} for {type(self.pipe).__name__}", value
                )

    def _generators(self, seed: int | None, n: int):
        seed = random.randrange(2**31) if seed is None else seed
        # one generator per image, seeded seed, seed+1, ...: image i is reproducible on its own
        gens = [torch.Generator("cpu").manual_seed(seed + i) for i in range(n)]
        return seed, gens

    def _run(self, pipe, args: SamplingArgs, prompts: list[str], **kwargs):
        """Call the diffusers `pipe` with what every generation and edit passes: `prompts` (one
        per output, output i from seed + i), the steps, negative prompt, guidance, sampler and
        seed of `args` (checked), and `kwargs`; returns (its output, the seed, the metadata every
        output shares)."""
        if args.negative_prompt:
            if "negative_prompt" not in inspect.signature(pipe.__call__).parameters:
                raise InvalidArgument(
                    "negative_prompt",
                    f"not supported by {type(pipe).__name__}; leave it empty",
                    args.negative_prompt,
                )
            kwargs["negative_prompt"] = [args.negative_prompt] * len(prompts)
        if args.guidance_scale is not None:
            kwargs["guidance_scale"] = float(args.guidance_scale)
        sampler_name = self._set_sampler(pipe, args.sampler)
        seed, generators = self._generators(args.seed, len(prompts))
        out = pipe(
            prompt=prompts,
            num_inference_steps=args.num_inference_steps,
            generator=generators,
            **kwargs,
        )
        params = {
            "negative_prompt": args.negative_prompt,
            "num_inference_steps": args.num_inference_steps,
            "guidance_scale": args.guidance_scale,
            "sampler": sampler_name,
            "model": self.name,
            "backend": "diffusers",
        }
        return out, seed, params

    def to(self, device: str) -> DiffusersPipeline:
        """Move the diffusers pipeline to `device`; returns self."""
        self.device = _auto_device(str(device))
        self.pipe.to(self.device)
        return self

    @diffusers_call
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int = 30,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        seed: int | None = None,
        num_images: int = 1,
        height: int | None = None,
        width: int | None = None,
        num_frames: int | None = None,
        callback=None,
        eta: float | None = None,
    ) -> GenerationResult:
        """Images of each prompt (a list: num_images each, image i from seed + i); `eta` goes to
        the diffusers pipeline, whose scheduler uses it or not."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise InvalidArgument("prompt", "a string or a non-empty list of strings", prompt)
        args = SamplingArgs(
            prompts, negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images,
        ).check()  # fmt: skip
        self._check_size(height, width)
        expanded = [p for p in prompts for _ in range(num_images)]
        kwargs: dict[str, Any] = {}
        if eta is not None and "eta" in self._call_params:
            kwargs["eta"] = eta
        if height is not None:
            kwargs["height"] = height
        if width is not None:
            kwargs["width"] = width
        if num_frames is not None:
            if not self.is_video:
                raise InvalidArgument(
                    "num_frames",
                    f"only for video pipelines; {type(self.pipe).__name__} makes images",
                    num_frames,
                )
            kwargs["num_frames"] = num_frames
        if callback is not None and "callback_on_step_end" in self._call_params:

            def on_step_end(pipe, step, timestep, tensors):
                replaced = callback(step + 1, num_inference_steps, tensors.get("latents"), timestep)
                if isinstance(replaced, torch.Tensor):
                    tensors = dict(tensors, latents=replaced)
                return tensors

            kwargs["callback_on_step_end"] = on_step_end
        out, seed, params = self._run(self.pipe, args, expanded, **kwargs)
        if self.is_video:
            frames = [list(v) for v in out.frames]
            frames = [
                [f if isinstance(f, Image.Image) else Image.fromarray(f) for f in v] for v in frames
            ]
            h, w = frames[0][0].height, frames[0][0].width
            meta = [
                dict(
                    params, prompt=expanded[i], seed=seed + i, height=h, width=w, num_frames=len(v)
                )
                for i, v in enumerate(frames)
            ]
            return GenerationResult.of_videos(frames, meta)
        images = list(out.images)
        meta = [
            dict(params, prompt=expanded[i], seed=seed + i, height=im.height, width=im.width)
            for i, im in enumerate(images)
        ]
        return GenerationResult(images=images, metadata=meta)

    @diffusers_call
    def edit(
        self,
        image: Image.Image,
        prompt: str,
        mask: Image.Image | None = None,
        strength: float | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int = 30,
        guidance_scale: float | None = None,
        seed: int | None = None,
        sampler: str | None = None,
        num_images: int = 1,
    ) -> GenerationResult:
        """Inpaint (`mask`: white = repaint) or img2img (`strength` in (0, 1]) on `image`;
        edit i of `num_images` starts from seed + i, as in generation."""
        from diffusers import (  # optional: the hub extra
            AutoPipelineForImage2Image,
            AutoPipelineForInpainting,
        )

        args = SamplingArgs(
            [prompt], negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images,
        ).check()  # fmt: skip
        if mask is None and strength is None:
            raise InvalidArgument(
                "mask/strength", "a mask (inpainting) or a strength (img2img)", None
            )
        if strength is not None and not (0 < strength <= 1):
            raise InvalidArgument("strength", "a number in (0, 1]", strength)
        if mask is not None and mask.size != image.size:
            raise InvalidArgument("mask", f"the image's size {image.size}", mask.size)
        auto = AutoPipelineForInpainting if mask is not None else AutoPipelineForImage2Image
        try:
            pipe = auto.from_pipe(self.pipe)
        except Exception as e:
            what = "inpainting" if mask is not None else "img2img"
            raise GenlabError(
                f"model: {self.name} ({type(self.pipe).__name__}) does not support {what}: {e}"
            ) from None
        pipe.set_progress_bar_config(disable=True)
        kwargs: dict[str, Any] = {"image": image.convert("RGB")}
        if mask is not None:
            kwargs["mask_image"] = mask.convert("L")
            kwargs["height"], kwargs["width"] = image.height, image.width
        if strength is not None:
            kwargs["strength"] = float(strength)
        out, seed, params = self._run(pipe, args, [prompt] * num_images, **kwargs)
        params.update(
            prompt=prompt, edit="inpaint" if mask is not None else "img2img", strength=strength
        )
        images = list(out.images)
        meta = [dict(params, seed=seed + i) for i in range(len(images))]
        return GenerationResult(images=images, metadata=meta)


@register_resolver
def _resolve_diffusers(name: str, **kwargs):
    """Claim `diffusers:<source>` names and local directories that hold a diffusers pipeline."""
    if name.startswith("diffusers:"):
        return DiffusersPipeline(name.split(":", 1)[1], **kwargs)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "model_index.json").is_file():
        return DiffusersPipeline(str(path), **kwargs)
    return None
