"""Specification of the text→image pipeline: loading, determinism, metadata, guidance, editing
(img2img, inpainting) and the errors for bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import genlab
from genlab.diffusion import NoiseSchedule
from genlab.errors import CheckpointError, InvalidArgument
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.text2image import PromptTruncated, Text2ImagePipeline
from genlab.text import TextEncoder


def make_tiny_checkpoint(path, size: int = 16):
    """A tiny, untrained text2image checkpoint whose output depends on the text (weights
    perturbed away from the zero initialisation) — enough to specify the pipeline's behaviour."""
    torch.manual_seed(0)
    encoder = TextEncoder(width=32, depth=1, num_heads=2, max_length=8)
    denoiser = create_model(
        "unet-tiny", context_dim=32, pooled_dim=32, model_channels=8, head_dim=8
    )
    with torch.no_grad():
        for p in denoiser.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    pipe = Text2ImagePipeline(
        denoiser, encoder, NoiseSchedule.create("cosine"), "v_prediction", name="tiny-t2i",
        image_size=size,
    )  # fmt: skip
    tensors, config = pipe.checkpoint()
    save_checkpoint(path, tensors, config)
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("t2i") / "tiny-t2i.safetensors")


@pytest.fixture(scope="module")
def pipe(ckpt):
    return genlab.load(str(ckpt), device="cpu")


def pixels(result):
    return [np.asarray(im) for im in result.images]


def test_load_reads_the_checkpoint_config_and_restores_the_same_weights(ckpt, pipe):
    assert isinstance(pipe, Text2ImagePipeline)
    tensors, config = pipe.checkpoint()
    assert config["pipeline"] == "text2image"
    assert config["prediction_type"] == "v_prediction"
    assert config["schedule"] == {"name": "cosine", "num_train_timesteps": 1000}
    assert config["text_encoder"]["vocab"][:2] == ["[PAD]", "[UNK]"]  # the tokenizer travels
    again = genlab.load(str(ckpt), device="cpu").checkpoint()[0]
    assert all(torch.equal(tensors[k], again[k]) for k in tensors)


def test_same_seed_and_arguments_give_identical_pixels(pipe):
    a = pipe("a red circle above a blue square", seed=7, num_images=2, num_inference_steps=4)
    b = pipe("a red circle above a blue square", seed=7, num_images=2, num_inference_steps=4)
    c = pipe("a red circle above a blue square", seed=8, num_images=2, num_inference_steps=4)
    assert all(np.array_equal(x, y) for x, y in zip(pixels(a), pixels(b)))
    assert not np.array_equal(pixels(a)[0], pixels(c)[0])
    assert not np.array_equal(pixels(a)[0], pixels(a)[1])  # each image has its own noise


# deterministic (ddim, dpmpp_2m) and stochastic (lcm, ddpm, euler_a: fresh noise between steps,
# drawn from each image's own generator) samplers alike
@pytest.mark.parametrize("sampler", ["ddim", "dpmpp_2m", "lcm", "ddpm", "euler_a"])
def test_every_image_is_regenerated_from_its_own_metadata(pipe, sampler):
    batch = pipe("a green star", seed=3, num_images=3, num_inference_steps=4, sampler=sampler)
    meta = batch.metadata[2]
    assert meta["seed"] == 5 and meta["sampler"] == sampler and meta["model"] == "tiny-t2i"
    assert {"prompt", "negative_prompt", "num_inference_steps", "guidance_scale", "height",
            "width"} <= set(meta)  # fmt: skip
    alone = pipe(
        meta["prompt"],
        negative_prompt=meta["negative_prompt"],
        seed=meta["seed"],
        num_inference_steps=meta["num_inference_steps"],
        guidance_scale=meta["guidance_scale"],
        sampler=meta["sampler"],
    )
    diff = np.abs(pixels(alone)[0].astype(int) - pixels(batch)[2].astype(int))
    assert diff.max() <= 1  # batched convolutions may round the last bit differently


def test_text_negative_prompt_and_guidance_change_the_image(pipe):
    def run(**kw):
        return pixels(pipe(seed=1, num_inference_steps=4, **{"prompt": "a red circle", **kw}))[0]

    base = run(guidance_scale=3.0)
    assert not np.array_equal(base, run(prompt="a blue square", guidance_scale=3.0))
    assert not np.array_equal(base, run(negative_prompt="red", guidance_scale=3.0))
    assert not np.array_equal(base, run(guidance_scale=1.0))


def test_every_sampler_runs_and_lists_in_describe(pipe):
    for sampler in pipe.samplers:
        result = pipe("a pink diamond", seed=0, num_inference_steps=2, sampler=sampler)
        assert result.images[0].size == (16, 16)
    assert pipe.describe()["kind"] == "text2image"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"guidance_scale": float("nan")}, "guidance_scale"),
        ({"guidance_scale": -1.0}, "guidance_scale"),
        ({"sampler": "plms"}, "sampler"),
        ({"seed": "1"}, "seed"),
        ({"height": 15}, "height"),
        ({"num_images": 0}, "num_images"),
    ],
)
def test_bad_arguments_raise_invalid_argument_naming_them(pipe, kwargs, name):
    with pytest.raises(InvalidArgument) as err:
        pipe("a red circle", **kwargs)
    assert err.value.name == name


def test_an_unknown_sampler_error_lists_the_valid_ones(pipe):
    with pytest.raises(InvalidArgument, match="ddim, ddpm, dpmpp_2m, euler, euler_a, heun"):
        pipe("a red circle", sampler="plms")


def test_a_prompt_longer_than_the_encoder_is_truncated_with_a_warning(pipe):
    long_prompt = "a red circle above a blue square and a green star"  # 11 words, 8 fit
    with pytest.warns(PromptTruncated, match="dropped: 'a green star'"):
        result = pipe(long_prompt, seed=0, num_inference_steps=2)
    assert result.metadata[0]["truncated"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "truncated" not in pipe("a red circle", seed=0, num_inference_steps=2).metadata[0]


def test_img2img_strength_controls_how_far_the_image_moves(pipe):
    source = np.zeros((16, 16, 3), np.uint8)
    source[4:12, 4:12] = (220, 30, 30)

    def distance(strength):
        out = pipe.edit(source, "a blue star", strength=strength, seed=0, num_inference_steps=10)
        assert out.metadata[0]["edit"] == "img2img" and out.metadata[0]["strength"] == strength
        return np.abs(pixels(out)[0].astype(float) - source).mean()

    assert distance(0.1) < distance(1.0)


def test_inpainting_keeps_every_unmasked_pixel_exactly(pipe):
    source = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[:, 8:] = 255  # regenerate the right half
    out = pixels(pipe.edit(source, "a red circle", mask=mask, seed=0, num_inference_steps=5))[0]
    assert np.array_equal(out[:, :8], source[:, :8])
    assert not np.array_equal(out[:, 8:], source[:, 8:])


def test_edit_needs_a_mask_or_strength_and_a_mask_of_the_image_size(pipe):
    source = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(InvalidArgument, match="strength"):
        pipe.edit(source, "a red circle")
    with pytest.raises(InvalidArgument, match="mask: expected a 16×16 mask"):
        pipe.edit(source, "a red circle", mask=np.ones((8, 8), np.uint8))
    with pytest.raises(InvalidArgument, match="strength"):
        pipe.edit(source, "a red circle", strength=1.5)


def test_corrupt_or_foreign_checkpoints_are_clear_errors(tmp_path, ckpt):
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(CheckpointError):
        genlab.load(str(truncated))
    foreign = tmp_path / "foreign.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a genlab checkpoint"):
        genlab.load(str(foreign))
    broken = tmp_path / "broken.safetensors"
    _, config = genlab.load(str(ckpt), device="cpu").checkpoint()
    save_checkpoint(broken, {"denoiser.nothing": torch.zeros(1)}, config)
    with pytest.raises(CheckpointError, match="does not load"):
        genlab.load(str(broken))


def _failing_backend(graph_module, example_inputs):
    raise RuntimeError("this backend cannot compile anything")


@pytest.fixture
def fresh_dynamo():
    """Dynamo's cache is global: start and leave it empty (other tests compile the same blocks)."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.slow
def test_compiled_sampling_draws_the_same_images_and_falls_back_to_eager(ckpt, fresh_dynamo):
    """pipe.compile(): traced by dynamo with static shapes (backend "eager" here, to keep the test
    fast; inductor is what benchmarks/cpu_sampling.py --compile times), the same pixels as eager;
    a backend that fails sends the pipeline back to eager with a warning and the same images."""
    kw = dict(num_inference_steps=3, seed=5, num_images=2)
    eager = genlab.load(str(ckpt), device="cpu")
    expected = pixels(eager("a red circle", **kw))
    traced = genlab.load(str(ckpt), device="cpu")
    assert traced.compile(backend="eager")
    for a, b in zip(pixels(traced("a red circle", **kw)), expected):
        np.testing.assert_array_equal(a, b)
    assert traced.compile_error is None
    torch._dynamo.reset()  # blocks share code, and so compiled graphs, across pipelines
    failing = genlab.load(str(ckpt), device="cpu")
    assert failing.compile(backend=_failing_backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = pixels(failing("a red circle", **kw))
    for a, b in zip(again, expected):
        np.testing.assert_array_equal(a, b)
    assert "cannot compile" in failing.compile_error
    assert any("falling back to eager" in str(w.message) for w in caught)
    with pytest.raises(InvalidArgument, match="mode"):
        eager.compile(mode="fastest")
    with pytest.raises(InvalidArgument, match="sampler"):  # bad input is not a compile failure
        traced("a red circle", sampler="nope", **kw)
    assert traced.compile_error is None


def test_sampling_runs_without_autograd(pipe):
    """pipe(...) and pipe.edit(...) run the denoiser under torch.inference_mode (no graph kept:
    faster, less memory), video pipelines alike."""
    seen = []
    handle = pipe.denoiser.register_forward_hook(
        lambda m, i, o: seen.append(torch.is_inference_mode_enabled())
    )
    try:
        pipe("a red circle", num_inference_steps=2, seed=0)
        pipe.edit(pipe("a red circle", num_inference_steps=1, seed=0).images[0], "a blue circle",
                  strength=0.5, num_inference_steps=2, seed=0)  # fmt: skip
    finally:
        handle.remove()
    assert seen and all(seen)
