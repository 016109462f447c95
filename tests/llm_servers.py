"""Local HTTP servers on 127.0.0.1 that speak the Anthropic Messages and OpenAI chat-completions
protocols, driven by a scripted policy, so the agent's backends are tested end to end offline.

A policy is `policy(tool_results, request_body) -> Turn`: it sees the results of earlier tool calls
(decoded from the protocol, in order) and answers with text and/or tool calls. The servers can
answer 429 a number of times first (with a short retry-after) and check the API key.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Turn:
    text: str = ""
    tool_calls: list[tuple[str, Any]] = field(
        default_factory=list
    )  # (name, arguments dict or raw str)


@dataclass
class ToolResultSeen:
    name: str
    content: dict | str
    is_error: bool


class _Server:
    path = ""

    def __init__(self, policy, *, api_key: str = "test-key", rate_limit_first: int = 0):
        self.policy, self.api_key = policy, api_key
        self.rate_limit_left = rate_limit_first
        self.requests: list[dict] = []  # every body received, in order (including 429-ed ones)
        self.statuses: list[int] = []
        self.keys: list[str] = []  # the API key each request carried
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.keys.append(server.key_of(self.headers))
                status, payload, headers = server.handle(self.path, self.headers, body)
                server.statuses.append(status)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def handle(self, path, headers, body):
        if not path.endswith(self.path):
            return 404, self.error_body("not_found", f"no route {path}"), {}
        if self.key_of(headers) != self.api_key:
            return 401, self.error_body("authentication_error", "invalid API key"), {}
        if self.rate_limit_left > 0:
            self.rate_limit_left -= 1
            headers = {"retry-after-ms": "20", "retry-after": "0"}
            return 429, self.error_body("rate_limit_error", "slow down"), headers
        turn = self.policy(self.tool_results(body), body)
        return 200, self.encode(turn, body), {}


class AnthropicServer(_Server):
    """POST /v1/messages: tool_use blocks out, tool_result blocks in."""

    path = "/v1/messages"

    @staticmethod
    def key_of(headers):
        # Older SDKs send x-api-key, newer ones a bearer token: both are the Messages API.
        return headers.get("x-api-key") or (headers.get("Authorization") or "").removeprefix(
            "Bearer "
        )

    @staticmethod
    def error_body(kind, message):
        return {"type": "error", "error": {"type": kind, "message": message}}

    @staticmethod
    def tool_results(body):
        names = {}
        seen = []
        for m in body["messages"]:
            if not isinstance(m["content"], list):
                continue
            for b in m["content"]:
                if b["type"] == "tool_use":
                    names[b["id"]] = b["name"]
                elif b["type"] == "tool_result":
                    seen.append(
                        ToolResultSeen(
                            names[b["tool_use_id"]], _decode(b["content"]), b["is_error"]
                        )
                    )
        return seen

    def encode(self, turn, body):
        n = len(self.requests)
        content = [{"type": "text", "text": turn.text}] if turn.text else []
        for i, (name, args) in enumerate(turn.tool_calls):
            content.append(
                {"type": "tool_use", "id": f"toolu_{n}_{i}", "name": name, "input": args}
            )
        return {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 10},
        }


class OpenAIServer(_Server):
    """POST /v1/chat/completions: `tool_calls` out, `role: tool` messages in."""

    path = "/chat/completions"

    def __init__(self, policy, *, rejects: str | None = None, style: str = "openai", **kwargs):
        """`rejects`: a parameter this server refuses with a 400, as OpenAI refuses max_tokens
        for its reasoning models (style "openai": `error.param` names it) or as an older
        compatible server refuses max_completion_tokens (style "vllm": only the message does)."""
        super().__init__(policy, **kwargs)
        self.rejects, self.style = rejects, style

    def handle(self, path, headers, body):
        if self.rejects and self.rejects in body:
            if self.style == "openai":
                message = (
                    f"Unsupported parameter: '{self.rejects}' is not supported with this model."
                )
                error = {"message": message, "type": "invalid_request_error",
                         "param": self.rejects, "code": "unsupported_parameter"}  # fmt: skip
            else:
                message = f"Unrecognized request argument supplied: {self.rejects}"
                error = {"message": message, "type": "BadRequestError", "param": None, "code": 400}
            return 400, {"error": error}, {}
        return super().handle(path, headers, body)

    @staticmethod
    def key_of(headers):
        auth = headers.get("Authorization") or ""
        return auth.removeprefix("Bearer ")

    @staticmethod
    def error_body(kind, message):
        return {"error": {"type": kind, "message": message, "code": kind}}

    @staticmethod
    def tool_results(body):
        names = {}
        seen = []
        for m in body["messages"]:
            for c in m.get("tool_calls") or []:
                names[c["id"]] = c["function"]["name"]
            if m["role"] == "tool":
                content = _decode(m["content"])
                is_error = isinstance(content, dict) and "error" in content
                seen.append(ToolResultSeen(names[m["tool_call_id"]], content, is_error))
        return seen

    def encode(self, turn, body):
        n = len(self.requests)
        calls = [
            {
                "id": f"call_{n}_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(turn.tool_calls)
        ]
        message = {"role": "assistant", "content": turn.text or None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }


def _decode(content):
    if isinstance(content, list):  # Anthropic allows a list of text blocks
        content = "".join(b.get("text", "") for b in content)
    try:
        return json.loads(content)
    except (TypeError, json.JSONDecodeError):
        return content


SERVERS = {"anthropic": AnthropicServer, "openai": OpenAIServer}


def base_url_for(kind: str, server: _Server) -> str:
    """What to pass as base_url: the Anthropic SDK adds /v1/messages, OpenAI's adds /chat/completions."""
    return server.url if kind == "anthropic" else server.url + "/v1"
