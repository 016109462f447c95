"""The classic families' pipelines: the common call, prompts as classes or text, exact
regeneration from metadata, and clear errors for what a model cannot do."""

import numpy as np
import pytest
import torch

import genlab
from genlab.errors import InvalidArgument
from genlab.io import save_checkpoint
from genlab.models.ar_transformer import AR_MODELS, ARTransformer
from genlab.models.gan import GAN, GAN_MODELS
from genlab.models.vae import VAE, VAE_MODELS
from genlab.models.vqvae import VQVAE, VQVAE_MODELS
from genlab.pipelines.classic import ClassPrompt
from genlab.text.tokenizer import Tokenizer
from genlab.train.classic import ARTask, Condition, GANTask, VAETask, world_text_encoder

DIGITS = [str(i) for i in range(10)]


def _save(tmp_path, name, exported):
    tensors, config = exported
    return str(save_checkpoint(tmp_path / f"{name}.safetensors", tensors, {**config, "name": name}))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Untrained tiny checkpoints of every kind, written the way the recipes export them."""
    tmp = tmp_path_factory.mktemp("classic")
    torch.manual_seed(0)
    digits = Condition(class_names=DIGITS)
    vae = VAE(dict(VAE_MODELS["vae-tiny"], **digits.model_kwargs)).eval()
    gan = GAN(dict(GAN_MODELS["gan-tiny"], **digits.model_kwargs)).eval()
    tokenizer = Tokenizer()
    text = Condition(text_encoder=world_text_encoder(tokenizer, width=16, depth=1, max_length=8))
    text_gan = GAN(dict(GAN_MODELS["gan-tiny"], in_channels=3, **text.model_kwargs)).eval()
    vq = VQVAE(VQVAE_MODELS["vqvae-tiny"]).eval()
    ar = ARTransformer(dict(AR_MODELS["ar-tiny"], text_vocab_size=len(tokenizer))).eval()
    return {
        "vae": _save(tmp, "tiny-vae", VAETask(vae, digits).export()),
        "gan": _save(tmp, "tiny-gan", GANTask(gan, digits).export()),
        "text-gan": _save(tmp, "tiny-text-gan", GANTask(text_gan, text).export()),
        "vq-ar": _save(tmp, "tiny-vq-ar", ARTask(ar, vq, tokenizer).export()),
    }


def _pixels(image):
    return np.asarray(image)


@pytest.mark.parametrize("kind", ["vae", "gan", "text-gan", "vq-ar"])
def test_same_seed_same_pixels_and_metadata_regenerates_each_image(checkpoints, kind):
    pipe = genlab.load(checkpoints[kind])
    prompt = "a red circle" if kind in ("text-gan", "vq-ar") else "the digit 7"
    first = pipe(prompt, seed=5, num_images=3)
    again = pipe(prompt, seed=5, num_images=3)
    assert len(first.images) == 3 and first.images[0].size == (16, 16)
    assert all(np.array_equal(_pixels(a), _pixels(b)) for a, b in zip(first.images, again.images))
    meta = first.metadata[2]
    assert meta["seed"] == 7 and meta["model"].startswith("tiny") and meta["kind"] == pipe.kind
    alone = pipe(meta["prompt"], seed=meta["seed"], num_images=1)
    assert np.array_equal(_pixels(alone.images[0]), _pixels(first.images[2]))


def test_class_prompts_read_digits_words_and_names():
    read = ClassPrompt(DIGITS)
    assert read("the digit 7") == read("Seven!") == read("7") == 7
    assert read("") == 10  # the null class: "any digit"
    with pytest.raises(InvalidArgument, match="prompt.*the digit 0"):
        read("a red circle")
    with pytest.raises(InvalidArgument, match="names"):
        read("the digit 3 next to a 5")


def test_class_conditional_model_refuses_free_text(checkpoints):
    pipe = genlab.load(checkpoints["gan"])
    with pytest.raises(InvalidArgument, match="prompt"):
        pipe("a blue square above a red circle", seed=0)
    assert pipe("the digit 2", seed=0).metadata[0]["class"] == "2"


def test_text_model_refuses_a_prompt_of_unknown_words_only(checkpoints):
    pipe = genlab.load(checkpoints["vq-ar"])
    with pytest.raises(InvalidArgument, match="prompt"):
        pipe("zebra giraffe", seed=0)
    meta = pipe("a fluffy red circle", seed=0).metadata[0]
    assert meta["unknown_words"] == ["fluffy"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(temperature=0), "temperature"),
        (dict(top_k=0), "top_k"),
        (dict(top_p=1.5), "top_p"),
        (dict(top_p=0.0), "top_p"),
        (dict(guidance_scale=-1.0), "guidance_scale"),
        (dict(height=64), "height"),
        (dict(num_images=0), "num_images"),
    ],
)
def test_bad_sampling_arguments_name_the_argument(checkpoints, kwargs, name):
    pipe = genlab.load(checkpoints["vq-ar"])
    with pytest.raises(InvalidArgument, match=name):
        pipe("a red circle", seed=0, **kwargs)


def test_vq_ar_options_and_negative_prompt_reach_the_sampler(checkpoints):
    pipe = genlab.load(checkpoints["vq-ar"])
    greedy = pipe("a red circle", seed=1, top_k=1, temperature=0.5, negative_prompt="a square")
    meta = greedy.metadata[0]
    assert (meta["top_k"], meta["temperature"], meta["negative_prompt"]) == (1, 0.5, "a square")
    L = pipe.ar.config.text_len
    ids, neg = pipe.tokenizer(["a red circle"], L).ids, pipe.tokenizer(["a blue square"], L).ids
    seed = lambda s: torch.Generator().manual_seed(s)
    # The negative prompt replaces the null branch: at guidance 0 only it is heard.
    negative = pipe.ar.generate(ids, guidance_scale=0.0, negative_ids=neg, generator=seed(1))
    assert torch.equal(negative, pipe.ar.generate(neg, generator=seed(1)))
    # top_k = 1 is greedy decoding: the seed no longer matters.
    assert torch.equal(
        pipe.ar.generate(ids, top_k=1, generator=seed(1)),
        pipe.ar.generate(ids, top_k=1, generator=seed(99)),
    )


def test_vae_pipeline_reconstructs_and_interpolates(checkpoints):
    pipe = genlab.load(checkpoints["vae"])
    a, b = pipe("the digit 1", seed=0, num_images=2).images
    assert pipe.reconstruct(a, "the digit 1").size == (16, 16)
    path = pipe.interpolate(a, b, steps=4)
    assert len(path) == 4 and all(im.size == (16, 16) for im in path)
    with pytest.raises(InvalidArgument, match="steps"):
        pipe.interpolate(a, b, steps=1)


def test_family_options_are_refused_by_models_without_them(checkpoints):
    with pytest.raises(InvalidArgument, match="option"):
        genlab.load(checkpoints["gan"])("the digit 1", seed=0, temperature=0.7)


@pytest.mark.parametrize(
    "name, prompt",
    [("digits-vae", "the digit 7"), ("digits-dcgan", "seven"), ("world-vq-ar", "a red circle")],
)
def test_bundled_classic_models_generate_through_the_cli(name, prompt, tmp_path, capsys):
    from genlab.cli import main
    from genlab.io import read_params

    out = tmp_path / "out.png"
    assert main(["generate", prompt, "--model", name, "--seed", "3", "--out", str(out)]) == 0
    params = read_params(out)
    assert params["model"] == name and params["seed"] == 3 and params["prompt"] == prompt


@pytest.mark.parametrize("name", ["digits-vae", "digits-dcgan"])
def test_bundled_digit_models_draw_the_digit_asked_for(name):
    from genlab.io import to_tensor
    from genlab.train.classic import DigitsMonitor

    pipe = genlab.load(name)
    images, asked = [], []
    for k in range(10):
        images += pipe(f"the digit {k}", seed=k, num_images=4).images
        asked += [k] * 4
    predicted = DigitsMonitor().predict(torch.stack([to_tensor(im) for im in images]))
    accuracy = (predicted == torch.tensor(asked)).float().mean().item()
    assert accuracy > 0.6, f"{name}: only {accuracy:.0%} of samples show the digit asked for"
