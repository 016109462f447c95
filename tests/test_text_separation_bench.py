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


def test_the_bundled_video_model_hears_direction_in_its_tokens_not_its_pooled_text(tmp_path):
    """world-t2v's encoder puts "moving left" and "moving right" nearly alike pooled (cosine
    ≥ 0.97: what steers its 3-D blocks) while their tokens differ (what cross-attention reads)."""
    out = tmp_path / "sep.json"
    assert bench.main(["world-t2v", "--json", str(out)]) == 0
    rows = {r["a"]: r for r in json.loads(out.read_text())["world-t2v"]}
    direction = rows["a red circle moving left"]
    assert direction["pooled"] > 0.97 and direction["token"] < direction["pooled"] - 0.3
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


def test_what_steers_the_3d_blocks_separates_direction_only_through_the_queries(tmp_path, capsys):
    """The steering table: world-t2v's 3-D blocks hear "left" and "right" through the pooled text
    only (cosine ≈ 1); learned queries over the tokens can tell them apart."""
    import genlab
    from genlab.models import create_model

    out = tmp_path / "sep.json"
    assert bench.main(["world-t2v", "--json", str(out)]) == 0
    assert "what steers the video U-Net's 3-D blocks" in capsys.readouterr().out
    rows = json.loads(out.read_text())["world-t2v (3-D blocks' steering)"]
    left_right = next(r for r in rows if r["a"] == "a red circle moving left")
    assert left_right["pooled_path"] > 0.98 and left_right["with_queries"] is None

    encoder = genlab.load("world-t2v").text_encoder.eval()
    width = encoder.width
    denoiser = create_model("video-unet-tiny", context_dim=width, pooled_dim=width,
                            temporal_conv=True, temporal_text=True).eval()  # fmt: skip
    torch.manual_seed(0)
    torch.nn.init.normal_(denoiser.temporal_text.proj.weight, std=0.5)  # as if trained
    a, b = "a red circle moving left", "a red circle moving right"
    plain, queried = bench.steering(denoiser, encoder, a, b)
    assert queried < plain
