"""Post-processing: flow interpolation puts in-between frames where the motion is, smoothing damps
flicker, the upscaler starts as bicubic, and MP4 / GIF files round-trip with their parameters."""

import numpy as np
import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.eval.video import flicker
from genlab.pipelines.postprocess import (
    Upscaler,
    interpolate_frames,
    read_video,
    read_video_params,
    temporal_smoothing,
    upscale,
    write_video,
)
from genlab.world import Obj, Scene, render_video


def moving_square(num_frames):
    scene = Scene((Obj("square", "red", "large", 1, 1),), "black", {"motions": ["right"]})
    return render_video(scene, num_frames, 32)


def test_interpolation_inserts_frames_that_follow_the_motion():
    coarse, fine = moving_square(5), moving_square(9)  # fine[2k] == coarse[k]
    mid = interpolate_frames(coarse, 2)
    assert mid.shape == (9, 32, 32, 3) and np.array_equal(mid[::2], coarse)
    err_flow = np.abs(mid[1::2].astype(int) - fine[1::2]).mean()
    blend = ((coarse[:-1].astype(int) + coarse[1:]) / 2).round()
    err_blend = np.abs(blend - fine[1::2]).mean()
    assert err_flow < err_blend
    assert interpolate_frames(coarse, 4).shape[0] == 17


def test_interpolation_accepts_only_2x_or_4x():
    with pytest.raises(InvalidArgument, match="factor: expected 2 or 4"):
        interpolate_frames(moving_square(3), 3)


def test_temporal_smoothing_reduces_flicker_and_keeps_a_still_video():
    rng = np.random.default_rng(0)
    still = moving_square(2)[:1].repeat(8, axis=0)
    noisy = np.clip(still + rng.integers(-30, 30, still.shape), 0, 255).astype(np.uint8)
    assert flicker(temporal_smoothing(noisy, 1.0)) < 0.5 * flicker(noisy)
    assert np.array_equal(temporal_smoothing(still, 1.0), still)


def test_the_learned_upscaler_starts_as_bicubic_and_upscale_doubles_the_side():
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    bicubic = torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic")
    assert torch.equal(Upscaler(factor=2)(x), bicubic)
    assert upscale(moving_square(3), 2, "bicubic").shape == (3, 64, 64, 3)


@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_videos_round_trip_with_their_parameters(tmp_path, ext):
    frames = moving_square(6)
    path = write_video(tmp_path / f"v.{ext}", frames, fps=6, params={"prompt": "a red square"})
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 6
    assert np.abs(back.astype(int) - frames).mean() < 3  # H.264 is lossy, GIF exact here
    assert read_video_params(path) == {"prompt": "a red square", "fps": 6.0}


def test_a_gif_of_identical_frames_keeps_its_frame_count(tmp_path):
    still = moving_square(2)[:1].repeat(5, axis=0)
    back, _ = read_video(write_video(tmp_path / "still.gif", still, fps=8))
    assert back.shape[0] == 5


def test_mp4_pads_odd_sides_to_even_for_h264(tmp_path):
    frames = moving_square(4)[:, :31, :29]
    back, _ = read_video(write_video(tmp_path / "odd.mp4", frames, fps=8))
    assert back.shape == (4, 32, 30, 3)


@pytest.mark.parametrize(
    "name, fps, message",
    [("v.webm", 8, "out: expected a path ending in .mp4 or .gif"), ("v.mp4", 0, "fps: expected")],
)
def test_bad_paths_and_fps_raise_before_writing_anything(tmp_path, name, fps, message):
    with pytest.raises(InvalidArgument, match=message):
        write_video(tmp_path / name, moving_square(3), fps=fps)
    assert list(tmp_path.iterdir()) == []
