"""The playground serves text-to-video models: a real `genlab serve` on 127.0.0.1 with a tiny
text2video checkpoint turns a generate request with num_frames into a playable animated video."""

import io
import time

import httpx
import pytest
import torch
from PIL import Image, ImageSequence

from genlab.diffusion import NoiseSchedule
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.serve.launch import LocalServer
from genlab.text import TextEncoder

TOKEN = "video-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    torch.manual_seed(0)
    pipe = Text2VideoPipeline(
        create_model("video-dit-tiny", max_frames=8),
        TextEncoder(width=32, depth=1, num_heads=2, max_length=16),
        NoiseSchedule.create("cosine"),
        "v_prediction",
        name="tiny-t2v",
        image_size=16,
        num_frames=4,
    )
    path = tmp_path_factory.mktemp("model") / "tiny-t2v.safetensors"
    save_checkpoint(path, *pipe.checkpoint())
    home = tmp_path_factory.mktemp("home")
    server = LocalServer(home, models={"tiny-t2v": str(path)}, token=TOKEN)
    with server as srv, httpx.Client(base_url=srv.url, headers=AUTH, timeout=60) as c:
        yield c


def _run(client, body):
    """POST /api/generate, wait for the job, return its one result."""
    r = client.post("/api/generate", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "done", job
    (result,) = job["results"]
    return result


def test_a_generated_video_is_stored_and_served_as_an_animation_with_its_frames(client):
    body = {"prompt": "a red circle moving right", "model": "tiny-t2v", "num_frames": 6}
    result = _run(client, {**body, "num_inference_steps": 2, "seed": 3})
    assert result["kind"] == "video" and result["params"]["num_frames"] == 6
    video = Image.open(io.BytesIO(client.get(result["url"]).content))
    assert video.size == (16, 16) and len(list(ImageSequence.Iterator(video))) == 6


@pytest.fixture(scope="module")
def keyframe_client(tmp_path_factory):
    """A server with a first-frame-conditioned video model and a text-to-image model."""
    from genlab.pipelines.text2image import Text2ImagePipeline

    torch.manual_seed(0)
    video = create_model("video-dit-tiny", max_frames=8, frame_cond=True)
    image = create_model("dit-tiny")
    for p in [*video.parameters(), *image.parameters()]:
        torch.nn.init.normal_(p, std=0.05)
    folder = tmp_path_factory.mktemp("models")
    paths = {
        "tiny-i2v": folder / "tiny-i2v.safetensors",
        "tiny-t2i": folder / "tiny-t2i.safetensors",
    }
    text = dict(width=32, depth=1, num_heads=2, max_length=16)
    save_checkpoint(paths["tiny-i2v"], *Text2VideoPipeline(
        video, TextEncoder(**text), NoiseSchedule.create("cosine"), "v_prediction",
        name="tiny-i2v", image_size=16, num_frames=4).checkpoint())  # fmt: skip
    save_checkpoint(paths["tiny-t2i"], *Text2ImagePipeline(
        image, TextEncoder(**text), NoiseSchedule.create("cosine"), "v_prediction",
        name="tiny-t2i", image_size=16).checkpoint())  # fmt: skip
    home = tmp_path_factory.mktemp("home")
    models = {name: str(path) for name, path in paths.items()}
    with (
        LocalServer(home, models=models, token=TOKEN) as srv,
        httpx.Client(base_url=srv.url, headers=AUTH, timeout=60) as c,
    ):
        yield c


def test_a_video_request_may_have_its_first_frame_drawn_by_an_image_model(keyframe_client):
    """POST /api/generate with keyframe_model: the image model draws frame 0 (exactly the image
    it draws for the same prompt, seed and steps), the video model animates it; the stored
    parameters say so. Asking it of an image model, or naming a video model, is a 422."""
    import numpy as np

    c, common = keyframe_client, {"prompt": "a red circle moving right", "seed": 5}
    still = _run(c, {**common, "model": "tiny-t2i", "num_inference_steps": 2})
    video = _run(c, {**common, "model": "tiny-i2v", "keyframe_model": "tiny-t2i",
                     "num_frames": 4, "num_inference_steps": 2})  # fmt: skip
    assert video["kind"] == "video" and video["params"]["keyframe_model"] == "tiny-t2i"
    assert video["params"]["edit"] == "keyframe_to_video"
    first = next(ImageSequence.Iterator(Image.open(io.BytesIO(c.get(video["url"]).content))))
    drawn = Image.open(io.BytesIO(c.get(still["url"]).content))
    assert np.array_equal(np.asarray(first.convert("RGB")), np.asarray(drawn.convert("RGB")))
    for body, says in (
        ({"model": "tiny-t2i", "keyframe_model": "tiny-t2i"}, "this model makes images"),
        ({"model": "tiny-i2v", "keyframe_model": "tiny-i2v"}, "one of tiny-t2i"),
        ({"model": "tiny-i2v", "keyframe_model": "nope"}, "one of tiny-t2i"),
    ):
        r = c.post("/api/generate", json={**common, **body})
        assert r.status_code == 422 and "keyframe_model" in r.text and says in r.text, r.text
    best = _run(c, {**common, "model": "tiny-i2v", "keyframe_model": "tiny-t2i",
                    "keyframe_candidates": 2, "num_frames": 4, "num_inference_steps": 2})  # fmt: skip
    assert best["params"]["keyframe_candidates"] == 2 and best["params"]["keyframe_seed"] in (5, 6)
    for body in ({"model": "tiny-i2v", "keyframe_candidates": 2},
                 {"model": "tiny-i2v", "keyframe_model": "tiny-t2i", "keyframe_candidates": 0}):  # fmt: skip
        r = c.post("/api/generate", json={**common, **body})
        assert r.status_code == 422 and "keyframe_candidates" in r.text, r.text


def test_a_prompt_as_people_write_it_is_drawn_from_the_same_plan_as_in_python(client):
    """The REST API gives the model the text Python and the CLI give it (test_video_faces.py):
    the canonical caption of what was read."""
    from test_video_faces import PROMPT

    from genlab.world import parse_prompt

    body = {"prompt": PROMPT, "model": "tiny-t2v", "num_frames": 4, "num_inference_steps": 2}
    params = _run(client, {**body, "seed": 11})["params"]
    assert params["read_as"] == parse_prompt(PROMPT).canonical
    assert params["plan_source"] == "reading" and params["seed"] == 11
