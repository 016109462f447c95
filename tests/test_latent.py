"""Specification of latent diffusion: the latent recipe reuses the world-t2i task on autoencoder
latents, its checkpoint carries the autoencoder, and `genlab.load` / `genlab generate` sample and
edit through the same Text2ImagePipeline, decoding at the end; training reads a latent cache."""

import numpy as np
import pytest
import torch

import genlab
from genlab.cli import main
from genlab.data.cache import LatentCache, build_cache
from genlab.data.curate import CurationConfig, prepare
from genlab.errors import GenlabError, InvalidArgument
from genlab.io import read_checkpoint_config, read_params, save_checkpoint
from genlab.models import create_model
from genlab.train import RecipeOptions, Trainer, get_recipe, run_recipe
from genlab.train.latent import build_latent_t2i
from genlab.train.text2image import world_vocabulary


@pytest.fixture(scope="module")
def latent_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("latent")
    # two steps: the tests read the export's format and draw from it, not its quality
    options = RecipeOptions(tiny=True, steps=2, out_dir=str(out), progress=False)
    summary = run_recipe("world-t2i-latent", options)
    return summary["model"]


def test_latent_checkpoint_carries_the_autoencoder_and_its_scaling_factor(latent_model):
    config = read_checkpoint_config(latent_model)
    assert config["pipeline"] == "text2image"
    assert config["denoiser"]["in_channels"] == 4
    assert config["autoencoder"]["arch"] == "autoencoder-kl"
    assert "scaling_factor" in config["autoencoder"]


def test_latent_model_generates_pixels_through_the_text2image_pipeline(latent_model):
    pipe = genlab.load(latent_model, device="cpu")
    assert pipe.autoencoder is not None
    result = pipe(["a red circle", "a blue square"], num_inference_steps=2, seed=3)
    assert [im.size for im in result.images] == [(16, 16), (16, 16)]
    assert result.metadata[0]["height"] == 16 and result.metadata[0]["seed"] == 3
    again = pipe("a blue square", num_inference_steps=2, seed=4)
    assert np.array_equal(np.asarray(again.images[0]), np.asarray(result.images[1]))


def test_latent_model_sizes_must_be_multiples_of_both_factors(latent_model):
    pipe = genlab.load(latent_model, device="cpu")
    with pytest.raises(InvalidArgument, match="multiple of 8"):  # f = 4 × U-Net factor 2
        pipe("a red circle", num_inference_steps=1, height=12)
    assert pipe("a red circle", num_inference_steps=1, height=24, seed=0).images[0].size == (16, 24)


def test_latent_model_edits_by_encoding_the_image(latent_model):
    pipe = genlab.load(latent_model, device="cpu")
    image = pipe("a red circle", num_inference_steps=2, seed=0).images[0]
    img2img = pipe.edit(image, "a green star", strength=0.5, num_inference_steps=2, seed=0)
    mask = np.zeros((16, 16), np.float32)
    mask[:, :8] = 1
    inpainted = pipe.edit(image, "a green star", mask=mask, num_inference_steps=2, seed=0)
    assert img2img.images[0].size == inpainted.images[0].size == (16, 16)
    assert inpainted.metadata[0]["edit"] == "inpaint"


def test_generate_cli_works_with_a_latent_model(latent_model, tmp_path):
    out = tmp_path / "x.png"
    rc = main(["generate", "a red circle", "--model", latent_model, "--steps", "2", "--seed", "1", "--out", str(out), "--device", "cpu"])  # fmt: skip
    assert rc == 0 and read_params(out)["seed"] == 1


@pytest.fixture(scope="module")
def tiny_ae_and_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    prepare("world:12", root / "shards", CurationConfig(workers=1, resize=16), progress=False)
    torch.manual_seed(0)
    ae = create_model("kl-tiny").eval()
    path = root / "ae.safetensors"
    save_checkpoint(
        path,
        ae.state_dict(),
        {"kind": "autoencoder-kl", "model": ae.config.to_dict(), "name": "tiny-a"},
    )
    return root, ae, path


def test_cache_holds_scaled_latents_and_tokens_of_every_sample(tiny_ae_and_shards):
    root, ae, _ = tiny_ae_and_shards
    tokenizer = world_vocabulary()
    info = build_cache(
        root / "shards", ae, root / "c.safetensors", tokenizer=tokenizer, progress=False
    )
    assert info["count"] == 12
    cache = LatentCache.load(root / "c.safetensors", autoencoder=ae, tokenizer=tokenizer)
    assert cache.latents.shape == (12, 4, 4, 4) and cache.tokens.shape == (12, 1, 48)
    from genlab.data.shards import ShardDataset

    first = ShardDataset(root / "shards")[0]["image"][None]
    expected = ae.encode_latents(first)[0]
    assert torch.allclose(cache.latents[0], expected, atol=2e-3)  # stored as float16


def test_a_cache_built_with_another_autoencoder_is_refused(tiny_ae_and_shards):
    root, ae, _ = tiny_ae_and_shards
    build_cache(root / "shards", ae, root / "c2.safetensors", progress=False)
    torch.manual_seed(1)
    other = create_model("kl-tiny").eval()
    with pytest.raises(GenlabError, match="built with autoencoder .* rebuild it"):
        LatentCache.load(root / "c2.safetensors", autoencoder=other)


def test_latent_training_reads_the_cache_without_encoding(tiny_ae_and_shards, tmp_path):
    root, ae, _ = tiny_ae_and_shards
    build_cache(
        root / "shards", ae, root / "c3.safetensors", tokenizer=world_vocabulary(), progress=False
    )
    spec = get_recipe("world-t2i-latent").resolve(tiny=True)
    options = RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False, steps=3)
    job = build_latent_t2i("cached", spec, options, ae, cache=root / "c3.safetensors")
    assert set(job.data.tensors) == {"latents", "tokens"} and job.data.length == 12

    def no_encoding(*args, **kwargs):
        raise AssertionError("the encoder ran although the batch came from the cache")

    ae.encode_latents = no_encoding
    try:
        summary = Trainer(job.task, job.data, job.config).run()
    finally:
        del ae.encode_latents
    assert summary["steps"] == 3


def test_cli_cache_writes_the_file_and_names_the_autoencoder(tiny_ae_and_shards, tmp_path, capsys):
    root, _, ae_path = tiny_ae_and_shards
    out = tmp_path / "cache.safetensors"
    assert main(["data", "cache", str(root / "shards"), "--autoencoder", str(ae_path), "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    assert "cached 12 latents" in capsys.readouterr().out
    assert read_checkpoint_config(out)["autoencoder"] == "tiny-a"
    assert main(["data", "cache", str(root / "shards"), "--autoencoder", "nope", "--out", str(out)]) == 2  # fmt: skip
    assert "no checkpoint or bundled autoencoder" in capsys.readouterr().err


def test_latent_dit_recipe_trains_a_dit_on_latents(tmp_path):
    summary = run_recipe(
        "world-t2i-latent-dit",
        RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False, steps=2),
    )
    config = read_checkpoint_config(summary["model"])
    assert config["denoiser"]["arch"] == "dit" and config["denoiser"]["in_channels"] == 4
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe("a red circle", num_inference_steps=1, seed=0).images[0].size == (16, 16)


def test_bundled_latent_model_draws_64_px_images_that_follow_the_background(tmp_path):
    """world-t2i-latent-64 from a fresh clone: `genlab generate --model world-t2i-latent-64`
    writes 64×64 PNGs, and the prompt's background reaches the pixels through the latents."""
    from PIL import Image

    means = {}
    for background in ("black", "white"):
        out = tmp_path / f"{background}.png"
        argv = ["generate", f"a red circle on a {background} background", "--model",
                "world-t2i-latent-64", "--steps", "10", "--seed", "0", "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        image = Image.open(out)
        assert image.size == (64, 64)
        assert read_params(out)["model"] == "world-t2i-latent-64"
        means[background] = float(np.asarray(image.convert("L")).mean())
    assert means["white"] - means["black"] > 100
