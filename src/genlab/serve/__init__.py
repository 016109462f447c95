"""The web face of genlab: a REST API (FastAPI) with a job queue, server-sent progress, the
agent's steps, an OpenAI-compatible images endpoint, and the playground page it serves.
"""

from __future__ import annotations


def create_app(config=None):
    """The ASGI app for `config` (a `genlab.serve.app.ServeConfig`); see `genlab serve`."""
    # the serve extra (fastapi): genlab.serve.security is imported by the CLI without it
    from genlab.serve.app import create_app as _create_app

    return _create_app(config)


__all__ = ["create_app"]
