"""Diffusion Transformer (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers"):
patchify, adaLN-Zero blocks, text through cross-attention plus pooled text in the conditioning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.nn import (
    AdaLNModulation,
    Attention,
    FeedForward,
    ModelConfig,
    TimestepEmbedder,
    compile_blocks,
    label_embedder,
    maybe_checkpoint,
    modulate,
    pooled_embedder,
    require_cond,
    sincos_2d,
    text_cross_attention,
)


@dataclass
class DiTConfig(ModelConfig):
    """Sizes and conditioning of a DiT. Text conditioning: `context_dim` (token width, None = no
    cross-attention) and `pooled_dim` (None = no pooled text); class conditioning: `num_classes`.
    """

    arch = "dit"
    input_size: int = 32  # default side of x; any side divisible by patch_size also works
    patch_size: int = 2
    in_channels: int = 4  # 3 for pixels, 4 for latents
    out_channels: int | None = None  # None = in_channels (the prediction has x_t's shape)
    hidden_size: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    context_dim: int | None = 256
    pooled_dim: int | None = 256
    num_classes: int = 0  # > 0 adds a label embedding (cond["labels"]) with a learned null class
    class_dropout_prob: float = 0.1
    gradient_checkpointing: bool = False


class DiTBlock(nn.Module):
    """adaLN-Zero block: x + gate·attn(modulate(LN x)) [+ cross(LN x, text)] + gate·mlp(modulate(LN x))."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float, context_dim: int | None):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm_cross, self.cross = text_cross_attention(hidden_size, context_dim, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(hidden_size, mlp_ratio)
        self.adaLN_modulation = AdaLNModulation(hidden_size, 6)

    def forward(self, x, c, context=None, context_mask=None):
        # x (B, N, D); c (B, D); context (B, L, C); context_mask (B, L) bool
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        if self.cross is not None:
            x = x + self.cross(self.norm_cross(x), context, context_mask)
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm then a linear map from D to one patch of output pixels."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = AdaLNModulation(hidden_size, 2)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c)
        return self.linear(modulate(self.norm_final(x), shift, scale))  # (B, N, p*p*C_out)


class DiT(nn.Module):
    """`model(x_t, t, cond) -> prediction`: x_t (B, C, H, W), t (B,) in [0, 1000), cond a dict
    {"tokens": (B, L, C), "mask": (B, L), "pooled": (B, P)} and/or {"labels": (B,)}.
    """

    def __init__(self, config: DiTConfig | None = None, **overrides):
        super().__init__()
        config = (config or DiTConfig()).replace(**overrides)
        if config.hidden_size % config.num_heads or config.hidden_size % 4:
            raise InvalidArgument(
                "hidden_size",
                f"a multiple of num_heads ({config.num_heads}) and of 4",
                config.hidden_size,
            )
        self.config = config
        D, p = config.hidden_size, config.patch_size
        self.out_channels = config.out_channels or config.in_channels
        self.x_embedder = nn.Conv2d(config.in_channels, D, kernel_size=p, stride=p)
        self.t_embedder = TimestepEmbedder(D)
        self.pooled_embedder = pooled_embedder(config.pooled_dim, D)
        self.y_embedder = label_embedder(config.num_classes, D, config.class_dropout_prob)
        grid = config.input_size // p
        # Fixed (not learned) sin-cos positions, as DiT; other grid sizes are computed on demand.
        self.register_buffer("pos_embed", sincos_2d(grid, grid, D)[None], persistent=False)
        self.blocks = nn.ModuleList(
            DiTBlock(D, config.num_heads, config.mlp_ratio, config.context_dim)
            for _ in range(config.depth)
        )
        self.final_layer = FinalLayer(D, p, self.out_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        # Transformer layers: Xavier-uniform weights and zero biases (ViT / DiT).
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        # Patch embedding is a linear map of a flattened patch: initialise it like one.
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.bias)
        # Embedding MLPs: N(0, 0.02), so conditioning starts small.
        for mlp in (self.t_embedder.mlp, self.pooled_embedder):
            if mlp is not None:
                for layer in (mlp[0], mlp[2]):
                    nn.init.normal_(layer.weight, std=0.02)
        if self.y_embedder is not None:
            nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        # adaLN-Zero: every shift, scale and gate starts at 0, so each block is the identity.
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation.linear.weight)
            nn.init.zeros_(block.adaLN_modulation.linear.bias)
            # Cross-attention is not gated: zero its output so it too starts as the identity.
            if block.cross is not None:
                nn.init.zeros_(block.cross.proj.weight)
        # Final layer zeroed: the initial prediction is exactly 0.
        nn.init.zeros_(self.final_layer.adaLN_modulation.linear.weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation.linear.bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def positions(self, h: int, w: int) -> torch.Tensor:
        """(1, h*w, D) position embedding for an h×w grid of patches."""
        if self.pos_embed.shape[1] == h * w and h == w:
            return self.pos_embed
        return sincos_2d(h, w, self.config.hidden_size)[None].to(self.pos_embed.device)

    def unpatchify(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(B, h*w, p*p*C) -> (B, C, h*p, w*p)."""
        p, C = self.config.patch_size, self.out_channels
        x = x.reshape(x.shape[0], h, w, p, p, C)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], C, h * p, w * p)

    def condition(
        self, t: torch.Tensor, cond: dict | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """c (B, D) = t embedding + pooled text + class embedding; and the text tokens and mask."""
        cond = cond or {}
        c = self.t_embedder(t)
        context = mask = None
        if self.pooled_embedder is not None:
            c = c + self.pooled_embedder(require_cond(cond, "pooled"))
        if self.y_embedder is not None:
            c = c + self.y_embedder(require_cond(cond, "labels"))
        if self.config.context_dim is not None:
            context, mask = require_cond(cond, "tokens"), cond.get("mask")
        return c, context, mask

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None = None) -> torch.Tensor:
        B, C, H, W = x.shape
        p = self.config.patch_size
        if self.config.in_channels != C or H % p or W % p:
            raise InvalidArgument(
                "x_t",
                f"(B, {self.config.in_channels}, H, W) with H and W divisible by {p}",
                tuple(x.shape),
            )
        h, w = H // p, W // p
        x = self.x_embedder(x).flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, h*w, D)
        x = x + self.positions(h, w).to(x.dtype)
        c, context, mask = self.condition(t, cond)
        ckpt = self.config.gradient_checkpointing and self.training
        for block in self.blocks:
            x = maybe_checkpoint(block, x, c, context, mask, enabled=ckpt)
        x = self.final_layer(x, c)  # (B, h*w, p*p*C_out)
        return self.unpatchify(x, h, w)

    def compile(self, **compile_kwargs) -> bool:
        """Compile the transformer blocks in place (regional: compile time independent of depth)."""
        return compile_blocks(self, [self.blocks], **compile_kwargs)


# Named sizes. DiT-{S,B,L,XL}/{2,4,8} are the paper's class-conditional latent models (Table 1);
# the world sizes are text-conditioned pixel models for the built-in 32×32 world.
_PAPER = {"S": (12, 384, 6), "B": (12, 768, 12), "L": (24, 1024, 16), "XL": (28, 1152, 16)}
DIT_MODELS: dict[str, dict] = {
    f"DiT-{size}/{patch}": dict(depth=depth, hidden_size=hidden, num_heads=heads, patch_size=patch,
                                in_channels=4, input_size=32, num_classes=1000,
                                context_dim=None, pooled_dim=None)
    for size, (depth, hidden, heads) in _PAPER.items()
    for patch in (2, 4, 8)
}  # fmt: skip
_TEXT = dict(context_dim=256, pooled_dim=256)  # the width of TEXT_ENCODERS['text-world-s']
# fmt: off
DIT_MODELS.update({
    "dit-tiny":           dict(depth=2, hidden_size=32, num_heads=2, in_channels=3, input_size=8,
                               context_dim=32, pooled_dim=32),
    "dit-world-s":        dict(depth=8, hidden_size=256, num_heads=4, in_channels=3, input_size=32, **_TEXT),
    "dit-world-m":        dict(depth=12, hidden_size=384, num_heads=6, in_channels=3, input_size=32, **_TEXT),
    "dit-latent-world-m": dict(depth=12, hidden_size=384, num_heads=6, in_channels=4, input_size=16, **_TEXT),
})
# fmt: on

register_architecture(DiTConfig, DiT)
register_models(DiTConfig.arch, DIT_MODELS)
