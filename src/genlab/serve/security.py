"""The server's guards, as plain ASGI middleware in front of every route: an optional access
token, and a limit on request body size (checked on the declared length and on the bytes read).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

TOKEN_COOKIE = "genlab_token"
LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>genlab</title>
<style>body{font-family:system-ui,sans-serif;background:#0f1117;color:#e6e8ef;display:grid;
place-items:center;height:100vh;margin:0}form{display:flex;gap:8px}input,button{font:inherit;
padding:8px 12px;border-radius:8px;border:1px solid #2a2f3f;background:#1e2230;color:inherit}
</style></head><body><div><h2>This genlab server needs its token</h2>
<form method="get" action="/"><input name="token" type="password" placeholder="token" autofocus>
<button>Open</button></form></div></body></html>"""


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()):
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class TokenAuth:
    """When a token is set, every request must carry it, else 401.

    Accepted as `Authorization: Bearer TOKEN` (what OpenAI clients send), an `X-Genlab-Token`
    header, or the `genlab_token` cookie. Opening `/?token=TOKEN` once in a browser sets the cookie.
    """

    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token or None

    async def __call__(self, scope, receive, send):
        if self.token is None or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        offered = []
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            offered.append(auth[7:].strip())
        if "x-genlab-token" in headers:
            offered.append(headers["x-genlab-token"])
        if "cookie" in headers:
            cookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header is just no cookie
                cookie = SimpleCookie()
            if TOKEN_COOKIE in cookie:
                offered.append(cookie[TOKEN_COOKIE].value)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = query.get("token", [None])[0]
        if any(self._matches(t) for t in offered):
            return await self.app(scope, receive, send)
        if from_query is not None and self._matches(from_query) and scope["path"] == "/":
            # A browser link with ?token=...: remember it in a cookie and drop it from the URL.
            cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode())],
                }
            )
            return await send({"type": "http.response.body", "body": b""})
        if scope["path"] == "/" and "text/html" in headers.get("accept", ""):
            # A person at the front door: say how to get in, in their browser's language.
            page = LOGIN_PAGE.encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(page)).encode()),
                        (b"www-authenticate", b"Bearer"),
                    ],
                }
            )
            return await send({"type": "http.response.body", "body": page})
        await _send_json(
            send,
            401,
            {"detail": "missing or wrong token (send Authorization: Bearer TOKEN)"},
            [(b"www-authenticate", b"Bearer")],
        )

    def _matches(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.token.encode())


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, whether declared or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for key, value in scope["headers"]:
            if key.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    return await self._refuse(send)
        seen, started, too_large = 0, False, False

        async def limited_receive():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message):
            # Whatever the app answers once the body overflowed (its parser may call it a 400),
            # the client gets 413.
            nonlocal started
            if too_large:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        await _send_json(send, 413, {"detail": f"request body larger than {self.max_bytes} bytes"})


def inside(root: Path, candidate: str | Path) -> Path | None:
    """`candidate` resolved, if it lies inside `root` (after following links); else None."""
    root = Path(root).resolve()
    path = Path(candidate).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*", re.IGNORECASE)


def redact_tokens(text: str) -> str:
    """`/?token=abc&x=1` -> `/?token=***&x=1`: a login link's token never reaches a log."""
    return _TOKEN_IN_QUERY.sub(r"\1***", text)


class RedactTokens(logging.Filter):
    """For uvicorn's access log, whose lines carry each request's full path and query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact_tokens(str(record.msg))
        return True


# Absolute paths of this machine start with one of the root's entries (/tmp, /home, /work ...);
# URL paths such as /api/images/ID do not, and are left alone.
_ROOTS = sorted((e for e in os.listdir("/") if re.fullmatch(r"[\w.-]+", e)), key=len, reverse=True)
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/-])/(?:" + "|".join(map(re.escape, _ROOTS)) + r")(?:/[^\s'\"/,;)]*)*"
    if _ROOTS
    else r"(?!x)x"
)
PATH_KEYS = ("path", "paths", "best_path")  # where a record keeps its file's place on disk


def scrub_paths(text: str) -> str:
    """Absolute paths of the server's disk -> their last part (`/srv/x/history.sqlite` ->
    `history.sqlite`): a message keeps its meaning without telling a client the server's layout."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", text)


USER_TEXT_KEYS = ("prompt", "negative_prompt", "request")  # what people typed, kept as typed


def public(value):
    """A response's data with the server's file paths taken out: `path`-like keys dropped, absolute
    paths in text shortened (scrub_paths), except in what a person typed."""
    if isinstance(value, dict):
        return {
            k: v if k in USER_TEXT_KEYS else public(v)
            for k, v in value.items()
            if k not in PATH_KEYS
        }
    if isinstance(value, list | tuple):
        return [public(v) for v in value]
    if isinstance(value, str):
        return scrub_paths(value)
    return value


def sse(event: str, data: dict, event_id: int | str | None = None) -> str:
    """One server-sent event, its data without the server's file paths (`public`); with
    `event_id`, an `id:` line (what a reconnecting EventSource sends back as Last-Event-ID)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(public(data), default=str)}\n\n"


def last_event_id(request) -> int | None:
    """The Last-Event-ID a reconnecting client sent (an integer here), else None."""
    value = request.headers.get("last-event-id", "")
    return int(value) if value.strip().isdigit() else None
