"""Layouts (genlab.world.layout), the layout planner, the U-Net's layout adapters and the two-stage
text-to-image pipeline (planner -> denoiser), trained end to end at tiny size."""

import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.errors import InvalidArgument
from genlab.models import create_model
from genlab.world import Obj, Scene
from genlab.world.layout import (
    CELLS,
    LAYOUT_CHANNELS,
    LAYOUT_CLASSES,
    class_parts,
    describe_layout,
    layout_features,
    layout_objects,
    null_layout_features,
    object_class,
    scene_layout,
)

# A prompt in which the grammar reads no object, so the learned planner writes the plan.
PLANNER_PROMPT = "something on a black background"


def grammar_plan(pipe, prompt: str, seed: int) -> list[int]:
    """The plan the world grammar writes for `prompt` with `seed` (what a call draws)."""
    layouts, sources = pipe.write_layouts([prompt], seed, readings=pipe.read_prompts([prompt]))
    assert sources == ["grammar"]
    return layouts[0].tolist()


def test_every_object_class_round_trips_and_a_scene_layout_places_its_objects():
    seen = set()
    for k in range(1, LAYOUT_CLASSES):
        color, shape, size = class_parts(k)
        assert object_class(Obj(shape, color, size, 0, 0)) == k
        seen.add((color, shape, size))
    assert len(seen) == LAYOUT_CLASSES - 1
    scene = Scene(
        (Obj("circle", "red", "small", 0, 2), Obj("square", "blue", "large", 2, 0)), "gray"
    )
    layout = scene_layout(scene)
    assert layout.shape == (CELLS,) and (layout != 0).sum() == 2
    assert layout[2] == object_class(scene.objects[0]) and layout[6] == object_class(
        scene.objects[1]
    )
    back = layout_objects(layout)
    assert [(o.shape, o.color, o.size, o.row, o.col) for o in back] == [
        ("circle", "red", "small", 0, 2), ("square", "blue", "large", 2, 0)
    ]  # fmt: skip
    assert (
        describe_layout(layout) == "small red circle (top right), large blue square (bottom left)"
    )
    assert describe_layout(np.zeros(CELLS)) == "empty"
    with pytest.raises(InvalidArgument, match="layout class"):
        class_parts(LAYOUT_CLASSES)
    with pytest.raises(InvalidArgument, match="layout"):
        layout_objects([0] * 8)


def test_layout_features_are_one_hot_per_cell_and_null_is_zero():
    layouts = torch.tensor([[0, 1, 2, 0, 80, 0, 0, 41, 0], [0] * CELLS])
    f = layout_features(layouts)
    assert f.shape == (2, LAYOUT_CHANNELS, 3, 3)
    cells = f.flatten(2).transpose(1, 2)  # (B, 9, C)
    empty = cells[..., 0] == 1
    assert torch.equal(empty, layouts == 0)
    # an occupied cell: exactly one color, one shape and one size; an empty one: nothing else
    assert torch.equal(cells[..., 1:].sum(-1), torch.where(empty, 0.0, 3.0))
    color, shape, size = class_parts(80)
    assert cells[0, 4, 1 + 7] == 1 and color == "pink"  # the last color
    assert null_layout_features(2).abs().sum() == 0 and null_layout_features(2).shape == f.shape
    with pytest.raises(InvalidArgument, match="layout"):
        layout_features(torch.zeros(2, 8, dtype=torch.long))


def test_unet_layout_adapters_start_at_zero_and_then_steer_every_resolution():
    torch.manual_seed(0)
    unet = create_model("unet-tiny", layout_channels=LAYOUT_CHANNELS).eval()
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([10.0, 500.0])
    cond = {"tokens": torch.randn(2, 5, 32), "mask": torch.ones(2, 5, dtype=torch.bool),
            "pooled": torch.randn(2, 32)}  # fmt: skip
    layout = layout_features(torch.randint(0, LAYOUT_CLASSES, (2, CELLS)))
    with torch.no_grad():
        base = unet(x, t, cond)
        assert torch.equal(unet(x, t, {**cond, "layout": layout}), base)  # zero-init: no change
        assert len(unet.layout_adapters) == len(unet.config.channel_mult)
        for adapter in unet.layout_adapters:
            adapter[-1].weight.normal_(0, 0.1)
        unet.conv_out.weight.normal_(0, 0.1)
        with_layout = unet(x, t, {**cond, "layout": layout})
        assert not torch.allclose(with_layout, unet(x, t, cond))
        # no layout in cond = the null layout (zeros)
        null = {**cond, "layout": null_layout_features(2)}
        assert torch.allclose(unet(x, t, cond), unet(x, t, null))
    with pytest.raises(InvalidArgument, match="layout"):
        unet(x, t, {**cond, "layout": torch.zeros(2, 3, 3, 3)})


def _planner(vocab_size=20, **overrides):
    torch.manual_seed(0)
    return create_model(
        {"arch": "layout-planner"}, vocab_size=vocab_size, max_length=8, width=32,
        encoder_depth=1, decoder_depth=1, num_heads=2, **overrides,
    )  # fmt: skip


def test_layout_tokens_round_trip_every_class():
    from genlab.models.layout_planner import layout_tokens, tokens_layout

    layout = torch.arange(LAYOUT_CLASSES).remainder(LAYOUT_CLASSES)
    layout = torch.cat([layout, torch.zeros(-len(layout) % CELLS, dtype=torch.long)]).view(
        -1, CELLS
    )
    tokens = layout_tokens(layout)
    assert tokens.shape == (len(layout), 3 * CELLS)
    cells = tokens.view(len(layout), CELLS, 3)
    assert torch.equal((cells[..., 0] == 0), layout == 0)  # empty: shape token 0 ...
    assert torch.equal((cells[..., 1:] == 0).all(-1), layout == 0)  # ... and color, size none
    assert torch.equal(tokens_layout(tokens), layout)


def test_planner_is_causal_over_cells_and_samples_reproducibly():
    planner = _planner().eval()
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    mask = ids != 0
    layout = torch.randint(0, LAYOUT_CLASSES, (2, CELLS))
    changed = layout.clone()
    changed[:, 5] = (changed[:, 5] + 1) % LAYOUT_CLASSES
    with torch.no_grad():
        a, b = planner(ids, mask, layout), planner(ids, mask, changed)
    assert [t.shape[-1] for t in a] == [6, 9, 3]  # shape (or empty), color, size (or none)
    for attr in range(3):  # what cells 0-4 say does not depend on cell 5
        assert a[attr].shape[:2] == (2, CELLS) and torch.equal(a[attr][:, :5], b[attr][:, :5])
    assert torch.equal(a[0][:, 5], b[0][:, 5])  # nor cell 5's shape on what it then says
    assert not torch.allclose(a[0][:, 6:], b[0][:, 6:])

    def draw(seed):
        return planner.sample(
            ids, mask, [torch.Generator().manual_seed(seed + i) for i in range(2)]
        )

    first = draw(3)
    assert first.shape == (2, CELLS) and int(first.min()) >= 0 and int(first.max()) < LAYOUT_CLASSES
    assert torch.equal(first, draw(3))
    with pytest.raises(ValueError, match="generators"):
        planner.sample(ids, mask, [torch.Generator()])


def test_the_word_window_mixes_each_word_with_the_words_just_before_it_only():
    """Before attention, word i takes in words i-2 .. i (a shape word reads its color and size
    words): changing word 2 changes what words 2..4 carry in, nothing before it or past the window."""
    torch.manual_seed(0)
    planner = create_model(
        {"arch": "layout-planner"}, vocab_size=20, max_length=8, width=16, encoder_depth=0,
        num_heads=2, word_window=2,
    ).eval()  # fmt: skip
    ids = torch.tensor([[3, 4, 5, 6, 7, 8, 9, 0]])
    changed = ids.clone()
    changed[0, 2] = 11
    with torch.no_grad():
        moved = (planner.encode(ids, ids != 0) - planner.encode(changed, changed != 0)).abs()
    moved = moved.amax(-1)[0]
    assert (moved[2:5] > 1e-4).all() and (moved[:2] == 0).all() and (moved[5:] == 0).all()
    none = create_model({"arch": "layout-planner"}, vocab_size=20, word_window=0)
    assert none.word_mix is None and not any("word_mix" in k for k in none.state_dict())
    with pytest.raises(ValueError, match="word_window"):
        create_model({"arch": "layout-planner"}, vocab_size=20, word_window=-1)


def test_a_two_stage_file_from_before_the_word_window_still_loads(tmp_path):
    """A planner saved before `word_window` existed had none: its config lacks the field, its
    tensors the window's; it loads as word_window 0 and plans as it did."""
    from genlab.io import load_checkpoint, save_checkpoint

    path = make_two_stage_checkpoint(tmp_path / "now.safetensors", word_window=0)
    tensors, config = load_checkpoint(path)
    config = {**config, "layout_planner": dict(config["layout_planner"])}
    del config["layout_planner"]["word_window"]
    old = save_checkpoint(tmp_path / "old.safetensors", tensors, config)
    now, before = genlab.load(str(path)), genlab.load(str(old))
    assert before.layout_planner.config.word_window == 0
    assert torch.equal(
        now.plan_layouts(["a red circle"], 4), before.plan_layouts(["a red circle"], 4)
    )


@pytest.mark.slow
def test_planner_learns_where_a_relation_word_puts_each_object():
    """Two prompts that differ only in "above" / "below" must get opposite layouts: what the
    frozen contrastive tower could not tell the denoiser, the planner learns from its own loss."""
    from genlab.train.text2image import world_vocabulary

    tok = world_vocabulary(n_scenes=200)
    red = Obj("circle", "red", "small", 0, 1)
    blue = Obj("square", "blue", "small", 2, 1)
    above = scene_layout(Scene((red, blue), "gray"))
    below = scene_layout(Scene((Obj("circle", "red", "small", 2, 1),
                                Obj("square", "blue", "small", 0, 1)), "gray"))  # fmt: skip
    batch = tok(["a red circle above a blue square", "a red circle below a blue square"], 8)
    targets = torch.tensor(np.stack([above, below])).long()
    planner = _planner(len(tok))
    opt = torch.optim.AdamW(planner.parameters(), lr=3e-3)
    for _ in range(250):
        loss = planner.loss(batch.ids, batch.mask, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    planner.eval()
    drawn = planner.sample(batch.ids, batch.mask, [torch.Generator().manual_seed(0)] * 2)
    assert loss.item() < 0.1
    assert torch.equal(drawn, targets)


@pytest.mark.slow
def test_two_stage_recipe_trains_exports_and_samples_with_its_plan(tmp_path):
    from genlab.train import run_recipe
    from genlab.train.recipes import RecipeOptions

    summary = run_recipe(
        "world-t2i-layout",
        RecipeOptions(tiny=True, steps=6, out_dir=str(tmp_path), progress=False, device="cpu"),
    )
    assert np.isfinite(summary["last_logs"]["planner_loss"])
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe.layout_planner is not None and "layout" in pipe.describe()["supports"]
    a = pipe("a red circle above a blue square", seed=5, num_inference_steps=2, num_images=2)
    b = pipe("a red circle above a blue square", seed=5, num_inference_steps=2, num_images=2)
    assert [np.asarray(i).tolist() for i in a.images] == [np.asarray(i).tolist() for i in b.images]
    assert [m["layout"] for m in a.metadata] == [m["layout"] for m in b.metadata]
    # image 1 alone, from its metadata's seed, is image 1 of the batch (layout and pixels)
    one = pipe("a red circle above a blue square", seed=6, num_inference_steps=2)
    assert one.metadata[0]["layout"] == a.metadata[1]["layout"]
    assert np.array_equal(np.asarray(one.images[0]), np.asarray(a.images[1]))
    plain = pipe(
        "a red circle above a blue square", seed=5, num_inference_steps=2, plan_layout=False
    )
    assert "layout" not in plain.metadata[0] and plain.metadata[0]["plan_layout"] is False
    assert a.metadata[0]["plan_layout"] is True
    with pytest.raises(InvalidArgument, match="plan_layout"):
        pipe("a circle", plan_layout="yes")
    # the export carries the planner; a model without one refuses plan_layout=True
    tensors, config = genlab.io.load_checkpoint(summary["model"])
    assert "layout_planner" in config and any(k.startswith("layout_planner.") for k in tensors)
    assert config["denoiser"]["layout_channels"] == LAYOUT_CHANNELS
    plain_model = run_recipe(
        "world-t2i", RecipeOptions(tiny=True, steps=2, out_dir=str(tmp_path / "p"), progress=False)
    )["model"]
    with pytest.raises(InvalidArgument, match="no layout planner"):
        genlab.load(plain_model, device="cpu")("a circle", plan_layout=True)


def test_the_corpus_carries_each_scenes_layout():
    from genlab.data.world import focus_item
    from genlab.train.text2image import world_corpus, world_vocabulary

    corpus = world_corpus(6, size=16, seed=3, tokenizer=world_vocabulary(n_scenes=200),
                          max_length=48, workers=1, progress=False, scenes="focus")  # fmt: skip
    assert corpus["layouts"].shape == (6, CELLS) and corpus["layouts"].dtype == torch.int8
    for i in range(6):
        scene = focus_item(3, i)[0]
        assert corpus["layouts"][i].tolist() == scene_layout(scene).tolist()


def make_two_stage_checkpoint(path, *, layout_temperature: float = 1.0, **planner_overrides):
    """A tiny, untrained two-stage checkpoint (planner + a denoiser that reads layouts), weights
    perturbed away from zero so that the plan changes the pixels."""
    from genlab.diffusion import NoiseSchedule
    from genlab.io import save_checkpoint
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder

    torch.manual_seed(0)
    encoder = TextEncoder(width=32, depth=1, num_heads=2, max_length=8)
    denoiser = create_model(
        "unet-tiny", context_dim=32, pooled_dim=32, model_channels=8, head_dim=8,
        layout_channels=LAYOUT_CHANNELS,
    )  # fmt: skip
    with torch.no_grad():
        for p in denoiser.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    planner = _planner(len(encoder.tokenizer), **planner_overrides)
    pipe = Text2ImagePipeline(
        denoiser, encoder, NoiseSchedule.create("cosine"), "v_prediction", name="two-stage",
        image_size=16, layout_planner=planner, default_layout_temperature=layout_temperature,
    )  # fmt: skip
    save_checkpoint(path, *pipe.checkpoint())
    return path


def test_a_models_own_layout_temperature_rides_in_its_checkpoint(tmp_path):
    """A two-stage model samples its plans at its `default_layout_temperature` unless a call
    says otherwise; the metadata says which; the value survives a save; files without it
    plan at 1."""
    from genlab.io import load_checkpoint, save_checkpoint
    from genlab.pipelines.text2image import Text2ImagePipeline

    prompt = PLANNER_PROMPT
    path = make_two_stage_checkpoint(tmp_path / "cool.safetensors", layout_temperature=0.4)
    pipe = genlab.load(str(path), device="cpu")
    assert pipe.default_layout_temperature == 0.4
    assert pipe.describe()["default_layout_temperature"] == 0.4
    for asked, used in ((None, 0.4), (1.0, 1.0), (0.2, 0.2)):
        meta = pipe(prompt, seed=5, num_inference_steps=2, layout_temperature=asked).metadata[0]
        assert meta["layout_temperature"] == used
        assert meta["layout_cells"] == pipe.plan_layouts([prompt], 5, used)[0].tolist()
    # a different temperature gives different plans somewhere among a few seeds
    cool, warm = (pipe.plan_layouts([prompt] * 8, 0, t).tolist() for t in (0.4, 3.0))
    assert cool != warm
    assert (
        "layout_temperature"
        not in pipe(prompt, num_inference_steps=2, plan_layout=False).metadata[0]
    )
    save_checkpoint(tmp_path / "again.safetensors", *pipe.checkpoint())
    assert (
        genlab.load(str(tmp_path / "again.safetensors"), device="cpu").default_layout_temperature
        == 0.4
    )
    tensors, config = load_checkpoint(path)
    del config["default_layout_temperature"]
    save_checkpoint(tmp_path / "older.safetensors", tensors, config)
    assert (
        genlab.load(str(tmp_path / "older.safetensors"), device="cpu").default_layout_temperature
        == 1.0
    )
    for bad in (0, -0.5, float("nan"), 11, "warm"):
        with pytest.raises(InvalidArgument, match="default_layout_temperature"):
            Text2ImagePipeline(
                pipe.denoiser, pipe.text_encoder, pipe.schedule,
                layout_planner=pipe.layout_planner, default_layout_temperature=bad,
            )  # fmt: skip


def test_layout_temperature_flags_of_generate_and_eval(tmp_path, capsys):
    """--layout-temperature reaches the plan and the PNG; it is refused, naming the flag, beside
    --no-layout, out of (0, 10], or for a model with no planner."""
    from genlab.cli import main
    from genlab.io import load_checkpoint, read_params, save_checkpoint

    prompt = PLANNER_PROMPT
    model = str(make_two_stage_checkpoint(tmp_path / "two-stage.safetensors"))
    base = ["generate", prompt, "--model", model, "--steps", "2", "--seed", "4", "--device", "cpu"]
    assert main([*base, "--layout-temperature", "0.3", "--out", str(tmp_path / "a.png")]) == 0
    params = read_params(tmp_path / "a.png")
    assert params["layout_temperature"] == 0.3
    expected = genlab.load(model, device="cpu").plan_layouts([prompt], 4, 0.3)[0].tolist()
    assert params["layout_cells"] == expected
    tensors, config = load_checkpoint(model)  # the same model without its planner
    del config["layout_planner"], config["default_layout_temperature"]
    one = save_checkpoint(
        tmp_path / "one.safetensors",
        {k: v for k, v in tensors.items() if not k.startswith("layout_planner.")},
        config,
    )
    for extra, why in (
        (["--layout-temperature", "0"], "(0, 10]"),
        (["--layout-temperature", "12"], "(0, 10]"),
        (["--layout-temperature", "0.5", "--no-layout"], "with --no-layout"),
        (["--layout-temperature", "0.5", "--model", str(one)], "no layout planner"),
    ):
        capsys.readouterr()
        assert main([*base, *extra, "--out", str(tmp_path / "x.png")]) == 2, extra
        err = capsys.readouterr().err
        assert "--layout-temperature" in err and why in err, err
    assert not (tmp_path / "x.png").exists()
    argv = ["eval", model, "--suite", "compositional", "--out", str(tmp_path / "ev")]
    assert main([*argv, "--layout-temperature", "-1"]) == 2
    assert "layout_temperature" in capsys.readouterr().err
    assert main([*argv, "--layout-temperature", "0.5", "--no-layout"]) == 2
    assert "with --no-layout" in capsys.readouterr().err


def test_a_planner_needs_a_denoiser_that_reads_layouts():
    from genlab.diffusion import NoiseSchedule
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder

    encoder = TextEncoder(width=32, depth=1, num_heads=2, max_length=8)
    unet = create_model("unet-tiny")
    with pytest.raises(InvalidArgument, match="layout_channels"):
        Text2ImagePipeline(unet, encoder, NoiseSchedule.create("cosine"), layout_planner=_planner())


def test_generate_cli_writes_the_plan_into_the_png_and_no_layout_leaves_it_out(tmp_path, capsys):
    from genlab.cli import main
    from genlab.io import read_params

    model = str(make_two_stage_checkpoint(tmp_path / "two-stage.safetensors"))
    base = ["generate", "a red circle above a blue square", "--model", model, "--steps", "2",
            "--seed", "4", "--device", "cpu"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a.png")]) == 0
    assert main([*base, "--no-layout", "--out", str(tmp_path / "b.png")]) == 0
    capsys.readouterr()
    planned, plain = read_params(tmp_path / "a.png"), read_params(tmp_path / "b.png")
    expected = grammar_plan(genlab.load(model, device="cpu"), "a red circle above a blue square", 4)
    assert planned["layout"] == describe_layout(expected) and planned["layout_source"] == "grammar"
    assert "layout" not in plain
    a, b = (np.asarray(Image.open(tmp_path / f"{x}.png")) for x in "ab")
    assert not np.array_equal(a, b)  # the plan reaches the pixels


@pytest.mark.slow
def test_rest_generate_plans_by_default_and_plan_layout_false_draws_from_text(tmp_path):
    import httpx

    from genlab.io import load_checkpoint, save_checkpoint
    from genlab.serve.launch import LocalServer

    model = make_two_stage_checkpoint(tmp_path / "two-stage.safetensors")
    tensors, config = load_checkpoint(model)  # the same model without its planner: one stage
    del config["layout_planner"]
    plain_model = save_checkpoint(
        tmp_path / "one-stage.safetensors",
        {k: v for k, v in tensors.items() if not k.startswith("layout_planner.")},
        config,
    )
    models = {"two": str(model), "one": str(plain_model)}
    with (
        LocalServer(tmp_path / "home", models=models) as srv,
        httpx.Client(base_url=srv.url, timeout=60) as client,
    ):

        def params(**body):
            body = {"prompt": "a red circle above a blue square", "num_inference_steps": 2,
                    "seed": 3, **body}  # fmt: skip
            return finished(client.post("/api/generate", json=body))

        def finished(job) -> dict:
            """The first result's parameters once the queued job is done."""
            assert job.status_code == 202, job.text
            job_id = job.json()["job_id"]
            for _ in range(600):
                view = client.get(f"/api/jobs/{job_id}").json()
                if view["status"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            assert view["status"] == "done", view
            return view["results"][0]["params"]

        assert "layout" in params() and "layout" in params(plan_layout=True)
        plain = params(plan_layout=False)
        assert "layout" not in plain and plain["plan_layout"] is False
        assert client.get("/api/models").json()["models"][0]["layout"] is True
        bad = client.post("/api/generate", json={"prompt": "a circle", "plan_layout": "maybe"})
        assert bad.status_code == 422 and "plan_layout" in bad.text
        # a model with no planner refuses plan_layout=true at once (no job), draws with false
        one = {"prompt": "a circle", "model": "one", "plan_layout": True}
        bad = client.post("/api/generate", json=one)
        assert bad.status_code == 422 and "no layout planner" in bad.text, bad.text
        assert params(model="one", plan_layout=False)["plan_layout"] is False
        # the planner's temperature: the model's own unless asked, refused where nothing plans
        assert params()["layout_temperature"] == 1.0
        cool = params(prompt=PLANNER_PROMPT, layout_temperature=0.25)
        assert cool["layout_temperature"] == 0.25 and cool["layout_source"] == "planner"
        assert (
            cool["layout_cells"]
            == genlab.load(str(model), device="cpu")
            .plan_layouts([cool["prompt"]], 3, 0.25)[0]
            .tolist()
        )
        listed = {m["name"]: m for m in client.get("/api/models").json()["models"]}
        assert listed["two"]["layout_temperature"] == 1.0
        assert listed["one"]["layout_temperature"] is None
        # edits: the plan goes where the mask opens (here the top-left cell); false: text only
        import base64
        import io

        source = client.get("/api/history", params={"q": "red circle above"}).json()["items"][0]
        mask = np.zeros((16, 16), np.uint8)
        mask[0:6, 0:6] = 255
        buffer = io.BytesIO()
        Image.fromarray(mask).save(buffer, format="PNG")
        png = base64.b64encode(buffer.getvalue()).decode()

        def edited(**body):
            body = {"image_id": source["image_id"], "prompt": "a red circle", "mask": png,
                    "num_inference_steps": 2, "seed": 1, **body}  # fmt: skip
            return finished(client.post("/api/edit", json=body))

        inpainted = edited()
        assert inpainted["plan_layout"] is True
        assert all((o.row, o.col) == (0, 0) for o in layout_objects(inpainted["layout_cells"]))
        assert edited(plan_layout=False)["plan_layout"] is False
        bad = client.post("/api/edit", json={"image_id": source["image_id"], "prompt": "a circle",
                                             "mask": png, "model": "one", "plan_layout": True})  # fmt: skip
        assert bad.status_code == 422 and "no layout planner" in bad.text, bad.text
        for body, why in (
            ({"layout_temperature": 0}, "layout_temperature"),
            ({"layout_temperature": 10.5}, "layout_temperature"),
            ({"layout_temperature": 0.5, "plan_layout": False}, "plan_layout is false"),
            ({"layout_temperature": 0.5, "model": "one"}, "no layout planner"),
        ):
            bad = client.post("/api/generate", json={"prompt": "a circle", **body})
            assert bad.status_code == 422 and why in bad.text, (body, bad.text)


@pytest.mark.slow
def test_planner_recipe_trains_only_the_planner_of_a_two_stage_model(tmp_path):
    from genlab.train import run_recipe
    from genlab.train.recipes import RecipeOptions

    first = run_recipe(
        "world-t2i-layout",
        RecipeOptions(tiny=True, steps=2, out_dir=str(tmp_path / "a"), progress=False),
    )["model"]
    second = run_recipe(
        "world-t2i-planner",
        RecipeOptions(tiny=True, steps=4, out_dir=str(tmp_path / "b"), progress=False),
        init_from=first,
    )
    assert set(second["last_logs"]) >= {"planner_loss", "loss"}
    before, _ = genlab.io.load_checkpoint(first)
    after, config = genlab.io.load_checkpoint(second["model"])
    assert before.keys() == after.keys() and "layout_planner" in config
    for key in before:
        same = torch.equal(before[key], after[key])
        assert same != key.startswith("layout_planner."), key  # the planner alone moved
    pipe = genlab.load(second["model"], device="cpu")
    assert "layout" in pipe("a red circle", seed=0, num_inference_steps=2).metadata[0]


def test_a_given_layout_is_drawn_as_the_same_plan_would_be_and_bad_ones_are_refused(tmp_path):
    pipe = genlab.load(str(make_two_stage_checkpoint(tmp_path / "m.safetensors")), device="cpu")
    prompt = "a red circle above a blue square"
    planned = pipe(prompt, seed=5, num_inference_steps=2)
    cells = planned.metadata[0]["layout_cells"]
    assert len(cells) == CELLS and planned.metadata[0]["layout"] == describe_layout(cells)
    given = pipe(prompt, seed=5, num_inference_steps=2, layout=cells)
    assert given.metadata[0]["layout_cells"] == cells and given.metadata[0]["plan_layout"] is False
    assert np.array_equal(np.asarray(given.images[0]), np.asarray(planned.images[0]))
    two = pipe(prompt, seed=5, num_inference_steps=2, num_images=2, layout=[cells, [0] * CELLS])
    assert [m["layout_cells"] for m in two.metadata] == [cells, [0] * CELLS]
    for bad in ([0] * 8, [0.5] * CELLS, [LAYOUT_CLASSES] * CELLS, [[0] * CELLS] * 3, "top left"):
        with pytest.raises(InvalidArgument, match="layout"):
            pipe(prompt, num_inference_steps=2, num_images=2, layout=bad)
    with pytest.raises(InvalidArgument, match="plan_layout"):
        pipe(prompt, layout=cells, plan_layout=True)
    cool = pipe(
        prompt, seed=5, num_inference_steps=2, layout_temperature=0.5, layout_source="planner"
    )
    assert cool.metadata[0]["layout_temperature"] == 0.5
    assert cool.metadata[0]["layout_cells"] == pipe.plan_layouts([prompt], 5, 0.5)[0].tolist()
    for bad in (0, -1.0, float("nan"), "cold", True):
        with pytest.raises(InvalidArgument, match="layout_temperature"):
            pipe(prompt, layout_temperature=bad)
    plain = str(make_two_stage_checkpoint(tmp_path / "p.safetensors"))
    tensors, config = genlab.io.load_checkpoint(plain)
    config["denoiser"]["layout_channels"] = 0
    config.pop("layout_planner")
    kept = {k: v for k, v in tensors.items() if "layout" not in k}
    genlab.io.save_checkpoint(tmp_path / "q.safetensors", kept, config)
    with pytest.raises(InvalidArgument, match="does not read layouts"):
        genlab.load(str(tmp_path / "q.safetensors"), device="cpu")("a circle", layout=cells)


def test_bundled_two_stage_model_plans_then_draws_from_the_command_line(tmp_path, capsys):
    """world-t2i-layout from a fresh clone: `genlab generate` writes the plan it drew into the
    PNG; the plan for a relation prompt holds both objects, in cells that satisfy it."""
    from genlab.cli import main
    from genlab.io import read_params
    from genlab.world import match, parse_prompt

    prompt = "a red circle above a blue square"
    out = tmp_path / "out.png"
    argv = ["generate", prompt, "--model", "world-t2i-layout", "--steps", "10", "--seed", "0",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    params = read_params(out)
    assert params["model"] == "world-t2i-layout" and params["plan_layout"] is True
    plan = layout_objects(params["layout_cells"])
    assert params["layout"] == describe_layout(params["layout_cells"])
    assert match(parse_prompt(prompt).request, Scene(tuple(plan), "gray")).satisfied
    assert Image.open(out).size == (32, 32)


def test_mask_cells_and_place_in_cells():
    from genlab.world.layout import mask_cells, place_in_cells

    mask = torch.zeros(1, 1, 30, 30)
    mask[..., 0:10, 20:30] = 1  # the top-right cell, whole
    mask[..., 10:14, 0:10] = 1  # 40% of the middle-left one
    assert mask_cells(mask) == [2]
    assert mask_cells(mask[0, 0], min_coverage=0.3) == [2, 3]
    small = torch.zeros(30, 30)
    small[12:15, 12:15] = 1  # a corner of the center cell only: still the one it opens
    assert mask_cells(small) == [4] and mask_cells(torch.zeros(30, 30)) == []
    plan = [0, 5, 0, 0, 7, 0, 0, 0, 9]  # objects in cells 1, 4 and 8
    assert place_in_cells(plan, [4, 6]) == [
        0,
        0,
        0,
        0,
        7,
        0,
        5,
        0,
        0,
    ]  # 7 stays, 5 moves, 9 dropped
    assert place_in_cells(plan, []) == [0] * CELLS


def test_a_two_stage_model_inpaints_its_plan_where_the_mask_is(tmp_path):
    """With a mask, edit plans the prompt and draws the plan's objects in the cells the mask
    opens (nothing elsewhere); plan_layout=False draws from the text alone; img2img does unless
    asked; a given layout is drawn as given."""
    from genlab.world.layout import mask_cells, place_in_cells

    pipe = genlab.load(str(make_two_stage_checkpoint(tmp_path / "m.safetensors")), device="cpu")
    image = np.full((16, 16, 3), 128, np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[11:16, 0:6] = 255  # the bottom-left cell
    prompt = "a red circle above a blue square"
    result = pipe.edit(image, prompt, mask=mask, seed=3, num_inference_steps=2, num_images=2)
    for i, meta in enumerate(result.metadata):
        planned = grammar_plan(pipe, prompt, 3 + i)
        cells = mask_cells(torch.from_numpy(mask / 255.0))
        assert cells == [6]
        assert meta["plan_layout"] is True and meta["edit"] == "inpaint"
        assert meta["layout_cells"] == place_in_cells(planned, cells)
        assert meta["layout_temperature"] == 1.0
    assert any(result.metadata[0]["layout_cells"])  # the plan's first object, in cell 6
    plain = pipe.edit(image, prompt, mask=mask, seed=3, num_inference_steps=2, plan_layout=False)
    assert plain.metadata[0]["plan_layout"] is False and "layout" not in plain.metadata[0]
    assert not np.array_equal(np.asarray(plain.images[0]), np.asarray(result.images[0]))
    sdedit = pipe.edit(image, prompt, strength=0.5, seed=3, num_inference_steps=2)
    assert sdedit.metadata[0]["plan_layout"] is False and "layout" not in sdedit.metadata[0]
    planned = pipe.edit(
        image, prompt, strength=0.5, seed=3, num_inference_steps=2, plan_layout=True
    )
    assert planned.metadata[0]["layout_cells"] == grammar_plan(pipe, prompt, 3)
    given = [0] * CELLS
    given[6] = 5
    drawn = pipe.edit(image, prompt, mask=mask, seed=3, num_inference_steps=2, layout=given)
    assert drawn.metadata[0]["layout_cells"] == given and drawn.metadata[0]["plan_layout"] is False
    with pytest.raises(InvalidArgument, match="plan_layout"):
        pipe.edit(image, prompt, mask=mask, layout=given, plan_layout=True)
    with pytest.raises(InvalidArgument, match="layout_temperature"):
        pipe.edit(image, prompt, mask=mask, layout_temperature=0)


def test_inpainting_benchmark_measures_both_ways_of_a_two_stage_model(tmp_path, capsys):
    from benchmark_scripts import load_benchmark

    bench = load_benchmark("inpainting")
    path = make_two_stage_checkpoint(tmp_path / "m.safetensors")
    out = tmp_path / "inpaint.json"
    assert bench.main(["--models", str(path), "--n", "2", "--steps", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {f"{path} (plan in the mask)", f"{path} (text only)"}
    for row in rows.values():
        assert 0 <= row["added"] <= 1 and 0 <= row["kept"] <= 1
    assert "object added in its cell" in capsys.readouterr().out


def test_edit_cli_inpaints_the_plan_in_the_mask_and_no_layout_leaves_it_out(tmp_path, capsys):
    from genlab.cli import main
    from genlab.io import read_params
    from genlab.world.layout import layout_objects

    model = str(make_two_stage_checkpoint(tmp_path / "two-stage.safetensors"))
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "in.png")
    mask = np.zeros((16, 16), np.uint8)
    mask[0:6, 11:16] = 255  # the top-right cell
    Image.fromarray(mask).save(tmp_path / "mask.png")
    base = ["edit", str(tmp_path / "in.png"), "--prompt", "a red circle", "--mask",
            str(tmp_path / "mask.png"), "--model", model, "--steps", "2", "--seed", "1"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a.png")]) == 0
    assert main([*base, "--no-layout", "--out", str(tmp_path / "b.png")]) == 0
    planned, plain = read_params(tmp_path / "a.png"), read_params(tmp_path / "b.png")
    assert planned["plan_layout"] is True and plain["plan_layout"] is False
    assert all((o.row, o.col) == (0, 2) for o in layout_objects(planned["layout_cells"]))
    assert "layout" not in plain
    capsys.readouterr()
    assert (
        main(
            [*base, "--no-layout", "--layout-temperature", "0.5", "--out", str(tmp_path / "c.png")]
        )
        == 2
    )
    assert "--layout-temperature" in capsys.readouterr().err
