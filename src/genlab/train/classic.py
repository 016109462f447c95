"""Tasks of the classic families for the shared Trainer: VAE and GAN on digits (class labels) and
the world (text), VQ-VAE then the autoregressive transformer on its tokens. Their recipes' configs
and builders are in genlab.train.classic_builders.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from genlab.data.digits import TEST_EVERY, DigitsDataset, _raw_digits
from genlab.data.world import prerender
from genlab.errors import InvalidArgument
from genlab.models.ar_transformer import ARTransformer
from genlab.models.gan import GAN, class_histogram
from genlab.models.vae import VAE
from genlab.models.vqvae import VQVAE
from genlab.text.encoder import TextEncoder, TextEncoderConfig
from genlab.text.tokenizer import PAD_ID, Tokenizer
from genlab.train.task import OptimizerGroup, Task
from genlab.world import SHAPES
from genlab.world.parser import parse_image

logger = logging.getLogger(__name__)

DIGIT_NAMES = [str(i) for i in range(10)]
CONDITION_DROPOUT = 0.1  # share of batches trained with the null condition (for "" and CFG)

# Prompts of the progress grids and of the monitor: seen combinations and one held-out pair.
WORLD_GRID_PROMPTS = [
    "a red circle",
    "a blue square",
    "a large green triangle",
    "a yellow star on the left",
    "a purple circle above a cyan square",
    "two orange diamonds",
    "a small pink star on a white background",
    "a red triangle",  # held out: never seen in training
]

# Text encoder of the text-conditional VAE and GAN: small, trained jointly with the model.
WORLD_TEXT_ENCODER = dict(width=64, depth=2, num_heads=2, max_length=24)


def as_images(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) in [0, 255] or float in [-1, 1] -> float (B, C, H, W) in [-1, 1]."""
    return x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()


# --------------------------------------------------------------------------- data


def digits_tensors(size: int = 28, split: str = "train") -> dict[str, torch.Tensor]:
    """The digits as in-memory tensors: image (N, 1, S, S) in [-1, 1], label (N,)."""
    ds = DigitsDataset(size=size, split=split)
    items = [ds[i] for i in range(len(ds))]
    images = torch.stack([torch.as_tensor(it["image"]).float() for it in items])
    if images.ndim == 3:
        images = images[:, None]
    if images.shape[1] == 3:  # grey digits stored as RGB: keep one channel
        images = images.mean(1, keepdim=True)
    labels = torch.tensor([int(it["label"]) for it in items])
    return {"image": images, "label": labels}


def world_tensors(
    n: int, size: int, seed: int, tokenizer: Tokenizer, text_len: int, workers: int | None = None
) -> dict[str, torch.Tensor]:
    """n pre-rendered world scenes: image uint8 (N, 3, S, S), caption ids and mask (N, text_len)."""
    data = prerender(n, size, seed, workers) if workers else prerender(n, size, seed)
    images = torch.as_tensor(data["images"]).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    batch = tokenizer(list(data["captions"]), text_len)
    return {"image": images, "ids": batch.ids, "mask": batch.mask}


# --------------------------------------------------------------------------- conditioning


class Condition:
    """How a batch becomes a model's condition: class labels, or the pooled embedding of a text
    encoder trained jointly. In training, CONDITION_DROPOUT of the rows get the null condition
    (label K, or the empty prompt), so "" means "any" at sampling time."""

    def __init__(
        self, class_names: list[str] | None = None, text_encoder: TextEncoder | None = None
    ):
        if (class_names is None) == (text_encoder is None):
            raise InvalidArgument("condition", "class_names or a text_encoder (exactly one)")
        self.class_names, self.text_encoder = class_names, text_encoder

    @property
    def model_kwargs(self) -> dict[str, int]:
        if self.class_names is not None:
            return {"num_classes": len(self.class_names)}
        return {"text_dim": self.text_encoder.width}

    def modules(self) -> dict[str, nn.Module]:
        return {} if self.text_encoder is None else {"text_encoder": self.text_encoder}

    def __call__(self, batch: dict, dropout: float = 0.0) -> torch.Tensor:
        if self.class_names is not None:
            labels = batch["label"]
            if dropout:
                drop = torch.rand(labels.shape, device=labels.device) < dropout
                labels = labels.masked_fill(drop, len(self.class_names))
            return labels
        ids, mask = batch["ids"], batch["mask"]
        if dropout:
            drop = torch.rand(ids.shape[0], device=ids.device) < dropout
            ids = ids.masked_fill(drop[:, None], PAD_ID)
            mask = mask & ~drop[:, None]
        return self.text_encoder(ids, mask)[2]  # pooled (B, D)

    def grid(self, per_condition: int, device) -> tuple[torch.Tensor, list[str]]:
        """Conditions of a progress grid (each repeated per_condition times) and their names."""
        if self.class_names is not None:
            names = list(self.class_names)
            labels = torch.arange(len(names), device=device).repeat_interleave(per_condition)
            return labels, names
        enc = self.text_encoder.encode(
            [p for p in WORLD_GRID_PROMPTS for _ in range(per_condition)]
        )
        return enc.pooled, list(WORLD_GRID_PROMPTS)

    def config(self) -> dict:
        if self.class_names is not None:
            return {"type": "class", "class_names": list(self.class_names)}
        return {"type": "text", "text_encoder": self.text_encoder.config.to_dict()}

    def tensors(self) -> dict[str, torch.Tensor]:
        if self.text_encoder is None:
            return {}
        return {f"text_encoder.{k}": v for k, v in self.text_encoder.state_dict().items()}


def conditional_export(
    pipeline: str, prefix: str, module: nn.Module, model_config, condition: Condition
) -> tuple[dict[str, torch.Tensor], dict]:
    """The checkpoint of a conditional VAE or GAN: `module`'s weights under `prefix.`, the text
    encoder's beside them (text conditions), and the config its `pipeline` loads."""
    tensors = {f"{prefix}.{k}": v for k, v in module.state_dict().items()}
    config = {
        "pipeline": pipeline,
        "model": model_config.to_dict(),
        "condition": condition.config(),
    }
    return {**tensors, **condition.tensors()}, config


def world_text_encoder(tokenizer: Tokenizer, **overrides) -> TextEncoder:
    return TextEncoder(
        TextEncoderConfig(vocab=list(tokenizer.vocab)), **{**WORLD_TEXT_ENCODER, **overrides}
    )


# --------------------------------------------------------------------------- mode-collapse monitors


class DigitsMonitor:
    """Which digit each sample shows, by 3-nearest neighbours among the train split of sklearn's
    8×8 digits (no fitting; 97% on the upscaled test split): the class histogram of a GAN's
    samples reveals mode collapse."""

    neighbours = 3

    def __init__(self):
        images, labels = _raw_digits()
        train = np.arange(len(labels)) % TEST_EVERY != 0  # DigitsDataset's train split
        self.bank = torch.from_numpy(images[train].reshape(-1, 64) / 16.0).float()  # (N, 64)
        self.labels = torch.from_numpy(labels[train])

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) in [-1, 1] -> (B,) predicted digits (area-averaged back to 8×8)."""
        small = F.adaptive_avg_pool2d(images.float().mean(1, keepdim=True).cpu(), 8)
        pixels = ((small + 1) / 2).clamp(0, 1).flatten(1)  # (B, 64) in [0, 1] like the bank
        nearest = torch.cdist(pixels, self.bank).topk(self.neighbours, largest=False).indices
        votes = F.one_hot(self.labels[nearest], 10).sum(1).float()  # (B, 10)
        votes += F.one_hot(self.labels[nearest[:, 0]], 10) * 0.5  # ties go to the nearest
        return votes.argmax(1)

    def __call__(self, images: torch.Tensor) -> dict:
        return class_histogram(self.predict(images), 10)


class WorldShapeMonitor:
    """Histogram of the shapes the world's scene parser finds in samples (plus "none")."""

    def __call__(self, images: torch.Tensor) -> dict:
        labels = []
        for image in images:
            objects = parse_image(image.float().cpu()).objects
            labels.append(SHAPES.index(objects[0].shape) if objects else len(SHAPES))
        return class_histogram(torch.tensor(labels), len(SHAPES) + 1)


# --------------------------------------------------------------------------- tasks


class VAETask(Task):
    """Negative ELBO of a (conditional) VAE; logs the reconstruction and KL terms apart."""

    def __init__(self, vae: VAE, condition: Condition):
        self.vae, self.condition = vae, condition

    def modules(self):
        return {"vae": self.vae, **self.condition.modules()}

    def ema_modules(self):
        return list(self.modules())

    def training_step(self, batch, optimizer_name):
        out = self.vae.loss(as_images(batch["image"]), self.condition(batch, CONDITION_DROPOUT))
        return out["loss"], {"recon": out["recon"], "kl": out["kl"]}

    def sample_grid(self):
        cond, _ = self.condition.grid(4, self.device)
        gen = torch.Generator(self.device).manual_seed(0)
        return list(self.vae.sample(len(cond), cond, gen).clamp(-1, 1))

    def export(self):
        return conditional_export("vae", "vae", self.vae, self.vae.config, self.condition)


class GANTask(Task):
    """Alternating discriminator and generator steps on the same batch (D first), Adam β₁ = 0.5
    as DCGAN; every `sample_grid` also logs the class histogram of 500 samples (mode collapse)."""

    def __init__(self, gan: GAN, condition: Condition, monitor=None, lr: float = 2e-4):
        self.gan, self.condition, self.monitor, self.lr = gan, condition, monitor, lr
        self.monitor_log: list[dict] = []

    def modules(self):
        return {
            "generator": self.gan.generator,
            "discriminator": self.gan.discriminator,
            **self.condition.modules(),
        }

    def optimizer_groups(self):
        # The text encoder learns through the discriminator's loss; the generator reads it frozen.
        d_params = [*self.gan.discriminator.parameters()]
        for m in self.condition.modules().values():
            d_params += list(m.parameters())
        betas = (0.5, 0.999)
        return {
            "discriminator": OptimizerGroup(d_params, lr=self.lr, betas=betas),
            "generator": OptimizerGroup(self.gan.generator.parameters(), lr=self.lr, betas=betas),
        }

    def ema_modules(self):
        return ["generator"]  # an EMA generator samples better (Yazıcı et al. 2019)

    def training_step(self, batch, optimizer_name):
        real = as_images(batch["image"])
        if optimizer_name == "discriminator":
            out = self.gan.discriminator_loss(real, self.condition(batch, CONDITION_DROPOUT))
            return out["loss"], {"d_real": out["d_real"], "d_fake": out["d_fake"]}
        with torch.no_grad():
            cond = self.condition(batch, CONDITION_DROPOUT)
        self.gan.discriminator.requires_grad_(False)  # G's step must not fill D's gradients
        try:
            out = self.gan.generator_loss(real.shape[0], cond)
        finally:
            self.gan.discriminator.requires_grad_(True)
        return out["loss"], {}

    def sample_grid(self):
        cond, names = self.condition.grid(4, self.device)
        gen = torch.Generator(self.device).manual_seed(0)
        grid = list(self.gan.sample(len(cond), cond, gen))
        if self.monitor is not None:
            n = 500 if self.condition.class_names is not None else 64
            per = math.ceil(n / len(names))
            many, _ = self.condition.grid(per, self.device)
            samples = self.gan.sample(len(many), many, gen)
            stats = self.monitor(samples)
            # Collapse inside a condition: per-pixel std over the samples of one condition.
            grouped = samples.float().reshape(len(names), per, -1)
            stats["within_condition_std"] = float(grouped.std(1).mean())
            self.monitor_log.append(stats)
            logger.info(
                f"mode-collapse monitor: class entropy {stats['entropy']:.3f}, "
                f"{stats['classes_covered']} classes covered, counts {stats['counts']}, "
                f"pixel std within a condition {stats['within_condition_std']:.3f}"
            )
        return grid

    def export(self):
        gan = self.gan
        return conditional_export("gan", "generator", gan.generator, gan.config, self.condition)

    def model_card(self):
        if not self.monitor_log:
            return ""
        last = self.monitor_log[-1]
        return (
            "Mode-collapse monitor at the end of training (classes predicted for samples drawn "
            f"evenly over the conditions): normalised class entropy {last['entropy']:.3f}, "
            f"{last['classes_covered']} classes covered, counts {last['counts']}; per-pixel std "
            f"between samples of one condition {last['within_condition_std']:.3f} (0 = collapsed)."
        )


class VQVAETask(Task):
    """Stage 1: reconstruction + commitment loss; the codebook moves by EMA inside the model."""

    def __init__(self, vqvae: VQVAE, preview: torch.Tensor):
        self.vqvae, self.preview = vqvae, preview  # preview: a few uint8 images to reconstruct

    def modules(self):
        return {"vqvae": self.vqvae}

    def training_step(self, batch, optimizer_name):
        out = self.vqvae.loss(as_images(batch["image"]))
        logs = {k: out[k] for k in ("recon", "commitment", "perplexity", "usage")}
        return out["loss"], logs

    def sample_grid(self):
        x = as_images(self.preview.to(self.device))
        recon = self.vqvae.decode_indices(self.vqvae.encode_indices(x)).clamp(-1, 1)
        return [im for pair in zip(x, recon) for im in pair]  # original, reconstruction, ...

    def export(self):
        return dict(self.vqvae.state_dict()), {
            "pipeline": "vqvae",
            "model": self.vqvae.config.to_dict(),
        }


class ARTask(Task):
    """Stage 2: next-token cross-entropy of the transformer over frozen VQ-VAE token grids,
    with CONDITION_DROPOUT of the prompts replaced by the empty prompt (for CFG)."""

    def __init__(self, ar: ARTransformer, vqvae: VQVAE, tokenizer: Tokenizer):
        self.ar, self.vqvae, self.tokenizer = ar, vqvae.eval().requires_grad_(False), tokenizer

    def modules(self):
        return {"ar": self.ar}

    def ema_modules(self):
        return ["ar"]

    def training_step(self, batch, optimizer_name):
        ids = batch["ids"]
        drop = torch.rand(ids.shape[0], device=ids.device) < CONDITION_DROPOUT
        ids = ids.masked_fill(drop[:, None], self.ar.config.pad_id)
        out = self.ar.loss(ids, batch["tokens"])
        return out["loss"], {"bits_per_token": out["bits_per_token"]}

    def sample_grid(self):
        self.vqvae.to(self.device)
        prompts = [p for p in WORLD_GRID_PROMPTS for _ in range(2)]
        ids = self.tokenizer(prompts, self.ar.config.text_len).ids.to(self.device)
        gen = torch.Generator(self.device).manual_seed(0)
        tokens = self.ar.generate(ids, guidance_scale=3.0, top_k=64, generator=gen)
        grid = int(math.isqrt(self.ar.config.image_tokens))
        return list(self.vqvae.decode_indices(tokens.view(-1, grid, grid)).clamp(-1, 1))

    def export(self):
        tensors = {f"ar.{k}": v for k, v in self.ar.state_dict().items()}
        tensors.update({f"vqvae.{k}": v for k, v in self.vqvae.state_dict().items()})
        config = {
            "pipeline": "vq-ar",
            "ar": self.ar.config.to_dict(),
            "vqvae": self.vqvae.config.to_dict(),
            "tokenizer": self.tokenizer.to_config(),
        }
        return tensors, config


@torch.no_grad()
def encode_tokens(vqvae: VQVAE, images: torch.Tensor, device, batch: int = 1024) -> torch.Tensor:
    """Token grids of uint8 images (N, C, S, S) -> (N, h*w) long, on the CPU."""
    vqvae = vqvae.to(device).eval()
    out = []
    for start in tqdm(range(0, len(images), batch), desc="tokenizing", leave=False):
        x = as_images(images[start : start + batch].to(device))
        out.append(vqvae.encode_indices(x).flatten(1).cpu())
    return torch.cat(out)


__all__ = [
    "ARTask",
    "Condition",
    "DigitsMonitor",
    "GANTask",
    "VAETask",
    "VQVAETask",
    "WorldShapeMonitor",
    "digits_tensors",
    "encode_tokens",
    "world_tensors",
]
