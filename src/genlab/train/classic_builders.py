"""The classic families' recipe configs and builders: a class-conditional VAE or GAN on the digits
(`DigitsSpec`), and the world's VQ-VAE then text-to-image AR transformer (`VQARSpec`, two stages
in one recipe). The recipes themselves are data in genlab.train.recipes.classic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from genlab.io import load_checkpoint
from genlab.models.ar_transformer import AR_MODELS, ARConfig, ARTransformer
from genlab.models.gan import GAN, GAN_MODELS
from genlab.models.vae import VAE, VAE_MODELS
from genlab.models.vqvae import VQVAE, VQVAE_MODELS
from genlab.text.tokenizer import PAD_ID, Tokenizer
from genlab.train.classic import (
    DIGIT_NAMES,
    ARTask,
    Condition,
    DigitsMonitor,
    GANTask,
    VAETask,
    VQVAETask,
    digits_tensors,
    encode_tokens,
    world_tensors,
)
from genlab.train.data import TensorSource
from genlab.train.recipes import Family, RecipeOptions, TrainJob, apply_options, spec_config
from genlab.train.trainer import TrainConfig, Trainer, resolve_device

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- digits


@dataclass(frozen=True)
class DigitsSpec:
    """A digits recipe's config (a class-conditional VAE or GAN on sklearn's digits)."""

    model: str  # the model the recipe trains (VAE_MODELS / GAN_MODELS), named on its card
    size: str | None = None  # the registry size built, when not `model` (--tiny: a tiny one)
    image_size: int | None = None  # default: the model's
    images: int | None = None  # the first N training images (default: all)
    steps: int = 3000
    batch_size: int = 128
    lr: float = 2e-4
    warmup_steps: int = 0
    lr_schedule: str = "constant"
    grad_clip: float | None = 1.0
    ema_decay: float = 0.999
    log_every: int = 50
    sample_every: int = 1000


DIGITS_TINY = dict(image_size=16, images=64, steps=4, batch_size=8, log_every=2)


def _digits_data(spec: DigitsSpec, models: dict) -> tuple[TensorSource, dict, int]:
    base = models[spec.size or spec.model]
    size = spec.image_size or base["image_size"]
    tensors = digits_tensors(size, "train")
    if spec.images is not None:
        tensors = {k: v[: spec.images] for k, v in tensors.items()}
    return TensorSource(tensors), base, size


def _finish(config: TrainConfig, options: RecipeOptions, name: str, export: str) -> TrainConfig:
    apply_options(config, options, name)
    config.export_name = export
    config.export_dtype = "float16"  # bundled weights are fp16
    return config


def _build_digits(name: str, spec: DigitsSpec, options: RecipeOptions, models: dict, make_task):
    """A class-conditional model of `models` (a size registry) on the digits; `make_task(config,
    condition)` builds the model from its config dict and returns its task."""
    data, base, size = _digits_data(spec, models)
    cond = Condition(class_names=DIGIT_NAMES)
    task = make_task(dict(base, image_size=size, in_channels=1, **cond.model_kwargs), cond)
    config = spec_config(spec)
    config.extra = {"data": f"sklearn digits at {size} px (train split)", "model": spec.model}
    return TrainJob(task, data, _finish(config, options, name, name))


def build_digits_vae(name: str, spec: DigitsSpec, options: RecipeOptions) -> TrainJob:
    """A class-conditional VAE on the digits."""
    return _build_digits(
        name, spec, options, VAE_MODELS, lambda config, cond: VAETask(VAE(config), cond)
    )


def build_digits_gan(name: str, spec: DigitsSpec, options: RecipeOptions) -> TrainJob:
    """A class-conditional GAN (projection discriminator, spectral norm) on the digits."""
    return _build_digits(
        name,
        spec,
        options,
        GAN_MODELS,
        lambda config, cond: GANTask(GAN(config), cond, monitor=DigitsMonitor()),
    )


DIGITS_VAE = Family(DigitsSpec, build_digits_vae, dict(DIGITS_TINY, size="vae-tiny"))
DIGITS_GAN = Family(DigitsSpec, build_digits_gan, dict(DIGITS_TINY, size="gan-tiny"))


# --------------------------------------------------------------------------- world VQ + AR


@dataclass(frozen=True)
class VQARSpec:
    """A world VQ + AR recipe's config: stage 1 (the VQ-VAE tokenizer) then stage 2 (the AR
    transformer on its tokens); --time-budget is split vq_share / 1 - vq_share between them."""

    images: int = 300_000  # world scenes rendered, one caption each (--data-size)
    image_size: int = 32
    vqvae: str = "vqvae-world"  # VQVAE_MODELS
    vq_steps: int = 4000
    vq_batch: int = 256
    vq_log_every: int = 50
    ar: str = "ar-world"  # AR_MODELS
    ar_steps: int = 30_000
    ar_batch: int = 256
    ar_lr: float = 6e-4
    ar_log_every: int = 50
    vq_share: float = 0.3
    export: str = "world-vq-ar"


VQ_AR_TINY = dict(
    images=64, image_size=16, vqvae="vqvae-tiny", vq_steps=4, vq_batch=8, vq_log_every=2,
    ar="ar-tiny", ar_steps=4, ar_batch=8, ar_log_every=2,
)  # fmt: skip


def _vq_stage(spec: VQARSpec, options: RecipeOptions, tensors, out: Path) -> VQVAE:
    """Train the VQ-VAE with its own Trainer in OUT/vqvae (reused if already exported there)."""
    path = out / "vqvae" / "world-vqvae.safetensors"
    size = tensors["image"].shape[-1]
    if path.is_file():
        state, config = load_checkpoint(path, dtype=torch.float32)
        vqvae = VQVAE(config["model"])
        vqvae.load_state_dict(state)
        logger.info(f"stage 1: reusing the VQ-VAE at {path}")
        return vqvae
    vqvae = VQVAE(dict(VQVAE_MODELS[spec.vqvae], image_size=size))
    budget = None if options.time_budget is None else spec.vq_share * options.time_budget
    stage = RecipeOptions(
        out_dir=str(out / "vqvae"),
        device=options.device,
        time_budget=budget,
        seed=options.seed,
        tiny=options.tiny,
        progress=options.progress,
    )
    config = TrainConfig(steps=spec.vq_steps, batch_size=spec.vq_batch, lr=1e-3)
    config.warmup_steps, config.log_every = 100, spec.vq_log_every
    config = _finish(config, stage, "world-vqvae", "world-vqvae")
    config.export_dtype = "float32"  # an intermediate: stage 2 reads it at full precision
    data = TensorSource({"image": tensors["image"]})
    trainer = Trainer(VQVAETask(vqvae, tensors["image"][:8]), data, config)
    try:
        trainer.run()
    finally:
        trainer.close()
    return vqvae.cpu().eval()


def build_vq_ar(name: str, spec: VQARSpec, options: RecipeOptions) -> TrainJob:
    """Stage 1 (trained here, or reused from OUT/vqvae) and the AR transformer's job."""
    started = time.monotonic()
    ar_base = AR_MODELS[spec.ar]
    tokenizer = Tokenizer()
    n = options.data_size or spec.images
    tensors = world_tensors(n, spec.image_size, options.seed, tokenizer, ar_base["text_len"])
    out = Path(options.out_dir or f"runs/{name}")
    vqvae = _vq_stage(spec, options, tensors, out)
    device = resolve_device(options.device)
    tokens = encode_tokens(vqvae, tensors["image"], device)
    ar_cfg = ARConfig.from_dict(
        dict(
            ar_base,
            text_vocab_size=len(tokenizer),
            image_vocab_size=vqvae.config.codebook_size,
            image_tokens=vqvae.config.grid**2,
            pad_id=PAD_ID,
        )
    )
    ar = ARTransformer(ar_cfg)
    config = TrainConfig(
        steps=spec.ar_steps,
        batch_size=spec.ar_batch,
        lr=spec.ar_lr,
        warmup_steps=200,
        lr_schedule="cosine",
        weight_decay=0.01,
        log_every=spec.ar_log_every,
        sample_every=0,
        checkpoint_every_s=120.0,
    )
    stage_options = options
    if options.time_budget is not None:  # rendering and stage 1 spent part of the budget
        left = options.time_budget - (time.monotonic() - started)
        stage_options = replace(options, time_budget=max(left, 1.0))
    config = _finish(config, stage_options, name, spec.export)
    config.extra = {
        "data": f"{len(tokens):,} pre-rendered world scenes at 32 px, one caption each",
        "stage 1": f"VQ-VAE {spec.vqvae}, {vqvae.config.codebook_size} codes, "
        f"{vqvae.config.grid}×{vqvae.config.grid} tokens",
        "stage 2": f"{spec.ar} ({sum(p.numel() for p in ar.parameters()):,} parameters)",
    }
    data = TensorSource({"ids": tensors["ids"], "tokens": tokens})
    return TrainJob(ARTask(ar, vqvae, tokenizer), data, config)


VQ_AR = Family(VQARSpec, build_vq_ar, VQ_AR_TINY)
