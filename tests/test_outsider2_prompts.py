"""benchmarks/outsider2_prompts.json, the second outsider's free-form prompts: the file is what its
seeded script writes, the set is balanced, every prompt's words agree with the scene it records, and
the strict judge passes rendered pictures of those scenes (and fails them with an extra object)."""

import json
import re

import pytest
from benchmark_scripts import load_benchmark

from genlab.world.parser import parse_image
from genlab.world.render import render

oj = load_benchmark("outsider_judge")
make = load_benchmark("outsider2_prompts_make")
DOC = json.loads(make.OUT.read_text())
ITEMS = DOC["prompts"]


def says(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text.lower()) is not None


def named(table: dict[str, list[str]], text: str) -> set[str]:
    """The keys of `table` (a color, size or background) that some word of theirs in `text` names."""
    return {key for key, words in table.items() if any(says(text, w) for w in words)}


def test_prompt_file_is_what_the_seeded_script_writes(tmp_path):
    make.main(["--seed", str(DOC["seed"]), "--out", str(tmp_path / "p.json")])
    assert json.loads((tmp_path / "p.json").read_text()) == DOC
    assert f"--seed {DOC['seed']}" in DOC["description"]


def test_set_is_balanced_over_categories_backgrounds_colors_and_shapes():
    from genlab.world.spec import COLORS, SHAPES

    assert len(ITEMS) == 300 and len({it["prompt"].lower() for it in ITEMS}) == 300
    for category in oj.CATEGORIES:
        items = [it for it in ITEMS if it["category"] == category]
        assert len(items) == 75
        bgs = [it["background"] for it in items]
        assert {b: bgs.count(b) for b in ("black", "gray", "white", None)} == {
            "black": 10, "gray": 10, "white": 10, None: 45
        }  # fmt: skip
    assert {o["color"] for it in ITEMS for o in it["objects"]} == set(COLORS)
    assert {o["shape"] for it in ITEMS for o in it["objects"]} == set(SHAPES)


@pytest.mark.parametrize("item", ITEMS, ids=lambda it: it["prompt"][:40])
def test_scene_fits_the_world_and_the_prompt_says_it(item):
    objects, text = item["objects"], item["prompt"]
    total = sum(o["count"] for o in objects)
    kinds = [(o["color"], o["shape"]) for o in objects]
    assert 1 <= total <= 4 and len(set(kinds)) == len(kinds)
    expected = {
        "single": (1, 1, 0), "count": (1, None, 0), "two_objects": (2, None, 0),
        "relation": (2, None, 1),
    }[item["category"]]  # fmt: skip
    assert (len(objects), total if expected[1] else None, len(item["relations"])) == expected
    # every color, shape, size and background asked for is worded, and no other color or size
    assert named(make.COLOR_WORDS, text) == {o["color"] for o in objects}
    for o in objects:
        assert any(says(text, w) for pair in make.SHAPE_WORDS[o["shape"]] for w in pair)
    assert named(make.SIZE_WORDS, text) == {o["size"] for o in objects if o["size"]}
    assert named(make.BACKGROUND_WORDS, text) == {item["background"]} - {None}
    for o in objects:
        assert not o["position"] or any(says(text, w) for w in make.POSITION_WORDS[o["position"]])
    for rel in item["relations"]:
        pronoun = [w.format(it=it, its=its) for w in make.RELATION_PRONOUN_WORDS[rel["relation"]]
                   for it, its in (("it", "its"), ("them", "their"))]  # fmt: skip
        assert any(says(text, w) for w in make.RELATION_WORDS[rel["relation"]] + pronoun)


@pytest.mark.parametrize("category", oj.CATEGORIES)
def test_judge_passes_true_scenes_and_fails_an_extra_object(category):
    items = [it for it in ITEMS if it["category"] == category][:8]
    for k, item in enumerate(items):
        parsed = parse_image(render(oj.truth_scene(item, seed=k)))
        v = oj.judge(item, parsed.objects, parsed.background)
        assert v.passed, (item["prompt"], v)
        if sum(o["count"] for o in item["objects"]) < 4:
            parsed = parse_image(render(oj.truth_scene(item, seed=k, extra_object=True)))
            v = oj.judge(item, parsed.objects, parsed.background)
            assert (v.passed, v.reason) == (False, "extra objects"), item["prompt"]
