"""The LLM as critic and prompt writer for images that are not from the built-in world: a
vision-capable model (Claude, or an OpenAI-compatible server) describes and scores an image
against the request, and rewrites a description into a generation prompt.

Both API backends offer `ask(system, text, image_png=None) -> str`; the scene parser stays the
critic for the built-in world, where it is exact and free.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from genlab.agent.llm import api_errors
from genlab.errors import GenlabError

CRITIC_SYSTEM = (
    "You check generated images against a request. Answer with one JSON object and nothing else: "
    '{"description": "<what the image shows>", "score": <0.0 to 1.0, how well it matches>, '
    '"problems": ["<each way it differs from the request>"], "satisfied": <true|false>}'
)
PROMPT_SYSTEM = (
    "You write prompts for a text-to-image model. Rewrite the user's description as one "
    "detailed prompt (subject, composition, colors, lighting, style). Answer with the prompt only."
)


def anthropic_ask(backend, system: str, text: str, image_png: bytes | None = None) -> str:
    """One Messages API call without tools; the image goes as a base64 `image` block."""
    content: list[dict[str, Any]] = []
    if image_png is not None:
        data = base64.b64encode(image_png).decode()
        content.append(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
        )
    content.append({"type": "text", "text": text})
    with api_errors(backend):
        response = backend.client.messages.create(
            model=backend.model,
            max_tokens=backend.max_tokens,
            system=system,
            messages=[{"role": "user", "content": content}],
        )
    return "".join(b.text for b in response.content if b.type == "text")


def openai_ask(backend, system: str, text: str, image_png: bytes | None = None) -> str:
    """One chat-completions call without tools; the image goes as a data-URL `image_url` part."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if image_png is not None:
        url = "data:image/png;base64," + base64.b64encode(image_png).decode()
        content.append({"type": "image_url", "image_url": {"url": url}})
    response = backend.chat(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": content}]
    )
    if not response.choices:
        raise GenlabError(f"openai backend: {backend.base_url} returned no choices")
    return response.choices[0].message.content or ""


def critique(llm, image_png: bytes, request: str, question: str | None = None) -> dict[str, Any]:
    """Ask the vision LLM what the image shows and how well it matches `request` (or `question`)."""
    text = f"Request: {request}"
    if question:
        text += f"\nAnswer this question about the image as part of the description: {question}"
    answer = llm.ask(CRITIC_SYSTEM, text, image_png)
    verdict = _json_object(answer)
    if verdict is None:
        raise GenlabError(
            f"{llm.name} backend: the critique was not a JSON object: {answer[:200]!r}"
        )
    try:
        score = min(1.0, max(0.0, float(verdict.get("score", 0.0))))
    except (TypeError, ValueError):
        raise GenlabError(
            f"{llm.name} backend: the critique's score is not a number: {verdict.get('score')!r}"
        ) from None
    problems = [str(p) for p in verdict.get("problems") or []]
    return {
        "description": str(verdict.get("description", "")),
        "score": score,
        "problems": problems,
        "satisfied": bool(verdict.get("satisfied", score >= 0.999 and not problems)),
        "critic": f"{llm.name}:{llm.model}",
    }


def write_prompt(llm, description: str, style: str | None = None) -> str:
    """Ask the LLM for a generation prompt; its answer, stripped of quotes, is the prompt."""
    text = description + (f"\nStyle: {style}" if style else "")
    prompt = llm.ask(PROMPT_SYSTEM, text).strip().strip('"').strip()
    if not prompt:
        raise GenlabError(f"{llm.name} backend: the model returned an empty prompt")
    return prompt


def _json_object(text: str) -> dict | None:
    """The first JSON object in `text` (models sometimes wrap it in prose or a code fence)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
