"""Judging world videos strictly, as a user would (genlab.world.video.judge_video): rendered truth
passes; an extra object, a motion too fast, a first or last frame that does not show what was
asked each fail it, while the lenient reading forgives the extra object. The motion prompt suite
asks every motion of the world, in canonical words and as people write them, read back the same.
"""

import numpy as np
import pytest

from genlab.errors import InvalidArgument
from genlab.eval.video import (
    VIDEO_CATEGORIES,
    VideoPrompt,
    judge_result,
    summarize_videos,
    video_requests,
    video_suite,
)
from genlab.world import Obj, Scene, canonical_caption, parse_prompt, render_video
from genlab.world.spec import COLORS, MOTIONS
from genlab.world.video import (
    frame_request,
    judge_video,
    motion_extent,
    parse_video,
    sample_video_scene,
)


def _clip(objects, motions, frames=8, background="black"):
    return render_video(Scene(tuple(objects), background, {"motions": list(motions)}), frames, 32)


def test_rendered_world_videos_pass_the_strict_judge_and_their_motions_have_extent_one():
    rng = np.random.default_rng(0)
    for _ in range(6):
        scene = sample_video_scene(rng, n_objects=(1, 2), exclude_held_out=True)
        clip = render_video(scene, 8, 32)
        verdict = judge_video(canonical_caption(scene), clip)
        assert verdict.satisfied, verdict.summary()
        for obj in parse_video(clip).objects:
            if obj.motion != "still":
                assert motion_extent(obj.track, obj.motion) == pytest.approx(1.0, abs=0.1)


def test_an_object_nobody_asked_for_fails_strictly_but_not_leniently():
    clip = _clip(
        [Obj("circle", "red", "large", 1, 0), Obj("square", "blue", "small", 0, 2)],
        ["right", "still"],
    )
    strict = judge_video("a red circle moving right", clip)
    assert not strict.satisfied
    assert [c.kind for c in strict.failures] == ["extra", "first frame", "last frame"]
    assert "blue square" in strict.failures[0].reason
    assert judge_video("a red circle moving right", clip, strict=False).satisfied


def test_a_move_of_two_cells_is_the_right_direction_at_the_wrong_speed():
    """Every other frame of a move from column 0 to 1, then of one from 1 to 2: right, but two
    cells over the clip."""
    first = _clip([Obj("star", "green", "large", 1, 0)], ["right"])
    second = _clip([Obj("star", "green", "large", 1, 1)], ["right"])
    fast = np.concatenate([first[::2], second[::2]])
    verdict = judge_video("a green star moving right", fast)
    checks = {c.kind: c for c in verdict.checks}
    assert checks["motion"].ok and not checks["speed"].ok and not verdict.satisfied
    assert float(checks["speed"].found) > 1.5
    backwards = judge_video("a green star moving right", first[::-1])
    assert {c.kind for c in backwards.failures} == {"motion", "speed"}


def test_the_first_and_last_frames_must_show_the_asked_objects():
    clip = _clip([Obj("square", "red", "large", 1, 0)], ["right"])
    late = clip.copy()
    late[0] = clip[0, 0, 0]  # frame 0: background only, the object appears at frame 1
    verdict = judge_video("a red square moving right", late)
    assert [c.kind for c in verdict.failures] == ["first frame"]
    changed = clip.copy()  # the last frame: a diamond of the same area where the square ends
    changed[-1] = _clip([Obj("diamond", "red", "large", 1, 1)], ["still"])[0]
    verdict = judge_video("a red square moving right", changed)
    assert [c.kind for c in verdict.failures] == ["last frame"]  # the track's majority: square
    assert "red diamond" in verdict.failures[0].reason


def test_a_frame_request_drops_motion_keeps_asked_sizes_and_frees_moved_positions():
    request = parse_prompt("a small red circle in the top left growing above a blue square").request
    first, last = frame_request(request, "first"), frame_request(request, "last")
    assert [o.motion for o in first.objects] == [None, None] and first.objects[0].size == "small"
    assert last.objects[0].size == "large" and last.objects[0].row == 0 and last.relations
    moving = parse_prompt("a red circle in the top left moving right above a square").request
    last = frame_request(moving, "last")
    assert (last.objects[0].row, last.objects[0].col, last.relations) == (None, None, ())
    with pytest.raises(InvalidArgument, match="which"):
        frame_request(request, "middle")


def test_the_suite_asks_every_motion_once_per_round_and_two_objects_move_differently():
    single, two = video_requests("single", 16, seed=3), video_requests("two", 16, seed=3)
    for start in (0, 8):
        assert sorted(r.objects[0].motion for r in single[start : start + 8]) == sorted(MOTIONS)
    for r in two:
        a, b = r.objects
        assert a.motion != b.motion and a.color != b.color and a.shape != b.shape
    assert video_requests("single", 16, seed=3) == single != video_requests("single", 16, seed=4)
    with pytest.raises(InvalidArgument, match="category"):
        video_requests("three", 4)


def test_paraphrased_suite_prompts_ask_for_the_canonical_requests_in_other_words():
    prompts = video_suite(16, seed=1)
    assert len(prompts) == 16 * len(VIDEO_CATEGORIES) * 2
    canonical = [p for p in prompts if p.split == "canonical"]
    free = [p for p in prompts if p.split == "paraphrased"]
    changed = 0
    for a, b in zip(canonical, free):
        asked, read = parse_prompt(a.prompt), parse_prompt(b.prompt)
        assert read.understood and not read.unknown_words, b.prompt
        assert read.request.normalized() == asked.request.normalized(), (a.prompt, b.prompt)
        assert a.motions == b.motions == tuple(o.motion for o in asked.request.objects)
        changed += a.prompt != b.prompt
    assert changed >= 0.9 * len(free)


def test_results_summarize_strict_and_lenient_per_split_category_and_motion():
    """Rendered truth for each suite prompt, one with a stray object added: strict counts it
    wrong, lenient right; a two-object video counts under both its motions."""
    from genlab.world import realize

    items = video_suite(8, seed=0, splits=("paraphrased",))
    results = []
    for i, item in enumerate(items):
        scene = realize(parse_prompt(item.prompt).request, np.random.default_rng(i))
        if i == 0:  # a stray object of another color, in a free cell
            used = {(o.row, o.col) for o in scene.objects}
            row, col = next((r, c) for r in (2, 0) for c in (0, 2) if (r, c) not in used)
            color = next(c for c in COLORS if c not in {o.color for o in scene.objects})
            stray = Obj("star", color, "large", row, col)
            motions = [*scene.motions, "still"]
            scene = Scene((*scene.objects, stray), scene.background, {"motions": motions})
        results.append(judge_result(item, i, render_video(scene, 8, 32)))
    summary = summarize_videos(results)["paraphrased"]
    assert summary["videos"] == 16
    assert summary["strict"] == 15 / 16 and summary["lenient"] == 1.0
    single, two = summary["categories"]["single"], summary["categories"]["two"]
    assert single["strict"] == 7 / 8 and single["strict_ci95"][1] < 1 and two["strict"] == 1.0
    motions = summary["motions"]["two"]
    assert sum(row["videos"] for row in motions.values()) == 16
    first = items[0].motions[0]
    assert summary["motions"]["single"][first]["strict"] == 0.0
    assert results[0].to_dict()["reasons"] and "clip" not in results[0].to_dict()
    assert isinstance(items[0], VideoPrompt)
