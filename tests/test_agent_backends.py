"""The agent loop with the Anthropic and OpenAI backends against local servers speaking each protocol."""

from typing import Literal

import pytest
from llm_servers import SERVERS, Turn, base_url_for

from genlab.agent.anthropic_backend import AnthropicBackend
from genlab.agent.loop import AgentLoop
from genlab.agent.openai_backend import OpenAIBackend
from genlab.agent.toolkit import Toolbox, tool
from genlab.errors import GenlabError

BACKENDS = {"anthropic": AnthropicBackend, "openai": OpenAIBackend}


def mix(first: str, second: str, mode: Literal["add", "blend"] = "add") -> dict:
    """Mix two color names.

    Args:
        first: the first color.
        second: the second color.
        mode: how to mix them.
    """
    if first == second:
        raise ValueError("nothing to mix: the colors are the same")
    return {"mixed": f"{first}+{second}", "mode": mode}


def tools():
    return Toolbox([tool(mix)])


def backend(kind, server, **kw):
    return BACKENDS[kind](
        "test-model", api_key="test-key", base_url=base_url_for(kind, server), **kw
    )


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_tool_call_round_trip_through_the_protocol(kind):
    def policy(results, body):
        if not results:
            return Turn("mixing", [("mix", {"first": "red", "second": "blue"})])
        return Turn(f"done: {results[-1].content['mixed']}")

    with SERVERS[kind](policy) as server:
        loop = AgentLoop(backend(kind, server), tools())
        steps = list(loop.run("mix red and blue"))
    assert [s.type for s in steps] == [
        "user",
        "assistant",
        "tool_call",
        "tool_result",
        "assistant",
        "final",
    ]
    assert steps[3].data["content"] == {"mixed": "red+blue", "mode": "add"}
    assert loop.final_text == "done: red+blue" and loop.stop_reason == "the model finished"
    assert server.requests[0]["model"] == "test-model"
    schemas = server.requests[0]["tools"]
    names = [t["name"] if kind == "anthropic" else t["function"]["name"] for t in schemas]
    assert names == ["mix"]


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_tool_failure_unknown_tool_and_bad_arguments_go_back_as_errors(kind):
    def policy(results, body):
        if not results:
            return Turn(
                "",
                [
                    ("mix", {"first": "red", "second": "red"}),
                    ("paint", {"color": "red"}),
                    ("mix", {"first": "red"}),
                    ("mix", {"first": "red", "second": "blue", "mode": "swirl"}),
                ],
            )
        return Turn("saw " + " | ".join(r.content["error"] for r in results))

    with SERVERS[kind](policy) as server:
        loop = AgentLoop(backend(kind, server), tools())
        steps = list(loop.run("try things"))
    errors = [s.data for s in steps if s.type == "tool_result"]
    assert all(e["is_error"] for e in errors) and len(errors) == 4
    assert "nothing to mix" in errors[0]["content"]["error"]
    assert "unknown tool 'paint'" in errors[1]["content"]["error"]
    assert "second" in errors[2]["content"]["error"]
    assert "swirl" in errors[3]["content"]["error"]
    if kind == "anthropic":  # is_error travels in the tool_result block
        blocks = server.requests[-1]["messages"][-1]["content"]
        assert [b["is_error"] for b in blocks] == [True] * 4
    assert loop.final_text.startswith("saw ")


def test_malformed_tool_arguments_become_an_error_result():
    def policy(results, body):
        if not results:
            return Turn("", [("mix", '{"first": "red", "second": ')])
        return Turn("ok")

    with SERVERS["openai"](policy) as server:
        steps = list(AgentLoop(backend("openai", server), tools()).run("x"))
    result = next(s for s in steps if s.type == "tool_result")
    assert result.data["is_error"] and "not JSON" in result.data["content"]["error"]


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_rate_limited_requests_are_retried(kind):
    with SERVERS[kind](lambda r, b: Turn("hello"), rate_limit_first=2) as server:
        loop = AgentLoop(backend(kind, server), tools())
        list(loop.run("hi"))
    assert server.statuses == [429, 429, 200]
    assert loop.final_text == "hello"


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_persistent_rate_limit_ends_the_run_with_a_clear_error(kind):
    with SERVERS[kind](lambda r, b: Turn("never"), rate_limit_first=99) as server:
        loop = AgentLoop(backend(kind, server, max_retries=1), tools())
        steps = list(loop.run("hi"))
    assert steps[-2].type == "error" and "HTTP 429" in loop.error
    assert loop.stop_reason.startswith("backend error")


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_wrong_key_is_reported_with_the_status(kind):
    with SERVERS[kind](lambda r, b: Turn("x"), api_key="other") as server:
        loop = AgentLoop(backend(kind, server), tools())
        list(loop.run("hi"))
    assert "HTTP 401" in loop.error


@pytest.mark.parametrize(
    ("kind", "variable"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")]
)
def test_missing_key_names_the_environment_variable(kind, variable, monkeypatch):
    monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(f"{kind.upper()}_BASE_URL", raising=False)
    with pytest.raises(GenlabError, match=variable):
        BACKENDS[kind]()


def test_local_openai_compatible_server_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with SERVERS["openai"](lambda r, b: Turn("hi"), api_key="unused") as server:
        loop = AgentLoop(OpenAIBackend("llama", base_url=server.url + "/v1"), tools())
        list(loop.run("hi"))
    assert loop.final_text == "hi"


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_unreachable_server_names_the_url(kind):
    url = "http://127.0.0.1:9"  # discard port: nothing listens
    b = BACKENDS[kind]("m", api_key="k", base_url=url, max_retries=0, timeout=2)
    loop = AgentLoop(b, tools())
    list(loop.run("hi"))
    assert "cannot reach http://127.0.0.1:9" in loop.error


def test_step_limit_bounds_a_model_that_never_stops():
    def policy(results, body):
        return Turn("", [("mix", {"first": "red", "second": "blue"})])

    with SERVERS["anthropic"](policy) as server:
        loop = AgentLoop(backend("anthropic", server), tools(), max_steps=3)
        steps = list(loop.run("forever"))
    assert sum(s.type == "assistant" for s in steps) == 3
    assert loop.stop_reason == "step limit (3 model turns) reached"
    assert steps[-1].type == "final"


@pytest.mark.parametrize(
    ("model", "rejects", "style", "sent"),
    [
        # a reasoning model is asked with the current name at once
        ("o3-mini", "max_tokens", "openai", ["max_completion_tokens", "max_completion_tokens"]),
        # a model that needs it on a server whose name for it the backend did not know: OpenAI's
        # 400 names the parameter; the retry and every later call use the other name
        (
            "gpt-4.1",
            "max_tokens",
            "openai",
            ["max_tokens", "max_completion_tokens"] + ["max_completion_tokens"],
        ),
        # an older compatible server that knows only max_tokens
        (
            "o1",
            "max_completion_tokens",
            "vllm",
            ["max_completion_tokens", "max_tokens", "max_tokens"],
        ),
    ],
)
def test_the_answer_limit_is_sent_under_the_name_the_server_takes(model, rejects, style, sent):
    def policy(results, body):
        if not results:
            return Turn("", [("mix", {"first": "red", "second": "blue"})])
        return Turn("done")

    with SERVERS["openai"](policy, rejects=rejects, style=style) as server:
        b = OpenAIBackend(model, api_key="test-key", base_url=server.url + "/v1", max_tokens=77)
        loop = AgentLoop(b, tools())
        list(loop.run("mix red and blue"))
    assert loop.final_text == "done"
    names = [
        next(p for p in ("max_completion_tokens", "max_tokens") if p in r) for r in server.requests
    ]
    assert names == sent
    assert all(r[n] == 77 for r, n in zip(server.requests, names))


def test_a_400_about_something_else_is_not_retried():
    with SERVERS["openai"](lambda r, b: Turn("hi"), rejects="tools", style="openai") as server:
        b = OpenAIBackend("gpt-4.1", api_key="test-key", base_url=server.url + "/v1", max_retries=0)
        loop = AgentLoop(b, tools())
        list(loop.run("hi"))
    assert len(server.requests) == 1 and "HTTP 400" in loop.error
