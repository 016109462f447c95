"""The job queue on its own (no HTTP): FIFO order, positions, a hard bound, failures that never
kill a worker; and the `genlab serve` command line's answers to bad options."""

import threading
import time

import pytest

from genlab.cli import main
from genlab.serve.jobs import JobQueue, QueueFull


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


def test_jobs_run_in_order_and_report_their_queue_position():
    gate = threading.Event()
    order = []

    def runner(job, report):
        gate.wait(5)
        report(1, 2)
        order.append(job.params["n"])
        report(2, 2)
        return [{"n": job.params["n"]}]

    queue = JobQueue(runner, workers=1, max_queued=5)
    queue.start()
    jobs = [queue.submit("generate", {"n": i}) for i in range(4)]
    wait_for(lambda: jobs[0].status == "running")
    assert [queue.position(j) for j in jobs] == [None, 0, 1, 2]
    assert queue.stats() == {"workers": 1, "running": 1, "queued": 3, "max_queued": 5}
    gate.set()
    wait_for(lambda: all(j.status == "done" for j in jobs))
    assert order == [0, 1, 2, 3]
    assert jobs[3].results == [{"n": 3}] and jobs[3].progress == 1.0
    queue.stop()


def test_a_full_queue_refuses_with_a_retry_delay():
    gate = threading.Event()
    queue = JobQueue(lambda job, report: gate.wait(5) and [], workers=1, max_queued=2)
    queue.start()
    first = queue.submit("generate", {})
    wait_for(lambda: first.status == "running")
    queue.submit("generate", {})
    queue.submit("generate", {})
    with pytest.raises(QueueFull) as refused:
        queue.submit("generate", {})
    assert refused.value.retry_after >= 1
    gate.set()
    queue.stop()


def test_cancel_drops_a_waiting_job_and_stops_a_running_one_at_its_next_step():
    gate, ran, finished = threading.Event(), [], []

    def runner(job, report):
        ran.append(job.params["n"])
        for step in range(1, 4):
            gate.wait(5)
            report(step, 3)
        return [{"n": job.params["n"]}]

    queue = JobQueue(runner, workers=1, on_finish=lambda job, outcome: finished.append(outcome))
    queue.start()
    running, waiting, last = (queue.submit("generate", {"n": i}) for i in range(3))
    wait_for(lambda: running.status == "running")
    changes = queue.changes
    assert queue.cancel(waiting) is True
    assert waiting.status == "cancelled" and finished == ["cancelled"]
    assert queue.position(last) == 0 and queue.changes > changes  # the queue moved up
    assert queue.cancel(running) is True and running.status == "running"  # until its next step
    gate.set()
    wait_for(lambda: last.status == "done")
    assert running.status == "cancelled" and running.results == [] and running.step == 0
    assert ran == [0, 2]  # the cancelled waiting job never ran
    assert finished == ["cancelled", "cancelled", "done"]
    assert queue.cancel(last) is False  # finished: nothing to cancel
    queue.stop()


def test_a_failing_job_is_reported_and_the_worker_keeps_going():
    def runner(job, report):
        if job.params["fail"]:
            raise RuntimeError("the model exploded")
        return [{"ok": True}]

    finished = []
    queue = JobQueue(runner, workers=1, max_queued=4, on_finish=lambda j, o: finished.append(o))
    queue.start()
    bad = queue.submit("generate", {"fail": True})
    good = queue.submit("generate", {"fail": False})
    wait_for(lambda: good.status == "done")
    assert bad.status == "failed" and bad.error == "RuntimeError: the model exploded"
    assert finished == ["failed", "done"]
    queue.stop()


def test_a_job_counts_as_done_only_after_it_is_persisted():
    seen_by_persist = []

    def persist(job, outcome):
        seen_by_persist.append(job.status)  # still "running": nobody saw "done" yet

    queue = JobQueue(lambda job, report: [], workers=1, max_queued=2, on_finish=persist)
    queue.start()
    job = queue.submit("generate", {})
    wait_for(lambda: job.status == "done")
    assert seen_by_persist == ["running"]
    queue.stop()


def test_serve_help_describes_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--token", "--workers", "--max-queued", "--model"):
        assert option in out
    assert "127.0.0.1" in out and "GENLAB_TOKEN" in out


def test_serve_rejects_bad_options_in_one_line(tmp_path, capsys):
    for args in (["--model", "nonsense"], ["--model", f"x={tmp_path}/missing.safetensors"]):
        assert main(["serve", *args, "--port", "0"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("genlab: error: --model") and err.count("\n") == 1
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_a_video_result_is_stored_as_one_playable_animated_file(tmp_path):
    import numpy as np
    from PIL import Image

    from genlab.history import HistoryStore
    from genlab.pipelines.base import GenerationResult
    from genlab.serve.engine import JobRunner, ModelCatalog
    from genlab.serve.jobs import Job
    from genlab.world import render_video, sample_video_scene

    frames = render_video(sample_video_scene(np.random.default_rng(0)), num_frames=8)
    store = HistoryStore(tmp_path / "history.sqlite")
    runner = JobRunner(ModelCatalog(include_bundled=False), store)
    job = Job("generate", {"prompt": "a ball moving right", "model": "video-model", "fps": 8})
    job.id = store.add_run("generate", "a ball moving right")
    result = GenerationResult(frames=[list(frames)], metadata=[{"seed": 3, "num_frames": 8}])
    (described,) = runner.store_result(job, result, parent_id=None)
    assert described["kind"] == "video" and described["seed"] == 3
    record = store.get_image(described["image_id"])
    with Image.open(record.path) as video:
        assert video.format == "WEBP" and video.n_frames == 8
        video.seek(7)
        assert np.array_equal(np.asarray(video.convert("RGB")), frames[7])


def test_models_toml_entries_are_offered_beside_command_line_checkpoints(tmp_path, monkeypatch):
    from genlab.errors import InvalidArgument
    from genlab.serve.engine import ModelCatalog
    from genlab.serve.launch import tiny_text2image_checkpoint

    (tmp_path / "models.toml").write_text(
        '[models.dalle]\nbackend = "openai"\nmodel = "dall-e-3"\napi_key_env = "OPENAI_API_KEY"\n'
    )
    monkeypatch.setenv("GENLAB_CONFIG", str(tmp_path))
    tiny = tiny_text2image_checkpoint(tmp_path / "tiny.safetensors")
    catalog = ModelCatalog({"tiny": str(tiny)}, default="tiny")
    offered = {m["name"]: m for m in catalog.public()}
    assert offered["dalle"]["kind"] == "openai" and offered["dalle"]["samplers"] is None
    assert offered["tiny"]["kind"] == "text2image" and "ddim" in offered["tiny"]["samplers"]
    assert offered["tiny"]["default"] is True
    assert "world-clip" not in offered, "bundled checkpoints that do not generate are not offered"
    with pytest.raises(InvalidArgument, match="model: expected one of"):
        catalog.resolve("/etc/passwd")  # only offered names, never a path
    with pytest.raises(InvalidArgument, match="sampler"):
        catalog.check_sampler("tiny", "warp_drive")
