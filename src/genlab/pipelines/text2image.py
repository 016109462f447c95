"""Text → image with genlab's own diffusion models: prompt → text encoder → sampler ⇄ denoiser →
pixels, plus editing (img2img, inpainting); loads checkpoints whose config says "text2image".
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from genlab.diffusion import SAMPLERS, classifier_free_guidance
from genlab.errors import InvalidArgument, check_choice
from genlab.io import load_image, to_pil
from genlab.models import create_model
from genlab.models.autoencoder_kl import autoencoder_from_checkpoint
from genlab.pipelines.base import GenerationResult, diffusers_call
from genlab.pipelines.registry import register_pipeline
from genlab.pipelines.request import PARAMS
from genlab.pipelines.text_diffusion import (
    COMPILE_MODES,
    DEFAULT_SAMPLER,
    NegativePromptIgnored,
    PromptTruncated,
    SamplingArgs,
    TextDiffusionPipeline,
    image_tensor,
    load_prefixed,
)
from genlab.pipelines.world_prompts import (
    WORLD_CONTENT,
    model_texts,
    note_readings,
    read_world_prompt,
    speaks_world,
)
from genlab.world.grammar import realize
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

# Names users import from here, whose home is now the shared modules.
__all__ = [
    "COMPILE_MODES",
    "DEFAULT_SAMPLER",
    "KIND",
    "LAYOUT_SOURCES",
    "WORLD_CONTENT",
    "NegativePromptIgnored",
    "PromptTruncated",
    "Text2ImagePipeline",
    "check_layout_temperature",
    "load_text2image",
    "read_world_prompt",
    "speaks_world",
]

KIND = "text2image"
LAYOUT_SOURCES = ("auto", "planner")


class Text2ImagePipeline(TextDiffusionPipeline):
    """`pipe(prompt, ...)` -> GenerationResult; `pipe.edit(image, prompt, mask=..., strength=...)`.

    Holds a denoiser `model(x_t, t, cond)`, a TextEncoder (with its tokenizer and learned null),
    the noise schedule and the prediction type the denoiser was trained for. With an `autoencoder`
    (genlab.models.autoencoder_kl) the denoiser works in its latent space: edits encode the image,
    samples are decoded at the end; height/width stay in pixels. With a `layout_planner`
    (genlab.models.layout_planner) and a denoiser that reads layouts (`layout_channels`), each
    image is drawn in two stages: the planner samples where each object goes from the prompt, the
    denoiser draws that plan (`plan_layout=False` draws from the text alone).
    """

    kind = KIND

    def __init__(
        self,
        *args,
        autoencoder: torch.nn.Module | None = None,
        layout_planner: torch.nn.Module | None = None,
        default_layout_temperature: float = 1.0,
        default_sampler: str = DEFAULT_SAMPLER,
        default_num_inference_steps: int = 20,
        **kwargs,
    ):
        """TextDiffusionPipeline's arguments (denoiser, text_encoder, schedule, prediction_type,
        name, image_size, default_guidance_scale, info), the optional stages above, and the
        sampler and steps of a call that names none."""
        super().__init__(*args, **kwargs)
        check_choice("default_sampler", default_sampler, sorted(SAMPLERS))
        check_layout_temperature(default_layout_temperature, "default_layout_temperature")
        if layout_planner is not None and not getattr(self.denoiser.config, "layout_channels", 0):
            raise InvalidArgument(
                "layout_planner", "a denoiser that reads layouts (layout_channels > 0)", None
            )
        self.autoencoder = autoencoder
        self.layout_planner = layout_planner
        # the planner's sampling temperature when a call gives none (a measured choice per model)
        self.default_layout_temperature = float(default_layout_temperature)
        # what a call that names none draws with: a distilled few-step model (genlab.train.distill)
        # has its own sampler and steps
        self.default_sampler = default_sampler
        self.default_num_inference_steps = int(default_num_inference_steps)

    # ------------------------------------------------------------------ checkpoints

    @classmethod
    def _parts_from_checkpoint(cls, tensors, config, device) -> dict[str, Any]:
        autoencoder = None
        if "autoencoder" in config:  # a latent model: its decoder is part of the checkpoint
            autoencoder = autoencoder_from_checkpoint(
                tensors, config["autoencoder"], "autoencoder."
            ).to(device)
        planner = None
        if "layout_planner" in config:  # a two-stage model: its planner rides along
            # a planner saved before the word window existed has none
            planner = create_model({"word_window": 0, **config["layout_planner"]})
            load_prefixed(planner, tensors, "layout_planner.")
            planner = planner.to(device).eval()
        return {
            "autoencoder": autoencoder,
            "layout_planner": planner,
            "default_layout_temperature": float(config.get("default_layout_temperature", 1.0)),
            "default_sampler": config.get("default_sampler", DEFAULT_SAMPLER),
            "default_num_inference_steps": int(config.get("default_num_inference_steps", 20)),
        }

    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, config) of this pipeline, as `genlab.io.save_checkpoint` writes them."""
        tensors, config = super().checkpoint()
        if self.autoencoder is not None:
            tensors.update(
                {f"autoencoder.{k}": v for k, v in self.autoencoder.state_dict().items()}
            )
        if self.layout_planner is not None:
            tensors.update(
                {f"layout_planner.{k}": v for k, v in self.layout_planner.state_dict().items()}
            )
        if self.default_sampler != DEFAULT_SAMPLER or self.default_num_inference_steps != 20:
            config["default_sampler"] = self.default_sampler
            config["default_num_inference_steps"] = self.default_num_inference_steps
        if self.autoencoder is not None:  # holds the latent scaling factor
            config["autoencoder"] = self.autoencoder.config.to_dict()
        if self.layout_planner is not None:
            config["layout_planner"] = self.layout_planner.config.to_dict()
            config["default_layout_temperature"] = self.default_layout_temperature
        return tensors, config

    # ------------------------------------------------------------------ facts

    def describe(self) -> dict[str, Any]:
        supports = ["generate", "negative_prompt", "img2img", "inpaint"]
        if self.layout_planner is not None:
            supports.append("layout")
        facts = self._facts(supports, self.layout_planner)
        if self.layout_planner is not None:
            facts["default_layout_temperature"] = self.default_layout_temperature
        if self.folded_guidance is not None:  # a negative prompt acts only above guidance 1
            facts["folded_guidance"] = self.folded_guidance
        return facts

    def _latent_factor(self) -> int:
        return 1 if self.autoencoder is None else int(self.autoencoder.downsample_factor)

    # ------------------------------------------------------------------ generation

    @diffusers_call
    @torch.inference_mode()
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
        *,
        eta: float | None = None,
        callback=None,
        plan_layout: bool | None = None,
        layout=None,
        layout_temperature: float | None = None,
        layout_source: str = "auto",
    ) -> GenerationResult:
        """Generate `num_images` images per prompt. Image i of the batch draws all its noise
        (the starting noise and, with a stochastic sampler such as lcm, ddpm or euler_a, the noise
        added between steps) from its own generator seeded seed + i, so every image can be
        regenerated alone from its metadata's seed; the same arguments give identical pixels.

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
        args = SamplingArgs(
            prompts, negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images, eta, callback,
        )  # fmt: skip
        return self._run(
            args, height, width, plan_layout=plan_layout, layout=layout,
            layout_temperature=layout_temperature, layout_source=layout_source,
        )  # fmt: skip

    @diffusers_call
    @torch.inference_mode()
    def edit(
        self,
        image,
        prompt: str,
        mask=None,
        strength: float | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        sampler: str | None = None,
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
        init = image_tensor(image)
        _, H, W = init.shape
        mask_t = None if mask is None else _mask_tensor(mask, H, W)
        args = SamplingArgs(
            [prompt], negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images, eta, callback,
        )  # fmt: skip
        return self._run(
            args, H, W, init=init, mask=mask_t, strength=strength, plan_layout=plan_layout,
            layout=layout, layout_temperature=layout_temperature, layout_source=layout_source,
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
        args: SamplingArgs,
        height,
        width,
        *,
        init=None,
        mask=None,
        strength=None,
        plan_layout=False,
        layout=None,
        layout_temperature=1.0,
        layout_source="auto",
    ) -> GenerationResult:
        """Draw `args.num_images` images per prompt (from `init`, noised by `strength` and/or
        kept outside `mask`, for an edit), from the plan asked for; steps and sampler not given
        are the model's own (a distilled model's few steps)."""
        if args.num_inference_steps is None:
            args = replace(args, num_inference_steps=self.default_num_inference_steps)
        if args.sampler is None:
            args = replace(args, sampler=self.default_sampler)
        args = self._checked(args)
        seed = args.seed
        check_choice("layout_source", layout_source, LAYOUT_SOURCES)
        expanded, read = self._read_batch(args.prompts, args.num_images)
        H = self.image_size if height is None else height
        W = self.image_size if width is None else width
        self._check_size(H, W)
        device = self.device

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
        texts = model_texts(expanded, read)
        backgrounds = None if read is None else [r.request.background for r in read]
        denoise = self._guided_denoiser(
            texts, args.negative_prompt, args.guidance_scale, layout=layouts,
            backgrounds=backgrounds,
        )  # fmt: skip
        C = self.denoiser.config.in_channels
        f = self._latent_factor()
        H, W = H // f, W // f  # the denoiser's grid: pixels, or latents of a latent model
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

        # image i's own generator (seed + i) draws its starting noise and the sampler's later
        # noise: it is regenerated alone from its metadata's seed, whatever the sampler
        images = self._sample(denoise, (B, C, H, W), args, **kwargs)
        if self.autoencoder is not None:
            images = self.autoencoder.decode_latents(images)
            H, W = H * f, W * f
        pils = [to_pil(img) for img in images.clamp(-1, 1).cpu()]
        extra: dict[str, Any] = {}
        if init is not None:
            extra["edit"] = "inpaint" if mask is not None else "img2img"
            if strength is not None:
                extra["strength"] = strength
        metadata = self._metadata(expanded, args, height=H, width=W, **extra)
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
        note_readings(metadata, expanded, texts, read)
        self._note_guidance(metadata, args)
        return GenerationResult(images=pils, metadata=metadata)

    # ------------------------------------------------------------------ layouts

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

    def _guided_denoiser(
        self, prompts: list[str], negative_prompt, guidance_scale, layout=None, backgrounds=None
    ):
        """CFG denoiser: the prompts against the negative prompt (or the learned null). `layout`
        (B, 9) conditions the prompts' half; the other half has none (so guidance also pushes
        towards the plan). `backgrounds` (B names or None each, as the prompts were read) join
        the plan for a denoiser that reads them (genlab.world.layout.LAYOUT_BG_CHANNELS)."""
        cond, uncond = self._text_conditions(prompts, negative_prompt)
        if layout is not None:
            C = self.denoiser.config.layout_channels
            features = layout_features(layout, backgrounds, channels=C)
            cond = {**cond, "layout": features.to(self.device)}
            uncond = {**uncond, "layout": null_layout_features(1, self.device, channels=C)}
        return classifier_free_guidance(self.denoiser, cond, uncond, guidance_scale)


def check_layout_temperature(value, name: str = "layout_temperature") -> None:
    """A layout planner's sampling temperature: a number in (0, 10]."""
    PARAMS["layout_temperature"].check(name, value)


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
