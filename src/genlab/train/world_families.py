"""The four families on one task: the data every family of the world trains on (the `focus` scenes
of world-t2i-layout, rendered at 32 px, with captions, layouts and backgrounds) and the tasks of
the layout-conditioned VQ + AR model (stage 1: the tokenizer, stage 2: the prior).

The AR prior reads the same frozen text encoder as world-t2i-layout and the same plan (the 3×3
layout the grammar or planner writes), so that the families comparison compares drawing stages.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genlab.data.world import focus_item
from genlab.errors import InvalidArgument
from genlab.io import load_checkpoint, save_checkpoint, to_pil
from genlab.models.ar_layout import LAYOUT_AR_MODELS, LayoutARTransformer
from genlab.models.gan import GAN, GAN_MODELS
from genlab.models.palette_vq import PALETTE_VQ_MODELS, PaletteTokenizer
from genlab.models.vae import VAE, VAE_MODELS
from genlab.models.vqvae import VQVAE
from genlab.pipelines.classic import PLAN_FEATURES, plan_vector, read_and_plan
from genlab.text.encoder import TextEncoder
from genlab.train.classic import GANTask, VAETask, WorldShapeMonitor
from genlab.train.config import TrainConfig
from genlab.train.data import TensorSource
from genlab.train.recipes import Family, RecipeOptions, TrainJob, apply_options, spec_config
from genlab.train.task import Task
from genlab.train.text_towers import frozen_text_encoder
from genlab.world.grammar import parse_prompt
from genlab.world.layout import scene_layout
from genlab.world.render import render
from genlab.world.spec import BACKGROUNDS

logger = logging.getLogger(__name__)

CONDITION_DROPOUT = 0.1  # rows trained with no condition at all: the unconditional branch of CFG
LAYOUT_DROPOUT = 0.1  # rows trained on the text alone: prompts the grammar cannot plan
PREVIEW_PROMPTS = (
    "a red circle",
    "a large blue square on the left",
    "two yellow stars",
    "a purple circle above a cyan square",
)


def focus_corpus(n: int, seed: int = 0, size: int = 32) -> dict:
    """n scenes of the focus stream (world-t2i-layout's data): image uint8 (N, 3, S, S), layout
    (N, 9) long, background (N,) long: the index into BACKGROUNDS of the background the caption
    states, −1 where it leaves it open (as a prompt would: then the plan has none either),
    drawn_background (N,) the one in the image, and the captions (a list)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument("n", "a positive number of scenes", n)
    images = np.empty((n, size, size, 3), np.uint8)
    layouts = np.empty((n, 9), np.int64)
    backgrounds = np.empty(n, np.int64)
    drawn = np.empty(n, np.int64)
    captions = []
    names = list(BACKGROUNDS)
    for i in range(n):
        scene, text, _, _ = focus_item(seed, i)
        images[i] = render(scene, size)
        layouts[i] = scene_layout(scene)
        stated = parse_prompt(text).request.background
        backgrounds[i] = names.index(stated) if stated else -1
        drawn[i] = names.index(scene.background)
        captions.append(text)
    return {
        "image": torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        "layout": torch.from_numpy(layouts),
        "background": torch.from_numpy(backgrounds),
        "drawn_background": torch.from_numpy(drawn),
        "captions": captions,
    }


@torch.no_grad()
def encode_tokens(vqvae: VQVAE, images: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """uint8 images (N, 3, S, S) -> token grids (N, h*w) long."""
    vqvae.eval()
    out = [
        vqvae.encode_indices(images[s : s + batch].float() / 127.5 - 1).flatten(1)
        for s in range(0, len(images), batch)
    ]
    return torch.cat(out)


@torch.no_grad()
def tokenizer_report(vqvae: VQVAE, images: torch.Tensor) -> dict:
    """How near-lossless the tokenizer is on uint8 images (N, 3, S, S): reconstruction MSE and
    PSNR in [-1, 1] units, codebook usage and perplexity over the whole set, and the fraction of
    reconstructions the scene parser reads as the same scene as the original (the ceiling of
    any prior drawing through this tokenizer)."""
    from genlab.world.parser import parse_image  # the judge: only needed for this report

    vqvae.eval()
    x = images.float() / 127.5 - 1
    tokens = encode_tokens(vqvae, images)
    recon = vqvae.decode_indices(tokens.view(len(x), *vqvae_grid(vqvae))).clamp(-1, 1)
    mse = float(F.mse_loss(recon, x))
    counts = torch.bincount(tokens.flatten(), minlength=vqvae.config.codebook_size).float()
    p = counts / counts.sum()
    same = 0
    for a, b in zip(x, recon):
        same += parse_image(_pil(a)).describe() == parse_image(_pil(b)).describe()
    return {
        "mse": mse,
        "psnr": 10 * math.log10(4 / max(mse, 1e-12)),
        "codes_used": int((counts > 0).sum()),
        "codebook_size": vqvae.config.codebook_size,
        "perplexity": float(torch.exp(-(p * (p + 1e-12).log()).sum())),
        "same_parse": same / len(x),
    }


@torch.no_grad()
def encode_captions(text_encoder: TextEncoder, captions: list[str], length: int, batch=1024):
    """Captions -> (tokens (N, length, D) float16, mask (N, length) bool): the frozen encoder's
    first `length` output tokens, computed once instead of at every step."""
    text_encoder.eval()
    toks, masks = [], []
    for s in range(0, len(captions), batch):
        enc = text_encoder.encode(captions[s : s + batch])
        toks.append(enc.tokens[:, :length].half())
        masks.append(enc.mask[:, :length])
    return torch.cat(toks), torch.cat(masks)


def vqvae_grid(vqvae: VQVAE) -> tuple[int, int]:
    g = vqvae.config.grid
    return g, g


def _pil(x: torch.Tensor):
    return to_pil(x.cpu())


class LayoutARTask(Task):
    """Stage 2: next-token cross-entropy of the layout-conditioned prior over frozen tokenizer
    grids, the captions' text-encoder tokens precomputed (`encode_captions`). CONDITION_DROPOUT
    of the rows see no condition (CFG's unconditional branch) and LAYOUT_DROPOUT the text
    without a plan (prompts the grammar cannot plan)."""

    def __init__(
        self,
        ar: LayoutARTransformer,
        vqvae: VQVAE | PaletteTokenizer,
        text_encoder: TextEncoder,
        extra_config: dict | None = None,
    ):
        self.ar = ar
        self.vqvae = vqvae.eval().requires_grad_(False)
        self.text_encoder = text_encoder.eval().requires_grad_(False)
        self.extra_config = extra_config or {}

    def modules(self):
        return {"ar": self.ar}

    def ema_modules(self):
        return ["ar"]

    def training_step(self, batch, optimizer_name):
        tokens, mask = batch["tokens"], batch["text_mask"]
        B, device = len(tokens), tokens.device
        u = torch.rand(B, device=device)
        drop_all = u < CONDITION_DROPOUT
        no_plan = u < CONDITION_DROPOUT + LAYOUT_DROPOUT
        out = self.ar.loss(
            tokens,
            text=batch["text"].float(),
            text_mask=mask & ~drop_all[:, None],
            layout=batch["layout"].masked_fill(no_plan[:, None], -1),
            background=batch["background"].masked_fill(no_plan, -1),
        )
        return out["loss"], {"bits_per_token": out["bits_per_token"]}

    def export(self):
        tensors = {f"ar.{k}": v for k, v in self.ar.state_dict().items()}
        # the tokenizer: a conv VQ-VAE, or the factorised palette tokenizer
        key = "palette_vq" if isinstance(self.vqvae, PaletteTokenizer) else "vqvae"
        tensors.update({f"{key}.{k}": v for k, v in self.vqvae.state_dict().items()})
        tensors.update({f"text_encoder.{k}": v for k, v in self.text_encoder.state_dict().items()})
        config = {
            "pipeline": "vq-ar",
            "ar": self.ar.config.to_dict(),
            key: self.vqvae.config.to_dict(),
            "text_encoder": self.text_encoder.config.to_dict(),
            **self.extra_config,
        }
        return tensors, config


class PlanCondition:
    """The condition of a plan-conditioned VAE or GAN (the `Condition` interface of
    genlab.train.classic): the frozen text encoder's pooled embedding of the caption and the
    plan's features, one vector (genlab.pipelines.classic.plan_vector), precomputed per scene
    in batch["plan"]; dropped rows are zeros."""

    def __init__(self, text_encoder: TextEncoder):
        self.text_encoder = text_encoder.eval().requires_grad_(False)
        self.class_names = None

    @property
    def model_kwargs(self) -> dict[str, int]:
        return {"text_dim": self.text_encoder.width + PLAN_FEATURES}

    def modules(self) -> dict:
        return {}  # frozen: read, never trained

    def __call__(self, batch: dict, dropout: float = 0.0) -> torch.Tensor:
        v = batch["plan"].float()
        if dropout:
            keep = torch.rand(v.shape[0], device=v.device) >= dropout
            v = v * keep[:, None]
        return v

    @torch.no_grad()
    def vectors(self, prompts: list[str], seeds: list[int]) -> torch.Tensor:
        texts, layout, background, _, _ = read_and_plan(prompts, seeds)
        pooled = self.text_encoder.encode(texts).pooled
        return plan_vector(pooled, layout.to(pooled.device), background.to(pooled.device))

    def grid(self, per_condition: int, device) -> tuple[torch.Tensor, list[str]]:
        prompts = [p for p in PREVIEW_PROMPTS for _ in range(per_condition)]
        self.text_encoder.to(device)
        return self.vectors(prompts, list(range(len(prompts)))), list(PREVIEW_PROMPTS)

    def config(self) -> dict:
        return {"type": "plan", "text_encoder": self.text_encoder.config.to_dict()}

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f"text_encoder.{k}": v for k, v in self.text_encoder.state_dict().items()}


@torch.no_grad()
def plan_tensors(text_encoder: TextEncoder, corpus: dict, batch: int = 1024) -> torch.Tensor:
    """(N, text_dim + PLAN_FEATURES) plan vectors of a focus corpus (its layouts, the stated
    backgrounds, the captions' pooled embeddings)."""
    out = []
    caps = corpus["captions"]
    for s in range(0, len(caps), batch):
        pooled = text_encoder.encode(caps[s : s + batch]).pooled
        layout, bg = corpus["layout"][s : s + batch], corpus["background"][s : s + batch]
        out.append(plan_vector(pooled, layout, bg).half())
    return torch.cat(out)


# --------------------------------------------------------------------------- recipe builders


@dataclass(frozen=True)
class PlanARSpec:
    """The two-stage world VQ + AR recipe's config: the focus corpus, the palette tokenizer (its
    mask codebook fitted by k-means on the first `tokenizer_images` focus scenes of seed
    `tokenizer_seed`, or reused from OUT/palette-vq.safetensors), then the layout-conditioned
    prior, trained `steps` steps of a cosine schedule `schedule_steps` long."""

    images: int = 80_000  # focus scenes rendered, one caption each (--data-size)
    image_size: int = 32
    text_from: str = "world-t2i-layout"  # the bundled model whose frozen text encoder is read
    text_len: int = 16
    tokenizer: str = "palette-vq-world"  # PALETTE_VQ_MODELS
    tokenizer_images: int = 4000
    tokenizer_seed: int | None = None  # the focus stream it is fitted on; None: the run's --seed
    tokenizer_iters: int = 20
    ar: str = "ar-layout-world"  # LAYOUT_AR_MODELS
    steps: int = 1500
    schedule_steps: int | None = None  # the cosine's length if the run stops earlier; None: steps
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    log_every: int = 50
    export: str = "world-vq-ar"
    # the export's sampling defaults: the bundled world-vq-ar's, chosen by
    # benchmarks/vq_ar_sampling.py (without them the pipeline draws at guidance 3.0, temperature 1)
    guidance_scale: float = 1.5
    temperature: float = 0.7
    top_k: int | None = None


PLAN_AR_TINY = dict(
    images=64, image_size=16, text_len=4, tokenizer="palette-vq-tiny", tokenizer_images=64,
    tokenizer_iters=2, ar="ar-layout-tiny", steps=4, schedule_steps=None, batch_size=8,
    warmup_steps=0, log_every=2,
)  # fmt: skip


@dataclass(frozen=True)
class PlanClassicSpec:
    """A plan-conditioned world VAE or DCGAN: the same corpus, text encoder and plan as the AR
    model's, one condition vector (PlanCondition)."""

    kind: str = "vae"  # "vae" or "gan"
    model: str = "vae-world-conv"  # VAE_MODELS / GAN_MODELS
    hidden: int | None = None  # overrides the size's width
    images: int = 40_000
    image_size: int = 32
    text_from: str = "world-t2i-layout"
    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 100
    grad_clip: float | None = 1.0
    log_every: int = 50
    export: str = "world-vae"


PLAN_CLASSIC_TINY = dict(images=64, image_size=16, hidden=8, steps=4, batch_size=8, log_every=2)


def tokenizer_scenes(spec: PlanARSpec, corpus: dict, seed: int) -> dict:
    """The scenes the palette tokenizer is fitted on: the first `tokenizer_images` of the focus
    stream of `tokenizer_seed` (the training corpus's own first scenes when that is the run's
    seed or None, else rendered here)."""
    n = spec.tokenizer_images
    if spec.tokenizer_seed is None or spec.tokenizer_seed == seed:
        return {k: corpus[k][:n] for k in ("image", "drawn_background")}
    return focus_corpus(n, spec.tokenizer_seed, spec.image_size)


def _palette(spec: PlanARSpec, corpus: dict, out: Path, seed: int) -> PaletteTokenizer:
    """The palette tokenizer, fitted here (and saved in OUT) or reused from OUT."""
    path = out / "palette-vq.safetensors"
    if path.is_file():
        tensors, config = load_checkpoint(path, dtype=torch.float32)
        tokenizer = PaletteTokenizer(config["model"])
        tokenizer.load_state_dict(tensors)
        logger.info(f"stage 1: reusing the palette tokenizer at {path}")
        return tokenizer
    tokenizer = PaletteTokenizer(
        dict(PALETTE_VQ_MODELS[spec.tokenizer], image_size=spec.image_size)
    )
    scenes = tokenizer_scenes(spec, corpus, seed)
    x = scenes["image"].float() / 127.5 - 1
    used = tokenizer.fit(x, scenes["drawn_background"], iters=spec.tokenizer_iters)
    logger.info(
        f"stage 1: palette tokenizer fitted on {len(x)} focus scenes of seed "
        f"{seed if spec.tokenizer_seed is None else spec.tokenizer_seed}, {used:.0%} of mask "
        "codes used"
    )
    save_checkpoint(
        path,
        tokenizer.state_dict(),
        {"pipeline": "palette-vq", "model": tokenizer.config.to_dict()},
    )
    return tokenizer


def plan_ar_config(name: str, spec: PlanARSpec, options: RecipeOptions) -> TrainConfig:
    """The training loop's settings of a world VQ + AR recipe, the command line applied."""
    config = spec_config(spec, lr_schedule="cosine", checkpoint_every_s=120.0)
    apply_options(config, options, name)
    config.export_name, config.export_dtype = spec.export, "float16"
    return config


def build_plan_ar(name: str, spec: PlanARSpec, options: RecipeOptions) -> TrainJob:
    """Render the corpus, fit (or reuse) the tokenizer, encode tokens and captions once."""
    torch.manual_seed(options.seed)  # --seed fixes the initial weights too, not only the data
    n = options.data_size or spec.images
    corpus = focus_corpus(n, options.seed, spec.image_size)
    out = Path(options.out_dir or f"runs/{name}")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _palette(spec, corpus, out, options.seed)
    text_encoder = frozen_text_encoder(spec.text_from)
    text, mask = encode_captions(text_encoder, corpus["captions"], spec.text_len)
    x = corpus["image"].float() / 127.5 - 1
    tokens = torch.cat(
        [
            tokenizer.encode(x[s : s + 2048], corpus["drawn_background"][s : s + 2048])
            for s in range(0, n, 2048)
        ]
    )
    ar = LayoutARTransformer(
        dict(
            LAYOUT_AR_MODELS[spec.ar],
            text_len=spec.text_len,
            text_dim=text_encoder.width,
            image_vocab_size=tokenizer.config.vocab_size,
            token_colors=tokenizer.config.num_colors,
            image_grid=tokenizer.config.grid,
        )
    )
    config = plan_ar_config(name, spec, options)
    config.extra = {
        "data": f"{n:,} focus scenes at {spec.image_size} px (world-t2i-layout's mix), one "
        "caption each; the plan is each scene's layout, the background the one its caption states",
        "stage 1": f"palette tokenizer {spec.tokenizer}: {tokenizer.config.num_masks} coverage-"
        f"mask codes × {tokenizer.config.num_colors} colours, {tokenizer.config.grid}² tokens, "
        f"fitted on {spec.tokenizer_images:,} focus scenes of seed "
        f"{options.seed if spec.tokenizer_seed is None else spec.tokenizer_seed}",
        "stage 2": f"{spec.ar} ({sum(p.numel() for p in ar.parameters()):,} parameters)",
        "text encoder": f"{spec.text_from}'s, frozen",
    }
    data = TensorSource(
        {
            "tokens": tokens,
            "text": text,
            "text_mask": mask,
            "layout": corpus["layout"],
            "background": corpus["background"],
        }
    )
    sampling = {"guidance_scale": spec.guidance_scale, "temperature": spec.temperature}
    extra = {"sampling_defaults": {**sampling, "top_k": spec.top_k}}
    return TrainJob(LayoutARTask(ar, tokenizer, text_encoder, extra), data, config)


def build_plan_classic(name: str, spec: PlanClassicSpec, options: RecipeOptions) -> TrainJob:
    """A plan-conditioned VAE or DCGAN on the focus corpus."""
    torch.manual_seed(options.seed)  # --seed fixes the initial weights too, not only the data
    n = options.data_size or spec.images
    corpus = focus_corpus(n, options.seed, spec.image_size)
    condition = PlanCondition(frozen_text_encoder(spec.text_from))
    data = TensorSource(
        {"image": corpus["image"], "plan": plan_tensors(condition.text_encoder, corpus)}
    )
    sizes = {"image_size": spec.image_size, "in_channels": 3, **condition.model_kwargs}
    if spec.hidden is not None:
        sizes["hidden"] = spec.hidden
    if spec.kind == "vae":
        task = VAETask(VAE(dict(VAE_MODELS[spec.model], **sizes)), condition)
    else:
        task = GANTask(GAN(dict(GAN_MODELS[spec.model], **sizes)), condition, WorldShapeMonitor())
    config = spec_config(spec, checkpoint_every_s=120.0)
    apply_options(config, options, name)
    config.export_name, config.export_dtype = spec.export, "float16"
    config.extra = {
        "data": f"{n:,} focus scenes at {spec.image_size} px, one caption each",
        "condition": f"{spec.text_from}'s frozen text encoder (pooled) + the plan's features",
        "model": spec.model + (f" (hidden {spec.hidden})" if spec.hidden else ""),
    }
    return TrainJob(task, data, config)


PLAN_AR = Family(PlanARSpec, build_plan_ar, PLAN_AR_TINY)
PLAN_CLASSIC = Family(PlanClassicSpec, build_plan_classic, PLAN_CLASSIC_TINY)
