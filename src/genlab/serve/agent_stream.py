"""`POST /api/agent`: run the agent in a background thread and stream its steps as server-sent
events. The run belongs to the server, not to the connection: a client that leaves early does not
stop it, and every step and image lands in history either way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from genlab.serve.schemas import AgentRequest

MAX_AGENT_RUNS = 4  # agent runs at the same time; more get 429


@dataclass
class AgentRun:
    """The steps of one agent run so far, shared by its thread and whoever streams them."""

    run_id: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class AgentRunner:
    """Starts agent runs (bounded in number) and keeps their steps for the streams."""

    def __init__(self, server):
        self.server = server
        self._lock = threading.Lock()
        self._active = 0

    def start(self, body: AgentRequest) -> AgentRun:
        from genlab.serve.jobs import QueueFull

        with self._lock:
            if self._active >= MAX_AGENT_RUNS:
                raise QueueFull(retry_after=10)
            self._active += 1
        run = AgentRun()
        thread = threading.Thread(target=self._run, args=(run, body), daemon=True)
        thread.start()
        return run

    def _run(self, run: AgentRun, body: AgentRequest) -> None:
        from genlab.agent import run_agent

        try:
            for step in run_agent(
                body.request,
                backend=body.backend,
                options=dict(body.options),
                history=self.server.history,
                model=self.server.catalog.resolve(None),
                model_source=self.server.catalog.entries[self.server.catalog.resolve(None)].source,
                max_seconds=self.server.config.agent_max_seconds,
            ):
                data = step if isinstance(step, dict) else step.to_dict()
                if data.get("type") == "run":
                    run.run_id = data.get("run_id")
                run.steps.append(data)
        except Exception as e:  # reported to the client as the stream's last event
            run.error = str(e) or type(e).__name__
        finally:
            run.finished = True
            with self._lock:
                self._active -= 1


def add_agent_route(api: FastAPI, server) -> None:
    runner = AgentRunner(server)

    @api.post(
        "/api/agent",
        tags=["agent"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "The steps."}},
    )
    async def agent(body: AgentRequest, request: Request):
        """Run the agent on a request; the response streams each step (`event: step`) as it
        happens and ends with `event: done` (or `failed`). The run and its images are stored."""
        run = await asyncio.to_thread(runner.start, body)
        return StreamingResponse(
            _stream(run, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def _stream(run: AgentRun, request: Request):
    from genlab.serve.app import sse

    sent, last_beat = 0, time.monotonic()
    while True:
        while sent < len(run.steps):
            yield sse("step", run.steps[sent])
            sent += 1
        if run.finished and sent >= len(run.steps):
            if run.error:
                yield sse("failed", {"run_id": run.run_id, "error": run.error})
            else:
                yield sse("done", {"run_id": run.run_id, "steps": sent})
            return
        if time.monotonic() - last_beat > 15:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return  # the run goes on in its thread and is stored as usual
        await asyncio.sleep(0.05)
