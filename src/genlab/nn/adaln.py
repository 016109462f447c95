"""Adaptive LayerNorm (adaLN / adaLN-Zero, Peebles & Xie 2023): a conditioning vector sets the
shift, scale and residual gates of each block; zero init makes every block start as identity.
"""

from __future__ import annotations

import torch
from torch import nn


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x·(1 + scale) + shift, with (B, D) shift/scale broadcast over the tokens of x (B, N, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class AdaLNModulation(nn.Module):
    """c (B, D) -> `chunks` tensors (B, D) through SiLU + Linear, zero-initialised (adaLN-Zero):
    at init all shifts, scales and gates are 0, so each gated residual branch adds nothing.
    """

    def __init__(self, dim: int, chunks: int, cond_dim: int | None = None):
        super().__init__()
        self.chunks = chunks
        self.linear = nn.Linear(cond_dim or dim, chunks * dim)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.linear(nn.functional.silu(c)).chunk(self.chunks, dim=-1)
