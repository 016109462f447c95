"""Local HTTP servers on 127.0.0.1 that speak the OpenAI Images and Stability Stable Image
protocols closely enough to test genlab's hosted backends, error answers included.

Behaviour is driven by the prompt, so tests read plainly:
  "... forbidden ..."  -> the service's content-policy refusal
  "... busy ..."       -> 429 with Retry-After: 0 for the first two tries, then success
  "... broken ..."     -> 500 every time
Every request is recorded (method, path, headers, fields) in `server.requests`.
"""

from __future__ import annotations

import base64
import email
import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

KEY = "test-key-123"


def png_for(prompt: str, size=(64, 64)) -> bytes:
    """A solid-color PNG whose color is a hash of the prompt (so tests can tell outputs apart)."""
    r, g, b = hashlib.sha256(prompt.encode()).digest()[:3]
    buf = io.BytesIO()
    Image.new("RGB", size, (r, g, b)).save(buf, format="PNG")
    return buf.getvalue()


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    msg = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields = {}
    for part in msg.get_payload():
        name = part.get_param("name", header="content-disposition")
        fields[name] = part.get_payload(decode=True)
    return fields


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            fields = json.loads(raw or b"{}")
        elif ctype.startswith("multipart/form-data"):
            fields = parse_multipart(ctype, raw)
        else:
            fields = {}
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "fields": fields}
        )
        return fields

    def _busy(self, prompt: str) -> bool:
        with self.server.lock:
            n = self.server.tries.get(prompt, 0)
            self.server.tries[prompt] = n + 1
        return "busy" in prompt and n < 2

    def do_POST(self):
        fields = self._read()
        self.server.dispatch(self, fields)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.tries: dict[str, int] = {}
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class OpenAIImagesServer(FakeServer):
    """POST /v1/images/generations (JSON) and /v1/images/edits (multipart)."""

    def dispatch(self, h: _Handler, fields: dict):
        if h.headers.get("Authorization") != f"Bearer {KEY}":
            return h._send(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        prompt = _text(fields.get("prompt"))
        if "forbidden" in prompt:
            return h._send(
                400,
                {
                    "error": {
                        "message": "Your request was rejected as a result of our safety system.",
                        "type": "invalid_request_error",
                        "code": "content_policy_violation",
                    }
                },
            )
        if "broken" in prompt:
            return h._send(
                500, {"error": {"message": "The server had an error.", "type": "server_error"}}
            )
        if h._busy(prompt):
            return h._send(
                429,
                {
                    "error": {
                        "message": "Rate limit reached.",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                },
                {"Retry-After": "0"},
            )
        if h.path == "/v1/images/generations":
            n = int(fields.get("n", 1))
            w, hgt = (int(v) for v in fields.get("size", "64x64").split("x"))
            data = [
                {
                    "b64_json": base64.b64encode(
                        png_for(prompt + str(i), (w // 16, hgt // 16))
                    ).decode(),
                    "revised_prompt": prompt,
                }
                for i in range(n)
            ]
            return h._send(200, {"created": 0, "data": data})
        if h.path == "/v1/images/edits":
            image = Image.open(io.BytesIO(fields["image"]))
            return h._send(
                200,
                {
                    "created": 0,
                    "data": [
                        {
                            "b64_json": base64.b64encode(
                                png_for("edit:" + prompt, image.size)
                            ).decode()
                        }
                    ],
                },
            )
        return h._send(404, {"error": {"message": f"unknown path {h.path}"}})


class StabilityServer(FakeServer):
    """POST /v2beta/stable-image/generate/{core,ultra,sd3} and /v2beta/stable-image/edit/inpaint."""

    def dispatch(self, h: _Handler, fields: dict):
        if h.headers.get("Authorization") != f"Bearer {KEY}":
            return h._send(
                401,
                {"id": "x", "name": "unauthorized", "errors": ["authorization: invalid API key"]},
            )
        prompt = _text(fields.get("prompt"))
        if not prompt:
            return h._send(
                400, {"id": "x", "name": "bad_request", "errors": ["prompt: cannot be empty"]}
            )
        if "broken" in prompt:
            return h._send(
                500, {"id": "x", "name": "internal_error", "errors": ["something went wrong"]}
            )
        if h._busy(prompt):
            return h._send(
                429,
                {"id": "x", "name": "rate_limit_exceeded", "errors": ["too many requests"]},
                {"Retry-After": "0"},
            )
        seed = int(_text(fields.get("seed")) or 42)
        if "forbidden" in prompt:
            return h._send(200, {"image": "", "finish_reason": "CONTENT_FILTERED", "seed": seed})
        if h.path.startswith("/v2beta/stable-image/generate/"):
            return h._send(
                200,
                {
                    "image": base64.b64encode(png_for(prompt + str(seed))).decode(),
                    "finish_reason": "SUCCESS",
                    "seed": seed,
                },
            )
        if h.path == "/v2beta/stable-image/edit/inpaint":
            image = Image.open(io.BytesIO(fields["image"]))
            return h._send(
                200,
                {
                    "image": base64.b64encode(png_for("inpaint:" + prompt, image.size)).decode(),
                    "finish_reason": "SUCCESS",
                    "seed": seed,
                },
            )
        return h._send(404, {"id": "x", "name": "not_found", "errors": [h.path]})
