"""Routes the playground page needs beyond the job API: a prompt check before generating, the
server's status pushed as events, cancelling a job, and which history images an agent chose.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from genlab import __version__
from genlab.errors import NotFound
from genlab.serve.events import KEEP_ALIVE, each_change, event_stream
from genlab.serve.schemas import TEXT_LIMIT, _Strict
from genlab.serve.security import last_event_id, sse
from genlab.world.grammar import parse_prompt

# Kinds trained on the built-in world's captions: the world grammar reads their prompts.
WORLD_KINDS = ("text2image", "text2video", "vq-ar")


class PromptCheckRequest(_Strict):
    """A prompt to check against what a model can read, before generating with it."""

    prompt: str = Field(max_length=TEXT_LIMIT)
    model: str | None = Field(None, max_length=200, description="A name from GET /api/models.")


def prompt_check(entry, prompt: str) -> dict[str, Any]:
    """The words of `prompt` the world grammar does not understand (the CLI's `genlab world
    parse` check), for models of the built-in world; `checked` is false for other models."""
    if entry.kind not in WORLD_KINDS:
        return {"model": entry.name, "checked": False, "unknown_words": [], "understood": None}

    parsed = parse_prompt(prompt)
    return {
        "model": entry.name,
        "checked": True,
        "unknown_words": list(parsed.unknown_words),
        "understood": parsed.canonical or None,
        # what the world lacks ("white is not a color of this world; it knows ...")
        "unsupported": parsed.unsupported_warnings(),
    }


def agent_picks(history, records) -> set[str]:
    """The ids among `records` that an agent run chose as its best image."""
    picks: set[str] = set()
    for run_id in {r.run_id for r in records if r.run_id}:
        try:
            run = history.get_run(run_id, with_steps=False)
        except NotFound:
            continue
        if run.kind == "agent" and isinstance(run.result, dict):
            best = run.result.get("best_image_id")
            if best:
                picks.add(best)
    return picks


def status_view(server) -> dict[str, Any]:
    """What the page's header shows: version and the queue's running and waiting jobs."""
    return {"status": "ok", "version": __version__, "queue": server.queue.stats()}


def playground_router(server) -> APIRouter:
    """The playground's helpers: a prompt's unreadable words, cancelling a job, the status feed."""
    api = APIRouter()
    catalog, queue = server.catalog, server.queue

    @api.post("/api/prompt/check", tags=["meta"])
    async def check_prompt(body: PromptCheckRequest):
        """The words of a prompt the model cannot read (built-in world models), so that a client
        can warn before generating; nothing is queued."""
        return prompt_check(catalog.entries[catalog.resolve(body.model)], body.prompt)

    @api.post("/api/jobs/{job_id}/cancel", tags=["jobs"])
    async def cancel_job(job_id: str):
        """Cancel a job: a waiting one leaves the queue, a running one stops before its next
        denoising step (its run is stored as stopped). 409 if it has already finished."""
        job = queue.get(job_id)
        if job is None:
            raise NotFound(f"job: no unfinished job with id {job_id!r}")
        if not await asyncio.to_thread(queue.cancel, job):
            return JSONResponse(
                {"detail": f"job {job_id} has already finished ({job.status})"}, status_code=409
            )
        return queue.snapshot(job)

    @api.get(
        "/api/events",
        tags=["meta"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "The status."}},
    )
    async def status_events(request: Request):
        """Server-sent events: `status` (version, running and waiting jobs) now and on every
        change of the queue."""
        return event_stream(_status_stream(server, request))

    return api


async def _status_stream(server, request: Request):
    # the id is the queue's change count: a client reconnecting up to date waits for the next
    seen = last_event_id(request)
    seen = -1 if seen is None or seen > server.queue.changes else seen
    async for changes in each_change(request, lambda: server.queue.changes, seen, 0.1):
        yield (
            KEEP_ALIVE if changes is None else sse("status", status_view(server), event_id=changes)
        )
