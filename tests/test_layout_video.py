"""world-t2v-layout: a prompt of the world planned per frame (the grammar's scene moved by the
world's motions) and drawn by the bundled layout image model; its faces (Python, loader, agent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genlab
from genlab.errors import InvalidArgument
from genlab.io import read_checkpoint_config, save_checkpoint
from genlab.pipelines.layout_video import (
    LayoutVideoPipeline,
    frame_states,
    move_drawn_objects,
    object_following_noise,
    placed_layout_features,
)
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.world.grammar import parse_prompt, realize
from genlab.world.render import render
from genlab.world.video import judge_video, render_video


@pytest.fixture(scope="module")
def pipe():
    return genlab.load("world-t2v-layout", device="cpu")


def _scene(prompt: str, seed: int = 0):
    return realize(parse_prompt(prompt).request, np.random.default_rng(seed), aligned=True)


def test_the_plan_moves_each_object_one_cell_over_the_clip_and_its_layout_follows():
    scene = _scene("a red circle moving right")
    trajectory = frame_states(scene, 8)
    (x0, y0, _), (x7, y7, _) = trajectory[0][0], trajectory[-1][0]
    assert x7 - x0 == pytest.approx(1 / 3) and y7 == y0
    middle = placed_layout_features(scene, trajectory[4], 32, 32)  # between two cells
    occupied = (middle[0] == 0).nonzero()[:, 1].float().mean() / 32
    assert occupied == pytest.approx(trajectory[4][0][0], abs=1 / 32)
    assert middle[1 + 0, 0, 0] == 0 and middle[0].sum() == 32 * 32 - (middle[0] == 0).sum()


def test_the_starting_noise_under_an_object_travels_with_it():
    scene = _scene("a red circle moving down")
    trajectory = frame_states(scene, 4)
    noise = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(0))
    frames = object_following_noise(noise, trajectory)
    (x0, y0, _), (_, y3, _) = trajectory[0][0], trajectory[3][0]
    cx, cy, dy = round(x0 * 32), round(y0 * 32), round((y3 - y0) * 32)
    assert torch.equal(frames[3][:, cy + dy, cx], noise[:, cy, cx])  # the object's noise moved
    assert torch.equal(frames[0], noise) and torch.equal(frames[3][:, :, :4], noise[:, :, :4])


@pytest.mark.parametrize("motion", ["moving left", "moving up", "bouncing", "growing", "shrinking"])
def test_cutting_out_a_rendered_first_frame_gives_a_video_the_judge_reads_as_asked(motion):
    prompt = f"a blue square {motion}"
    scene = _scene(prompt, seed=3)
    first = torch.from_numpy(render(scene, 32)).permute(2, 0, 1).float() / 127.5 - 1
    frames = move_drawn_objects(first, frame_states(scene, 8))
    clip = ((frames.permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    assert judge_video(prompt, clip).satisfied, judge_video(prompt, clip).summary()
    assert np.abs(clip[0].astype(int) - render_video(scene, 8)[0]).max() <= 1


def test_a_video_is_planned_drawn_and_described_and_both_animations_share_frame_zero(pipe):
    kwargs = dict(num_inference_steps=2, seed=4, num_frames=3)
    redrawn = pipe("please draw a crimson ball drifting rightward", animation="redraw", **kwargs)
    cut = pipe("please draw a crimson ball drifting rightward", animation="cutout", **kwargs)
    assert len(redrawn.frames[0]) == 3 and redrawn.frames[0][0].size == (32, 32)
    # one drawing of the plan's first frame (a batch of 3 frames or 1 rounds floats differently)
    diff = np.asarray(redrawn.frames[0][0]).astype(int) - np.asarray(cut.frames[0][0])
    assert np.abs(diff).max() <= 2
    meta = redrawn.metadata[0]
    assert meta["read_as"].startswith("a red circle on a ") and "moving" not in meta["read_as"]
    assert "red circle" in meta["plan"] and "moving right" in meta["plan"]
    assert (meta["plan_source"], meta["animation"], meta["model"]) == (
        "layout", "redraw", "world-t2v-layout",
    )  # fmt: skip
    again = pipe("please draw a crimson ball drifting rightward", animation="redraw", **kwargs)
    assert np.array_equal(np.asarray(again.frames[0][2]), np.asarray(redrawn.frames[0][2]))


def test_what_it_cannot_do_is_refused_clearly(pipe):
    for kwargs in ({"image": np.zeros((32, 32, 3), np.uint8)}, {"keyframe": pipe},
                   {"keyframe_score": len}, {"animation": "morph"}, {"num_frames": 1},
                   {"plan_source": "reading"}):  # fmt: skip
        with pytest.raises(InvalidArgument):
            pipe("a red circle moving left", num_inference_steps=1, **kwargs)
    with pytest.raises(InvalidArgument, match="prompt"):
        pipe("zzz qqq", num_inference_steps=1)


def test_its_checkpoint_holds_no_weights_but_names_its_image_model(tmp_path, pipe):
    config = read_checkpoint_config(genlab.pipelines.registry.resolve_path("world-t2v-layout"))
    assert config["pipeline"] == "text2video" and config["image_model"] == "world-t2i-layout"
    assert isinstance(genlab.load("world-t2v", device="cpu"), Text2VideoPipeline)
    assert not isinstance(genlab.load("world-t2v", device="cpu"), LayoutVideoPipeline)
    image = genlab.load("world-t2i-layout", device="cpu")
    save_checkpoint(tmp_path / "image.safetensors", *image.checkpoint())
    mine = LayoutVideoPipeline(image, name="mine", info={"image_model": "image.safetensors"})
    tensors, config = mine.checkpoint()
    assert tensors == {}
    save_checkpoint(tmp_path / "mine.safetensors", tensors, config)
    loaded = genlab.load(str(tmp_path / "mine.safetensors"), device="cpu")
    assert isinstance(loaded, LayoutVideoPipeline) and loaded.describe()["kind"] == "text2video"
    with pytest.raises(InvalidArgument, match="image_model"):
        LayoutVideoPipeline(genlab.load("world-t2i", device="cpu"))


@pytest.mark.slow
def test_the_agent_draws_videos_with_it_and_judges_them_strictly(tmp_path):
    from genlab.agent.toolkit import ToolCall
    from genlab.agent.tools import ToolContext, find_video_model, make_toolbox
    from genlab.history import HistoryStore

    assert find_video_model() == "world-t2v-layout"
    store = HistoryStore(tmp_path / "h.sqlite")
    ctx = ToolContext("a red circle moving right", store=store, num_inference_steps=20)
    box = make_toolbox(ctx)
    out = box.call(ToolCall("1", "generate_video", {"prompt": "a red circle moving right",
                                                     "seed": 1}))  # fmt: skip
    assert not out.is_error, out.content
    assert store.get_image(out.images[0]).model == "world-t2v-layout"
    analysis = box.call(ToolCall("2", "analyze_image", {"image_id": out.images[0]}))
    assert analysis.content["satisfied"], analysis.content


@pytest.mark.slow
def test_the_server_draws_it_from_a_prompt_as_people_write_it_and_refuses_a_keyframe(tmp_path):
    import io
    import time

    import httpx
    from PIL import Image, ImageSequence

    from genlab.pipelines.registry import resolve_path
    from genlab.serve.launch import LocalServer

    auth = {"Authorization": "Bearer t"}
    models = {n: str(resolve_path(n)) for n in ("world-t2v-layout", "world-t2i-layout")}
    with (
        LocalServer(tmp_path / "home", models, token="t", startup_timeout=300) as srv,
        httpx.Client(base_url=srv.url, headers=auth, timeout=120) as client,
    ):
        models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
        assert models["world-t2v-layout"]["video"]
        body = {"prompt": "a pale crimson circle walks up", "model": "world-t2v-layout",
                "num_frames": 3, "num_inference_steps": 2, "seed": 1}  # fmt: skip
        refused = client.post("/api/generate", json={**body, "keyframe_model": "world-t2i-layout"})
        assert refused.status_code == 422 and "draws every frame" in refused.text
        job_id = client.post("/api/generate", json=body).json()["job_id"]
        deadline = time.monotonic() + 120
        while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["status"] == "done", job
        (result,) = job["results"]
        assert result["kind"] == "video" and result["params"]["read_as"].startswith("a red circle")
        video = Image.open(io.BytesIO(client.get(result["url"]).content))
        assert len(list(ImageSequence.Iterator(video))) == 3


def test_the_cli_refuses_an_animation_it_does_not_know_in_one_line(tmp_path, capsys):
    from genlab.cli import main

    argv = [
        "video",
        "a red circle moving left",
        "--animation",
        "morph",
        "--out",
        str(tmp_path / "a.gif"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error: --animation") and err.count("\n") == 1
