"""A small transformer text encoder trained jointly with the denoiser: prompts -> token embeddings
(for cross-attention) and a pooled embedding (for adaLN), plus the learned null for CFG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from genlab.nn import ModelConfig, TransformerBlock, maybe_checkpoint
from genlab.text.tokenizer import Tokenizer, default_vocab


@dataclass
class TextEncoderConfig(ModelConfig):
    """Sizes of the encoder; `vocab` is the tokenizer's word list, stored with the checkpoint."""

    arch = "text-encoder"
    vocab: list[str] = field(default_factory=default_vocab)
    max_length: int = 48  # prompts are padded/truncated to this many (world captions: ≤ 42 words)
    width: int = 256  # D of tokens and pooled
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    num_null_tokens: int = 1  # length of the learned null sequence used for "" prompts
    # A per-word vector added to each output token (zero at the start): word identity that a
    # frozen contrastive tower blurs ("above" and "below" come out 0.99 alike) reaches the model.
    word_residual: bool = False
    gradient_checkpointing: bool = False


TEXT_ENCODERS: dict[str, dict] = {
    "text-tiny": dict(width=32, depth=1, num_heads=2, max_length=16),
    "text-world-s": dict(width=256, depth=4, num_heads=4),
    "text-world-m": dict(width=384, depth=6, num_heads=6),
}


@dataclass
class TextEncoding:
    """Encoded prompts: tokens (B, L, D), mask (B, L) bool True = real token, pooled (B, D), and
    `truncated[i]` True when prompt i was longer than the encoder takes and was cut.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor
    truncated: list[bool]

    @property
    def cond(self) -> dict[str, torch.Tensor]:
        """The denoiser's conditioning dict {"tokens", "mask", "pooled"}."""
        return {"tokens": self.tokens, "mask": self.mask, "pooled": self.pooled}


class PromptEncoder(nn.Module):
    """What every genlab text encoder answers (this module's and genlab.text.pretrained's): a
    `tokenizer`, `config.max_length` and `config.width`, and `forward(ids, mask)` -> (tokens,
    mask, pooled); prompts are encoded and the null is given the same way for all of them."""

    @property
    def width(self) -> int:
        return self.config.width

    def encode(self, prompts: str | Sequence[str]) -> TextEncoding:
        """Tokenize and encode prompts; "" (or a prompt with no words) gives the learned null."""
        batch = self.tokenizer(prompts, self.config.max_length)
        tokens, mask, pooled = self(batch.ids.to(self.device), batch.mask.to(self.device))
        return TextEncoding(tokens, mask, pooled, batch.truncated)

    def null(self, batch_size: int) -> TextEncoding:
        """The learned null conditioning, `batch_size` times (same as encode([""] * batch_size))."""
        return self.encode([""] * batch_size)


class TextEncoder(PromptEncoder):
    """Token + learned position embeddings, pre-LN bidirectional transformer with padding mask,
    final LayerNorm; pooled = linear(masked mean of tokens). Prompts with no words ("") get the
    learned null tokens and null pooled vector, which classifier-free guidance uses as "no text".
    """

    def __init__(self, config: TextEncoderConfig | None = None, **overrides):
        super().__init__()
        config = (config or TextEncoderConfig()).replace(**overrides)
        self.config = config
        self.tokenizer = Tokenizer(config.vocab)
        D, L = config.width, config.max_length
        if not 1 <= config.num_null_tokens <= L:
            raise ValueError(f"num_null_tokens must be in 1..{L}, got {config.num_null_tokens}")
        self.token_embedding = nn.Embedding(len(self.tokenizer), D)
        self.pos_embedding = nn.Parameter(torch.zeros(1, L, D))
        self.blocks = nn.ModuleList(
            TransformerBlock(D, config.num_heads, config.mlp_ratio, dropout=config.dropout)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(D)
        self.pool_proj = nn.Linear(D, D)
        self.null_tokens = nn.Parameter(torch.zeros(config.num_null_tokens, D))
        self.null_pooled = nn.Parameter(torch.zeros(D))
        self.word_residual = nn.Embedding(len(self.tokenizer), D) if config.word_residual else None
        self._init_weights()

    def _init_weights(self) -> None:
        # GPT-2/BERT style: N(0, 0.02) for embeddings and linears, zero biases; the null tokens
        # start like ordinary embeddings so "" is not special in scale from step one.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
        for p in (self.pos_embedding, self.null_tokens, self.null_pooled):
            nn.init.normal_(p, std=0.02)
        if self.word_residual is not None:  # starts as the plain encoder
            nn.init.zeros_(self.word_residual.weight)

    @property
    def device(self) -> torch.device:
        return self.token_embedding.weight.device

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids (B, L) long, mask (B, L) bool -> tokens (B, L, D), mask (B, L), pooled (B, D).

        Rows without any real token are replaced by the learned null sequence.
        """
        B, L = ids.shape
        x = self.token_embedding(ids) + self.pos_embedding[:, :L]  # (B, L, D)
        for block in self.blocks:
            x = maybe_checkpoint(block, x, mask, enabled=self.config.gradient_checkpointing)
        x = self.norm(x)
        if self.word_residual is not None:
            # × √D: the tower's outputs are LayerNormed (about 1 per channel), and Adam moves a
            # parameter by about lr per step, so an unscaled residual would take ~1/lr steps to
            # matter (measured: 700 fine-tuning steps at 2e-4 moved its rows by 0.02-0.08 in norm
            # against tokens of norm 11.5)
            x = x + self.word_residual(ids) * math.sqrt(self.config.width)
        weights = mask.to(x.dtype).unsqueeze(-1)  # (B, L, 1)
        mean = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        pooled = self.pool_proj(mean)  # (B, D)

        # Learned null for empty prompts: null_tokens at the first positions, the rest padding.
        is_null = ~mask.any(dim=1)  # (B,)
        n = self.null_tokens.shape[0]
        null_seq = torch.cat([self.null_tokens, self.null_tokens.new_zeros(L - n, x.shape[-1])])
        null_mask = torch.arange(L, device=ids.device) < n  # (L,)
        tokens = torch.where(is_null[:, None, None], null_seq.to(x.dtype), x)
        mask = torch.where(is_null[:, None], null_mask, mask)
        pooled = torch.where(is_null[:, None], self.null_pooled.to(pooled.dtype), pooled)
        return tokens, mask, pooled

    def with_words(self, words: Sequence[str]) -> TextEncoder:
        """A copy whose vocabulary is extended by `words` (those it lacks, in order), every weight
        kept; each new word's embedding starts at the mean of the known ones (so a new word first
        reads as "some word" rather than as noise). Returns self when nothing is new."""
        new = [w for w in dict.fromkeys(words) if w not in self.tokenizer.index]
        if not new:
            return self
        bigger = TextEncoder(self.config.replace(vocab=list(self.config.vocab) + new))
        state = dict(self.state_dict())
        old = state.pop("token_embedding.weight")
        residual = state.pop("word_residual.weight", None)
        missing, unexpected = bigger.load_state_dict(state, strict=False)
        per_word = ["token_embedding.weight"] + (
            ["word_residual.weight"] if residual is not None else []
        )
        if sorted(missing) != sorted(per_word) or unexpected:  # only the per-word tables differ
            raise RuntimeError(f"with_words: state mismatch {missing} {unexpected}")
        with torch.no_grad():
            weight = bigger.token_embedding.weight
            weight[: len(old)] = old
            weight[len(old) :] = old.mean(0)
            if residual is not None:  # new words start with no residual of their own
                bigger.word_residual.weight.zero_()
                bigger.word_residual.weight[: len(old)] = residual
        return bigger.to(old.device)

    def with_word_residual(self) -> TextEncoder:
        """A copy with a word residual (`TextEncoderConfig.word_residual`), every weight kept; the
        residual starts at zero, so the copy encodes exactly as this one. Returns self when it
        already has one."""
        if self.word_residual is not None:
            return self
        copy = TextEncoder(self.config.replace(word_residual=True))
        missing, unexpected = copy.load_state_dict(self.state_dict(), strict=False)
        if missing != ["word_residual.weight"] or unexpected:  # only the residual is new
            raise RuntimeError(f"with_word_residual: state mismatch {missing} {unexpected}")
        return copy.to(self.device)
