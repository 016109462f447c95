"""Tool schemas derived from Python signatures, argument checking, and the loop's bounds."""

import time
from typing import Literal

import pytest

from genlab.agent.loop import AgentLoop, AssistantTurn
from genlab.agent.toolkit import Toolbox, ToolCall, check_arguments, parse_docstring, tool
from genlab.errors import InvalidArgument


def paint(
    ctx,
    colors: list[str],
    mode: Literal["fill", "outline"] = "fill",
    width: float | None = None,
    layers: int = 1,
) -> dict:
    """Paint shapes in some colors.

    Longer explanation that the model does not need.

    Args:
        colors: colors to use, in order; the first is the
            main one.
        mode: fill the shape or draw its outline.
        width (float): line width in pixels.
        layers: how many coats.

    Returns:
        what was painted.
    """
    return {"colors": colors, "mode": mode, "width": width, "layers": layers, "ctx": ctx}


def test_schema_is_derived_from_signature_and_docstring():
    t = tool(paint)
    assert t.name == "paint" and t.description == "Paint shapes in some colors."
    props = t.parameters["properties"]
    assert props["colors"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "colors to use, in order; the first is the main one.",
    }
    assert props["mode"]["enum"] == ["fill", "outline"] and props["mode"]["default"] == "fill"
    assert props["width"]["type"] == "number" and "default" not in props["width"]
    assert t.parameters["required"] == ["colors"] and t.takes_context
    assert "Returns" not in str(props)


def test_docstring_sections_are_separated():
    summary, args = parse_docstring(paint.__doc__)
    assert summary == "Paint shapes in some colors."
    assert set(args) == {"colors", "mode", "width", "layers"}


def test_arguments_are_checked_and_leniently_coerced():
    t = tool(paint)
    assert check_arguments(t, {"colors": ["red"], "layers": 2.0, "width": "1.5"}) == {
        "colors": ["red"],
        "layers": 2,
        "width": 1.5,
    }
    for bad, name in [
        ({"colors": "red"}, "colors"),
        ({"colors": ["red"], "layers": 1.5}, "layers"),
        ({"colors": ["red"], "layers": True}, "layers"),
        ({"colors": ["red"], "mode": "spray"}, "mode"),
        ({"colors": ["red"], "brush": "x"}, "brush"),
        ({}, "colors"),
    ]:
        with pytest.raises(InvalidArgument, match=name):
            check_arguments(t, bad)


def test_toolbox_passes_the_context_and_turns_bugs_into_error_results():
    def broken(x: int) -> dict:
        """Always fails.

        Args:
            x: anything.
        """
        return {"value": 1 / 0}

    box = Toolbox([tool(paint), tool(broken)], ctx="the-context")
    ok = box.call(ToolCall("1", "paint", {"colors": ["red"]}))
    assert ok.content["ctx"] == "the-context" and not ok.is_error
    bad = box.call(ToolCall("2", "broken", {"x": 1}))
    assert bad.is_error and "ZeroDivisionError" in bad.content["error"]


class Scripted:
    """A backend that replays fixed turns (the loop's contract, without a protocol)."""

    name, model = "scripted", None

    def __init__(self, make_turn):
        self.make_turn = make_turn

    def complete(self, system, messages, tools):
        return self.make_turn(messages)


def test_time_limit_stops_the_loop_and_skips_pending_calls():
    def slow(seconds: float) -> dict:
        """Sleep.

        Args:
            seconds: how long.
        """
        time.sleep(seconds)
        return {}

    turn = AssistantTurn("", [ToolCall("a", "slow", {"seconds": 0.3})] * 2)
    loop = AgentLoop(Scripted(lambda m: turn), Toolbox([tool(slow)]), max_seconds=0.2)
    steps = list(loop.run("go"))
    results = [s.data for s in steps if s.type == "tool_result"]
    assert len(results) == 2 and "time limit" in results[1]["content"]["error"]
    assert loop.stop_reason == "time limit (0.2 s) reached"


def test_backend_exception_ends_the_run_with_its_message():
    def explode(messages):
        raise RuntimeError("model crashed")

    loop = AgentLoop(Scripted(explode), Toolbox([]))
    steps = list(loop.run("go"))
    assert [s.type for s in steps] == ["user", "error", "final"]
    assert loop.stop_reason == "backend error: model crashed"


def test_bad_loop_bounds_are_invalid_arguments():
    with pytest.raises(InvalidArgument, match="max_steps"):
        AgentLoop(Scripted(None), Toolbox([]), max_steps=0)
    with pytest.raises(InvalidArgument, match="max_seconds"):
        AgentLoop(Scripted(None), Toolbox([]), max_seconds=0)
