"""A server run with --no-requeue and killed (SIGKILL) in the middle of its work keeps what it left
unfinished as "interrupted": jobs (a generation running, two waiting, an edit with its mask) and
an agent run. Each is resubmitted in one call, or one click in the playground's history, as a new
job with the same parameters and seed; a second resubmit, or one of a job that finished, is 409."""

import base64
import io
import json
import os

import httpx
import pytest
from PIL import Image

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint

pytestmark = pytest.mark.slow  # two real servers, one killed hard (about 20 s)

CHROMIUM = "/usr/bin/chromium"
AXE = os.path.join(os.path.dirname(__file__), "a11y", "node_modules", "axe-core", "axe.min.js")


def png(color, size=32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def final_event(client, job_id) -> dict:
    """The job's last server-sent event, once it has finished."""
    text = client.get(f"/api/jobs/{job_id}/events", timeout=120).text
    event, data = text.rstrip().rsplit("event: ", 1)[1].split("\ndata: ", 1)
    return dict(json.loads(data), event=event)


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """A --no-requeue server killed while a generation ran, another waited, an edit (with a mask)
    waited and an agent run was going; then started again on the same data."""
    folder = tmp_path_factory.mktemp("resubmit")
    model = str(tiny_text2image_checkpoint(folder / "tiny.safetensors"))
    home, models = folder / "home", {"tiny": model}
    first = LocalServer(home, models, ["--no-requeue"]).start()
    ids = {}
    try:
        client = httpx.Client(base_url=first.url, timeout=30)
        quick = client.post(
            "/api/generate", json={"prompt": "a red circle", "num_inference_steps": 1}
        )
        ids["done"] = quick.json()["job_id"]
        assert final_event(client, ids["done"])["event"] == "done"
        source = client.post("/api/images", files={"file": ("s.png", png((0, 0, 0)), "image/png")})
        ids["source"] = source.json()["image_id"]
        slow = {"prompt": "a blue star", "num_inference_steps": 200, "seed": 10}
        ids["running"] = client.post("/api/generate", json=slow).json()["job_id"]
        waiting = {
            "prompt": "a green square",
            "num_inference_steps": 2,
            "num_images": 2,
            "seed": 11,
        }
        ids["waiting"] = client.post("/api/generate", json=waiting).json()["job_id"]
        clicked = {"prompt": "a yellow triangle", "num_inference_steps": 2, "seed": 21}
        ids["clicked"] = client.post("/api/generate", json=clicked).json()["job_id"]
        mask = "data:image/png;base64," + base64.b64encode(png((255, 255, 255))).decode()
        edit = {"image_id": ids["source"], "prompt": "a yellow circle", "mask": mask,
                "num_inference_steps": 2, "seed": 13}  # fmt: skip
        ids["edit"] = client.post("/api/edit", json=edit).json()["job_id"]
        agent = {"request": "two green triangles left of a pink star",
                 "options": {"max_rounds": 2, "num_candidates": 1, "steps": 2, "seed": 5}}  # fmt: skip
        with client.stream("POST", "/api/agent", json=agent) as response:
            line = next(x for x in response.iter_lines() if x.startswith("data:"))
            ids["agent"] = json.loads(line[5:])["run_id"]
            while client.get(f"/api/jobs/{ids['running']}").json()["step"] < 1:
                pass  # the long job has started: the rest (the agent too) wait behind it
            assert client.get(f"/api/jobs/{ids['running']}").json()["status"] == "running"
            first.kill()  # SIGKILL while the generation runs and the agent's stream is open
    finally:
        first.kill()
    with LocalServer(home, models, ["--no-requeue"]) as second:
        yield second, ids


def test_a_killed_servers_unfinished_work_is_kept_as_interrupted_and_resubmits_once(restarted):
    server, ids = restarted
    client = httpx.Client(base_url=server.url, timeout=30)
    for key in ("running", "waiting", "clicked", "edit"):
        job = client.get(f"/api/jobs/{ids[key]}").json()
        assert job["status"] == "interrupted" and "resubmit" in job["error"], job
        assert job["results"] == [] and job["resubmitted_as"] is None
    assert client.get(f"/api/runs/{ids['agent']}").json()["status"] == "interrupted"
    listed = client.get("/api/history", params={"view": "runs", "status": "interrupted"}).json()
    assert {r["id"] for r in listed["items"]} == {
        ids[k] for k in ("running", "waiting", "clicked", "edit", "agent")
    }
    # An interrupted job's event stream ends at once with its state.
    assert final_event(client, ids["running"])["event"] == "interrupted"

    assert client.post("/api/jobs/0123456789abcdef/resubmit").status_code == 404
    assert client.post(f"/api/jobs/{ids['agent']}/resubmit").status_code == 404, "not a job"
    finished = client.post(f"/api/jobs/{ids['done']}/resubmit")
    assert finished.status_code == 409 and "done" in finished.json()["detail"]

    again = client.post(f"/api/jobs/{ids['waiting']}/resubmit")
    assert again.status_code == 202, again.text
    accepted = again.json()
    assert accepted["job_id"] != ids["waiting"] and accepted["seed"] == 11
    assert accepted["resubmitted_from"] == ids["waiting"]
    twice = client.post(f"/api/jobs/{ids['waiting']}/resubmit")
    assert twice.status_code == 409 and accepted["job_id"] in twice.json()["detail"]
    done = final_event(client, accepted["job_id"])
    assert done["event"] == "done" and len(done["results"]) == 2
    assert (
        done["params"]["prompt"] == "a green square" and done["params"]["num_inference_steps"] == 2
    )
    assert [r["seed"] for r in done["results"]] == [11, 12], "the same seeds as the first time"
    old = client.get(f"/api/jobs/{ids['waiting']}").json()
    assert old["status"] == "interrupted" and old["resubmitted_as"] == accepted["job_id"]

    # The edit's mask (kept only in the queue's notes) comes back with it.
    edit = client.post(f"/api/jobs/{ids['edit']}/resubmit").json()
    edited = final_event(client, edit["job_id"])
    assert edited["event"] == "done" and edited["results"][0]["parent_id"] == ids["source"]
    assert client.get(f"/api/runs/{edit['job_id']}").json()["params"]["has_mask"] is True

    # The agent run starts again with its request and options, as a new run that says so.
    with client.stream("POST", f"/api/agent/{ids['agent']}/resubmit") as response:
        assert response.status_code == 200
        line = next(x for x in response.iter_lines() if x.startswith("data:"))
    new_run = json.loads(line[5:])["run_id"]
    assert new_run != ids["agent"]
    run = client.get(f"/api/runs/{new_run}").json()
    assert run["request"] == "two green triangles left of a pink star"
    assert run["params"]["resubmitted_from"] == ids["agent"]
    assert run["params"]["agent_request"]["options"]["seed"] == 5
    assert client.get(f"/api/runs/{ids['agent']}").json()["result"]["resubmitted_as"] == new_run
    assert client.post(f"/api/agent/{ids['agent']}/resubmit").status_code == 409


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no headless Chromium at {CHROMIUM}")
def test_the_playground_lists_interrupted_work_with_an_accessible_resubmit_button(
    restarted, browser
):
    server, ids = restarted
    context = browser.new_context(viewport={"width": 360, "height": 740})  # the session Chromium
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        item = page.locator(f"#interrupted-list li[data-run-id='{ids['clicked']}']")
        item.wait_for()
        assert "a yellow triangle" in item.inner_text() and "seed 21" in item.inner_text()
        button = item.get_by_role("button", name="Resubmit the generation “a yellow triangle”")
        assert page.evaluate("document.scrollingElement.scrollWidth - innerWidth") == 0
        if os.path.exists(AXE):
            page.add_script_tag(path=AXE)
            violations = page.evaluate(
                """async () => (await axe.run(document)).violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
            )
            assert violations == [], violations
        button.focus()
        page.keyboard.press("Enter")  # a keyboard user resubmits as a mouse user does
        item.get_by_role("status").filter(has_text="done").wait_for()
        page.locator(".gallery .card .params", has_text="seed 21").first.wait_for()
        assert not errors, errors
    finally:
        context.close()
    job = httpx.get(f"{server.url}/api/jobs/{ids['clicked']}").json()
    assert job["resubmitted_as"], "resubmitted once, by the click"
