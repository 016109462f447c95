"""benchmarks/outsider4_prompts.json, the fourth free-form prompt set: the file is what its seeded
script writes, the set is balanced over categories, every scene fits the world, and the strict
judge passes rendered pictures of those scenes."""

import json

from benchmark_scripts import load_benchmark

oj = load_benchmark("outsider_judge")
make = load_benchmark("outsider4_prompts_make")
DOC = json.loads(make.OUT.read_text())
ITEMS = DOC["prompts"]


def test_prompt_file_is_what_the_seeded_script_writes(tmp_path):
    make.main(["--seed", str(DOC["seed"]), "--n", "300", "--out", str(tmp_path / "p.json")])
    assert json.loads((tmp_path / "p.json").read_text()) == DOC


def test_set_is_balanced_and_every_scene_fits_the_world():
    from genlab.world.spec import COLORS, SHAPES

    assert len(ITEMS) == 300 and len({it["prompt"].lower() for it in ITEMS}) == 300
    for category in oj.CATEGORIES:
        assert sum(it["category"] == category for it in ITEMS) == 75
    assert {o["color"] for it in ITEMS for o in it["objects"]} == set(COLORS)
    assert {o["shape"] for it in ITEMS for o in it["objects"]} == set(SHAPES)
    for it in ITEMS:
        total = sum(o["count"] for o in it["objects"])
        kinds = [(o["color"], o["shape"]) for o in it["objects"]]
        assert 1 <= total <= 4 and len(set(kinds)) == len(kinds)
        assert make.layout_share(it["objects"], it["relations"]) >= make.MIN_LAYOUT_SHARE


def test_judge_passes_rendered_true_scenes_of_a_sample():
    report = oj.validate(ITEMS[::15], 20)
    assert report["truth_accepted"] == 1 and report["extra_object_rejected"] == 1
