"""KL-regularised convolutional autoencoder (Rombach et al. 2022, "LDM", §3 and App. G): images to a
small diagonal-Gaussian latent grid and back, the space latent diffusion denoises in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import CheckpointError, InvalidArgument, NotFound
from genlab.io import load_checkpoint
from genlab.models.registry import register_architecture, register_models
from genlab.nn import Downsample, ModelConfig, ResBlock, Upsample, group_norm

# latents made by one autoencoder are refused by any other: a cache is decoded by its encoder
from genlab.nn.utils import weights_fingerprint as fingerprint  # noqa: F401  (public name)
from genlab.paths import WEIGHTS_DIR


@dataclass
class AutoencoderKLConfig(ModelConfig):
    """Level i works at 1/2**i of the image side with base_channels·channel_mult[i] channels; the
    latent has `latent_channels` channels at 1/2**(len(channel_mult)-1) of the side (f = 4 or 8).

    `scaling_factor` multiplies latents before diffusion so they have unit variance (LDM §4.3.2,
    "rescale the latent space by the component-wise standard deviation"); it is measured on data
    after training (`measure_scaling_factor`) and travels in the checkpoint config.
    """

    arch = "autoencoder-kl"
    in_channels: int = 3
    latent_channels: int = 4
    base_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1
    image_size: int = 32  # the training resolution (any multiple of the factor works)
    kl_weight: float = 1e-6  # LDM's KL-f4/f8 models use a "very small" weight (App. G)
    scaling_factor: float = 1.0

    def __post_init__(self):
        if not self.channel_mult:
            raise InvalidArgument("channel_mult", "at least one level", self.channel_mult)
        if self.latent_channels < 1:
            raise InvalidArgument("latent_channels", "an integer ≥ 1", self.latent_channels)
        if not (self.scaling_factor > 0 and math.isfinite(self.scaling_factor)):
            raise InvalidArgument("scaling_factor", "a finite value > 0", self.scaling_factor)
        if self.kl_weight < 0:
            raise InvalidArgument("kl_weight", "a value ≥ 0", self.kl_weight)


class DiagonalGaussian:
    """q(z|x) = N(mean, diag(exp(logvar))) with its sample, mode and KL to N(0, I)."""

    def __init__(self, moments: torch.Tensor):
        self.mean, logvar = moments.chunk(2, dim=1)  # (B, 2C, h, w) -> 2 × (B, C, h, w)
        # Clamped as in LDM's DiagonalGaussianDistribution so exp() never overflows early on.
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.std * noise  # reparameterisation (Kingma & Welling 2014, eq. 4)

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        """KL(q ‖ N(0, I)) per image, summed over latent elements: ½ Σ(μ² + σ² − 1 − log σ²)."""
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar).flatten(1).sum(1)


def _levels(widths: list[int], num_res_blocks: int, resample) -> list[nn.Module]:
    """num_res_blocks ResBlocks per level (the first one moving to the level's width), with
    `resample` (Downsample or Upsample) between levels: widths[0] channels in, widths[-1] out."""
    layers: list[nn.Module] = []
    ch = widths[0]
    for level, width in enumerate(widths):
        for _ in range(num_res_blocks):
            layers.append(ResBlock(ch, width))
            ch = width
        if level < len(widths) - 1:
            layers.append(resample(ch))
    return layers


class Encoder(nn.Module):
    """conv_in → [ResBlocks, Downsample] per level → middle ResBlock → GN, SiLU, conv to 2C moments."""

    def __init__(self, cfg: AutoencoderKLConfig):
        super().__init__()
        widths = [cfg.base_channels * m for m in cfg.channel_mult]
        self.conv_in = nn.Conv2d(cfg.in_channels, widths[0], 3, padding=1)
        ch = widths[-1]
        self.body = nn.Sequential(
            *_levels(widths, cfg.num_res_blocks, Downsample), ResBlock(ch, ch)
        )
        self.norm_out = group_norm(ch)
        self.conv_out = nn.Conv2d(ch, 2 * cfg.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(self.conv_in(x))  # (B, 3, H, W) -> (B, ch, H/f, W/f)
        return self.conv_out(F.silu(self.norm_out(h)))  # (B, 2C, H/f, W/f)


class Decoder(nn.Module):
    """Mirror of Encoder: conv_in from C latents → middle ResBlock → [ResBlocks, Upsample] → RGB."""

    def __init__(self, cfg: AutoencoderKLConfig):
        super().__init__()
        widths = [cfg.base_channels * m for m in cfg.channel_mult][::-1]
        self.conv_in = nn.Conv2d(cfg.latent_channels, widths[0], 3, padding=1)
        self.body = nn.Sequential(
            ResBlock(widths[0], widths[0]), *_levels(widths, cfg.num_res_blocks, Upsample)
        )
        ch = widths[-1]
        self.norm_out = group_norm(ch)
        self.conv_out = nn.Conv2d(ch, cfg.in_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.body(self.conv_in(z))  # (B, C, h, w) -> (B, ch, h·f, w·f)
        return self.conv_out(F.silu(self.norm_out(h)))  # (B, 3, H, W), unbounded (≈ [-1, 1])


class AutoencoderKL(nn.Module):
    """`encode(x) -> DiagonalGaussian`, `decode(z) -> x̂`; the diffusion side uses
    `encode_latents(x)` / `decode_latents(z)`, which apply `config.scaling_factor`."""

    def __init__(self, config: AutoencoderKLConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.downsample_factor = 2 ** (len(config.channel_mult) - 1)

    @property
    def scaling_factor(self) -> float:
        return float(self.config.scaling_factor)

    def check_size(self, images: torch.Tensor) -> None:
        f = self.downsample_factor
        if images.ndim != 4 or images.shape[1] != self.config.in_channels:
            raise InvalidArgument(
                "images", f"a (B, {self.config.in_channels}, H, W) tensor", tuple(images.shape)
            )
        if images.shape[2] % f or images.shape[3] % f:
            raise InvalidArgument("images", f"height and width multiples of {f}", images.shape[2:])

    def encode(self, images: torch.Tensor) -> DiagonalGaussian:
        self.check_size(images)
        return DiagonalGaussian(self.encoder(images))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, images: torch.Tensor, sample_posterior: bool = True):
        """(reconstruction, posterior): decode a posterior sample in training, the mean in eval."""
        posterior = self.encode(images)
        z = posterior.sample() if sample_posterior else posterior.mode()
        return self.decode(z), posterior

    def loss(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction (L1 + MSE per pixel, summed per image as in LDM's NLL) + kl_weight · KL,
        both averaged over the batch. Logs: recon (mean absolute error), kl (per image)."""
        recon, posterior = self(images)
        err = recon - images
        rec = (err.abs() + err.pow(2)).flatten(1).sum(1)  # (B,)
        kl = posterior.kl()  # (B,)
        loss = (rec + self.config.kl_weight * kl).mean() / images[0].numel()
        return loss, {"recon_l1": err.abs().mean().detach(), "kl": kl.mean().detach()}

    # ------------------------------------------------------------------ the diffusion side

    def encode_latents(
        self, images: torch.Tensor, *, sample: bool = False, generator=None
    ) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] -> scaled latents (B, C, H/f, W/f) of ≈ unit variance."""
        posterior = self.encode(images)
        z = posterior.sample(generator) if sample else posterior.mode()
        return z * self.scaling_factor

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents -> images (B, 3, H, W), clamped to [-1, 1]."""
        return self.decode(latents / self.scaling_factor).clamp(-1.0, 1.0)

    @torch.no_grad()
    def measure_scaling_factor(self, images: torch.Tensor, batch_size: int = 256) -> float:
        """1 / std of posterior samples over `images` (LDM §4.3.2); stored in config, returned."""
        zs = [
            self.encode(images[i : i + batch_size]).sample()
            for i in range(0, len(images), batch_size)
        ]
        std = torch.cat(zs).float().std().item()
        if not (std > 0 and math.isfinite(std)):
            raise InvalidArgument("images", "images whose latents vary (std > 0)", std)
        self.config.scaling_factor = 1.0 / std
        return self.config.scaling_factor


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017, pix2pix §3.2.2): a conv stack scoring overlapping patches as
    real or fake, the adversarial term LDM adds to sharpen reconstructions (hinge loss)."""

    def __init__(self, in_channels: int = 3, channels: int = 32, num_layers: int = 2):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = channels
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), group_norm(ch * 2), nn.LeakyReLU(0.2)]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)  # (B, 3, H, W) -> (B, 1, H/2**L, W/2**L) patch logits


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: E[relu(1 − D(x))] + E[relu(1 + D(x̂))] (Lim & Ye 2017)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


KIND = "autoencoder-kl"  # config["kind"] of an exported autoencoder checkpoint


def autoencoder_from_checkpoint(tensors: dict, config: dict, prefix: str = "") -> AutoencoderKL:
    """Build an AutoencoderKL from checkpoint tensors (keys under `prefix`) and its config dict."""
    model = AutoencoderKL(AutoencoderKLConfig.from_dict(config))
    state = {k[len(prefix) :]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(state)
    return model.eval()


def load_autoencoder(name_or_path: str, device: str = "cpu") -> AutoencoderKL:
    """A trained autoencoder from a bundled name ("world-kl-f4") or a checkpoint path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if not path.is_file():
        known = sorted(p.stem for p in WEIGHTS_DIR.glob("*kl*.safetensors"))
        raise NotFound(
            f"autoencoder: no checkpoint or bundled autoencoder {name_or_path!r}; "
            f"bundled: {', '.join(known) or '(none)'}; train one with "
            "`genlab train --recipe world-kl-f4`"
        )
    tensors, config = load_checkpoint(path)
    if config.get("kind") != KIND:
        raise CheckpointError(f"{path}: not a KL autoencoder (kind {config.get('kind')!r})")
    try:
        model = autoencoder_from_checkpoint(tensors, config["model"])
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: autoencoder checkpoint does not load ({e})") from None
    model.name = config.get("name", path.stem)
    return model.to(device)


# Named sizes: kl-f4 / kl-f8 name the downsampling factor as LDM's Table 8 does.
# fmt: off
AUTOENCODER_KL_MODELS: dict[str, dict] = {
    "kl-tiny":     dict(base_channels=8, channel_mult=(1, 2, 2), num_res_blocks=1, image_size=16),
    "kl-world-f4": dict(base_channels=16, channel_mult=(1, 2, 4), num_res_blocks=1, image_size=32),
    "kl-world-f8": dict(base_channels=16, channel_mult=(1, 2, 4, 4), num_res_blocks=1, image_size=64),
    "kl-f4":       dict(base_channels=128, channel_mult=(1, 2, 4), num_res_blocks=2, image_size=256),
    "kl-f8":       dict(base_channels=128, channel_mult=(1, 2, 4, 4), num_res_blocks=2, image_size=256),
}
# fmt: on

register_architecture(AutoencoderKLConfig, AutoencoderKL)
register_models(AutoencoderKLConfig.arch, AUTOENCODER_KL_MODELS)
