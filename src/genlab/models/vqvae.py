"""VQ-VAE (van den Oord et al. 2017): a conv autoencoder whose latents snap to the nearest codebook
vector, turning an image into a grid of discrete tokens for an autoregressive prior.

Codebook learned by EMA (Appendix A.1 of the paper) with dead-code restarts (Dhariwal et al. 2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from genlab.errors import InvalidArgument, check_int
from genlab.models.registry import register_architecture, register_models
from genlab.nn import ResBlock
from genlab.nn.config import ModelConfig


@dataclass
class VQVAEConfig(ModelConfig):
    arch: ClassVar[str] = "vqvae"

    image_size: int = 32
    in_channels: int = 3
    hidden: int = 64
    num_downsamples: int = 2  # token grid side = image_size / 2**num_downsamples
    num_res_blocks: int = 1
    codebook_size: int = 256
    code_dim: int = 32
    commitment: float = 0.25  # β in eq. 3 of the paper
    ema: bool = True  # EMA codebook updates instead of the codebook loss term
    decay: float = 0.99  # γ of the EMA
    dead_code_threshold: float = 1.0  # restart codes whose EMA count falls below this

    def __post_init__(self):
        if self.image_size % 2**self.num_downsamples:
            raise InvalidArgument(
                "image_size", f"a multiple of {2**self.num_downsamples}", self.image_size
            )
        check_int("codebook_size", self.codebook_size, 2)

    @property
    def grid(self) -> int:
        return self.image_size // 2**self.num_downsamples


class VectorQuantizer(nn.Module):
    """Nearest-neighbour quantisation z_e -> e_k with k = argmin_j ‖z_e − e_j‖².

    With `ema=True` the codebook is a buffer moved by exponential moving averages of the
    assigned encoder outputs; otherwise it is a parameter trained by the codebook loss.
    """

    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        embed = torch.randn(cfg.codebook_size, cfg.code_dim) * 0.1
        if cfg.ema:
            self.register_buffer("embedding", embed)
            self.register_buffer("cluster_size", torch.ones(cfg.codebook_size))
            self.register_buffer("embed_sum", embed.clone())
        else:
            self.embedding = nn.Parameter(embed)

    def codes(self, z_e: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N,) nearest code indices; ‖z‖² − 2 z·e + ‖e‖² without forming differences."""
        e = self.embedding
        d = z_e.pow(2).sum(1, keepdim=True) - 2 * z_e @ e.t() + e.pow(2).sum(1)[None]
        return d.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, h, w) indices -> (B, D, h, w) code vectors."""
        return F.embedding(indices, self.embedding).permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor):
        """z_e (B, D, h, w) -> (z_q with straight-through gradient, indices (B, h, w), stats).

        Runs in float32 even under bf16 autocast: nearest-code search and the EMA sums need it.
        """
        with torch.autocast(z_e.device.type, enabled=False):
            return self._quantize(z_e.float())

    def _quantize(self, z_e: torch.Tensor):
        B, D, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)  # (B, D, h, w) -> (B*h*w, D)
        indices = self.codes(flat.detach())
        z_q = self.lookup(indices.view(B, h, w))
        onehot = F.one_hot(indices, self.cfg.codebook_size).type(flat.dtype)  # (N, K)
        if self.training and self.cfg.ema:
            self._ema_update(flat.detach(), onehot)
        # Loss, eq. 3: ‖sg[z_e] − e‖² (codebook, only without EMA) + β‖z_e − sg[e]‖² (commitment).
        commitment = F.mse_loss(z_e, z_q.detach())
        loss = self.cfg.commitment * commitment
        if not self.cfg.ema:
            loss = loss + F.mse_loss(z_q, z_e.detach())
        # Straight-through estimator: forward uses e_k, backward copies ∂L/∂z_q to z_e (§3.1).
        z_q = z_e + (z_q - z_e).detach()
        probs = onehot.mean(0)
        stats = {
            "vq_loss": loss,
            "commitment": commitment.detach(),
            # perplexity = exp(H(code usage)): K when all codes are used equally, 1 when one is.
            "perplexity": torch.exp(-(probs * (probs + 1e-10).log()).sum()).detach(),
            "usage": (probs > 0).float().mean().detach(),
        }
        return z_q, indices.view(B, h, w), stats

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, onehot: torch.Tensor) -> None:
        """N_k ← γN_k + (1−γ)n_k, m_k ← γm_k + (1−γ)Σ z, e_k = m_k / N_k (eqs. 6–8, App. A.1)."""
        counts, sums = onehot.sum(0), onehot.t() @ flat  # (K,), (K, D)
        if dist.is_available() and dist.is_initialized():  # every rank moves the same codebook
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        g = self.cfg.decay
        self.cluster_size.mul_(g).add_(counts, alpha=1 - g)
        self.embed_sum.mul_(g).add_(sums, alpha=1 - g)
        # Laplace smoothing keeps N_k > 0 so that rarely used codes do not divide by zero.
        n, K, eps = self.cluster_size.sum(), self.cfg.codebook_size, 1e-5
        smoothed = (self.cluster_size + eps) / (n + K * eps) * n
        self.embedding.copy_(self.embed_sum / smoothed[:, None])
        self._restart_dead_codes(flat)

    @torch.no_grad()
    def _restart_dead_codes(self, flat: torch.Tensor) -> None:
        """Move codes nobody chose lately onto random encoder outputs of this batch."""
        dead = (self.cluster_size < self.cfg.dead_code_threshold).nonzero().flatten()
        if dead.numel() == 0:
            return
        pick = torch.randint(0, flat.shape[0], (dead.numel(),), device=flat.device)
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(pick, 0)
            new = flat[pick].contiguous()
            dist.broadcast(new, 0)
        else:
            new = flat[pick]
        self.embedding[dead] = new
        self.embed_sum[dead] = new
        self.cluster_size[dead] = 1.0


class VQVAE(nn.Module):
    """x (B, C, S, S) -> z_e (B, D, S/f, S/f) -> quantise -> decode -> x̂ (B, C, S, S)."""

    def __init__(self, config: VQVAEConfig | dict):
        super().__init__()
        self.config = config if isinstance(config, VQVAEConfig) else VQVAEConfig.from_dict(config)
        cfg, h = self.config, self.config.hidden
        enc = [nn.Conv2d(cfg.in_channels, h, 3, padding=1)]
        for _ in range(cfg.num_downsamples):  # (B, h, s, s) -> (B, h, s/2, s/2)
            enc += [nn.SiLU(), nn.Conv2d(h, h, 4, stride=2, padding=1)]
        enc += [ResBlock(h) for _ in range(cfg.num_res_blocks)]
        enc += [nn.SiLU(), nn.Conv2d(h, cfg.code_dim, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = VectorQuantizer(cfg)
        dec = [nn.Conv2d(cfg.code_dim, h, 3, padding=1)]
        dec += [ResBlock(h) for _ in range(cfg.num_res_blocks)]
        for _ in range(cfg.num_downsamples):  # (B, h, s, s) -> (B, h, 2s, 2s)
            dec += [nn.SiLU(), nn.ConvTranspose2d(h, h, 4, stride=2, padding=1)]
        dec += [nn.SiLU(), nn.Conv2d(h, cfg.in_channels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    def forward(self, x):
        z_q, indices, stats = self.quantizer(self.encoder(x))
        return self.decoder(z_q), indices, stats

    def loss(self, x) -> dict[str, torch.Tensor]:
        recon_x, _, stats = self(x)
        recon = F.mse_loss(recon_x, x)
        return {"loss": recon + stats["vq_loss"], "recon": recon, **stats}

    @torch.no_grad()
    def encode_indices(self, x) -> torch.Tensor:
        """Images (B, C, S, S) -> token grid (B, h, w) of codebook indices."""
        z_e = self.encoder(x)
        B, D, h, w = z_e.shape
        return self.quantizer.codes(z_e.permute(0, 2, 3, 1).reshape(-1, D)).view(B, h, w)

    @torch.no_grad()
    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Token grid (B, h, w) -> images (B, C, S, S)."""
        if indices.min() < 0 or indices.max() >= self.config.codebook_size:
            raise InvalidArgument("indices", f"codes in [0, {self.config.codebook_size})")
        return self.decoder(self.quantizer.lookup(indices))

    def config_dict(self) -> dict:
        return self.config.to_dict()


VQVAE_MODELS = {
    "vqvae-world": dict(image_size=32, in_channels=3, hidden=64, codebook_size=256, code_dim=32),
    "vqvae-world-s": dict(image_size=32, in_channels=3, hidden=16, codebook_size=128, code_dim=16),
    # 8×8 tokens of 4×4 px for the layout-conditioned prior: flat-colour scenes need few codes.
    "vqvae-world-4px": dict(
        image_size=32, in_channels=3, hidden=32, codebook_size=256, code_dim=16, decay=0.95
    ),
    "vqvae-tiny": dict(image_size=16, in_channels=3, hidden=8, codebook_size=16, code_dim=4),
}

register_architecture(VQVAEConfig, VQVAE)
register_models(VQVAEConfig.arch, VQVAE_MODELS)
