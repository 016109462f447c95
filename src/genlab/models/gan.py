"""Generative adversarial networks (Goodfellow et al. 2014): an MLP pair and a DCGAN (Radford et
al. 2016), conditional through a projection discriminator, with the usual stabilisers.

Stabilisers: non-saturating or hinge loss, one-sided label smoothing, spectral norm (Miyato 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.models.vae import ConditionEmbedding
from genlab.nn.config import ModelConfig


@dataclass
class GANConfig(ModelConfig):
    arch: ClassVar[str] = "gan"

    net: str = "dcgan"  # "mlp" or "dcgan"
    image_size: int = 28
    in_channels: int = 1
    z_dim: int = 64
    hidden: int = 64  # dcgan: channels at full resolution (doubling per halving); mlp: width/4
    num_classes: int = 0
    text_dim: int = 0
    cond_dim: int = 32
    loss: str = "nonsaturating"  # or "hinge"
    label_smoothing: float = 0.9  # target for real images in the non-saturating D loss (1 = off)
    spectral_norm: bool = True  # on every discriminator layer

    def __post_init__(self):
        if self.net not in ("mlp", "dcgan"):
            raise InvalidArgument("net", "'mlp' or 'dcgan'", self.net)
        if self.loss not in ("nonsaturating", "hinge"):
            raise InvalidArgument("loss", "'nonsaturating' or 'hinge'", self.loss)
        if not 0.5 < self.label_smoothing <= 1.0:
            raise InvalidArgument("label_smoothing", "a value in (0.5, 1]", self.label_smoothing)


def _maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    return spectral_norm(module) if enabled else module


def _upsampling_plan(image_size: int) -> tuple[int, int]:
    """(base, n) with image_size = base · 2ⁿ and base ≥ 4: 32 -> (4, 3), 28 -> (7, 2), 16 -> (4, 2)."""
    base, n = image_size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, n = base // 2, n + 1
    if n == 0:
        raise InvalidArgument("image_size", "a size with at least one factor 2 above 4", image_size)
    return base, n


# --------------------------------------------------------------------------- generators


class MLPGenerator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cond = ConditionEmbedding(cfg.num_classes, cfg.text_dim, cfg.cond_dim)
        self.shape = (cfg.in_channels, cfg.image_size, cfg.image_size)
        w = 4 * cfg.hidden
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim + self.cond.dim, w),
            nn.LeakyReLU(0.2),
            nn.Linear(w, 2 * w),
            nn.BatchNorm1d(2 * w),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * w, math.prod(self.shape)),
            nn.Tanh(),
        )

    def forward(self, z, cond=None):
        c = self.cond(cond, z.shape[0])
        return self.net(torch.cat([z, c], dim=1)).view(-1, *self.shape)


class DCGANGenerator(nn.Module):
    """z ⊕ c -> (ch·2ⁿ, base, base) -> n × [ConvT 4/2, BN, ReLU] -> conv 3×3 -> tanh."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cond = ConditionEmbedding(cfg.num_classes, cfg.text_dim, cfg.cond_dim)
        self.base, n = _upsampling_plan(cfg.image_size)
        self.top = cfg.hidden * 2**n
        self.project = nn.Sequential(
            nn.Linear(cfg.z_dim + self.cond.dim, self.top * self.base**2),
            nn.BatchNorm1d(self.top * self.base**2),
            nn.ReLU(),
        )
        layers, ch = [], self.top
        for _ in range(n):  # (B, ch, s, s) -> (B, ch/2, 2s, 2s)
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
            ]
            layers += [nn.ReLU()]
            ch //= 2
        layers += [nn.Conv2d(ch, cfg.in_channels, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, cond=None):
        c = self.cond(cond, z.shape[0])
        h = self.project(torch.cat([z, c], dim=1)).view(-1, self.top, self.base, self.base)
        return self.net(h)


# --------------------------------------------------------------------------- discriminators


class ProjectionHead(nn.Module):
    """D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ (eq. 3 of Miyato & Koyama 2018, cGANs with projection)."""

    def __init__(self, cfg: GANConfig, features: int):
        super().__init__()
        self.linear = _maybe_sn(nn.Linear(features, 1), cfg.spectral_norm)
        self.cond = ConditionEmbedding(cfg.num_classes, cfg.text_dim, features)

    def forward(self, h, cond):  # h: (B, features) -> (B,)
        out = self.linear(h).squeeze(1)
        if self.cond.conditional:
            out = out + (self.cond(cond, h.shape[0]) * h).sum(1)
        return out


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        w, sn = 4 * cfg.hidden, cfg.spectral_norm
        self.net = nn.Sequential(
            _maybe_sn(nn.Linear(cfg.in_channels * cfg.image_size**2, 2 * w), sn),
            nn.LeakyReLU(0.2),
            _maybe_sn(nn.Linear(2 * w, w), sn),
            nn.LeakyReLU(0.2),
        )
        self.head = ProjectionHead(cfg, w)

    def forward(self, x, cond=None):
        return self.head(self.net(x.flatten(1)), cond)


class DCGANDiscriminator(nn.Module):
    """n × [conv 4/2, LeakyReLU] -> sum over space -> projection head. No BatchNorm: spectral norm
    does the stabilising and keeps D a function of each image alone."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        _, n = _upsampling_plan(cfg.image_size)
        sn, ch = cfg.spectral_norm, cfg.hidden
        layers = [_maybe_sn(nn.Conv2d(cfg.in_channels, ch, 3, 1, 1), sn), nn.LeakyReLU(0.2)]
        for _ in range(n):  # (B, ch, s, s) -> (B, 2ch, s/2, s/2)
            layers += [_maybe_sn(nn.Conv2d(ch, 2 * ch, 4, 2, 1), sn), nn.LeakyReLU(0.2)]
            ch *= 2
        self.net = nn.Sequential(*layers)
        self.head = ProjectionHead(cfg, ch)

    def forward(self, x, cond=None):
        return self.head(self.net(x).sum(dim=(2, 3)), cond)


# --------------------------------------------------------------------------- the pair and its losses


class GAN(nn.Module):
    """A generator and a discriminator with their losses; the trainer alternates D and G steps."""

    def __init__(self, config: GANConfig | dict):
        super().__init__()
        self.config = config if isinstance(config, GANConfig) else GANConfig.from_dict(config)
        cfg = self.config
        if cfg.net == "mlp":
            self.generator, self.discriminator = MLPGenerator(cfg), MLPDiscriminator(cfg)
        else:
            self.generator, self.discriminator = DCGANGenerator(cfg), DCGANDiscriminator(cfg)

    def noise(self, n: int, generator=None, device=None) -> torch.Tensor:
        device = device or next(self.parameters()).device
        return torch.randn(n, self.config.z_dim, generator=generator, device=device)

    def discriminator_loss(self, real, cond=None, generator=None) -> dict[str, torch.Tensor]:
        """Non-saturating: −log D(x) − log(1 − D(G(z))), with real targets smoothed to
        `label_smoothing` (Salimans et al. 2016, §3.4); hinge: E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]."""
        with torch.no_grad():
            fake = self.generator(self.noise(real.shape[0], generator, real.device), cond)
        d_real, d_fake = self.discriminator(real, cond), self.discriminator(fake, cond)
        if self.config.loss == "hinge":
            loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        else:
            target = torch.full_like(d_real, self.config.label_smoothing)
            loss = F.binary_cross_entropy_with_logits(d_real, target) + F.softplus(d_fake).mean()
        return {
            "loss": loss,
            "d_real": d_real.mean().detach(),
            "d_fake": d_fake.mean().detach(),
        }

    def generator_loss(self, batch: int, cond=None, generator=None) -> dict[str, torch.Tensor]:
        """Non-saturating −log D(G(z)) (Goodfellow 2014, §3) or hinge −D(G(z))."""
        device = next(self.parameters()).device
        d_fake = self.discriminator(
            self.generator(self.noise(batch, generator, device), cond), cond
        )
        loss = -d_fake.mean() if self.config.loss == "hinge" else F.softplus(-d_fake).mean()
        return {"loss": loss}

    @torch.no_grad()
    def sample(self, num_images: int, cond=None, generator=None) -> torch.Tensor:
        return self.generator(self.noise(num_images, generator), cond)

    def config_dict(self) -> dict:
        return self.config.to_dict()


def class_histogram(labels: torch.Tensor, num_classes: int) -> dict[str, object]:
    """Mode-collapse monitor: the class histogram of samples and its normalised entropy
    H(p) / log K (1 = all classes equally often, 0 = a single class)."""
    counts = torch.bincount(labels.flatten().long(), minlength=num_classes)[:num_classes]
    p = counts.float() / counts.sum().clamp(min=1)
    entropy = -(p[p > 0] * p[p > 0].log()).sum() / math.log(num_classes)
    return {
        "counts": counts.tolist(),
        "entropy": float(entropy),
        "classes_covered": int((counts > 0).sum()),
    }


GAN_MODELS = {
    "gan-digits-mlp": dict(net="mlp", image_size=28, in_channels=1, z_dim=64, hidden=64),
    "dcgan-digits": dict(net="dcgan", image_size=16, in_channels=1, z_dim=64, hidden=16),
    "dcgan-digits-28": dict(net="dcgan", image_size=28, in_channels=1, z_dim=64, hidden=32),
    "dcgan-world": dict(net="dcgan", image_size=32, in_channels=3, z_dim=128, hidden=32),
    "gan-tiny": dict(net="dcgan", image_size=16, in_channels=1, z_dim=8, hidden=4),
}

register_architecture(GANConfig, GAN)
register_models(GANConfig.arch, GAN_MODELS)
