"""One generation request, checked in one place (genlab.pipelines.request): each bad field names
the argument and what was expected, the same way from Python, the command line (exit 2, the
flag's name) and REST (422, the field's name), because every face builds the same request."""

import threading
import time

import httpx
import pytest
import uvicorn

from genlab.cli import main
from genlab.errors import InvalidArgument, check_int
from genlab.pipelines.request import (
    JSON,
    MAX_GUIDANCE,
    MAX_SEED,
    PARAMS,
    GenerationRequest,
    ModelAbilities,
)

# field -> (a bad value, what the error says was expected)
BAD_FIELDS = {
    "num_inference_steps": (0, "an integer ≥ 1"),
    "guidance_scale": (MAX_GUIDANCE + 1, f"a number in 0..{MAX_GUIDANCE:g}"),
    "seed": (MAX_SEED + 1, f"an integer in 0..{MAX_SEED}"),
    "num_images": (True, "an integer ≥ 1"),
    "num_frames": (0, "an integer ≥ 1"),
    "height": (2.5, "an integer ≥ 1"),
    "width": (-3, "an integer ≥ 1"),
    "keyframe_candidates": (0, "an integer ≥ 1"),
    "layout_temperature": (0, "a number in (0, 10]"),
    "strength": (float("nan"), "a number in (0, 1]"),
}


@pytest.mark.parametrize(("field_name", "bad"), BAD_FIELDS.items())
def test_each_bad_field_names_the_argument_and_what_was_expected(field_name, bad):
    value, expected = bad
    with pytest.raises(InvalidArgument) as caught:
        GenerationRequest("a red circle", **{field_name: value})
    assert caught.value.name == field_name
    assert str(caught.value).startswith(f"{field_name}: expected {expected}, got ")


def test_every_numeric_argument_has_one_bad_value_here():
    assert set(BAD_FIELDS) == set(PARAMS)


@pytest.mark.parametrize(
    ("fields", "name", "says"),
    [
        ({"prompt": "   "}, "prompt", "a non-empty prompt"),
        ({"prompt": []}, "prompt", "a prompt or a non-empty list"),
        ({"prompt": ["a star", ""]}, "prompt", "a non-empty prompt"),
        ({"negative_prompt": 3}, "negative_prompt", "a string or None"),
        ({"plan_layout": "yes"}, "plan_layout", "True, False or None"),
        ({"keyframe_candidates": 3}, "keyframe_candidates", "1 unless keyframe_model is given"),
    ],
)
def test_prompts_and_the_other_fields_are_checked_when_built(fields, name, says):
    with pytest.raises(InvalidArgument, match=f"^{name}: expected {says}"):
        GenerationRequest(**{"prompt": "a red circle", **fields})


def test_a_valid_request_keeps_its_values_and_gives_only_those_set():
    request = GenerationRequest(["a star", "a ring"], num_inference_steps=4, seed=0)
    assert request.given() == {
        "prompt": ["a star", "a ring"],
        "num_inference_steps": 4,
        "seed": 0,
        "num_images": 1,
    }


def test_a_face_names_the_fields_its_own_way_and_caps_them_with_its_limits():
    from genlab.cli.generate import CLI

    with pytest.raises(InvalidArgument, match=r"^--steps: expected an integer ≥ 1, got 0$"):
        GenerationRequest("a star", num_inference_steps=0, face=CLI)
    with pytest.raises(InvalidArgument, match=r"^num_images: expected at most 8 per request"):
        GenerationRequest("a star", num_images=9, face=JSON, limits={"num_images": 8})
    with pytest.raises(
        InvalidArgument, match="^--keyframe-candidates: expected 1 unless --keyframe"
    ):
        GenerationRequest("a star", keyframe_candidates=2, face=CLI)


@pytest.mark.parametrize(
    ("fields", "model", "name", "says"),
    [
        ({"sampler": "plms"}, ModelAbilities("m", "text2image", samplers=("ddim",)), "sampler",
         "one of ddim"),
        ({"num_frames": 8}, ModelAbilities("m", "text2image"), "num_frames", "null: this model makes images"),
        ({"plan_layout": True}, ModelAbilities("m", "text2image"), "plan_layout",
         "null or false: model 'm' has no layout planner"),
        ({"plan_layout": False}, ModelAbilities("m", "text2video"), "plan_layout",
         "null: model 'm' draws without a layout plan"),
        ({"layout_temperature": 0.5, "plan_layout": False}, ModelAbilities("m", "text2image", True),
         "layout_temperature", "null when plan_layout is false"),
        ({"layout_temperature": 0.5}, ModelAbilities("m", "text2image"), "layout_temperature",
         "null: model 'm' has no layout planner"),
    ],
)  # fmt: skip
def test_what_a_model_cannot_honour_is_refused_before_any_work(fields, model, name, says):
    request = GenerationRequest("a red circle", **fields)
    with pytest.raises(InvalidArgument, match=f"^{name}: expected {says}"):
        request.check_model(model, JSON)


def test_a_general_model_decides_for_itself():
    request = GenerationRequest("a cat", plan_layout=True, sampler="anything", num_frames=4)
    request.check_model(ModelAbilities("sdxl"))  # kind unknown: nothing refused here


def test_param_bounds_are_the_rest_schemas_and_the_command_lines():
    steps = PARAMS["num_inference_steps"]
    assert steps.bounds(200) == {"ge": 1, "le": 200}
    assert PARAMS["layout_temperature"].bounds() == {"gt": 0, "le": 10, "allow_inf_nan": False}
    assert steps.parse("--steps", "12") == 12 and steps.parse("--steps", None) is None
    with pytest.raises(InvalidArgument, match="^--steps: expected an integer, got '1.5'$"):
        steps.parse("--steps", "1.5")
    with pytest.raises(
        InvalidArgument, match=r"^--guidance: expected a number in 0..50, got 'inf'"
    ):
        PARAMS["guidance_scale"].parse("--guidance", "inf")


def test_check_int_refuses_bools_floats_and_out_of_range_values():
    assert check_int("n", 3, 1, 5) == 3
    for bad, expected in ((True, "an integer"), (2.0, "an integer ≥ 1"), (9, "an integer ≤ 5")):
        low = 1 if expected.endswith("≥ 1") else None
        high = 5 if expected.endswith("≤ 5") else None
        with pytest.raises(InvalidArgument, match=f"^n: expected {expected}, got "):
            check_int("n", bad, low, high)


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "a star", "--n", "65"], "--n: expected at most 64 per command, got 65"),
        (["generate", "a star", "--height", "0"], "--height: expected an integer ≥ 1, got 0"),
        (["generate", "   "], "prompt: expected a non-empty prompt"),
        (["edit", "x.png", "--prompt", "a star", "--strength", "2"],
         "--strength: expected a number in (0, 1], got '2'"),
        (["video", "a star", "--keyframe-candidates", "2"],
         "--keyframe-candidates: expected 1 unless --keyframe is given, got 2"),
    ],
)  # fmt: skip
def test_the_command_line_exits_2_naming_the_flag(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "o.png"), "--no-history"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"genlab: error: {message}") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


# --------------------------------------------------------------------------- REST


@pytest.fixture(scope="module")
def server_url(tmp_path_factory, tiny_models):
    """A real server on 127.0.0.1 (uvicorn in a thread of this process: no second start-up)."""
    from genlab.serve.app import ServeConfig, create_app

    home = tmp_path_factory.mktemp("request-home")
    app = create_app(
        ServeConfig(
            models={"tiny": str(tiny_models["t2i"])},
            include_bundled=False,
            history_path=home / "history.sqlite",
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.parametrize(
    ("body", "field_name", "says"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps", "greater than or equal to 1"),
        ({"num_inference_steps": 201}, "num_inference_steps", "less than or equal to 200"),
        ({"guidance_scale": 51}, "guidance_scale", "less than or equal to 50"),
        ({"num_images": 9}, "num_images", "less than or equal to 8"),
        ({"layout_temperature": 0}, "layout_temperature", "greater than 0"),
        ({"prompt": "  "}, "prompt", "a non-empty prompt"),
        ({"keyframe_candidates": 2}, "keyframe_candidates", "1 unless keyframe_model is given"),
        ({"num_frames": 8}, "num_frames", "null: this model makes images"),
        ({"sampler": "plms"}, "sampler", "one of ddim"),
        ({"plan_layout": True}, "plan_layout", "has no layout planner"),
    ],
)
def test_rest_answers_422_naming_the_field(server_url, body, field_name, says):
    r = httpx.post(f"{server_url}/api/generate", json={"prompt": "a red circle", **body})
    assert r.status_code == 422, r.text
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", field_name] and says in detail["msg"], detail


def test_the_openai_endpoint_answers_400_in_its_own_shape(server_url):
    r = httpx.post(f"{server_url}/v1/images/generations", json={"prompt": "a circle", "n": 9})
    assert r.status_code == 400 and r.json()["error"]["param"] == "n", r.text
