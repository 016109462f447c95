"""Shared neural-network blocks: embeddings, attention through SDPA, adaLN, residual conv blocks,
and the speed helpers (activation checkpointing, compile with fallback) that every model reuses.
"""

from genlab.nn.adaln import AdaLNModulation, modulate
from genlab.nn.attention import (
    Attention,
    CrossAttention,
    FeedForward,
    SelfAttention2d,
    TransformerBlock,
    attention,
    attention_backend,
    key_padding_bias,
    prefer_attention_backend,
)
from genlab.nn.config import ModelConfig
from genlab.nn.embeddings import (
    LabelEmbedder,
    TimestepEmbedder,
    sincos_1d,
    sincos_2d,
    timestep_embedding,
)
from genlab.nn.resblocks import Downsample, ResBlock, Upsample
from genlab.nn.utils import (
    compile_blocks,
    group_norm,
    maybe_checkpoint,
    require_cond,
    run_with_compile_fallback,
    uncompile,
    zero_,
)

__all__ = [
    "AdaLNModulation",
    "Attention",
    "CrossAttention",
    "Downsample",
    "FeedForward",
    "LabelEmbedder",
    "ModelConfig",
    "ResBlock",
    "SelfAttention2d",
    "TimestepEmbedder",
    "TransformerBlock",
    "Upsample",
    "attention",
    "attention_backend",
    "compile_blocks",
    "group_norm",
    "key_padding_bias",
    "maybe_checkpoint",
    "modulate",
    "prefer_attention_backend",
    "require_cond",
    "run_with_compile_fallback",
    "sincos_1d",
    "sincos_2d",
    "timestep_embedding",
    "uncompile",
    "zero_",
]
