"""The genlab web server: REST API (jobs, history, images, agent, OpenAI-compatible images) and the
playground page, built by `create_app(ServeConfig)` and run by `genlab serve` under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from genlab import __version__
from genlab.errors import GenlabError, InvalidArgument, NotFound, StorageError
from genlab.eval.preference import preference_router
from genlab.history import HistoryStore
from genlab.serve.agent_stream import AgentRunner, agent_backends
from genlab.serve.engine import JobRunner, ModelCatalog, describe_record
from genlab.serve.jobs import ORIGIN, Job, JobJournal, JobQueue, QueueFull
from genlab.serve.openai_images import openai_error
from genlab.serve.recovery import JOB_KINDS, Conflict, interrupted_notes, recover, shutdown
from genlab.serve.routes import routers
from genlab.serve.routes.site import STATIC_DIR
from genlab.serve.schemas import ID_RE
from genlab.serve.security import BodyLimit, BodyTooLarge, TokenAuth, scrub_paths

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class ServeConfig:
    """Everything `genlab serve` can set; the defaults suit one person on their own machine."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    workers: int = 1
    max_queued: int = 32
    max_body_bytes: int = 8 * 1024 * 1024
    models: dict[str, str] = field(default_factory=dict)  # extra name -> checkpoint path
    default_model: str | None = None
    include_bundled: bool = True
    history_path: Path | None = None  # default: genlab.paths.history_db()
    agent_max_seconds: float = 300.0
    # denoising steps for /v1/images/generations (it has no such field); None: each model's own
    openai_steps: int | None = None
    requeue_interrupted: bool = True  # at start, run again the jobs a server left unfinished
    public_url: str | None = None  # where clients reach the server (image links); not Host-derived


class Server:
    """The state behind the routes: history, models, the job queue."""

    def __init__(self, config: ServeConfig):
        self.config = config
        self.history = HistoryStore(config.history_path)
        self.catalog = ModelCatalog(config.models, config.default_model, config.include_bundled)
        self.queue = JobQueue(
            JobRunner(self.catalog, self.history),
            workers=config.workers,
            max_queued=config.max_queued,
            on_finish=self._finish,
        )
        self.journal = JobJournal(self.history.path.parent / "queue")
        self.interrupted = interrupted_notes(self.journal)  # inputs kept for a resubmit
        self.resubmit_lock = threading.Lock()  # two clicks on one interrupted job: one new job
        self.recovered = recover(self)  # what a killed or stopped server left unfinished
        self.history.remove_orphan_files()  # a file a crash left without its row

        self.agent_backends = agent_backends()  # the operator's, read once: requests pick by name
        self.agents = AgentRunner(self)

    def shutdown(self) -> None:
        """Let running jobs finish (briefly); keep the rest for the next start (recovery.py)."""
        shutdown(self)

    def submit(self, kind: str, params: dict[str, Any]) -> Job:
        def record() -> str:
            stored = {k: v for k, v in params.items() if k != "mask"}
            stored["origin"] = ORIGIN
            stored["has_mask"] = bool(params.get("mask"))
            run_id = self.history.add_run(
                kind, params["prompt"], model=params["model"], params=stored
            )
            try:
                self.journal.add(run_id, kind, params)  # what a restart after a crash re-runs
            except BaseException:
                with contextlib.suppress(StorageError):
                    self.history.finish_run(run_id, status="failed", error="not queued")
                raise
            return run_id

        return self.queue.submit(kind, params, new_id=record)

    def _finish(self, job: Job, outcome: str) -> None:
        images = [r["image_id"] for r in job.results]
        cancelled = outcome == "cancelled"  # history's word for a run ended early is "stopped"
        self.history.finish_run(
            job.id,
            status="stopped" if cancelled else outcome,
            result={"images": images},
            error=job.error,
            stop_reason={"done": "finished", "cancelled": "cancelled"}.get(outcome, "failed"),
        )
        self.journal.remove(job.id)  # recorded as finished: nothing left to re-run

    def job_view(self, job_id: str) -> dict[str, Any]:
        """A job's state: live from the queue, else (an older or interrupted job) from history."""
        job = self.queue.get(job_id) if ID_RE.match(job_id) else None
        if job is not None:
            return self.queue.snapshot(job)
        if not ID_RE.match(job_id):
            raise NotFound(f"job: no job with id {job_id!r}")
        try:
            run = self.history.get_run(job_id, with_steps=False)
        except NotFound:
            raise NotFound(f"job: no job with id {job_id!r}") from None
        if run.kind not in JOB_KINDS:
            raise NotFound(f"job: no job with id {job_id!r} (it is a {run.kind} run)")
        done = run.status == "done"
        status = {"running": "queued", "stopped": "cancelled"}.get(run.status, run.status)
        return {
            "id": run.id,
            "kind": run.kind,
            "status": status,
            "progress": 1.0 if done else 0.0,
            "step": 0,
            "total_steps": run.params.get("num_inference_steps") or 0,  # null: the model's own
            "queue_position": None,
            "params": run.params,
            "results": [describe_record(r) for r in run.images or []],
            "error": run.error,
            "created": run.created,
            "started": None,
            "finished": run.finished,
            # an interrupted job submitted again: the new job's id
            "resubmitted_as": run.result.get("resubmitted_as"),
        }


def create_app(config: ServeConfig | None = None):
    """The ASGI application: token check and body limit around the FastAPI routes."""
    config = config or ServeConfig()
    server = Server(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        server.queue.start()
        yield
        await asyncio.to_thread(server.shutdown)

    api = FastAPI(
        title="genlab",
        version=__version__,
        description="Visual generation, offline first: text to image, editing, the agent, history.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's viewers load their scripts from a CDN; /docs is our own page
        redoc_url=None,
    )
    api.state.server = server

    _add_error_handlers(api)
    for router in routers(server):  # serve/routes/: one router per area
        api.include_router(router)

    # pairwise human preference: /preference (page) and /api/preference/{pair,vote,ratings}
    api.include_router(preference_router(db_path=server.history.path), tags=["preference"])
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app = BodyLimit(TokenAuth(api, config.token), config.max_body_bytes)
    if config.host in LOOPBACK_HOSTS:
        # Bound to loopback: refuse other Host names, so a web page cannot reach this server
        # through DNS rebinding (its requests would carry the attacker's host name).
        app = TrustedHostMiddleware(app, allowed_hosts=["127.0.0.1", "localhost"])
    app.fastapi = api  # for tests and tools that want the routes or the OpenAPI schema
    return app


# --------------------------------------------------------------------------- errors


def error_field(e: InvalidArgument) -> str:
    return getattr(e, "name", None) or "body"


def _add_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(InvalidArgument)
    async def _invalid(request: Request, e: InvalidArgument):
        field_name = error_field(e)
        detail = [{"loc": ["body", field_name], "msg": scrub_paths(str(e)), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @api.exception_handler(Conflict)
    async def _conflict(request: Request, e: Conflict):
        return JSONResponse({"detail": scrub_paths(str(e))}, status_code=409)

    @api.exception_handler(NotFound)
    async def _not_found(request: Request, e: NotFound):
        return JSONResponse({"detail": scrub_paths(str(e))}, status_code=404)

    @api.exception_handler(QueueFull)
    async def _full(request: Request, e: QueueFull):
        return JSONResponse(
            {"detail": str(e)}, status_code=429, headers={"Retry-After": str(e.retry_after)}
        )

    @api.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, e: BodyTooLarge):
        return JSONResponse({"detail": "request body too large"}, status_code=413)

    @api.exception_handler(StorageError)
    async def _storage(request: Request, e: StorageError):
        # 507 Insufficient Storage when the disk is full; 503 when it cannot be written at all.
        return JSONResponse({"detail": scrub_paths(str(e))}, status_code=507 if e.full else 503)

    @api.exception_handler(GenlabError)
    async def _genlab(request: Request, e: GenlabError):
        return JSONResponse({"detail": scrub_paths(str(e))}, status_code=400)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        # Routers of lower layers (the preference page) raise these with their own messages.
        detail = scrub_paths(e.detail) if isinstance(e.detail, str) else e.detail
        return JSONResponse({"detail": detail}, status_code=e.status_code, headers=e.headers)

    @api.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError):
        # FastAPI's own 422 body, minus the echoed input (it may be a megabyte of base64).
        errors = [
            {k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in e.errors()
        ]
        if request.url.path.startswith("/v1/"):
            first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
            param = ".".join(str(x) for x in first["loc"][1:]) or None
            return openai_error(422, f"{param}: {first['msg']}", param, "invalid_request_error")
        return JSONResponse({"detail": errors}, status_code=422)
