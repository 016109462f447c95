"""Video Diffusion Transformer: 3D patches of a (B, C, T, H, W) clip, adaLN-Zero blocks with either
factored attention (spatial within a frame, then temporal across frames) or full 3D attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genlab.errors import InvalidArgument, check_choice
from genlab.models.dit import DiT, DiTConfig, FinalLayer
from genlab.models.registry import register_architecture, register_models
from genlab.nn import (
    AdaLNModulation,
    Attention,
    FeedForward,
    maybe_checkpoint,
    modulate,
    sincos_1d,
    sincos_2d,
    text_cross_attention,
)

ATTENTION_MODES = ("factored", "full")
TIME_EMBEDDINGS = ("sum", "separate")


@dataclass
class VideoDiTConfig(DiTConfig):
    """A DiT over clips. `patch_size_t` frames form one 3D patch (1 = per-frame patches, so any
    clip length works); `attention` is "factored" (space then time, as Latte / Open-Sora) or
    "full" (every token attends to every token of the clip)."""

    arch = "video-dit"
    patch_size_t: int = 1
    attention: str = "factored"
    max_frames: int = 16  # the longest clip the model is meant to produce (pipeline check)
    # First-frame conditioning (image → video as in Emu Video / Stable Video Diffusion): the clean
    # first frame and a 0/1 "given" channel are concatenated to every frame's input channels, so
    # each frame's tokens see what frame 0 holds at every position (spatial attention can then
    # fetch a moved object from where it started). Absent from the condition = all zeros.
    frame_cond: bool = False
    # How a token knows its frame: "sum" adds a 1-D sin-cos of the frame to the 2-D sin-cos of
    # the patch in the same dimensions (the first models); "separate" gives the frame its own
    # quarter of the dimensions (the patch the other three quarters), so neither blurs the other.
    time_embedding: str = "sum"


def check_video_input(x: torch.Tensor, in_channels: int, side: int, frames: int | None = None):
    """x_t as a video denoiser takes it, (B, in_channels, T, H, W) with H and W divisible by
    `side` (and T by `frames`, when given), else InvalidArgument; returns the five sizes."""
    if (
        x.ndim != 5
        or x.shape[1] != in_channels
        or x.shape[3] % side
        or x.shape[4] % side
        or (frames is not None and x.shape[2] % frames)
    ):
        what = (
            f"H and W divisible by {side}"
            if frames is None
            else f"T divisible by {frames}, H and W by {side}"
        )
        raise InvalidArgument("x_t", f"(B, {in_channels}, T, H, W) with {what}", tuple(x.shape))
    return x.shape


def first_frame_channels(x: torch.Tensor, cond: dict | None) -> torch.Tensor:
    """(B, C + 1, T, H, W) for a clip x (B, C, T, H, W): cond["first_frame"] (B, C, H, W) repeated
    over time, then the "given" channel, cond["first_frame_given"] (B,) (default: all given);
    zeros without a first frame. What video denoisers with `frame_cond` concatenate to their input.
    """
    B, C, T, H, W = x.shape
    first = (cond or {}).get("first_frame")
    if first is None:
        return x.new_zeros(B, C + 1, T, H, W)
    if tuple(first.shape) != (B, C, H, W):
        raise InvalidArgument(
            "first_frame", f"a tensor of shape {(B, C, H, W)}", tuple(first.shape)
        )
    given = (cond or {}).get("first_frame_given")
    given = x.new_ones(B) if given is None else given.to(x.dtype)
    first = first.to(x.dtype) * given[:, None, None, None]
    flag = given[:, None, None, None, None].expand(B, 1, T, H, W)
    return torch.cat([first[:, :, None].expand(B, C, T, H, W), flag], dim=1)


class VideoDiTBlock(nn.Module):
    """adaLN-Zero block over tokens (B, T·N, D) of T frames with N patches each.

    factored: x + g₁·attn_space(mod LN x) + g₂·attn_time(mod LN x) [+ cross] + g₃·mlp(mod LN x)
    full:     x + g₁·attn_3d(mod LN x) [+ cross] + g₃·mlp(mod LN x)
    """

    def __init__(self, hidden_size, num_heads, mlp_ratio, context_dim, attention: str):
        super().__init__()
        self.factored = attention == "factored"
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        if self.factored:
            self.norm_t = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.attn_t = Attention(hidden_size, num_heads)
        self.norm_cross, self.cross = text_cross_attention(hidden_size, context_dim, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(hidden_size, mlp_ratio)
        self.adaLN_modulation = AdaLNModulation(hidden_size, 9 if self.factored else 6)

    def forward(self, x, c, frames: int, context=None, context_mask=None):
        # x (B, T*N, D); c (B, D); context (B, L, C); context_mask (B, L)
        B, TN, D = x.shape
        T, N = frames, TN // frames
        mods = self.adaLN_modulation(c)
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = mods[:6]
        h = modulate(self.norm1(x), shift_a, scale_a)
        if self.factored:
            h = h.reshape(B * T, N, D)  # (B, T*N, D) -> (B*T, N, D): attention within a frame
            x = x + gate_a.unsqueeze(1) * self.attn(h).reshape(B, TN, D)
            shift_t, scale_t, gate_t = mods[6:]
            h = modulate(self.norm_t(x), shift_t, scale_t)
            # (B, T*N, D) -> (B*N, T, D): each patch position attends across frames
            h = h.reshape(B, T, N, D).transpose(1, 2).reshape(B * N, T, D)
            h = self.attn_t(h).reshape(B, N, T, D).transpose(1, 2).reshape(B, TN, D)
            x = x + gate_t.unsqueeze(1) * h
        else:
            x = x + gate_a.unsqueeze(1) * self.attn(h)  # all T*N tokens attend to each other
        if self.cross is not None:
            x = x + self.cross(self.norm_cross(x), context, context_mask)
        x = x + gate_m.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_m, scale_m))
        return x


class VideoDiT(DiT):
    """`model(x_t, t, cond) -> prediction` with x_t (B, C, T, H, W); cond as for DiT. A single
    image is a one-frame clip (B, C, 1, H, W), which is how progressive training starts."""

    def __init__(self, config: VideoDiTConfig | None = None, **overrides):
        config = (config or VideoDiTConfig()).replace(**overrides)
        check_choice("attention", config.attention, ATTENTION_MODES)
        check_choice("time_embedding", config.time_embedding, TIME_EMBEDDINGS)
        if config.time_embedding == "separate" and config.hidden_size % 16:
            raise InvalidArgument(
                "hidden_size", "a multiple of 16 with time_embedding='separate'", config.hidden_size
            )
        super().__init__(config)  # embedders, conditioning and final layer are DiT's own
        # Replace the 2D parts: patch embedding, blocks and the final layer's patch size.
        D, p, pt = config.hidden_size, config.patch_size, config.patch_size_t
        # 3D patch embedding: a (pt, p, p) patch of C channels (+ C + 1 first-frame channels)
        # -> one D-vector.
        c_in = config.in_channels * (2 if config.frame_cond else 1) + int(config.frame_cond)
        self.x_embedder = nn.Conv3d(c_in, D, (pt, p, p), stride=(pt, p, p))
        self.blocks = nn.ModuleList(
            VideoDiTBlock(
                D, config.num_heads, config.mlp_ratio, config.context_dim, config.attention
            )
            for _ in range(config.depth)
        )
        self.final_layer = FinalLayer(D, p, self.out_channels * pt)
        self._init_weights()  # DiT's: Xavier linears, adaLN-Zero (every gate 0), zero final layer

    def positions_3d(self, t: int, h: int, w: int) -> torch.Tensor:
        """(1, t*h*w, D): fixed 2D sin-cos of the patch position and 1D sin-cos of the frame,
        summed in the same D dimensions ("sum") or side by side in 3D/4 and D/4 ("separate")."""
        D = self.config.hidden_size
        if self.config.time_embedding == "separate":
            space = sincos_2d(h, w, D - D // 4)[None].expand(t, h * w, D - D // 4)
            time = sincos_1d(torch.arange(t), D // 4).float()[:, None].expand(t, h * w, D // 4)
            pos = torch.cat([space, time], dim=-1)
        else:
            space = sincos_2d(h, w, D)  # (h*w, D)
            time = sincos_1d(torch.arange(t), D).float()  # (t, D)
            pos = time[:, None, :] + space[None]
        return pos.reshape(1, t * h * w, D).to(self.pos_embed.device)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None = None) -> torch.Tensor:
        cfg = self.config
        p, pt = cfg.patch_size, cfg.patch_size_t
        B, C, T, H, W = check_video_input(x, cfg.in_channels, side=p, frames=pt)
        tt, h, w = T // pt, H // p, W // p
        if cfg.frame_cond:
            x = torch.cat([x, first_frame_channels(x, cond)], dim=1)
        x = self.x_embedder(x).flatten(2).transpose(1, 2)  # (B, C, T, H, W) -> (B, tt*h*w, D)
        x = x + self.positions_3d(tt, h, w).to(x.dtype)
        c, context, mask = self.condition(t, cond)
        ckpt = cfg.gradient_checkpointing and self.training
        for block in self.blocks:
            x = maybe_checkpoint(block, x, c, tt, context, mask, enabled=ckpt)
        x = self.final_layer(x, c)  # (B, tt*h*w, pt*p*p*C_out)
        # (B, tt*h*w, pt*p*p*C) -> (B, C, T, H, W); the final layer's features are (pt, p, p, C)
        Co = self.out_channels
        x = x.reshape(B, tt, h, w, pt, p, p, Co)
        x = torch.einsum("bthwupqc->bctuhpwq", x)
        return x.reshape(B, Co, tt * pt, h * p, w * p)


# Named sizes: text-conditioned pixel models for the world's 32×32 clips.
_TEXT = dict(context_dim=256, pooled_dim=256)
# fmt: off
VIDEO_DIT_MODELS: dict[str, dict] = {
    "video-dit-tiny":    dict(depth=2, hidden_size=32, num_heads=2, patch_size=4, in_channels=3,
                              input_size=16, context_dim=32, pooled_dim=32),
    "video-dit-world-s": dict(depth=6, hidden_size=192, num_heads=4, patch_size=4, in_channels=3,
                              input_size=32, **_TEXT),
    "video-dit-latent-world-s": dict(depth=6, hidden_size=192, num_heads=4, patch_size=1,
                                     in_channels=4, input_size=8, **_TEXT),
}
# fmt: on

register_architecture(VideoDiTConfig, VideoDiT)
register_models(VideoDiTConfig.arch, VIDEO_DIT_MODELS)
