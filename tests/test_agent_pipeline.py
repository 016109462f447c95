"""The agent with a real (tiny, untrained) text-to-image checkpoint: what must hold for any model
quality — images made, analysed, edited with a real mask, recorded, reported."""

import json

import pytest

from genlab.agent.toolkit import ToolCall
from genlab.agent.tools import ToolContext, load_pipeline, make_toolbox
from genlab.cli import main
from genlab.history import HistoryStore
from genlab.io import read_params, save_checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised world text-to-image pipeline, saved as a real checkpoint."""
    import torch

    from genlab.diffusion.schedules import NoiseSchedule
    from genlab.models import create_model
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder
    from genlab.train.text2image import TINY_UNET, world_vocabulary

    torch.manual_seed(0)
    text_encoder = TextEncoder(
        vocab=world_vocabulary().vocab, max_length=48, width=32, depth=1, num_heads=2
    )
    denoiser = create_model("unet-world-s", **TINY_UNET, context_dim=32, pooled_dim=32)
    pipe = Text2ImagePipeline(
        denoiser, text_encoder, NoiseSchedule.create("cosine"), "v_prediction", name="tiny-random"
    )
    tensors, config = pipe.checkpoint()
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors", tensors, config)


def test_agent_runs_end_to_end_on_an_untrained_checkpoint(
    tiny_checkpoint, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path))
    argv = ["agent", "two crimson balls", "--image-model", str(tiny_checkpoint), "--json"]
    argv += ["--steps", "2", "--candidates", "2", "--max-rounds", "1"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    out = data["outcome"]
    assert out["status"] == "done" and 0.0 <= out["score"] <= 1.0
    assert out["rounds"] == 1 and out["stop_reason"]
    store = HistoryStore()
    run = store.get_run(out["run_id"])
    assert len(run.images) == len(out["image_ids"]) >= 2
    for im in run.images:
        params = read_params(im.path)
        assert params["prompt"] and params["seed"] == im.seed
        assert params["num_inference_steps"] >= 2 and im.model == str(tiny_checkpoint)


def test_real_pipeline_inpaints_a_region_and_img2img(tiny_checkpoint, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    ctx = ToolContext(
        "a red circle", model=str(tiny_checkpoint), store=store, num_inference_steps=2,
        pipeline=load_pipeline(str(tiny_checkpoint)),  # warm: the first test loaded it
    )  # fmt: skip
    box = make_toolbox(ctx)
    (image_id,) = box.call(ToolCall("1", "generate_image", {"prompt": "a red circle"})).images
    region = box.call(
        ToolCall(
            "2", "edit_image", {"image_id": image_id, "prompt": "a red circle", "region": "center"}
        )
    )
    whole = box.call(
        ToolCall(
            "3", "edit_image", {"image_id": image_id, "prompt": "a blue star", "strength": 0.5}
        )
    )
    assert not region.is_error and not whole.is_error, (region.content, whole.content)
    assert read_params(store.get_image(region.images[0]).path)["edit"] == "inpaint"
    assert read_params(store.get_image(whole.images[0]).path)["edit"] == "img2img"
    assert store.get_image(whole.images[0]).parent_id == image_id


@pytest.mark.slow
def test_bundled_text_to_video_model_draws_through_generate_video(tmp_path):
    from genlab.agent.tools import find_video_model

    model = find_video_model()
    if model is None:
        pytest.skip("no text2video model is bundled in this checkout")
    store = HistoryStore(tmp_path / "h.sqlite")
    ctx = ToolContext("a red circle moving right", store=store, num_inference_steps=2)
    box = make_toolbox(ctx)
    out = box.call(ToolCall("1", "generate_video", {"prompt": "a red circle moving right"}))
    assert not out.is_error, out.content
    rec = store.get_image(out.images[0])
    assert rec.kind == "video" and rec.model == model and out.content["num_frames"] >= 1
    analysis = box.call(ToolCall("2", "analyze_image", {"image_id": rec.id}))
    assert not analysis.is_error and 0.0 <= analysis.content["score"] <= 1.0
