"""Video metrics: flicker is zero for still or steadily moving frames, the tracked parser scores
real world clips as matching their prompts, subject consistency and FVD order what they should."""

import json

import numpy as np
import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.eval.video import (
    VideoFeatureNet,
    flicker,
    fvd,
    motion_accuracy,
    motion_prompts,
    score_video,
    subject_consistency,
)
from genlab.world import Obj, Scene, render_video


def test_flicker_is_zero_for_a_still_video_and_high_for_alternating_frames():
    scene = Scene((Obj("circle", "red", "large", 1, 1),), "black", {"motions": ["still"]})
    still = render_video(scene, 6, 32)
    assert flicker(still) == 0.0
    other = render_video(Scene(scene.objects, "white", {"motions": ["still"]}), 6, 32)
    alternating = np.stack([still[0], other[0]] * 3)
    assert flicker(alternating) > 0.5


def test_real_world_clips_score_full_motion_and_attribute_accuracy():
    prompts, clips = motion_prompts(8, seed=3)
    result = motion_accuracy(prompts, list(clips))
    assert result["videos"] == 8
    assert result["motion_accuracy"] >= 0.85 and result["attribute_accuracy"] == 1.0
    assert result["later_frame_attributes"] == 1.0


def test_an_object_seen_only_in_the_first_frame_fails_the_later_frame_check():
    """The attribute checks read the first frame, so a video that keeps a given first frame
    (image → video) and loses the object after it still passes them; the later-frame measure
    does not."""
    prompts, clips = motion_prompts(8, seed=3)
    vanished = clips.copy()
    vanished[:, 1:] = clips[:, :1, :1, :1]  # every later frame: the background color only
    result = motion_accuracy(prompts, list(vanished))
    assert result["attribute_accuracy"] == 1.0 and result["later_frame_attributes"] == 0.0
    half = clips.copy()
    half[:, 4:] = clips[:, :1, :1, :1]  # the object is gone from frame 4 on: 3 of 7 frames seen
    assert motion_accuracy(prompts, list(half))["later_frame_attributes"] == pytest.approx(3 / 7)
    noisy = clips.copy()
    rng = np.random.default_rng(0)
    for video in noisy:
        for frame in video[1:]:  # scatter 3×3 blobs of random colors: strays, not the object
            for y, x in rng.integers(0, 29, (6, 2)):
                frame[y : y + 3, x : x + 3] = rng.integers(0, 256, 3)
    result = motion_accuracy(prompts, list(noisy))
    assert result["later_frame_attributes"] < 0.2


def test_a_clip_played_backwards_fails_its_motion_check():
    scene = Scene((Obj("square", "blue", "large", 1, 1),), "black", {"motions": ["right"]})
    clip = render_video(scene, 8, 32)
    prompt = "a large blue square in the center moving right on a black background"
    forward, backward = score_video(prompt, clip), score_video(prompt, clip[::-1])
    assert forward.motion_ok == 1 and backward.motion_ok == 0 and backward.motion_total == 1
    assert forward.motions == [("right", "right")] and backward.motions == [("right", "left")]


def test_motion_accuracy_breaks_down_by_the_motion_asked():
    """Per asked motion: its accuracy, how often it was asked and what was found most often; here
    every clip played backwards, so "left" is read as "right" (a "growing" object starts large
    played backwards: not the small one asked, so not found)."""
    prompts, clips = motion_prompts(24, seed=3)
    result = motion_accuracy(prompts, list(clips[:, ::-1]))
    by_kind = result["motion_by_kind"]
    assert sum(k["asked"] for k in by_kind.values()) == 24
    opposite = {"left": "right", "right": "left", "up": "down", "down": "up", "grow": "shrink",
                "shrink": "grow", "still": "still", "bounce": "bounce"}  # fmt: skip
    for kind, row in by_kind.items():
        assert row["most_found"] in (opposite[kind], "nothing"), kind
        assert row["accuracy"] == (1.0 if opposite[kind] == kind else 0.0), kind
    assert {by_kind[k]["most_found"] for k in ("left", "right", "up", "down") if k in by_kind} <= {
        "left", "right", "up", "down"}  # fmt: skip


def test_motion_accuracy_wants_one_prompt_per_video():
    with pytest.raises(InvalidArgument, match="one prompt per video"):
        motion_accuracy(["a red circle"], [])


def test_subject_consistency_is_higher_for_one_scene_than_for_unrelated_frames():
    _, clips = motion_prompts(8, seed=4)
    same = subject_consistency(clips[0])
    mixed = subject_consistency(clips[:, 0])  # first frames of 8 different scenes
    assert same > 0.9 and mixed < same


@pytest.mark.slow
def test_fvd_is_near_zero_for_one_set_and_grows_for_broken_videos():
    torch.manual_seed(0)
    net = VideoFeatureNet(channels=(8, 8, 16)).eval()
    _, real = motion_prompts(12, seed=5)
    _, real2 = motion_prompts(12, seed=6)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, real.shape, dtype=np.uint8)
    assert fvd(real, real, net) < 1e-6
    assert fvd(real, real2, net) < fvd(real, noise, net)


@pytest.mark.slow
def test_the_video_eval_command_prints_each_asked_motion(capsys):
    from genlab.cli import main

    args = ["video-eval", "--n", "3", "--steps", "2", "--frames", "4"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "motion_accuracy:" in out and "found most often:" in out and "videos: 3" in out
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sum(row["asked"] for row in result["motion_by_kind"].values()) == 3
    assert result["guidance_scale"] == 3.0  # the model's default
    assert main([*args, "--guidance", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["guidance_scale"] == 5.0
    assert main([*args, "--guidance", "-1"]) == 2
    assert "guidance" in capsys.readouterr().err
    assert main([*args, "--keyframe-candidates", "2"]) == 2  # without --keyframe
    assert "keyframe_candidates: expected 1 unless a keyframe model" in capsys.readouterr().err


def test_the_video_eval_command_runs_the_motion_suite_strict_first(capsys):
    from genlab.cli import main

    args = ["video-eval", "--split", "paraphrased", "--categories", "single", "--n", "1"]
    assert main([*args, "--steps", "1", "--frames", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("paraphrased: strict ") and "lenient" in lines[0]
    assert lines[1].startswith("  single: strict ") and lines[2].startswith("    ")
    assert main(["video-eval", "--split", "typed"]) == 2
    err = capsys.readouterr().err
    assert "--split" in err and "canonical, paraphrased" in err and err.count("\n") == 1
