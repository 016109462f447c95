"""The job queue's routes: a job's state, and its changes as server-sent events."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from genlab.serve.events import KEEP_ALIVE, each_change, event_stream
from genlab.serve.jobs import FINAL_STATUSES, Job, JobQueue
from genlab.serve.security import last_event_id, public, sse


def router(server) -> APIRouter:
    api = APIRouter()
    queue = server.queue

    @api.get("/api/jobs/{job_id}", tags=["jobs"])
    async def job_status(job_id: str):
        """Status, progress (0..1), queue position and, once done, the stored images."""
        return public(await asyncio.to_thread(server.job_view, job_id))

    @api.get("/api/jobs/{job_id}/events", tags=["jobs"])
    async def job_events(job_id: str, request: Request):
        """Server-sent events: `progress` on every change, then one `done`, `failed` or `cancelled`."""
        first = await asyncio.to_thread(server.job_view, job_id)
        job = queue.get(job_id)
        seen = last_event_id(request)
        if (
            first["status"] in FINAL_STATUSES
            and seen is not None
            and (job is None or seen >= job.version)
        ):  # it has the final state: 204 tells an EventSource to stop reconnecting
            return Response(status_code=204)
        return event_stream(job_stream(queue, job, first, request))

    return api


async def job_stream(queue: JobQueue, job: Job | None, first: dict[str, Any], request: Request):
    """Send the job's state whenever it changes; a client leaving does not touch the job."""
    if job is None:  # finished before this server started: one final event
        yield sse(first["status"] if first["status"] in FINAL_STATUSES else "progress", first)
        return
    # Each event's id is the job's version: a client reconnecting with the version it last saw
    # gets the next change, not that state again (each event is the whole state, not a delta).
    seen = last_event_id(request)
    seen = -1 if seen is None or seen > job.version else seen
    async for version in each_change(request, lambda: job.version, seen, 0.05):
        if version is None:
            yield KEEP_ALIVE
            continue
        snap = queue.snapshot(job)
        final = snap["status"] in FINAL_STATUSES
        yield sse(snap["status"] if final else "progress", snap, event_id=version)
        if final:
            return
