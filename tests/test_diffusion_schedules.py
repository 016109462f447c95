"""Noise schedules, objectives and the training loss: views, conversions and weights are exact."""

import math

import pytest
import torch

from genlab.diffusion import (
    PREDICTION_TYPES,
    SCHEDULES,
    NoiseSchedule,
    Objective,
    diffusion_loss,
)
from genlab.errors import InvalidArgument

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_has_1000_steps_of_decreasing_signal(name):
    s = NoiseSchedule.create(name)
    ac = s.alphas_cumprod
    assert ac.dtype == torch.float64 and ac.shape == (1000,)
    assert bool((ac[1:] < ac[:-1]).all()), "ᾱ_t strictly decreases with t"
    assert 0.99 < ac[0] < 1 and 0 < ac[-1] < 0.01


@pytest.mark.parametrize("name", SCHEDULES)
def test_sigmas_and_snr_are_views_of_the_same_alphas_cumprod(name):
    s = NoiseSchedule.create(name)
    ac = s.alphas_cumprod
    torch.testing.assert_close(s.snr, 1 / s.sigmas**2)
    torch.testing.assert_close(1 / (1 + s.sigmas**2), ac)
    torch.testing.assert_close(s.snr / (1 + s.snr), ac)


def test_known_endpoints_of_each_schedule():
    linear = NoiseSchedule.create("linear")
    assert linear.betas[0].item() == pytest.approx(1e-4) and linear.betas[
        -1
    ].item() == pytest.approx(0.02)
    scaled = NoiseSchedule.create("scaled_linear")
    assert scaled.betas[0].item() == pytest.approx(0.00085) and scaled.betas[
        -1
    ].item() == pytest.approx(0.012)
    cosine = NoiseSchedule.create("cosine")
    # Nichol & Dhariwal eq. 17: ᾱ_t = f(t)/f(0) with f(t) = cos²((t/T + s)/(1 + s) · π/2)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
    assert cosine.alphas_cumprod[499].item() == pytest.approx(f(500) / f(0), rel=1e-9)
    assert cosine.betas.max().item() == pytest.approx(0.999)


def test_add_noise_matches_the_forward_process_per_sample():
    s = NoiseSchedule.create("cosine")
    x0, noise = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    t = torch.tensor([0.0, 500.0, 999.0])
    x_t = s.add_noise(x0, noise, t)
    for i, ti in enumerate((0, 500, 999)):
        a = s.alphas_cumprod[ti].item()
        torch.testing.assert_close(x_t[i], math.sqrt(a) * x0[i] + math.sqrt(1 - a) * noise[i])


@pytest.mark.parametrize(
    ("spacing", "expected"),
    [
        ("leading", [750, 500, 250, 0]),
        ("trailing", [999, 749, 499, 249]),
        ("linspace", [999, 666, 333, 0]),
    ],
)
def test_timestep_spacings(spacing, expected):
    s = NoiseSchedule.create("linear")
    assert s.timesteps(4, spacing).tolist() == expected


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("n", [1, 7, 50, 1000])
def test_timesteps_are_distinct_descending_and_in_range(spacing, n):
    ts = NoiseSchedule.create("linear").timesteps(n, spacing)
    assert len(ts) == n and ts.dtype == torch.int64
    assert bool((ts[1:] < ts[:-1]).all()) and ts.min() >= 0 and ts.max() <= 999


def test_schedule_config_round_trips():
    s = NoiseSchedule.create("scaled_linear", 500)
    again = NoiseSchedule.from_config(s.to_config())
    assert torch.equal(again.alphas_cumprod, s.alphas_cumprod)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: NoiseSchedule.create("quadratic"), "schedule"),
        (lambda: NoiseSchedule.create("linear", 1), "num_train_timesteps"),
        (lambda: NoiseSchedule.create("linear").timesteps(0), "num_inference_steps"),
        (lambda: NoiseSchedule.create("linear").timesteps(4, "even"), "spacing"),
        (
            lambda: NoiseSchedule.create("linear").add_noise(torch.zeros(1), torch.zeros(1), 1000),
            "t",
        ),
        (lambda: Objective(NoiseSchedule.create("linear"), "score"), "prediction_type"),
        (
            lambda: Objective(NoiseSchedule.create("linear")).loss_weights(torch.tensor([3]), 0.0),
            "min_snr_gamma",
        ),
    ],
)
def test_bad_schedule_and_objective_arguments_name_the_argument(call, name):
    with pytest.raises(InvalidArgument) as err:
        call()
    assert err.value.name == name


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_prediction_of_the_true_target_converts_back_exactly(prediction_type):
    s = NoiseSchedule.create("cosine")
    obj = Objective(s, prediction_type)
    x0, noise = (
        torch.randn(5, 3, 8, 8, dtype=torch.float64),
        torch.randn(5, 3, 8, 8, dtype=torch.float64),
    )
    t = torch.tensor([0, 10, 400, 800, 990])
    x_t = s.add_noise(x0, noise, t)
    x0_hat, eps_hat = obj.to_x0_and_eps(obj.training_target(x0, noise, t), x_t, t)
    torch.testing.assert_close(x0_hat, x0, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(eps_hat, noise, rtol=1e-7, atol=1e-7)


def test_conversions_agree_between_objectives():
    """Any prediction, read as (x̂_0, ε̂), re-encodes to the same thing in every other objective."""
    s = NoiseSchedule.create("linear")
    x_t, pred = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    t = torch.tensor([5, 250, 600, 999])
    x0, eps = Objective(s, "v_prediction").to_x0_and_eps(pred, x_t, t)
    torch.testing.assert_close(s.add_noise(x0, eps, t), x_t)
    for other in PREDICTION_TYPES:
        obj = Objective(s, other)
        x0_b, eps_b = obj.to_x0_and_eps(obj.training_target(x0, eps, t), x_t, t)
        torch.testing.assert_close(x0_b, x0)
        torch.testing.assert_close(eps_b, eps)


def test_min_snr_weights_give_every_objective_the_same_x0_space_weight():
    s = NoiseSchedule.create("linear")
    t = torch.tensor([0, 50, 200, 500, 999])
    snr = s.snr[t].float()
    gamma = 5.0
    eps_w = Objective(s, "epsilon").loss_weights(t, gamma)
    x0_w = Objective(s, "sample").loss_weights(t, gamma)
    v_w = Objective(s, "v_prediction").loss_weights(t, gamma)
    torch.testing.assert_close(x0_w, snr.clamp(max=gamma))
    torch.testing.assert_close(eps_w * snr, x0_w)  # ‖ε̂ - ε‖² = SNR · ‖x̂_0 - x_0‖²
    torch.testing.assert_close(v_w * (snr + 1), x0_w)  # ‖v̂ - v‖² = (SNR + 1) · ‖x̂_0 - x_0‖²
    assert torch.equal(Objective(s, "epsilon").loss_weights(t, None), torch.ones(5))


def test_diffusion_loss_is_zero_for_the_oracle_and_positive_otherwise():
    s = NoiseSchedule.create("linear")
    x0 = torch.randn(4, 3, 8, 8)
    noise = torch.randn(4, 3, 8, 8)
    t = torch.tensor([1, 100, 500, 900])
    oracle = lambda x_t, tt, cond: Objective(s, "v_prediction").training_target(x0, noise, tt)
    loss = diffusion_loss(oracle, x0, None, s, "v_prediction", noise=noise, t=t, min_snr_gamma=5.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-10)
    zero = lambda x_t, tt, cond: torch.zeros_like(x_t)
    assert diffusion_loss(zero, x0, None, s, "epsilon", noise=noise, t=t).item() == pytest.approx(
        noise.pow(2).mean().item(), rel=1e-5
    )


def test_diffusion_loss_is_reproducible_from_the_generator_and_passes_cond():
    s = NoiseSchedule.create("cosine")
    x0 = torch.randn(2, 3, 4, 4)
    seen = {}

    def model(x_t, t, cond):
        seen["t"], seen["cond"] = t, cond
        return x_t * 0.5

    cond = {"pooled": torch.ones(2, 8)}
    a = diffusion_loss(model, x0, cond, s, generator=torch.Generator().manual_seed(3))
    b = diffusion_loss(model, x0, cond, s, generator=torch.Generator().manual_seed(3))
    assert a.item() == b.item() and seen["cond"] is cond
    assert seen["t"].dtype == torch.float32 and seen["t"].shape == (2,)


def test_diffusion_loss_trains_a_tiny_denoiser():
    """A real optimisation: a per-timestep linear ε-predictor learns Gaussian data quickly."""
    torch.manual_seed(0)
    s = NoiseSchedule.create("linear")
    net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.SiLU(), torch.nn.Linear(32, 2))
    model = lambda x_t, t, cond: net(torch.cat([x_t, (t / 1000)[:, None]], dim=1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    data = lambda n: torch.randn(n, 2) * 0.2 + torch.tensor([1.0, -1.0])
    g = torch.Generator().manual_seed(0)
    first = None
    for _ in range(150):
        loss = diffusion_loss(model, data(256), None, s, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
