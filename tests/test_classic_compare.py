"""benchmarks/compare_families.py: the families on one task, one table row and one grid row per
model (strict accuracy per category, diversity, speed, parameters, training cost)."""

import json

import torch
from benchmark_scripts import load_benchmark
from PIL import Image

from genlab.io import save_checkpoint
from genlab.models.ar_layout import LAYOUT_AR_MODELS, LayoutARTransformer
from genlab.models.gan import GAN, GAN_MODELS
from genlab.models.vqvae import VQVAE, VQVAE_MODELS
from genlab.text.encoder import TextEncoder
from genlab.train.classic import GANTask
from genlab.train.world_families import LayoutARTask, PlanCondition


def _script():
    return load_benchmark("compare_families")


def _tiny_models(tmp_path, training: dict | None = None) -> list[str]:
    """A plan-conditioned GAN and a two-stage VQ + AR, untrained, at 16 px (their checkpoints
    record `training` as a trained export's would, when given)."""
    torch.manual_seed(0)
    text = TextEncoder(width=16, depth=1, num_heads=2, max_length=8)
    plan = PlanCondition(text)
    gan = GAN(dict(GAN_MODELS["gan-tiny"], in_channels=3, **plan.model_kwargs)).eval()
    prior = LayoutARTransformer(dict(LAYOUT_AR_MODELS["ar-layout-tiny"], text_dim=16))
    vq = VQVAE(VQVAE_MODELS["vqvae-tiny"])
    paths = []
    for name, (tensors, config) in (
        ("tiny-gan", GANTask(gan, plan).export()),
        ("tiny-ar", LayoutARTask(prior, vq, text).export()),
    ):
        path = tmp_path / f"{name}.safetensors"
        config = {**config, "name": name, **({"training": training} if training else {})}
        paths.append(str(save_checkpoint(path, tensors, config)))
    return paths


def test_comparison_prints_a_row_per_model_and_writes_the_grid(tmp_path, capsys):
    models = _tiny_models(tmp_path)
    grid, table = tmp_path / "grid.png", tmp_path / "rows.json"
    args = ["--models", *models, "--prompts-per-category", "1", "--diversity-samples", "2"]
    assert _script().main([*args, "--no-fid", "--out", str(grid), "--json", str(table)]) == 0
    out = capsys.readouterr().out
    assert "| model | family | strict acc. (95% CI) | single | two | count |" in out
    rows = json.loads(table.read_text())
    assert [r["family"] for r in rows] == ["GAN", "VQ + AR"]
    for r in rows:
        assert r["images"] == 6 and len(r["categories"]) == 6  # one prompt per category
        assert 0 <= r["accuracy"] <= 1 and r["fid"] is None
        assert r["parameters"] > 0 and r["images_per_s"] > 0
        assert 0 < r["distinct_scenes"] <= 1
    with Image.open(grid) as im:
        assert im.height == 14 + 2 * (32 * 3 + 2) + 2  # a header, then one row per model


def test_comparison_refuses_a_bad_count(capsys):
    assert _script().main(["--models", "x", "--prompts-per-category", "0"]) == 2
    assert "--prompts-per-category" in capsys.readouterr().err


def test_an_equal_budget_table_refuses_a_model_trained_on_other_images(tmp_path, capsys):
    """--budget: a checkpoint that does not record exactly that many images seen (here none)
    stops the script before anything is measured."""
    models = _tiny_models(tmp_path)
    assert _script().main(["--models", *models, "--budget", "24128"]) == 2
    err = capsys.readouterr().err
    assert "--budget" in err and "tiny-gan" in err and "says None" in err


def test_an_equal_budget_table_measures_models_that_saw_the_budget_under_their_labels(
    tmp_path, capsys
):
    """--budget with every checkpoint at that many images: the table, its training cost columns
    and the budget line; LABEL=PATH names a row."""
    cost = {"samples_seen": 128, "wall_time_s": 12.5, "hardware": "CPU (x86_64, 1 threads)"}
    gan, ar = _tiny_models(tmp_path, cost)
    table = tmp_path / "rows.json"
    args = ["--models", gan, f"ar-128={ar}", "--budget", "128", "--prompts-per-category", "1"]
    args += ["--diversity-samples", "2", "--no-fid", "--out", str(tmp_path / "grid.png")]
    assert _script().main([*args, "--json", str(table)]) == 0
    out = capsys.readouterr().out
    assert "equal budget: every model saw 128 images in training" in out
    rows = json.loads(table.read_text())
    assert [r["model"] for r in rows] == ["tiny-gan", "ar-128"]
    assert [(r["images_seen"], r["train_seconds"]) for r in rows] == [(128, 12.5)] * 2
    assert "| ar-128 | VQ + AR |" in out and "| 128 | 12 |" in out
