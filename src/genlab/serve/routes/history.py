"""History's routes: past generations (images or runs, searchable) and one run in detail."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query

from genlab.errors import NotFound
from genlab.serve.engine import describe_record
from genlab.serve.playground import agent_picks
from genlab.serve.schemas import ID_RE
from genlab.serve.security import public


def router(server) -> APIRouter:
    api = APIRouter()
    history = server.history

    @api.get("/api/history", tags=["history"])
    async def list_history(
        page: int = Query(1, ge=1, le=1_000_000),
        per_page: int = Query(24, ge=1, le=200),
        q: str | None = Query(None, max_length=200, description="Search the prompts."),
        view: str = Query("images", pattern="^(images|runs)$"),
        kind: str | None = Query(
            None, pattern="^(generate|edit|agent)$", description="Runs of one kind."
        ),
        status: str | None = Query(
            None,
            pattern="^(running|done|failed|stopped|interrupted)$",
            description="Runs with this status (`interrupted`: those a resubmit can start again).",
        ),
    ):
        """Past generations, newest first: images (with their parameters) or runs."""
        if view == "runs":
            listing = await asyncio.to_thread(
                history.list_runs, page, per_page, q or None, kind, status
            )
            return public(listing.to_dict())
        listing = await asyncio.to_thread(history.list_images, page, per_page, q or None)
        out = listing.to_dict()

        picks = await asyncio.to_thread(agent_picks, history, listing.items)
        out["items"] = [dict(describe_record(r), agent_pick=r.id in picks) for r in listing.items]
        return out

    @api.get("/api/runs/{run_id}", tags=["history"])
    async def run_detail(run_id: str):
        """One run with its transcript steps and images."""
        if not ID_RE.match(run_id):
            raise NotFound(f"run: no run with id {run_id!r}")
        try:
            run = await asyncio.to_thread(history.get_run, run_id)
        except NotFound:
            raise NotFound(f"run: no run with id {run_id!r}") from None
        out = run.to_dict()
        out["images"] = [describe_record(r) for r in run.images or []]
        return public(out)  # an agent's steps and outcome name files on disk

    return api
