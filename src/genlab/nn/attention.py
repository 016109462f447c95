"""Attention blocks through torch's scaled_dot_product_attention (flash / memory-efficient kernels
where available): self-attention with fused qkv, cross-attention with a key padding mask, MLPs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend

from genlab.nn.utils import group_norm


def key_padding_bias(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) bool, True = real token -> (B, 1, 1, L) bool SDPA mask (True = may attend).

    A row with no real token would give NaN (softmax over nothing); such rows attend to every
    position instead, which keeps the output finite and is what a caller with no text expects.
    """
    mask = mask.bool()
    mask = mask | ~mask.any(dim=-1, keepdim=True)
    return mask[:, None, None, :]


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    causal: bool = False,
) -> torch.Tensor:
    """softmax(q kᵀ / √d) v on (B, heads, N, d) tensors; `mask` (B, L) keys, True = real."""
    attn_mask = None if mask is None else key_padding_bias(mask)
    if causal and attn_mask is not None:
        n, m = q.shape[-2], k.shape[-2]
        tri = torch.ones(n, m, dtype=torch.bool, device=q.device).tril(m - n)
        attn_mask = attn_mask & tri
        causal = False
    if q.is_cuda and q.shape[0] > MAX_CUDA_SDPA_BATCH:
        return sdpa_in_chunks(q, k, v, attn_mask, causal, MAX_CUDA_SDPA_BATCH)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal)


# Sequences per SDPA call on a GPU. A video model's temporal attention has one sequence per clip
# and pixel (64 clips at 32×32: 65,536), and cuDNN's fused backward failed on that many (H200,
# torch 2.11: "mha_graph.execute(...).is_good()") where 32,768 trained: larger batches go in chunks.
MAX_CUDA_SDPA_BATCH = 32768


def sdpa_in_chunks(q, k, v, attn_mask, causal: bool, max_batch: int) -> torch.Tensor:
    """scaled_dot_product_attention over the batch in chunks of at most `max_batch` sequences
    (the same result: every sequence attends only within itself); a mask of batch 1 is shared."""
    outs = []
    for start in range(0, q.shape[0], max_batch):
        part = slice(start, start + max_batch)
        m = attn_mask if attn_mask is None or attn_mask.shape[0] == 1 else attn_mask[part]
        outs.append(
            F.scaled_dot_product_attention(q[part], k[part], v[part], attn_mask=m, is_causal=causal)
        )
    return torch.cat(outs)


# SDPA kernels by the names genlab's options use, as torch.nn.attention.SDPBackend calls them.
SDPA_BACKENDS = {
    "flash": "FLASH_ATTENTION",
    "efficient": "EFFICIENT_ATTENTION",
    "cudnn": "CUDNN_ATTENTION",
    "math": "MATH",
}


# torch's own order of SDPA kernels, read once at import (None where torch cannot reorder them).
_SDPA_DEFAULT_ORDER = (
    list(torch._C._get_sdp_priority_order())
    if hasattr(torch._C, "_get_sdp_priority_order") and hasattr(torch._C, "_set_sdp_priority_order")
    else None
)


def prefer_attention_backend(name: str | None) -> None:
    """Make SDPA try the `name` kernel first (then torch's usual order), for every later call,
    compiled graphs traced afterwards included; None restores torch's default order. On a GPU
    that kernel must still accept the inputs, else SDPA falls back to the next one that does.
    """
    if name is not None and name not in SDPA_BACKENDS:
        raise ValueError(
            f"attention backend must be one of {', '.join(SDPA_BACKENDS)}, got {name!r}"
        )
    if _SDPA_DEFAULT_ORDER is None:
        if name is None:
            return
        raise RuntimeError(f"this torch ({torch.__version__}) cannot reorder SDPA's kernels")
    order = list(_SDPA_DEFAULT_ORDER)
    if name is not None:
        first = int(getattr(SDPBackend, SDPA_BACKENDS[name]))
        order = [first] + [b for b in order if b != first]
    torch._C._set_sdp_priority_order(order)


def attention_backend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> str:
    """The name of the SDPA kernel torch picks for these (B, heads, N, d) inputs, now."""
    choice = SDPBackend(torch._fused_sdp_choice(q, k, v))
    names = {v: k for k, v in SDPA_BACKENDS.items()}
    return names.get(choice.name, choice.name.lower())


class Attention(nn.Module):
    """Multi-head self-attention over (B, N, D) with one fused qkv projection."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, causal: bool = False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.causal = causal
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, N, D = x.shape
        if N == 1 and mask is None:
            # One token attends only to itself: softmax over one key is exactly 1, the output is
            # its value. Skips attention kernels on B one-token sequences (a video model's
            # temporal attention over still images: on a GPU they cost more than the rest).
            bias = None if self.qkv.bias is None else self.qkv.bias[2 * D :]
            return self.proj(F.linear(x, self.qkv.weight[2 * D :], bias))
        # (B, N, 3D) -> (3, B, heads, N, D/heads)
        qkv = self.qkv(x).view(B, N, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        out = attention(q, k, v, mask, self.causal)  # (B, heads, N, D/heads)
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


class CrossAttention(nn.Module):
    """Queries from x (B, N, D), keys/values from a context (B, L, C) with a key padding mask."""

    def __init__(self, dim: int, context_dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(context_dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        B, N, D = x.shape
        L = context.shape[1]
        h, d = self.num_heads, D // self.num_heads
        q = self.q(x).view(B, N, h, d).transpose(1, 2)  # (B, heads, N, d)
        kv = self.kv(context).view(B, L, 2, h, d).permute(2, 0, 3, 1, 4)  # (2, B, heads, L, d)
        k, v = kv.unbind(0)
        out = attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


def text_cross_attention(
    dim: int, context_dim: int | None, num_heads: int
) -> tuple[nn.LayerNorm | None, CrossAttention | None]:
    """(LayerNorm, CrossAttention) of a transformer block that reads text tokens (B, L,
    context_dim): x + cross(norm(x), text); (None, None) for a block without text."""
    if context_dim is None:
        return None, None
    return nn.LayerNorm(dim, eps=1e-6), CrossAttention(dim, context_dim, num_heads)


class FeedForward(nn.Module):
    """Position-wise MLP D -> mult·D -> D; GELU (tanh approximation, as DiT) or GEGLU (as SD)."""

    def __init__(self, dim: int, mult: float = 4.0, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        hidden = int(dim * mult)
        if activation not in ("gelu", "geglu"):
            raise ValueError(f"activation must be 'gelu' or 'geglu', got {activation!r}")
        self.geglu = activation == "geglu"
        self.fc1 = nn.Linear(dim, hidden * (2 if self.geglu else 1))
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if self.geglu:  # GEGLU (Shazeer 2020): value * GELU(gate)
            value, gate = h.chunk(2, dim=-1)
            h = value * F.gelu(gate)
        else:
            h = F.gelu(h, approximate="tanh")
        return self.fc2(self.dropout(h))


class TransformerBlock(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(LN x) [+ cross(LN x, context)] + mlp(LN x).

    Serves the text encoder (bidirectional, padding mask) and autoregressive models (causal).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        causal: bool = False,
        context_dim: int | None = None,
        dropout: float = 0.0,
        activation: str = "gelu",
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, causal=causal)
        self.cross = None
        if context_dim is not None:
            self.norm_cross = nn.LayerNorm(dim)
            self.cross = CrossAttention(dim, context_dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, mlp_ratio, activation, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), mask))
        if self.cross is not None and context is not None:
            x = x + self.dropout(self.cross(self.norm_cross(x), context, context_mask))
        return x + self.dropout(self.mlp(self.norm2(x)))


class SelfAttention2d(nn.Module):
    """Self-attention over the pixels of a feature map (B, C, H, W), residual, GroupNorm first
    (the attention block of ADM U-Nets and VAE mid-blocks). Output projection starts at zero.
    """

    def __init__(self, channels: int, num_heads: int = 1):
        super().__init__()
        self.norm = group_norm(channels)
        self.attn = Attention(channels, num_heads)
        nn.init.zeros_(self.attn.proj.weight)  # identity at init: the block adds nothing yet
        nn.init.zeros_(self.attn.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        h = self.norm(x).flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, H*W, C)
        h = self.attn(h).transpose(1, 2).reshape(B, C, H, W)
        return x + h
