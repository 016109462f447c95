"""The default text-to-image model is the distilled few-step one (issue #32): every face draws it
at its own sampler and steps when none are given, and a negative prompt, which it cannot act on
at its folded guidance, is said to have no effect (metadata, CLI warning, REST job, abilities)
instead of being dropped silently."""

from __future__ import annotations

import base64
import time
import warnings

import httpx
import pytest

import genlab
from genlab.cli import main
from genlab.io import read_params, save_checkpoint
from genlab.paths import DEFAULT_IMAGE_MODEL, FAST_IMAGE_MODEL, GUIDED_IMAGE_MODEL
from genlab.pipelines.registry import bundled_models
from genlab.pipelines.request import GenerationRequest, ModelAbilities
from genlab.pipelines.text2image import NegativePromptIgnored
from genlab.serve.launch import LocalServer
from genlab.train.distill import distilled_pipeline


@pytest.fixture(scope="module")
def tiny_turbo(tmp_path_factory, tiny_models):
    """A tiny untrained teacher and its 'distilled' copy (the same network, a distilled model's
    config: lcm, 4 steps, guidance 3 folded in), saved as checkpoints."""
    folder = tmp_path_factory.mktemp("turbo")
    teacher = genlab.load(str(tiny_models["t2i"]), device="cpu")
    student = distilled_pipeline(
        teacher, teacher.denoiser, name="tiny-turbo", teacher_name="tiny",
        guidance_scale=3.0, num_inference_steps=4, method="none (a test)",
    )  # fmt: skip
    return save_checkpoint(folder / "tiny-turbo.safetensors", *student.checkpoint())


def test_the_default_is_the_distilled_model_and_its_teacher_is_bundled_beside_it():
    assert DEFAULT_IMAGE_MODEL == FAST_IMAGE_MODEL
    assert {DEFAULT_IMAGE_MODEL, GUIDED_IMAGE_MODEL} <= set(bundled_models())
    pipe = genlab.load(DEFAULT_IMAGE_MODEL, device="cpu")
    assert (pipe.default_sampler, pipe.default_num_inference_steps) == ("lcm", 4)
    assert pipe.default_guidance_scale == 1.0 and pipe.folded_guidance == 3.0
    assert pipe.describe()["folded_guidance"] == 3.0
    assert genlab.load(GUIDED_IMAGE_MODEL, device="cpu").folded_guidance is None


def test_genlab_generate_without_a_model_draws_the_default_at_its_own_steps(tmp_path, capsys):
    out = tmp_path / "a.png"
    code = main(["generate", "a red circle above a blue square", "--seed", "3", "--out", str(out),
                 "--no-history", "--no-progress"])  # fmt: skip
    assert code == 0
    params = read_params(out)
    assert params["model"] == DEFAULT_IMAGE_MODEL
    assert (params["sampler"], params["num_inference_steps"], params["guidance_scale"]) == (
        "lcm", 4, 1.0,
    )  # fmt: skip
    assert "negative prompt" not in capsys.readouterr().err


def test_a_negative_prompt_at_folded_guidance_is_said_to_have_no_effect(tmp_path, capsys):
    out = tmp_path / "n.png"
    code = main(["generate", "a red circle", "--negative", "blue", "--seed", "1", "--out",
                 str(out), "--no-history", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and out.exists()
    said = [line for line in err if "negative prompt has no effect" in line]
    assert len(said) == 1 and said[0].startswith("genlab: warning:") and "guidance" in said[0]
    assert any("negative prompt has no effect" in w for w in read_params(out)["warnings"])


def test_the_pipeline_warns_and_records_it_and_guidance_above_one_applies_it(tiny_turbo):
    pipe = genlab.load(str(tiny_turbo), device="cpu")
    with pytest.warns(NegativePromptIgnored, match="no effect"):
        ignored = pipe("a red circle", negative_prompt="blue", seed=2)
    assert any("no effect" in w for w in ignored.metadata[0]["warnings"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NegativePromptIgnored)
        guided = pipe("a red circle", negative_prompt="blue", seed=2, guidance_scale=2.0)
        plain = pipe("a red circle", seed=2)
    assert "warnings" not in guided.metadata[0] and "warnings" not in plain.metadata[0]


def test_check_model_reports_the_ignored_negative_prompt_as_a_note():
    distilled = ModelAbilities("turbo", "text2image", True, None, folded_guidance=3.0)
    guided = ModelAbilities("layout", "text2image", True)
    (note,) = GenerationRequest("a red circle", negative_prompt="blue").check_model(distilled)
    assert "no effect" in note and "'turbo'" in note and "guidance_scale above 1" in note
    assert GenerationRequest("a red circle", negative_prompt="blue").check_model(guided) == []
    request = GenerationRequest("a red circle", negative_prompt="blue", guidance_scale=2.5)
    assert request.check_model(distilled) == []
    assert GenerationRequest("a red circle").check_model(distilled) == []


@pytest.mark.slow  # a server to start
def test_rest_and_openai_draw_a_distilled_default_at_its_own_steps_and_say_so(
    tmp_path, tiny_models, tiny_turbo
):
    models = {"tiny-turbo": str(tiny_turbo), "tiny": str(tiny_models["t2i"])}
    args = ["--default-model", "tiny-turbo"]
    with LocalServer(tmp_path / "home", models, args, startup_timeout=180) as server:
        http = httpx.Client(base_url=server.url, timeout=60)
        listed = {m["name"]: m for m in http.get("/api/models").json()["models"]}
        assert listed["tiny-turbo"]["default_steps"] == 4 and listed["tiny-turbo"]["distilled"]

        def run(body):
            r = http.post("/api/generate", json=body)
            assert r.status_code == 202, r.text
            job_id = r.json()["job_id"]
            for _ in range(600):
                job = http.get(f"/api/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    return job
                time.sleep(0.1)
            raise AssertionError("job did not finish")

        job = run({"prompt": "a red circle", "negative_prompt": "blue", "seed": 5})
        assert job["status"] == "done", job
        params = job["results"][0]["params"]
        assert (params["model"], params["num_inference_steps"], params["sampler"]) == (
            "tiny-turbo", 4, "lcm",
        )  # fmt: skip
        assert any("negative prompt has no effect" in w for w in job["warnings"])
        assert any("negative prompt has no effect" in w for w in params["warnings"])
        guided = run({"prompt": "a red circle", "model": "tiny", "negative_prompt": "blue"})
        assert guided["results"][0]["params"]["num_inference_steps"] == 20
        assert not any("no effect" in w for w in guided["warnings"])

        r = http.post("/v1/images/generations", json={"prompt": "a red circle",
                                                      "response_format": "b64_json"})  # fmt: skip
        assert r.status_code == 200, r.text
        png = tmp_path / "openai.png"
        png.write_bytes(base64.b64decode(r.json()["data"][0]["b64_json"]))
        assert (read_params(png)["num_inference_steps"], read_params(png)["model"]) == (
            4, "tiny-turbo",
        )  # fmt: skip
