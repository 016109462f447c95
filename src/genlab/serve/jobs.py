"""The server's job queue: a bounded list of waiting jobs and a fixed number of worker threads.

Every job reports its status, progress and queue position; a full queue refuses new jobs with a
retry delay estimated from how long recent jobs took.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError, storage_error
from genlab.io import atomic_write_text

# "interrupted": a job a previous server accepted and never finished (serve/recovery.py)
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINAL_STATUSES = ("done", "failed", "cancelled", "interrupted")
BULKY_PARAMS = ("mask",)
ORIGIN = "serve"  # marks the runs a server created, so a restart can tell which were its own


class JobCancelled(Exception):
    """Raised inside a running job at its next progress report once a client cancelled it."""


class QueueFull(Exception):
    """The queue holds `max_queued` waiting jobs already; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the job queue is full; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    """One unit of work (a generation or an edit) and everything a client may ask about it."""

    kind: str
    params: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    status: str = "queued"
    step: int = 0
    total_steps: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    failure: Exception | None = field(default=None, repr=False)  # what failed it, for the routes
    warnings: list[str] = field(default_factory=list)  # e.g. words of a prompt the model dropped
    cancel_requested: bool = False  # a running job stops at its next progress report
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    version: int = 0  # bumped on every change, so streams know when to send an update

    @property
    def progress(self) -> float:
        if self.status == "done":
            return 1.0
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    def public(self, queue_position: int | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 4),
            "step": self.step,
            "total_steps": self.total_steps,
            "queue_position": queue_position,
            # Large inputs (an edit's mask) stay out of every status update and event.
            "params": {k: v for k, v in self.params.items() if k not in BULKY_PARAMS},
            "results": self.results,
            "error": self.error,
            "warnings": list(self.warnings),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


# run(job, report) does the work and returns the job's results; report(step, total) is progress.
Runner = Callable[[Job, Callable[[int, int], None]], list[dict[str, Any]]]


class JobQueue:
    """Waiting jobs in FIFO order, `workers` threads running them, finished jobs kept for lookup.

    `on_finish(job, outcome)` is called once per job, outcome "done", "failed" or "cancelled",
    before clients can see the outcome (the server persists it there).
    """

    def __init__(
        self,
        runner: Runner,
        *,
        workers: int = 1,
        max_queued: int = 32,
        keep_finished: int = 1000,
        on_finish: Callable[[Job, str], None] | None = None,
    ):
        if workers < 1:
            raise ValueError(f"workers must be ≥ 1, got {workers}")
        if max_queued < 1:
            raise ValueError(f"max_queued must be ≥ 1, got {max_queued}")
        self.runner = runner
        self.workers = workers
        self.max_queued = max_queued
        self.keep_finished = keep_finished
        self.on_finish = on_finish
        self._pending: collections.deque[Job] = collections.deque()
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._running = 0
        self._durations: collections.deque[float] = collections.deque(maxlen=20)
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.changes = 0  # bumped whenever a job is added, moves or ends (for status streams)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"genlab-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; running ones finish (up to `timeout`), waiting ones stay queued."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout)

    # ------------------------------------------------------------------ clients

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        new_id: Callable[[], str] | None = None,
        *,
        recovered: bool = False,
    ) -> Job:
        """Queue a job, or raise QueueFull when `max_queued` jobs are already waiting.

        `new_id()` (called only once the job is accepted) names it, e.g. by recording it in history.
        A `recovered` job (one a previous server accepted) is queued whatever the bound.
        """
        with self._cond:
            if not recovered and (self._stopping or len(self._pending) >= self.max_queued):
                raise QueueFull(self._retry_after())
            job = Job(kind=kind, params=params)
            if new_id is not None:
                job.id = new_id()
            self._pending.append(job)
            self._remember(job)
            self.changes += 1
            self._cond.notify_all()
            return job

    def cancel(self, job: Job) -> bool:
        """Cancel a job: a waiting one leaves the queue now, a running one stops at its next
        progress report (between denoising steps). False if it had already finished."""
        with self._cond:
            if job.status in FINAL_STATUSES:
                return False
            if job.status == "running":
                job.cancel_requested = True
                self._touch(job)
                return True
            self._pending.remove(job)
            job.error = "cancelled before it started"
        if self.on_finish is not None:
            self.on_finish(job, "cancelled")
        with self._cond:
            job.status, job.finished = "cancelled", time.time()
            self._touch(job)
        return True

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many jobs wait ahead of this one (0 = next to run); None once it has started."""
        with self._cond:
            if job.status != "queued":
                return None
            for i, waiting in enumerate(self._pending):
                if waiting is job:
                    return i
            return None

    def snapshot(self, job: Job) -> dict[str, Any]:
        with self._cond:
            return job.public(self.position(job))

    def unfinished(self) -> list[Job]:
        """Jobs accepted but not yet done or failed (waiting or running)."""
        with self._cond:
            return [j for j in self._jobs.values() if j.status in ("queued", "running")]

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "workers": self.workers,
                "running": self._running,
                "queued": len(self._pending),
                "max_queued": self.max_queued,
            }

    # ------------------------------------------------------------------ workers

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._pending.popleft()
                job.status, job.started = "running", time.time()
                self._running += 1
                self._touch(job)
            try:
                results = self.runner(
                    job, lambda step, total, job=job: self._report(job, step, total)
                )
                outcome, error = "done", None
            except JobCancelled:
                results, outcome, error = [], "cancelled", "cancelled while running"
            except Exception as e:  # a failed job is reported to its client, never kills a worker
                results, outcome, error = [], "failed", _describe(e)
                job.failure = e
            job_final = dict(results=results, status=outcome, error=error)
            if self.on_finish is not None:
                # Persist before anyone can see "done": a client that sees it finds it in history.
                job.results, job.error = results, error
                try:
                    self.on_finish(job, outcome)
                except Exception as e:
                    job_final.update(results=[], status="failed", error=_describe(e))
                    job.failure = e
            with self._cond:
                job.results = job_final["results"]
                job.error = job_final["error"]
                job.status = job_final["status"]
                job.finished = time.time()
                self._running -= 1
                self._durations.append(job.finished - job.started)
                self._touch(job)

    def _report(self, job: Job, step: int, total: int) -> None:
        with self._cond:
            if job.cancel_requested:
                raise JobCancelled(job.id)
            job.step, job.total_steps = int(step), int(total)
            self._touch(job)

    def _touch(self, job: Job) -> None:
        job.version += 1
        self.changes += 1
        self._cond.notify_all()

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        finished = [j for j in self._jobs.values() if j.status in FINAL_STATUSES]
        for old in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[old.id]

    def _retry_after(self) -> int:
        mean = sum(self._durations) / len(self._durations) if self._durations else 1.0
        ahead = len(self._pending) + self._running
        return max(1, math.ceil(mean * ahead / self.workers))


def accepted_view(queue: JobQueue, job: Job) -> dict[str, Any]:
    """What a client is told of a job it just submitted: its id, place and where to follow it."""
    snap = queue.snapshot(job)
    return {
        "job_id": job.id,
        "status": snap["status"],
        "queue_position": snap["queue_position"],
        "seed": job.params["seed"],
        "model": job.params["model"],
        "status_url": f"/api/jobs/{job.id}",
        "events_url": f"/api/jobs/{job.id}/events",
    }


def _describe(e: Exception) -> str:
    if isinstance(e, GenlabError):
        return str(e)
    return f"{type(e).__name__}: {e}"


class JobJournal:
    """The jobs accepted but not finished, one JSON file each (written atomically) in `folder`:
    what a server restarted after a crash runs again. History keeps the record; this keeps the
    inputs a re-run needs that history does not (an edit's mask)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def add(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        data = json.dumps({"kind": kind, "params": params}, default=str)
        try:
            atomic_write_text(self.folder / f"{job_id}.json", data)
        except OSError as e:
            raise (storage_error(e, f"job queue folder {self.folder}", self.folder) or e) from None

    def remove(self, job_id: str) -> None:
        # A note that cannot be removed is harmless: a restart drops notes of finished runs.
        with contextlib.suppress(OSError):
            (self.folder / f"{job_id}.json").unlink(missing_ok=True)

    def get(self, job_id: str) -> tuple[str, dict[str, Any]] | None:
        """(kind, params) of one job written down, or None (not written, or unreadable)."""
        return self._read(self.folder / f"{job_id}.json")

    def pending(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """job id -> (kind, params) of every job written down and not removed (unreadable files,
        e.g. of a disk that filled up, count as none)."""
        paths = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        return {path.stem: entry for path in paths if (entry := self._read(path)) is not None}

    @staticmethod
    def _read(path: Path) -> tuple[str, dict[str, Any]] | None:
        try:
            entry = json.loads(path.read_text())
            return str(entry["kind"]), dict(entry["params"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
