"""Training recipes as data: every recipe resolves from its family's base config, a few overrides
and one tiny overlay; `genlab train --list` describes each in one line; and every kept recipe,
full and tiny, builds what the code before recipes became data built (tests/data/recipes/: the
expected values were written by snapshot.py from main at ac3369e, then frozen)."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from genlab.cli import main
from genlab.errors import NotFound
from genlab.train import RecipeOptions, get_recipe, list_recipes
from genlab.train.recipes import Recipe, derive

sys.path.insert(0, str(Path(__file__).parent / "data" / "recipes"))
import snapshot  # noqa: E402  (the describe_job the expected values were written with)

EXPECTED = json.loads(snapshot.EXPECTED.read_text())
RETIRED = [
    "digits-dcgan-28", "digits-gan-mlp", "digits-vae-conv", "world-dcgan", "world-vae",
    "world-vqvae", "world-t2i-cpu-dit-joint", "world-t2i-tower", "world-t2v-cpu", "world-t2v-full",
    "world-t2v-joint", "world-t2v-unet-cpu", "world-t2v-unet3dq-cpu", "world-t2v-words-cpu",
]  # fmt: skip
# What the refactor changed on purpose, by (recipe, scale): path in describe_job -> why.
CHANGED = {
    ("world-kl-f4-64", "tiny"): {
        "config.extra.initialised from": "a tiny run builds an untrained kl-tiny; the old card "
        "said it started from world-kl-f4",
    },
}
# Tiny video recipes now size their clip cache from their own 64-scene corpus (they used the
# full recipe's); a bound on memory, it changes no batch.
for _name in ("world-t2v", "world-t2v-long", "world-t2v-words", "world-t2v-unet"):
    CHANGED[(_name, "tiny")] = {"data.max_cached": "sized from the tiny corpus"}
# The VQ + AR card named the full recipe's model sizes under --tiny; it names the built ones now.
for _name in ("world-vq-ar", "world-vq-ar-cpu"):
    CHANGED[(_name, "tiny")] = {
        "config.extra.stage 1": "names vqvae-tiny, the model built",
        "config.extra.stage 2": "names ar-tiny, the model built",
    }

# The video pipeline is the image pipeline's sibling now (#34), not its subclass: it has no
# layout planner, layout temperature or autoencoder to record.
for _name in (
    "world-t2v",
    "world-t2v-long",
    "world-t2v-words",
    "world-t2v-unet",
    "world-t2v-unet3d-cpu",
):
    for _scale in ("full", "tiny"):
        for _field in ("default_layout_temperature", "layout_planner", "autoencoder"):
            CHANGED.setdefault((_name, _scale), {})[f"task.pipeline.{_field}"] = (
                "a video pipeline has no layout planner or autoencoder"
            )


# Fields added to every text-to-image pipeline since (#37: a distilled model's own sampler and
# steps), and to every loop config (#39: a cosine stopped part way, schedule_steps); the old code
# had none to record.
ADDED_FIELDS = (
    "task.pipeline.default_sampler",
    "task.pipeline.default_num_inference_steps",
    "config.schedule_steps",
)


def _without(described: dict, paths) -> dict:
    out = json.loads(json.dumps(described))
    for path in paths:
        *parents, last = path.split(".", 2)  # config.extra's keys hold no dots
        node = out
        for key in parents:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def test_every_recipe_has_a_one_line_description_in_the_list(capsys):
    assert main(["train", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(list_recipes())
    for line in lines:
        name, description = line.split(maxsplit=1)
        assert len(description) >= 20, line  # a description, not a stub


# Recipes added after the snapshot (they have no code before recipes-as-data to compare with).
ADDED = {
    "world-vq-ar-plan", "world-vae-plan", "world-dcgan-plan", "world-t2i-layout-plan",  # #39
    "world-t2i-turbo",  # #37, the distilled default
}  # fmt: skip


def test_the_kept_recipes_are_those_the_snapshot_checks_and_the_retired_are_gone():
    assert set(list_recipes()) == set(EXPECTED) | ADDED
    for name in RETIRED:
        with pytest.raises(NotFound, match="unknown recipe"):
            get_recipe(name)


def test_a_recipe_is_its_familys_base_with_overrides_and_one_tiny_overlay():
    """world-t2i-words = world-t2i + two fields; --tiny applies the family's overlay, then the
    recipe's own tiny fields (the DiT's tiny sizes), and nothing else changes."""
    words, dit = get_recipe("world-t2i-words"), get_recipe("world-t2i-dit")
    base = get_recipe("world-t2i").resolve()
    changed = {
        f.name
        for f in dataclasses.fields(base)
        if getattr(base, f.name) != getattr(words.resolve(), f.name)
    }
    assert changed == {"text_encoder", "residual_lr_scale"}
    tiny = dit.resolve(tiny=True)
    assert tiny == dataclasses.replace(
        dit.resolve(), **{**dit.family.tiny, "denoiser_overrides": dit.tiny["denoiser_overrides"]}
    )
    assert tiny.denoiser == "dit-world-s" and tiny.denoiser_overrides["hidden_size"] == 32


def test_a_recipe_names_only_fields_its_family_has():
    t2i = get_recipe("world-t2i")
    with pytest.raises(TypeError, match="has no \\['denoiser_size'\\]"):
        derive(t2i, "bad", "a misspelt field", denoiser_size=3)
    with pytest.raises(ValueError, match="one non-empty line"):
        Recipe("bad", "", t2i.family)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, scale", [(n, s) for n in sorted(EXPECTED) for s in sorted(EXPECTED[n])]
)
def test_a_kept_recipe_builds_what_the_code_before_recipes_as_data_built(name, scale, tmp_path):
    """Settings, models (class, sizes, parameters, initial weights), task and data, compared
    with what the old code built for the same options (full size: 16 scenes rendered)."""
    got = snapshot.build(name, scale, tmp_path)
    changed = {**CHANGED.get((name, scale), {}), **dict.fromkeys(ADDED_FIELDS, "added since")}
    assert _without(got, changed) == _without(EXPECTED[name][scale], changed)


def test_a_tiny_recipe_honours_the_command_line_over_its_overlay(tmp_path):
    options = RecipeOptions(
        tiny=True, steps=3, batch_size=2, lr=1e-4, out_dir=str(tmp_path), progress=False
    )
    job = get_recipe("digits-vae").build(options)
    assert (job.config.steps, job.config.batch_size, job.config.lr) == (3, 2, 1e-4)
    assert job.config.log_every == 2  # the rest comes from the tiny overlay
