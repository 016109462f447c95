"""Scene parser (the world's object detector) and match(): accuracy on fresh renders, clean and
degraded, every input type, and the checks and reasons that match() reports."""

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.errors import InvalidArgument
from genlab.io import to_tensor
from genlab.world import Obj, Scene, match, parse_image, parse_prompt, realize, render, sample_scene
from genlab.world.render import degrade


def scene_accuracy(size: int, n: int, degraded: bool) -> float:
    rng = np.random.default_rng(0)
    correct = 0
    for seed in range(n):
        scene = sample_scene(50_000 + seed, exclude_held_out=False)
        image = render(scene, size)
        if degraded:
            image = degrade(image, rng)
        parsed = parse_image(image).to_scene()
        key = lambda s: sorted((o.shape, o.color, o.size, o.row, o.col) for o in s.objects)
        correct += parsed is not None and key(parsed) == key(scene)
        correct -= parsed is not None and parsed.background != scene.background
    return correct / n


@pytest.mark.parametrize(
    "size, degraded, bound",
    [(32, False, 0.97), (32, True, 0.95), (64, False, 0.99), (64, True, 0.97)],
)
def test_parser_reads_whole_scenes_back(size, degraded, bound):
    # Whole-scene accuracy (every object right) bounds every per-attribute accuracy from below;
    # benchmarks/world_parser.py measures each attribute on 2,000 scenes.
    assert scene_accuracy(size, 60 if degraded else 120, degraded) >= bound


def test_parsed_object_has_geometry():
    scene = Scene((Obj("triangle", "green", "large", 0, 2, 0.83, 0.17),), "white")
    parsed = parse_image(render(scene, 64))
    (o,) = parsed.objects
    assert (o.shape, o.color, o.size, o.row, o.col) == ("triangle", "green", "large", 0, 2)
    assert o.center == pytest.approx((0.83, 0.17), abs=0.01)
    assert o.radius == pytest.approx(0.14, rel=0.08)
    x0, y0, x1, y1 = o.bbox
    assert x0 < 0.83 * 64 < x1 and y0 < 0.17 * 64 < y1
    assert o.area == pytest.approx(1.299 * (0.14 * 64) ** 2, rel=0.08)
    assert parsed.background == "white" and o.position == "top right"


def test_parser_accepts_arrays_pil_images_and_signed_tensors():
    image = render(sample_scene(4), 32)
    expected = parse_image(image).to_dict()
    assert parse_image(Image.fromarray(image)).to_dict() == expected
    tensor = to_tensor(image)
    assert tensor.shape[0] == 3 and tensor.min() >= -1
    assert parse_image(tensor).to_dict() == expected


def test_parser_refuses_what_is_not_an_image():
    with pytest.raises(InvalidArgument, match="image"):
        parse_image(np.zeros((32, 32), np.uint8))
    with pytest.raises(InvalidArgument, match="image"):
        parse_image(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(InvalidArgument, match="image"):
        parse_image(torch.zeros(1, 32, 32))


def test_empty_background_has_no_objects():
    parsed = parse_image(np.full((32, 32, 3), 100, np.uint8))
    assert parsed.objects == [] and parsed.background == "gray"
    assert parsed.to_scene() is None


def test_video_frame_size_and_upscaled_images_parse_alike():
    scene = sample_scene(11)
    small = parse_image(render(scene, 32)).to_scene()
    big = parse_image(Image.fromarray(render(scene, 32)).resize((128, 128), Image.NEAREST))
    assert big.to_scene() is not None
    key = lambda s: sorted((o.shape, o.color, o.row, o.col) for o in s.objects)
    assert key(big.to_scene()) == key(small)


# --------------------------------------------------------------------------- match


def _scene(*objects, background="black"):
    return Scene(tuple(Obj(*o) for o in objects), background)


def test_match_is_satisfied_by_the_rendered_realization():
    request = parse_prompt("two red circles above a blue square on a white background").request
    image = render(realize(request, 0), 32)
    result = match(request, parse_image(image))
    assert result.satisfied and result.score == 1.0
    kinds = [c.kind for c in result.checks]
    assert kinds == ["object", "object", "extra", "relation", "background"]


def test_match_reports_a_missing_instance_with_counts():
    scene = _scene(("circle", "red", "small", 0, 0), ("square", "blue", "small", 2, 2))
    result = match("two red circles", scene)
    assert not result.satisfied and result.score == 0.0
    assert result.checks[0].reason == "asked for two red circles, found 1"


def test_match_names_the_closest_object_when_an_attribute_is_wrong():
    scene = _scene(("circle", "blue", "large", 1, 1))
    (check,) = match("a red circle", scene, strict=False).checks
    assert not check.ok
    assert match("a red circle", scene).checks[0].reason == check.reason
    assert (
        check.reason
        == "asked for a red circle, found none (closest: a large blue circle in the center)"
    )


def test_match_checks_relations_and_says_what_holds_instead():
    scene = _scene(("circle", "red", "small", 1, 2), ("square", "blue", "small", 1, 0))
    result = match("a red circle left of a blue square", scene)
    assert result.score == pytest.approx(3 / 4)  # two objects, nothing else; the relation fails
    rel = result.checks[3]
    assert rel.kind == "relation" and not rel.ok and rel.found == "right of"
    assert "found the red circle right of the blue square" in rel.reason


def test_match_checks_positions_and_background():
    scene = _scene(("star", "green", "large", 0, 2), background="gray")
    result = match("a green star in the top left on a white background", scene)
    kinds = {c.kind: c for c in result.checks}
    assert kinds["object"].ok and not kinds["position"].ok and not kinds["background"].ok
    assert (
        kinds["position"].reason
        == "asked for a green star in the top left, found it in the top right"
    )
    assert kinds["extra"].ok
    assert result.score == pytest.approx(2 / 4)


def test_match_assigns_objects_so_that_relations_can_hold():
    # Two red circles; only the right one is left of nothing, the left one is left of the square.
    scene = _scene(
        ("circle", "red", "small", 0, 0),
        ("square", "blue", "small", 0, 1),
        ("circle", "red", "small", 0, 2),
    )
    assert match("a red circle left of a blue square", scene, strict=False).satisfied
    assert match("a red circle left of a blue square left of a red circle", scene).satisfied


def test_match_counts_exactly_and_fails_objects_nobody_asked_for():
    scene = _scene(*[("circle", "red", "small", 0, c) for c in range(3)])
    result = match("a red circle", scene)
    assert not result.satisfied
    assert result.checks[0].reason == "asked for a red circle, found 3"
    assert result.checks[1].kind == "extra" and result.checks[1].reason == (
        "found 2 objects not asked for: a small red circle in the top center; "
        "a small red circle in the top right"
    )
    assert not match("two red circles", scene).satisfied  # exactly two
    assert match("three red circles", scene).satisfied
    with_square = _scene(("circle", "red", "small", 0, 0), ("square", "blue", "small", 2, 2))
    extra = match("a red circle", with_square)
    assert not extra.satisfied and extra.checks[0].ok
    assert extra.failures[0].reason == (
        "found 1 object not asked for: a small blue square in the bottom right"
    )


def test_lenient_match_keeps_the_old_at_least_one_reading():
    scene = _scene(*[("circle", "red", "small", 0, c) for c in range(3)])
    assert match("a red circle", scene, strict=False).satisfied  # at least one
    assert not match("two red circles", scene, strict=False).satisfied  # exactly two


def test_beside_holds_on_either_side_in_one_row():
    left = _scene(("circle", "red", "small", 1, 0), ("square", "blue", "small", 1, 2))
    right = _scene(("circle", "red", "small", 1, 2), ("square", "blue", "small", 1, 0))
    stacked = _scene(("circle", "red", "small", 0, 1), ("square", "blue", "small", 2, 1))
    for prompt in ("a red circle next to a blue square", "a red ball beside a blue box"):
        assert match(prompt, left).satisfied and match(prompt, right).satisfied
        assert not match(prompt, stacked).satisfied


def test_match_with_no_request_is_trivially_satisfied():
    result = match(parse_prompt("").request, _scene(("circle", "red", "small", 0, 0)))
    assert result.satisfied and result.score == 1.0 and result.checks == []
