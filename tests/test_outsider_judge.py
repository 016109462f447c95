"""benchmarks/outsider_judge.py, the independent strict judge: it passes rendered pictures of the
scenes the outsider's prompts ask for, and fails them once one thing is wrong (an extra object,
one object fewer, a size, a relation, a background). No model sampling: the pictures are rendered."""

import json
from dataclasses import replace

import pytest
from benchmark_scripts import load_benchmark
from PIL import Image

from genlab.world.parser import parse_image
from genlab.world.render import render

oj = load_benchmark("outsider_judge")
make = load_benchmark("outsider_prompts_make")
ITEMS = oj.load_items()


def verdict(item, scene):
    parsed = parse_image(render(scene))
    return oj.judge(item, parsed.objects, parsed.background)


def first(category, where=lambda it: True):
    return next(it for it in ITEMS if it["category"] == category and where(it))


def test_prompt_file_has_100_prompts_per_category_over_every_color_and_shape():
    from genlab.world.spec import COLORS, SHAPES

    counts = {c: sum(it["category"] == c for it in ITEMS) for c in oj.CATEGORIES}
    assert counts == {c: 100 for c in oj.CATEGORIES}
    assert {o["color"] for it in ITEMS for o in it["objects"]} == set(COLORS)
    assert {o["shape"] for it in ITEMS for o in it["objects"]} == set(SHAPES)
    assert len({it["prompt"] for it in ITEMS}) == len(ITEMS)


def test_prompt_file_is_what_the_seeded_script_writes(tmp_path):
    seed = json.loads(oj.PROMPTS.read_text())["seed"]
    make.main(["--seed", str(seed), "--out", str(tmp_path / "p.json")])
    assert json.loads((tmp_path / "p.json").read_text())["prompts"] == ITEMS


@pytest.mark.parametrize("category", oj.CATEGORIES)
def test_rendered_true_scenes_pass(category):
    items = [it for it in ITEMS if it["category"] == category][:25]
    for k, item in enumerate(items):
        v = verdict(item, oj.truth_scene(item, seed=k))
        assert v.passed, (item["prompt"], v)


@pytest.mark.parametrize("category", oj.CATEGORIES)
def test_an_extra_object_of_a_kind_not_asked_for_fails(category):
    items = [it for it in ITEMS if it["category"] == category]
    items = [it for it in items if sum(o["count"] for o in it["objects"]) < 4][:10]
    for k, item in enumerate(items):
        v = verdict(item, oj.truth_scene(item, seed=k, extra_object=True))
        assert (v.passed, v.reason) == (False, "extra objects"), item["prompt"]


def test_one_of_a_count_missing_fails():
    item = first("count", lambda it: it["objects"][0]["count"] == 3)
    scene = oj.truth_scene(item, seed=0)
    v = verdict(item, scene.with_objects(scene.objects[:-1]))
    assert (v.passed, v.reason) == (False, "missing objects")


def test_a_second_copy_of_a_single_object_fails():
    item = first("single", lambda it: it["objects"][0]["position"] is None)
    scene = oj.truth_scene(item, seed=0)
    o = scene.objects[0]
    twin = replace(o, row=(o.row + 1) % 3, x=None, y=None)
    v = verdict(item, scene.with_objects([o, twin]))
    assert (v.passed, v.reason) == (False, "extra objects")


def test_the_wrong_size_fails():
    item = first("single", lambda it: it["objects"][0]["size"] == "small")
    scene = oj.truth_scene(item, seed=0)
    v = verdict(item, scene.with_objects([replace(scene.objects[0], size="large")]))
    assert (v.passed, v.reason) == (False, "size")


def test_a_relation_drawn_the_other_way_round_fails():
    for relation in ("left of", "right of", "above", "below"):
        item = first("relation", lambda it, r=relation: it["relations"][0]["relation"] == r)
        scene = oj.truth_scene(item, seed=1)
        a, b = scene.objects
        swapped = [replace(a, row=b.row, col=b.col, x=b.x, y=b.y),
                   replace(b, row=a.row, col=a.col, x=a.x, y=a.y)]  # fmt: skip
        assert verdict(item, scene).passed
        v = verdict(item, scene.with_objects(swapped))
        assert (v.passed, v.reason) == (False, "relation"), item["prompt"]


def test_a_position_elsewhere_fails():
    item = first("single", lambda it: it["objects"][0]["position"] == "top left")
    scene = oj.truth_scene(item, seed=0)
    moved = replace(scene.objects[0], row=2, col=2, x=None, y=None)
    v = verdict(item, scene.with_objects([moved]))
    assert (v.passed, v.reason) == (False, "position")


def test_the_wrong_background_fails():
    item = first("single", lambda it: it["background"] == "white")
    scene = replace(oj.truth_scene(item, seed=0), background="black")
    v = verdict(item, scene)
    assert (v.passed, v.reason) == (False, "background")


def test_relation_rule_accepts_rows_and_diagonals_and_rejects_steep_or_small_offsets():
    center = lambda row, col: ((col + 0.5) / 3, (row + 0.5) / 3)
    assert oj.relation_holds(center(1, 0), "left of", center(1, 1))
    assert oj.relation_holds(center(0, 0), "left of", center(1, 1))  # diagonal neighbour
    assert not oj.relation_holds(center(0, 0), "left of", center(2, 1))  # mostly above
    assert not oj.relation_holds(center(1, 1), "left of", center(0, 1))  # same column
    assert oj.relation_holds(center(0, 2), "above", center(2, 2))
    assert oj.relation_holds(center(2, 0), "below", center(1, 1))
    assert not oj.relation_holds((0.50, 0.5), "right of", (0.45, 0.5))  # under half a cell


def test_wilson_interval_matches_the_textbook_value():
    lo, hi = oj.wilson(8, 10)  # Wilson (1927) / Newcombe (1998) example: 8/10 -> 0.490..0.943
    assert round(lo, 3) == 0.490 and round(hi, 3) == 0.943


def test_validate_and_failure_grid_on_rendered_scenes(tmp_path):
    report = oj.validate(ITEMS, 12, seed=3)
    assert report["truth_accepted"] == 1.0 and report["extra_object_rejected"] == 1.0
    rows = []
    for k, item in enumerate(ITEMS[:6]):
        scene = oj.truth_scene(item, seed=k, extra_object=k % 2 == 0)
        Image.fromarray(render(scene)).save(tmp_path / f"{k:03d}.png")
        parsed = parse_image(render(scene))
        v = oj.judge(item, parsed.objects, parsed.background)
        rows.append({"index": k, "prompt": item["prompt"], "category": item["category"],
                     "passed": v.passed, "reason": v.reason, "detail": v.detail,
                     "detected": oj.describe(parsed.objects, parsed.background)})  # fmt: skip
    assert oj.failure_grid(rows, tmp_path, tmp_path / "grid.png") == 3
    assert Image.open(tmp_path / "grid.png").size[0] == 4 * 300
    summary = oj.summarize(rows)
    assert summary["overall"]["passed"] == 3 and summary["overall"]["n"] == 6
