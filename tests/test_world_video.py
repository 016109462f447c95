"""World videos: motions are feasible and rendered as specified, captions say how objects move,
and the parser across frames (tracks) recovers each object's motion."""

import numpy as np
import pytest

from genlab.errors import InvalidArgument
from genlab.world import (
    MOTIONS,
    Obj,
    Scene,
    canonical_caption,
    caption,
    match,
    parse_prompt,
    parse_video,
    realize,
    render_video,
    sample_video_scene,
)
from genlab.world.video import classify_motion, motion_target, track_objects


def test_video_scene_has_one_feasible_motion_per_object():
    seen = set()
    for seed in range(200):
        scene = sample_video_scene(seed)
        motions = scene.extras["motions"]
        assert len(motions) == len(scene.objects)
        cells = {(o.row, o.col) for o in scene.objects}
        targets = [motion_target(o, m) for o, m in zip(scene.objects, motions)]
        targets = [t for t in targets if t is not None]
        assert all(0 <= r < 3 and 0 <= c < 3 for r, c in targets)
        assert len(set(targets)) == len(targets) and not cells & set(targets), "paths never cross"
        for o, m in zip(scene.objects, motions):
            assert m != "grow" or o.size == "small"
            assert m != "shrink" or o.size == "large"
        seen.update(motions)
    assert seen == set(MOTIONS)


def test_render_video_shape_and_determinism():
    scene = sample_video_scene(3)
    video = render_video(scene, num_frames=12, size=32)
    assert video.shape == (12, 32, 32, 3) and video.dtype == np.uint8
    assert np.array_equal(video, render_video(scene, num_frames=12, size=32))


@pytest.mark.parametrize("num_frames", [0, 1, 33, 8.0])
def test_render_video_refuses_bad_frame_counts(num_frames):
    with pytest.raises(InvalidArgument, match="num_frames"):
        render_video(sample_video_scene(0), num_frames=num_frames)


def test_moving_right_ends_one_cell_to_the_right():
    scene = Scene((Obj("square", "red", "large", 1, 0),), "black", {"motions": ["right"]})
    first, last = render_video(scene, 8, 48)[[0, -1]]
    red = lambda frame: np.argwhere(frame[..., 0] > 150)[:, 1].mean()
    assert red(last) - red(first) == pytest.approx(16, abs=0.5)


@pytest.mark.parametrize("motion", MOTIONS)
def test_each_motion_is_recognised_from_frames(motion):
    obj = Obj("circle", "blue", "large" if motion == "shrink" else "small", 1, 1)
    scene = Scene((obj,), "white", {"motions": [motion]})
    tracks, background = track_objects(render_video(scene, 10, 32))
    assert background == "white" and len(tracks) == 1
    assert classify_motion(tracks[0]) == motion


def test_parsed_videos_match_their_canonical_captions():
    for seed in range(12):
        scene = sample_video_scene(seed)
        result = match(canonical_caption(scene), parse_video(render_video(scene, 8, 32)))
        assert result.satisfied, result.summary()


def test_video_captions_describe_motion():
    scene = Scene(
        (Obj("circle", "red", "small", 1, 0), Obj("square", "blue", "small", 2, 2)),
        "black",
        {"motions": ["right", "grow"]},
    )
    assert canonical_caption(scene) == (
        "a small red circle in the middle left moving right while a small blue square in the "
        "bottom right grows on a black background"
    )
    texts = {caption(scene, seed) for seed in range(50)}
    assert any("while" in t for t in texts) and any("getting bigger" in t for t in texts)


def test_a_prompt_with_motion_realizes_as_a_moving_scene_that_matches():
    request = parse_prompt("a red circle moving up while a blue star bounces").request
    scene = realize(request, 0)
    assert scene.extras["motions"] == ["up", "bounce"]
    assert match(request, parse_video(render_video(scene, 8, 32))).satisfied


def test_match_reports_the_wrong_motion():
    scene = Scene((Obj("circle", "red", "small", 1, 1),), "black", {"motions": ["left"]})
    result = match("a red circle moving right", parse_video(render_video(scene, 8, 32)))
    (motion_check,) = [c for c in result.checks if c.kind == "motion"]
    assert not motion_check.ok
    assert motion_check.reason == "asked for a red circle moving right, found it moving left"


def test_realized_motions_start_at_the_right_size_and_stay_inside_the_grid():
    request = parse_prompt("a star growing, a square shrinking and a circle moving right").request
    for seed in range(10):
        scene = realize(request, seed)
        sizes = {o.shape: o.size for o in scene.objects}
        assert sizes["star"] == "small" and sizes["square"] == "large"
        (circle,) = [o for o in scene.objects if o.shape == "circle"]
        assert circle.col < 2, "room to move one cell right"


def test_objects_moving_the_same_way_may_follow_each_other():
    request = parse_prompt("four circles moving left").request
    scene = realize(request, 0)
    assert match(request, parse_video(render_video(scene, 8, 32))).satisfied


@pytest.mark.parametrize(
    "prompt", ["a large red circle growing", "a red circle in the top right moving right"]
)
def test_motions_that_cannot_happen_are_refused(prompt):
    with pytest.raises(InvalidArgument, match="^prompt:"):
        realize(parse_prompt(prompt).request, 0)


def test_keyframe_fit_scores_where_the_asked_motion_can_start():
    """A still is a good first frame when it shows what was asked and the asked motion can play
    from there: an object in the left column cannot move left, a large one cannot grow."""
    from genlab.world.render import render
    from genlab.world.video import keyframe_fit

    left_column = render(Scene((Obj("circle", "red", "small", 1, 0),), "black"))
    middle = render(Scene((Obj("circle", "red", "large", 1, 1),), "black"))
    assert keyframe_fit("a red circle moving right", left_column) == 1.0
    assert keyframe_fit("a red circle moving left", left_column) == 0.5
    assert keyframe_fit("a red circle moving left", middle) == 1.0
    assert keyframe_fit("a red circle growing", left_column) == 1.0
    assert keyframe_fit("a red circle growing", middle) == 0.5  # large: cannot grow
    assert keyframe_fit("a blue square moving left", middle) < 0.5  # not there: cannot move
    assert keyframe_fit("a red circle", middle) == 1.0  # no motion: the match alone
    # a second object in the cell the move needs blocks it
    blocked = render(
        Scene((Obj("circle", "red", "small", 1, 1), Obj("square", "blue", "small", 1, 0)), "black")
    )
    assert keyframe_fit("a red circle moving left and a blue square", blocked) == 0.5
    with pytest.raises(InvalidArgument, match="prompt"):
        keyframe_fit("", middle)
