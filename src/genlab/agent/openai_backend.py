"""OpenAI chat completions with tools as an agent backend; `base_url` reaches any compatible server
(Ollama, vLLM, llama.cpp), for which no API key is needed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from genlab.agent.llm import HostedLLM, api_errors
from genlab.agent.loop import AssistantTurn
from genlab.agent.toolkit import ToolCall
from genlab.agent.vision import openai_ask
from genlab.errors import GenlabError

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The chat-completions parameter bounding the answer: OpenAI's current name, which its reasoning
# models (o1, o3, gpt-5) require, and the older one that many compatible servers still expect.
TOKEN_LIMIT_PARAMS = ("max_completion_tokens", "max_tokens")
_REASONING = re.compile(r"^(o\d|gpt-5)")  # OpenAI model names that refuse max_tokens


class OpenAIBackend(HostedLLM):
    """Chat with an OpenAI model or a local OpenAI-compatible server at `base_url`."""

    name, env, client_class = "openai", "OPENAI", "OpenAI"
    default_model, default_base_url = DEFAULT_MODEL, DEFAULT_BASE_URL

    def __init__(self, model: str | None = None, **kwargs):
        super().__init__(model, **kwargs)
        # OpenAI's API takes the current name for every model and its reasoning models take no
        # other; another server is first asked with the older name, which it most likely knows.
        # A 400 naming the parameter switches to the other name (chat).
        current = self.base_url.rstrip("/") == DEFAULT_BASE_URL or _REASONING.match(self.model)
        self.token_limit_param = TOKEN_LIMIT_PARAMS[0 if current else 1]

    @staticmethod
    def sdk():
        import openai  # optional: the agent extra

        return openai

    def key(self, api_key: str | None) -> str:
        if api_key or self.base_url.rstrip("/") != DEFAULT_BASE_URL:
            # local servers (Ollama, llama.cpp) ignore the key; the SDK wants one
            return api_key or "unused"
        raise GenlabError(
            "openai backend: no API key; set the OPENAI_API_KEY environment variable "
            "(or pass --api-key), or --base-url for a local server"
        )

    def ask(self, system: str, text: str, image_png: bytes | None = None) -> str:
        """A plain answer (no tools), optionally about an image: the vision critic's call."""
        return openai_ask(self, system, text, image_png)

    def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AssistantTurn:
        response = self.chat(
            messages=to_openai_messages(system, messages),
            tools=[{"type": "function", "function": t} for t in tools],
        )
        if not response.choices:
            raise GenlabError(f"openai backend: {self.base_url} returned no choices")
        message = response.choices[0].message
        calls = []
        for c in message.tool_calls or []:
            try:
                args = json.loads(c.function.arguments or "{}")
            except json.JSONDecodeError:
                args = c.function.arguments  # kept raw: the loop answers with an error result
            calls.append(ToolCall(c.id, c.function.name, args))
        return AssistantTurn(message.content or "", calls)

    def chat(self, **kwargs):
        """One chat-completions call with the answer bounded by `max_tokens`, under the name the
        server takes (TOKEN_LIMIT_PARAMS): a 400 that names the one sent is retried once with the
        other, which is then kept for the backend's later calls."""
        with api_errors(self):
            try:
                return self._create(self.token_limit_param, kwargs)
            except self._sdk.BadRequestError as e:
                if not _names_parameter(e, self.token_limit_param):
                    raise
                other = next(p for p in TOKEN_LIMIT_PARAMS if p != self.token_limit_param)
                response = self._create(other, kwargs)
                self.token_limit_param = other
                return response

    def _create(self, token_param: str, kwargs: dict[str, Any]):
        return self.client.chat.completions.create(
            model=self.model, **{token_param: self.max_tokens}, **kwargs
        )


def _names_parameter(error, name: str) -> bool:
    """Whether a 400 refuses the parameter `name` (OpenAI says so in `error.param`; compatible
    servers in the message, e.g. "Unrecognized request argument supplied: max_completion_tokens")."""
    body = getattr(error, "body", None)
    err = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("param") == name:
        return True
    return name in str(getattr(error, "message", "") or error)


def to_openai_messages(system: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral messages -> chat-completions form (tool errors travel inside the JSON content)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        if m["role"] == "user":
            out.append({"role": "user", "content": m["content"]})
        elif m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.get("content") or None}
            if m.get("tool_calls"):
                msg["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {
                            "name": c["name"],
                            "arguments": c["arguments"]
                            if isinstance(c["arguments"], str)
                            else json.dumps(c["arguments"]),
                        },
                    }
                    for c in m["tool_calls"]
                ]
            out.append(msg)
        elif m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "content": m["content"]})
    return out
