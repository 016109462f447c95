"""genlab's text-to-image and text-to-video pipelines are siblings: both answer diffusers' call
conventions through the part they share, and each offers only the calls it honours (a video
pipeline neither edits images nor plans layouts)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.pipelines.registry import load
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.pipelines.text2video import Text2VideoPipeline, is_image_pipeline
from genlab.pipelines.text_diffusion import TextDiffusionPipeline


@pytest.fixture(scope="module")
def pipes(tiny_models):
    return {"image": load(str(tiny_models["t2i"])), "video": load(str(tiny_models["video"]))}


def test_the_video_pipeline_is_no_image_pipeline_and_offers_no_image_calls(pipes):
    image, video = pipes["image"], pipes["video"]
    assert isinstance(image, TextDiffusionPipeline) and isinstance(video, TextDiffusionPipeline)
    assert isinstance(video, Text2VideoPipeline) and not isinstance(video, Text2ImagePipeline)
    for name in ("edit", "plan_layouts", "write_layouts", "layout_planner", "autoencoder"):
        assert hasattr(image, name) and not hasattr(video, name), name
    assert is_image_pipeline(image) and not is_image_pipeline(video)
    assert "inpaint" in image.describe()["supports"]
    assert video.describe()["supports"] == ["generate", "negative_prompt", "image_to_video"]


@pytest.mark.parametrize("kind", ["image", "video"])
def test_both_take_diffusers_call_arguments(pipes, kind):
    pipe = pipes[kind].to("cpu")
    assert pipe is pipes[kind]
    steps_seen = []

    def on_step_end(p, i, t, kwargs):
        steps_seen.append(i)
        return {}

    out = pipe(
        ["a red circle", "a blue square"], num_inference_steps=2, num_images_per_prompt=2,
        generator=torch.Generator().manual_seed(3), output_type="np",
        callback_on_step_end=on_step_end, height=16, width=16,
    )  # fmt: skip
    again, metadata = pipe(
        "a blue square", num_inference_steps=2, seed=5, num_images=2, return_dict=False,
        height=16, width=16,
    )  # fmt: skip
    assert steps_seen == [0, 1]
    assert [m["seed"] for m in out.metadata] == [3, 4, 5, 6]
    assert [m["prompt"] for m in out.metadata] == ["a red circle"] * 2 + ["a blue square"] * 2
    assert out[0].shape[0] == 4 and out[0].dtype == np.float32
    # images 3 and 4 of the list (seeds 5, 6) are the images of the second prompt alone
    first = again if kind == "image" else [v[0] for v in again]
    assert np.array_equal(np.asarray(first[0]), np.uint8(np.round(out.images[2] * 255)))
    assert [m["seed"] for m in metadata] == [5, 6]


def test_editing_with_a_video_model_is_refused_in_one_line(tmp_path, capsys, tiny_models):
    source = tmp_path / "source.png"
    Image.new("RGB", (16, 16)).save(source)
    code = main([
        "edit", str(source), "--prompt", "a red circle", "--model", str(tiny_models["video"]),
        "--strength", "0.5", "--out", str(tmp_path / "out.png"),
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot edit images" in err, err
    assert not (tmp_path / "out.png").exists()


def test_names_moved_to_the_shared_modules_still_import_from_their_old_home():
    from genlab.pipelines import text2image, text_diffusion, world_prompts

    for name in ("PromptTruncated", "DEFAULT_SAMPLER", "COMPILE_MODES"):
        assert getattr(text2image, name) is getattr(text_diffusion, name)
    for name in ("read_world_prompt", "speaks_world", "WORLD_CONTENT"):
        assert getattr(text2image, name) is getattr(world_prompts, name)
