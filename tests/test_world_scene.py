"""The world's scene sampler and renderer: constraints hold, images are anti-aliased and exact."""

import numpy as np
import pytest

from genlab.errors import InvalidArgument
from genlab.world import BACKGROUNDS, COLORS, HELD_OUT, RELATIONS, Obj, Scene, render, sample_scene
from genlab.world.spec import relation_between


def test_same_seed_gives_same_scene_and_same_pixels():
    a, b = sample_scene(7), sample_scene(7)
    assert a == b
    assert np.array_equal(render(a, 32), render(b, 32))
    assert sample_scene(8) != a


def test_scene_json_round_trip_keeps_every_field():
    scene = sample_scene(3, n_objects=4)
    scene = Scene(scene.objects, scene.background, {"motions": ["left", "still", "grow", "up"]})
    again = Scene.from_json(scene.to_json())
    assert again == scene and again.extras == scene.extras


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_exact_object_count_is_honoured(n):
    for seed in range(20):
        assert len(sample_scene(seed, n_objects=n).objects) == n


def test_object_count_range_covers_its_bounds_only():
    counts = {len(sample_scene(s, n_objects=(2, 3)).objects) for s in range(60)}
    assert counts == {2, 3}


@pytest.mark.parametrize("relation", RELATIONS)
def test_relation_constraint_puts_first_object_in_relation_to_second(relation):
    for seed in range(25):
        scene = sample_scene(seed, n_objects=2, relation=relation)
        assert relation in relation_between(scene.objects[0], scene.objects[1])


def test_training_scenes_never_contain_held_out_pairs():
    for seed in range(400):
        assert not sample_scene(seed).has_held_out


def test_only_held_out_scenes_start_with_a_held_out_pair():
    for seed in range(50):
        scene = sample_scene(seed, exclude_held_out=False, only_held_out=True)
        assert (scene.objects[0].color, scene.objects[0].shape) in HELD_OUT


def test_vocabulary_restrictions_are_respected():
    for seed in range(30):
        scene = sample_scene(seed, shapes=["star"], colors=["blue", "red"], backgrounds="white")
        assert scene.background == "white"
        assert all(
            o.shape == "star" and o.color == "red" for o in scene.objects
        )  # blue star held out


def test_objects_stay_in_distinct_cells_near_their_centers():
    for seed in range(100):
        scene = sample_scene(seed)
        assert len({(o.row, o.col) for o in scene.objects}) == len(scene.objects)
        for o in scene.objects:
            assert abs(o.x - (o.col + 0.5) / 3) <= 0.0101 and abs(o.y - (o.row + 0.5) / 3) <= 0.0101


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_objects": 5},
        {"n_objects": 0},
        {"n_objects": 1, "relation": "left of"},
        {"relation": "near"},
        {"shapes": ["hexagon"]},
        {"shapes": ["triangle"], "colors": ["red"]},  # only pair is held out
        {"only_held_out": True},  # held-out pairs while excluding them
    ],
)
def test_impossible_constraints_raise_invalid_argument(kwargs):
    with pytest.raises(InvalidArgument):
        sample_scene(0, **kwargs)


@pytest.mark.parametrize("size", [16, 32, 48, 64])
def test_render_gives_uint8_rgb_at_any_size_from_16(size):
    image = render(sample_scene(1), size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("size", [15, 0, -32, 32.0, "32", True, 100_000])
def test_render_refuses_unsupported_sizes(size):
    with pytest.raises(InvalidArgument, match="size"):
        render(sample_scene(1), size)


def test_object_interior_has_its_palette_color_and_corners_the_background():
    scene = Scene((Obj("square", "red", "large", 1, 1),), "white")
    image = render(scene, 64)
    assert tuple(image[32, 32]) == COLORS["red"]
    assert tuple(image[0, 0]) == BACKGROUNDS["white"]


def test_edges_are_anti_aliased():
    scene = Scene((Obj("circle", "blue", "large", 1, 1),), "black")
    image = render(scene, 32).reshape(-1, 3)
    pure = {COLORS["blue"], BACKGROUNDS["black"]}
    mixed = [tuple(p) for p in image if tuple(p) not in pure]
    assert len(mixed) >= 16, "the rim mixes object and background colors"


def test_larger_size_class_covers_more_pixels():
    small = render(Scene((Obj("star", "green", "small", 1, 1),), "black"), 64)
    large = render(Scene((Obj("star", "green", "large", 1, 1),), "black"), 64)
    assert (large.sum(-1) > 200).sum() > 1.8 * (small.sum(-1) > 200).sum()


def test_every_shape_looks_different():
    images = {}
    for shape in ("circle", "square", "triangle", "diamond", "star"):
        images[shape] = render(Scene((Obj(shape, "yellow", "large", 1, 1),), "black"), 32)
    shapes = list(images)
    for i, a in enumerate(shapes):
        for b in shapes[i + 1 :]:
            assert not np.array_equal(images[a], images[b]), (a, b)
