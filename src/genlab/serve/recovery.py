"""Work a previous server left unfinished (it was killed, or stopped): its jobs run again under
their ids, or are kept as "interrupted" for a one-click resubmit; its agent runs are marked
interrupted. `POST /api/jobs/{id}/resubmit` and `POST /api/agent/{run_id}/resubmit` start an
interrupted job or agent run again as a new one, with the same parameters and seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from genlab.errors import GenlabError, NotFound, StorageError
from genlab.history import HistoryStore, RunRecord
from genlab.serve.agent_stream import agent_events, interrupt_agent_run
from genlab.serve.events import event_stream
from genlab.serve.jobs import ORIGIN, Job, JobJournal, accepted_view
from genlab.serve.schemas import ID_RE, AgentRequest

JOB_KINDS = ("generate", "edit")
JOB_INTERRUPTED = (
    "interrupted: the server stopped before this job finished; resubmit it (same seed, same image)"
)
RUN_ID_WAIT = 10.0  # seconds a resubmitted agent run may take to record itself


class Conflict(GenlabError):
    """The request does not fit the thing's state (e.g. resubmitting a job that finished): 409."""


def interrupted_notes(journal: JobJournal) -> JobJournal:
    """Where the inputs of interrupted jobs wait for a resubmit (an edit's mask is only there)."""
    return JobJournal(journal.folder / "interrupted")


def server_runs(history: HistoryStore, status: str, kinds: tuple[str, ...]) -> list[RunRecord]:
    """Runs of `kinds` with `status` that a server created, oldest first."""
    runs = []
    for kind in kinds:
        page = 1
        while True:
            listing = history.list_runs(page=page, per_page=200, kind=kind, status=status)
            runs += [run for run in listing.items if run.params.get("origin") == ORIGIN]
            if page >= listing.pages:
                break
            page += 1
    return sorted(runs, key=lambda run: run.created)


def recover(server) -> int:
    """At start: jobs a previous server accepted but never finished are queued again under their
    own ids, their partial outputs removed (the same seed and settings make the same images, so
    a re-run gives what the first run would have). With `requeue_interrupted` off, or when their
    inputs were not written down, they are kept as interrupted. Agent runs left running are
    marked interrupted. Returns how many jobs were queued again."""
    history, journal = server.history, server.journal
    pending = journal.pending()
    unfinished = server_runs(history, "running", JOB_KINDS)
    requeued = 0
    for run in unfinished:
        # A write the disk refuses now leaves the run as it was: the next start tries again.
        with contextlib.suppress(StorageError):
            if server.config.requeue_interrupted and run.id in pending:
                kind, params = pending[run.id]
                history.delete_images(run.id)
                server.queue.submit(kind, params, new_id=lambda rid=run.id: rid, recovered=True)
                requeued += 1
            else:
                interrupt_job(server, run.id, pending.get(run.id))
    live = {run.id for run in unfinished}
    for job_id in set(pending) - live:  # finished, but killed before its note was removed
        journal.remove(job_id)
    for run in server_runs(history, "running", ("agent",)):
        with contextlib.suppress(StorageError):
            interrupt_agent_run(history, run.id)
    return requeued


def interrupt_job(server, job_id: str, entry: tuple[str, dict[str, Any]] | None) -> None:
    """Close a job as interrupted, its inputs (`entry`: kind, params) kept for a resubmit."""
    if entry is not None:
        server.interrupted.add(job_id, *entry)
    server.history.finish_run(
        job_id, status="interrupted", stop_reason="interrupted", error=JOB_INTERRUPTED
    )
    server.journal.remove(job_id)


def shutdown(server) -> None:
    """A server stopping: running jobs finish (briefly). What cannot finish stays written down
    for the next start to run again, or (`requeue_interrupted` off) is closed as interrupted;
    agent runs still going are closed as interrupted."""
    server.queue.stop(timeout=5.0)
    with contextlib.suppress(StorageError):  # what cannot be written now is closed at restart
        server.agents.close_unfinished()
        if server.config.requeue_interrupted:
            return  # their runs stay "running" and their notes in the journal: re-run at start
        for job in server.queue.unfinished():
            interrupt_job(server, job.id, (job.kind, job.params))


def _interrupted_run(history: HistoryStore, run_id: str, kinds: tuple[str, ...], what: str):
    """The run `run_id` if it is an interrupted one of `kinds` not yet resubmitted: else NotFound
    (no such run of these kinds) or Conflict (it is not interrupted, or was resubmitted)."""
    try:
        run = history.get_run(run_id, with_steps=False) if ID_RE.match(run_id) else None
    except NotFound:
        run = None
    if run is None or run.kind not in kinds:
        raise NotFound(f"{what}: no {what} with id {run_id!r}")
    if run.status != "interrupted":
        shown = {"running": "queued or running", "stopped": "cancelled"}.get(run.status, run.status)
        raise Conflict(f"{what} {run_id} is {shown}, not interrupted: only those are resubmitted")
    if "resubmitted_as" in run.result:
        again = run.result["resubmitted_as"]
        raise Conflict(
            f"{what} {run_id} was resubmitted already" + (f" as {again}" if again else "")
        )
    return run


def resubmit_job(server, job_id: str) -> Job:
    """A new job with the interrupted job's kind, parameters and seed; the interrupted one keeps
    its record (`result.resubmitted_as` names the new one) without its partial outputs, which the
    new job makes again."""
    with server.resubmit_lock:
        run = _interrupted_run(server.history, job_id, JOB_KINDS, "job")
        entry = server.interrupted.get(run.id)
        if entry is not None:
            kind, params = entry
        elif run.params.get("has_mask"):
            raise Conflict(f"job {job_id}: its mask was not kept; draw the edit again")
        else:  # closed without its note (a kill before it was written): history has the rest
            kind = run.kind
            params = {k: v for k, v in run.params.items() if k not in ("origin", "has_mask")}
        params["model"] = server.catalog.resolve(params.get("model"))  # 422 if no longer offered
        job = server.submit(kind, params)
        server.history.delete_images(run.id)
        server.history.update_run_result(run.id, {"resubmitted_as": job.id})
        server.interrupted.remove(run.id)
        return job


def resubmit_agent_run(server, run_id: str):
    """Start the interrupted agent run's request again (same backend and options) as a new run;
    returns the runner's AgentRun once it has recorded itself."""
    with server.resubmit_lock:
        run = _interrupted_run(server.history, run_id, ("agent",), "agent run")
        stored = run.params.get("agent_request")
        try:
            body = AgentRequest(**stored) if isinstance(stored, dict) else None
        except ValidationError:
            body = None
        if body is None:
            raise Conflict(f"agent run {run_id}: its request's options were not kept; ask again")
        new = server.agents.start(body, resubmitted_from=run.id)
        server.history.update_run_result(run.id, {"resubmitted_as": ""})  # its id comes next
    deadline = time.monotonic() + RUN_ID_WAIT
    while new.run_id is None and not new.finished and time.monotonic() < deadline:
        time.sleep(0.02)
    if new.run_id is not None:
        server.history.update_run_result(run.id, {"resubmitted_as": new.run_id})
    elif new.finished:  # it failed before it was recorded: the interrupted run stays resubmittable
        server.history.update_run_result(run.id, {"resubmitted_as": None})
    return new


def resubmit_router(server) -> APIRouter:
    """Resubmits of interrupted jobs and agent runs (a Conflict is answered 409 by the app)."""
    api = APIRouter()

    @api.post("/api/jobs/{job_id}/resubmit", status_code=202, tags=["jobs"])
    async def resubmit(job_id: str):
        """Submit an interrupted job (one the server stopped before it finished, kept so with
        `genlab serve --no-requeue`) again: a new job with the same parameters and seed, answered
        like `POST /api/generate`. 404 for an unknown job, 409 for one not interrupted or already
        resubmitted (the detail names the new job)."""
        job = await asyncio.to_thread(resubmit_job, server, job_id)
        return dict(accepted_view(server.queue, job), resubmitted_from=job_id)

    @api.post(
        "/api/agent/{run_id}/resubmit",
        tags=["agent"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "The steps."}},
    )
    async def resubmit_agent(run_id: str, request: Request):
        """Run an interrupted agent run's request again, with its backend and options, as a new
        run; the response streams its steps like `POST /api/agent`. 404 for an unknown run, 409
        for one not interrupted or already resubmitted."""
        run = await asyncio.to_thread(resubmit_agent_run, server, run_id)
        return event_stream(agent_events(run, request))

    return api
