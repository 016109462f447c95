"""Whole agent runs: the offline planner's refinement rounds, LLM backends driving the real tools,
the history they leave, and the `genlab agent` / `genlab history` commands."""

import json

import pytest
from llm_servers import SERVERS, Turn, base_url_for
from test_agent_tools import WorldPainter, WorldVideoPainter, painter_checkpoint

from genlab.agent import AgentSession, run_agent
from genlab.cli import main
from genlab.errors import InvalidArgument
from genlab.paths import DEFAULT_IMAGE_MODEL

REQUEST = "a crimson ball to the left of a cobalt box"
# Runs that check rounds leave the wall clock out (no time budget): on a loaded machine the
# default 14 s budget would end them early (test_agent_compose.py tests the time budget).
UNTIMED = {"time_budget": None}


def test_a_right_first_candidate_stops_after_one_round(store):
    out = run_agent(REQUEST, pipeline=WorldPainter(), store=store, max_rounds=3)
    assert out.status == "done" and out.satisfied and out.score == 1.0
    assert out.rounds == 1 and "every requested attribute is satisfied" in out.stop_reason
    assert out.best_image_id in out.image_ids and out.best_path.endswith(".png")


def test_wrong_candidates_are_revised_until_every_attribute_holds(store):
    painter = WorldPainter(wrong_seeds={0, 1, 2, 3})  # all of round 1 is wrong
    session = AgentSession(
        REQUEST, pipeline=painter, store=store, max_rounds=3, num_candidates=4, compose=False
    )
    steps = list(session.run())
    out = session.outcome
    assert out.satisfied and out.rounds == 2
    best = store.get_image(out.best_image_id)
    assert best.seed >= 4, "the winner comes from the revised round"
    round_two = [c for c in painter.calls if c["seed"] >= 4]
    assert all(c["negative_prompt"] for c in round_two), "wrong colors become negative prompts"
    texts = [s["text"] for s in steps if s["type"] == "assistant"]
    assert any("Still wrong" in t and "red circle" in t for t in texts), (
        "the critique is written down"
    )


def test_never_satisfied_request_returns_the_best_of_all_rounds_with_reasons(store):
    painter = WorldPainter(wrong_seeds=set(range(100)), wrong_edits=True)
    out = run_agent(
        REQUEST, pipeline=painter, store=store, max_rounds=2, num_candidates=2, **UNTIMED
    )
    assert out.rounds == 2 and not out.satisfied and out.status == "done"
    assert out.problems and out.stop_reason.startswith("2 rounds done")
    scores = [
        store.get_image(i).score for i in out.image_ids if store.get_image(i).score is not None
    ]
    assert out.score == max(scores)


def test_many_rounds_fit_in_the_default_turn_budget(store):
    painter = WorldPainter(wrong_seeds=set(range(100)), wrong_edits=True)
    out = run_agent(
        REQUEST,
        pipeline=painter,
        store=store,
        max_rounds=10,
        num_candidates=1,
        compose=False,
        **UNTIMED,
    )
    assert out.rounds == 10 and out.stop_reason.startswith("10 rounds done")


def test_repair_edit_turns_a_wrong_object_into_the_missing_one(store):
    painter = WorldPainter(wrong_seeds=set(range(100)))  # generation never gets it right
    out = run_agent(
        REQUEST, pipeline=painter, store=store, max_rounds=2, num_candidates=2, compose=False
    )
    run = store.get_run(out.run_id)
    edits = [s for s in run.steps if s["type"] == "tool_call" and s["name"] == "edit_image"]
    assert edits and "red circle" in edits[0]["arguments"]["instruction"]
    edited = [im for im in run.images if im.parent_id]
    assert edited and max(im.score for im in edited) == 1.0
    assert out.satisfied and store.get_image(out.best_image_id).parent_id is not None


def test_run_is_recorded_with_transcript_images_scores_and_models(store):
    out = run_agent(REQUEST, pipeline=WorldPainter(), store=store, max_rounds=1, num_candidates=2)
    run = store.get_run(out.run_id)
    assert run.request == REQUEST and run.kind == "agent" and run.backend == "offline"
    assert run.status == "done" and run.score == 1.0 and run.stop_reason == out.stop_reason
    assert [s["type"] for s in run.steps][:2] == ["user", "assistant"]
    assert run.steps[-1]["type"] == "final"
    assert len(run.images) == 2 and all(im.model == DEFAULT_IMAGE_MODEL for im in run.images)
    assert all(im.score is not None for im in run.images)
    assert run.result["best_image_id"] == out.best_image_id


def test_a_run_left_early_keeps_its_steps_and_is_marked_stopped(store):
    session = AgentSession(REQUEST, pipeline=WorldPainter(), store=store)
    steps = session.run()
    for _ in range(4):
        next(steps)
    steps.close()  # the consumer (a CLI interrupted, a web client gone) stops listening
    run = store.get_run(session.run_id)
    assert run.status == "stopped" and len(run.steps) == 4
    assert session.outcome.stop_reason == "interrupted"


def test_gibberish_request_fails_clearly_and_is_still_recorded(store):
    out = run_agent("qwzx blorp", pipeline=WorldPainter(), store=store)
    assert out.status == "failed" and out.stop_reason == "nothing drawable"
    assert "nothing drawable" in out.final_text and "circle" in out.final_text
    assert store.get_run(out.run_id).status == "failed"


def test_partly_drawable_request_draws_the_rest_and_says_what_was_dropped(store):
    out = run_agent("a red circle wearing a tiny hat", pipeline=WorldPainter(), store=store)
    assert out.satisfied and "hat" in out.final_text


def test_motion_request_draws_videos_when_a_video_model_is_there(store):
    out = run_agent(
        "a crimson ball sliding right", pipeline=WorldPainter(), video_pipeline=WorldVideoPainter(),
        store=store, num_candidates=2,
    )  # fmt: skip
    assert out.satisfied and store.get_image(out.best_image_id).kind == "video"


def test_a_video_failing_the_strict_check_is_drawn_again(store):
    """The first round's videos lose their object at the end: the strict video judge rejects
    them and the agent draws more until one passes."""
    out = run_agent(
        "a crimson ball sliding right", pipeline=WorldPainter(),
        video_pipeline=WorldVideoPainter(vanishing=2), store=store, num_candidates=2,
    )  # fmt: skip
    assert out.satisfied and store.get_image(out.best_image_id).kind == "video"
    steps = store.get_run(out.run_id).steps
    verdicts = [s["content"]["satisfied"] for s in steps
                if s["type"] == "tool_result" and s["name"] == "analyze_image"]  # fmt: skip
    assert verdicts[:2] == [False, False] and verdicts[-1] is True


@pytest.mark.usefixtures("no_bundled_models")
def test_motion_request_without_video_model_falls_back_to_still_images(store):
    out = run_agent("a crimson ball sliding right", pipeline=WorldPainter(), store=store)
    assert out.satisfied and store.get_image(out.best_image_id).kind == "image"
    assert "video is not available" in out.final_text
    run = store.get_run(out.run_id)
    errors = [s for s in run.steps if s["type"] == "tool_result" and s["is_error"]]
    assert errors and all(e["name"] == "generate_video" for e in errors)


def test_general_model_gets_the_words_as_written_and_one_round(store):
    from hosted_servers import KEY, OpenAIImagesServer

    from genlab.pipelines.hosted import OpenAIImages

    with OpenAIImagesServer() as server:
        pipe = OpenAIImages("dall-e-2", api_key=KEY, base_url=server.url + "/v1")
        out = run_agent("a cat astronaut", pipeline=pipe, store=store, num_candidates=2)
    assert out.status == "done" and len(out.image_ids) == 2 and out.score is None
    assert "general model" in out.stop_reason
    assert store.get_image(out.best_image_id).prompt == "a cat astronaut"


def test_bad_options_are_invalid_arguments(store):
    with pytest.raises(InvalidArgument, match="backend"):
        AgentSession(REQUEST, backend="gpt", store=store)
    with pytest.raises(InvalidArgument, match="max_rounds"):
        AgentSession(REQUEST, max_rounds=0, store=store)


def llm_policy(results, body):
    """A scripted 'LLM' that uses the real tools in order and reads their results."""
    done = [r.name for r in results]
    if not done:
        return Turn("Refining.", [("refine_prompt", {"description": REQUEST})])
    last = results[-1]
    if last.name == "refine_prompt":
        return Turn("", [("generate_image", {"prompt": last.content["prompt"], "n": 2})])
    if last.name == "generate_image":
        return Turn("", [("analyze_image", {"image_id": i}) for i in last.content["image_ids"]])
    best = max((r.content for r in results if r.name == "analyze_image"), key=lambda c: c["score"])
    return Turn(f"Best is {best['image_id']} with score {best['score']}.")


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_llm_backend_drives_the_real_tools(kind, store):
    with SERVERS[kind](llm_policy) as server:
        session = AgentSession(
            REQUEST, backend=kind, llm_model="test-model", api_key="test-key",
            base_url=base_url_for(kind, server), pipeline=WorldPainter(wrong_seeds={0}),
            store=store,
        )  # fmt: skip
        list(session.run())
    out = session.outcome
    assert out.satisfied and out.best_image_id in out.final_text
    assert store.get_image(out.best_image_id).seed == 1
    run = store.get_run(out.run_id)
    assert run.backend == kind and run.params["llm_model"] == "test-model"
    assert "every requested attribute is satisfied" in run.stop_reason


def test_unreachable_llm_ends_the_run_with_the_url_and_keeps_it(store):
    session = AgentSession(
        REQUEST, backend="openai", api_key="k", base_url="http://127.0.0.1:9/v1",
        pipeline=WorldPainter(), store=store,
    )  # fmt: skip
    session.backend.client = session.backend.client.with_options(max_retries=0)
    list(session.run())
    assert session.outcome.status == "failed"
    assert "http://127.0.0.1:9/v1" in store.get_run(session.outcome.run_id).error


# --------------------------------------------------------------------------- command line


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    return tmp_path


def test_cli_prints_steps_then_image_score_and_reason(home, capsys):
    ckpt = painter_checkpoint(home / "painter.safetensors", wrong_seeds=[0])
    rc = main(["agent", REQUEST, "--image-model", str(ckpt), "--candidates", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "-> refine_prompt" in out and "-> analyze_image" in out
    lines = out.strip().splitlines()
    assert lines[-4].startswith("image: ") and lines[-4].endswith(".png")
    assert lines[-3] == "score: 1.00 (all requested attributes satisfied)"
    assert lines[-2].startswith("stopped: every requested attribute is satisfied")
    assert main(["history"]) == 0
    listing = capsys.readouterr().out
    assert REQUEST in listing and "agent" in listing and "1.00" in listing


def test_cli_json_prints_the_transcript(home, capsys):
    ckpt = painter_checkpoint(home / "painter.safetensors")
    assert main(["agent", REQUEST, "--image-model", str(ckpt), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"]["satisfied"] is True
    assert [s["type"] for s in data["steps"]][0] == "user"
    assert main(["history", "show", data["outcome"]["run_id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["steps"]) == len(data["steps"])


def test_cli_exits_2_when_nothing_can_be_drawn(home, capsys):
    ckpt = painter_checkpoint(home / "painter.safetensors")
    assert main(["agent", "blorp fnord", "--image-model", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error: nothing was drawn") and "shapes circle" in err
    assert main(["history", "--query", "blorp"]) == 0
    assert "failed" in capsys.readouterr().out


def test_cli_unknown_run_and_missing_key_are_one_line_errors(home, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["history", "show", "nope"]) == 2
    assert main(["agent", REQUEST, "--backend", "anthropic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no run with id 'nope'" in err[0] and "ANTHROPIC_API_KEY" in err[1]
