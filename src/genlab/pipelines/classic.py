"""Pipelines of the classic families, loaded by `genlab.load` for checkpoints of kind "vae", "gan"
and "vq-ar": the common call signature, prompts read as a class name or encoded as text.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from genlab.errors import InvalidArgument
from genlab.io import load_checkpoint, to_pil, to_tensor
from genlab.models.ar_layout import LayoutARTransformer
from genlab.models.ar_transformer import ARTransformer, check_sampling_args
from genlab.models.gan import GAN
from genlab.models.palette_vq import PaletteTokenizer
from genlab.models.vae import VAE
from genlab.models.vqvae import VQVAE
from genlab.pipelines.base import ContractPipeline, GenerationResult, SamplingArgs, move_modules
from genlab.pipelines.registry import register_pipeline
from genlab.text.pretrained import text_encoder_from_config
from genlab.text.tokenizer import UNK_ID, Tokenizer, split_words
from genlab.world.grammar import realize
from genlab.world.layout import (
    LAYOUT_BG_CHANNELS,
    describe_layout,
    layout_features,
    scene_layout,
)
from genlab.world.spec import BACKGROUNDS

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class ClassPrompt:
    """Reads a class out of a prompt: "the digit 7", "seven", "7", or any class name as words.
    The empty prompt is the null class (trained by condition dropout: "any class")."""

    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        self.aliases: dict[str, int] = {}
        for i, name in enumerate(self.class_names):
            self.aliases[name.lower()] = i
            if name.isdigit() and int(name) < len(NUMBER_WORDS):
                self.aliases[NUMBER_WORDS[int(name)]] = i

    def __call__(self, prompt: str) -> int:
        if not isinstance(prompt, str):
            raise InvalidArgument("prompt", "a string", prompt)
        if not prompt.strip():
            return len(self.class_names)  # the null condition
        text = " ".join(split_words(prompt))
        found = {
            i for alias, i in self.aliases.items() if re.search(rf"\b{re.escape(alias)}\b", text)
        }
        if len(found) != 1:
            expected = "a prompt naming exactly one class this model knows (" + ", ".join(
                self.examples()
            )
            if found:
                names = sorted(self.class_names[i] for i in found)
                raise InvalidArgument("prompt", expected + ")", prompt, hint=f"it names {names}")
            raise InvalidArgument("prompt", expected + ")", prompt)
        return found.pop()

    def examples(self) -> list[str]:
        if all(n.isdigit() for n in self.class_names):
            return [
                f"'the digit {self.class_names[0]}'",
                "...",
                f"'the digit {self.class_names[-1]}'",
            ]
        return [repr(n) for n in self.class_names]


class TextPrompt:
    """Encodes prompts with the checkpoint's text encoder (pooled embedding), and refuses a
    prompt none of whose words the model knows (it could only ignore it)."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer

    def unknown_words(self, prompt: str) -> list[str]:
        return [w for w in split_words(prompt) if self.tokenizer.index.get(w, UNK_ID) == UNK_ID]

    def check(self, prompt: str) -> list[str]:
        if not isinstance(prompt, str):
            raise InvalidArgument("prompt", "a string", prompt)
        words, unknown = split_words(prompt), self.unknown_words(prompt)
        if words and len(unknown) == len(words):
            raise InvalidArgument(
                "prompt",
                "a description of the built-in world (shapes, colors, sizes, positions)",
                prompt,
                hint=f"no word of it is known: {', '.join(unknown[:8])}",
            )
        return unknown


class ClassicPipeline(ContractPipeline):
    """The contract's call (ContractPipeline): `pipe(prompt, negative_prompt=None,
    num_inference_steps=None, guidance_scale=None, sampler=None, seed=None, num_images=1,
    height=None, width=None, **family_options)` -> GenerationResult.

    Output i is generated from seed + i alone, and its metadata carries that seed, so any image
    is regenerated exactly by calling again with its metadata.
    """

    kind = ""
    sampler_name = ""

    def __init__(self, name: str, image_size: int, device: str | torch.device = "cpu"):
        self.name, self.image_size, self.device = name, image_size, torch.device(device)

    def to(self, device: str | torch.device) -> ClassicPipeline:
        """Move the pipeline's models to `device` (as diffusers' `pipe.to`); returns self."""
        self.device = torch.device(device)
        move_modules(self, self.device)
        return self

    # subclasses: prepare(prompts, negative, guidance, options, seeds) -> (state, params);
    # generate(state, seeds) -> (B, C, S, S)

    def _generate(self, args: SamplingArgs, height, width, **options) -> GenerationResult:
        num_inference_steps, guidance_scale = args.num_inference_steps, args.guidance_scale
        negative_prompt, seed, sampler = args.negative_prompt, args.seed, args.sampler
        self.check_steps(num_inference_steps)
        if sampler is not None and sampler != self.sampler_name:  # its own name: a PNG's params
            raise InvalidArgument(
                "sampler",
                f"None or {self.sampler_name!r}: a {self.kind} model has one way to draw",
                sampler,
            )
        for arg, value in (("height", height), ("width", width)):
            if value is not None and value != self.image_size:
                raise InvalidArgument(
                    arg,
                    f"{self.image_size} (this model makes {self.image_size}×{self.image_size})",
                    value,
                )
        prompts = [p for p in args.prompts for _ in range(args.num_images)]  # num_images each
        if not prompts:
            raise InvalidArgument("prompt", "a prompt or a non-empty list of prompts", args.prompts)
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        seeds = [seed + i for i in range(len(prompts))]
        with torch.inference_mode():
            state, params = self.prepare(prompts, negative_prompt, guidance_scale, options, seeds)
            images = self.generate(state, seeds).float().clamp(-1, 1).cpu()
        result = GenerationResult()
        for i, (p, s) in enumerate(zip(prompts, seeds)):
            result.images.append(to_pil(images[i]))
            meta = {
                "prompt": p,
                "negative_prompt": negative_prompt,
                "seed": s,
                "num_inference_steps": num_inference_steps,
                "guidance_scale": guidance_scale,
                "sampler": self.sampler_name,
                "model": self.name,
                "height": self.image_size,
                "width": self.image_size,
                "kind": self.kind,
            }
            meta.update(params[i] if isinstance(params, list) else params)
            result.metadata.append(meta)
        return result

    def check_steps(self, num_inference_steps) -> None:
        """Subclasses refuse a steps argument they cannot honour (autoregressive models)."""

    def _generators(self, seeds: list[int]) -> list[torch.Generator]:
        return [torch.Generator(self.device).manual_seed(s) for s in seeds]

    def _noise(self, seeds: list[int], dim: int) -> torch.Tensor:
        """One latent per seed: (len(seeds), dim), row i depending on seeds[i] only."""
        return torch.cat(
            [torch.randn(1, dim, generator=g, device=self.device) for g in self._generators(seeds)]
        )

    @staticmethod
    def _no_options(options: dict) -> None:
        extra = sorted(k for k, v in options.items() if v is not None)
        if extra:
            raise InvalidArgument("option", "no family-specific options for this model", extra[0])


class _ConditionedPipeline(ClassicPipeline):
    """VAE and GAN: a prompt becomes a class label or a pooled text embedding."""

    def __init__(self, name, image_size, condition_config, text_encoder=None, device="cpu"):
        super().__init__(name, image_size, device)
        self.condition_type = condition_config["type"]
        self.text_encoder = text_encoder
        if self.condition_type == "class":
            self.class_names = list(condition_config["class_names"])
            self.read_class = ClassPrompt(self.class_names)
        else:
            self.read_text = TextPrompt(text_encoder.tokenizer)

    def condition(self, prompts: list[str], seeds=None) -> tuple[torch.Tensor, list[dict]]:
        cond, params = self._condition(prompts, seeds)
        for p in params:  # one decoder pass, no guidance: say so rather than echo the request
            p.update(num_inference_steps=1, guidance_scale=None)
        return cond, params

    def _condition(self, prompts: list[str], seeds=None) -> tuple[torch.Tensor, list[dict]]:
        if self.condition_type == "plan":
            seeds = seeds or [0] * len(prompts)
            texts, layout, background, params, _ = read_and_plan(prompts, seeds, True)
            enc = self.text_encoder.encode(texts)
            return plan_vector(enc.pooled, layout.to(self.device), background), params
        if self.condition_type == "class":
            labels = [self.read_class(p) for p in prompts]
            params = [
                {"class": self.class_names[i] if i < len(self.class_names) else None}
                for i in labels
            ]
            return torch.tensor(labels, device=self.device), params
        unknown = [self.read_text.check(p) for p in prompts]
        enc = self.text_encoder.encode(prompts)
        params = [{"unknown_words": u, "truncated": t} for u, t in zip(unknown, enc.truncated)]
        return enc.pooled, params


class VAEPipeline(_ConditionedPipeline):
    """Samples decode z ~ N(0, I); also `reconstruct(image)` and `interpolate(a, b, steps)`."""

    kind, sampler_name = "vae", "vae-decoder"

    def __init__(self, vae: VAE, name, condition_config, text_encoder=None, device="cpu"):
        super().__init__(name, vae.config.image_size, condition_config, text_encoder, device)
        self.vae = vae.to(self.device).eval()

    def prepare(self, prompts, negative_prompt, guidance_scale, options, seeds):
        self._no_options(options)
        return self.condition(prompts, seeds)

    def generate(self, cond, seeds):
        return self.vae.decode(self._noise(seeds, self.vae.config.latent_dim), cond)

    def _image(self, image, name: str) -> torch.Tensor:
        """PIL / array / tensor -> (C, S, S) in [-1, 1] at the model's size and channels."""
        x = image if isinstance(image, torch.Tensor) else to_tensor(to_pil(image))
        x = x.float().to(self.device)
        if x.ndim != 3:
            raise InvalidArgument(name, "an image (C, H, W)", tuple(x.shape))
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x[None], size=self.image_size, mode="bilinear", antialias=True)[0]
        if self.vae.config.in_channels == 1 and x.shape[0] == 3:
            x = x.mean(0, keepdim=True)
        return x

    def reconstruct(self, image, prompt: str = ""):
        """The decoded posterior mean of an image (conditioned on `prompt`'s class or text)."""
        with torch.inference_mode():
            cond, _ = self._condition([prompt])
            out = self.vae.reconstruct(self._image(image, "image")[None], cond)
        return to_pil(out[0].clamp(-1, 1).cpu())

    def interpolate(self, image_a, image_b, steps: int = 8, prompt: str = ""):
        """Images decoded along the line between the latent codes of two images."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise InvalidArgument("steps", "an integer ≥ 2", steps)
        with torch.inference_mode():
            cond, _ = self._condition([prompt])
            a, b = self._image(image_a, "image_a"), self._image(image_b, "image_b")
            out = self.vae.interpolate(a, b, steps, cond)
        return [to_pil(x.clamp(-1, 1).cpu()) for x in out]


class GANPipeline(_ConditionedPipeline):
    """One generator pass from z ~ N(0, I) and the prompt's condition."""

    kind, sampler_name = "gan", "gan-generator"

    def __init__(self, gan: GAN, name, condition_config, text_encoder=None, device="cpu"):
        super().__init__(name, gan.config.image_size, condition_config, text_encoder, device)
        self.config = gan.config
        self.generator = gan.generator.to(self.device).eval()  # the discriminator is not kept

    def prepare(self, prompts, negative_prompt, guidance_scale, options, seeds):
        self._no_options(options)
        return self.condition(prompts, seeds)

    def generate(self, cond, seeds):
        return self.generator(self._noise(seeds, self.config.z_dim), cond)


def read_and_plan(prompts: list[str], seeds: list[int], plan_layout: bool = True):
    """The two-stage models' reading of prompts: (texts, layout (B, 9), background (B,), params).

    Each prompt is read by the world grammar (genlab.pipelines.text2image.read_world_prompt:
    empty or unknown-only prompts are refused); where it reads objects, the plan is a scene
    realizing exactly the request, drawn with the image's seed and related objects aligned (as
    world-t2i-layout plans), the text the model reads is the grammar's canonical caption, and the
    background is the one asked for. Rows with no plan (no objects read, or `plan_layout` False)
    are −1: the model draws from the text alone. params: per image "plan_layout", "layout",
    "layout_cells", "read_as", "warnings". Last, drawn (B,): the background each image is drawn
    on (the plan's; the asked one, or one drawn with the seed, without a plan)."""
    from genlab.pipelines.text2image import read_world_prompt  # the world grammar's reading

    names = list(BACKGROUNDS)
    texts, layouts, backgrounds, params, drawn = [], [], [], [], []
    for prompt, seed in zip(prompts, seeds, strict=True):
        reading = read_world_prompt(prompt)
        req = reading.request
        text = reading.canonical if req.objects else prompt
        meta: dict[str, Any] = {"plan_layout": plan_layout}
        if text != prompt:
            meta["read_as"] = text
        if reading.warnings():
            meta["warnings"] = reading.warnings()
        row, bg = [-1] * 9, -1
        rng = np.random.default_rng(seed)
        on = req.background or names[int(rng.integers(len(names)))]
        if plan_layout and req.objects:
            scene = realize(req, rng, aligned=True)
            row, on = scene_layout(scene).tolist(), scene.background
            bg = names.index(req.background) if req.background else -1
            meta.update(layout=describe_layout(row), layout_cells=row)
        drawn.append(names.index(on))
        texts.append(text)
        layouts.append(row)
        backgrounds.append(bg)
        params.append(meta)
    return texts, torch.tensor(layouts), torch.tensor(backgrounds), params, torch.tensor(drawn)


def plan_vector(pooled: torch.Tensor, layout: torch.Tensor, background: torch.Tensor):
    """The condition vector of a plan-conditioned VAE or GAN: the pooled text embedding, then
    the plan's features (genlab.world.layout.layout_features with the background; zeros where
    there is no plan), (B, text_dim + PLAN_FEATURES)."""
    has_plan = (layout >= 0).all(1)
    feats = layout_features(layout.clamp(min=0), background.long(), LAYOUT_BG_CHANNELS)
    feats = feats.flatten(1).to(pooled) * has_plan[:, None].to(pooled)
    return torch.cat([pooled, feats], dim=1)


PLAN_FEATURES = LAYOUT_BG_CHANNELS * 9


def check_no_steps(num_inference_steps, tokens: int) -> None:
    """An autoregressive model draws its tokens one by one: there are no steps to choose."""
    if num_inference_steps is not None:
        raise InvalidArgument(
            "num_inference_steps",
            f"None: an autoregressive model draws its {tokens} image tokens one by one and has "
            "no denoising steps to set (use temperature, top_k or guidance_scale)",
            num_inference_steps,
        )


def _sampling_options(options: dict, defaults: dict) -> dict:
    """temperature, top_k and top_p of a call (the model's defaults where not given), checked."""
    out = {}
    for key in ("temperature", "top_k", "top_p"):
        value = options.pop(key, None)
        out[key] = defaults.get(key) if value is None else value
    check_sampling_args(out["temperature"], out["top_k"], out["top_p"])
    return out


class VQARPipeline(ClassicPipeline):
    """Text -> image tokens by the AR transformer (KV cache, temperature, top-k, top-p, CFG on
    logits with the empty or the negative prompt as the unconditional branch) -> VQ-VAE decoder."""

    kind, sampler_name = "vq-ar", "autoregressive"
    takes_steps = False  # one token after another: a step count is refused
    default_guidance = 3.0

    def __init__(self, ar: ARTransformer, vqvae: VQVAE, tokenizer: Tokenizer, name, device="cpu"):
        super().__init__(name, vqvae.config.image_size, device)
        self.ar, self.vqvae = ar.to(self.device).eval(), vqvae.to(self.device).eval()
        self.tokenizer, self.read_text = tokenizer, TextPrompt(tokenizer)

    def prepare(self, prompts, negative_prompt, guidance_scale, options, seeds):
        # a short tail (top-k 64) keeps 32×32 samples clean
        sampling = _sampling_options(options, {"temperature": 1.0, "top_k": 64})
        self._no_options(options)
        unknown = [self.read_text.check(p) for p in prompts]
        L = self.ar.config.text_len
        batch = self.tokenizer(prompts, L)
        negative = None
        if negative_prompt:
            self.read_text.check(negative_prompt)
            negative = self.tokenizer([negative_prompt] * len(prompts), L).ids.to(self.device)
        state = dict(
            text_ids=batch.ids.to(self.device),
            negative_ids=negative,
            guidance_scale=self.default_guidance if guidance_scale is None else guidance_scale,
            **sampling,
        )
        params = [
            {
                **sampling,
                "guidance_scale": state["guidance_scale"],
                "num_inference_steps": None,  # no steps: one token after another
                "unknown_words": u,
                "truncated": t,
            }
            for u, t in zip(unknown, batch.truncated)
        ]
        return state, params

    def check_steps(self, num_inference_steps) -> None:
        check_no_steps(num_inference_steps, self.ar.config.image_tokens)

    def generate(self, state, seeds):
        tokens = self.ar.generate(state.pop("text_ids"), generator=self._generators(seeds), **state)
        grid = math.isqrt(self.ar.config.image_tokens)
        return self.vqvae.decode_indices(tokens.view(-1, grid, grid))


class LayoutVQARPipeline(ClassicPipeline):
    """A two-stage autoregressive model of the world: the prompt is read by the world grammar,
    which writes the plan (a 3×3 layout realizing exactly what was asked, drawn with seed + i,
    as world-t2i-layout does), then the layout-conditioned prior (genlab.models.ar_layout) draws
    the plan's image tokens with the frozen text encoder's reading of the prompt beside it, CFG
    on logits against "no condition" (or a negative prompt's text), and the VQ-VAE decodes them.

    Options: temperature, top_k, top_p (the card's measured defaults), plan_layout (False: draw
    from the text alone)."""

    kind, sampler_name = "vq-ar", "autoregressive"
    takes_steps = False  # one token after another: a step count is refused
    plans_layouts = True  # `plan_layout=False` (genlab generate --no-layout) draws from the text
    layout_planner = None  # the grammar writes the plan: no planner temperature to set

    def __init__(
        self,
        ar: LayoutARTransformer,
        vqvae: VQVAE | PaletteTokenizer,
        text_encoder,
        name,
        device="cpu",
        defaults: dict | None = None,
    ):
        super().__init__(name, vqvae.config.image_size, device)
        self.ar, self.vqvae = ar.to(self.device).eval(), vqvae.to(self.device).eval()
        self.text_encoder = text_encoder.to(self.device).eval()
        defaults = defaults or {}
        self.default_guidance = float(defaults.get("guidance_scale", 3.0))
        self.sampling_defaults = {
            "temperature": defaults.get("temperature", 1.0),
            "top_k": defaults.get("top_k"),
            "top_p": defaults.get("top_p"),
        }

    def check_steps(self, num_inference_steps) -> None:
        check_no_steps(num_inference_steps, self.ar.config.image_tokens)

    def prepare(self, prompts, negative_prompt, guidance_scale, options, seeds):
        sampling = _sampling_options(options, self.sampling_defaults)
        plan_layout = options.pop("plan_layout", None)
        plan_layout = True if plan_layout is None else plan_layout
        if not isinstance(plan_layout, bool):
            raise InvalidArgument("plan_layout", "True, False or None", plan_layout)
        self._no_options(options)
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise InvalidArgument("negative_prompt", "a string or None", negative_prompt)
        texts, layout, background, params, drawn = read_and_plan(prompts, seeds, plan_layout)
        guidance = self.default_guidance if guidance_scale is None else guidance_scale
        for meta in params:
            meta.update(sampling, guidance_scale=guidance, num_inference_steps=None)
        state = dict(
            texts=texts,
            layout=layout,
            background=background,
            drawn=drawn,
            negative=negative_prompt or None,
            guidance_scale=guidance,
            **sampling,
        )
        return state, params

    def generate(self, state, seeds):
        B = len(seeds)
        enc = self.text_encoder.encode(state["texts"])
        negative = None
        if state["negative"]:
            neg = self.text_encoder.encode([state["negative"]] * B)
            negative = dict(
                text=neg.tokens,
                text_mask=neg.mask,
                layout=torch.full((B, 9), -1, dtype=torch.long, device=self.device),
                background=torch.full((B,), -1, dtype=torch.long, device=self.device),
            )
        tokens = self.ar.generate(
            text=enc.tokens,
            text_mask=enc.mask,
            layout=state["layout"].to(self.device),
            background=state["background"].to(self.device),
            negative=negative,
            guidance_scale=state["guidance_scale"],
            temperature=state["temperature"],
            top_k=state["top_k"],
            top_p=state["top_p"],
            generator=self._generators(seeds),
        )
        if isinstance(self.vqvae, PaletteTokenizer):  # colours and masks on the drawn background
            return self.vqvae.decode(tokens, state["drawn"].to(self.device))
        g = self.ar.config.image_grid
        return self.vqvae.decode_indices(tokens.view(-1, g, g))


# --------------------------------------------------------------------------- loaders


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _text_encoder(tensors, condition_config, device):
    if condition_config["type"] not in ("text", "plan"):
        return None
    encoder = text_encoder_from_config(condition_config["text_encoder"])
    encoder.load_state_dict(_prefixed(tensors, "text_encoder."))
    return encoder.to(device).eval()


def _name(path, config) -> str:
    return config.get("name") or str(path)


@register_pipeline("vae")
def load_vae(path, config, device: str = "cpu", **_):
    tensors, _ = load_checkpoint(path, dtype=torch.float32)
    vae = VAE(config["model"])
    vae.load_state_dict(_prefixed(tensors, "vae."))
    encoder = _text_encoder(tensors, config["condition"], device)
    return VAEPipeline(vae, _name(path, config), config["condition"], encoder, device)


@register_pipeline("gan")
def load_gan(path, config, device: str = "cpu", **_):
    tensors, _ = load_checkpoint(path, dtype=torch.float32)
    gan = GAN(config["model"])  # the discriminator stays untrained: sampling never calls it
    gan.generator.load_state_dict(_prefixed(tensors, "generator."))
    encoder = _text_encoder(tensors, config["condition"], device)
    return GANPipeline(gan, _name(path, config), config["condition"], encoder, device)


@register_pipeline("vq-ar")
def load_vq_ar(path, config, device: str = "cpu", **_):
    tensors, _ = load_checkpoint(path, dtype=torch.float32)
    if config["ar"].get("arch") == "ar-layout":  # the two-stage model (plan, then draw)
        ar = LayoutARTransformer(config["ar"])
        if "palette_vq" in config:
            vqvae = PaletteTokenizer(config["palette_vq"])
            vqvae.load_state_dict(_prefixed(tensors, "palette_vq."))
        else:
            vqvae = VQVAE(config["vqvae"])
            vqvae.load_state_dict(_prefixed(tensors, "vqvae."))
        text_encoder = text_encoder_from_config(config["text_encoder"])
        ar.load_state_dict(_prefixed(tensors, "ar."))
        text_encoder.load_state_dict(_prefixed(tensors, "text_encoder."))
        defaults = config.get("sampling_defaults", {})
        return LayoutVQARPipeline(ar, vqvae, text_encoder, _name(path, config), device, defaults)
    ar, vqvae = ARTransformer(config["ar"]), VQVAE(config["vqvae"])
    ar.load_state_dict(_prefixed(tensors, "ar."))
    vqvae.load_state_dict(_prefixed(tensors, "vqvae."))
    tokenizer = Tokenizer.from_config(config["tokenizer"])
    return VQARPipeline(ar, vqvae, tokenizer, _name(path, config), device)
