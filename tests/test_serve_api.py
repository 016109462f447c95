"""The REST API, spoken to over HTTP: a real `genlab serve` process on 127.0.0.1 with a tiny
text-to-image checkpoint, a token, and a short queue so that 429 is reachable."""

import base64
import io
import json
import sqlite3
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_jobs import wait_job

from genlab.io import read_params
from genlab.paths import FAST_IMAGE_MODEL
from genlab.serve.launch import LocalServer

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STEPS = 4  # tiny model, few steps: a job takes a fraction of a second


@pytest.fixture(scope="module")
def tiny_model(tiny_models):
    return tiny_models["t2i"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model):
    home = tmp_path_factory.mktemp("home")
    with LocalServer(
        home,
        models={"tiny": str(tiny_model)},
        token=TOKEN,
        extra_args=["--max-queued", "3", "--max-body-mb", "1", "--openai-steps", str(STEPS)],
    ) as srv:
        yield srv


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        yield c


def generate(client, **overrides):
    body = {"prompt": "a red circle above a blue square", "num_inference_steps": STEPS, "seed": 1}
    body.update(overrides)
    r = client.post("/api/generate", json=body)
    assert r.status_code == 202, r.text
    return r.json()


def png_bytes(size=(32, 32), color=(30, 60, 225)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def read_events(response):
    """Parse a server-sent event stream into (event, data) pairs as they arrive."""
    event = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            yield event, json.loads(line[5:])


# --------------------------------------------------------------------------- access


def test_every_route_refuses_a_missing_or_wrong_token(server):
    routes = ["/", "/api/health", "/api/models", "/api/history", "/openapi.json", "/docs"]
    routes += ["/static/app.js", "/api/images/abc", "/api/jobs/abc"]
    for path in routes:
        assert httpx.get(server.url + path).status_code == 401, path
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.get(server.url + path, headers=wrong).status_code == 401, path
    r = httpx.post(server.url + "/api/generate", json={"prompt": "a red circle"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(server.url + "/v1/images/generations", json={"prompt": "x"})
    assert r.status_code == 401


def test_token_is_accepted_as_bearer_header_or_from_a_browser_link(server):
    assert httpx.get(server.url + "/api/health", headers=AUTH).json()["auth"] is True
    headers = {"X-Genlab-Token": TOKEN}
    assert httpx.get(server.url + "/api/models", headers=headers).status_code == 200
    with httpx.Client(base_url=server.url) as browser:
        door = browser.get("/", headers={"Accept": "text/html"})
        assert door.status_code == 401 and 'name="token"' in door.text  # a form asks for it
        assert browser.get("/?token=wrong").status_code == 401
        link = browser.get(f"/?token={TOKEN}")
        assert link.status_code == 303 and link.headers["location"] == "/"
        assert "HttpOnly" in link.headers["set-cookie"]
        page = browser.get("/")  # the cookie is sent from now on
        assert page.status_code == 200 and "genlab" in page.text
        assert browser.get("/static/app.js").status_code == 200


def test_server_binds_to_loopback_and_refuses_foreign_host_names(server):
    assert server.url.startswith("http://127.0.0.1:")
    # A page on evil.example that rebinds its DNS to 127.0.0.1 sends its own Host header.
    r = httpx.get(server.url + "/api/health", headers={**AUTH, "Host": "evil.example"})
    assert r.status_code == 400
    r = httpx.get(server.url + "/api/health", headers={**AUTH, "Host": "localhost"})
    assert r.status_code == 200


# --------------------------------------------------------------------------- meta


def test_health_models_and_openapi_schema(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["queue"]["max_queued"] == 3
    models = client.get("/api/models").json()
    assert models["default"] == "tiny"
    assert [m["name"] for m in models["models"]] == ["tiny"]
    assert models["models"][0]["kind"] == "text2image"
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ["/api/generate", "/api/jobs/{job_id}", "/api/jobs/{job_id}/events", "/api/edit"]:
        assert path in paths
    for path in ["/api/jobs/{job_id}/resubmit", "/api/agent/{run_id}/resubmit"]:
        assert "post" in paths[path]
    for path in ["/api/agent", "/api/history", "/api/images/{image_id}", "/v1/images/generations"]:
        assert path in paths
    generate_body = schema["components"]["schemas"]["GenerateRequest"]["properties"]
    assert {"prompt", "negative_prompt", "num_inference_steps", "guidance_scale"} <= set(
        generate_body
    )
    assert {"sampler", "seed", "num_images", "model"} <= set(generate_body)


# --------------------------------------------------------------------------- generation


def test_generate_streams_progress_then_stores_images_with_their_parameters(client):
    accepted = generate(client, num_images=2, seed=7, negative_prompt="green")
    assert accepted["seed"] == 7 and accepted["model"] == "tiny"
    events = []
    with client.stream("GET", accepted["events_url"]) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for event, data in read_events(response):
            events.append((event, data))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) <= {"progress"}
    assert all("queue_position" in d and 0 <= d["progress"] <= 1 for _, d in events)
    final = events[-1][1]
    assert final["progress"] == 1.0 and len(final["results"]) == 2

    for result in final["results"]:
        r = client.get(result["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        header_params = json.loads(r.headers["x-genlab-params"])
        assert header_params["prompt"] == "a red circle above a blue square"
        assert header_params["negative_prompt"] == "green"
        assert header_params["num_inference_steps"] == STEPS
        image = Image.open(io.BytesIO(r.content))
        embedded = json.loads(image.text["genlab"])
        assert embedded["prompt"] == header_params["prompt"]
        assert embedded["image_id"] == result["image_id"]
    job = client.get(f"/api/jobs/{accepted['job_id']}").json()
    assert job["status"] == "done" and job["results"] == final["results"]


def test_same_seed_and_settings_give_the_same_image(client):
    first = wait_job(client, generate(client, seed=123)["job_id"])["results"][0]
    # What the gallery's "reuse" sends back: the stored parameters of the first image.
    p = first["params"]
    again = generate(
        client,
        prompt=p["prompt"],
        seed=first["seed"],
        num_inference_steps=p["num_inference_steps"],
        model=first["model"],
    )
    second = wait_job(client, again["job_id"])["results"][0]
    a = np.asarray(Image.open(io.BytesIO(client.get(first["url"]).content)))
    b = np.asarray(Image.open(io.BytesIO(client.get(second["url"]).content)))
    assert first["image_id"] != second["image_id"]
    assert np.array_equal(a, b)


def test_history_is_paged_newest_first_and_searchable_by_prompt(client):
    for prompt in ("a purple star", "a cyan diamond"):
        wait_job(client, generate(client, prompt=prompt)["job_id"])
    page = client.get("/api/history", params={"per_page": 1}).json()
    assert page["per_page"] == 1 and page["total"] >= 2 and len(page["items"]) == 1
    assert page["items"][0]["prompt"] == "a cyan diamond"
    found = client.get("/api/history", params={"q": "PURPLE"}).json()
    assert found["total"] == 1 and found["items"][0]["prompt"] == "a purple star"
    assert client.get("/api/history", params={"q": "no such thing"}).json()["items"] == []
    runs = client.get("/api/history", params={"view": "runs", "q": "purple"}).json()
    assert runs["items"][0]["kind"] == "generate" and runs["items"][0]["status"] == "done"


def test_a_prompt_longer_than_the_encoder_takes_is_drawn_with_a_warning(client):
    long_prompt = " ".join(["a red circle above a blue square"] * 10)  # 70 words
    job = wait_job(client, generate(client, prompt=long_prompt)["job_id"])
    assert job["status"] == "done"
    (warning,) = job["warnings"]
    assert warning.startswith("prompt too long for the model: dropped")


def test_client_leaving_mid_stream_does_not_lose_the_job(client, server):
    accepted = generate(client, prompt="a yellow triangle", num_inference_steps=30)
    with client.stream("GET", accepted["events_url"]) as response:
        next(read_events(response))  # one event, then hang up
    job = wait_job(client, accepted["job_id"])
    assert job["status"] == "done" and len(job["results"]) == 1
    found = client.get("/api/history", params={"q": "yellow triangle"}).json()
    assert [it["image_id"] for it in found["items"]] == [job["results"][0]["image_id"]]


def test_a_full_queue_answers_429_with_retry_after_and_accepted_jobs_all_finish(client):
    accepted, refused = [], []

    def post():
        body = {"prompt": "a green star", "num_inference_steps": 24, "seed": 0}
        r = client.post("/api/generate", json=body)
        (accepted if r.status_code == 202 else refused).append(r)

    threads = [threading.Thread(target=post) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused, "12 jobs at once against a queue of 3 must refuse some"
    for r in refused:
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    for r in accepted:
        assert wait_job(client, r.json()["job_id"])["status"] == "done"


# --------------------------------------------------------------------------- bad input


def test_invalid_parameters_are_422_naming_the_field(client):
    cases = {
        "num_inference_steps": {"prompt": "a red circle", "num_inference_steps": 0},
        "prompt": {"prompt": ""},
        "seed": {"prompt": "a red circle", "seed": "abc"},
        "num_images": {"prompt": "a red circle", "num_images": 100},
        "guidance_scale": {"prompt": "a red circle", "guidance_scale": -1},
        "sampler": {"prompt": "a red circle", "sampler": "no_such_sampler"},
        "model": {"prompt": "a red circle", "model": "no-such-model"},
        "colour": {"prompt": "a red circle", "colour": "red"},
        "num_frames": {"prompt": "a red circle", "num_frames": 8},  # an image model
    }
    for field_name, body in cases.items():
        r = client.post("/api/generate", json=body)
        assert r.status_code == 422, (field_name, r.text)
        assert field_name in [d["loc"][-1] for d in r.json()["detail"]], r.text
    r = client.post(
        "/api/generate",
        content=b'{"prompt": "x", "guidance_scale": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "guidance_scale" in r.text
    r = client.post(
        "/api/generate", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422


def test_unknown_ids_are_404(client):
    for path in ["/api/images/0123456789ab", "/api/images/0123456789ab/info", "/api/jobs/nope"]:
        assert client.get(path).status_code == 404, path
    assert client.get("/api/jobs/nope/events").status_code == 404
    assert client.get("/api/runs/nope").status_code == 404
    r = client.post("/api/edit", json={"image_id": "0123456789ab", "prompt": "x", "strength": 0.5})
    assert r.status_code == 404


def test_paths_that_try_to_leave_the_data_directory_are_never_served(client, server):
    secret = server.home / "history.sqlite"
    assert secret.exists()
    for path in [
        "/api/images/..%2Fhistory.sqlite",
        "/api/images/%2e%2e%2f%2e%2e%2fhistory.sqlite",
        "/api/images/....//history.sqlite",
        "/static/../history.sqlite",
        "/static/%2e%2e/%2e%2e/history.sqlite",
        "/api/jobs/..%2F..%2Fhistory.sqlite",
    ]:
        r = client.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert b"SQLite format" not in r.content
    r = client.post("/api/edit", json={"image_id": "../history", "prompt": "x", "strength": 0.5})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "image_id"
    # A row whose file lies outside the images folder (a tampered database) is refused too.
    upload = client.post("/api/images", files={"file": ("a.png", png_bytes(), "image/png")})
    image_id = upload.json()["image_id"]
    with sqlite3.connect(secret) as conn:
        conn.execute("UPDATE images SET path = ? WHERE id = ?", (str(secret), image_id))
    r = client.get(f"/api/images/{image_id}")
    assert r.status_code == 404 and b"SQLite format" not in r.content


def test_oversized_bodies_and_uploads_are_refused_with_413(client):
    big = b"x" * (1024 * 1024 + 1)
    r = client.post("/api/generate", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/images", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit holds on the bytes actually read
        for _ in range(20):
            yield b"y" * 65536

    r = client.post("/api/generate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'

    def multipart():
        yield head.encode()
        yield from chunks()

    r = client.post(
        "/api/images",
        content=multipart(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413


def test_uploads_that_are_not_small_images_are_422(client):
    r = client.post("/api/images", files={"file": ("a.png", b"not an image", "image/png")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file"
    r = client.post("/api/images", files={"file": ("a.png", png_bytes((1200, 8)), "image/png")})
    assert r.status_code == 422 and "1024" in r.text


# --------------------------------------------------------------------------- editing


def test_uploaded_image_is_inpainted_under_a_mask_and_kept_with_its_parent(client):
    upload = client.post(
        "/api/images", files={"file": ("../../evil name.png", png_bytes(), "image/png")}
    )
    assert upload.status_code == 201
    source = upload.json()
    assert source["params"]["filename"] == "evil name.png"  # text only, never a path
    mask = Image.new("L", (320, 320), 0)  # drawn on the page's larger canvas
    mask.paste(255, (0, 0, 160, 320))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    body = {
        "image_id": source["image_id"],
        "prompt": "a red circle",
        "mask": data_url,
        "num_inference_steps": STEPS,
        "seed": 3,
    }
    r = client.post("/api/edit", json=body)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "done", job["error"]
    assert "mask" not in job["params"], "status updates do not echo the mask back"
    result = job["results"][0]
    assert result["parent_id"] == source["image_id"]
    edited = np.asarray(Image.open(io.BytesIO(client.get(result["url"]).content)))
    original = np.asarray(Image.open(io.BytesIO(png_bytes())))
    assert np.array_equal(edited[:, 16:], original[:, 16:]), "outside the mask stays as it was"


def test_img2img_edit_with_strength_and_bad_edit_requests(client):
    source = client.post("/api/images", files={"file": ("a.png", png_bytes(), "image/png")}).json()
    body = {"image_id": source["image_id"], "prompt": "a blue square", "num_inference_steps": STEPS}
    r = client.post("/api/edit", json=dict(body, strength=0.6))
    assert r.status_code == 202
    assert wait_job(client, r.json()["job_id"])["status"] == "done"
    r = client.post("/api/edit", json=body)  # neither mask nor strength
    assert r.status_code == 422
    r = client.post("/api/edit", json=dict(body, mask="this is not base64!"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "mask"
    r = client.post("/api/edit", json=dict(body, strength=1.5))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "strength"


# OpenAI clients: tests/test_openai_images_api.py


# --------------------------------------------------------------------------- agent


def test_agent_streams_its_steps_and_its_run_is_stored(client):
    body = {"request": "a red circle left of a blue square", "backend": "offline"}
    body["options"] = {"max_rounds": 1, "steps": STEPS}
    steps, end = [], None
    with client.stream("POST", "/api/agent", json=body) as response:
        assert response.status_code == 200
        for event, data in read_events(response):
            if event == "step":
                steps.append(data)
            else:
                end = (event, data)
    assert end[0] == "done", end
    types = [s["type"] for s in steps]
    assert types[0] in ("run", "user") and types[-1] == "final"
    assert "tool_call" in types and "tool_result" in types
    images = [i for s in steps if s["type"] == "tool_result" for i in s.get("images", [])]
    assert images, "the agent generated at least one image"
    assert client.get(f"/api/images/{images[0]}").status_code == 200
    info = client.get(f"/api/images/{images[0]}/info").json()
    assert info["model"] == "tiny", "the agent draws with the server's model"
    run = client.get(f"/api/runs/{end[1]['run_id']}").json()
    assert run["kind"] == "agent" and run["request"] == body["request"]


def test_agent_run_goes_on_and_is_stored_when_the_client_leaves(client):
    body = {"request": "a purple circle above a green star", "options": {"max_rounds": 1}}
    body["options"]["steps"] = STEPS
    with client.stream("POST", "/api/agent", json=body) as response:
        event, first = next(read_events(response))  # the user's step, then hang up
    assert event == "step" and first["type"] == "user"
    deadline = time.monotonic() + 60
    while True:
        run = client.get(f"/api/runs/{first['run_id']}").json()
        if run["status"] != "running":
            break
        assert time.monotonic() < deadline, "the agent run never finished"
        time.sleep(0.1)
    assert run["status"] == "done" and run["steps"][-1]["type"] == "final"
    assert run["images"], "its images are in history"


def test_agent_options_are_checked_by_name(client):
    r = client.post("/api/agent", json={"request": "a red circle", "options": {"colour": "red"}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "options.colour"
    r = client.post("/api/agent", json={"request": "a red circle", "options": {"max_rounds": "x"}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "options.max_rounds"
    # a fast run on a server without the fast model (its own: tests/test_fast_serve.py)
    assert client.get("/api/health").json()["agent_fast_model"] is None
    r = client.post("/api/agent", json={"request": "a red circle", "options": {"fast": True}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "options.fast"
    assert FAST_IMAGE_MODEL in r.text


def test_agent_request_with_unknown_backend_is_422(client):
    r = client.post("/api/agent", json={"request": "a red circle", "backend": "skynet"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "backend"


# --------------------------------------------------------------------------- stored files


def test_stored_files_match_what_the_api_says(client, server):
    job = wait_job(client, generate(client, prompt="an orange square", seed=5)["job_id"])
    info = client.get(f"/api/images/{job['results'][0]['image_id']}/info").json()
    files = list((server.home / "images").rglob(f"{info['image_id']}.png"))
    assert len(files) == 1
    assert read_params(files[0])["seed"] == 5
