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
    text_cross_attention,
)
from genlab.nn.config import ModelConfig
from genlab.nn.embeddings import (
    LabelEmbedder,
    TimestepEmbedder,
    label_embedder,
    pooled_embedder,
    sincos_1d,
    sincos_2d,
    timestep_embedding,
)
from genlab.nn.resblocks import Downsample, ResBlock, Upsample
from genlab.nn.utils import (
    compile_blocks,
    compile_for_inference,
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
    "compile_for_inference",
    "group_norm",
    "key_padding_bias",
    "label_embedder",
    "maybe_checkpoint",
    "modulate",
    "pooled_embedder",
    "prefer_attention_backend",
    "require_cond",
    "run_with_compile_fallback",
    "sincos_1d",
    "sincos_2d",
    "text_cross_attention",
    "timestep_embedding",
    "uncompile",
    "zero_",
]
