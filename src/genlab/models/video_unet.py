"""Video U-Net: the image U-Net applied to every frame, with temporal attention after each of its
stages (a "(2+1)D" or inflated U-Net, as in Video Diffusion Models, Make-A-Video, AnimateDiff and
Stable Video Diffusion).

Frames are folded into the batch, so the spatial layers (convolutions, self- and cross-attention)
are exactly the image U-Net's; between them, each pixel of each feature map attends across the
clip's frames. Every temporal layer ends in a zero-initialised projection, so a new video U-Net is
the image U-Net frame by frame and can start from an image model's weights
(`VideoUNet.load_image_weights`): it draws what the image model draws from its first step and
only has to learn the motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import CheckpointError, InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.models.unet import UNet, UNetConfig
from genlab.models.video_dit import check_video_input, first_frame_channels
from genlab.nn import (
    Attention,
    ResBlock,
    compile_blocks,
    group_norm,
    key_padding_bias,
    maybe_checkpoint,
    require_cond,
    sincos_1d,
    zero_,
)


@dataclass
class VideoUNetConfig(UNetConfig):
    """A U-Net over clips (B, C, T, H, W). The image U-Net's fields, plus: `max_frames`, the
    longest clip the model is meant to produce (a pipeline check); `frame_cond`, the clean first
    frame and a 0/1 "given" channel concatenated to every frame's input (image → video, as for
    `VideoDiTConfig`); `temporal_head_dim`, the width of a temporal attention head;
    `temporal_conv`, a 3-D convolution block (space and time, conditioned on the clip's embedding)
    before each temporal attention, as Video LDM's temporal layers have it; `temporal_text`
    (with `temporal_conv` and text tokens), the prompt's tokens read by learned queries
    (`TokenQueryPool`) and added to the embedding those blocks are steered by."""

    arch = "video-unet"
    attention: str = "factored"  # spatial (the image U-Net's), then temporal: the only layout
    max_frames: int = 16
    frame_cond: bool = False
    temporal_head_dim: int = 32
    temporal_conv: bool = False
    temporal_text: bool = False
    temporal_text_queries: int = 4

    @property
    def patch_size_t(self) -> int:
        """Frames per temporal patch: every frame is its own (what pipelines read of a denoiser)."""
        return 1


class TemporalAttention(nn.Module):
    """Attention across frames at each position of a feature map (B·T, C, H, W) → the same.

    GN → + 1-D sin-cos of the frame index → multi-head self-attention over the T frames of each
    pixel → zero-initialised output projection → + input: the identity at initialisation.
    """

    def __init__(self, channels: int, head_dim: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.attn = Attention(channels, max(1, channels // head_dim))
        zero_(self.attn.proj)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        BT, C, H, W = x.shape
        B = BT // frames
        h = self.norm(x)
        # (B·T, C, H, W) -> (B·H·W, T, C): one sequence of T frames per pixel
        h = h.reshape(B, frames, C, H, W).permute(0, 3, 4, 1, 2).reshape(B * H * W, frames, C)
        h = h + sincos_1d(torch.arange(frames, device=x.device), C).to(h.dtype)
        h = self.attn(h)
        h = h.reshape(B, H, W, frames, C).permute(0, 3, 4, 1, 2).reshape(BT, C, H, W)
        return x + h


class TemporalConvBlock(nn.Module):
    """A residual block over space and time: (B·T, C, H, W) → the same, frames of one clip together.

    GN → SiLU → 3×3×3 conv → GN·(1+scale)+shift from the clip's embedding → SiLU → zero-initialised
    3×1×1 conv → + input (the identity at initialisation; Blattmann et al. 2023, Video LDM §3.1).

    Why: motion is a shift between neighbouring frames. Attention across the frames of one pixel
    (TemporalAttention) sees a pixel's history, not where its content went; a 3×3×3 kernel relates
    a pixel to its neighbours in the next frame, and the embedding's scale and shift (the prompt's
    pooled text, or the class) choose which of those kernels act, so the words can steer the
    direction. The time axis is zero-padded: the first and last frames have one neighbour.
    """

    def __init__(self, channels: int, emb_dim: int):
        super().__init__()
        self.norm1 = group_norm(channels)
        self.conv1 = nn.Conv3d(channels, channels, 3, padding=1)
        self.emb_proj = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, 2 * channels))
        self.norm2 = group_norm(channels)
        self.conv2 = zero_(nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0)))

    def forward(self, x: torch.Tensor, frames: int, emb: torch.Tensor) -> torch.Tensor:
        BT, C, H, W = x.shape
        B = BT // frames
        h = x.reshape(B, frames, C, H, W).transpose(1, 2)  # (B, C, T, H, W)
        h = self.conv1(F.silu(self.norm1(h)))
        scale, shift = self.emb_proj(emb)[:, :, None, None, None].chunk(2, dim=1)  # (B, C, 1,1,1)
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        return x + h.transpose(1, 2).reshape(BT, C, H, W)


class TokenQueryPool(nn.Module):
    """Learned queries read a prompt's tokens: (B, L, C) tokens and a (B, L) mask (True = real)
    → (B, out_dim), zero at initialisation.

    LN → each of `num_queries` learned vectors takes a softmax-weighted mean of the tokens (keys a
    linear map of them, values the normalised tokens themselves) → the means concatenated → a
    zero-initialised linear map.

    Why: the pooled text vector is one average over the whole prompt. In the world's text tower
    "a red circle moving left" and "… moving right" pool to vectors 0.99 alike in cosine, though
    their direction tokens differ by most of a token's norm; a query can learn to put its weight
    on the token that names the motion.
    """

    def __init__(self, context_dim: int, out_dim: int, num_queries: int = 4):
        super().__init__()
        if num_queries < 1:
            raise InvalidArgument("temporal_text_queries", "a positive integer", num_queries)
        self.norm = nn.LayerNorm(context_dim)
        self.queries = nn.Parameter(torch.randn(num_queries, context_dim) * context_dim**-0.5)
        self.key = nn.Linear(context_dim, context_dim)
        self.proj = zero_(nn.Linear(num_queries * context_dim, out_dim))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(tokens)
        logits = torch.einsum("qc,blc->bql", self.queries, self.key(h)) * h.shape[-1] ** -0.5
        if mask is not None:  # padding never attended (an all-padding prompt: every token)
            logits = logits.masked_fill(~key_padding_bias(mask)[:, 0], float("-inf"))
        weights = logits.float().softmax(dim=-1).to(h.dtype)  # (B, queries, L)
        return self.proj(torch.einsum("bql,blc->bqc", weights, h).flatten(1))


# the parameters a video U-Net has beyond its image U-Net's
TEMPORAL_PREFIXES = ("temporal.", "temporal_conv.", "temporal_text.")


def _stage_channels(stage: nn.Module) -> int | None:
    """Output channels of a U-Net stage: those of its last ResBlock (None: a stage without one)."""
    blocks = [m for m in stage if isinstance(m, ResBlock)]
    return blocks[-1].conv2.out_channels if blocks else None


class VideoUNet(UNet):
    """`model(x_t, t, cond) -> prediction` with x_t (B, C, T, H, W); cond as for UNet, plus
    "first_frame" (B, C, H, W) and "first_frame_given" (B,) with `frame_cond`. A single image is a
    one-frame clip (B, C, 1, H, W) (progressive training starts there)."""

    def __init__(self, config: VideoUNetConfig | None = None, **overrides):
        config = (config or VideoUNetConfig()).replace(**overrides)
        if config.attention != "factored":
            raise InvalidArgument("attention", "'factored' for a video U-Net", config.attention)
        if config.temporal_head_dim < 1:
            raise InvalidArgument(
                "temporal_head_dim", "a positive integer", config.temporal_head_dim
            )
        if config.temporal_text and not (config.temporal_conv and config.context_dim):
            raise InvalidArgument(
                "temporal_text",
                "temporal_conv=True and a context_dim (the blocks it steers, the tokens it reads)",
                config.temporal_text,
            )
        super().__init__(config)
        mc = config.model_channels
        if config.frame_cond:  # the first frame's C channels and the "given" flag, to every frame
            c_in = 2 * config.in_channels + 1
            self.input_blocks[0][0] = nn.Conv2d(c_in, mc, 3, padding=1)
        # One temporal layer after every stage with a ResBlock (the input conv and the
        # down-sampling stages have none), keyed by where it sits.
        self.temporal = nn.ModuleDict()
        # With temporal_conv, a 3-D convolution block before each temporal attention, same keys.
        self.temporal_conv = nn.ModuleDict()
        stages = {
            "input": self.input_blocks,
            "middle": self.middle_block,
            "output": self.output_blocks,
        }
        for part, blocks in stages.items():
            for i, stage in enumerate(blocks):
                ch = _stage_channels(stage)
                if ch is not None:
                    self.temporal[f"{part}_{i}"] = TemporalAttention(ch, config.temporal_head_dim)
                    if config.temporal_conv:
                        self.temporal_conv[f"{part}_{i}"] = TemporalConvBlock(ch, 4 * mc)
        self.temporal_text = None
        if config.temporal_text:  # one pool for all the blocks: each reads the sum its own way
            self.temporal_text = TokenQueryPool(
                config.context_dim, 4 * mc, config.temporal_text_queries
            )
        if config.channels_last:  # NHWC for the 2-D convolutions, NDHWC for the 3-D ones
            for param in self.parameters():
                if param.dim() in (4, 5):
                    fmt = torch.channels_last if param.dim() == 4 else torch.channels_last_3d
                    param.data = param.data.contiguous(memory_format=fmt)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None = None) -> torch.Tensor:
        cond = cond or {}
        cfg, f = self.config, self.downsample_factor
        B, C, T, H, W = check_video_input(x, cfg.in_channels, side=f)
        if cfg.frame_cond:
            x = torch.cat([x, first_frame_channels(x, cond)], dim=1)
        h = x.transpose(1, 2).reshape(B * T, x.shape[1], H, W)  # frames folded into the batch
        if cfg.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        # One embedding per clip (label dropout draws once per clip), repeated for its frames.
        clip_emb = self.embedding(t, cond)
        emb = clip_emb.repeat_interleave(T, dim=0)
        context = mask = None
        motion_emb = clip_emb  # what the 3-D blocks are steered by
        if cfg.context_dim is not None:  # a clip's tokens, per clip and repeated for its frames
            tokens, token_mask = require_cond(cond, "tokens"), cond.get("mask")
            context = tokens.repeat_interleave(T, dim=0)
            mask = None if token_mask is None else token_mask.repeat_interleave(T, dim=0)
            if self.temporal_text is not None:
                motion_emb = clip_emb + self.temporal_text(tokens, token_mask)
        ckpt = cfg.gradient_checkpointing and self.training

        def run(key, stage, h):
            h = maybe_checkpoint(stage, h, emb, context, mask, enabled=ckpt)
            if key in self.temporal_conv:
                h = maybe_checkpoint(self.temporal_conv[key], h, T, motion_emb, enabled=ckpt)
            if key in self.temporal:
                h = maybe_checkpoint(self.temporal[key], h, T, enabled=ckpt)
            return h

        hs = []
        for i, stage in enumerate(self.input_blocks):
            h = run(f"input_{i}", stage, h)
            hs.append(h)
        h = run("middle_0", self.middle_block[0], h)
        for i, stage in enumerate(self.output_blocks):
            h = run(f"output_{i}", stage, torch.cat([h, hs.pop()], dim=1))
        out = self.conv_out(self.out(h))  # (B·T, C_out, H, W)
        return out.reshape(B, T, out.shape[1], H, W).transpose(1, 2)

    @torch.no_grad()
    def load_image_weights(self, state: dict[str, torch.Tensor]) -> list[str]:
        """Inflate an image U-Net: take every tensor of its state dict (`UNet.state_dict()` names)
        into the same spatial layer; with `frame_cond` the input convolution's first-frame
        channels start at zero, so the model begins as the image model frame by frame. Returns the
        parameters the image model did not have (the temporal layers). A tensor of another shape,
        or a state dict that is not an image U-Net's, is an error."""
        own = self.state_dict()
        conv_in = "input_blocks.0.0.weight"
        taken = set()
        for key, value in state.items():
            if key not in own:
                raise CheckpointError(f"image weights: {key!r} is not a layer of this video U-Net")
            target = own[key]
            if (
                key == conv_in
                and self.config.frame_cond
                and value.shape[1] * 2 + 1 == target.shape[1]
            ):
                target.zero_()
                target[:, : value.shape[1]].copy_(value)
            elif target.shape != value.shape:
                raise CheckpointError(
                    f"image weights: {key} has shape {tuple(value.shape)}, this video U-Net's "
                    f"{tuple(target.shape)}"
                )
            else:
                target.copy_(value)
            taken.add(key)
        new = sorted(set(own) - taken)
        missing = [k for k in new if not k.startswith(TEMPORAL_PREFIXES)]
        if missing:
            raise CheckpointError(
                f"image weights: no tensor for {missing[0]} ({len(missing)} missing)"
            )
        return new

    def compile(self, **compile_kwargs) -> bool:
        """Compile the stages and the temporal layers in place (regional compilation)."""
        return compile_blocks(
            self,
            [
                self.input_blocks,
                self.middle_block,
                self.output_blocks,
                list(self.temporal.values()),
                list(self.temporal_conv.values()),
            ],
            **compile_kwargs,
        )


# Text-conditioned pixel models for the world's 32×32 clips; "world-s" is world-t2i's U-Net
# (context and pooled width 128: world-clip's text tower), so it can start from those weights.
# fmt: off
VIDEO_UNET_MODELS: dict[str, dict] = {
    "video-unet-tiny":    dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
                               attention_levels=(1,), head_dim=16, temporal_head_dim=16,
                               context_dim=32, pooled_dim=32),
    "video-unet-world-s": dict(model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
                               attention_levels=(1, 2), head_dim=32, context_dim=128,
                               pooled_dim=128),
}
# fmt: on

register_architecture(VideoUNetConfig, VideoUNet)
register_models(VideoUNetConfig.arch, VIDEO_UNET_MODELS)
