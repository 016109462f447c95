"""The server's routes, one APIRouter per area: the site (pages, health, models), images (generate,
edit, files, uploads), the job queue and its events, history; beside them the agent
(`serve/agent_stream.py`), resubmits (`serve/recovery.py`), the OpenAI Images API
(`serve/openai_images.py`) and the playground's helpers (`serve/playground.py`).
"""

from __future__ import annotations

from fastapi import APIRouter

from genlab.serve.agent_stream import agent_router
from genlab.serve.openai_images import openai_router
from genlab.serve.playground import playground_router
from genlab.serve.recovery import resubmit_router
from genlab.serve.routes import history, images, queue, site


def routers(server) -> list[APIRouter]:
    """Every router of `server`, in the order their routes are matched."""
    return [
        site.router(server),
        images.router(server),
        queue.router(server),
        history.router(server),
        agent_router(server),
        resubmit_router(server),
        openai_router(server),
        playground_router(server),
    ]
