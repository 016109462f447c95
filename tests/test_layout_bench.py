"""benchmarks/layout_planner.py: the planner's ceiling (its plans rendered exactly and parsed) and
the drawing of right plans, checked on a model whose planner always writes one known plan."""

import json

import pytest
import torch
from benchmark_scripts import load_benchmark
from test_layout import make_two_stage_checkpoint

import genlab
from genlab.eval.compositional import score_image, suite
from genlab.world import Obj, Scene, render
from genlab.world.grammar import parse_prompt
from genlab.world.layout import scene_layout


@pytest.mark.slow
def test_ceiling_counts_exactly_the_prompts_the_one_plan_satisfies(tmp_path):
    path = make_two_stage_checkpoint(tmp_path / "m.safetensors")
    pipe = genlab.load(str(path), device="cpu")
    # Teach the planner one answer: a small red circle in the center, whatever the prompt.
    red = Obj("circle", "red", "small", 1, 1)
    target = torch.tensor(scene_layout(Scene((red,), "gray"))).long()[None]
    items = suite(4, seed=0, splits=("in_distribution",))
    batch = pipe.text_encoder.tokenizer([i.prompt for i in items], pipe.max_prompt_tokens)
    planner = pipe.layout_planner.train()
    opt = torch.optim.AdamW(planner.parameters(), lr=3e-3)
    for _ in range(120):
        loss = planner.loss(batch.ids, batch.mask, target.expand(len(items), -1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    planner.eval()
    genlab.io.save_checkpoint(tmp_path / "one-plan.safetensors", *pipe.checkpoint())

    out = tmp_path / "figures.json"
    bench = load_benchmark("layout_planner")
    args = [str(tmp_path / "one-plan.safetensors"), "--prompts-per-category", "4", "--splits",
            "in_distribution", "--size", "16", "--draw", "1", "--tries", "2", "--json", str(out)]  # fmt: skip
    assert bench.main(args) == 0
    figures = json.loads(out.read_text())
    expected = {}
    for item in items:
        background = parse_prompt(item.prompt).request.background or "gray"
        ok = score_image(item.prompt, render(Scene((red,), background), 16))[0]
        expected.setdefault(item.category, []).append(ok)
    ceiling = figures["ceiling"]["in_distribution"]
    for category, oks in expected.items():
        assert ceiling[category] == round(sum(oks) / len(oks), 3), category
    assert ceiling["two_objects"] == 0.0 and figures["invalid_plans"] == 0
    drawing = figures["drawing"]
    # one prompt per category drawn when the plan fits it; the others have no right plan
    assert drawing["images"] + sum(drawing["no_plan"].values()) == 6
    assert drawing["no_plan"].get("two_objects") == 1


@pytest.mark.slow
def test_word_window_benchmark_picks_binding_scenes_and_reports_each_window(tmp_path):
    bench = load_benchmark("planner_word_window")

    def layout(*objects):
        return torch.tensor(scene_layout(Scene(objects, "gray"))).long()

    red_circle, blue_square = (
        Obj("circle", "red", "small", 0, 0),
        Obj("square", "blue", "large", 2, 2),
    )
    rows = torch.stack([
        layout(red_circle, blue_square),  # binding: colors and shapes both differ
        layout(red_circle, Obj("square", "red", "small", 2, 2)),  # one color
        layout(red_circle, Obj("circle", "blue", "small", 2, 2)),  # one shape
        layout(red_circle),  # one object
        layout(red_circle, blue_square, Obj("star", "green", "small", 1, 1)),  # three
    ])  # fmt: skip
    assert bench.binding_rows(rows).tolist() == [True, False, False, False, False]

    out = tmp_path / "window.json"
    args = ["--steps", "2", "--every", "1", "--batch-size", "4", "--data-size", "40",
            "--val-size", "60", "--json", str(out)]  # fmt: skip
    assert bench.main(args) == 0
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"word_window=0", "word_window=2"}
    for curve in results.values():
        assert [r["step"] for r in curve] == [1, 2]
        assert all(0 <= r["binding"] <= 1 and r["loss"] > 0 for r in curve)
