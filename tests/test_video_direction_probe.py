"""benchmarks/video_direction_probe.py: its clips move as labelled, its scorer reads them right,
and a tiny run trains, samples both ways and writes JSON."""

import json

import pytest
import torch
from benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def probe():
    return load_benchmark("video_direction_probe")


def test_clips_move_one_pixel_per_frame_in_the_labelled_direction(probe):
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 1] * 8)
    video = probe.clips(labels, g)
    assert video.shape == (16, 1, probe.FRAMES, probe.SIZE, probe.SIZE)
    x, mass = probe.centroids(video)
    assert torch.all(mass == probe.SIDE**2)  # one whole square in every frame
    steps = x[:, 1:] - x[:, :-1]
    assert torch.all(steps[labels == 1] == 1) and torch.all(steps[labels == 0] == -1)
    # the start alone says nothing about the direction: both draw it from the same range
    labels = torch.tensor([0, 1] * 500)
    x, _ = probe.centroids(probe.clips(labels, g))
    left, right = x[labels == 0, 0], x[labels == 1, 0]
    assert left.min() == right.min() and left.max() == right.max()


def test_score_reads_real_clips_as_right_and_reversed_ones_as_wrong(probe):
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([0, 1, 1, 0])
    video = probe.clips(labels, g)
    assert probe.score(video, labels) == {
        "direction_accuracy": 1.0, "mean_shift_px": 7.0, "whole_frames": 1.0
    }  # fmt: skip
    assert probe.score(video, 1 - labels)["direction_accuracy"] == 0.0
    empty = -torch.ones_like(video)
    assert probe.score(empty, labels)["direction_accuracy"] == 0.0


def test_tiny_run_writes_both_sampling_modes(probe, tmp_path):
    out = tmp_path / "probe.json"
    argv = ["--steps", "2", "--batch", "2", "--width", "32", "--depth", "1", "--samples", "1",
            "--out", str(out)]  # fmt: skip
    assert probe.main(argv) == 0
    result = json.loads(out.read_text())
    for mode in ("first_frame", "label_only"):
        assert 0.0 <= result[mode]["direction_accuracy"] <= 1.0
    assert result["real_clips"]["direction_accuracy"] == 1.0


def test_bad_option_is_refused(probe):
    with pytest.raises(SystemExit) as e:
        probe.main(["--steps", "0"])
    assert e.value.code == 2
