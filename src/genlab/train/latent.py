"""Latent diffusion training: the KL autoencoder task and recipe (`world-kl-f4`, reconstruction PSNR
and SSIM on its card), and the latent text-to-image recipes, which reuse the pixel world-t2i task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from genlab.data.cache import LatentCache
from genlab.data.world import prerender
from genlab.errors import InvalidArgument
from genlab.models import create_model
from genlab.models.autoencoder_kl import (
    KIND as AUTOENCODER_KIND,
)
from genlab.models.autoencoder_kl import (
    AutoencoderKL,
    PatchDiscriminator,
    hinge_d_loss,
    load_autoencoder,
)
from genlab.train.data import TensorSource
from genlab.train.recipes import Family, RecipeOptions, TrainJob, apply_options, spec_config
from genlab.train.task import OptimizerGroup, Task
from genlab.train.text2image import (
    T2I_TINY,
    TINY_UNET,
    TextToImageTask,
    WorldT2ISpec,
    build_world_t2i,
    forward_flops,
)

# --------------------------------------------------------------------------- reconstruction metrics


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB for images in [-1, 1] (peak-to-peak range 2):
    PSNR = 10 log10(MAX² / MSE) with MAX = 2."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10.0 * torch.log10(4.0 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004, eq. 13) with their 11×11 Gaussian window
    (σ = 1.5) and K1 = 0.01, K2 = 0.03, on images mapped to [0, 1], averaged over channels."""
    x, y = (x.float() + 1) / 2, (y.float() + 1) / 2
    C = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    coords = torch.arange(window, dtype=torch.float32) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(C, 1, window, window).to(x.device)

    def blur(t):
        return F.conv2d(t, kernel, groups=C)  # valid windows only, as the reference code

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return s.flatten(1).mean(1)


@torch.no_grad()
def reconstruction_metrics(
    autoencoder: AutoencoderKL, images: torch.Tensor, batch_size: int = 256
) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of decode(encode(x)) (posterior mean) over float images in [-1, 1]."""
    p, s = [], []
    device = next(autoencoder.parameters()).device
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device)
        recon = autoencoder.decode_latents(autoencoder.encode_latents(x))
        p.append(psnr(recon, x).cpu())
        s.append(ssim(recon, x).cpu())
    return {"psnr": float(torch.cat(p).mean()), "ssim": float(torch.cat(s).mean())}


def uint8_to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1]."""
    return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0


# --------------------------------------------------------------------------- the autoencoder task


class AutoencoderKLTask(Task):
    """Reconstruction + kl_weight·KL (AutoencoderKL.loss), plus an optional PatchGAN hinge loss
    (weight `disc_weight`, from step `disc_start`) as LDM's autoencoders are trained (App. G).

    Export measures the latent scaling factor on `scale_images` (1 / std of the latents) and the
    reconstruction PSNR/SSIM on `eval_images` (held-out scenes), both written into the checkpoint.
    """

    def __init__(
        self,
        autoencoder: AutoencoderKL,
        *,
        name: str = "world-kl-f4",
        disc_weight: float = 0.0,
        disc_start: int = 0,
        scale_images: torch.Tensor | None = None,
        eval_images: torch.Tensor | None = None,
    ):
        self.autoencoder = autoencoder
        self.name = name
        self.discriminator = (
            PatchDiscriminator(autoencoder.config.in_channels) if disc_weight else None
        )
        self.disc_weight, self.disc_start = disc_weight, disc_start
        self.scale_images, self.eval_images = scale_images, eval_images
        self.step = 0
        self.metrics: dict[str, float] = {}

    def modules(self):
        mods = {"autoencoder": self.autoencoder}
        if self.discriminator is not None:
            mods["discriminator"] = self.discriminator
        return mods

    def optimizer_groups(self):
        groups = {"autoencoder": OptimizerGroup(list(self.autoencoder.parameters()))}
        if self.discriminator is not None:
            groups["discriminator"] = OptimizerGroup(list(self.discriminator.parameters()))
        return groups

    def ema_modules(self):
        return ["autoencoder"]

    def training_step(self, batch, optimizer_name):
        x = uint8_to_signed(batch["images"])
        if optimizer_name == "discriminator":
            with torch.no_grad():
                fake = self.autoencoder(x)[0]
            return hinge_d_loss(self.discriminator(x), self.discriminator(fake)), {}
        self.step += 1
        loss, logs = self.autoencoder.loss(x)
        if self.discriminator is not None and self.step > self.disc_start:
            recon = self.autoencoder(x)[0]
            g_loss = -self.discriminator(recon).mean()  # generator side of the hinge GAN
            loss = loss + self.disc_weight * g_loss
            logs["g_loss"] = g_loss.detach()
        return loss, logs

    def sample_grid(self):
        if self.eval_images is None:
            return None
        x = self.eval_images[:8].to(self.device)
        recon = self.autoencoder.decode_latents(self.autoencoder.encode_latents(x))
        return list(torch.cat([x, recon]).cpu())  # first row originals, second reconstructions

    def export(self):
        ae = self.autoencoder
        if self.scale_images is not None:
            ae.measure_scaling_factor(self.scale_images.to(self.device))
        if self.eval_images is not None:
            self.metrics = reconstruction_metrics(ae, self.eval_images)
        config = {
            "pipeline": AUTOENCODER_KIND,
            "kind": AUTOENCODER_KIND,
            "name": self.name,
            "model": ae.config.to_dict(),
            "metrics": dict(self.metrics),
        }
        return dict(ae.state_dict()), config

    def model_card(self) -> str:
        cfg = self.autoencoder.config
        f = self.autoencoder.downsample_factor
        n = sum(p.numel() for p in self.autoencoder.parameters())
        lines = [
            f"KL autoencoder for latent diffusion: {cfg.image_size}×{cfg.image_size}×3 images ↔ "
            f"{cfg.image_size // f}×{cfg.image_size // f}×{cfg.latent_channels} latents (f = {f}).",
            "",
            f"- {n:,} parameters; KL weight {cfg.kl_weight:g}; "
            f"latent scaling factor {cfg.scaling_factor:.4f} (1 / std of latents on training data)",
        ]
        if self.metrics:
            lines.append(
                f"- reconstruction on {len(self.eval_images)} held-out world scenes: "
                f"PSNR {self.metrics['psnr']:.2f} dB, SSIM {self.metrics['ssim']:.4f}"
            )
        lines += [
            "",
            "```python",
            "from genlab.models.autoencoder_kl import load_autoencoder",
            f'ae = load_autoencoder("{self.name}")',
            "latents = ae.encode_latents(images)  # (B, 3, H, W) in [-1, 1] -> scaled latents",
            "images = ae.decode_latents(latents)",
            "```",
        ]
        return "\n".join(lines)


def _world_images(n: int, size: int, seed: int, include_held_out: bool = False) -> torch.Tensor:
    workers = 1 if n <= 4000 else None
    out = prerender(n, size, seed=seed, workers=workers, include_held_out=include_held_out)
    return out["images"]


@dataclass(frozen=True)
class WorldKLSpec:
    """A world KL autoencoder recipe's config (f = 4, 4 latent channels); defaults: the base."""

    model: str = "kl-world-f4"  # a registered autoencoder size
    image_size: int = 32
    images: int = 10_000  # world scenes rendered for training (--data-size)
    held_out: int = 512  # held-out scenes for the card's PSNR/SSIM
    # a bundled autoencoder to start from (the layers are all convolutions, so weights learned
    # at one image size carry over to another)
    init: str | None = None
    steps: int = 1500
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 100
    log_every: int = 100
    checkpoint_every_s: float = 120
    export_dtype: str = "float16"


KL_TINY = dict(
    model="kl-tiny", image_size=16, images=128, held_out=32, init=None, steps=10, batch_size=8,
    warmup_steps=2, log_every=5, checkpoint_every_s=0, export_dtype="float32",
)  # fmt: skip


def build_world_kl(name: str, spec: WorldKLSpec, options: RecipeOptions) -> TrainJob:
    """A world KL autoencoder recipe: rendered scenes, the model (from `spec.init` if set), its
    scaling factor and held-out metrics measured at export."""
    size = spec.image_size
    n = options.data_size or spec.images
    torch.manual_seed(options.seed)
    ae = create_model(spec.model, kl_weight=1e-5, image_size=size)
    if spec.init is not None:
        ae.load_state_dict(load_autoencoder(spec.init).state_dict())
    images = _world_images(n, size, options.seed)
    held_out = _world_images(spec.held_out, size, options.seed + 1_000_003, True)
    task = AutoencoderKLTask(
        ae,
        name=name,
        scale_images=uint8_to_signed(images[: min(n, 2048)]),
        eval_images=uint8_to_signed(held_out),
    )
    config = spec_config(spec, lr_schedule="cosine", grad_clip=1.0, ema_decay=0.999)
    apply_options(config, options, name)
    config.budget_start = options.started
    config.extra = {"training images": f"{n:,} world scenes, {size}×{size}"}
    if spec.init is not None:
        config.extra["initialised from"] = f"`{spec.init}` (bundled)"
    return TrainJob(task, TensorSource({"images": images}), config)


KL = Family(WorldKLSpec, build_world_kl, KL_TINY)


# --------------------------------------------------------------------------- latent text-to-image


class LatentTextToImageTask(TextToImageTask):
    """The pixel world-t2i task with the denoiser working on autoencoder latents: each batch's
    images are encoded (posterior mean × scaling factor), or its cached `latents` are used as is.
    The frozen autoencoder rides along in the pipeline so samples and exports decode to pixels."""

    def __init__(self, *args, autoencoder: AutoencoderKL, **kwargs):
        super().__init__(*args, **kwargs)
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        self.pipeline.autoencoder = self.autoencoder

    def clean_sample(self, batch) -> torch.Tensor:
        if "latents" in batch:  # a latent cache (genlab.data.cache): no encoder pass at all
            return batch["latents"].float()
        if next(self.autoencoder.parameters()).device != self.device:
            self.autoencoder.to(self.device)
        with torch.no_grad():
            return self.autoencoder.encode_latents(uint8_to_signed(batch["images"]))

    def model_card(self) -> str:
        ae = self.autoencoder
        return "\n".join(
            [
                super().model_card(),
                "",
                f"- latent space: `{ae.config.arch}` f = {ae.downsample_factor}, "
                f"{ae.config.latent_channels} channels, scaling factor {ae.scaling_factor:.4f}",
            ]
        )


LATENT_UNET = dict(
    in_channels=4,
    model_channels=64,
    channel_mult=(1, 2),
    num_res_blocks=2,
    attention_levels=(0, 1),
    head_dim=32,
)
TINY_LATENT_UNET = {**TINY_UNET, "in_channels": 4}
LATENT_DIT = dict(hidden_size=256, depth=5, num_heads=4, patch_size=1, in_channels=4, input_size=8)
TINY_LATENT_DIT = dict(
    hidden_size=32, depth=2, num_heads=2, patch_size=1, in_channels=4, input_size=4
)


def build_latent_t2i(
    name: str,
    spec: WorldT2ISpec,
    options: RecipeOptions,
    autoencoder: AutoencoderKL | None = None,
    cache: str | Path | None = None,
) -> TrainJob:
    """build_world_t2i (same corpus, text encoder, schedule and settings) with the denoiser in
    latent space: `autoencoder`'s, else the bundled `spec.autoencoder` (an untrained kl-tiny
    with `spec.untrained_autoencoder`); `cache` (a genlab.data.cache file) replaces the rendered
    images by latents."""
    ae = autoencoder
    if ae is None:
        if spec.autoencoder is None:
            raise InvalidArgument("autoencoder", "a bundled KL autoencoder's name", None)
        trained = not spec.untrained_autoencoder
        ae = load_autoencoder(spec.autoencoder) if trained else _tiny_autoencoder()
    size = spec.image_size
    f = ae.downsample_factor
    if size % f:
        raise InvalidArgument("autoencoder", f"a factor dividing the image size {size}", f)
    job = build_world_t2i(name, spec, options)
    pixel = job.task
    job.task = LatentTextToImageTask(
        pixel.denoiser,
        pixel.text_encoder,
        pixel.schedule,
        pixel.prediction_type,
        autoencoder=ae,
        cond_dropout=pixel.cond_dropout,
        min_snr_gamma=pixel.min_snr_gamma,
        name=spec.export or name,
        image_size=size,
        sample_prompts=pixel.sample_prompts,
        text_encoder_source=pixel.text_encoder_source,
    )
    if cache is not None:
        latents = LatentCache.load(cache, autoencoder=ae)
        job.data = TensorSource({"latents": latents.latents, "tokens": latents.tokens})
    if "denoiser forward FLOPs per image" in job.config.extra:  # recount at the latent size
        flops = forward_flops(pixel.denoiser, pixel.text_encoder.width, size // f, spec.max_length)
        job.config.extra["denoiser forward FLOPs per image"] = f"{flops / 1e9:.2f} GFLOPs"
    job.config.extra["latent space"] = f"{ae.config.latent_channels}×{size // f}×{size // f}"
    return job


# Latent text-to-image: the pixel family's config and tiny overlay, built in latent space.
LATENT_T2I = Family(WorldT2ISpec, build_latent_t2i, T2I_TINY)


def _tiny_autoencoder() -> AutoencoderKL:
    """An untrained kl-tiny for --tiny smoke runs (they check plumbing, not quality)."""
    torch.manual_seed(0)
    return create_model("kl-tiny").eval()


__all__ = [
    "KL",
    "LATENT_T2I",
    "AutoencoderKLTask",
    "WorldKLSpec",
    "build_world_kl",
    "LatentTextToImageTask",
    "build_latent_t2i",
    "psnr",
    "reconstruction_metrics",
    "ssim",
]
