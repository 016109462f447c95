"""`genlab eval MODEL` writes a self-contained HTML report and JSON; `genlab metrics` compares
folders, the world and models; bad input (empty or mismatched folders, unreadable files, too few
samples) gives one clear line and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.eval.images import load_folder, world_set
from genlab.io import save_image

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def _write_world_folder(folder, n, seed, size=32):
    s = world_set(n, size=size, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (image, caption) in enumerate(zip(s.images, s.captions)):
        save_image(folder / f"{i:03d}.png", image.permute(1, 2, 0).numpy(), {"prompt": caption})
    return folder


@pytest.mark.slow
def test_eval_report_of_the_world_oracle_holds_metrics_floor_and_inlined_images(tmp_path, capsys):
    out = tmp_path / "report"
    rc = main(
        [
            "eval",
            "world-oracle",
            "--n",
            "20",
            "--prompts-per-category",
            "1",
            "--images-per-prompt",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "real-vs-real floor" in printed and "compositional held_out" in printed
    data = json.loads((out / "report.json").read_text())
    assert data["fid"]["n_fake"] == data["fid"]["n_real"] == 20
    assert data["fid"]["fid"] == pytest.approx(data["fid"]["fid_floor"], rel=0.5)  # it is real data
    assert (
        data["clip"]["generated"]["clip_score"] > data["clip"]["generated"]["clip_score_shuffled"]
    )
    assert data["compositional"]["in_distribution"]["pooled_accuracy"] >= 0.8
    assert any("sweeps skipped" in note for note in data["notes"])
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") > 10 and 'src="http' not in page
    assert "Minimum samples" in page and "Wilson" in page


@pytest.mark.slow
def test_eval_report_of_a_text_to_image_checkpoint_has_step_and_guidance_sweeps(tmp_path):
    from genlab.diffusion import NoiseSchedule
    from genlab.io import save_checkpoint
    from genlab.models import create_model
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder, TextEncoderConfig
    from genlab.text.encoder import TEXT_ENCODERS

    torch.manual_seed(0)
    pipe = Text2ImagePipeline(
        create_model("unet-tiny"),
        TextEncoder(TextEncoderConfig(**{**TEXT_ENCODERS["text-tiny"], "max_length": 48})),
        NoiseSchedule.create("linear"),
        "epsilon",
        name="tiny",
        image_size=16,
    )
    path = save_checkpoint(tmp_path / "tiny.safetensors", *pipe.checkpoint())
    out = tmp_path / "report"
    argv = [
        "eval",
        str(path),
        "--n",
        "10",
        "--steps",
        "1",
        "--prompts-per-category",
        "1",
        "--images-per-prompt",
        "1",
    ]
    argv += [
        "--sweep-steps",
        "1,2",
        "--sweep-samplers",
        "ddim",
        "--sweep-guidance",
        "1,3",
        "--sweep-prompts",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    data = json.loads((out / "report.json").read_text())
    sweeps = data["sweeps"]
    assert [(r["sampler"], r["steps"]) for r in sweeps["steps"]] == [("ddim", 1), ("ddim", 2)]
    assert [r["guidance_scale"] for r in sweeps["guidance"]] == [1.0, 3.0]
    assert all(
        np.isfinite(r["fid"]) and 0 <= r["accuracy"] <= 1
        for r in sweeps["steps"] + sweeps["guidance"]
    )
    page = (out / "report.html").read_text()
    assert "accuracy vs steps" not in page  # plot titles live inside the PNGs, not the HTML text
    assert page.count("data:image/png;base64,") > 10 and "Sweeps" in page


def test_metrics_fid_between_folders_prints_fid_kid_and_floor_and_counts_unreadable_files(
    tmp_path, capsys
):
    a = _write_world_folder(tmp_path / "a", 24, seed=1)
    b = _write_world_folder(tmp_path / "b", 24, seed=2)
    (b / "broken.png").write_bytes(b"not a png")
    assert main(["metrics", "fid", str(a), str(b), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["n_a"] == result["n_b"] == 24 and result["skipped_b"] == 1
    assert result["fid"] > 0 and result["fid_floor"] > 0 and "split halves" in result["floor"]
    assert "skipped 1 unreadable file(s): broken.png" in captured.err


def test_metrics_clip_score_reads_captions_from_png_parameters(tmp_path, capsys):
    folder = _write_world_folder(tmp_path / "imgs", 12, seed=3)
    assert load_folder(folder).captions is not None
    assert main(["metrics", "clip-score", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["clip_score"] > result["clip_score_shuffled"] and result["n"] == 12


@pytest.mark.parametrize(
    "setup, argv_tail, message",
    [
        ("empty", ["world"], "a directory with image files"),
        ("mixed_sizes", ["world"], "images of one size"),
        ("few", ["world"], "at least 10 samples for FID"),
        ("unreadable", ["world"], "none of the 2 image files"),
    ],
)
def test_metrics_bad_folders_give_one_line_and_exit_2(tmp_path, capsys, setup, argv_tail, message):
    folder = tmp_path / setup
    folder.mkdir()
    if setup == "mixed_sizes":
        save_image(folder / "a.png", np.zeros((32, 32, 3), np.uint8))
        save_image(folder / "b.png", np.zeros((16, 16, 3), np.uint8))
    elif setup == "few":
        _write_world_folder(folder, 4, seed=0)
    elif setup == "unreadable":
        (folder / "a.png").write_bytes(b"junk")
        (folder / "b.jpg").write_bytes(b"junk")
    assert main(["metrics", "fid", str(folder), *argv_tail, "--n", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error:") and message in err and err.count("\n") == 1


def test_eval_rejects_bad_numbers_and_unknown_models_before_sampling(capsys):
    assert main(["eval", "world-oracle", "--n", "3", "--suite", "fid"]) == 2
    assert "at least 10 samples for FID" in capsys.readouterr().err
    assert main(["eval", "no-such-model", "--n", "20"]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["metrics", "ratings", "--db", "/nonexistent-dir/x/h.sqlite"]) in (0, 2)


def test_eval_to_history_gives_preference_pairs_and_ratings_list_the_models(
    tmp_path, monkeypatch, capsys
):
    from genlab.eval.preference import PreferenceStore

    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    base = ["--suite", "compositional", "--prompts-per-category", "1", "--images-per-prompt", "1"]
    for model in ("world-oracle", "world-oracle:blur=1.5"):
        assert (
            main(["eval", model, *base, "--to-history", "--out", str(tmp_path / model), "--quiet"])
            == 0
        )
    store = PreferenceStore()
    pair = store.next_pair(seed=0)
    assert {pair.model_a, pair.model_b} == {"world-oracle", "world-oracle:blur=1.5"}
    store.vote(pair.image_a, pair.image_b, "a" if pair.model_a == "world-oracle" else "b")
    capsys.readouterr()
    assert main(["metrics", "ratings"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("world-oracle ") and "1/0/0" in lines[1]


def test_eval_compositional_on_one_split_only(tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["eval", "world-oracle", "--suite", "compositional", "--prompts-per-category", "2",
            "--images-per-prompt", "1", "--splits", "held_out", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["compositional"]) >= {"held_out"}
    assert "in_distribution" not in report["compositional"]
    assert report["compositional"]["held_out"]["images"] == 12  # 6 categories × 2 prompts
    assert main([*argv[:-5], "--splits", "train", "--out", str(out)]) == 2
    assert "splits" in capsys.readouterr().err
