"""The compositional suite: ≥ 500 seeded prompts per GenEval category and split that the world's
grammar fully understands; the world oracle scores near perfect and a model that ignores the
prompt scores low; summaries carry Wilson intervals."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genlab.errors import InvalidArgument
from genlab.eval import compositional as comp
from genlab.eval.reference import WorldOracle
from genlab.world import HELD_OUT, parse_prompt


@pytest.mark.parametrize("category", comp.CATEGORIES)
def test_every_category_offers_500_distinct_prompts_per_split_the_grammar_understands(category):
    for split in comp.SPLITS:
        prompts = comp.all_prompts(category, split)
        assert len(set(prompts)) == len(prompts) >= 500
        for prompt in prompts[:: max(1, len(prompts) // 60)]:
            parsed = parse_prompt(prompt)
            assert parsed.unknown_words == [] and parsed.understood, prompt
            named = {(o.color, o.shape) for o in parsed.request.objects}
            assert bool(named & HELD_OUT) == (split == "held_out"), prompt


def test_paraphrased_prompts_ask_for_the_in_distribution_scenes_in_other_words():
    canonical = comp.suite(20, seed=2, splits=("in_distribution",))
    free = comp.suite(20, seed=2, splits=("paraphrased",))
    assert len(canonical) == len(free)
    changed = 0
    for a, b in zip(canonical, free):
        assert a.category == b.category and b.split == "paraphrased"
        assert b.meant == a.prompt and a.meant is None  # judged against the scene it was made from
        asked, read = parse_prompt(a.prompt), parse_prompt(b.prompt)
        assert read.understood, b.prompt
        assert read.request.normalized() == asked.request.normalized(), (a.prompt, b.prompt)
        changed += a.prompt != b.prompt
    assert changed >= 0.9 * len(free)


def test_the_suite_is_a_fixed_seeded_sample():
    first, again, other = comp.suite(5, seed=0), comp.suite(5, seed=0), comp.suite(5, seed=1)
    assert first == again != other
    assert len(first) == 5 * len(comp.CATEGORIES) * len(comp.SPLITS)
    with pytest.raises(InvalidArgument, match="n_per_category"):
        comp.suite(0)
    with pytest.raises(InvalidArgument, match="at most 600"):
        comp.suite(601, categories=("single_object",))


def _oracle(prompts, n, seed):
    oracle = WorldOracle()
    return [
        im for i, p in enumerate(prompts) for im in oracle(p, seed=seed + i, num_images=n).images
    ]


def _ignores_prompt(prompts, n, seed):
    # Always draws one small pink circle: a model that does not listen to the prompt.
    return _oracle(["a small pink circle"] * len(prompts), n, seed)


def test_the_oracle_answers_the_pipeline_call_and_refuses_options_it_has_none_of():
    oracle = WorldOracle()
    alone = oracle("a blue square", seed=5, num_images=2, output_type="np")
    listed = oracle(["a red circle", "a blue square"], seed=3, num_images=2, output_type="np")
    assert [m["seed"] for m in listed.metadata] == [3, 3, 5, 5], "prompt k from seed + k·n"
    assert listed.images.shape == (4, 32, 32, 3)
    assert np.array_equal(listed.images[2:], alone.images)
    with pytest.raises(InvalidArgument, match="option: expected no options"):
        oracle("a red circle", plan_layout=True)


def test_the_oracle_scores_near_perfect_and_a_model_that_ignores_prompts_scores_low():
    prompts = comp.suite(2, seed=3)
    good = comp.summarize(comp.run_suite(_oracle, prompts, 1, progress=False))
    bad_results = comp.run_suite(_ignores_prompt, prompts, 1, progress=False)
    bad = comp.summarize(bad_results)
    for split in comp.SPLITS:
        assert good[split]["pooled_accuracy"] >= 0.9
        assert bad[split]["pooled_accuracy"] <= 0.3
        for stats in good[split]["categories"].values():
            lo, hi = stats["ci95"]
            assert lo <= stats["accuracy"] <= hi
    worst = comp.worst_failures(bad_results, k=3)
    assert len(worst) == 3 and all(not r.satisfied and r.reasons for r in worst)
    assert "pink circle" in worst[0].parsed


def test_a_blank_image_fails_with_a_reason_naming_what_was_asked():
    blank = Image.fromarray(np.full((32, 32, 3), 18, dtype=np.uint8))
    ok, score, reasons, parsed, lenient = comp.score_image("two red squares", blank)
    assert not lenient
    assert not ok and score < 1
    assert any("square" in r for r in reasons)
