"""Noise schedules: one discrete `alphas_cumprod` over 1000 training steps (linear, cosine,
scaled-linear), viewed as sigmas and SNR, with forward noising and inference timestep spacings.

Symbols: ᾱ_t = alphas_cumprod[t]; x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε (Ho et al. 2020, eq. 4);
σ_t = sqrt((1 - ᾱ_t) / ᾱ_t) is the same noise level in the variance-exploding form
x̃ = x_t / sqrt(ᾱ_t) = x_0 + σ_t ε used by Euler / Heun / DPM-Solver++ (Karras et al. 2022);
SNR_t = ᾱ_t / (1 - ᾱ_t) = 1 / σ_t² (Kingma et al. 2021, eq. 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab.errors import InvalidArgument, check_choice

SCHEDULES: tuple[str, ...] = ("linear", "cosine", "scaled_linear")
SPACINGS: tuple[str, ...] = ("leading", "trailing", "linspace")


def _betas(name: str, num_train_timesteps: int) -> np.ndarray:
    """β_1..β_T in float64 for the named schedule."""
    T = num_train_timesteps
    if name == "linear":
        # Ho et al. 2020, section 4: β from 1e-4 to 0.02, scaled so that T ≠ 1000 keeps the shape.
        scale = 1000 / T
        return np.linspace(scale * 1e-4, scale * 0.02, T, dtype=np.float64)
    if name == "scaled_linear":
        # Rombach et al. 2022 (latent diffusion / Stable Diffusion): linear in sqrt(β).
        return np.linspace(0.00085**0.5, 0.012**0.5, T, dtype=np.float64) ** 2
    # cosine: ᾱ(t) = f(t) / f(0), f(t) = cos²(((t/T + s) / (1 + s)) · π/2), s = 0.008, and
    # β_t = 1 - ᾱ(t+1)/ᾱ(t) clipped to 0.999 (Nichol & Dhariwal 2021, eq. 17 and below).
    s = 0.008
    steps = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return np.minimum(1 - f[1:] / f[:-1], 0.999)


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """A discrete diffusion schedule; build one with `NoiseSchedule.create(name)`.

    `betas` and `alphas_cumprod` are float64 tensors of length `num_train_timesteps`; timestep t
    (0-based) has noise level ᾱ_t, increasing noise with t.
    """

    name: str
    num_train_timesteps: int
    betas: torch.Tensor  # (T,) float64

    def __post_init__(self):
        # Cached views used at every sampling step (the dataclass is frozen, hence __setattr__).
        alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        object.__setattr__(self, "_alphas_cumprod", alphas_cumprod)
        object.__setattr__(self, "_sqrt_alphas_cumprod", alphas_cumprod.sqrt())
        object.__setattr__(self, "_sqrt_one_minus_alphas_cumprod", (1 - alphas_cumprod).sqrt())

    @classmethod
    def create(cls, name: str = "linear", num_train_timesteps: int = 1000) -> NoiseSchedule:
        check_choice("schedule", name, SCHEDULES)
        if (
            isinstance(num_train_timesteps, bool)
            or not isinstance(num_train_timesteps, int)
            or num_train_timesteps < 2
        ):
            raise InvalidArgument("num_train_timesteps", "an integer ≥ 2", num_train_timesteps)
        betas = torch.from_numpy(_betas(name, num_train_timesteps))
        return cls(name=name, num_train_timesteps=num_train_timesteps, betas=betas)

    @classmethod
    def from_config(cls, config: dict) -> NoiseSchedule:
        """Inverse of `to_config` (checkpoints store the schedule this way)."""
        return cls.create(
            config.get("name", "linear"), int(config.get("num_train_timesteps", 1000))
        )

    def to_config(self) -> dict:
        return {"name": self.name, "num_train_timesteps": self.num_train_timesteps}

    # ------------------------------------------------------------------ views of one schedule

    @property
    def alphas(self) -> torch.Tensor:
        """α_t = 1 - β_t."""
        return 1.0 - self.betas

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """ᾱ_t = Π_{s≤t} α_s (float64): the signal fraction of x_t's variance."""
        return self._alphas_cumprod.clone()

    @property
    def sigmas(self) -> torch.Tensor:
        """σ_t = sqrt((1 - ᾱ_t) / ᾱ_t): the noise level of x̃ = x_0 + σ ε (Karras et al. 2022)."""
        a = self.alphas_cumprod
        return ((1 - a) / a).sqrt()

    @property
    def snr(self) -> torch.Tensor:
        """SNR_t = ᾱ_t / (1 - ᾱ_t) = 1 / σ_t²."""
        a = self.alphas_cumprod
        return a / (1 - a)

    def alpha_sigma(self, t, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sqrt(ᾱ_t), sqrt(1 - ᾱ_t)) at timesteps `t` (B,) or a scalar, shaped to broadcast
        against `like` (B, ...) and cast to its dtype and device."""
        idx = self._index(t)
        shape = (-1,) + (1,) * (like.ndim - 1) if idx.ndim else ()
        alpha = self._sqrt_alphas_cumprod[idx].reshape(shape).to(like.device, like.dtype)
        sigma = self._sqrt_one_minus_alphas_cumprod[idx].reshape(shape).to(like.device, like.dtype)
        return alpha, sigma

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
        """Forward process x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε (Ho et al. 2020, eq. 4)."""
        alpha, sigma = self.alpha_sigma(t, x0)
        return alpha * x0 + sigma * noise

    def _index(self, t) -> torch.Tensor:
        """Discrete timesteps (int, float or tensor of whole numbers) as a CPU long tensor."""
        idx = torch.as_tensor(t).detach().to("cpu")
        idx = idx.round().long() if idx.is_floating_point() else idx.long()
        if idx.numel() and not bool(((idx >= 0) & (idx < self.num_train_timesteps)).all()):
            raise InvalidArgument(
                "t", f"timesteps in [0, {self.num_train_timesteps})", idx.tolist()
            )
        return idx

    # ------------------------------------------------------------------ inference timesteps

    def timesteps(self, num_inference_steps: int, spacing: str = "trailing") -> torch.Tensor:
        """`num_inference_steps` distinct discrete timesteps, most noisy first (long tensor).

        Spacings (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are
        Flawed", table 2): "leading" = 0, k, 2k, ... (k = T // n), "trailing" = T-1, T-1-T/n, ...
        (always starts at the noisiest step), "linspace" = evenly from T-1 down to 0.
        """
        T = self.num_train_timesteps
        if (
            isinstance(num_inference_steps, bool)
            or not isinstance(num_inference_steps, int)
            or not 1 <= num_inference_steps <= T
        ):
            raise InvalidArgument(
                "num_inference_steps", f"an integer in [1, {T}]", num_inference_steps
            )
        check_choice("spacing", spacing, SPACINGS)
        n = num_inference_steps
        if spacing == "leading":
            ts = np.arange(n)[::-1] * (T // n)
        elif spacing == "trailing":
            ts = np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1
        else:
            ts = np.round(np.linspace(T - 1, 0, n)).astype(np.int64)
        return torch.from_numpy(np.ascontiguousarray(ts[:n], dtype=np.int64))
