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


def test_a_generated_video_is_stored_and_served_as_an_animation_with_its_frames(client):
    body = {"prompt": "a red circle moving right", "model": "tiny-t2v", "num_frames": 6}
    r = client.post("/api/generate", json={**body, "num_inference_steps": 2, "seed": 3})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "done", job
    (result,) = job["results"]
    assert result["kind"] == "video" and result["params"]["num_frames"] == 6
    video = Image.open(io.BytesIO(client.get(result["url"]).content))
    assert video.size == (16, 16) and len(list(ImageSequence.Iterator(video))) == 6
