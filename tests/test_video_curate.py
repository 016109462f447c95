"""Video curation on clips with planted cuts, static segments and a corrupt file: every per-step
count matches what was planted, and the kept clips are standardised, captioned WebDataset samples."""

import json
import tarfile

import numpy as np
import pytest

from genlab.data.video_curate import CurateConfig, curate_videos, detect_cuts, motion_score
from genlab.errors import InvalidArgument
from genlab.pipelines.postprocess import write_video
from genlab.world import Obj, Scene, render_video


def clip(color, background, motion, num_frames=8, cell=(1, 1)):
    scene = Scene((Obj("square", color, "large", *cell),), background, {"motions": [motion]})
    return render_video(scene, num_frames, 32)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    src = tmp_path_factory.mktemp("clips")
    a = clip("red", "black", "right")
    b = clip("yellow", "white", "down", cell=(0, 1))
    still = clip("blue", "gray", "still", 10)
    # two shots (one cut), both moving -> 2 clips
    write_video(src / "two_shots.mp4", np.concatenate([a, b]), fps=8)
    # one static shot -> dropped as static
    write_video(src / "static.mp4", still, fps=8)
    # 5 moving frames, a cut, 8 static frames -> 1 padded clip + 1 static segment
    write_video(src / "short_then_static.gif", np.concatenate([a[:5], still[:8]]), fps=8)
    # 16 moving frames at 16 fps -> 8 frames at 8 fps: exact, no cut
    write_video(src / "fast.mp4", clip("green", "black", "up", 16), fps=16)
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 but not really a video")
    out = tmp_path_factory.mktemp("shards")
    counts = curate_videos(src, out, CurateConfig(num_frames=8, size=32, fps=8))
    return counts, out


def test_counts_match_the_planted_cuts_static_segments_and_corrupt_file(planted):
    counts, out = planted
    assert counts == {
        "files": 5,
        "corrupt": 1,
        "cuts": 2,
        "segments": 6,
        "static": 2,
        "clips": 4,
        "padded": 1,
        "cropped": 0,
    }
    assert json.loads((out / "manifest.json").read_text())["counts"] == counts


def test_kept_clips_are_standard_mp4_samples_with_motion_captions(planted, tmp_path):
    _, out = planted
    with tarfile.open(out / "clips-000000.tar") as tar:
        names = tar.getnames()
        captions = {n: tar.extractfile(n).read().decode() for n in names if n.endswith(".txt")}
        tar.extractall(tmp_path, filter="data")
    assert sum(n.endswith(".mp4") for n in names) == 4
    assert captions["two_shots-s000-w000.txt"] == (
        "a large red square in the center moving right on a black background"
    )
    from genlab.pipelines.postprocess import read_video

    frames, fps = read_video(tmp_path / "fast-s000-w000.mp4")
    assert frames.shape == (8, 32, 32, 3) and fps == 8


def test_cut_detection_and_motion_score_on_their_own():
    a, b = clip("red", "black", "right"), clip("yellow", "white", "down")
    assert detect_cuts(np.concatenate([a, b])) == [8]
    assert detect_cuts(a) == []
    assert motion_score(a) > 0.2 > motion_score(clip("red", "black", "still"))


def test_a_source_without_videos_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidArgument, match="source: expected a directory with .mp4"):
        curate_videos(tmp_path, tmp_path / "out")
