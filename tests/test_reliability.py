"""Bad input over every entry point gets the same clear refusal: the CLI exits 2 with one line (no
traceback, no file left, no work done first), the REST API and the OpenAI endpoint answer 422
naming the field. Bounds are shared: guidance 0..50, seeds 0..2**31-1, no blank prompt."""

from __future__ import annotations

import time

import httpx
import pytest
from PIL import Image

from genlab.cli import main as cli_main
from genlab.pipelines.base import MAX_GUIDANCE, MAX_SEED


def one_line_exit_2(capsys, argv, *words):
    started = time.monotonic()
    code = cli_main(argv)
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    for word in words:
        assert word in lines[0], lines[0]
    return seconds


@pytest.fixture(scope="module")
def model(tiny_models):
    return str(tiny_models["t2i"])


@pytest.mark.parametrize("prompt", ["", "   "])
def test_blank_prompts_are_refused_by_every_command(tmp_path, capsys, model, prompt):
    out = tmp_path / "out.gif"
    one_line_exit_2(capsys, ["video", prompt, "--out", str(out)], "prompt")
    one_line_exit_2(capsys, ["generate", prompt, "--model", model, "--out", str(tmp_path)])
    one_line_exit_2(capsys, ["agent", prompt, "--image-model", model], "request")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (["train", "--recipe", "toy-regression", "--steps", "1"], "--out"),
        (["data", "prepare", "SOURCE"], "--out"),
        (["eval", "world-t2i", "--n", "4"], "--out"),
    ],
)
def test_an_out_that_is_an_existing_file_is_refused_before_any_work(
    tmp_path, capsys, command, flag
):
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    argv = [str(tmp_path) if a == "SOURCE" else a for a in command]
    seconds = one_line_exit_2(capsys, [*argv, flag, str(existing)], "--out", "existing file")
    assert existing.read_text() == "keep me"
    assert seconds < 2.0, f"refused only after {seconds:.1f} s of work"


@pytest.mark.parametrize("command", ["generate", "video", "edit"])
def test_a_device_this_machine_lacks_is_one_line(tmp_path, capsys, model, command):
    argv = [command, "a red circle", "--device", "cuda:99", "--out", str(tmp_path / "x.gif")]
    if command == "generate":
        argv[-1] = str(tmp_path)
        argv += ["--model", model]
    if command == "edit":
        source = tmp_path / "source.png"
        Image.new("RGB", (32, 32)).save(source)
        argv = ["edit", str(source), "--prompt", "a red circle", "--strength", "0.5"]
        argv += ["--model", model, "--device", "cuda:99", "--out", str(tmp_path / "out")]
    one_line_exit_2(capsys, argv, "--device")
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def server(tiny_server):
    return tiny_server


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/api/generate", {"prompt": "  "}, "prompt"),
        ("/api/generate", {"prompt": "a", "guidance_scale": 1e308}, "guidance_scale"),
        ("/api/generate", {"prompt": "a", "guidance_scale": MAX_GUIDANCE + 1}, "guidance_scale"),
        ("/api/generate", {"prompt": "a", "seed": 2**63}, "seed"),
        ("/api/generate", {"prompt": "a", "seed": MAX_SEED + 1}, "seed"),
        ("/api/edit", {"image_id": "x", "prompt": " ", "strength": 0.5}, "prompt"),
        ("/api/agent", {"request": "\t "}, "request"),
        ("/api/agent", {"request": "a", "options": {"guidance": 1e308}}, "options.guidance"),
        ("/api/agent", {"request": "a", "options": {"seed": 2**40}}, "options.seed"),
        ("/v1/images/generations", {"prompt": " "}, "prompt"),
    ],
)
def test_the_api_refuses_what_the_cli_refuses_with_422_naming_the_field(server, route, body, field):
    r = httpx.post(server.url + route, json=body, timeout=30)
    # OpenAI's API answers a bad request with 400 (invalid_request_error), genlab's own with 422
    assert r.status_code == (400 if route.startswith("/v1/") else 422), r.text
    data = r.json()
    if route.startswith("/v1/"):
        assert data["error"]["param"] == field
    else:
        assert data["detail"][0]["loc"][-1] == field, data
