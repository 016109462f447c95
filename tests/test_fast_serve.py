"""The fast (distilled few-step) model through a real `genlab serve` on 127.0.0.1: a request that
gives no steps draws at the model's own (REST and the OpenAI endpoint), the agent's `fast`
option over REST, and the playground's agent tab "Fast" toggle in headless Chromium."""

from __future__ import annotations

import json
import os

import httpx
import openai
import pytest
from serve_jobs import wait_job

from genlab.io import save_checkpoint
from genlab.paths import FAST_IMAGE_MODEL
from genlab.pipelines.registry import load
from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint
from genlab.train.distill import distilled_pipeline

CHROMIUM = "/usr/bin/chromium"
FAST_STEPS = 3  # the tiny student's own steps: neither the schema's old 20 nor the teacher's


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server offering a tiny teacher and, under the fast model's name, its tiny student."""
    folder = tmp_path_factory.mktemp("models")
    tiny = tiny_text2image_checkpoint(folder / "world-tiny.safetensors")
    teacher = load(str(tiny), device="cpu")
    student = distilled_pipeline(
        teacher, teacher.denoiser, name=FAST_IMAGE_MODEL, teacher_name="world-tiny",
        guidance_scale=3.0, num_inference_steps=FAST_STEPS, method="none (a test)",
    )  # fmt: skip
    fast = save_checkpoint(folder / "fast.safetensors", *student.checkpoint())
    models = {"world-tiny": str(tiny), FAST_IMAGE_MODEL: str(fast)}
    home = tmp_path_factory.mktemp("home")
    with LocalServer(home, models, ["--default-model", "world-tiny"], startup_timeout=180) as srv:
        yield srv


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_a_request_without_steps_draws_at_the_models_own(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    for body in ("GenerateRequest", "EditRequest"):
        assert schema[body]["properties"]["num_inference_steps"].get("default") is None
    accepted = client.post(
        "/api/generate", json={"prompt": "a red circle", "model": FAST_IMAGE_MODEL}
    )
    job = wait_job(client, accepted.json()["job_id"])
    assert job["status"] == "done", job
    assert job["total_steps"] == FAST_STEPS  # the progress counted the model's own steps
    info = client.get(f"/api/images/{job['results'][0]['image_id']}/info").json()
    assert (info["params"]["num_inference_steps"], info["params"]["sampler"]) == (FAST_STEPS, "lcm")
    # An edit that gives no steps likewise
    edit = client.post(
        "/api/edit",
        json={"image_id": info["image_id"], "prompt": "a red circle", "strength": 0.5,
              "model": FAST_IMAGE_MODEL},
    )  # fmt: skip
    done = wait_job(client, edit.json()["job_id"])
    assert done["status"] == "done", done
    edited = client.get(f"/api/images/{done['results'][0]['image_id']}/info").json()
    assert edited["params"]["num_inference_steps"] <= FAST_STEPS  # img2img: a part of them


def test_the_openai_endpoint_draws_at_the_models_own_steps(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    (item,) = client.images.generate(
        prompt="a blue square", model=FAST_IMAGE_MODEL, response_format="url"
    ).data
    image_id = item.url.rsplit("/", 1)[-1].split(".")[0]
    info = httpx.get(f"{server.url}/api/images/{image_id}/info").json()
    assert info["model"] == FAST_IMAGE_MODEL
    assert info["params"]["num_inference_steps"] == FAST_STEPS


def agent_events(client, body) -> list[tuple[str, dict]]:
    events, name = [], None
    with client.stream("POST", "/api/agent", json=body, timeout=120) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    return events


def test_a_fast_agent_run_over_rest_draws_its_candidates_with_the_fast_model(client):
    assert client.get("/api/health").json()["agent_fast_model"] == FAST_IMAGE_MODEL
    body = {"request": "a red circle", "options": {"max_rounds": 1, "num_candidates": 2,
                                                   "fast": True}}  # fmt: skip
    events = agent_events(client, body)
    assert events[-1][0] == "done", events[-1]
    run = client.get(f"/api/runs/{events[-1][1]['run_id']}").json()
    assert run["params"]["fast_model"] == FAST_IMAGE_MODEL
    drawn = [i for s in run["steps"] if s["type"] == "tool_result" for i in s.get("images", [])]
    assert drawn
    for image_id in drawn:
        info = client.get(f"/api/images/{image_id}/info").json()
        assert info["model"] == FAST_IMAGE_MODEL
        assert info["params"]["num_inference_steps"] == FAST_STEPS


def test_the_fast_option_must_be_true_or_false(client):
    r = client.post("/api/agent", json={"request": "a red circle", "options": {"fast": "yes"}})
    assert r.status_code == 422
    assert "options.fast" in r.text and "true or false" in r.text
    r = client.post("/api/agent", json={"request": "a red circle", "options": {"max_rounds": True}})
    assert r.status_code == 422 and "options.max_rounds" in r.text


@pytest.mark.browser
@pytest.mark.slow  # Chromium and an agent run
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no headless Chromium at {CHROMIUM}")
def test_the_agent_tabs_fast_toggle_draws_the_candidates_with_the_fast_model(
    browser, server, client
):
    """And the image tab's toggle picks the fast model at its own steps (both tabs share one
    server: starting one costs more than the test)."""
    page = browser.new_context().new_page()
    try:
        page.goto(server.url + "/")
        page.click(".tab[data-tab='agent']")
        page.wait_for_selector("#agent-fast", state="visible")
        assert FAST_IMAGE_MODEL in page.get_attribute("#agent-fast-field", "title")
        page.check("#agent-fast")
        page.fill("#agent-rounds", "1")
        page.select_option("#agent-backend", "offline")
        page.fill("#agent-input", "a blue square")
        with page.expect_request("**/api/agent") as sent:
            page.click("#agent-send")
        assert sent.value.post_data_json["options"]["fast"] is True
        page.wait_for_selector(".bubble.final", timeout=60_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.bubble.tool img')]"
            ".some(i => i.complete && i.naturalWidth > 0)"
        )
        src = page.locator(".bubble.tool img").first.get_attribute("src")
        image_id = src.rsplit("/", 1)[-1].split(".")[0].split("?")[0]
        info = client.get(f"/api/images/{image_id}/info").json()
        assert info["model"] == FAST_IMAGE_MODEL
        assert info["params"]["num_inference_steps"] == FAST_STEPS
        # The image tab's Steps field is empty by default: the model's own, shown as a hint
        page.click(".tab[data-tab='generate']")
        page.select_option("#model", FAST_IMAGE_MODEL)
        assert page.input_value("#num_inference_steps") == ""
        assert page.get_attribute("#num_inference_steps", "placeholder") == str(FAST_STEPS)
        # The image tab's toggle: the fast model and its steps, and back
        page.fill("#num_inference_steps", "12")
        page.select_option("#model", "world-tiny")
        page.check("#fast")
        assert page.input_value("#model") == FAST_IMAGE_MODEL
        assert page.input_value("#num_inference_steps") == str(FAST_STEPS)
        page.uncheck("#fast")
        assert page.input_value("#model") == "world-tiny"
        assert page.input_value("#num_inference_steps") == "12"
        page.select_option("#model", FAST_IMAGE_MODEL)
        assert page.is_checked("#fast")
    finally:
        page.context.close()
