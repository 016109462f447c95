"""A server killed in the middle of its work loses nothing: after a restart its unfinished jobs
run again under their own ids (same seed, same images, none twice), or with --no-requeue are
closed as failed with the reason; every stored file is whole and recorded."""

import io
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from genlab.history import HistoryStore
from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as im:
        return im.convert("RGB").tobytes()


@pytest.mark.slow
def test_jobs_interrupted_by_a_crash_run_again_after_a_restart_and_no_file_is_half_written(
    tmp_path,
):
    model = str(tiny_text2image_checkpoint(tmp_path / "tiny.safetensors"))
    home = tmp_path / "home"
    # 180 s to start: on a loaded two-core machine (two test workers) a start took over 60 s
    first = LocalServer(home, models={"tiny": model}, startup_timeout=180).start()
    try:
        client = httpx.Client(base_url=first.url, timeout=30)
        quick = client.post(
            "/api/generate", json={"prompt": "a red circle", "num_inference_steps": 2}
        )
        slow_body = {"prompt": "a blue star", "num_inference_steps": 30, "num_images": 2}
        slow = client.post("/api/generate", json=dict(slow_body, seed=11)).json()["job_id"]
        waiting = client.post("/api/generate", json=dict(slow_body, seed=12)).json()["job_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{slow}").json()["step"] < 2:
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.05)
        assert client.get(f"/api/jobs/{waiting}").json()["queue_position"] == 0
        quick_job = client.get(f"/api/jobs/{quick.json()['job_id']}").json()
    finally:
        first.kill()  # SIGKILL: no shutdown handler runs, as in a crash
    assert quick_job["status"] == "done"

    with LocalServer(home, models={"tiny": model}, startup_timeout=180) as second:
        client = httpx.Client(base_url=second.url, timeout=30)
        rerun = {}
        for job_id in (slow, waiting):
            events = client.get(f"/api/jobs/{job_id}/events", timeout=120).text
            assert events.rstrip().rsplit("event: ", 1)[1].startswith("done"), events[-300:]
            rerun[job_id] = client.get(f"/api/jobs/{job_id}").json()
            assert len(rerun[job_id]["results"]) == 2, "each image once"
        done = client.get(f"/api/jobs/{quick_job['id']}").json()
        assert done["status"] == "done" and done["results"] == quick_job["results"]
        # The re-run made what the first run would have: a new job with the same seed agrees.
        again = client.post("/api/generate", json=dict(slow_body, seed=11)).json()["job_id"]
        fresh = json.loads(
            client.get(f"/api/jobs/{again}/events", timeout=120).text.rsplit("data: ", 1)[1]
        )
        for a, b in zip(rerun[slow]["results"], fresh["results"], strict=True):
            assert pixels(client.get(a["url"]).content) == pixels(client.get(b["url"]).content)
        # An agent run still going when the server is stopped (gracefully) is interrupted.
        long_run = {
            "request": "two green triangles left of a pink star",
            "options": {"max_rounds": 20, "num_candidates": 1},
        }
        with client.stream("POST", "/api/agent", json=long_run) as response:
            data = next(line for line in response.iter_lines() if line.startswith("data:"))
        agent_run_id = json.loads(data[5:])["run_id"]

    store = HistoryStore(home / "history.sqlite")
    runs = {run.id: run for run in store.list_runs(per_page=200).items}
    assert runs[agent_run_id].status == "interrupted"
    assert "server stopped" in runs[agent_run_id].stop_reason
    statuses = {run.status for run in runs.values()}
    assert statuses <= {"done", "failed", "interrupted"}, "a stopped server leaves no run hanging"
    recorded = {im.path for im in store.list_images(per_page=200).items}
    on_disk = {str(p) for p in (home / "images").rglob("*") if p.is_file()}
    assert on_disk == recorded, "every file is recorded and every record has its file"
    assert not [p for p in on_disk if p.endswith(".tmp")]
    assert not list((home / "queue").glob("*.json")), "no job is left to run again"
    for path in on_disk:
        with Image.open(path) as im:
            im.load()  # a truncated PNG would raise here


def killed_server_leftovers(tmp_path, monkeypatch):
    """What a killed server leaves: a job's run still running, its inputs in the journal, and one
    of its two images already stored."""
    from genlab.serve.jobs import ORIGIN, JobJournal

    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    store = HistoryStore(tmp_path / "home" / "history.sqlite")
    params = {"prompt": "a blue star", "model": "tiny", "seed": 1, "num_images": 2,
              "num_inference_steps": 2, "origin": ORIGIN}  # fmt: skip
    job_id = store.add_run("generate", "a blue star", model="tiny", params=params)
    journal = JobJournal(store.path.parent / "queue")
    journal.add(job_id, "generate", params)
    partial = store.add_image(Image.new("RGB", (8, 8)), {"prompt": "a blue star"}, run_id=job_id)
    return store, journal, job_id, partial


def restarted(tmp_path, store, **config):
    from genlab.serve.app import ServeConfig, create_app

    model = str(tiny_text2image_checkpoint(tmp_path / "tiny.safetensors"))
    serve = ServeConfig(
        models={"tiny": model}, include_bundled=False, history_path=store.path, **config
    )
    return create_app(serve).fastapi.state.server


def test_a_requeued_job_starts_over_without_its_partial_outputs(tmp_path, monkeypatch):
    store, journal, job_id, partial = killed_server_leftovers(tmp_path, monkeypatch)
    # A file written just before the kill, ahead of its row; and one being written right now.
    folder = Path(partial.path).parent
    orphan, fresh = folder / "killed-before-its-row.png", folder / "row-coming.png"
    for path in (orphan, fresh):
        path.write_bytes(b"png")
    os.utime(orphan, (time.time() - 60, time.time() - 60))
    server = restarted(tmp_path, store)
    assert not orphan.exists() and fresh.exists()
    assert server.recovered == 1 and server.queue.get(job_id).status == "queued"
    assert store.get_run(job_id).images == [] and not Path(partial.path).exists()
    assert job_id in journal.pending(), "kept until the re-run is recorded"


def test_with_no_requeue_interrupted_jobs_are_kept_with_their_inputs_for_a_resubmit(
    tmp_path, monkeypatch
):
    store, journal, job_id, partial = killed_server_leftovers(tmp_path, monkeypatch)
    server = restarted(tmp_path, store, requeue_interrupted=False)
    assert server.recovered == 0 and server.queue.get(job_id) is None
    run = store.get_run(job_id)
    assert run.status == "interrupted" and "resubmit" in run.error
    assert journal.pending() == {}, "not run again by the next start either"
    assert server.interrupted.get(job_id) == ("generate", run.params), "its inputs are kept"
    assert Path(partial.path).exists(), "its partial output stays until it is resubmitted"
    # A restart (with or without --no-requeue) leaves it as it is.
    assert restarted(tmp_path, store).recovered == 0
    assert store.get_run(job_id).status == "interrupted"


def test_agent_runs_a_killed_server_left_running_are_interrupted_and_others_are_not(
    tmp_path, monkeypatch
):
    from genlab.serve.jobs import ORIGIN

    store, *_ = killed_server_leftovers(tmp_path, monkeypatch)
    request = {"request": "a red circle", "backend": "offline", "options": {"seed": 3}}
    served = store.add_run(
        "agent", "a red circle", params={"origin": ORIGIN, "agent_request": request}
    )
    store.append_step(served, {"type": "user", "text": "a red circle"})
    elsewhere = store.add_run("agent", "a blue star")  # `genlab agent` in another process
    restarted(tmp_path, store)
    run = store.get_run(served)
    assert run.status == "interrupted" and "server stopped" in run.stop_reason
    assert len(run.steps) == 1, "its steps so far are kept"
    assert store.get_run(elsewhere).status == "running"


def test_a_stopped_server_leaves_its_queue_to_the_next_start_or_interrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    store = HistoryStore(tmp_path / "home" / "history.sqlite")
    body = {"prompt": "a red circle", "model": "tiny", "seed": 4, "num_images": 1,
            "num_inference_steps": 2}  # fmt: skip
    for requeue, expected in ((True, "queued"), (False, "interrupted")):
        server = restarted(tmp_path, store, requeue_interrupted=requeue)
        job = server.submit("generate", dict(body))  # waits: no worker was started
        server.shutdown()
        again = restarted(tmp_path, store, requeue_interrupted=requeue)
        if expected == "queued":
            assert again.recovered == 1 and again.queue.get(job.id).status == "queued"
            again.shutdown()  # and again: still written down for the next start
            assert store.get_run(job.id).status == "running"
            again.config.requeue_interrupted = False
            again.shutdown()  # stopped under --no-requeue: closed as interrupted
        run = store.get_run(job.id)
        assert run.status == "interrupted", run
        assert again.interrupted.get(job.id) == ("generate", body)
