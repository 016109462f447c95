"""The routes the playground page uses beyond the job API, over HTTP against a real server:
the prompt check, cancelling jobs, the status event stream, image files with their extension and
parameters, what each model can do, and the agent's pick."""

import io
import json
import threading
import time

import httpx
import pytest
from PIL import Image
from serve_jobs import wait_job

from genlab.io import read_params
from genlab.serve.launch import LocalServer


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    models = {"tiny": str(tiny_models["t2i"]), "video-tiny": str(tiny_models["video"])}
    with LocalServer(tmp_path_factory.mktemp("home"), models, ["--default-model", "tiny"]) as srv:
        yield srv


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_the_prompt_check_names_the_words_a_world_model_cannot_read(client):
    r = client.post("/api/prompt/check", json={"prompt": "a cozy cabin in the snow"})
    assert r.status_code == 200
    body = r.json()
    assert body["checked"] and body["model"] == "tiny"
    assert {"cozy", "cabin", "snow"} <= set(body["unknown_words"])
    fine = client.post("/api/prompt/check", json={"prompt": "a red circle", "model": "tiny"}).json()
    assert fine["unknown_words"] == [] and fine["understood"] == "a red circle"
    assert fine["unsupported"] == []
    white = client.post("/api/prompt/check", json={"prompt": "a white square"}).json()
    assert white["unsupported"] == [
        "white is not a color of this world; it knows red, orange, yellow, green, cyan, blue, "
        "purple, pink"
    ]
    bad = client.post("/api/prompt/check", json={"prompt": "x", "model": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "model"]


def test_models_say_which_tabs_and_fields_they_serve(client):
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["tiny"]["tasks"] == ["generate", "edit", "agent"]
    assert models["video-tiny"]["tasks"] == ["generate"]  # its edit refuses; the agent draws images
    assert "num_inference_steps" in models["tiny"]["controls"]


def test_an_image_url_has_its_extension_a_file_name_and_the_parameters_inside(client):
    job = client.post(
        "/api/generate", json={"prompt": "a red circle", "num_inference_steps": 2, "seed": 5}
    ).json()
    result = wait_job(client, job["job_id"], timeout=120)["results"][0]
    assert result["url"] == f"/api/images/{result['image_id']}.png"
    r = client.get(result["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("inline;") and f'-seed5-{result["image_id"]}.png"' in disposition
    params = json.loads(Image.open(io.BytesIO(r.content)).text["genlab"])
    assert params["prompt"] == "a red circle" and params["seed"] == 5
    assert client.get(f"/api/images/{result['image_id']}").status_code == 200  # the old form
    assert client.get(f"/api/images/{result['image_id']}.webp").status_code == 404


def test_a_waiting_job_and_a_running_job_can_be_cancelled(client):
    # A long job holds the one worker; a second waits behind it.
    body = {"prompt": "a red circle", "num_inference_steps": 200, "num_images": 8, "seed": 1}
    running = client.post("/api/generate", json=body).json()
    waiting = client.post("/api/generate", json=dict(body, num_inference_steps=2)).json()
    assert waiting["status"] == "queued"
    r = client.post(f"/api/jobs/{waiting['job_id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{running['job_id']}").json()["step"] < 2:
        assert time.monotonic() < deadline, "the long job never started"
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{running['job_id']}/cancel").status_code == 200
    job = wait_job(client, running["job_id"], timeout=120)
    assert job["status"] == "cancelled" and job["results"] == []
    assert job["step"] < job["total_steps"]  # it stopped between steps, not at the end
    again = client.post(f"/api/jobs/{running['job_id']}/cancel")
    assert again.status_code == 409
    runs = client.get("/api/history", params={"view": "runs", "per_page": 10}).json()["items"]
    stopped = {r["id"]: r for r in runs if r["id"] in (running["job_id"], waiting["job_id"])}
    assert {r["status"] for r in stopped.values()} == {"stopped"}
    assert client.post("/api/jobs/0123456789abcdef/cancel").status_code == 404


def test_the_status_stream_pushes_a_change_of_the_queue(client, server):
    events = []

    def listen():
        with httpx.stream("GET", server.url + "/api/events", timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if (
                        any(e["queue"]["running"] for e in events)
                        and events[-1]["queue"]["running"] == 0
                    ):
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert events and events[0]["queue"]["running"] == 0
    job = client.post("/api/generate", json={"prompt": "a blue star", "num_inference_steps": 20})
    wait_job(client, job.json()["job_id"], timeout=120)
    thread.join(30)
    assert not thread.is_alive(), f"no event said the job ran and ended: {events}"
    assert events[-1]["queue"] == dict(events[0]["queue"])


def test_the_agents_answer_names_its_pick_and_history_marks_it(client):
    body = {"request": "a red circle", "options": {"max_rounds": 1, "steps": 2}}
    done = None
    with client.stream("POST", "/api/agent", json=body) as r:
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "done":
                done = json.loads(line[5:])
    outcome = done["outcome"]
    assert outcome["best_image_id"] in outcome["image_ids"] and "best_path" not in outcome
    assert isinstance(outcome["score"], float)
    items = client.get("/api/history", params={"per_page": 50}).json()["items"]
    picked = [i["image_id"] for i in items if i["agent_pick"]]
    assert picked == [outcome["best_image_id"]]
    runs = client.get("/api/history", params={"view": "runs", "kind": "agent"}).json()["items"]
    assert [r["id"] for r in runs] == [done["run_id"]]  # the jobs' runs are left out
    assert client.get("/api/history", params={"view": "runs", "kind": "x"}).status_code == 422


def test_a_video_file_carries_its_parameters_too(client, tmp_path):
    body = {"prompt": "a red circle moving right", "model": "video-tiny", "num_inference_steps": 2}
    job = client.post("/api/generate", json=dict(body, num_frames=4, seed=3)).json()
    result = wait_job(client, job["job_id"], timeout=120)["results"][0]
    assert result["url"].endswith(".webp")
    r = client.get(result["url"])
    assert r.headers["content-type"] == "image/webp" and ".webp" in r.headers["content-disposition"]
    saved = tmp_path / "video.webp"
    saved.write_bytes(r.content)
    params = read_params(saved)
    assert params["prompt"] == "a red circle moving right" and params["seed"] == 3
    assert Image.open(saved).n_frames == 4
