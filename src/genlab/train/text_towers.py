"""Pretrained text towers for the diffusion recipes: a bundled CLIP's text encoder frozen (its
learned null, new words' rows and an optional per-word residual trainable), and the learning-rate
scales and unfrozen blocks a recipe may give them.
"""

from __future__ import annotations

import torch

from genlab.errors import InvalidArgument
from genlab.eval.features import bundled_path
from genlab.io import load_checkpoint
from genlab.text import TextEncoder
from genlab.text.clip import DomainCLIP
from genlab.text.pretrained import PRETRAINED_TEXT_ENCODERS, text_encoder_from_config
from genlab.train.trainer import TrainConfig

# What `--text-encoder` may choose for a text-to-image recipe: these, and the pretrained
# open-vocabulary encoders of genlab.text.pretrained (PRETRAINED_TEXT_ENCODERS).
TEXT_ENCODER_SOURCES = {
    "joint": "a new text encoder trained jointly with the denoiser",
    "world-clip": "the bundled world-clip's text tower, frozen (its learned null stays trainable)",
    "world-clip+words": "the bundled world-clip's text tower, frozen, plus a trainable per-word "
    "vector added to its output tokens (zero at the start)",
}


def text_encoder_choices() -> dict[str, str]:
    """Every text encoder a text-to-image recipe may train with, and what it is."""
    return {**TEXT_ENCODER_SOURCES, **{k: v[3] for k, v in PRETRAINED_TEXT_ENCODERS.items()}}


def pretrained_text_encoder(name: str, extra_words=(), word_residual: bool = False) -> TextEncoder:
    """The text tower of a bundled domain CLIP, frozen except the learned null (tokens and pooled),
    which CLIP never trained and classifier-free guidance needs: like Stable Diffusion's frozen
    CLIP text encoder, the denoiser gets captions whose synonyms and wording are already resolved.

    `extra_words` the CLIP never saw (a video model's motion words) are added to its vocabulary
    and only their embedding rows train: a gradient hook zeroes the known rows' gradients, so
    (with no weight decay) AdamW leaves them exactly as they were.

    `word_residual` adds a trainable per-word vector to the tower's output tokens, zero at the
    start (the encoder's outputs are unchanged until it trains): a contrastive tower encodes
    colors, shapes and sizes but hardly relations, counts or which color goes with which shape
    ("a red circle above a blue square" and "... below ..." come out 0.999 alike), which the
    denoiser then cannot learn from it.
    """
    return frozen_tower(
        DomainCLIP.load(bundled_path(name)).text_encoder, extra_words, word_residual
    )


def frozen_tower(
    text_encoder: TextEncoder, extra_words=(), word_residual: bool = False
) -> TextEncoder:
    """`text_encoder` frozen as `pretrained_text_encoder` describes: the learned null, the word
    residual (added if asked and absent) and the rows of `extra_words` it lacks stay trainable.
    Also for a text-to-image model's own encoder (null and residual as that model trained them),
    when a video model starts from it."""
    if word_residual:
        text_encoder = text_encoder.with_word_residual()
    known = len(text_encoder.tokenizer)
    text_encoder = text_encoder.with_words(extra_words)
    text_encoder.requires_grad_(False)
    text_encoder.null_tokens.requires_grad_(True)
    text_encoder.null_pooled.requires_grad_(True)
    if text_encoder.word_residual is not None:
        text_encoder.word_residual.requires_grad_(True)
    if len(text_encoder.tokenizer) > known:
        weight = text_encoder.token_embedding.weight
        weight.requires_grad_(True)
        new_rows = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
        new_rows[known:] = 1.0
        weight.register_hook(lambda grad: grad * new_rows.to(grad.device, grad.dtype))
    return text_encoder


def frozen_text_encoder(name: str) -> TextEncoder:
    """The text encoder of bundled model `name` (its `text_encoder.` tensors), frozen whole: the
    families on one task (issue #39) all read world-t2i-layout's."""
    tensors, config = load_checkpoint(bundled_path(name), dtype=torch.float32)
    encoder = text_encoder_from_config(config["text_encoder"])
    prefix = "text_encoder."
    encoder.load_state_dict(
        {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    )
    return encoder.eval().requires_grad_(False)


def speed_up_word_residual(task, scale: float, config: TrainConfig) -> None:
    """Train the text encoder's word residual (if it has one) at `scale` × the learning rate,
    and say so in the model card."""
    if task.text_encoder.word_residual is not None and scale != 1.0:
        task.lr_scales = {**task.lr_scales, "text_encoder.word_residual": scale}
        config.extra["word residual"] = f"learning rate × {scale:g} for the word residual"


def unfreeze_tower(task, layers: int, scale: float, config: TrainConfig) -> None:
    """Let a frozen tower's last `layers` transformer blocks train again, with the output norm
    and pooled projection they feed, at `scale` × the learning rate; the model card says so."""
    encoder = task.text_encoder
    depth = len(encoder.blocks)
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 <= layers <= depth:
        raise InvalidArgument("tower_layers_trained", f"an integer from 0 to {depth}", layers)
    if not layers:
        return
    for i in range(depth - layers, depth):
        encoder.blocks[i].requires_grad_(True)
    encoder.norm.requires_grad_(True)
    encoder.pool_proj.requires_grad_(True)
    if scale != 1.0:
        prefixes = [f"text_encoder.blocks.{i}." for i in range(depth - layers, depth)]
        prefixes += ["text_encoder.norm.", "text_encoder.pool_proj."]
        task.lr_scales = {**task.lr_scales, **dict.fromkeys(prefixes, scale)}
    config.extra["text tower"] = (
        f"its last {layers} of {depth} blocks, output norm and pooled projection trained "
        f"(learning rate × {scale:g})"
    )
