"""The classic families' recipes train through the shared Trainer (tiny configs) and export
checkpoints that `genlab.load` turns into pipelines."""

import json

import pytest
import torch

import genlab
from genlab.io import read_checkpoint_config
from genlab.train import RecipeOptions, list_recipes, run_recipe
from genlab.train.classic import Condition, DigitsMonitor, digits_tensors


def _tiny(name, tmp_path, **kw):
    return run_recipe(name, RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False, **kw))


def _logs(tmp_path):
    return [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]


def test_every_classic_recipe_is_registered():
    names = set(list_recipes())
    assert {"digits-vae", "digits-dcgan", "world-vq-ar", "world-vq-ar-cpu"} <= names


def test_digits_vae_recipe_logs_elbo_terms_and_exports_a_vae_pipeline(tmp_path):
    summary = _tiny("digits-vae", tmp_path)
    logs = _logs(tmp_path)[-1]
    assert {"loss", "recon", "kl"} <= set(logs) and logs["kl"] >= 0
    config = read_checkpoint_config(summary["model"])
    assert config["pipeline"] == "vae" and config["condition"]["type"] == "class"
    result = genlab.load(summary["model"])("the digit 4", seed=0)
    assert result.metadata[0]["class"] == "4"


def test_digits_dcgan_recipe_alternates_d_and_g_and_monitors_mode_collapse(tmp_path):
    summary = _tiny("digits-dcgan", tmp_path)
    logs = _logs(tmp_path)[-1]
    assert {"loss/discriminator", "loss/generator", "d_real", "d_fake"} <= set(logs)
    card = (tmp_path / "digits-dcgan.md").read_text()
    assert "Mode-collapse monitor" in card and "classes covered" in card
    tensors = read_checkpoint_config(summary["model"])
    assert tensors["pipeline"] == "gan" and tensors["model"]["net"] == "dcgan"


def test_world_vq_ar_recipe_trains_both_stages_and_exports_one_file(tmp_path):
    summary = _tiny("world-vq-ar", tmp_path)
    stage1 = _logs(tmp_path / "vqvae")[-1]
    assert {"recon", "commitment", "perplexity", "usage"} <= set(stage1)
    assert "bits_per_token" in _logs(tmp_path)[-1]
    config = read_checkpoint_config(summary["model"])
    assert config["pipeline"] == "vq-ar" and config["tokenizer"]["vocab"][0] == "[PAD]"
    assert config["ar"]["image_vocab_size"] == config["vqvae"]["codebook_size"]
    image = genlab.load(summary["model"])("a red circle", seed=0).images[0]
    assert image.size == (16, 16)


def test_condition_dropout_swaps_labels_for_the_null_class():
    cond = Condition(class_names=[str(i) for i in range(10)])
    labels = torch.arange(10).repeat(100)
    torch.manual_seed(0)
    dropped = cond({"label": labels}, dropout=0.1)
    share = (dropped == 10).float().mean().item()
    assert 0.05 < share < 0.15 and torch.equal(dropped[dropped != 10], labels[dropped != 10])


def test_digits_monitor_recognises_real_test_digits():
    test = digits_tensors(16, "test")
    accuracy = (DigitsMonitor().predict(test["image"]) == test["label"]).float().mean()
    assert accuracy > 0.9


def test_condition_needs_exactly_one_kind():
    with pytest.raises(ValueError, match="condition"):
        Condition()


def test_world_monitor_histograms_the_shapes_the_parser_finds():
    from genlab.io import to_tensor
    from genlab.train.classic import WorldShapeMonitor
    from genlab.world import SHAPES, Obj, Scene, render

    scenes = [Scene((Obj(shape, "red", "large", 1, 1),)) for shape in ("circle", "circle", "star")]
    images = torch.stack([to_tensor(render(s, 32)) for s in scenes])
    blank = torch.full((1, 3, 32, 32), -1.0)  # nothing to find: counted as "none"
    stats = WorldShapeMonitor()(torch.cat([images, blank]))
    counts = stats["counts"]
    assert counts[SHAPES.index("circle")] == 2 and counts[SHAPES.index("star")] == 1
    assert counts[len(SHAPES)] == 1 and stats["classes_covered"] == 3
