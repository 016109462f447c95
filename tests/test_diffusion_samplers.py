"""Samplers driven by the exact denoiser of Gaussian data must reproduce the data's moments."""

import pytest
import torch

from genlab.diffusion import SAMPLERS, NoiseSchedule, Objective, sample
from genlab.diffusion.samplers import make_sampler
from genlab.errors import InvalidArgument

# Data: independent dimensions x_0,d ~ N(MU_d, S_d²), one narrow, one wide, one standard.
MU = torch.tensor([0.5, -1.0, 0.0])
S = torch.tensor([0.3, 1.5, 1.0])
N = 10_000

# Steps each sampler gets, and the tolerance it must then meet: |mean - μ| ≤ 0.05 (over 3
# standard errors of the widest dimension at N = 10 000) and |std/s - 1| ≤ 0.06. First-order
# ancestral samplers converge slowest; second-order ones reach the tolerance in few steps, except
# Heun on the cosine schedule, whose first jump from σ ≈ 2·10⁴ needs small steps (see Heun).
STEPS = {"ddpm": 200, "euler_a": 200, "ddim": 100, "euler": 100, "heun": 100, "dpmpp_2m": 50}
# lcm samples a consistency model (x̂_0 = the ODE's end, not the posterior mean the exact denoiser
# gives): tests/test_distill.py drives it with the exact consistency function instead
DENOISER_SAMPLERS = sorted(set(SAMPLERS) - {"lcm"})
STEPS_HEUN_COSINE = 200
MEAN_TOL, STD_TOL = 0.05, 0.06


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def exact_denoiser(schedule, prediction_type, mu=MU, s=S):
    """The optimal denoiser of N(mu, s²) data: E[x_0 | x_t] = mu + a s² / (a² s² + b²) (x_t - a mu),
    reported in the objective's own space (ε, x_0 or v)."""
    objective = Objective(schedule, prediction_type)

    def denoise(x, t):
        a, b = schedule.alpha_sigma(t, x)
        x0 = mu + a * s**2 / (a**2 * s**2 + b**2) * (x - a * mu)
        eps = (x - a * x0) / b
        return objective.training_target(x0, eps, t)

    return denoise


def moment_errors(x):
    return (x.mean(0) - MU).abs().max().item(), (x.std(0) / S - 1).abs().max().item()


@pytest.mark.parametrize("schedule_name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction"])
@pytest.mark.parametrize("sampler", DENOISER_SAMPLERS)
def test_every_sampler_reproduces_gaussian_mean_and_variance(
    sampler, prediction_type, schedule_name
):
    schedule = NoiseSchedule.create(schedule_name)
    x = sample(
        exact_denoiser(schedule, prediction_type),
        (N, 3),
        schedule=schedule,
        prediction_type=prediction_type,
        sampler=sampler,
        num_inference_steps=STEPS_HEUN_COSINE
        if (sampler, schedule_name) == ("heun", "cosine")
        else STEPS[sampler],
        generator=0,
    )
    mean_err, std_err = moment_errors(x)
    assert mean_err <= MEAN_TOL, f"mean off by {mean_err:.3f}"
    assert std_err <= STD_TOL, f"std off by {100 * std_err:.1f}%"


def test_second_order_samplers_beat_euler_at_equal_steps():
    schedule = NoiseSchedule.create("linear")
    errors = {
        name: moment_errors(
            sample(
                exact_denoiser(schedule, "epsilon"),
                (N, 3),
                schedule=schedule,
                sampler=name,
                num_inference_steps=30,
                generator=0,
            )
        )[1]
        for name in ("euler", "heun", "dpmpp_2m")
    }
    assert errors["heun"] < errors["euler"] / 2
    assert errors["dpmpp_2m"] < errors["euler"] / 2


def test_ddim_eta_zero_is_deterministic_given_the_start_noise():
    schedule = NoiseSchedule.create("linear")
    denoise = exact_denoiser(schedule, "epsilon")
    x_T = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    runs = [
        sample(
            denoise,
            (64, 3),
            schedule=schedule,
            sampler="ddim",
            eta=0.0,
            num_inference_steps=10,
            x_T=x_T,
            generator=seed,
        )
        for seed in (1, 2)
    ]
    assert torch.equal(runs[0], runs[1])
    noisy = sample(
        denoise,
        (64, 3),
        schedule=schedule,
        sampler="ddim",
        eta=1.0,
        num_inference_steps=10,
        x_T=x_T,
        generator=3,
    )
    assert not torch.allclose(noisy, runs[0])


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_same_seed_gives_identical_samples(sampler):
    schedule = NoiseSchedule.create("cosine")
    denoise = exact_denoiser(schedule, "v_prediction")
    a, b = (
        sample(
            denoise,
            (8, 3),
            schedule=schedule,
            prediction_type="v_prediction",
            sampler=sampler,
            num_inference_steps=5,
            generator=torch.Generator().manual_seed(7),
        )
        for _ in range(2)
    )
    assert torch.equal(a, b)


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_a_list_of_generators_gives_each_item_its_own_noise_stream(sampler):
    """Item k of a batch drawn with one generator per item equals item k drawn alone with
    generator k: starting noise and every noise added between steps come from its own."""
    schedule = NoiseSchedule.create("cosine")
    denoise = exact_denoiser(schedule, "v_prediction")
    args = {"schedule": schedule, "prediction_type": "v_prediction", "sampler": sampler,
            "num_inference_steps": 5, "eta": 0.7 if sampler == "ddim" else None}  # fmt: skip
    batch = sample(
        denoise, (3, 3), generator=[torch.Generator().manual_seed(s) for s in (4, 5, 6)], **args
    )
    alone = sample(denoise, (1, 3), generator=[torch.Generator().manual_seed(6)], **args)
    assert torch.allclose(batch[2], alone[0], atol=1e-6)
    assert not torch.allclose(batch[0], batch[2])


def test_a_generator_list_of_the_wrong_length_is_refused():
    schedule = NoiseSchedule.create("linear")
    with pytest.raises(InvalidArgument) as err:
        sample(exact_denoiser(schedule, "epsilon"), (4, 3), schedule=schedule,
               num_inference_steps=2, generator=[torch.Generator()] * 3)  # fmt: skip
    assert err.value.name == "generator"


def test_ddim_with_eta_one_and_ddpm_share_the_posterior_variance():
    """DDIM formula (16) at η = 1 is DDPM's β̃: the same noise gives the same samples."""
    schedule = NoiseSchedule.create("linear")
    denoise = exact_denoiser(schedule, "epsilon")
    ddpm = sample(
        denoise, (16, 3), schedule=schedule, sampler="ddpm", num_inference_steps=8, generator=5
    )
    ddim = sample(
        denoise,
        (16, 3),
        schedule=schedule,
        sampler="ddim",
        eta=1.0,
        num_inference_steps=8,
        generator=5,
    )
    torch.testing.assert_close(ddpm, ddim, atol=1e-4, rtol=1e-4)


def test_heun_calls_the_model_twice_per_step_except_the_last():
    schedule = NoiseSchedule.create("linear")
    calls = []
    denoise = exact_denoiser(schedule, "epsilon")

    def counting(x, t):
        calls.append(t[0].item())
        return denoise(x, t)

    sample(counting, (4, 3), schedule=schedule, sampler="heun", num_inference_steps=6, generator=0)
    assert len(calls) == 2 * 6 - 1
    assert all(0 <= t < 1000 for t in calls)


def test_callback_sees_every_step_and_the_batch():
    schedule = NoiseSchedule.create("linear")
    seen = []
    sample(
        exact_denoiser(schedule, "epsilon"),
        (4, 3),
        schedule=schedule,
        sampler="euler",
        num_inference_steps=7,
        generator=0,
        callback=lambda i, n, x: seen.append((i, n, x.shape)),
    )
    assert seen == [(i, 7, torch.Size([4, 3])) for i in range(1, 8)]


def test_denoiser_receives_float_timesteps_of_the_batch_size():
    schedule = NoiseSchedule.create("linear")
    seen = []

    def denoise(x, t):
        seen.append((t.dtype, tuple(t.shape)))
        return torch.zeros_like(x)

    sample(
        denoise,
        (5, 2, 4, 4),
        schedule=schedule,
        sampler="dpmpp_2m",
        num_inference_steps=3,
        generator=0,
    )
    assert seen == [(torch.float32, (5,))] * 3


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"num_inference_steps": 1001}, "num_inference_steps"),
        ({"sampler": "plms"}, "sampler"),
        ({"spacing": "random"}, "spacing"),
        ({"prediction_type": "score"}, "prediction_type"),
        ({"sampler": "ddim", "eta": -1.0}, "eta"),
        ({"sampler": "ddim", "eta": float("nan")}, "eta"),
        ({"x_T": torch.zeros(2, 3)}, "x_T"),
        ({"generator": "seed"}, "generator"),
    ],
)
def test_bad_sampling_arguments_name_the_argument(kwargs, name):
    schedule = NoiseSchedule.create("linear")
    args = {"schedule": schedule, "num_inference_steps": 4, "generator": 0} | kwargs
    with pytest.raises(InvalidArgument) as err:
        sample(exact_denoiser(schedule, "epsilon"), (4, 3), **args)
    assert err.value.name == name


@pytest.mark.parametrize("sampler", ["euler", "heun", "dpmpp_2m", "ddpm"])
def test_samplers_without_eta_ignore_it_as_diffusers_does(sampler):
    schedule = NoiseSchedule.create("linear")
    args = {"schedule": schedule, "num_inference_steps": 4, "sampler": sampler}
    denoise = exact_denoiser(schedule, "epsilon")
    plain = sample(denoise, (4, 3), generator=0, **args)
    assert torch.equal(sample(denoise, (4, 3), generator=0, eta=0.5, **args), plain)


def test_a_four_argument_callback_gets_each_timestep_and_may_replace_x():
    schedule = NoiseSchedule.create("linear")
    seen = []

    def callback(step, total, x, t):
        seen.append((step, total, int(t)))
        return torch.zeros_like(x) if step == total else None

    out = sample(
        exact_denoiser(schedule, "epsilon"), (4, 3), schedule=schedule, num_inference_steps=3,
        sampler="ddim", generator=0, callback=callback,
    )  # fmt: skip
    timesteps = schedule.timesteps(3, "trailing").tolist()
    assert seen == [(i + 1, 3, int(t)) for i, t in enumerate(timesteps)]
    assert torch.equal(out, torch.zeros(4, 3))


def test_unknown_sampler_error_lists_the_valid_ones():
    with pytest.raises(InvalidArgument) as err:
        make_sampler("plms", NoiseSchedule.create("linear"), torch.tensor([999, 0]))
    for name in SAMPLERS:
        assert name in str(err.value)
