"""benchmarks/text_separation.py on the bundled world-t2i and on an encoder with a word residual."""

import json

import torch
from benchmark_scripts import load_benchmark

bench = load_benchmark("text_separation")


def test_bundled_tower_hardly_tells_relations_apart_but_does_colors(tmp_path, capsys):
    out = tmp_path / "sep.json"
    assert bench.main(["world-t2i", "--json", str(out)]) == 0
    rows = {r["differs"] + ":" + r["a"]: r for r in json.loads(out.read_text())["world-t2i"]}
    assert rows["relation:a red circle above a blue square"]["pooled"] > 0.99
    assert rows["color:a red circle"]["pooled"] < 0.7
    binding = "motion binding:a red circle moving right while a blue square grows"
    assert rows[binding]["pooled"] is None  # words it lacks ("while"): no figure
    assert "relation" in capsys.readouterr().out


def test_the_bundled_video_model_hears_no_direction(tmp_path):
    """The finding behind world-t2v-words: world-t2v's encoder puts "moving left" and "moving
    right" (pooled) at cosine ≥ 0.99."""
    out = tmp_path / "sep.json"
    assert bench.main(["world-t2v", "--json", str(out)]) == 0
    rows = {r["a"]: r for r in json.loads(out.read_text())["world-t2v"]}
    assert rows["a red circle moving left"]["pooled"] > 0.99
    assert rows["a red circle"]["pooled"] < 0.7


def test_a_word_residual_separates_what_the_tower_does_not():
    import genlab

    encoder = genlab.load("world-t2i").text_encoder.with_word_residual().eval()
    a, b = "a red circle above a blue square", "a red circle below a blue square"
    before = bench.separation(encoder, a, b)
    with torch.no_grad():  # give "above" its own direction
        row = encoder.tokenizer.index["above"]
        encoder.word_residual.weight[row] = torch.randn(encoder.width) * 0.1
    after = bench.separation(encoder, a, b)
    assert before[0] > 0.99 and after[0] < before[0] and after[1] < before[1] - 0.1


def test_unknown_model_is_one_line_and_exit_2(capsys):
    assert bench.main(["no-such-model"]) == 2
    assert capsys.readouterr().err.startswith("genlab: error:")
