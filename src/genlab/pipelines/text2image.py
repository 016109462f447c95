"""Text → image with genlab's own diffusion models: prompt → text encoder → sampler ⇄ denoiser →
pixels, plus editing (img2img, inpainting); loads checkpoints whose config says "text2image".
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from genlab.diffusion import (
    PREDICTION_TYPES,
    SAMPLERS,
    NoiseSchedule,
    classifier_free_guidance,
    sample,
)
from genlab.diffusion.samplers import takes_eta
from genlab.errors import CheckpointError, InvalidArgument, check_choice
from genlab.io import load_checkpoint, load_image, to_pil, to_tensor
from genlab.models import create_model
from genlab.models.autoencoder_kl import autoencoder_from_checkpoint
from genlab.nn.utils import run_with_compile_fallback
from genlab.pipelines.base import (
    GenerationResult,
    check_generation_args,
    check_prompt,
    diffusers_call,
    move_modules,
)
from genlab.pipelines.registry import register_pipeline
from genlab.pipelines.request import PARAMS, GenerationRequest
from genlab.text import split_words
from genlab.text.pretrained import text_encoder_from_config
from genlab.world.grammar import parse_prompt, realize
from genlab.world.layout import (
    CELLS,
    LAYOUT_CLASSES,
    describe_layout,
    layout_features,
    mask_cells,
    null_layout_features,
    place_in_cells,
    scene_layout,
)
from genlab.world.spec import COLORS, SHAPES

KIND = "text2image"
LAYOUT_SOURCES = ("auto", "planner")
WORLD_CONTENT = "the built-in world (shapes, colors, sizes, positions, relations)"
DEFAULT_SAMPLER = "dpmpp_2m"
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class EditSource:
    """What an edit starts from: the image, (3, H, W) in [-1, 1], and the mask (1, 1, H, W),
    1 where to redraw (None: img2img from the image alone)."""

    init: torch.Tensor
    mask: torch.Tensor | None = None


class PromptTruncated(UserWarning):
    """A prompt had more words than the text encoder takes; the rest was dropped."""


class Text2ImagePipeline:
    """`pipe(prompt, ...)` -> GenerationResult; `pipe.edit(image, prompt, mask=..., strength=...)`.

    Holds a denoiser `model(x_t, t, cond)`, a TextEncoder (with its tokenizer and learned null),
    the noise schedule and the prediction type the denoiser was trained for. With an `autoencoder`
    (genlab.models.autoencoder_kl) the denoiser works in its latent space: edits encode the image,
    samples are decoded at the end; height/width stay in pixels. With a `layout_planner`
    (genlab.models.layout_planner) and a denoiser that reads layouts (`layout_channels`), each
    image is drawn in two stages: the planner samples where each object goes from the prompt, the
    denoiser draws that plan (`plan_layout=False` draws from the text alone).
    """

    def __init__(
        self,
        denoiser: torch.nn.Module,
        text_encoder: torch.nn.Module,
        schedule: NoiseSchedule,
        prediction_type: str = "epsilon",
        *,
        name: str = "text2image",
        image_size: int = 32,
        default_guidance_scale: float = 3.0,
        info: dict[str, Any] | None = None,
        autoencoder: torch.nn.Module | None = None,
        layout_planner: torch.nn.Module | None = None,
        default_layout_temperature: float = 1.0,
    ):
        check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
        check_layout_temperature(default_layout_temperature, "default_layout_temperature")
        if layout_planner is not None and not getattr(denoiser.config, "layout_channels", 0):
            raise InvalidArgument(
                "layout_planner", "a denoiser that reads layouts (layout_channels > 0)", None
            )
        self.autoencoder = autoencoder
        self.layout_planner = layout_planner
        self.denoiser, self.text_encoder = denoiser, text_encoder
        self.schedule, self.prediction_type = schedule, prediction_type
        self.name, self.image_size = name, image_size
        self.default_guidance_scale = default_guidance_scale
        # the planner's sampling temperature when a call gives none (a measured choice per model)
        self.default_layout_temperature = float(default_layout_temperature)
        self.info = dict(info or {})

    # ------------------------------------------------------------------ checkpoints

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, config: dict | None = None, *, device: str | None = None
    ) -> Text2ImagePipeline:
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors, config = load_checkpoint(path, device="cpu", dtype=torch.float32)
        if config.get("pipeline") != KIND:
            raise CheckpointError(f"{path}: not a text2image checkpoint")
        try:
            arch = dict(config["denoiser"])
            if "channels_last" in arch:  # a training-speed choice: keep it only on CUDA
                arch["channels_last"] = str(device).startswith("cuda")
            denoiser = create_model(arch)
            text_encoder = text_encoder_from_config(config["text_encoder"])
            _load_prefixed(denoiser, tensors, "denoiser.")
            _load_prefixed(text_encoder, tensors, "text_encoder.")
            schedule = NoiseSchedule.from_config(config["schedule"])
            autoencoder = None
            if "autoencoder" in config:  # a latent model: its decoder is part of the checkpoint
                autoencoder = autoencoder_from_checkpoint(
                    tensors, config["autoencoder"], "autoencoder."
                ).to(device)
            planner = None
            if "layout_planner" in config:  # a two-stage model: its planner rides along
                # a planner saved before the word window existed has none
                planner = create_model({"word_window": 0, **config["layout_planner"]})
                _load_prefixed(planner, tensors, "layout_planner.")
                planner = planner.to(device).eval()
        except (KeyError, RuntimeError, TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: text2image checkpoint does not load ({e})") from None
        pipe = cls(
            denoiser.to(device).eval(),
            text_encoder.to(device).eval(),
            schedule,
            config.get("prediction_type", "epsilon"),
            name=config.get("name", Path(path).stem),
            image_size=int(config.get("image_size", 32)),
            default_guidance_scale=float(config.get("default_guidance_scale", 3.0)),
            info=config,
            autoencoder=autoencoder,
            layout_planner=planner,
            default_layout_temperature=float(config.get("default_layout_temperature", 1.0)),
        )
        return pipe

    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, config) of this pipeline, as `genlab.io.save_checkpoint` writes them."""
        tensors = {f"denoiser.{k}": v for k, v in self.denoiser.state_dict().items()}
        tensors.update({f"text_encoder.{k}": v for k, v in self.text_encoder.state_dict().items()})
        if self.autoencoder is not None:
            tensors.update(
                {f"autoencoder.{k}": v for k, v in self.autoencoder.state_dict().items()}
            )
        if self.layout_planner is not None:
            tensors.update(
                {f"layout_planner.{k}": v for k, v in self.layout_planner.state_dict().items()}
            )
        config = {
            **{k: v for k, v in self.info.items() if k != "training"},
            "pipeline": KIND,
            "name": self.name,
            "denoiser": self.denoiser.config.to_dict(),
            "text_encoder": self.text_encoder.config.to_dict(),  # holds the tokenizer's vocab
            "schedule": self.schedule.to_config(),
            "prediction_type": self.prediction_type,
            "image_size": self.image_size,
            "default_guidance_scale": self.default_guidance_scale,
        }
        if self.autoencoder is not None:  # holds the latent scaling factor
            config["autoencoder"] = self.autoencoder.config.to_dict()
        if self.layout_planner is not None:
            config["layout_planner"] = self.layout_planner.config.to_dict()
            config["default_layout_temperature"] = self.default_layout_temperature
        return tensors, config

    # ------------------------------------------------------------------ facts

    @property
    def device(self) -> torch.device:
        return next(self.denoiser.parameters()).device

    def to(self, device: str | torch.device) -> Text2ImagePipeline:
        """Move every model of the pipeline to `device` (as diffusers' `pipe.to`); returns self.
        Starting noise is drawn on the CPU, so a seed gives the same images on every device."""
        move_modules(self, torch.device(device))
        return self

    @property
    def max_prompt_tokens(self) -> int:
        return int(self.text_encoder.config.max_length)

    @property
    def samplers(self) -> list[str]:
        return sorted(SAMPLERS)

    def describe(self) -> dict[str, Any]:
        modules = [self.denoiser, self.text_encoder, self.layout_planner]
        n = sum(p.numel() for m in modules if m is not None for p in m.parameters())
        supports = ["generate", "negative_prompt", "img2img", "inpaint"]
        if self.layout_planner is not None:
            supports.append("layout")
        facts = {
            "name": self.name,
            "kind": KIND,
            "parameters": n,
            "image_size": self.image_size,
            "supports": supports,
            "samplers": self.samplers,
        }
        if self.layout_planner is not None:
            facts["default_layout_temperature"] = self.default_layout_temperature
        return facts

    # ------------------------------------------------------------------ text

    def truncated_words(self, prompt: str) -> list[str]:
        """The words of `prompt` the encoder would drop (empty if it fits)."""
        return split_words(prompt)[self.max_prompt_tokens :]

    def encode(self, prompts: list[str]):
        encoding = self.text_encoder.encode(prompts)
        for prompt, cut in zip(prompts, encoding.truncated):
            if cut:
                dropped = " ".join(self.truncated_words(prompt))
                warnings.warn(
                    f"prompt truncated to {self.max_prompt_tokens} words; dropped: {dropped!r}",
                    PromptTruncated,
                    stacklevel=3,
                )
        return encoding

    # ------------------------------------------------------------------ generation

    def compile(self, mode: str | None = None, **compile_kwargs) -> bool:
        """torch.compile the denoiser's repeated blocks for sampling (regional, static shapes: a
        batch and image size compiles once, at its first call, and is reused after). `mode` is
        torch.compile's: "reduce-overhead" also captures CUDA graphs on a GPU, which removes the
        launch overhead of a small model's many kernels. Returns False, staying eager, when the
        denoiser has no block compilation or torch.compile is unavailable. If compilation fails
        at a call, the pipeline warns, goes back to eager for good and draws the images again
        (same seeds, same images); `compile_error` keeps why. Other torch.compile arguments
        (e.g. `backend`) pass through."""
        if mode is not None:
            check_choice("mode", mode, COMPILE_MODES)
        if type(self.denoiser).compile is torch.nn.Module.compile:
            warnings.warn(
                f"{type(self.denoiser).__name__} has no block compilation; sampling stays eager",
                stacklevel=2,
            )
            return False
        if mode is not None:
            compile_kwargs["mode"] = mode
        return bool(self.denoiser.compile(**compile_kwargs))

    @property
    def compile_error(self) -> str | None:
        """Why compilation failed and the pipeline went back to eager (None if it did not)."""
        return getattr(self.denoiser, "compile_error", None)

    @diffusers_call
    @torch.inference_mode()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float | None = None,
        sampler: str = DEFAULT_SAMPLER,
        seed: int | None = None,
        num_images: int = 1,
        height: int | None = None,
        width: int | None = None,
        *,
        eta: float | None = None,
        callback=None,
        plan_layout: bool | None = None,
        layout=None,
        layout_temperature: float | None = None,
        layout_source: str = "auto",
    ) -> GenerationResult:
        """Generate `num_images` images per prompt. Image i of the batch starts from noise drawn
        with seed + i, so with a deterministic sampler (ddim, euler, heun, dpmpp_2m) every image
        can be regenerated alone from its metadata; the same arguments give identical pixels.

        `plan_layout` (default: True if the model has a layout planner): image i's layout is
        sampled from its prompt with seed + i, then drawn; its metadata says it ("layout", and
        "layout_cells": the 9 cell classes of genlab.world.layout). `layout` gives the plan
        instead (a model whose denoiser reads layouts, with or without a planner): 9 cell
        classes for every image, or one row of 9 per image. `layout_temperature` < 1 samples
        plans closer to the planner's most likely one (less varied, more often right); None
        takes the model's `default_layout_temperature` (its card says how it was chosen).

        A model of the built-in world reads each prompt with the world grammar first
        (genlab.world.grammar.parse_prompt): words it does not know and colors, shapes or
        relations the world lacks are listed in the metadata's "warnings"; an empty prompt, one
        of only unknown words, or one the grammar finds impossible (five objects, contradictory
        positions) is refused with InvalidArgument. `layout_source` says who writes the plan:
        "auto" (default) the grammar when it reads objects in the prompt (a scene realizing
        exactly what was asked, seeded by seed + i, related objects in one row or column) and
        the learned planner otherwise; "planner" always the planner. Where the grammar read
        objects, the denoiser is given its canonical caption ("read_as" in the metadata)."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        plan_layout, layout_temperature = self._layout_options(
            plan_layout, layout, layout_temperature, self.layout_planner is not None
        )
        request = GenerationRequest(
            prompts, negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images, height, width, plan_layout=plan_layout,
            layout_temperature=layout_temperature,
        )  # fmt: skip
        return self._run(
            request, eta=eta, callback=callback, layout=layout, layout_source=layout_source
        )

    @diffusers_call
    @torch.inference_mode()
    def edit(
        self,
        image,
        prompt: str,
        mask=None,
        strength: float | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float | None = None,
        sampler: str = DEFAULT_SAMPLER,
        seed: int | None = None,
        num_images: int = 1,
        *,
        eta: float | None = None,
        callback=None,
        plan_layout: bool | None = None,
        layout=None,
        layout_temperature: float | None = None,
        layout_source: str = "auto",
    ) -> GenerationResult:
        """Edit `image` (path, PIL, uint8 array or (3,H,W) tensor in [-1, 1]) towards `prompt`.

        strength in (0, 1] alone: img2img (noise the image that far, then denoise, SDEdit).
        mask (white/1 = regenerate, black/0 = keep; same height and width as the image):
        inpainting, from pure noise, or from the noised image when strength is also given.

        A two-stage model inpaints from a plan (`plan_layout`, default True with a mask): the
        planner plans the prompt (image i with seed + i) and its objects are moved into the
        cells the mask opens (genlab.world.layout.mask_cells, place_in_cells), so they are drawn
        where the mask is; `plan_layout=False` draws from the text alone, as img2img does unless
        asked (then the plan is drawn where the planner put it). `layout` gives the plan.
        """
        if mask is None and strength is None:
            raise InvalidArgument("strength", "a value in (0, 1] or a mask (what to edit)")
        plan_layout, layout_temperature = self._layout_options(
            plan_layout, layout, layout_temperature, self.layout_planner is not None and mask is not None
        )  # fmt: skip
        init = _image_tensor(image)
        _, H, W = init.shape
        mask_t = None if mask is None else _mask_tensor(mask, H, W)
        request = GenerationRequest(
            [prompt], negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images, H, W, plan_layout=plan_layout, layout_temperature=layout_temperature,
            strength=strength,
        )  # fmt: skip
        return self._run(
            request, source=EditSource(init, mask_t), eta=eta, callback=callback, layout=layout,
            layout_source=layout_source,
        )  # fmt: skip

    def _layout_options(self, plan_layout, layout, layout_temperature, default: bool):
        """(plan_layout, layout_temperature) of a call, checked: a given layout excludes a plan;
        None means `default` and the model's own temperature."""
        if layout is not None:
            if plan_layout:
                raise InvalidArgument("plan_layout", "None or False when a layout is given", True)
            plan_layout = False
        if plan_layout is None:
            plan_layout = default
        if not isinstance(plan_layout, bool):
            raise InvalidArgument("plan_layout", "True, False or None", plan_layout)
        if layout_temperature is None:
            layout_temperature = self.default_layout_temperature
        check_layout_temperature(layout_temperature)
        return plan_layout, float(layout_temperature)

    def _run(
        self,
        request: GenerationRequest,
        *,
        source: EditSource | None = None,
        eta=None,
        callback=None,
        layout=None,
        layout_source="auto",
    ) -> GenerationResult:
        """Draw `request` (its plan_layout and layout_temperature resolved by _layout_options);
        with `source`, an edit of that image."""
        r = request
        prompts, negative_prompt, sampler = r.prompt, r.negative_prompt, r.sampler
        num_inference_steps, num_images, height, width = (
            r.num_inference_steps, r.num_images, r.height, r.width,
        )  # fmt: skip
        plan_layout, layout_temperature, strength = r.plan_layout, r.layout_temperature, r.strength
        init, mask = (source.init, source.mask) if source is not None else (None, None)
        guidance_scale, seed = self._check_request(
            prompts, negative_prompt, num_inference_steps, r.guidance_scale, sampler, r.seed,
            num_images,
        )  # fmt: skip
        check_choice("layout_source", layout_source, LAYOUT_SOURCES)
        readings = self.read_prompts(prompts)
        H = self.image_size if height is None else height
        W = self.image_size if width is None else width
        self._check_size(H, W)
        device = self.device

        expanded = [p for p in prompts for _ in range(num_images)]
        read = None if readings is None else [r for r in readings for _ in range(num_images)]
        B = len(expanded)
        if layout is not None:  # a plan given by the caller, checked once num_images is
            layout = self._given_layout(layout, B)
        sources = None
        if plan_layout and not getattr(self.denoiser.config, "layout_channels", 0):
            raise InvalidArgument(
                "plan_layout", f"False: model {self.name!r} has no layout planner"
            )
        if plan_layout:
            layouts, sources = self.write_layouts(
                expanded, seed, layout_temperature, read if layout_source == "auto" else None
            )
        else:
            layouts = layout
        if plan_layout and mask is not None:  # inpainting: the plan goes where the mask opens
            cells = mask_cells(mask)
            layouts = torch.tensor([place_in_cells(row, cells) for row in layouts.tolist()])
        texts = self._model_texts(expanded, read)
        backgrounds = None if read is None else [r.request.background for r in read]
        denoise = self._guided_denoiser(
            texts, negative_prompt, guidance_scale, layout=layouts, backgrounds=backgrounds
        )
        C = self.denoiser.config.in_channels
        f = self._latent_factor()
        H, W = H // f, W // f  # the denoiser's grid: pixels, or latents of a latent model
        x_T = self._initial_noise((C, H, W), seed, B)
        kwargs: dict[str, Any] = {}
        if init is not None:
            init = init.to(device).unsqueeze(0)
            if self.autoencoder is not None:  # (1, 3, H·f, W·f) -> (1, C, H, W) scaled latents
                init = self.autoencoder.encode_latents(init)
            init = init.expand(B, -1, -1, -1)
            if strength is not None:
                kwargs.update(init=init, strength=strength)
            if mask is not None:
                mask = mask.to(device)
                if f > 1:  # a latent cell is regenerated if any of its pixels is
                    mask = torch.nn.functional.max_pool2d(mask, f)
                kwargs.update(mask=mask.expand(B, C, H, W), known=init)

        images = self._sample(
            denoise, (B, C, H, W), sampler, num_inference_steps, seed, eta, x_T, callback, **kwargs
        )
        if self.autoencoder is not None:
            images = self.autoencoder.decode_latents(images)
            H, W = H * f, W * f
        pils = [to_pil(img) for img in images.clamp(-1, 1).cpu()]
        extra: dict[str, Any] = {}
        if init is not None:
            extra["edit"] = "inpaint" if mask is not None else "img2img"
            if strength is not None:
                extra["strength"] = strength
        metadata = self._metadata(
            expanded,
            negative_prompt,
            seed,
            num_inference_steps,
            guidance_scale,
            sampler,
            eta,
            height=H,
            width=W,
            **extra,
        )
        if self.layout_planner is not None:  # drawn with or without a plan
            for meta in metadata:
                meta["plan_layout"] = bool(plan_layout)
                if plan_layout:
                    meta["layout_temperature"] = layout_temperature
        if layouts is not None:  # the plan each image was drawn from (planned or given)
            for meta, row in zip(metadata, layouts.tolist(), strict=True):
                meta["layout"] = describe_layout(row)
                meta["layout_cells"] = row
        if sources is not None:
            for meta, source in zip(metadata, sources, strict=True):
                meta["layout_source"] = source
        self._note_readings(metadata, expanded, texts, read)
        return GenerationResult(images=pils, metadata=metadata)

    # ------------------------------------------------------------------ steps shared with video

    def _check_request(
        self,
        prompts,
        negative_prompt,
        num_inference_steps,
        guidance_scale,
        sampler,
        seed,
        num_images,
    ) -> tuple[float, int]:
        """Validate the common arguments; return (guidance_scale, seed) with defaults filled in."""
        if guidance_scale is None:
            guidance_scale = self.default_guidance_scale
        check_generation_args(
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            seed=seed,
            num_images=num_images,
        )
        check_choice("sampler", sampler, sorted(SAMPLERS))
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise InvalidArgument("prompt", "a string or a non-empty list of strings", prompts)
        for prompt in prompts:
            check_prompt(prompt)
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise InvalidArgument("negative_prompt", "a string or None", negative_prompt)
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        return guidance_scale, seed

    def _sample(self, denoise, shape, sampler, steps, seed, eta, x_T, callback, **kwargs):
        """Run the sampler from x_T; if the compiled denoiser fails to compile, the same draw
        again eagerly (a fresh generator each time: the retry gives the same images)."""

        def draw():
            return sample(
                denoise,
                shape,
                schedule=self.schedule,
                prediction_type=self.prediction_type,
                sampler=sampler,
                num_inference_steps=steps,
                generator=torch.Generator().manual_seed(seed),
                eta=eta,
                x_T=x_T,
                device=self.device,
                callback=callback,
                **kwargs,
            )

        return run_with_compile_fallback(self.denoiser, draw)

    def _given_layout(self, layout, batch: int) -> torch.Tensor:
        """A user's plan as (batch, 9) classes, checked."""
        if not getattr(self.denoiser.config, "layout_channels", 0):
            raise InvalidArgument("layout", f"None: model {self.name!r} does not read layouts")
        expected = f"{CELLS} integer cell classes in 0..{LAYOUT_CLASSES - 1}, or one row per image"
        try:
            t = torch.as_tensor(layout)
        except (TypeError, ValueError, RuntimeError):
            raise InvalidArgument("layout", expected, layout) from None
        if t.dim() == 1:
            t = t[None]
        if (
            t.dim() != 2
            or t.shape[1] != CELLS
            or t.shape[0] not in (1, batch)
            or t.is_floating_point()
            or t.dtype == torch.bool
            or int(t.min()) < 0
            or int(t.max()) >= LAYOUT_CLASSES
        ):
            raise InvalidArgument("layout", expected, layout)
        return t.long().expand(batch, CELLS).clone()

    def plan_layouts(self, prompts: list[str], seed: int, temperature: float = 1.0) -> torch.Tensor:
        """(B, 9) layouts the learned planner samples for `prompts`, prompt i with seed + i."""
        return self._plan_some(prompts, [seed + i for i in range(len(prompts))], temperature)

    def write_layouts(
        self, prompts: list[str], seed: int, temperature: float = 1.0, readings=None
    ) -> tuple[torch.Tensor, list[str]]:
        """(B, 9) plans for `prompts` and who wrote each ("grammar" or "planner"): where a
        reading (PromptParse) has objects, a scene realizing exactly its request, drawn with
        seed + i, related objects aligned (genlab.world.grammar.realize); the learned planner
        for the rest (and for all when `readings` is None)."""
        readings = readings or [None] * len(prompts)
        rows: list = [None] * len(prompts)
        for i, reading in enumerate(readings):
            if reading is not None and reading.request.objects:
                scene = realize(reading.request, np.random.default_rng(seed + i), aligned=True)
                rows[i] = torch.from_numpy(scene_layout(scene)).long()
        rest = [i for i, row in enumerate(rows) if row is None]
        if rest:
            planned = self._plan_some(
                [prompts[i] for i in rest], [seed + i for i in rest], temperature
            )
            for i, row in zip(rest, planned):
                rows[i] = row
        sources = ["planner" if i in set(rest) else "grammar" for i in range(len(prompts))]
        return torch.stack(rows), sources

    def _plan_some(self, prompts, seeds, temperature) -> torch.Tensor:
        if self.layout_planner is None:
            raise InvalidArgument(
                "plan_layout", f"False: model {self.name!r} has no layout planner"
            )
        tokens = self.text_encoder.tokenizer(prompts, self.max_prompt_tokens)
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        return self.layout_planner.sample(
            tokens.ids.to(self.device), tokens.mask.to(self.device), generators, temperature
        ).cpu()

    @property
    def reads_world_prompts(self) -> bool:
        """Whether the model speaks the built-in world's words, so that its prompts are read
        with the world grammar."""
        return speaks_world(getattr(self.text_encoder.tokenizer, "index", {}))

    def read_prompts(self, prompts: list[str]):
        """Each prompt's PromptParse for a model of the world (None for any other model), or
        InvalidArgument for a prompt it cannot draw (see read_world_prompt)."""
        if not self.reads_world_prompts:
            return None
        return [read_world_prompt(p) for p in prompts]

    @staticmethod
    def _model_texts(prompts: list[str], readings) -> list[str]:
        """What the denoiser reads: the grammar's canonical caption where it read objects (the
        words the model was trained on), else the prompt as written."""
        if readings is None:
            return list(prompts)
        return [r.canonical if r.request.objects else p for p, r in zip(prompts, readings)]

    @staticmethod
    def _note_readings(metadata, prompts, texts, readings) -> None:
        """Each output's metadata says how its prompt was read ("read_as") and what of it could
        not be read or drawn ("warnings")."""
        if readings is None:
            return
        for meta, prompt, text, reading in zip(metadata, prompts, texts, readings, strict=True):
            if text != prompt:
                meta["read_as"] = text
            if reading.warnings():
                meta["warnings"] = reading.warnings()

    def _guided_denoiser(
        self,
        prompts: list[str],
        negative_prompt,
        guidance_scale,
        model=None,
        layout=None,
        backgrounds=None,
    ):
        """CFG denoiser: the prompts against the negative prompt (or the learned null); `model`
        (default: the denoiser) is what is called with (x, t, cond). `layout` (B, 9) conditions
        the prompts' half; the other half has none (so guidance also pushes towards the plan).
        `backgrounds` (B names or None each, as the prompts were read) join the plan for a
        denoiser that reads them (genlab.world.layout.LAYOUT_BG_CHANNELS)."""
        cond = self.encode(prompts).cond
        uncond = (
            self.text_encoder.encode([negative_prompt]).cond
            if negative_prompt
            else self.text_encoder.null(1).cond
        )
        if layout is not None:
            C = self.denoiser.config.layout_channels
            features = layout_features(layout, backgrounds, channels=C)
            cond = {**cond, "layout": features.to(self.device)}
            uncond = {**uncond, "layout": null_layout_features(1, self.device, channels=C)}
        return classifier_free_guidance(model or self.denoiser, cond, uncond, guidance_scale)

    def _initial_noise(self, item_shape: tuple[int, ...], seed: int, batch: int) -> torch.Tensor:
        """Per-item starting noise drawn on the CPU (the same on every device), seed + i for item i."""
        return torch.stack(
            [
                torch.randn(item_shape, generator=torch.Generator().manual_seed(seed + i))
                for i in range(batch)
            ]
        ).to(self.device)

    def _metadata(
        self,
        prompts,
        negative_prompt,
        seed,
        num_inference_steps,
        guidance_scale,
        sampler,
        eta,
        **extra,
    ) -> list[dict[str, Any]]:
        """One dict per output with everything needed to regenerate it alone."""
        truncated = self.text_encoder.tokenizer(prompts, self.max_prompt_tokens).truncated
        metadata = []
        for i, p in enumerate(prompts):
            meta = {
                "prompt": p,
                "negative_prompt": negative_prompt,
                "seed": seed + i,
                "batch_seed": seed,
                "num_inference_steps": num_inference_steps,
                "guidance_scale": float(guidance_scale),
                "sampler": sampler,
                "model": self.name,
                **{k: v for k, v in extra.items() if k in ("height", "width", "num_frames")},
            }
            if eta is not None and takes_eta(sampler):  # other samplers ignore it
                meta["eta"] = eta
            meta.update({k: v for k, v in extra.items() if k not in meta})
            if truncated[i]:
                meta["truncated"] = True
            metadata.append(meta)
        return metadata

    def _latent_factor(self) -> int:
        return 1 if self.autoencoder is None else int(self.autoencoder.downsample_factor)

    @property
    def size_multiple(self) -> int:
        """Heights and widths this pipeline draws are multiples of this (its denoiser's
        downsampling or patch size, times the autoencoder's factor for a latent model)."""
        f = getattr(self.denoiser, "downsample_factor", None) or getattr(
            self.denoiser.config, "patch_size", 1
        )
        return int(f) * self._latent_factor()

    def _check_size(self, H, W) -> None:
        f = self.size_multiple
        for name, v in (("height", H), ("width", W)):
            if isinstance(v, bool) or not isinstance(v, int) or v < f or v % f or v > 1024:
                raise InvalidArgument(name, f"a multiple of {f} between {f} and 1024", v)


def speaks_world(vocab) -> bool:
    """Whether a tokenizer vocabulary (words, or a word -> id map) has every shape and color of
    the built-in world: its model draws the world, and its prompts are read with the grammar."""
    return all(w in vocab for w in (*SHAPES, *COLORS))


def read_world_prompt(prompt: str):
    """PromptParse of a prompt for a model of the world, or InvalidArgument for one it cannot
    draw: empty, over the grammar's length, or not one word of it known."""
    if not prompt.strip():
        raise InvalidArgument("prompt", f"a description of {WORLD_CONTENT}", prompt)
    reading = parse_prompt(prompt)
    r = reading.request
    if not (r.objects or r.background or reading.unsupported) and reading.unknown_words:
        raise InvalidArgument(
            "prompt",
            f"a description of {WORLD_CONTENT}",
            prompt,
            hint="no word of it is known: " + ", ".join(reading.unknown_words[:8]),
        )
    return reading


def check_layout_temperature(value, name: str = "layout_temperature") -> None:
    """A layout planner's sampling temperature: a number in (0, 10]."""
    PARAMS["layout_temperature"].check(name, value)


def _load_prefixed(module: torch.nn.Module, tensors: dict, prefix: str) -> None:
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state)


def _image_tensor(image) -> torch.Tensor:
    """(3, H, W) float in [-1, 1] from a path, PIL image, uint8 array or tensor."""
    if isinstance(image, str | Path):
        image = load_image(image)
    if isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        if t.ndim != 3 or t.shape[0] != 3:
            raise InvalidArgument("image", "a (3, H, W) tensor in [-1, 1]", tuple(t.shape))
        return t
    if isinstance(image, Image.Image):
        return to_tensor(image)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InvalidArgument("image", "an (H, W, 3) uint8 array", (arr.shape, str(arr.dtype)))
    return to_tensor(arr)


def _mask_tensor(mask, H: int, W: int) -> torch.Tensor:
    """(1, 1, H, W) float mask, 1 = regenerate: from a path, PIL, array or tensor (non-zero = 1)."""
    if isinstance(mask, str | Path):
        mask = load_image(mask, name="mask")
    if isinstance(mask, Image.Image):
        arr = np.asarray(mask.convert("L"), dtype=np.float32) / 255.0
    elif isinstance(mask, torch.Tensor):
        arr = mask.detach().float().cpu().numpy()
    else:
        arr = np.asarray(mask, dtype=np.float32)
        if arr.max(initial=0) > 1:
            arr = arr / 255.0
    arr = np.squeeze(arr)
    if arr.ndim == 3:  # (H, W, 3) or (3, H, W): any channel set marks the pixel
        arr = arr.max(axis=-1) if arr.shape[-1] in (3, 4) else arr.max(axis=0)
    if arr.shape != (H, W):
        got = "×".join(map(str, arr.shape[::-1]))
        raise InvalidArgument("mask", f"a {W}×{H} mask (the image's size)", got)
    if not np.isfinite(arr).all():
        raise InvalidArgument("mask", "finite values", "NaN or inf")
    return torch.from_numpy((arr > 0.5).astype(np.float32))[None, None]


@register_pipeline(KIND)
def load_text2image(path, config, **kwargs) -> Text2ImagePipeline:
    device = kwargs.get("device")
    return Text2ImagePipeline.from_checkpoint(path, config, device=device)
