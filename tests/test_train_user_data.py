"""`genlab train --recipe NAME --data SHARDS_OR_FOLDER`: a text-to-image recipe trained on your
own captioned images (a folder, or the shards `genlab data prepare` writes from it), with words
the built-in world has never seen."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab.cli import main

COLORS = {"teal": (0, 128, 128), "orange": (255, 140, 0), "maroon": (128, 0, 0)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """12 captioned photos of kites and lanterns, 40×30 (not square: they are cropped)."""
    root = tmp_path_factory.mktemp("mine")
    rng = np.random.default_rng(0)
    for i in range(12):
        color = list(COLORS)[i % 3]
        thing = "kite" if i % 2 else "lantern"
        image = Image.new("RGB", (40, 30), (240, 240, 230))
        x, y = (int(v) for v in rng.integers(4, 20, 2))
        image.paste(COLORS[color], (x, y, x + 12, y + 8))
        image.save(root / f"photo{i:02d}.png")
        (root / f"photo{i:02d}.txt").write_text(f"a {color} {thing} over the harbour\n")
    return root


def train(capsys, out, *argv):
    code = main(["train", "--tiny", "--steps", "3", "--no-progress", "--json", "--device", "cpu",
                 "--out", str(out), *argv])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["world-t2i-cpu-joint", "world-t2i-cpu"])
def test_a_recipe_trains_on_a_captioned_folder_and_learns_its_words(
    folder, tmp_path, capsys, recipe
):
    code, captured = train(capsys, tmp_path, "--recipe", recipe, "--data", str(folder))
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["steps"] == 3 and math.isfinite(summary["last_logs"]["loss"])
    pipe = genlab.load(summary["model"], device="cpu")
    tokenizer = pipe.text_encoder.tokenizer
    for word in ("kite", "lantern", "harbour", "teal", "maroon"):
        assert word in tokenizer.index, word  # none is a world word: learned from the captions
    image = pipe("a teal kite over the harbour", num_inference_steps=2, seed=0).images[0]
    assert image.size == (16, 16)  # --tiny: the recipe's 16 px
    card = (tmp_path / f"{pipe.name}.md").read_text()
    assert "12 captioned images of your own" in card


@pytest.mark.slow
def test_a_recipe_trains_on_the_shards_data_prepare_writes(folder, tmp_path, capsys):
    shards = tmp_path / "shards"
    argv = ["data", "prepare", str(folder), "--out", str(shards), "--workers", "1", "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    assert list(shards.glob("*.tar"))
    code, captured = train(capsys, tmp_path / "run", "--recipe", "world-t2i-cpu-joint",
                           "--data", str(shards))  # fmt: skip
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    pipe = genlab.load(summary["model"], device="cpu")
    assert "lantern" in pipe.text_encoder.tokenizer.index


def test_data_is_refused_where_it_cannot_apply(folder, tmp_path, capsys):
    code, captured = train(capsys, tmp_path, "--recipe", "world-t2i-layout", "--data", str(folder))
    assert code == 2 and "--data" in captured.err and "world-t2i-cpu" in captured.err
    code, captured = train(capsys, tmp_path, "--recipe", "world-t2i-cpu", "--data", "world:10")
    assert code == 2 and "--data" in captured.err
    code, captured = train(
        capsys, tmp_path, "--recipe", "world-t2i-cpu", "--data", str(tmp_path / "nope")
    )
    assert code == 2 and "--data" in captured.err
