"""Prompts as people write them, through every face: the grammar reads them, writes the plan and
the canonical caption the denoiser sees; what the world lacks is warned about on the CLI, in REST
results and in the OpenAI endpoint's answer; prompts nothing can be drawn from are refused with
exit 2 / 422 and nothing written."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from test_layout import make_two_stage_checkpoint

import genlab
from genlab.errors import InvalidArgument
from genlab.world.grammar import parse_prompt, realize
from genlab.world.layout import scene_layout

BAD_PROMPTS = [("", "prompt"), ("a cozy cabin in the snow", "no word of it is known"),
               ("circle " * 10_000, "at most")]  # fmt: skip


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(make_two_stage_checkpoint(tmp_path_factory.mktemp("m") / "two.safetensors"))


def test_the_grammar_writes_the_plan_and_the_text_the_model_reads(model):
    pipe = genlab.load(model, device="cpu")
    prompt = "please make a pair of crimson discs to the left of a navy blue box!"
    result = pipe(prompt, seed=11, num_inference_steps=2, num_images=2)
    request = parse_prompt(prompt).request
    for i, meta in enumerate(result.metadata):
        assert meta["prompt"] == prompt and meta["layout_source"] == "grammar"
        assert meta["read_as"] == "two red circles left of a blue square"
        want = scene_layout(realize(request, np.random.default_rng(11 + i), aligned=True))
        assert meta["layout_cells"] == want.tolist() and "warnings" not in meta
    planner = pipe(prompt, seed=11, num_inference_steps=2, layout_source="planner")
    assert planner.metadata[0]["layout_source"] == "planner"
    assert planner.metadata[0]["layout_cells"] == pipe.plan_layouts([prompt], 11)[0].tolist()
    warned = pipe("a white square", seed=1, num_inference_steps=2).metadata[0]
    assert warned["warnings"] == [
        "white is not a color of this world; it knows red, orange, yellow, green, cyan, blue, "
        "purple, pink"
    ]
    for prompt, why in BAD_PROMPTS:
        with pytest.raises(InvalidArgument, match=why):
            pipe(prompt, num_inference_steps=2)
    with pytest.raises(InvalidArgument, match="layout_source"):
        pipe("a red circle", layout_source="oracle")


def test_cli_warns_and_refuses_with_exit_2_writing_nothing(model, tmp_path, capsys):
    from genlab.cli import main

    base = ["generate", "--model", model, "--steps", "2", "--seed", "3", "--device", "cpu"]
    assert main([*base, "a red hexagon", "--out", str(tmp_path / "a.png")]) == 0
    err = capsys.readouterr().err
    assert "genlab: warning: hexagon is not a shape of this world; it knows circle" in err
    for prompt, why in BAD_PROMPTS:
        out = tmp_path / "bad.png"
        assert main([*base, prompt, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("genlab: error:") and why in err and "Traceback" not in err
        assert not out.exists()


def test_rest_and_openai_endpoint_read_warn_and_refuse_the_same_way(model, tmp_path):
    from genlab.serve.launch import LocalServer

    with (
        LocalServer(tmp_path / "home", models={"two": model}) as srv,
        httpx.Client(base_url=srv.url, timeout=60) as client,
    ):
        job = client.post(
            "/api/generate",
            json={"prompt": "show me 2 emerald triangles beside a white star", "seed": 4,
                  "num_inference_steps": 2, "model": "two"},
        )  # fmt: skip
        assert job.status_code == 202, job.text
        for _ in range(600):
            view = client.get(f"/api/jobs/{job.json()['job_id']}").json()
            if view["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        params = view["results"][0]["params"]
        assert params["read_as"] == "two green triangles next to a star"
        assert params["layout_source"] == "grammar"
        assert any(w.startswith("white is not a color") for w in params["warnings"])
        for prompt, why in BAD_PROMPTS:
            bad = client.post("/api/generate", json={"prompt": prompt, "model": "two"})
            assert bad.status_code == 422 and why in bad.text, bad.text
            bad = client.post("/v1/images/generations", json={"prompt": prompt, "model": "two"})
            assert bad.status_code in (400, 422) and why in bad.text, bad.text
        listed = client.get("/api/history").json()
        assert listed["total"] == 1, listed  # the refused prompts left nothing behind

        from openai import OpenAI

        openai = OpenAI(base_url=srv.url + "/v1", api_key="unused")
        answer = openai.images.generate(model="two", prompt="I want a sky blue disk", n=1)
        assert answer.data[0].revised_prompt == "a cyan circle"
