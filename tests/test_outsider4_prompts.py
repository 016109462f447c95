"""benchmarks/outsider{4,...,11}_prompts.json, the fourth to eleventh free-form prompt sets: each file
is what its seeded script writes, the set is balanced over categories, every scene fits the world, and
the strict judge passes rendered pictures of those scenes."""

import json

import pytest
from benchmark_scripts import load_benchmark

oj = load_benchmark("outsider_judge")
sets = load_benchmark("outsider_sets")
MAKERS = {
    name: load_benchmark(f"{name}_prompts_make") for name in (f"outsider{k}" for k in range(4, 12))
}
DOCS = {name: json.loads(make.OUT.read_text()) for name, make in MAKERS.items()}
SETS = pytest.mark.parametrize("name", list(MAKERS))


@SETS
def test_prompt_file_is_what_the_seeded_script_writes(name, tmp_path):
    doc = DOCS[name]
    MAKERS[name].main(["--seed", str(doc["seed"]), "--n", "300", "--out", str(tmp_path / "p.json")])
    assert (tmp_path / "p.json").read_bytes() == MAKERS[name].OUT.read_bytes()


@SETS
def test_set_is_balanced_and_every_scene_fits_the_world(name):
    from genlab.world.spec import COLORS, SHAPES

    items = DOCS[name]["prompts"]
    assert len(items) == 300 and len({it["prompt"].lower() for it in items}) == 300
    for category in oj.CATEGORIES:
        assert sum(it["category"] == category for it in items) == 75
    assert {o["color"] for it in items for o in it["objects"]} == set(COLORS)
    assert {o["shape"] for it in items for o in it["objects"]} == set(SHAPES)
    for it in items:
        total = sum(o["count"] for o in it["objects"])
        kinds = [(o["color"], o["shape"]) for o in it["objects"]]
        assert 1 <= total <= 4 and len(set(kinds)) == len(kinds)
        assert sets.layout_share(it["objects"], it["relations"]) >= sets.MIN_LAYOUT_SHARE


@SETS
def test_judge_passes_rendered_true_scenes_of_a_sample(name):
    report = oj.validate(DOCS[name]["prompts"][::15], 20)
    assert report["truth_accepted"] == 1 and report["extra_object_rejected"] == 1
