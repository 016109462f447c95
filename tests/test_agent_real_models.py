"""The agent on a general (hosted) image model: the LLM backend plans, writes the prompt and
critiques the image with vision, since the scene parser only reads the built-in world. Both the
LLM and the image API are local servers on 127.0.0.1 speaking the real protocols."""

import json

import pytest
from hosted_servers import KEY, OpenAIImagesServer
from llm_servers import SERVERS, Turn, base_url_for

from genlab.agent.session import AgentSession
from genlab.errors import GenlabError
from genlab.history import HistoryStore

CRITIQUE = {
    "description": "a red bicycle on a white street",
    "score": 0.9,
    "problems": ["the street is white, not grey"],
    "satisfied": False,
}


def has_image(body) -> bool:
    """Whether a request carries an image (Anthropic image block or OpenAI image_url part)."""
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, list) and any(
            p.get("type") in ("image", "image_url") for p in content
        ):
            return True
    return False


def system_text(body) -> str:
    if "system" in body:
        return body["system"] if isinstance(body["system"], str) else json.dumps(body["system"])
    return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")


def policy(results, body):
    if "tools" not in body:  # a plain ask(): the prompt writer or the vision critic
        if "check generated images" in system_text(body):
            assert has_image(body), "the critic must be shown the image"
            return Turn("Here is my verdict: " + json.dumps(CRITIQUE))
        return Turn('"a red bicycle on a grey cobbled street, morning light, photo"')
    if not results:
        return Turn("", [("refine_prompt", {"description": "a red bicycle"})])
    last = results[-1]
    if last.name == "refine_prompt":
        return Turn("", [("generate_image", {"prompt": last.content["prompt"]})])
    if last.name == "generate_image":
        return Turn("", [("analyze_image", {"image_id": last.content["image_ids"][0]})])
    return Turn("Done: a red bicycle, the street could be greyer.")


@pytest.fixture
def image_model(tmp_path, monkeypatch):
    from genlab.agent import tools

    monkeypatch.setattr(tools, "_PIPELINES", {})  # pipelines are cached by name per process
    monkeypatch.setenv("GENLAB_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("FAKE_IMAGES_KEY", KEY)
    with OpenAIImagesServer() as server:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "models.toml").write_text(
            f'[models.hosted]\nbackend = "openai"\nmodel = "dall-e-2"\napi_key_env = "FAKE_IMAGES_KEY"\nbase_url = "{server.url}/v1"\n'
        )
        yield server


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_llm_writes_the_prompt_and_critiques_a_hosted_image_with_vision(
    kind, image_model, tmp_path
):
    store = HistoryStore(tmp_path / "history.sqlite")
    with SERVERS[kind](policy) as llm:
        session = AgentSession(
            "a red bicycle",
            backend=kind,
            model="hosted",
            llm_model="test-model",
            base_url=base_url_for(kind, llm),
            api_key="test-key",
            store=store,
            max_rounds=1,
        )
        steps = list(session.run())
    called = [s["name"] for s in steps if s["type"] == "tool_call"]
    assert (
        image_model.requests[0]["fields"]["prompt"]
        == "a red bicycle on a grey cobbled street, morning light, photo"
    )
    outcome = session.outcome
    assert outcome.best_image_id is not None and outcome.score == pytest.approx(0.9)
    record = store.get_image(outcome.best_image_id)
    assert record.model == "hosted", "history records which model made the image"
    assert KEY not in json.dumps([s for s in steps], default=str), "keys never reach the transcript"
    assert called == ["refine_prompt", "generate_image", "analyze_image"]
    errors = [s for s in steps if s["type"] == "tool_result" and s.get("is_error")]
    assert not errors, errors


def test_general_images_without_a_vision_backend_get_a_clear_error(image_model, tmp_path):
    from genlab.agent.tools import ToolContext, analyze_image, generate_image

    ctx = ToolContext(
        request="a red bicycle", model="hosted", store=HistoryStore(tmp_path / "h.sqlite")
    )
    made = generate_image(ctx, "a red bicycle")
    with pytest.raises(GenlabError, match="scene parser only reads the built-in world"):
        analyze_image(ctx, made["image_ids"][0])
