"""The agent loop: ask the model, run the tools it calls, send the results back, until it answers.
Bounded by model turns and wall time; yields every step (for the CLI and the web) and keeps them all.

Messages use one neutral form that every backend translates to its protocol:
    {"role": "user", "content": str}
    {"role": "assistant", "content": str, "tool_calls": [{"id", "name", "arguments"}]}
    {"role": "tool", "tool_call_id": str, "name": str, "content": str (JSON), "is_error": bool}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from genlab.agent.toolkit import Toolbox, ToolCall
from genlab.errors import InvalidArgument, check_int


@dataclass
class AssistantTurn:
    """One reply of the model: some text and zero or more tool calls (none means it is done)."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


class Backend(Protocol):
    name: str
    model: str | None

    def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AssistantTurn: ...


@dataclass
class Step:
    """One event of a run, in order: user, assistant, tool_call, tool_result, final or error."""

    index: int
    type: str
    data: dict[str, Any]
    elapsed: float  # seconds since the run started

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "type": self.type,
            "elapsed": round(self.elapsed, 3),
            **self.data,
        }


class AgentLoop:
    """Runs one request; iterate `run()` for the steps, then read `stop_reason` and `final_text`."""

    def __init__(
        self,
        backend: Backend,
        toolbox: Toolbox,
        *,
        system: str = "",
        max_steps: int = 24,
        max_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        check_int("max_steps", max_steps, 1)
        if not max_seconds > 0:
            raise InvalidArgument("max_seconds", "a number > 0", max_seconds)
        self.backend, self.toolbox, self.system = backend, toolbox, system
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.clock = clock  # seconds, monotonic; a test can drive time by hand
        self.messages: list[dict[str, Any]] = []
        self.steps: list[Step] = []
        self.stop_reason: str | None = None
        self.final_text = ""
        self.error: str | None = None

    def run(self, request: str) -> Iterator[Step]:
        start = self.clock()

        def step(kind: str, **data) -> Step:
            s = Step(len(self.steps), kind, data, self.clock() - start)
            self.steps.append(s)
            return s

        self.messages.append({"role": "user", "content": request})
        yield step("user", text=request)
        for _turn in range(self.max_steps):
            if self.clock() - start > self.max_seconds:
                self.stop_reason = f"time limit ({self.max_seconds:g} s) reached"
                break
            try:
                reply = self.backend.complete(self.system, self.messages, self.toolbox.schemas())
            except Exception as e:  # the run ends, but its transcript is kept and reported
                self.error = str(e) if hasattr(e, "args") and e.args else type(e).__name__
                self.stop_reason = f"backend error: {self.error}"
                yield step("error", message=self.error)
                break
            calls = [c.to_dict() for c in reply.tool_calls]
            self.messages.append({"role": "assistant", "content": reply.text, "tool_calls": calls})
            yield step("assistant", text=reply.text, tool_calls=calls)
            if not reply.tool_calls:
                self.final_text = reply.text
                self.stop_reason = "the model finished"
                break
            for call in reply.tool_calls:
                yield step("tool_call", **call.to_dict())
                if self.clock() - start > self.max_seconds:
                    result_error = f"not run: the time limit ({self.max_seconds:g} s) was reached"
                    result = self.toolbox.error_result(call, result_error)
                else:
                    result = self.toolbox.call(call)
                self.messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "name": call.name,
                        "content": result.to_text(),
                        "is_error": result.is_error,
                        "error_type": result.error_type,
                    }
                )
                yield step("tool_result", **result.to_dict())
        else:
            self.stop_reason = f"step limit ({self.max_steps} model turns) reached"
        yield step("final", text=self.final_text, stop_reason=self.stop_reason)
