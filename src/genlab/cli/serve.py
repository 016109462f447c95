"""`genlab serve`: the REST API and the web playground, on loopback unless told otherwise."""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlsplit

from genlab.errors import InvalidArgument
from genlab.serve.security import RedactTokens


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the web playground and REST API",
        description="Serve the playground at / and the REST API under /api (OpenAPI at /docs).",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; anything but loopback exposes the server to the network",
    )
    p.add_argument("--port", type=int, default=8000, help="TCP port (0 picks a free one)")
    p.add_argument(
        "--token",
        default=None,
        help="require this token on every request; when not given, $GENLAB_TOKEN is used if set",
    )
    p.add_argument("--workers", type=int, default=1, help="jobs that run at the same time")
    p.add_argument(
        "--max-queued", type=int, default=32, help="waiting jobs before new ones get 429"
    )
    p.add_argument(
        "--max-body-mb", type=float, default=8.0, help="largest request body (uploads included)"
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="offer a checkpoint under NAME (repeatable), besides the bundled and models.toml ones",
    )
    p.add_argument(
        "--default-model",
        default=None,
        help="model used when a request names none (default: world-t2i-layout if offered, "
        "else world-t2i, else the first)",
    )
    p.add_argument(
        "--no-bundled",
        action="store_true",
        help="offer only the models given with --model (no bundled or models.toml ones)",
    )
    p.add_argument(
        "--agent-max-seconds", type=float, default=300.0, help="wall-time limit of one agent run"
    )
    p.add_argument(
        "--openai-steps",
        type=int,
        default=None,
        help="denoising steps for /v1/images/generations requests (OpenAI's API has no such "
        "field; default: each model's own, e.g. 4 for a distilled few-step model)",
    )
    p.add_argument(
        "--no-requeue",
        action="store_true",
        help="keep the jobs a killed or stopped server left unfinished as interrupted, for a "
        "client to resubmit (POST /api/jobs/ID/resubmit, the playground's Resubmit), instead of "
        "running them again at start",
    )
    p.add_argument(
        "--public-url",
        default=None,
        help="the address clients reach this server at (e.g. https://gen.example.org behind a "
        "proxy), for the image links of /v1/images/generations; default: the bound address "
        "(none when bound to every interface)",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level")
    p.set_defaults(func=run)


def parse_models(specs: list[str]) -> dict[str, str]:
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise InvalidArgument("--model", "NAME=PATH", spec)
        if not os.path.isfile(path):
            raise InvalidArgument("--model", "NAME=PATH of an existing checkpoint file", spec)
        models[name] = path
    return models


def public_url(given: str | None, host: str, port: int) -> str | None:
    """Where clients reach the server: --public-url, else the bound address (never a request's
    Host header, which the client writes); None when bound to every interface."""
    if given is not None:
        parts = urlsplit(given)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise InvalidArgument("--public-url", "an http(s)://host[:port][/path] URL", given)
        return given.rstrip("/")
    if host in ("0.0.0.0", "::", ""):
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(args) -> int:
    if not 0 <= args.port <= 65535:
        raise InvalidArgument("--port", "a port in 0..65535", args.port)
    if args.workers < 1:
        raise InvalidArgument("--workers", "an integer ≥ 1", args.workers)
    if args.max_queued < 1:
        raise InvalidArgument("--max-queued", "an integer ≥ 1", args.max_queued)
    if not args.agent_max_seconds > 0:
        raise InvalidArgument("--agent-max-seconds", "a number > 0", args.agent_max_seconds)
    if args.openai_steps is not None and not 1 <= args.openai_steps <= 1000:
        raise InvalidArgument("--openai-steps", "an integer in 1..1000", args.openai_steps)
    if not args.max_body_mb > 0:
        raise InvalidArgument("--max-body-mb", "a number > 0", args.max_body_mb)
    models = parse_models(args.model)
    from genlab.serve.app import ServeConfig, create_app  # the serve extra (fastapi)

    token = args.token if args.token is not None else os.environ.get("GENLAB_TOKEN") or None
    config = ServeConfig(
        host=args.host,
        port=args.port,
        token=token,
        workers=args.workers,
        max_queued=args.max_queued,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        models=models,
        default_model=args.default_model,
        include_bundled=not args.no_bundled,
        agent_max_seconds=args.agent_max_seconds,
        openai_steps=args.openai_steps,
        requeue_interrupted=not args.no_requeue,
    )
    import uvicorn  # optional: the serve extra

    # Bind the socket ourselves so that --port 0 can report the port it got.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        raise InvalidArgument(
            "--port", "a free port on --host", f"{args.host}:{args.port} ({e})"
        ) from None
    host, port = sock.getsockname()[:2]
    config.public_url = public_url(args.public_url, host, port)
    app = create_app(config)
    if args.host not in ("127.0.0.1", "localhost") and token is None:
        print("genlab: warning: serving beyond loopback without --token; anyone can use it")
    print(f"genlab: serving on http://{host}:{port}/", flush=True)
    if token:
        print(
            f"genlab: in a browser, open http://{host}:{port}/?token=<your token> once", flush=True
        )
    uvicorn_config = uvicorn.Config(app, log_level=args.log_level, timeout_graceful_shutdown=5)

    logging.getLogger("uvicorn.access").addFilter(RedactTokens())  # (set up by Config above)
    server = uvicorn.Server(uvicorn_config)
    server.run(sockets=[sock])
    return 0
