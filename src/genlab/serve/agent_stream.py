"""`POST /api/agent`: run the agent in a background thread and stream its steps as server-sent
events. The run belongs to the server, not to the connection: a client that leaves early does not
stop it, and every step and image lands in history either way.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request

from genlab.agent.session import BACKENDS, AgentSession
from genlab.errors import GenlabError, InvalidArgument
from genlab.paths import DEFAULT_VIDEO_MODEL, FAST_IMAGE_MODEL
from genlab.pipelines.catalog import configured_llms
from genlab.serve.events import event_stream
from genlab.serve.jobs import ORIGIN, QueueFull
from genlab.serve.schemas import AgentRequest
from genlab.serve.security import sse

MAX_AGENT_RUNS = 4  # agent runs at the same time; more get 429
AGENT_INTERRUPTED = "interrupted: the server stopped during the run"


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
        self._runs: list[AgentRun] = []

    def close_unfinished(self) -> None:
        """At shutdown: runs still going are closed as interrupted (their steps so far are kept;
        POST /api/agent/{run_id}/resubmit starts one again)."""
        with self._lock:
            unfinished = [r for r in self._runs if not r.finished and r.run_id]
        for run in unfinished:
            interrupt_agent_run(self.server.history, run.run_id)

    def start(self, body: AgentRequest, resubmitted_from: str | None = None) -> AgentRun:

        with self._lock:
            if self._active >= MAX_AGENT_RUNS:
                raise QueueFull(retry_after=10)
            self._active += 1
        try:
            session = agent_session(self.server, body, resubmitted_from)
        except BaseException:
            with self._lock:
                self._active -= 1
            raise
        run = AgentRun()
        with self._lock:
            self._runs = [r for r in self._runs if not r.finished] + [run]
        thread = threading.Thread(target=self._run, args=(run, body, session), daemon=True)
        thread.start()
        return run

    def _run(self, run: AgentRun, body: AgentRequest, session) -> None:
        try:
            for step in session.run():
                run.run_id = step.get("run_id", run.run_id)
                run.steps.append(step)
            run.result = session.outcome.to_dict() if session.outcome else {}
        except Exception as e:  # reported to the client as the stream's last event
            run.error = str(e) or type(e).__name__
        finally:
            run.finished = True
            with self._lock:
                self._active -= 1


def interrupt_agent_run(history, run_id: str) -> None:
    """Close an agent run the server cannot finish; its steps and images so far are kept."""
    history.finish_run(run_id, status="interrupted", stop_reason=AGENT_INTERRUPTED)


def agent_session(server, body: AgentRequest, resubmitted_from: str | None = None):
    """An AgentSession for the request, its options checked (InvalidArgument names the option).

    The LLM's endpoint and key are the operator's (see `agent_backends`); a request only names a
    backend, so no caller can make the server send its keys, or its requests, elsewhere. The run
    records the request (it holds no key), so that an interrupted run can be resubmitted.
    """
    options = dict(body.options)
    for key in OPERATOR_SETTINGS:
        if key in options:
            raise InvalidArgument(
                f"options.{key}",
                "no value: LLM endpoints and keys are set by the server's operator "
                "(models.toml [llms] or the environment); a request names a backend",
            )
    unknown = sorted(set(options) - set(AGENT_OPTIONS))
    if unknown:
        known = ", ".join(AGENT_OPTIONS)
        raise InvalidArgument(f"options.{unknown[0]}", f"one of {known}", unknown[0])
    kwargs = {}
    for key, value in options.items():
        if value is None:
            continue
        expected = AGENT_OPTIONS[key]
        if (expected is bool) != isinstance(value, bool) or not isinstance(value, expected):
            raise InvalidArgument(f"options.{key}", AGENT_OPTION_TYPES[expected], value)
        kwargs[AGENT_OPTION_NAMES.get(key, key)] = value
    backends = server.agent_backends
    if body.backend not in backends:
        raise InvalidArgument("backend", "one of " + ", ".join(backends), body.backend)
    kind, endpoint = backend_endpoint(body.backend, backends[body.backend])
    if kwargs.get("llm_model") is None and backends[body.backend].get("model"):
        kwargs["llm_model"] = backends[body.backend]["model"]
    catalog = server.catalog
    image_model = catalog.resolve(kwargs.pop("image_model", None))
    fast = kwargs.get("fast", False)
    if fast and FAST_IMAGE_MODEL not in catalog.entries:
        raise InvalidArgument(
            "options.fast", f"false: this server does not offer {FAST_IMAGE_MODEL}", fast
        )
    videos = [name for name, e in catalog.entries.items() if e.kind == "text2video"]
    videos.sort(key=lambda name: name != DEFAULT_VIDEO_MODEL)  # the default video model first
    try:
        session = AgentSession(
            body.request,
            backend=kind,
            model=image_model,
            pipeline=catalog.shared(image_model),  # one copy of the model, shared with the jobs
            video_model=videos[0] if videos else None,
            video_pipeline=catalog.shared(videos[0]) if videos else None,
            store=server.history,
            max_seconds=server.config.agent_max_seconds,
            run_params={
                "origin": ORIGIN,
                "agent_request": body.model_dump(),
                **({"resubmitted_from": resubmitted_from} if resubmitted_from else {}),
            },
            **endpoint,
            **kwargs,
        )
    except InvalidArgument as e:  # name the request's option, as the client wrote it
        option = {v: k for k, v in AGENT_OPTION_NAMES.items()}.get(e.name, e.name)
        if option in options:
            raise e.renamed(f"options.{option}") from None
        raise
    if fast:  # the candidates from the server's copy of the fast model, as its jobs draw them
        session.ctx.fast_pipeline = catalog.shared(FAST_IMAGE_MODEL)
    return session


def agent_backends() -> dict[str, dict[str, Any]]:
    """The agent backends this server offers by name: the offline planner, Anthropic and OpenAI
    at the endpoints (and with the keys) of the server's environment, and the operator's
    `[llms.NAME]` entries of models.toml."""
    offered: dict[str, dict[str, Any]] = {name: {"backend": name} for name in BACKENDS}
    offered.update(configured_llms())
    return offered


def backend_endpoint(name: str, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(backend kind, base_url/api_key arguments) of an offered backend. A configured endpoint
    gets the key its api_key_env names, or none: the environment's provider key (OPENAI_API_KEY,
    ANTHROPIC_API_KEY) only ever goes to the provider's own endpoint or the one the environment
    sets beside it."""
    if "base_url" not in entry and "api_key_env" not in entry:
        return entry["backend"], {}  # the backend reads its endpoint and key from the environment
    endpoint: dict[str, Any] = {"base_url": entry.get("base_url")}
    variable = entry.get("api_key_env")
    if variable:
        endpoint["api_key"] = os.environ.get(variable)
        if not endpoint["api_key"]:
            raise GenlabError(
                f"agent backend {name!r}: the environment variable {variable} is not set"
            )
    else:
        endpoint["api_key"] = "none"  # local servers (Ollama, llama.cpp) ignore it
    return entry["backend"], endpoint


# Options a client may set, with their types; "model" is the LLM's, "image_model" genlab's.
# Where the LLM lives and its key are not among them: those are the operator's (OPERATOR_SETTINGS).
AGENT_OPTIONS = {
    "model": str,
    "image_model": str,
    "max_rounds": int,
    "num_candidates": int,
    "seed": int,
    "steps": int,
    "guidance": (int, float),
    "max_steps": int,
    "max_images": int,
    "fast": bool,  # candidates drawn by the distilled few-step model (FAST_IMAGE_MODEL)
}
OPERATOR_SETTINGS = ("base_url", "api_key", "api_key_env")
AGENT_OPTION_NAMES = {"model": "llm_model"}
AGENT_OPTION_TYPES = {
    str: "a string",
    int: "an integer",
    (int, float): "a number",
    bool: "true or false",
}


def agent_router(server) -> APIRouter:
    api = APIRouter()
    runner = server.agents

    @api.post(
        "/api/agent",
        tags=["agent"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "The steps."}},
    )
    async def agent(body: AgentRequest, request: Request):
        """Run the agent on a request; the response streams each step (`event: step`) as it
        happens and ends with `event: done` (or `failed`). The run and its images are stored."""
        run = await asyncio.to_thread(runner.start, body)
        return event_stream(agent_events(run, request))

    return api


async def agent_events(run: AgentRun, request: Request):
    """The run's steps as server-sent events, then its outcome (`done` or `failed`)."""
    sent, last_beat = 0, time.monotonic()
    while True:
        while sent < len(run.steps):  # ids: the step's index, then the count for the end
            yield sse("step", run.steps[sent], event_id=sent)
            sent += 1
        if run.finished and sent >= len(run.steps):
            if run.error:
                yield sse("failed", {"run_id": run.run_id, "error": run.error}, event_id=sent)
            else:
                outcome = {k: v for k, v in run.result.items() if k != "best_path"}
                done = {"run_id": run.run_id, "steps": sent, "outcome": outcome}
                yield sse("done", done, event_id=sent)
            return
        if time.monotonic() - last_beat > 15:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return  # the run goes on in its thread and is stored as usual
        await asyncio.sleep(0.05)
