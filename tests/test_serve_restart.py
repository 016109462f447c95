"""A server killed in the middle of its work loses nothing: after a restart its unfinished jobs
are marked failed (with the reason), and every stored file is whole and recorded."""

import json
import time

import httpx
from PIL import Image

from genlab.history import HistoryStore
from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint


def test_jobs_interrupted_by_a_crash_are_marked_failed_and_no_file_is_half_written(tmp_path):
    model = str(tiny_text2image_checkpoint(tmp_path / "tiny.safetensors"))
    home = tmp_path / "home"
    first = LocalServer(home, models={"tiny": model}).start()
    try:
        client = httpx.Client(base_url=first.url, timeout=30)
        quick = client.post(
            "/api/generate", json={"prompt": "a red circle", "num_inference_steps": 2}
        )
        slow_body = {"prompt": "a blue star", "num_inference_steps": 200, "num_images": 8}
        slow = client.post("/api/generate", json=slow_body).json()["job_id"]
        waiting = client.post("/api/generate", json=slow_body).json()["job_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{slow}").json()["step"] < 2:
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.05)
        assert client.get(f"/api/jobs/{waiting}").json()["queue_position"] == 0
        quick_job = client.get(f"/api/jobs/{quick.json()['job_id']}").json()
    finally:
        first.kill()  # SIGKILL: no shutdown handler runs, as in a crash
    assert quick_job["status"] == "done"

    with LocalServer(home, models={"tiny": model}) as second:
        client = httpx.Client(base_url=second.url, timeout=30)
        for job_id in (slow, waiting):
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["status"] == "failed" and "stopped" in job["error"]
            assert job["results"] == []
        events = client.get(f"/api/jobs/{slow}/events").text
        assert events.startswith("event: failed\n") and events.count("event:") == 1
        done = client.get(f"/api/jobs/{quick_job['id']}").json()
        assert done["status"] == "done" and done["results"] == quick_job["results"]
        # The restarted server works as before.
        again = client.post(
            "/api/generate", json={"prompt": "a red circle", "num_inference_steps": 2}
        )
        assert again.status_code == 202
        # An agent run still going when the server is stopped (gracefully) is closed as stopped.
        long_run = {
            "request": "two green triangles left of a pink star",
            "options": {"max_rounds": 20, "num_candidates": 1},
        }
        with client.stream("POST", "/api/agent", json=long_run) as response:
            data = next(line for line in response.iter_lines() if line.startswith("data:"))
        agent_run_id = json.loads(data[5:])["run_id"]

    store = HistoryStore(home / "history.sqlite")
    runs = {run.id: run for run in store.list_runs(per_page=200).items}
    assert runs[agent_run_id].status == "stopped"
    assert "server stopped" in runs[agent_run_id].stop_reason
    statuses = {run.status for run in runs.values()}
    assert statuses <= {"done", "failed", "stopped"}, "a stopped server leaves no run hanging"
    recorded = {im.path for im in store.list_images(per_page=200).items}
    on_disk = {str(p) for p in (home / "images").rglob("*") if p.is_file()}
    assert on_disk == recorded, "every file is recorded and every record has its file"
    assert not [p for p in on_disk if p.endswith(".tmp")]
    for path in on_disk:
        with Image.open(path) as im:
            im.load()  # a truncated PNG would raise here
