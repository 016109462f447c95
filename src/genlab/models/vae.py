"""Variational autoencoder (Kingma & Welling 2014), MLP or convolutional, optionally conditional on
a class label or a pooled text embedding: ELBO with reconstruction and KL reported apart, β-VAE.

Also home of `ConditionEmbedding`, the class-or-text conditioning shared by the classic families.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.nn.config import ModelConfig

# --------------------------------------------------------------------------- conditioning


class ConditionEmbedding(nn.Module):
    """Maps a condition to a vector (B, dim): class labels (B,) long, or pooled text (B, text_dim).

    Label `num_classes` (one past the last class) is the learned *null* condition, used for
    condition dropout in training and for the unconditional branch of classifier-free guidance.
    With neither classes nor text the module returns an empty (B, 0) vector (unconditional model).
    """

    def __init__(self, num_classes: int = 0, text_dim: int = 0, dim: int = 64):
        super().__init__()
        if num_classes and text_dim:
            raise InvalidArgument("condition", "either num_classes or text_dim, not both")
        self.num_classes, self.text_dim = num_classes, text_dim
        self.dim = dim if (num_classes or text_dim) else 0
        if num_classes:
            self.table = nn.Embedding(num_classes + 1, dim)
        elif text_dim:
            self.proj = nn.Sequential(nn.Linear(text_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    @property
    def conditional(self) -> bool:
        return self.dim > 0

    def forward(self, cond: torch.Tensor | None, batch: int) -> torch.Tensor:
        if not self.conditional:
            return torch.zeros(batch, 0, device=self._device())
        if cond is None:
            raise InvalidArgument("cond", "class labels or text embeddings for a conditional model")
        if self.num_classes:
            if cond.dtype not in (torch.int32, torch.int64) or cond.ndim != 1:
                raise InvalidArgument("cond", "class labels, a (B,) integer tensor", cond.dtype)
            return self.table(cond)
        if cond.ndim != 2 or cond.shape[1] != self.text_dim:
            raise InvalidArgument(
                "cond", f"pooled text embeddings (B, {self.text_dim})", tuple(cond.shape)
            )
        return self.proj(cond)

    def _device(self) -> torch.device:
        return next(self.parameters(), torch.empty(0)).device


# --------------------------------------------------------------------------- config


@dataclass
class VAEConfig(ModelConfig):
    arch: ClassVar[str] = "vae"

    net: str = "conv"  # "mlp" or "conv"
    image_size: int = 28
    in_channels: int = 1
    latent_dim: int = 16
    hidden: int = 64  # conv: base channels; mlp: hidden width is 8× this
    num_classes: int = 0  # > 0: class-conditional
    text_dim: int = 0  # > 0: conditional on a pooled text embedding of this width
    cond_dim: int = 32
    beta: float = 1.0  # β-VAE weight on the KL term (Higgins et al. 2017)

    def __post_init__(self):
        if self.net not in ("mlp", "conv"):
            raise InvalidArgument("net", "'mlp' or 'conv'", self.net)
        if self.net == "conv" and self.image_size % 4:
            raise InvalidArgument("image_size", "a multiple of 4 for the conv VAE", self.image_size)
        if self.beta < 0:
            raise InvalidArgument("beta", "a value ≥ 0", self.beta)


# --------------------------------------------------------------------------- encoders / decoders


class MLPEncoder(nn.Module):
    def __init__(self, cfg: VAEConfig, cond_dim: int):
        super().__init__()
        pixels = cfg.in_channels * cfg.image_size**2
        width = 8 * cfg.hidden
        self.net = nn.Sequential(
            nn.Linear(pixels + cond_dim, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU()
        )
        self.out = nn.Linear(width, 2 * cfg.latent_dim)

    def forward(self, x, c):
        h = self.net(torch.cat([x.flatten(1), c], dim=1))  # (B, C*H*W + cond) -> (B, width)
        return self.out(h)  # (B, 2*latent)


class MLPDecoder(nn.Module):
    def __init__(self, cfg: VAEConfig, cond_dim: int):
        super().__init__()
        self.shape = (cfg.in_channels, cfg.image_size, cfg.image_size)
        width = 8 * cfg.hidden
        self.net = nn.Sequential(
            nn.Linear(cfg.latent_dim + cond_dim, width),
            nn.SiLU(),
            nn.Linear(width, width),
            nn.SiLU(),
            nn.Linear(width, math.prod(self.shape)),
        )

    def forward(self, z, c):
        return self.net(torch.cat([z, c], dim=1)).view(-1, *self.shape)


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions: (B, C, S, S) -> (B, 2h, S/4, S/4) -> (B, 2*latent)."""

    def __init__(self, cfg: VAEConfig, cond_dim: int):
        super().__init__()
        h = cfg.hidden
        self.net = nn.Sequential(
            nn.Conv2d(cfg.in_channels, h, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(h, h, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(h, 2 * h, 4, stride=2, padding=1),
            nn.SiLU(),
        )
        flat = 2 * h * (cfg.image_size // 4) ** 2
        self.out = nn.Sequential(
            nn.Linear(flat + cond_dim, 4 * h), nn.SiLU(), nn.Linear(4 * h, 2 * cfg.latent_dim)
        )

    def forward(self, x, c):
        h = self.net(x).flatten(1)
        return self.out(torch.cat([h, c], dim=1))


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder with transposed convolutions: (B, latent) -> (B, C, S, S)."""

    def __init__(self, cfg: VAEConfig, cond_dim: int):
        super().__init__()
        h, self.side = cfg.hidden, cfg.image_size // 4
        self.inp = nn.Sequential(
            nn.Linear(cfg.latent_dim + cond_dim, 4 * h),
            nn.SiLU(),
            nn.Linear(4 * h, 2 * h * self.side**2),
            nn.SiLU(),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * h, h, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(h, h, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(h, cfg.in_channels, 3, padding=1),
        )

    def forward(self, z, c):
        h = self.inp(torch.cat([z, c], dim=1)).view(z.shape[0], -1, self.side, self.side)
        return self.net(h)


# --------------------------------------------------------------------------- the model


class VAE(nn.Module):
    """q(z|x,c) = N(μ, σ²) and p(x|z,c) with a fixed-variance Gaussian (squared error).

    Images live in [-1, 1]; the decoder outputs the mean of p(x|z) without squashing, and callers
    clamp for display.
    """

    def __init__(self, config: VAEConfig | dict):
        super().__init__()
        self.config = config if isinstance(config, VAEConfig) else VAEConfig.from_dict(config)
        cfg = self.config
        self.cond = ConditionEmbedding(cfg.num_classes, cfg.text_dim, cfg.cond_dim)
        enc, dec = (MLPEncoder, MLPDecoder) if cfg.net == "mlp" else (ConvEncoder, ConvDecoder)
        self.encoder = enc(cfg, self.cond.dim)
        self.decoder = dec(cfg, self.cond.dim)

    def encode(self, x, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (μ, log σ²), each (B, latent_dim)."""
        c = self.cond(cond, x.shape[0])
        mu, logvar = self.encoder(x, c).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    @staticmethod
    def reparameterize(mu, logvar, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = μ + σ ⊙ ε, ε ~ N(0, I): sampling as a differentiable function of (μ, σ)
        (the reparameterisation trick, eq. 10 of Kingma & Welling 2014)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z, cond=None) -> torch.Tensor:
        return self.decoder(z, self.cond(cond, z.shape[0]))

    def forward(self, x, cond=None, generator=None):
        mu, logvar = self.encode(x, cond)
        z = self.reparameterize(mu, logvar, generator)
        return self.decode(z, cond), mu, logvar

    def loss(self, x, cond=None, generator=None) -> dict[str, torch.Tensor]:
        """Negative ELBO per image: recon + β·KL, both terms returned for logging.

        recon = ½‖x − x̂‖² summed over pixels (Gaussian likelihood, σ = 1, up to a constant);
        KL(N(μ,σ²) ‖ N(0,I)) = −½ Σ (1 + log σ² − μ² − σ²)  (Appendix B of Kingma & Welling).
        """
        recon_x, mu, logvar = self(x, cond, generator)
        recon = 0.5 * (recon_x - x).pow(2).flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, num_images: int, cond=None, generator=None) -> torch.Tensor:
        """Decode z ~ N(0, I): (num_images, C, S, S)."""
        device = next(self.parameters()).device
        z = torch.randn(num_images, self.config.latent_dim, generator=generator, device=device)
        return self.decode(z, cond)

    @torch.no_grad()
    def reconstruct(self, x, cond=None) -> torch.Tensor:
        """Decode the posterior mean μ (deterministic reconstruction)."""
        mu, _ = self.encode(x, cond)
        return self.decode(mu, cond)

    @torch.no_grad()
    def interpolate(self, x_a, x_b, steps: int = 8, cond=None) -> torch.Tensor:
        """Decode points on the straight line between the posterior means of two images.

        x_a, x_b: (C, S, S) or (1, C, S, S); returns (steps, C, S, S) from x_a's code to x_b's.
        """
        if steps < 2:
            raise InvalidArgument("steps", "an integer ≥ 2", steps)
        x = torch.stack([x_a.reshape(x_a.shape[-3:]), x_b.reshape(x_b.shape[-3:])])
        mu, _ = self.encode(x, _repeat_first(cond, 2))
        w = torch.linspace(0, 1, steps, device=mu.device)[:, None]
        z = (1 - w) * mu[0:1] + w * mu[1:2]  # (steps, latent)
        c = _repeat_first(cond, steps)
        return self.decode(z, c)

    def config_dict(self) -> dict:
        return self.config.to_dict()


def _repeat_first(cond, n: int):
    """The first condition of a batch, repeated n times (labels (B,) or embeddings (B, D))."""
    return None if cond is None else cond[:1].expand(n, *cond.shape[1:])


VAE_MODELS = {
    "vae-digits-mlp": dict(net="mlp", image_size=28, in_channels=1, latent_dim=16, hidden=48),
    "vae-digits-conv": dict(net="conv", image_size=28, in_channels=1, latent_dim=16, hidden=32),
    "vae-world-conv": dict(net="conv", image_size=32, in_channels=3, latent_dim=64, hidden=64),
    "vae-tiny": dict(net="conv", image_size=16, in_channels=1, latent_dim=4, hidden=8),
}

register_architecture(VAEConfig, VAE)
register_models(VAEConfig.arch, VAE_MODELS)
