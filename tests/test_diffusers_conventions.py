"""Specification of diffusers' call conventions on every genlab pipeline (`@diffusers_call`):
num_images_per_prompt, generator, output_type, return_dict, callback_on_step_end, eta, lists of
prompts, pipe.to(); the output types checked against what diffusers' own pipeline returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_pipeline_t2i import make_tiny_checkpoint

import genlab
from genlab.errors import InvalidArgument
from genlab.pipelines.base import GenerationResult


@pytest.fixture(scope="module")
def t2i(tmp_path_factory):
    path = make_tiny_checkpoint(tmp_path_factory.mktemp("conv") / "tiny-t2i.safetensors")
    return genlab.load(str(path), device="cpu")


@pytest.fixture(scope="module")
def gan():
    return genlab.load("digits-dcgan", device="cpu")


@pytest.fixture(scope="module")
def video():
    return genlab.load("world-t2v", device="cpu")


@pytest.fixture(scope="module")
def sd(tiny_sd):
    return genlab.load(str(tiny_sd))


FAST = {"t2i": {"num_inference_steps": 2}, "gan": {}, "sd": {"num_inference_steps": 2}}
A, B = {"gan": ("the digit 3", "the digit 7")}.get, ("a red circle", "a blue square")


def pixels(images):
    return [np.asarray(im) for im in images]


@pytest.mark.parametrize("name", ["t2i", "gan", "sd"])
def test_a_list_of_prompts_gives_num_images_per_prompt_each(request, name):
    pipe = request.getfixturevalue(name)
    first, second = A(name, B)
    result = pipe([first, second], num_images_per_prompt=2, seed=3, **FAST[name])
    assert len(result.images) == 4
    assert [m["prompt"] for m in result.metadata] == [first] * 2 + [second] * 2
    assert [m["seed"] for m in result.metadata] == [3, 4, 5, 6]
    # image 3 alone, from its own metadata
    alone = pipe(second, seed=6, **FAST[name])
    assert np.array_equal(pixels(alone.images)[0], pixels(result.images)[3])


@pytest.mark.parametrize("name", ["t2i", "gan", "sd"])
def test_a_generator_gives_the_images_of_its_seed(request, name):
    pipe, prompt = request.getfixturevalue(name), A(name, B)[0]
    by_seed = pipe(prompt, seed=11, num_images=2, **FAST[name])
    one = pipe(prompt, generator=torch.Generator().manual_seed(11), num_images=2, **FAST[name])
    per_image = [torch.Generator().manual_seed(s) for s in (11, 12)]
    listed = pipe(prompt, generator=per_image, num_images_per_prompt=2, **FAST[name])
    for result in (one, listed):
        assert [m["seed"] for m in result.metadata] == [11, 12]
        for a, b in zip(pixels(result.images), pixels(by_seed.images)):
            assert np.array_equal(a, b)


def test_generators_not_seeded_in_a_row_or_against_the_seed_are_refused(t2i):
    with pytest.raises(InvalidArgument, match="generator"):
        t2i("x", generator=[torch.Generator().manual_seed(s) for s in (1, 5)], num_images=2)
    with pytest.raises(InvalidArgument, match="generator"):
        t2i("x", generator=torch.Generator().manual_seed(1), seed=2)
    with pytest.raises(InvalidArgument, match="num_images_per_prompt"):
        t2i("x", num_images=2, num_images_per_prompt=3)
    with pytest.raises(InvalidArgument, match="output_type"):
        t2i("x", output_type="latent", num_inference_steps=1)


@pytest.mark.parametrize("output_type", ["np", "pt"])
def test_output_types_match_diffusers_own(sd, t2i, gan, output_type):
    kw = {"num_inference_steps": 2, "height": 16, "width": 16}
    generators = [torch.Generator().manual_seed(s) for s in (0, 1)]  # image i from seed i
    theirs = sd.pipe(["a ball"] * 2, output_type=output_type, generator=generators, **kw).images
    for pipe, extra in ((t2i, kw), (gan, {}), (sd, kw)):
        prompt = "the digit 3" if pipe is gan else "a ball"
        ours = pipe(prompt, num_images_per_prompt=2, output_type=output_type, seed=0, **extra)
        images = ours.images
        assert type(images) is type(theirs) and images.dtype == theirs.dtype
        assert images.ndim == theirs.ndim == 4 and images.shape[0] == 2
        channels_at = 3 if output_type == "np" else 1  # NHWC arrays, NCHW tensors
        assert images.shape[channels_at] == theirs.shape[channels_at] == 3
        assert float(images.min()) >= 0 and float(images.max()) <= 1
    # the diffusers backend's arrays are diffusers' pixels (8-bit): the same seeds, the same image
    ours = sd("a ball", num_images_per_prompt=2, output_type=output_type, seed=0, **kw).images
    as_uint8 = (np.asarray(theirs) * 255).round() / 255
    assert np.allclose(np.asarray(ours), as_uint8, atol=1 / 255)


def test_video_output_types_are_diffusers_video_layouts(video):
    kw = {"num_inference_steps": 1, "num_frames": 4, "seed": 0}
    frames = video("a red circle moves right", output_type="np", **kw)[0]
    assert isinstance(frames, np.ndarray) and frames.shape == (1, 4, 32, 32, 3)
    tensor = video("a red circle moves right", output_type="pt", **kw)["frames"]
    assert isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == (1, 4, 3, 32, 32)
    assert np.allclose(tensor.permute(0, 1, 3, 4, 2).numpy(), frames)


def test_the_result_is_subscriptable_and_return_dict_false_is_a_tuple(t2i):
    result = t2i("a red circle", seed=1, num_inference_steps=2)
    assert isinstance(result, GenerationResult)
    assert result[0] is result.images and result["images"] is result.images
    assert result[1] is result.metadata
    with pytest.raises(KeyError):
        result["frames"]  # unset, as diffusers' outputs leave out what is None
    images, metadata = t2i("a red circle", seed=1, num_inference_steps=2, return_dict=False)
    assert np.array_equal(pixels(images)[0], pixels(result.images)[0]) and metadata[0]["seed"] == 1


def test_callback_on_step_end_is_called_like_diffusers_calls_it(sd, t2i):
    def record(log):
        def on_step_end(pipe, step, timestep, callback_kwargs):
            log.append((step, int(timestep), tuple(callback_kwargs["latents"].shape)))
            return callback_kwargs

        return on_step_end

    theirs, ours = [], []
    sd.pipe("a", num_inference_steps=3, height=16, width=16, callback_on_step_end=record(theirs))
    t2i("a", num_inference_steps=3, seed=0, callback_on_step_end=record(ours))
    assert [s for s, _, _ in ours] == [s for s, _, _ in theirs] == [0, 1, 2]
    assert all(0 <= t < 1000 for _, t, _ in ours) and ours[0][1] > ours[-1][1]
    assert ours[0][2] == (1, 3, 16, 16)
    # returning new latents replaces them, as in diffusers
    blank = t2i(
        "a", num_inference_steps=2, seed=0, output_type="np",
        callback_on_step_end=lambda p, i, t, kw: {"latents": torch.zeros_like(kw["latents"])},
    ).images  # fmt: skip
    assert np.allclose(blank, 128 / 255, atol=1 / 255)  # latents 0 decode to mid grey


def test_a_model_without_steps_calls_callback_on_step_end_once(gan):
    calls = []
    gan("3", seed=0, callback_on_step_end=lambda *a: calls.append(a))
    assert len(calls) == 1 and calls[0][0] is gan and calls[0][1] == 0


def test_eta_is_ignored_by_samplers_and_models_that_take_none(t2i, gan):
    kw = {"seed": 2, "num_inference_steps": 2, "sampler": "dpmpp_2m"}
    plain, with_eta = t2i("a", **kw), t2i("a", eta=0.7, **kw)
    assert np.array_equal(pixels(plain.images)[0], pixels(with_eta.images)[0])
    assert "eta" not in with_eta.metadata[0]
    ddim = t2i("a", seed=2, num_inference_steps=2, sampler="ddim", eta=0.7)
    assert ddim.metadata[0]["eta"] == 0.7
    assert np.array_equal(
        pixels(gan("3", seed=1, eta=0.5).images)[0], pixels(gan("3", seed=1).images)[0]
    )


@pytest.mark.parametrize("name", ["t2i", "gan", "sd", "video"])
def test_to_moves_the_pipeline_and_returns_it(request, name):
    pipe = request.getfixturevalue(name)
    assert pipe.to("cpu") is pipe
    assert str(pipe.device) == "cpu"
