"""The genlab web server: REST API (jobs, history, images, agent, OpenAI-compatible images) and the
playground page, built by `create_app(ServeConfig)` and run by `genlab serve` under uvicorn.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from genlab import __version__
from genlab.errors import GenlabError, InvalidArgument, NotFound, StorageError
from genlab.eval.preference import preference_router
from genlab.history import HistoryStore
from genlab.serve.agent_stream import AgentRunner, add_agent_route, agent_backends
from genlab.serve.engine import (
    JobRunner,
    ModelCatalog,
    decode_image_data,
    describe_record,
    new_seed,
    open_image_bytes,
)
from genlab.serve.jobs import (
    FINAL_STATUSES,
    ORIGIN,
    Job,
    JobJournal,
    JobQueue,
    QueueFull,
    accepted_view,
)
from genlab.serve.openai_images import add_openai_routes, openai_error
from genlab.serve.playground import add_playground_routes, agent_picks
from genlab.serve.recovery import (
    JOB_KINDS,
    add_resubmit_routes,
    interrupted_notes,
    recover,
    shutdown,
)
from genlab.serve.schemas import (
    ID_PATTERN,
    EditRequest,
    GenerateRequest,
)
from genlab.serve.security import (
    BodyLimit,
    BodyTooLarge,
    TokenAuth,
    inside,
    last_event_id,
    public,
    scrub_paths,
    sse,
)

STATIC_DIR = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_ID_RE = re.compile(ID_PATTERN)
_MEDIA_TYPES = {
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
}


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
    openai_steps: int = 20  # denoising steps for /v1/images/generations (it has no such field)
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
        job = self.queue.get(job_id) if _ID_RE.match(job_id) else None
        if job is not None:
            return self.queue.snapshot(job)
        if not _ID_RE.match(job_id):
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
            "total_steps": run.params.get("num_inference_steps", 0),
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
    _add_routes(api, server)

    add_agent_route(api, server)
    add_resubmit_routes(api, server)
    add_openai_routes(api, server)
    add_playground_routes(api, server)

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


# --------------------------------------------------------------------------- routes


def _add_routes(api: FastAPI, server: Server) -> None:
    history, catalog, queue = server.history, server.catalog, server.queue

    @api.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @api.get("/docs", include_in_schema=False)
    async def api_reference():
        return FileResponse(STATIC_DIR / "api.html", media_type="text/html")

    @api.get("/api/health", tags=["meta"])
    async def health():
        """Liveness, version and the queue's state (running, waiting, its bound)."""
        return {
            "status": "ok",
            "version": __version__,
            "queue": queue.stats(),
            "models": len(catalog.entries),
            "auth": server.config.token is not None,
            "agent_backends": list(server.agent_backends),
        }

    @api.get("/api/models", tags=["meta"])
    async def models():
        """The models a request may name: kind, image size, samplers, and which is the default."""
        return {"models": catalog.public(), "default": catalog.default}

    @api.post("/api/generate", status_code=202, tags=["jobs"])
    async def generate(body: GenerateRequest):
        """Queue a generation; answers with the job id at once (429 + Retry-After if full)."""
        params = body.model_dump()
        params["model"] = catalog.resolve(body.model)
        catalog.check_sampler(params["model"], body.sampler)
        catalog.check_prompt(params["model"], body.prompt)
        catalog.check_frames(params["model"], body.num_frames)
        catalog.check_plan_layout(params["model"], body.plan_layout, body.layout_temperature)
        params["keyframe_model"] = catalog.check_keyframe(params["model"], body.keyframe_model)
        if params["keyframe_model"] is None:
            if body.keyframe_candidates != 1:
                raise InvalidArgument(
                    "keyframe_candidates",
                    "1 unless keyframe_model is given",
                    body.keyframe_candidates,
                )
            del params["keyframe_candidates"]  # nothing to choose among: not a parameter here
        params["seed"] = body.seed if body.seed is not None else new_seed()
        job = await asyncio.to_thread(server.submit, "generate", params)
        return accepted_view(queue, job)

    @api.post("/api/edit", status_code=202, tags=["jobs"])
    async def edit(body: EditRequest):
        """Queue an edit of a stored image: inpaint under a mask, or img2img with a strength."""
        params = body.model_dump()
        params["model"] = catalog.resolve(body.model)
        catalog.check_plan_layout(params["model"], body.plan_layout, body.layout_temperature)
        params["seed"] = body.seed if body.seed is not None else new_seed()
        record = _image_record(history, body.image_id)
        catalog.check_prompt(params["model"], body.prompt)  # after the image: an unknown id is 404
        if record.kind != "image":
            raise InvalidArgument("image_id", "the id of an image (not a video)", body.image_id)
        if body.mask:
            decode_image_data(body.mask, "mask")  # refuse a broken mask now, not in the worker
        job = await asyncio.to_thread(server.submit, "edit", params)
        return accepted_view(queue, job)

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
        return StreamingResponse(
            _job_stream(queue, job, first, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

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
        if not _ID_RE.match(run_id):
            raise NotFound(f"run: no run with id {run_id!r}")
        try:
            run = await asyncio.to_thread(history.get_run, run_id)
        except NotFound:
            raise NotFound(f"run: no run with id {run_id!r}") from None
        out = run.to_dict()
        out["images"] = [describe_record(r) for r in run.images or []]
        return public(out)  # an agent's steps and outcome name files on disk

    @api.get(
        "/api/images/{image_id}",
        tags=["history"],
        responses={200: {"content": {"image/png": {}}, "description": "The file."}},
    )
    async def image_file(image_id: str):
        """The stored file (`/api/images/ID` or `/api/images/ID.png`, as its `url` says), with its
        generation parameters in the X-Genlab-Params header (and, for PNGs, inside the file's
        `genlab` text chunk)."""
        image_id, dot, extension = image_id.partition(".")
        record = _image_record(history, image_id)
        path = inside(history.images_dir, record.path)
        if path is None or (dot and f".{extension.lower()}" != path.suffix.lower()):
            # a row pointing outside the images folder is never served; nor a wrong extension
            raise NotFound(f"image: no file for image {image_id!r}")
        params = json.dumps(describe_record(record)["params"], sort_keys=True, default=str)
        return FileResponse(
            path,
            media_type=_MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"),
            headers={"X-Genlab-Params": params, "Cache-Control": "private, max-age=86400"},
            filename=download_name(record, path.suffix.lower()),
            content_disposition_type="inline",
        )

    @api.get("/api/images/{image_id}/info", tags=["history"])
    async def image_info(image_id: str):
        """An image's record: prompt, seed, model, every parameter, the image it was edited from."""
        return describe_record(_image_record(history, image_id))

    @api.post("/api/images", status_code=201, tags=["history"])
    async def upload_image(file: UploadFile = File(...)):
        """Add an image of your own (PNG/JPEG/WebP, ≤ 1024 px a side) so that it can be edited."""
        raw = await file.read()
        image = await asyncio.to_thread(open_image_bytes, raw, "file")
        # The client's filename is kept only as text: it never becomes part of a path.
        name = Path(file.filename or "upload").name[:100]
        record = await asyncio.to_thread(
            history.add_image,
            image.convert("RGB"),
            {"prompt": "", "source": "upload", "filename": name},
        )
        return describe_record(record)


def _image_record(history: HistoryStore, image_id: str):
    try:
        if _ID_RE.match(image_id):
            return history.get_image(image_id)
    except NotFound:
        pass
    raise NotFound(f"image: no image with id {image_id!r}")  # (the database path stays private)


def download_name(record, suffix: str) -> str:
    """The file name a browser saves an image under: genlab-MODEL-seedSEED-ID.png."""
    parts = ["genlab", record.model, f"seed{record.seed}" if record.seed is not None else None]
    stem = "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts if p)
    return f"{stem}-{record.id}{suffix}"


async def _job_stream(queue: JobQueue, job: Job | None, first: dict[str, Any], request: Request):
    """Send the job's state whenever it changes; a client leaving does not touch the job."""
    if job is None:  # finished before this server started: one final event
        yield sse(first["status"] if first["status"] in FINAL_STATUSES else "progress", first)
        return
    # Each event's id is the job's version: a client reconnecting with the version it last saw
    # gets the next change, not that state again (each event is the whole state, not a delta).
    seen = last_event_id(request)
    version, last_beat = (-1 if seen is None or seen > job.version else seen), time.monotonic()
    while True:
        if job.version != version:
            version = job.version
            snap = queue.snapshot(job)
            final = snap["status"] in FINAL_STATUSES
            yield sse(snap["status"] if final else "progress", snap, event_id=version)
            if final:
                return
        elif time.monotonic() - last_beat > 15:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


def encode_png(image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()
