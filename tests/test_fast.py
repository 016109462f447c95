"""The fast model on every face: `genlab generate --fast`, the agent's fast candidates
(`AgentSession(fast=True)`, `genlab agent --fast`); over REST and in the playground:
tests/test_fast_serve.py."""

from genlab.agent.session import AgentSession
from genlab.cli import main
from genlab.history import HistoryStore
from genlab.io import read_params
from genlab.paths import FAST_IMAGE_MODEL, GUIDED_IMAGE_MODEL
from genlab.pipelines.registry import bundled_models


def test_generate_fast_draws_with_the_distilled_model_at_its_own_sampler_and_steps(tmp_path):
    out = tmp_path / "fast.png"
    code = main(
        ["generate", "a red circle above a blue square", "--fast", "--seed", "3",
         "--out", str(out), "--no-history", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    params = read_params(out)
    assert params["model"] == FAST_IMAGE_MODEL
    assert (params["sampler"], params["num_inference_steps"], params["guidance_scale"]) == (
        "lcm", 4, 1.0,
    )  # fmt: skip


def test_generate_fast_with_another_model_is_refused_in_one_line(tmp_path, capsys):
    code = main(
        ["generate", "a red circle", "--fast", "--model", GUIDED_IMAGE_MODEL,
         "--out", str(tmp_path / "x.png"), "--no-history"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--fast" in err[0] and FAST_IMAGE_MODEL in err[0]
    assert not (tmp_path / "x.png").exists()


def test_a_fast_agent_draws_its_candidates_with_the_fast_model(tmp_path):
    store = HistoryStore(tmp_path / "history.db", tmp_path / "images")
    session = AgentSession(
        "a red circle", backend="offline", store=store, max_rounds=1, num_candidates=2, fast=True
    )
    steps = list(session.run())
    drawn = [s for s in steps if s["type"] == "tool_call" and s["name"] == "generate_image"]
    assert drawn, [s["type"] for s in steps]
    images = [store.get_image(i) for i in session.outcome.image_ids]
    assert images and all(im.model == FAST_IMAGE_MODEL for im in images)
    assert all(im.params["num_inference_steps"] == 4 for im in images)
    assert store.get_run(session.run_id).params["fast_model"] == FAST_IMAGE_MODEL


def test_the_fast_model_is_bundled_with_its_card():
    path = bundled_models()[FAST_IMAGE_MODEL]
    assert path.with_suffix(".md").is_file()
