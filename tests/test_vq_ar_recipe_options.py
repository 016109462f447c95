"""The recipe world-vq-ar-plan is the bundled world-vq-ar's run as data (issue #39): its tokenizer's
scenes (`tokenizer_seed`), the schedule's length apart from the steps run (`schedule_steps`,
`--schedule-steps`) and its corpus resolve into the training config as the file's own record
says. Nothing is trained here."""

import math
import re
from dataclasses import replace

import pytest
import torch

from genlab.cli import main
from genlab.errors import InvalidArgument
from genlab.io import read_checkpoint_config
from genlab.pipelines.registry import resolve_path
from genlab.train import RecipeOptions, TrainConfig, Trainer, get_recipe
from genlab.train.recipes import apply_options, spec_config
from genlab.train.toy import RegressionTask, regression_data
from genlab.train.world_families import focus_corpus, plan_ar_config, tokenizer_scenes


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1).replace(",", ""))


def _loop(recipe: str, **options) -> TrainConfig:
    """The loop settings world-vq-ar-plan's builder trains with (the others': their spec's)."""
    spec = get_recipe(recipe).resolve(options.get("tiny", False))
    if recipe == "world-vq-ar-plan":
        return plan_ar_config(recipe, spec, RecipeOptions(**options))
    return apply_options(spec_config(spec), RecipeOptions(**options), recipe)


def test_the_recipe_resolves_to_the_run_the_bundled_file_records():
    """Each setting the bundled world-vq-ar's `training.trained_as` states is the recipe's."""
    training = read_checkpoint_config(resolve_path("world-vq-ar"))["training"]
    said = training["trained_as"]
    spec = get_recipe("world-vq-ar-plan").resolve()
    assert spec.tokenizer_images == _number(r"fitted on ([\d,]+) focus scenes", said)
    assert spec.tokenizer_seed == _number(r"fitted on [\d,]+ focus scenes \(seed (\d+)\)", said)
    assert spec.images == _number(r"prior on ([\d,]+) focus scenes", said)
    config = _loop("world-vq-ar-plan", seed=int(_number(r"focus scenes \(seed (\d+)\), lr", said)))
    assert config.lr == _number(r"lr ([\d.e-]+)", said)
    assert config.warmup_steps == _number(r"\((\d+) warm-up steps", said)
    assert config.lr_schedule == "cosine"
    assert config.schedule_steps == _number(r"cosine over (\d+) steps", said)
    assert config.steps == training["steps"] == _number(r"at step (\d+)", said)
    assert config.batch_size == training["batch_size"]
    assert config.steps * config.batch_size == training["samples_seen"]


def test_steps_alone_give_a_full_schedule_and_schedule_steps_a_longer_one():
    recipe = _loop("world-vq-ar-plan")
    assert recipe.schedule_steps > recipe.steps  # the recipe's own: stopped part way
    alone = _loop("world-vq-ar-plan", steps=377)  # the equal-budget command: a full cosine
    assert (alone.steps, alone.schedule_steps) == (377, None)
    both = _loop("world-vq-ar-plan", steps=300, schedule_steps=900)
    assert (both.steps, both.schedule_steps) == (300, 900)
    tiny = _loop("world-vq-ar-plan", tiny=True)  # a smoke run decays over its own steps
    assert tiny.schedule_steps is None
    # the other families' recipes keep a full schedule of their steps
    for name in ("world-vae-plan", "world-dcgan-plan", "world-t2i-layout-plan"):
        assert _loop(name).schedule_steps is None


def test_a_run_stopped_part_way_follows_the_longer_schedule(tmp_path):
    def trainer(**kw):
        config = TrainConfig(lr_schedule="cosine", warmup_steps=10, out_dir=str(tmp_path), **kw)
        return Trainer(RegressionTask(), regression_data(), config)

    stopped, whole, short = (
        trainer(steps=60, schedule_steps=90),
        trainer(steps=90),
        trainer(steps=60),
    )
    assert [stopped.lr_factor(s) for s in range(60)] == [whole.lr_factor(s) for s in range(60)]
    # at its last step the stopped run is still at the rate of the longer cosine, not its floor
    last = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (59 - 10) / (90 - 10)))
    assert stopped.lr_factor(59) == pytest.approx(last)
    assert short.lr_factor(59) == pytest.approx(0.1, abs=2e-3)


@pytest.mark.parametrize(
    "settings, expected",
    [
        (dict(steps=60, schedule_steps=59, lr_schedule="cosine"), "an integer ≥ 60"),
        (dict(steps=60, schedule_steps=2.5, lr_schedule="cosine"), "an integer ≥ 60"),
        (dict(steps=60, schedule_steps=90, lr_schedule="constant"), "constant schedule"),
    ],
)
def test_a_schedule_shorter_than_the_run_or_without_a_cosine_is_refused(settings, expected):
    with pytest.raises(InvalidArgument, match=f"schedule_steps.*{expected}"):
        TrainConfig(**settings).validate()


def test_the_command_line_refuses_a_bad_schedule_in_one_line(capsys):
    assert main(["train", "--recipe", "toy-regression", "--schedule-steps", "0"]) == 2
    # toy-regression's schedule is constant: there is no cosine to lengthen
    assert main(["train", "--recipe", "toy-regression", "--schedule-steps", "400"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("--schedule-steps" in e or "schedule_steps" in e for e in err)


def test_the_tokenizer_is_fitted_on_the_scenes_of_its_own_seed():
    spec = get_recipe("world-vq-ar-plan").resolve(tiny=True)  # 64 scenes at 16 px
    corpus = focus_corpus(spec.images, 1, spec.image_size)
    scenes = tokenizer_scenes(spec, corpus, seed=1)
    own = focus_corpus(spec.tokenizer_images, spec.tokenizer_seed, spec.image_size)
    assert torch.equal(scenes["image"], own["image"])
    assert torch.equal(scenes["drawn_background"], own["drawn_background"])
    assert not torch.equal(scenes["image"], corpus["image"][: spec.tokenizer_images])
    # the run's own seed (or none given): the corpus's first scenes, not rendered again
    for same in (spec.tokenizer_seed, None):
        first = tokenizer_scenes(replace(spec, tokenizer_seed=same), corpus, spec.tokenizer_seed)
        assert torch.equal(first["image"], corpus["image"][: spec.tokenizer_images])
