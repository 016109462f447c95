"""World and digits datasets: item formats, determinism by index, held-out exclusion, and the
process-pool prerender giving exactly the dataset's items."""

import json

import pytest
import torch
from torch.utils.data import DataLoader

from genlab.data.digits import DigitsDataset
from genlab.data.world import (
    WorldImageDataset,
    WorldVideoDataset,
    prerender,
    prerender_videos,
)
from genlab.errors import InvalidArgument
from genlab.world import HELD_OUT, Obj, Scene, parse_prompt, render


def test_world_item_is_an_image_caption_and_scene():
    item = WorldImageDataset(size=32)[5]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert item["image"].min() >= -1.0 and item["image"].max() <= 1.0
    scene = Scene.from_json(item["scene"])
    assert parse_prompt(item["caption"]).unknown_words == []
    expected = torch.from_numpy(render(scene, 32)).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(item["image"], expected)


def test_items_depend_only_on_seed_and_index():
    a, b = WorldImageDataset(seed=3), WorldImageDataset(seed=3, length=100)
    assert a[42]["caption"] == b[42]["caption"] and torch.equal(a[42]["image"], b[42]["image"])
    assert WorldImageDataset(seed=4)[42]["scene"] != a[42]["scene"]


def test_fixed_length_dataset_has_len_and_bounds_endless_has_neither():
    fixed = WorldImageDataset(length=10)
    assert len(fixed) == 10 and len(list(fixed)) == 10
    with pytest.raises(IndexError):
        fixed[10]
    endless = WorldImageDataset()
    with pytest.raises(TypeError):
        len(endless)
    assert endless[10_000_000]["image"].shape == (3, 32, 32)


def test_training_data_excludes_held_out_pairs_unless_asked():
    def pairs(ds):
        return {
            (o["color"], o["shape"])
            for i in range(300)
            for o in json.loads(ds[i]["scene"])["objects"]
        }

    assert not pairs(WorldImageDataset(length=300)) & HELD_OUT
    assert pairs(WorldImageDataset(length=300, include_held_out=True)) & HELD_OUT


def test_dataset_batches_through_a_dataloader():
    loader = DataLoader(WorldImageDataset(size=16, length=8), batch_size=4)
    batch = next(iter(loader))
    assert batch["image"].shape == (4, 3, 16, 16) and len(batch["caption"]) == 4


def test_canonical_captions_option():
    item = WorldImageDataset(canonical_captions=True)[0]
    from genlab.world import canonical_caption

    assert item["caption"] == canonical_caption(Scene.from_json(item["scene"]))


def test_video_items_have_frames_and_motion_captions():
    item = WorldVideoDataset(size=32, num_frames=8)[1]
    assert item["video"].shape == (8, 3, 32, 32)
    assert len(Scene.from_json(item["scene"]).extras["motions"]) >= 1


def test_prerender_with_a_process_pool_equals_the_dataset():
    data = prerender(24, size=32, seed=7, workers=2, chunk_size=8)
    assert data["images"].shape == (24, 32, 32, 3) and data["images"].dtype == torch.uint8
    ds = WorldImageDataset(size=32, seed=7)
    for i in (0, 9, 23):
        expected = ((ds[i]["image"] + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0)
        assert torch.equal(data["images"][i], expected)
        assert data["captions"][i] == ds[i]["caption"] and data["scenes"][i] == ds[i]["scene"]
    again = prerender(24, size=32, seed=7, workers=1)
    assert torch.equal(again["images"], data["images"]) and again["captions"] == data["captions"]


def test_prerender_videos_shape():
    data = prerender_videos(3, size=16, num_frames=8, seed=0, workers=1)
    assert data["images"].shape == (3, 8, 16, 16, 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: WorldImageDataset(size=8),
        lambda: WorldImageDataset(length=0),
        lambda: WorldVideoDataset(num_frames=1),
        lambda: prerender(0),
        lambda: prerender(4, workers=0),
        lambda: DigitsDataset(split="validation"),
        lambda: DigitsDataset(size=4),
    ],
)
def test_bad_dataset_arguments_raise_invalid_argument(call):
    with pytest.raises(InvalidArgument):
        call()


@pytest.mark.parametrize("size", [16, 28])
def test_digits_are_upscaled_with_labels_and_captions(size):
    train, test = DigitsDataset(size=size, split="train"), DigitsDataset(size=size, split="test")
    assert len(train) + len(test) == 1797 and len(test) == 360
    item = train[0]
    assert item["image"].shape == (1, size, size)
    assert -1.0 <= item["image"].min() < 0 < item["image"].max() <= 1.0
    assert item["caption"] == f"the digit {item['label']}"
    assert set(test.labels.tolist()) == set(range(10))


def test_digit_captions_can_vary():
    ds = DigitsDataset(size=16, split="test", captions="varied")
    captions = {ds[i]["caption"] for i in range(8)}
    assert any(c.startswith("a handwritten") for c in captions)
    assert any(c.startswith("the number") for c in captions)


def test_balanced_stream_mixes_small_and_alike_scenes_without_held_out_pairs():
    from genlab.data.world import balanced_item

    counts, alike = {1: 0, 2: 0, 3: 0, 4: 0}, 0
    for i in range(1000):
        scene, text = balanced_item(0, i)
        counts[len(scene.objects)] += 1
        alike += len(scene.objects) > 1 and len({o.shape for o in scene.objects}) == 1
        assert not any((o.color, o.shape) in HELD_OUT for o in scene.objects)
        assert parse_prompt(text).unknown_words == []
    assert counts[1] + counts[2] > 600  # one and two objects: what prompts ask for most
    assert alike > 150  # 2-4 objects of one shape: counts to learn from
    assert balanced_item(0, 7) == balanced_item(0, 7)


def test_focus_stream_states_relations_counts_and_bindings_truly():
    """The fine-tuning mix: each kind near its share, every caption true of its scene, the
    relation drawn among those that hold (so "above" is said of diagonal pairs too), binding
    pairs of two colors and two shapes, no held-out pair anywhere."""
    from genlab.data.world import FOCUS_MIX, focus_item
    from genlab.world import match
    from genlab.world.spec import relation_between

    n = 1200
    kinds = {"relation": 0, "counts": 0, "objects": 0, None: 0}
    relations, diagonal_vertical = set(), 0
    for i in range(n):
        scene, text, detail, relation = focus_item(0, i)
        kinds[detail] += 1
        parsed = parse_prompt(text)
        assert parsed.unknown_words == [], text
        assert match(parsed.request, scene).score == 1.0, text
        assert not any((o.color, o.shape) in HELD_OUT for o in scene.objects)
        if detail == "relation":
            a, b = scene.objects
            assert relation in relation_between(a, b) and len(parsed.request.relations) == 1
            assert parsed.request.relations[0].relation == relation, text
            relations.add(relation)
            diagonal_vertical += relation in ("above", "below") and a.col != b.col
        if detail == "objects":
            a, b = scene.objects
            assert a.color != b.color and a.shape != b.shape
            assert {o.color for o in parsed.request.objects} == {a.color, b.color}, text
        if detail == "counts":
            assert len({o.shape for o in scene.objects}) == 1
    shares = dict(FOCUS_MIX)
    for detail, kind in (("relation", "relation"), ("counts", "counts"), ("objects", "binding"),
                         (None, "balanced")):  # fmt: skip
        assert abs(kinds[detail] / n - shares[kind]) < 0.05, (kind, kinds)
    assert relations == {"left of", "right of", "above", "below"}
    assert diagonal_vertical > 50  # the plain captioner never says this
    assert focus_item(0, 7) == focus_item(0, 7)


def test_request_of_states_a_chosen_relation_only_if_it_holds():
    from genlab.errors import InvalidArgument
    from genlab.world.grammar import request_of

    a, b = Obj("circle", "red", "small", 0, 0), Obj("square", "blue", "small", 1, 1)
    scene = Scene((a, b), "gray")
    assert request_of(scene, "relation").relations[0].relation == "left of"  # the first
    assert request_of(scene, "relation", relation="above").relations[0].relation == "above"
    with pytest.raises(InvalidArgument, match="relation"):
        request_of(scene, "relation", relation="below")
    with pytest.raises(InvalidArgument, match="relation"):
        request_of(scene, "full", relation="above")
