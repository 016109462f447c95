"""An autoregressive prior over VQ-VAE tokens that draws a given plan: the prefix is the background,
the 3×3 layout (one token per cell: its object's color + shape + size, or empty) and the prompt's
token embeddings from a frozen text encoder (the one world-t2i reads), then image tokens follow
under causal attention (DALL·E-style), with the KV cache and CFG of `ar_transformer`.

Each image token's input also carries its own place in the plan: the area-weighted mix of the
embeddings of the cells it overlaps (a 4×4 px token straddles the 10.7 px cells), the way
world-t2i-layout's U-Net adds layout features to each resolution's feature map. "No plan" is a
row of layout −1 and background −1 (the text alone), "no condition" adds an all-False text mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from genlab.errors import InvalidArgument
from genlab.models.ar_transformer import (
    Block,
    TokenDecoder,
    check_guidance,
    check_sampling_args,
    gpt2_init,
    sample_tokens,
)
from genlab.models.registry import register_architecture, register_models
from genlab.nn.config import ModelConfig

GRID = 3  # the world's cells per side (genlab.world.spec.GRID)


@dataclass
class LayoutARConfig(ModelConfig):
    arch: ClassVar[str] = "ar-layout"

    text_dim: int = 128  # width of the frozen text encoder's tokens
    text_len: int = 24  # the encoder's first text_len output tokens form the text prefix
    num_colors: int = 8
    num_shapes: int = 5
    num_sizes: int = 2
    num_backgrounds: int = 3
    image_vocab_size: int = 256  # = the tokenizer's vocabulary
    image_grid: int = 8  # tokens per side of the tokenizer's grid
    # > 0: tokens are mask · token_colors + colour (genlab.models.palette_vq), embedded as a sum
    # and predicted as a sum of a mask and a colour logit (log-softmax splits into the two)
    token_colors: int = 0
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0

    def __post_init__(self):
        if self.dim % self.heads:
            raise InvalidArgument("dim", f"a multiple of heads={self.heads}", self.dim)
        if self.token_colors and self.image_vocab_size % self.token_colors:
            raise InvalidArgument(
                "image_vocab_size", f"a multiple of token_colors={self.token_colors}",
                self.image_vocab_size,
            )  # fmt: skip

    @property
    def image_tokens(self) -> int:
        return self.image_grid**2

    @property
    def prefix_len(self) -> int:
        return 1 + GRID * GRID + self.text_len  # background, cells, text

    @property
    def seq_len(self) -> int:
        # [prefix] [BOS] [image tokens 0..N-2]: the last image token is never an input.
        return self.prefix_len + self.image_tokens


def cell_overlap(image_grid: int, grid: int = GRID) -> torch.Tensor:
    """(image_grid², grid²) fraction of each token's square lying in each cell (rows sum to 1)."""
    edges = torch.linspace(0, 1, image_grid + 1)
    cells = torch.linspace(0, 1, grid + 1)
    # 1-D overlap of token interval a with cell interval b, divided by the token's width
    lo = torch.maximum(edges[:-1, None], cells[None, :-1])
    hi = torch.minimum(edges[1:, None], cells[None, 1:])
    w = (hi - lo).clamp(min=0) * image_grid  # (image_grid, grid)
    return torch.einsum("ab,cd->acbd", w, w).reshape(image_grid**2, grid**2)


class FactorisedEmbedding(nn.Module):
    """Image token mask · colors + colour -> mask embedding + colour embedding; id `bos_id`
    (= the vocabulary size) is the begin token."""

    def __init__(self, vocab_size: int, colors: int, dim: int):
        super().__init__()
        self.colors, self.bos_id = colors, vocab_size
        self.mask = nn.Embedding(vocab_size // colors + 1, dim)  # last row: BOS
        self.colour = nn.Embedding(colors, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        bos = ids == self.bos_id
        mask = torch.where(bos, self.mask.num_embeddings - 1, ids // self.colors)
        colour = self.colour(ids % self.colors) * (~bos)[..., None]
        return self.mask(mask) + colour


class FactorisedHead(nn.Module):
    """Hidden (…, D) -> logits (…, masks · colors) = mask logit + colour logit."""

    def __init__(self, dim: int, vocab_size: int, colors: int):
        super().__init__()
        self.mask = nn.Linear(dim, vocab_size // colors, bias=False)
        self.colour = nn.Linear(dim, colors, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (self.mask(h)[..., :, None] + self.colour(h)[..., None, :]).flatten(-2)


class LayoutARTransformer(TokenDecoder):
    """logits(image token i | background, layout, text, image tokens < i)."""

    def __init__(self, config: LayoutARConfig | dict):
        super().__init__()
        self.config = (
            config if isinstance(config, LayoutARConfig) else LayoutARConfig.from_dict(config)
        )
        cfg = self.config
        D = cfg.dim
        # a cell: empty, no plan, or color + shape + size (factorised, so that a (color, shape)
        # pair never seen in training is still the sum of two seen embeddings)
        self.empty_cell = nn.Parameter(torch.zeros(D))
        self.null_cell = nn.Parameter(torch.zeros(D))
        self.color_embed = nn.Embedding(cfg.num_colors, D)
        self.shape_embed = nn.Embedding(cfg.num_shapes, D)
        self.size_embed = nn.Embedding(cfg.num_sizes, D)
        self.cell_pos = nn.Parameter(torch.zeros(GRID * GRID, D))
        self.background_embed = nn.Embedding(cfg.num_backgrounds + 1, D)  # last: left open
        self.text_proj = nn.Linear(cfg.text_dim, D)
        self.text_pad = nn.Parameter(torch.zeros(D))
        V = cfg.image_vocab_size
        if cfg.token_colors:
            self.image_embed = FactorisedEmbedding(V, cfg.token_colors, D)
        else:
            self.image_embed = nn.Embedding(V + 1, D)  # last id = BOS
        self.bos_id = cfg.image_vocab_size
        self.place_proj = nn.Linear(D, D)  # a token's share of the plan, into its input
        self.register_buffer("overlap", cell_overlap(cfg.image_grid), persistent=False)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.seq_len, D))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.ln_f = nn.LayerNorm(D)
        if cfg.token_colors:
            self.head = FactorisedHead(D, V, cfg.token_colors)
        else:
            self.head = nn.Linear(D, V, bias=False)
        self._init_weights()

    def _init_weights(self):
        extra = (self.pos_embed, self.empty_cell, self.null_cell, self.cell_pos, self.text_pad)
        gpt2_init(self, self.blocks, self.config.depth, extra)

    # ------------------------------------------------------------------ the condition

    def embed_cells(self, layout: torch.Tensor) -> torch.Tensor:
        """layout (B, 9): 0 empty, 1 + (color·shapes + shape)·sizes + size an object (the
        classes of genlab.world.layout), −1 no plan -> (B, 9, D)."""
        cfg = self.config
        k = layout.long()
        j = (k - 1).clamp(min=0)
        size = j % cfg.num_sizes
        shape = (j // cfg.num_sizes) % cfg.num_shapes
        color = j // (cfg.num_sizes * cfg.num_shapes)
        obj = self.color_embed(color) + self.shape_embed(shape) + self.size_embed(size)
        x = torch.where((k == 0)[..., None], self.empty_cell, obj)
        x = torch.where((k < 0)[..., None], self.null_cell, x)
        return x + self.cell_pos

    def condition(self, text, text_mask, layout, background):
        """(prefix (B, prefix_len, D), image_bias (B, N, D)).

        text (B, ≥text_len, text_dim) encoder tokens, text_mask (B, ≥text_len) bool (all False:
        no text), layout (B, 9) (−1: no plan), background (B,) index (−1: left open)."""
        cfg = self.config
        L = cfg.text_len
        if text.shape[1] < L:  # an encoder shorter than the prefix: pad it
            pad = L - text.shape[1]
            text = F.pad(text, (0, 0, 0, pad))
            text_mask = F.pad(text_mask, (0, pad), value=False)
        t = self.text_proj(text[:, :L].to(self.text_proj.weight.dtype))
        t = torch.where(text_mask[:, :L, None], t, self.text_pad)  # (B, L, D)
        bg = background.long()
        bg = torch.where(bg < 0, torch.full_like(bg, cfg.num_backgrounds), bg)
        b = self.background_embed(bg)  # (B, D)
        cells = self.embed_cells(layout)  # (B, 9, D)
        prefix = torch.cat([b[:, None], cells, t], dim=1)
        # each token's place: the cells it overlaps, mixed by area, and the background
        place = torch.einsum("nc,bcd->bnd", self.overlap.to(cells.dtype), cells) + b[:, None]
        return prefix, self.place_proj(place)

    # ------------------------------------------------------------------ training

    def forward(self, image_tokens, *, text, text_mask, layout, background) -> torch.Tensor:
        """image_tokens (B, N) -> logits (B, N, image_vocab), position i predicting token i from
        the condition and tokens < i (teacher forcing)."""
        B, N = image_tokens.shape
        if self.config.image_tokens != N:
            raise InvalidArgument("image_tokens", f"(B, {self.config.image_tokens})", (B, N))
        prefix, bias = self.condition(text, text_mask, layout, background)
        img = self.image_embed(self.shifted(image_tokens)) + bias
        x = torch.cat([prefix, img], dim=1)  # (B, P+N, D)
        logits = self._run(x + self.pos_embed[:, : x.shape[1]])
        return logits[:, prefix.shape[1] :]

    def loss(self, image_tokens, **condition) -> dict[str, torch.Tensor]:
        return self.token_loss(self(image_tokens, **condition), image_tokens)

    # ------------------------------------------------------------------ sampling

    @torch.no_grad()
    def generate(
        self,
        *,
        text,
        text_mask,
        layout,
        background,
        negative: dict | None = None,
        guidance_scale: float = 1.0,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator=None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Image tokens (B, N). With guidance ≠ 1 the unconditional branch is `negative` (a dict
        of the same four keys: a negative prompt's text with no plan) or no condition at all."""
        check_sampling_args(temperature, top_k, top_p)
        check_guidance(guidance_scale)
        B = layout.shape[0]
        prefix, bias = self.condition(text, text_mask, layout, background)
        if guidance_scale != 1.0:
            if negative is None:
                negative = dict(
                    text=text,
                    text_mask=torch.zeros_like(text_mask),
                    layout=torch.full_like(layout, -1),
                    background=torch.full_like(background, -1),
                )
            n_prefix, n_bias = self.condition(**negative)
            prefix, bias = torch.cat([prefix, n_prefix]), torch.cat([bias, n_bias])
        tokens = sample_tokens(
            self,
            prefix,
            image_bias=bias,
            guidance_scale=guidance_scale,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
            use_cache=use_cache,
        )
        return tokens.view(B, -1)


LAYOUT_AR_MODELS = {
    "ar-layout-world": dict(dim=128, depth=4, heads=4),
    "ar-layout-tiny": dict(
        dim=16, depth=1, heads=2, text_dim=16, text_len=4, image_vocab_size=16, image_grid=4
    ),
}

register_architecture(LayoutARConfig, LayoutARTransformer)
register_models(LayoutARConfig.arch, LAYOUT_AR_MODELS)
