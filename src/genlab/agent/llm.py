"""What the hosted LLM backends share: the model, URL and key taken from the arguments or the
environment (`<ENV>_MODEL`, `<ENV>_BASE_URL`, `<ENV>_API_KEY`), the SDK's client, and the SDK's
errors turned into one line naming the backend and its URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from genlab.errors import GenlabError, remote_error_summary


class HostedLLM:
    """Base of the backends that chat through a provider's SDK (anthropic, openai): subclasses
    name the SDK (`sdk()`) and its client class, the environment prefix and the defaults."""

    name: str
    env: str  # "OPENAI": OPENAI_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY
    default_model: str
    default_base_url: str
    client_class: str  # the SDK's client, e.g. "OpenAI"

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = 1024,
        max_retries: int = 3,
        timeout: float = 60.0,
    ):
        sdk = self.sdk()
        self.model = model or os.environ.get(f"{self.env}_MODEL") or self.default_model
        self.base_url = base_url or os.environ.get(f"{self.env}_BASE_URL") or self.default_base_url
        api_key = self.key(api_key or os.environ.get(f"{self.env}_API_KEY"))
        self.max_tokens = max_tokens
        self._sdk = sdk
        self.client = getattr(sdk, self.client_class)(
            api_key=api_key, base_url=self.base_url, max_retries=max_retries, timeout=timeout
        )

    @staticmethod
    def sdk() -> ModuleType:
        raise NotImplementedError

    def key(self, api_key: str | None) -> str:
        """The API key to send; a backend without one says how to give it."""
        if not api_key:
            raise GenlabError(
                f"{self.name} backend: no API key; set the {self.env}_API_KEY environment "
                "variable (or pass --api-key)"
            )
        return api_key


@contextmanager
def api_errors(backend) -> Iterator[None]:
    """Turn the SDK's connection and HTTP-status errors of one call into a one-line GenlabError
    naming the backend and its URL (both SDKs share these exception names); the remote's error
    text is summarised, not repeated (see remote_error_summary)."""
    try:
        yield
    except backend._sdk.APIConnectionError as e:
        raise GenlabError(
            f"{backend.name} backend: cannot reach {backend.base_url} ({e})"
        ) from None
    except backend._sdk.APIStatusError as e:
        summary = remote_error_summary(e.status_code, getattr(e, "body", None))
        raise GenlabError(
            f"{backend.name} backend: {backend.base_url} answered {summary}"
        ) from None
