"""Causal 3D VAE for video: causal 3D convolutions compress space 4× and time 4× with the first frame
kept on its own, so T = 1 + 4k frames give 1 + k latent frames and an image is a one-frame video.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.nn import ModelConfig, group_norm


@dataclass
class VAE3DConfig(ModelConfig):
    """Channels per level; `spatial_down` and `temporal_down` levels halve H, W and T (causally)."""

    arch = "vae3d"
    in_channels: int = 3
    latent_channels: int = 4
    channels: tuple[int, ...] = (32, 64, 64)
    spatial_down: int = 2  # 2 levels: 4× in height and width
    temporal_down: int = 2  # 2 levels: 4× in time (first frame kept)

    @property
    def temporal_factor(self) -> int:
        return 2**self.temporal_down

    @property
    def spatial_factor(self) -> int:
        return 2**self.spatial_down


class CausalConv3d(nn.Module):
    """Conv3d whose output frame t sees input frames ≤ t: the time axis is padded on the left only
    (by repeating the first frame), space symmetrically. With time stride 2, T = 1 + 2m frames
    give 1 + m, and frame 0 alone makes output 0."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride=(1, 1, 1)):
        super().__init__()
        self.time_pad, self.space_pad = kernel - 1, kernel // 2
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C, T, H, W); pad W and H by space_pad on both sides, T by time_pad in front
        p = self.space_pad
        x = nn.functional.pad(x, (p, p, p, p, 0, 0))
        first = x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
        return self.conv(torch.cat([first, x], dim=2))


class FrameNorm(nn.Module):
    """GroupNorm of each frame on its own: statistics over (C/G, H, W), never across time, which
    would let later frames change earlier ones and break causality."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)

    def forward(self, x):
        B, C, T, H, W = x.shape
        y = self.norm(
            x.transpose(1, 2).reshape(B * T, C, H, W)
        )  # (B, C, T, H, W) -> (B*T, C, H, W)
        return y.reshape(B, T, C, H, W).transpose(1, 2)


class ResBlock3d(nn.Module):
    """x + conv(SiLU(GN(conv(SiLU(GN x))))) with causal 3×3×3 convolutions."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm1, self.conv1 = FrameNorm(c_in), CausalConv3d(c_in, c_out)
        self.norm2, self.conv2 = FrameNorm(c_out), CausalConv3d(c_out, c_out)
        self.skip = nn.Conv3d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return self.skip(x) + h


class TemporalUpsample(nn.Module):
    """1 + m frames -> 1 + 2m: every frame repeated twice, then the first copy of frame 0 dropped
    (the inverse of the causal stride-2 downsampling), followed by a causal conv."""

    def __init__(self, c: int, spatial: bool):
        super().__init__()
        self.spatial = spatial
        self.conv = CausalConv3d(c, c)

    def forward(self, x):
        x = x.repeat_interleave(2, dim=2)[:, :, 1:]
        if self.spatial:
            x = x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
        return self.conv(x)


class SpatialUpsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = CausalConv3d(c, c)

    def forward(self, x):
        return self.conv(x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4))


class VAE3D(nn.Module):
    """`encode(x) -> (mean, logvar)`, `decode(z) -> x`, `forward(x) -> (recon, mean, logvar)` on
    clips (B, C, T, H, W) in [-1, 1] with T = 1 + 4k (for the default 4× time compression)."""

    def __init__(self, config: VAE3DConfig | None = None, **overrides):
        super().__init__()
        self.config = config = (config or VAE3DConfig()).replace(**overrides)
        levels = len(config.channels)
        if max(config.spatial_down, config.temporal_down) > levels - 1:
            raise InvalidArgument(
                "channels",
                f"at least {max(config.spatial_down, config.temporal_down) + 1} levels",
                config.channels,
            )
        ch = config.channels
        enc: list[nn.Module] = [CausalConv3d(config.in_channels, ch[0])]
        for i in range(levels):
            enc.append(ResBlock3d(ch[i - 1] if i else ch[0], ch[i]))
            if i < levels - 1:
                s = 2 if i < config.spatial_down else 1
                t = 2 if i < config.temporal_down else 1
                enc.append(CausalConv3d(ch[i], ch[i], stride=(t, s, s)))
        enc += [FrameNorm(ch[-1]), nn.SiLU(), CausalConv3d(ch[-1], 2 * config.latent_channels)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [CausalConv3d(config.latent_channels, ch[-1])]
        for i in reversed(range(levels)):
            dec.append(ResBlock3d(ch[min(i + 1, levels - 1)], ch[i]))
            if i > 0:
                j = i - 1  # undo encoder level j
                if j < config.temporal_down:
                    dec.append(TemporalUpsample(ch[i], spatial=j < config.spatial_down))
                elif j < config.spatial_down:
                    dec.append(SpatialUpsample(ch[i]))
        dec += [FrameNorm(ch[0]), nn.SiLU(), CausalConv3d(ch[0], config.in_channels)]
        self.decoder = nn.Sequential(*dec)

    @property
    def valid_frames(self) -> str:
        f = self.config.temporal_factor
        return f"1 + {f}·k frames (1, {1 + f}, {1 + 2 * f}, {1 + 3 * f}, ...)"

    def check_frames(self, T: int) -> None:
        if (T - 1) % self.config.temporal_factor:
            raise InvalidArgument("num_frames", self.valid_frames, T)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, 1+4k, H, W) -> mean, logvar (B, latent, 1+k, H/4, W/4)."""
        if x.ndim != 5:
            raise InvalidArgument("x", "a (B, C, T, H, W) clip", tuple(x.shape))
        self.check_frames(x.shape[2])
        f = self.config.spatial_factor
        if x.shape[3] % f or x.shape[4] % f:
            raise InvalidArgument("x", f"height and width divisible by {f}", tuple(x.shape[3:]))
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor):
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()  # reparameterisation trick
        return self.decode(z), mean, logvar


def vae3d_loss(
    model: VAE3D, x: torch.Tensor, kl_weight: float = 1e-4, temporal_weight: float = 1.0
):
    """(loss, logs): MSE reconstruction + β·KL(q(z|x) ‖ N(0, I)) (Kingma & Welling 2014, eq. 10)
    + λ·MSE of the frame-to-frame differences, which penalises flicker the per-frame loss misses."""
    recon, mean, logvar = model(x)
    mse = nn.functional.mse_loss(recon, x)
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3, 4)).mean() / x[0].numel()
    temporal = torch.zeros((), device=x.device)
    if x.shape[2] > 1:
        temporal = nn.functional.mse_loss(recon.diff(dim=2), x.diff(dim=2))
    loss = mse + kl_weight * kl + temporal_weight * temporal
    return loss, {"mse": mse.detach(), "kl": kl.detach(), "temporal": temporal.detach()}


def psnr_per_frame(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each frame (T,) averaged over the batch, for clips in [-1, 1] (peak-to-peak 2)."""
    mse = (recon.clamp(-1, 1) - x).pow(2).mean(dim=(1, 3, 4))  # (B, T)
    return (10 * torch.log10(4.0 / mse.clamp(min=1e-10))).mean(0)


VAE3D_MODELS = {
    "vae3d-tiny": dict(channels=(8, 16, 16)),
    "vae3d-world-s": dict(channels=(32, 64, 64)),
}

register_architecture(VAE3DConfig, VAE3D)
register_models(VAE3DConfig.arch, VAE3D_MODELS)
