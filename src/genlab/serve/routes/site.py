"""The site: the playground page, the API reference, health and the models a request may name."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from genlab import __version__
from genlab.paths import FAST_IMAGE_MODEL

STATIC_DIR = Path(__file__).parent.parent / "static"


def router(server) -> APIRouter:
    api = APIRouter()
    catalog, queue = server.catalog, server.queue

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
            # the model an agent run's options.fast draws candidates with (null: not offered)
            "agent_fast_model": FAST_IMAGE_MODEL if FAST_IMAGE_MODEL in catalog.entries else None,
        }

    @api.get("/api/models", tags=["meta"])
    async def models():
        """The models a request may name: kind, image size, samplers, and which is the default."""
        return {"models": catalog.public(), "default": catalog.default}

    return api
