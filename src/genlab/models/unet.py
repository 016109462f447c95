"""Text-conditioned U-Net denoiser (ADM / Stable Diffusion layout): residual blocks with timestep
embedding, self- and cross-attention transformer blocks at chosen resolutions, skip connections.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.nn import (
    Downsample,
    ModelConfig,
    ResBlock,
    TimestepEmbedder,
    TransformerBlock,
    Upsample,
    compile_blocks,
    group_norm,
    label_embedder,
    maybe_checkpoint,
    pooled_embedder,
    require_cond,
    zero_,
)


@dataclass
class UNetConfig(ModelConfig):
    """Widths, depth and conditioning of a U-Net. Level i works at 1/2**i of the input side with
    model_channels·channel_mult[i] channels; `attention_levels` lists the levels with attention.
    """

    arch = "unet"
    in_channels: int = 3  # 3 for pixels, 4 for latents
    out_channels: int | None = None  # None = in_channels
    model_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_levels: tuple[int, ...] = (1, 2)
    head_dim: int = 32  # attention heads = channels // head_dim
    transformer_depth: int = 1
    context_dim: int | None = 256  # text token width; None = self-attention only
    pooled_dim: int | None = 256  # pooled text added to the timestep embedding; None = unused
    num_classes: int = 0
    class_dropout_prob: float = 0.1
    dropout: float = 0.0
    gradient_checkpointing: bool = False
    channels_last: bool = False  # NHWC convolutions (faster with cuDNN under bf16)
    # > 0: a layout (cond["layout"], (B, layout_channels, g, g) features of a g×g grid, e.g.
    # genlab.world.layout) is added at each resolution's first feature map through small adapters
    # whose last conv starts at zero (the model starts as it was); zeros = no layout.
    layout_channels: int = 0


class SpatialTransformer(nn.Module):
    """GN → 1×1 conv → transformer blocks over pixels (self-attn, cross-attn to text, GEGLU MLP)
    → 1×1 conv (zero-init: the block starts as identity) → + input.
    """

    def __init__(self, channels: int, head_dim: int, depth: int, context_dim: int | None):
        super().__init__()
        heads = max(1, channels // head_dim)
        self.norm = group_norm(channels)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.blocks = nn.ModuleList(
            TransformerBlock(channels, heads, context_dim=context_dim, activation="geglu")
            for _ in range(depth)
        )
        self.proj_out = zero_(nn.Conv2d(channels, channels, 1))

    def forward(self, x, context=None, context_mask=None):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, H*W, C)
        for block in self.blocks:
            h = block(h, context=context, context_mask=context_mask)
        h = h.transpose(1, 2).reshape(B, C, H, W)
        return x + self.proj_out(h)


class UNetStage(nn.ModuleList):
    """A sequence of layers fed what each needs: ResBlocks the embedding, attention the text."""

    def forward(self, x, emb, context=None, context_mask=None):
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context, context_mask)
            else:
                x = layer(x)
        return x


class UNet(nn.Module):
    """`model(x_t, t, cond) -> prediction` with x_t (B, C, H, W), H and W divisible by
    2**(len(channel_mult) - 1); cond {"tokens", "mask", "pooled"} and/or {"labels"}.
    """

    # dynamo traces the whole forward as one graph (no break; torch._dynamo.explain), so a
    # whole-model compile may insist on it (genlab.nn.utils.compile_for_inference)
    fullgraph_compile = True

    def __init__(self, config: UNetConfig | None = None, **overrides):
        super().__init__()
        config = (config or UNetConfig()).replace(**overrides)
        bad = [lvl for lvl in config.attention_levels if not 0 <= lvl < len(config.channel_mult)]
        if bad:
            raise InvalidArgument(
                "attention_levels", f"levels in 0..{len(config.channel_mult) - 1}", bad
            )
        self.config = config
        mc = config.model_channels
        emb_dim = 4 * mc
        self.time_embed = TimestepEmbedder(emb_dim, frequency_dim=mc)
        self.pooled_embed = pooled_embedder(config.pooled_dim, emb_dim)
        self.label_embed = label_embedder(config.num_classes, emb_dim, config.class_dropout_prob)

        def res(cin, cout):
            return ResBlock(cin, cout, emb_dim, config.dropout)

        def attn(ch):
            return SpatialTransformer(
                ch, config.head_dim, config.transformer_depth, config.context_dim
            )

        # Encoder: every stage's output is kept as a skip for the decoder.
        self.input_blocks = nn.ModuleList(
            [UNetStage([nn.Conv2d(config.in_channels, mc, 3, padding=1)])]
        )
        skips, ch = [mc], mc
        last = len(config.channel_mult) - 1
        for level, mult in enumerate(config.channel_mult):
            for _ in range(config.num_res_blocks):
                layers = [res(ch, mult * mc)]
                ch = mult * mc
                if level in config.attention_levels:
                    layers.append(attn(ch))
                self.input_blocks.append(UNetStage(layers))
                skips.append(ch)
            if level != last:
                self.input_blocks.append(UNetStage([Downsample(ch)]))
                skips.append(ch)
        self.middle_block = nn.ModuleList([UNetStage([res(ch, ch), attn(ch), res(ch, ch)])])
        # Decoder: one more block per level than the encoder, each eating one skip.
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(config.channel_mult))):
            for i in range(config.num_res_blocks + 1):
                layers = [res(ch + skips.pop(), mult * mc)]
                ch = mult * mc
                if level in config.attention_levels:
                    layers.append(attn(ch))
                if level != 0 and i == config.num_res_blocks:
                    layers.append(Upsample(ch))
                self.output_blocks.append(UNetStage(layers))
        self.out = nn.Sequential(group_norm(ch), nn.SiLU())
        # Zero output conv: the initial prediction is 0 (ADM), so early losses are well scaled.
        self.conv_out = zero_(
            nn.Conv2d(ch, config.out_channels or config.in_channels, 3, padding=1)
        )
        self.downsample_factor = 2**last
        # Layout adapters: after the input conv and after each Downsample, in stage order;
        # layout_at maps an input stage's index to its adapter's.
        self.layout_at: dict[int, int] = {}
        self.layout_adapters = None
        if config.layout_channels > 0:
            widths = []
            for i, stage in enumerate(self.input_blocks):
                if i == 0 or isinstance(stage[0], Downsample):
                    self.layout_at[i] = len(widths)
                    widths.append(mc if i == 0 else stage[0].conv.out_channels)
            self.layout_adapters = nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(config.layout_channels, w, 1),
                    nn.SiLU(),
                    zero_(nn.Conv2d(w, w, 3, padding=1)),
                )
                for w in widths
            )
        if config.channels_last:
            self.to(memory_format=torch.channels_last)

    def embedding(self, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """(B, 4·model_channels): timestep embedding + pooled text + class label."""
        emb = self.time_embed(t)
        if self.pooled_embed is not None:
            emb = emb + self.pooled_embed(require_cond(cond, "pooled"))
        if self.label_embed is not None:
            emb = emb + self.label_embed(require_cond(cond, "labels"))
        return emb

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None = None) -> torch.Tensor:
        cond = cond or {}
        B, C, H, W = x.shape
        f = self.downsample_factor
        if self.config.in_channels != C or H % f or W % f:
            raise InvalidArgument(
                "x_t",
                f"(B, {self.config.in_channels}, H, W) with H and W divisible by {f}",
                tuple(x.shape),
            )
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        emb = self.embedding(t, cond)
        context = mask = None
        if self.config.context_dim is not None:
            context, mask = require_cond(cond, "tokens"), cond.get("mask")
        ckpt = self.config.gradient_checkpointing and self.training

        def run(stage, h):
            return maybe_checkpoint(stage, h, emb, context, mask, enabled=ckpt)

        layout = self._layout(cond, B, x)
        hs = []
        h = x
        for i, stage in enumerate(self.input_blocks):
            h = run(stage, h)
            if layout is not None and i in self.layout_at:
                grid = torch.nn.functional.interpolate(layout, size=h.shape[-2:], mode="nearest")
                h = h + self.layout_adapters[self.layout_at[i]](grid)
            hs.append(h)
        h = run(self.middle_block[0], h)
        for stage in self.output_blocks:
            h = run(stage, torch.cat([h, hs.pop()], dim=1))  # skip connection on channels
        return self.conv_out(self.out(h))

    def _layout(self, cond: dict, B: int, x: torch.Tensor) -> torch.Tensor | None:
        """The layout features to add (zeros when cond has none), or None for a model without."""
        if self.layout_adapters is None:
            return None
        C = self.config.layout_channels
        layout = cond.get("layout")
        if layout is None:
            return x.new_zeros(B, C, 1, 1)
        if layout.dim() != 4 or layout.shape[0] != B or layout.shape[1] != C:
            raise InvalidArgument(
                "cond['layout']", f"({B}, {C}, g, g) features", tuple(layout.shape)
            )
        return layout.to(x.dtype)

    def compile(self, **compile_kwargs) -> bool:
        """Compile each stage in place (regional compilation; same-shaped stages share code)."""
        return compile_blocks(
            self, [self.input_blocks, self.middle_block, self.output_blocks], **compile_kwargs
        )


# Text-conditioned (context_dim = pooled_dim = 256 = the world text encoder's width by default).
# fmt: off
UNET_MODELS: dict[str, dict] = {
    "unet-tiny":           dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
                                attention_levels=(1,), head_dim=16, context_dim=32, pooled_dim=32),
    "unet-world-s":        dict(model_channels=64, channel_mult=(1, 2, 2), num_res_blocks=2,
                                attention_levels=(1, 2)),
    "unet-world-m":        dict(model_channels=96, channel_mult=(1, 2, 3), num_res_blocks=2,
                                attention_levels=(1, 2), head_dim=48),
    "unet-latent-world-m": dict(in_channels=4, model_channels=128, channel_mult=(1, 2),
                                num_res_blocks=2, attention_levels=(0, 1), head_dim=32),
}
# fmt: on

register_architecture(UNetConfig, UNet)
register_models(UNetConfig.arch, UNET_MODELS)
