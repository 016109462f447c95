"""A layout planner: prompt tokens -> what goes in each cell of the world's 3×3 grid, sampled one
cell at a time (an encoder-decoder transformer, like a tiny translation model from words to a
layout). The two-stage idea of layout-grounded generation (a planner writes a layout, the
denoiser draws it; LayoutGPT, LLM-grounded diffusion) at the world's scale: the relation in "a
circle above a square" is one word for a diffusion loss, but it is most of the answer for a
model whose only job is to say where things go.

`planner(ids, mask, layout)` -> logits (B, 9, LAYOUT_CLASSES) of each cell given the cells
before it (teacher forcing); `planner.sample(ids, mask, generators)` -> (B, 9) classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.registry import register_architecture
from genlab.nn import ModelConfig
from genlab.nn.attention import TransformerBlock
from genlab.world.layout import CELLS, LAYOUT_CLASSES


@dataclass
class LayoutPlannerConfig(ModelConfig):
    arch = "layout-planner"
    vocab_size: int = 256  # the text encoder's tokenizer (ids are shared with it)
    max_length: int = 48
    width: int = 128
    encoder_depth: int = 2
    decoder_depth: int = 2
    num_heads: int = 4
    num_classes: int = LAYOUT_CLASSES
    cells: int = CELLS


class LayoutPlanner(nn.Module):
    def __init__(self, config: LayoutPlannerConfig | None = None, **overrides):
        super().__init__()
        config = (config or LayoutPlannerConfig()).replace(**overrides)
        self.config = config
        D = config.width
        self.token_embedding = nn.Embedding(config.vocab_size, D)
        self.text_position = nn.Parameter(torch.zeros(config.max_length, D))
        self.encoder = nn.ModuleList(
            TransformerBlock(D, config.num_heads) for _ in range(config.encoder_depth)
        )
        self.encoder_norm = nn.LayerNorm(D)
        # Cell i reads the class of cell i-1 (a start symbol for cell 0) and its own position.
        self.class_embedding = nn.Embedding(config.num_classes + 1, D)
        self.cell_position = nn.Parameter(torch.zeros(config.cells, D))
        self.decoder = nn.ModuleList(
            TransformerBlock(D, config.num_heads, causal=True, context_dim=D)
            for _ in range(config.decoder_depth)
        )
        self.head = nn.Sequential(nn.LayerNorm(D), nn.Linear(D, config.num_classes))
        nn.init.normal_(self.text_position, std=0.02)
        nn.init.normal_(self.cell_position, std=0.02)

    @property
    def start_class(self) -> int:
        return self.config.num_classes

    def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        L = ids.shape[1]
        if self.config.max_length < L:
            raise ValueError(f"{L} tokens, the planner takes at most {self.config.max_length}")
        x = self.token_embedding(ids) + self.text_position[:L]
        for block in self.encoder:
            x = block(x, mask)
        return self.encoder_norm(x)

    def decode(self, memory, mask, previous: torch.Tensor) -> torch.Tensor:
        """Logits for cells 0..n-1 given `previous` (B, n): the start symbol, then cells 0..n-2."""
        n = previous.shape[1]
        x = self.class_embedding(previous) + self.cell_position[:n]
        for block in self.decoder:
            x = block(x, context=memory, context_mask=mask)
        return self.head(x)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, layout: torch.Tensor):
        """Teacher-forced logits (B, 9, classes) of `layout` (B, 9) given the prompt."""
        start = torch.full_like(layout[:, :1], self.start_class)
        previous = torch.cat([start, layout[:, :-1]], dim=1).long()
        return self.decode(self.encode(ids, mask), mask, previous)

    def loss(self, ids, mask, layout) -> torch.Tensor:
        logits = self(ids, mask, layout)
        return F.cross_entropy(logits.flatten(0, 1).float(), layout.flatten().long())

    @torch.no_grad()
    def sample(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        generators: list[torch.Generator],
        temperature: float = 1.0,
    ) -> torch.Tensor:
        """(B, 9) classes, cell by cell; row b draws with generators[b] (on the CPU, so a seed
        gives the same layout on every device)."""
        B = ids.shape[0]
        if len(generators) != B:
            raise ValueError(f"{len(generators)} generators for {B} prompts")
        memory = self.encode(ids, mask)
        previous = torch.full((B, 1), self.start_class, dtype=torch.long, device=ids.device)
        for _ in range(self.config.cells):
            logits = self.decode(memory, mask, previous)[:, -1].float().cpu()
            probs = torch.softmax(logits / max(temperature, 1e-6), dim=-1)
            picks = torch.stack(
                [torch.multinomial(probs[b], 1, generator=generators[b]) for b in range(B)]
            )
            previous = torch.cat([previous, picks.to(ids.device)], dim=1)
        return previous[:, 1:]


register_architecture(LayoutPlannerConfig, LayoutPlanner)
