"""What a denoiser predicts (ε, x_0 or v), the exact conversions between them, min-SNR loss
weighting, and `diffusion_loss`, the one training loss every diffusion model in genlab uses.

With a_t = sqrt(ᾱ_t), b_t = sqrt(1 - ᾱ_t) and x_t = a_t x_0 + b_t ε:
  "epsilon"       predicts ε                   (Ho et al. 2020)
  "sample"        predicts x_0
  "v_prediction"  predicts v = a_t ε - b_t x_0 (Salimans & Ho 2022, "Progressive Distillation", §4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from genlab.diffusion.schedules import NoiseSchedule
from genlab.errors import InvalidArgument, check_choice

PREDICTION_TYPES: tuple[str, ...] = ("epsilon", "sample", "v_prediction")


def check_min_snr_gamma(min_snr_gamma) -> None:
    if min_snr_gamma is None:
        return
    if (
        isinstance(min_snr_gamma, bool)
        or not isinstance(min_snr_gamma, int | float)
        or not min_snr_gamma > 0  # also rejects NaN
    ):
        raise InvalidArgument("min_snr_gamma", "None or a number > 0", min_snr_gamma)


@dataclass(frozen=True)
class Objective:
    """A prediction type over a schedule: training targets, and predictions back to (x_0, ε)."""

    schedule: NoiseSchedule
    prediction_type: str = "epsilon"

    def __post_init__(self):
        check_choice("prediction_type", self.prediction_type, PREDICTION_TYPES)

    def training_target(self, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
        """What the model should output for x_t = a_t x0 + b_t noise (the exact prediction)."""
        if self.prediction_type == "epsilon":
            return noise
        if self.prediction_type == "sample":
            return x0
        a, b = self.schedule.alpha_sigma(t, x0)
        return a * noise - b * x0  # v = a_t ε - b_t x_0 (Salimans & Ho 2022, eq. in §4)

    def to_x0_and_eps(
        self, pred: torch.Tensor, x_t: torch.Tensor, t
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Invert a prediction at x_t into (x̂_0, ε̂), exactly: x_t = a_t x̂_0 + b_t ε̂ holds."""
        a, b = self.schedule.alpha_sigma(t, x_t)
        if self.prediction_type == "epsilon":
            eps = pred
            x0 = (x_t - b * eps) / a
        elif self.prediction_type == "sample":
            x0 = pred
            eps = (x_t - a * x0) / b
        else:
            # From v = a ε - b x_0 and x_t = a x_0 + b ε with a² + b² = 1:
            x0 = a * x_t - b * pred
            eps = b * x_t + a * pred
        return x0, eps

    def loss_weights(self, t, min_snr_gamma: float | None = None) -> torch.Tensor:
        """Per-sample weights (B,) float32 for the MSE in this objective's own space.

        Min-SNR-γ (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting
        Strategy", §3.4): every objective gets the x_0-space weight min(SNR_t, γ). An ε-loss
        equals the x_0-loss times SNR_t, a v-loss equals it times (SNR_t + 1), so the weights
        are min(SNR, γ)/SNR, min(SNR, γ) and min(SNR, γ)/(SNR + 1). None means all ones.
        """
        check_min_snr_gamma(min_snr_gamma)
        idx = self.schedule._index(t).reshape(-1)
        if min_snr_gamma is None:
            return torch.ones(idx.shape, dtype=torch.float32)
        snr = self.schedule.snr[idx]
        clipped = snr.clamp(max=float(min_snr_gamma))
        if self.prediction_type == "epsilon":
            w = clipped / snr
        elif self.prediction_type == "sample":
            w = clipped
        else:
            w = clipped / (snr + 1)
        return w.float()


def diffusion_loss(
    model: Callable[..., torch.Tensor],
    x0: torch.Tensor,
    cond: Mapping[str, torch.Tensor] | None,
    schedule: NoiseSchedule,
    prediction_type: str = "epsilon",
    *,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    min_snr_gamma: float | None = None,
) -> torch.Tensor:
    """Scalar training loss: noise x0 at uniform random t, ask `model(x_t, t, cond)`, weighted MSE.

    L = E_{t, ε} [ w_t ‖model(x_t, t) - target‖² ] (Ho et al. 2020, eq. 14, "L_simple", with the
    target and w_t of the chosen objective). `noise` and `t` (long, (B,)) may be given for
    reproducibility; otherwise they are drawn from `generator` on the CPU and moved to x0's
    device, so CPU and GPU runs see the same noise.
    """
    objective = Objective(schedule, prediction_type)
    B = x0.shape[0]
    if t is None:
        t = torch.randint(0, schedule.num_train_timesteps, (B,), generator=generator)
    t = t.to(x0.device)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, dtype=torch.float32)
    noise = noise.to(x0.device, x0.dtype)
    if noise.shape != x0.shape:
        raise InvalidArgument("noise", f"a tensor of shape {tuple(x0.shape)}", tuple(noise.shape))
    x_t = schedule.add_noise(x0, noise, t)
    pred = model(x_t, t.float(), cond)
    target = objective.training_target(x0, noise, t)
    per_sample = (pred.float() - target.float()).pow(2).reshape(B, -1).mean(dim=1)  # (B,)
    weights = objective.loss_weights(t, min_snr_gamma).to(per_sample.device)
    return (weights * per_sample).mean()
