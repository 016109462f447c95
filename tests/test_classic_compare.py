"""benchmarks/compare_families.py: one table row and one grid row per model, with timing,
parameters and the alignment figure of its domain."""

import json

import torch
from benchmark_scripts import load_benchmark
from PIL import Image

from genlab.io import save_checkpoint
from genlab.models.ar_transformer import AR_MODELS, ARTransformer
from genlab.models.gan import GAN, GAN_MODELS
from genlab.models.vqvae import VQVAE, VQVAE_MODELS
from genlab.text.tokenizer import Tokenizer
from genlab.train.classic import ARTask, Condition, GANTask


def _script():
    return load_benchmark("compare_families")


def _tiny_models(tmp_path) -> list[str]:
    torch.manual_seed(0)
    digits = Condition(class_names=[str(i) for i in range(10)])
    gan = GAN(dict(GAN_MODELS["gan-tiny"], **digits.model_kwargs)).eval()
    tokenizer = Tokenizer()
    ar = ARTransformer(dict(AR_MODELS["ar-tiny"], text_vocab_size=len(tokenizer))).eval()
    vq = VQVAE(dict(VQVAE_MODELS["vqvae-tiny"], image_size=32, num_downsamples=3)).eval()
    ar_vq = ARTask(ar, vq, tokenizer).export()
    paths = []
    for name, (tensors, config) in (
        ("tiny-gan", GANTask(gan, digits).export()),
        ("tiny-ar", ar_vq),
    ):
        paths.append(str(save_checkpoint(tmp_path / f"{name}.safetensors", tensors, config)))
    return paths


def test_comparison_prints_a_row_per_model_and_writes_the_grid(tmp_path, capsys):
    models = _tiny_models(tmp_path)
    grid, table = tmp_path / "grid.png", tmp_path / "rows.json"
    args = ["--models", *models, "--per-prompt", "1", "--out", str(grid), "--json", str(table)]
    assert _script().main([*args, "--no-fid"]) == 0
    out = capsys.readouterr().out
    assert (
        "| model | family | domain | parameters | s / image | alignment | accuracy | FID |" in out
    )
    rows = json.loads(table.read_text())
    assert [r["family"] for r in rows] == ["GAN", "VQ + AR"]
    assert [r["domain"] for r in rows] == ["digits", "world"]
    assert rows[0]["images"] == 10 and rows[1]["images"] == 8  # one per prompt of its domain
    assert (
        rows[0]["alignment"] == "digit accuracy"
        and rows[1]["alignment"] == "compositional accuracy"
    )
    assert all(r["parameters"] > 0 and r["seconds_per_image"] > 0 for r in rows)
    assert all(0 <= r["accuracy"] <= 1 and r["fid"] is None for r in rows)
    with Image.open(grid) as im:
        assert im.height == 2 * (32 * 3 + 2) + 2  # one row per model


def test_comparison_refuses_a_bad_count(capsys):
    assert _script().main(["--models", "x", "--per-prompt", "0"]) == 2
    assert "--per-prompt" in capsys.readouterr().err
