"""Classifier-free guidance (one batched forward), img2img and inpainting, with any sampler."""

import math

import pytest
import torch
from test_diffusion_samplers import exact_denoiser

from genlab.diffusion import (
    SAMPLERS,
    NoiseSchedule,
    classifier_free_guidance,
    img2img_timesteps,
    sample,
)
from genlab.errors import InvalidArgument

pytestmark = pytest.mark.usefixtures("one_thread")


class RecordingModel:
    """A conditional 'model' whose prediction is x·0.1 + pooled (broadcast), recording each call."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, t, cond):
        self.calls.append(
            {"batch": x.shape[0], "t": t.clone(), "cond": {k: v.clone() for k, v in cond.items()}}
        )
        return 0.1 * x + cond["pooled"].mean(dim=1).reshape(-1, *([1] * (x.ndim - 1)))


def conds(B=2, L_cond=5, L_uncond=5):
    cond = {
        "tokens": torch.randn(B, L_cond, 4),
        "mask": torch.ones(B, L_cond, dtype=torch.bool),
        "pooled": torch.full((B, 4), 2.0),
    }
    uncond = {
        "tokens": torch.zeros(1, L_uncond, 4),
        "mask": torch.ones(1, L_uncond, dtype=torch.bool),
        "pooled": torch.full((1, 4), -1.0),
    }
    return cond, uncond


def test_guidance_runs_cond_and_uncond_in_one_forward_and_extrapolates():
    model = RecordingModel()
    cond, uncond = conds()
    denoise = classifier_free_guidance(model, cond, uncond, 3.0)
    x, t = torch.randn(2, 3, 4, 4), torch.tensor([10.0, 10.0])
    out = denoise(x, t)
    assert len(model.calls) == 1 and model.calls[0]["batch"] == 4
    assert torch.equal(model.calls[0]["t"], torch.tensor([10.0] * 4))
    pred_u, pred_c = 0.1 * x - 1.0, 0.1 * x + 2.0
    torch.testing.assert_close(out, pred_u + 3.0 * (pred_c - pred_u))


def test_guidance_scale_one_skips_the_unconditional_half_and_zero_the_conditional():
    cond, uncond = conds()
    x, t = torch.randn(2, 3, 4, 4), torch.tensor([5.0, 5.0])
    for scale, pooled in ((1.0, 2.0), (0.0, -1.0)):
        model = RecordingModel()
        out = classifier_free_guidance(model, cond, uncond, scale)(x, t)
        assert [c["batch"] for c in model.calls] == [2]
        torch.testing.assert_close(out, 0.1 * x + pooled)


def test_plain_conditional_model_needs_no_uncond():
    model = RecordingModel()
    cond, _ = conds()
    classifier_free_guidance(model, cond, None, 1.0)(torch.zeros(2, 1, 2, 2), torch.zeros(2))
    assert len(model.calls) == 1


def test_negative_prompt_of_another_length_is_padded_with_masked_tokens():
    model = RecordingModel()
    cond, uncond = conds(L_cond=5, L_uncond=3)
    classifier_free_guidance(model, cond, uncond, 7.5)(torch.zeros(2, 1, 2, 2), torch.zeros(2))
    seen = model.calls[0]["cond"]
    assert seen["tokens"].shape == (4, 5, 4) and seen["mask"].shape == (4, 5)
    assert seen["mask"][:2, 3:].sum() == 0 and seen["mask"][:2, :3].all() and seen["mask"][2:].all()
    assert seen["tokens"][:2, 3:].abs().sum() == 0


@pytest.mark.parametrize("scale", [-0.5, float("nan"), "7", None])
def test_bad_guidance_scale_is_refused(scale):
    cond, uncond = conds()
    with pytest.raises(InvalidArgument) as err:
        classifier_free_guidance(RecordingModel(), cond, uncond, scale)
    assert err.value.name == "guidance_scale"


def test_guidance_without_uncond_or_with_mismatched_batch_is_refused():
    cond, uncond = conds(B=2)
    with pytest.raises(InvalidArgument) as err:
        classifier_free_guidance(RecordingModel(), cond, None, 5.0)
    assert err.value.name == "uncond"
    bad = {k: torch.cat([v, v, v]) for k, v in uncond.items()}  # batch 3, neither 1 nor 2
    with pytest.raises(InvalidArgument):
        classifier_free_guidance(RecordingModel(), cond, bad, 5.0)(
            torch.zeros(2, 1, 2, 2), torch.zeros(2)
        )


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_guided_sampling_pushes_samples_past_the_conditional_mean(sampler):
    """Two Gaussian 'classes' with exact denoisers: w > 1 extrapolates away from the unconditional."""
    schedule = NoiseSchedule.create("linear")
    s = torch.tensor([0.5])
    per_class = {
        label: exact_denoiser(schedule, "epsilon", mu=torch.tensor([mu]), s=s)
        for label, mu in ((1.0, 1.0), (0.0, 0.0))
    }
    model = lambda x, t, cond: torch.where(
        cond["pooled"] > 0.5, per_class[1.0](x, t), per_class[0.0](x, t)
    )
    cond, uncond = {"pooled": torch.ones(1, 1)}, {"pooled": torch.zeros(1, 1)}
    means = {}
    for w in (1.0, 3.0):
        x = sample(
            classifier_free_guidance(model, cond, uncond, w),
            (2000, 1),
            schedule=schedule,
            sampler=sampler,
            num_inference_steps=20,
            generator=0,
        )
        means[w] = x.mean().item()
    assert means[1.0] == pytest.approx(1.0, abs=0.1)
    assert means[3.0] > 1.5


def test_img2img_keeps_the_last_strength_fraction_of_the_steps():
    ts = NoiseSchedule.create("linear").timesteps(10)
    assert torch.equal(img2img_timesteps(ts, 1.0), ts)
    assert torch.equal(img2img_timesteps(ts, 0.5), ts[5:])
    assert len(img2img_timesteps(ts, 0.01)) == 1


# lcm samples a consistency model, not a posterior-mean denoiser (tests/test_distill.py)
@pytest.mark.parametrize("sampler", sorted(set(SAMPLERS) - {"lcm"}))
def test_img2img_starts_part_way_and_lower_strength_stays_nearer_the_init(sampler):
    schedule = NoiseSchedule.create("linear")
    denoise = exact_denoiser(schedule, "epsilon")
    init = torch.tensor([[0.4, -0.8, 0.3]]).expand(256, 3)
    distance = {}
    for strength in (0.1, 0.5, 1.0):
        seen = []

        def recording(x, t, seen=seen):
            seen.append(t[0].item())
            return denoise(x, t)

        x = sample(
            recording,
            (256, 3),
            schedule=schedule,
            sampler=sampler,
            num_inference_steps=20,
            strength=strength,
            init=init,
            generator=0,
        )
        first = schedule.timesteps(20)[20 - round(20 * strength)].item()
        assert seen[0] == first  # the last strength · 20 steps
        distance[strength] = (x - init).abs().mean().item()
    assert distance[0.1] < distance[0.5] < distance[1.0]
    assert distance[0.1] < 0.3


def test_img2img_at_full_strength_forgets_the_init():
    schedule = NoiseSchedule.create("linear")
    init = torch.full((4000, 3), 5.0)
    x = sample(
        exact_denoiser(schedule, "epsilon"),
        (4000, 3),
        schedule=schedule,
        sampler="ddim",
        num_inference_steps=50,
        strength=1.0,
        init=init,
        generator=0,
    )
    assert (x.mean(0) - torch.tensor([0.5, -1.0, 0.0])).abs().max() < 0.1


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_inpainting_keeps_the_known_region_and_shows_it_noised_at_every_step(sampler):
    schedule = NoiseSchedule.create("cosine")
    denoise = exact_denoiser(schedule, "v_prediction", mu=torch.tensor(0.0), s=torch.tensor(1.0))
    shape = (2, 3, 8, 8)
    known = torch.rand(shape) * 2 - 1
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1  # generate the centre, keep the border
    x_T = torch.randn(shape, generator=torch.Generator().manual_seed(4))
    seen = []

    def recording(x, t):
        seen.append((x.clone(), int(t[0].item())))
        return denoise(x, t)

    out = sample(
        recording,
        shape,
        schedule=schedule,
        prediction_type="v_prediction",
        sampler=sampler,
        num_inference_steps=6,
        x_T=x_T,
        mask=mask,
        known=known,
        generator=0,
    )
    border = mask.expand(shape) == 0
    assert torch.equal(out[border], known[border])
    assert not torch.allclose(out[~border], known[~border])
    for x_t, t in seen:
        a = schedule.alphas_cumprod[t].item()
        expected = math.sqrt(a) * known + math.sqrt(1 - a) * x_T
        if sampler != "heun":  # Heun's midpoint evaluation sees its own Euler estimate
            torch.testing.assert_close(x_t[border], expected[border], atol=1e-5, rtol=1e-5)


def test_inpainting_with_ddim_eta_zero_is_deterministic_and_works_on_video_shapes():
    schedule = NoiseSchedule.create("linear")
    shape = (1, 3, 4, 8, 8)  # (B, C, T, H, W)
    known = torch.zeros(shape)
    mask = torch.ones(1, 1, 1, 8, 8)
    mask[..., :4] = 0
    runs = [
        sample(
            exact_denoiser(schedule, "epsilon", mu=torch.tensor(0.0), s=torch.tensor(1.0)),
            shape,
            schedule=schedule,
            sampler="ddim",
            num_inference_steps=5,
            mask=mask,
            known=known,
            generator=9,
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0][..., :4], known[..., :4])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"strength": 0.0, "init": torch.zeros(2, 3, 8, 8)}, "strength"),
        ({"strength": 1.5, "init": torch.zeros(2, 3, 8, 8)}, "strength"),
        ({"strength": float("nan"), "init": torch.zeros(2, 3, 8, 8)}, "strength"),
        ({"strength": 0.5}, "init"),
        ({"init": torch.zeros(2, 3, 8, 8)}, "strength"),
        ({"strength": 0.5, "init": torch.zeros(2, 3, 4, 4)}, "init"),
        ({"mask": torch.ones(1, 1, 4, 4), "known": torch.zeros(2, 3, 8, 8)}, "mask"),
        ({"mask": torch.ones(8, 8), "known": torch.zeros(2, 3, 8, 8)}, "mask"),
        ({"mask": torch.ones(1, 1, 8, 8)}, "known"),
        ({"known": torch.zeros(2, 3, 8, 8)}, "mask"),
        ({"mask": torch.ones(1, 1, 8, 8), "known": torch.zeros(2, 1, 4, 8)}, "known"),
    ],
)
def test_bad_editing_arguments_name_the_argument(kwargs, name):
    schedule = NoiseSchedule.create("linear")
    with pytest.raises(InvalidArgument) as err:
        sample(
            lambda x, t: torch.zeros_like(x),
            (2, 3, 8, 8),
            schedule=schedule,
            num_inference_steps=4,
            generator=0,
            **kwargs,
        )
    assert err.value.name == name
