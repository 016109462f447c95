"""The Anthropic Messages API as an agent backend: tools as `tools=[{name, description,
input_schema}]`, calls as `tool_use` blocks, results as `tool_result` blocks (with `is_error`).
"""

from __future__ import annotations

from typing import Any

from genlab.agent.llm import HostedLLM, api_errors
from genlab.agent.loop import AssistantTurn
from genlab.agent.toolkit import ToolCall
from genlab.agent.vision import anthropic_ask

DEFAULT_MODEL = "claude-sonnet-4-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicBackend(HostedLLM):
    """Chat with a Claude model (or any server speaking the Messages API at `base_url`)."""

    name, env, client_class = "anthropic", "ANTHROPIC", "Anthropic"
    default_model, default_base_url = DEFAULT_MODEL, DEFAULT_BASE_URL

    @staticmethod
    def sdk():
        import anthropic  # optional: the agent extra

        return anthropic

    def ask(self, system: str, text: str, image_png: bytes | None = None) -> str:
        """A plain answer (no tools), optionally about an image: the vision critic's call."""
        return anthropic_ask(self, system, text, image_png)

    def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AssistantTurn:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": to_anthropic_messages(messages),
            "tools": [
                {
                    "name": t["name"],
                    "description": t["description"],
                    "input_schema": t["parameters"],
                }
                for t in tools
            ],
        }
        if system:
            kwargs["system"] = system
        with api_errors(self):
            response = self.client.messages.create(**kwargs)
        text, calls = [], []
        for block in response.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, dict(block.input or {})))
        return AssistantTurn("\n".join(text), calls)


def to_anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral messages -> Messages API form; consecutive tool results share one user message."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "user":
            out.append({"role": "user", "content": [{"type": "text", "text": m["content"]}]})
        elif m["role"] == "assistant":
            blocks: list[dict[str, Any]] = []
            if m.get("content"):
                blocks.append({"type": "text", "text": m["content"]})
            for c in m.get("tool_calls", []):
                args = (
                    c["arguments"] if isinstance(c["arguments"], dict) else {"_raw": c["arguments"]}
                )
                blocks.append({"type": "tool_use", "id": c["id"], "name": c["name"], "input": args})
            out.append({"role": "assistant", "content": blocks})
        elif m["role"] == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": m["tool_call_id"],
                "content": m["content"],
                "is_error": bool(m.get("is_error")),
            }
            if out and out[-1]["role"] == "user" and out[-1]["content"][0]["type"] == "tool_result":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
    return out
