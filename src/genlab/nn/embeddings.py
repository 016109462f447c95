"""Embeddings shared by the denoisers and transformers: sinusoidal timesteps, fixed 2D sin-cos
positions, class labels with a learned null class for classifier-free guidance.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, as in "Attention Is All You Need".

    t: (B,) float -> (B, dim); frequencies exp(-ln(max_period) * i / half) for i < half, [cos | sin].
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.float()[:, None] * freqs[None]  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class TimestepEmbedder(nn.Module):
    """t (B,) -> (B, hidden): sinusoidal features through a two-layer SiLU MLP (DiT, ADM)."""

    def __init__(self, hidden_size: int, frequency_dim: int = 256):
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(
            nn.Linear(frequency_dim, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )
        # DiT initialises the timestep MLP with N(0, 0.02) so early conditioning is gentle.
        for layer in (self.mlp[0], self.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)
            nn.init.zeros_(layer.bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        freq = timestep_embedding(t, self.frequency_dim).to(self.mlp[0].weight.dtype)
        return self.mlp(freq)


class LabelEmbedder(nn.Module):
    """Class labels (B,) -> (B, hidden); row `num_classes` is the learned null class used for
    classifier-free guidance. `dropout_prob` replaces labels by the null class in training.
    """

    def __init__(self, num_classes: int, hidden_size: int, dropout_prob: float = 0.1):
        super().__init__()
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob
        self.embedding_table = nn.Embedding(num_classes + 1, hidden_size)
        nn.init.normal_(self.embedding_table.weight, std=0.02)

    @property
    def null_label(self) -> int:
        return self.num_classes

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        if self.training and self.dropout_prob > 0:
            drop = torch.rand(labels.shape, device=labels.device) < self.dropout_prob
            labels = torch.where(drop, torch.full_like(labels, self.null_label), labels)
        return self.embedding_table(labels)


def pooled_embedder(pooled_dim: int | None, dim: int) -> nn.Sequential | None:
    """Pooled text embedding (B, pooled_dim) -> (B, dim), added to a denoiser's timestep
    embedding; None for a model without one."""
    if pooled_dim is None:
        return None
    return nn.Sequential(nn.Linear(pooled_dim, dim), nn.SiLU(), nn.Linear(dim, dim))


def label_embedder(num_classes: int, dim: int, dropout_prob: float) -> LabelEmbedder | None:
    """The LabelEmbedder of a class-conditional model (num_classes > 0), else None."""
    return LabelEmbedder(num_classes, dim, dropout_prob) if num_classes > 0 else None


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """(N,) positions -> (N, dim) fixed embedding [sin | cos] with frequencies 1/10000^(2i/dim)."""
    omega = 1.0 / 10000 ** (
        torch.arange(dim // 2, dtype=torch.float64, device=positions.device) / (dim / 2.0)
    )
    args = positions.double()[:, None] * omega[None]  # (N, dim/2)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def sincos_2d(height: int, width: int, dim: int) -> torch.Tensor:
    """Fixed 2D sin-cos position embedding for a height×width grid, row-major: (H*W, dim) float32.

    Half the channels encode the column, half the row (MAE / DiT `get_2d_sincos_pos_embed`).
    """
    if dim % 4:
        raise ValueError(f"sincos_2d needs dim divisible by 4, got {dim}")
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    emb = torch.cat(
        [sincos_1d(cols.reshape(-1), dim // 2), sincos_1d(rows.reshape(-1), dim // 2)], dim=1
    )
    return emb.float()
