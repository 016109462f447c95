"""Samplers that turn noise into data with any denoiser and any objective: DDPM, DDIM, Euler,
Euler ancestral, Heun, DPM-Solver++(2M) and LCM (few-step consistency sampling), plus `sample`, the loop with img2img and inpainting.

Every sampler sees the model only through `predict(x_t, i) -> (x̂_0, ε̂)` at the i-th inference
timestep, so none of them knows about text, architectures or prediction types. The state
between steps is always the variance-preserving x_t = a_t x_0 + b_t ε (a_t = sqrt(ᾱ_t),
b_t = sqrt(1 - ᾱ_t)); the σ-samplers (Euler, Heun, DPM-Solver++) step in the equivalent
variance-exploding x̃ = x_t / a_t = x_0 + σ_t ε (Karras et al. 2022, "EDM", eq. 1 and §2) and
convert back. The last step always lands on clean data: ᾱ = 1, σ = 0.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import ClassVar

import torch
from tqdm.auto import tqdm

from genlab.diffusion.editing import check_edit_args, img2img_timesteps, impose_known
from genlab.diffusion.objectives import Objective
from genlab.diffusion.schedules import NoiseSchedule
from genlab.errors import InvalidArgument, check_choice, check_range

Predict = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def randn(shape, generator, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise drawn on the generator's device (CPU by default), then moved to
    `like`'s device and dtype: the same seed gives the same noise on CPU and GPU. `generator`
    may be a list with one generator per batch item (as diffusers takes it): item k's noise is
    drawn from generator k alone, so it does not depend on the other items of the batch."""
    if isinstance(generator, list | tuple):
        if len(generator) != shape[0]:
            raise InvalidArgument(
                "generator", f"a list of {shape[0]} generators (one per batch item)", len(generator)
            )
        return torch.stack([randn(tuple(shape[1:]), g, like) for g in generator])
    device = generator.device if generator is not None else "cpu"
    z = torch.randn(tuple(shape), generator=generator, device=device, dtype=torch.float32)
    return z.to(like.device, like.dtype)


class Sampler:
    """Base class: holds the inference timesteps and their ᾱ, with ᾱ = 1 appended for the end.

    Subclasses implement `step(x, i, predict, generator) -> x` from timestep index i to i + 1.
    """

    name: ClassVar[str]
    default_eta: ClassVar[float | None] = None  # None: this sampler takes no eta

    def __init__(self, schedule: NoiseSchedule, timesteps: torch.Tensor, eta: float | None = None):
        self.schedule = schedule
        self.timesteps = timesteps
        ac = schedule.alphas_cumprod[timesteps].tolist()
        self.alphas_cumprod = ac + [1.0]  # ᾱ at t_0 > t_1 > ... > t_{n-1}, then clean data
        self.sigmas = [math.sqrt((1 - a) / a) for a in self.alphas_cumprod]  # σ_n = 0
        self.eta = self.default_eta if eta is None else eta
        self.num_model_evals = 0

    def __len__(self) -> int:
        return len(self.timesteps)

    def step(self, x: torch.Tensor, i: int, predict: Predict, generator) -> torch.Tensor:
        raise NotImplementedError

    def _predict(self, predict: Predict, x: torch.Tensor, i: int):
        self.num_model_evals += 1
        return predict(x, i)


class DDPM(Sampler):
    """Ancestral sampling from the posterior q(x_{t-1} | x_t, x_0) (Ho et al. 2020, "DDPM").

    With skipped timesteps, t-1 means the next inference timestep s and α_t := ᾱ_t / ᾱ_s.
    """

    name = "ddpm"

    def step(self, x, i, predict, generator):
        a_t, a_s = self.alphas_cumprod[i], self.alphas_cumprod[i + 1]
        alpha_t = a_t / a_s
        beta_t = 1 - alpha_t
        # 1. predict x̂_0 from x_t
        x0, _ = self._predict(predict, x, i)
        # 2. posterior mean μ̃_t(x_t, x̂_0), formula (7) of DDPM
        coef_x0 = math.sqrt(a_s) * beta_t / (1 - a_t)
        coef_xt = math.sqrt(alpha_t) * (1 - a_s) / (1 - a_t)
        mean = coef_x0 * x0 + coef_xt * x
        # 3. posterior variance β̃_t = (1 - ᾱ_s) / (1 - ᾱ_t) · β_t, formula (7); zero at the end
        variance = (1 - a_s) / (1 - a_t) * beta_t
        if variance <= 0:
            return mean
        # 4. x_s = μ̃ + sqrt(β̃) z, z ~ N(0, I) (Algorithm 2, line 4)
        return mean + math.sqrt(variance) * randn(x.shape, generator, x)


class DDIM(Sampler):
    """Denoising diffusion implicit models (Song, Meng & Ermon 2021, "DDIM").

    η = 0 is the deterministic DDIM; η = 1 has DDPM's posterior variance.
    """

    name = "ddim"
    default_eta = 0.0

    def step(self, x, i, predict, generator):
        a_t, a_s = self.alphas_cumprod[i], self.alphas_cumprod[i + 1]
        # 1. predict x̂_0 and ε̂ ("predicted x_0" and ε_θ in formula (12) of DDIM)
        x0, eps = self._predict(predict, x, i)
        # 2. σ_t(η) = η sqrt((1 - ᾱ_s) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_s), formula (16) of DDIM
        sigma = self.eta * math.sqrt((1 - a_s) / (1 - a_t) * (1 - a_t / a_s))
        # 3. "direction pointing to x_t": sqrt(1 - ᾱ_s - σ_t²) ε̂, formula (12)
        direction = math.sqrt(max(1 - a_s - sigma**2, 0.0)) * eps
        # 4. x_s = sqrt(ᾱ_s) x̂_0 + direction + σ_t z, formula (12)
        x_prev = math.sqrt(a_s) * x0 + direction
        if sigma > 0:
            x_prev = x_prev + sigma * randn(x.shape, generator, x)
        return x_prev


class SigmaSampler(Sampler):
    """Samplers of the probability-flow ODE dx̃/dσ = (x̃ - D(x̃; σ)) / σ (EDM, eq. 4 with
    σ(t) = t), where D is the x̂_0 prediction. They step x̃ from σ_i to σ_{i+1} in `step_ve`."""

    def step(self, x, i, predict, generator):
        sigma, sigma_next = self.sigmas[i], self.sigmas[i + 1]
        x_ve = x * math.sqrt(1 + sigma**2)  # x̃ = x_t / a_t, since a_t = 1 / sqrt(1 + σ²)

        def denoised(x_ve_at, j):  # D(x̃; σ_j), evaluated by the model on x_t = a_j x̃
            x0, _ = self._predict(predict, x_ve_at / math.sqrt(1 + self.sigmas[j] ** 2), j)
            return x0

        x_ve_next = self.step_ve(x_ve, i, sigma, sigma_next, denoised, generator)
        return x_ve_next / math.sqrt(1 + sigma_next**2)

    def step_ve(self, x, i, sigma, sigma_next, denoised, generator) -> torch.Tensor:
        raise NotImplementedError


class Euler(SigmaSampler):
    """Euler's method on the probability-flow ODE (EDM, Algorithm 2 with S_churn = 0)."""

    name = "euler"

    def step_ve(self, x, i, sigma, sigma_next, denoised, generator):
        # 1. d = (x̃ - D(x̃; σ)) / σ, the ODE's slope, formula (4) of EDM / Algorithm 2 line 7
        d = (x - denoised(x, i)) / sigma
        # 2. x̃_{i+1} = x̃_i + (σ_{i+1} - σ_i) d, Algorithm 2 line 8
        return x + (sigma_next - sigma) * d


class EulerAncestral(SigmaSampler):
    """Euler ancestral: an Euler step down to σ_down, then fresh noise back up to σ_{i+1}.

    The split σ_{i+1}² = σ_down² + σ_up² with σ_up = η sqrt(σ_{i+1}² (σ_i² - σ_{i+1}²) / σ_i²)
    matches the variance of DDPM's ancestral step (Ho et al. 2020, eq. 7) in σ-form, as in
    Crowson's k-diffusion; η = 1 by default, η = 0 is plain Euler.
    """

    name = "euler_a"
    default_eta = 1.0

    def step_ve(self, x, i, sigma, sigma_next, denoised, generator):
        # 1. split the next noise level into a deterministic part and fresh noise
        sigma_up = min(
            sigma_next,
            self.eta * math.sqrt(sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2),
        )
        sigma_down = math.sqrt(sigma_next**2 - sigma_up**2)
        # 2. Euler step to σ_down, EDM formula (4)
        d = (x - denoised(x, i)) / sigma
        x = x + (sigma_down - sigma) * d
        # 3. add noise of standard deviation σ_up
        if sigma_up > 0:
            x = x + sigma_up * randn(x.shape, generator, x)
        return x


class Heun(SigmaSampler):
    """Heun's second-order method (EDM, Algorithm 1): an Euler step, then the trapezoidal
    correction with the slope at its end; two model evaluations per step, one on the last.

    Beware huge first jumps: the cosine schedule's σ at t = 999 is ≈ 2·10⁴ (its last β is
    clipped to 0.999), and a trapezoid from there to σ ≈ 6 is far off. With "trailing" spacing
    on cosine, Heun needs ~200 steps; "leading" spacing (starts at σ ≈ 6) or DPM-Solver++(2M) do not.
    """

    name = "heun"

    def step_ve(self, x, i, sigma, sigma_next, denoised, generator):
        # 1. Euler step: d_i = (x̃_i - D(x̃_i; σ_i)) / σ_i, Algorithm 1 lines 4-5
        d = (x - denoised(x, i)) / sigma
        x_euler = x + (sigma_next - sigma) * d
        if sigma_next == 0:  # Algorithm 1 line 6: no correction when stepping to σ = 0
            return x_euler
        # 2. slope at the end, d'_i = (x̃_{i+1} - D(x̃_{i+1}; σ_{i+1})) / σ_{i+1}, line 7
        d_next = (x_euler - denoised(x_euler, i + 1)) / sigma_next
        # 3. trapezoidal rule x̃_{i+1} = x̃_i + (σ_{i+1} - σ_i)(d_i / 2 + d'_i / 2), line 8
        return x + (sigma_next - sigma) * 0.5 * (d + d_next)


class DPMSolverPP2M(SigmaSampler):
    """DPM-Solver++(2M), the second-order multistep data-prediction solver (Lu et al. 2022,
    "DPM-Solver++", Algorithm 2), in x̃ form with λ = -log σ = log(a_t / b_t).

    First order on the first step and on the final step to σ = 0 ("lower order final").
    """

    name = "dpmpp_2m"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prev_x0: torch.Tensor | None = None
        self._prev_h: float | None = None

    def step_ve(self, x, i, sigma, sigma_next, denoised, generator):
        x0 = denoised(x, i)
        if sigma_next == 0:  # λ = ∞: the exact solution of the linear part is x̂_0 itself
            return x0
        # 1. h_i = λ_{t_i} - λ_{t_{i-1}}, Algorithm 2 line 3
        h = math.log(sigma) - math.log(sigma_next)
        if self._prev_x0 is None:
            # 2a. first step: x̃ = (σ_{i+1}/σ_i) x̃ - (e^{-h} - 1) D_i  (Algorithm 2 line 2, DPM-Solver++(1))
            d = x0
        else:
            # 2b. r_i = h_{i-1} / h_i; D_i = (1 + 1/(2 r_i)) x̂_0,i - 1/(2 r_i) x̂_0,i-1, line 5
            r = self._prev_h / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self._prev_x0
        self._prev_x0, self._prev_h = x0, h
        # 3. x̃_{i+1} = (σ_{i+1}/σ_i) x̃_i - (e^{-h_i} - 1) D_i, Algorithm 2 line 6 (α-scaling is 1 in x̃)
        return (sigma_next / sigma) * x - math.expm1(-h) * d


class LCM(Sampler):
    """Multistep consistency sampling (Song et al. 2023, "Consistency Models", Algorithm 1; Luo
    et al. 2023, "Latent Consistency Models", Algorithm 3) for a model distilled to map any x_t
    of an ODE trajectory to its end (genlab.train.distill): predict x̂_0, then noise it afresh to
    the next timestep; the last step returns x̂_0. Only for such a model: a plain denoiser's x̂_0
    is a posterior mean, and noising it afresh loses the data's variance.

    Stochastic by nature (fresh noise at every step but the last), so it takes no eta: reusing
    the model's ε̂ as DDIM does is not a point of the same trajectory for a consistency model.
    """

    name = "lcm"

    def step(self, x, i, predict, generator):
        a_s = self.alphas_cumprod[i + 1]
        # 1. x̂_0 = f_θ(x_{τ_i}, τ_i), Algorithm 1 line 5 of Consistency Models
        x0, _ = self._predict(predict, x, i)
        if a_s >= 1.0:  # the last step lands on x̂_0 itself
            return x0
        # 2. x_{τ_{i+1}} = sqrt(ᾱ) x̂_0 + sqrt(1 - ᾱ) z, z ~ N(0, I): Algorithm 1 line 4 (in VP form)
        z = randn(x.shape, generator, x)
        return math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * z


SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (DDPM, DDIM, Euler, EulerAncestral, Heun, DPMSolverPP2M, LCM)
}


def make_sampler(
    sampler: str, schedule: NoiseSchedule, timesteps: torch.Tensor, eta: float | None = None
) -> Sampler:
    """The named sampler over `timesteps`, with eta checked (only ddim and euler_a take one;
    the others ignore it, as diffusers' pipelines pass eta only to schedulers that take it)."""
    cls = SAMPLERS[check_choice("sampler", sampler, SAMPLERS)]
    if eta is not None:
        check_range("eta", eta, 0)
        if not takes_eta(sampler):
            eta = None
    return cls(schedule, timesteps, eta)


def takes_eta(sampler: str) -> bool:
    """Whether the named sampler uses eta (its stochasticity)."""
    return SAMPLERS[sampler].default_eta is not None


def _generator(generator):
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, list | tuple) and all(
        isinstance(g, torch.Generator) for g in generator
    ):
        return list(generator)
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise InvalidArgument(
        "generator", "a torch.Generator, a list of them (one per image), an integer seed or None",
        generator,
    )  # fmt: skip


@torch.no_grad()
def sample(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    shape,
    *,
    schedule: NoiseSchedule,
    prediction_type: str = "epsilon",
    sampler: str = "dpmpp_2m",
    num_inference_steps: int = 20,
    generator: torch.Generator | list[torch.Generator] | int | None = None,
    eta: float | None = None,
    spacing: str = "trailing",
    x_T: torch.Tensor | None = None,
    strength: float | None = None,
    init: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
    clip_sample: float | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    callback: Callable[[int, int, torch.Tensor], None] | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Generate a batch of `shape` (B, ...) by running `sampler` on `denoise(x_t, t)`.

    denoise: returns the model's prediction (of kind `prediction_type`) for x_t at float
        timesteps t (B,); wrap a conditional model with `classifier_free_guidance`.
    generator: where the starting noise (when no x_T) and the noise of stochastic samplers
        (ddpm, euler_a, ddim with eta > 0, lcm) come from; a list of B generators draws item k's
        noise from generator k only, so item k is the same whatever else is in the batch.
    eta: stochasticity of "ddim" (default 0, deterministic) and "euler_a" (default 1); other
        samplers take none.
    x_T: the starting noise (else drawn from `generator`, on the CPU, then moved to `device`).
        Starting from N(0, I) drops the sqrt(ᾱ_T) x_0 part of x_T (0.006 for linear, 0.07 for
        scaled_linear): ODE samplers keep that offset in the output mean (Lin et al. 2024).
    strength, init: img2img (SDEdit) — noise `init` to the first of the last round(strength · n)
        timesteps and run only those (strength 1 runs all n, from the noisiest step).
    mask, known: inpainting — where mask is 1 the sampler generates, where 0 it keeps `known`,
        re-imposed after every step noised to the current level.
    clip_sample: clamp x̂_0 to [-c, c] at every step (ε̂ is recomputed to match).
    callback: called as callback(step, total, x) after each step, or as callback(step, total,
        x, t) (t: that step's timestep) if it takes four arguments; a tensor it returns replaces x.
    """
    objective = Objective(schedule, prediction_type)
    generator = _generator(generator)
    timesteps = schedule.timesteps(num_inference_steps, spacing)
    check_choice("sampler", sampler, SAMPLERS)
    if clip_sample is not None:
        check_range("clip_sample", clip_sample, 0, low_open=True)
    shape = tuple(int(s) for s in shape)
    device = torch.device(device) if device is not None else _infer_device(x_T, init, known)
    like = torch.empty(0, device=device, dtype=dtype)
    init, mask, known = check_edit_args(shape, strength, init, mask, known, like)
    if strength is not None:
        timesteps = img2img_timesteps(timesteps, strength)
    stepper = make_sampler(sampler, schedule, timesteps, eta)

    if x_T is not None:
        if tuple(x_T.shape) != shape:
            raise InvalidArgument("x_T", f"a tensor of shape {shape}", tuple(x_T.shape))
        noise = x_T.to(device, dtype)
    else:
        noise = randn(shape, generator, like)
    t0 = int(timesteps[0])
    # Start: pure noise (a_T ≈ 0), or the init image noised to the first timestep (img2img).
    x = schedule.add_noise(init, noise, t0) if init is not None else noise
    if mask is not None:
        x = impose_known(x, known, mask, noise, schedule, t0)

    def predict(x_t: torch.Tensor, i: int):
        t = torch.full((x_t.shape[0],), float(timesteps[i]), device=x_t.device)
        pred = denoise(x_t, t)
        if tuple(pred.shape) != tuple(x_t.shape):
            raise InvalidArgument(
                "denoise", f"a prediction of shape {tuple(x_t.shape)}", tuple(pred.shape)
            )
        x0, eps = objective.to_x0_and_eps(pred.to(x_t.dtype), x_t, t)
        if clip_sample is not None:
            x0 = x0.clamp(-clip_sample, clip_sample)
            a, b = schedule.alpha_sigma(t, x_t)
            eps = (x_t - a * x0) / b
        return x0, eps

    n = len(stepper)
    wants_timestep = callback is not None and _takes_four_args(callback)
    steps = range(n)
    if progress:
        steps = tqdm(steps, desc=f"sampling ({sampler})", leave=False)
    for i in steps:
        x = stepper.step(x, i, predict, generator)
        if mask is not None:
            t_next = int(timesteps[i + 1]) if i + 1 < n else None
            x = impose_known(x, known, mask, noise, schedule, t_next)
        if callback is not None:
            args = (i + 1, n, x, timesteps[i]) if wants_timestep else (i + 1, n, x)
            replaced = callback(*args)
            if isinstance(replaced, torch.Tensor):
                x = replaced
    return x


def _takes_four_args(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 4 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _infer_device(*tensors) -> torch.device:
    for t in tensors:
        if t is not None:
            return t.device
    return torch.device("cpu")
