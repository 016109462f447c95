"""Progress bars on the commands a person waits on (`genlab video`, `agent`, `world sample`,
`generate --from-file`): shown on stderr (after 2 s; at once here), off with --no-progress or -q."""

from __future__ import annotations

import argparse

import pytest

import genlab.progress
from genlab.cli import build_parser, main


@pytest.fixture
def bars_at_once(monkeypatch):
    monkeypatch.setattr(genlab.progress, "DELAY_S", 0)  # bars show after 2 s: at once, here


def _err(capsys) -> str:
    return capsys.readouterr().err.replace("\r", "\n")


def test_the_waited_on_commands_take_no_progress():
    def sub(parser, name):
        (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return choices.choices[name]

    for path in (["video"], ["video-eval"], ["agent"], ["world", "sample"], ["generate"]):
        command = build_parser()
        for name in path:
            command = sub(command, name)
        assert "--no-progress" in {f for a in command._actions for f in a.option_strings}, path


def test_video_shows_its_denoising_steps_unless_told_not_to(tmp_path, capsys, bars_at_once):
    base = ["video", "a red circle moving left", "--frames", "2", "--steps", "2", "--seed", "1",
            "--no-history", "--device", "cpu", "--fps", "2"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a.gif")]) == 0
    assert "denoising: 100%" in _err(capsys)
    assert main([*base, "--out", str(tmp_path / "b.gif"), "--no-progress"]) == 0
    assert "denoising" not in _err(capsys)


def test_world_sample_shows_the_scenes_it_renders_unless_told_not_to(
    tmp_path, capsys, bars_at_once
):
    base = ["world", "sample", "--n", "3", "--seed", "2"]
    assert main([*base, "--out", str(tmp_path / "a.png")]) == 0
    assert "rendering: 100%" in _err(capsys)
    assert main([*base, "--out", str(tmp_path / "b.png"), "--no-progress"]) == 0
    assert "rendering" not in _err(capsys)


def test_generate_from_file_shows_the_prompts_drawn_unless_told_not_to(
    tmp_path, capsys, bars_at_once
):
    from genlab.serve.launch import tiny_text2image_checkpoint

    model = str(tiny_text2image_checkpoint(tmp_path / "tiny.safetensors"))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red circle\na blue square\n")
    base = ["generate", "--from-file", str(prompts), "--model", model, "--steps", "2",
            "--seed", "0", "--device", "cpu"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert "prompts: 100%" in _err(capsys)
    assert main([*base, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert "prompts" not in _err(capsys)


def test_the_agent_shows_the_images_it_draws_beside_its_steps(tmp_path, capsys, bars_at_once,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path))
    base = ["agent", "a red circle", "--max-rounds", "1", "--candidates", "1", "--steps", "2",
            "--max-images", "2", "--time-budget", "0"]  # fmt: skip
    main(base)
    captured = capsys.readouterr()
    assert "drawing:" in captured.err.replace("\r", "\n") and "image" in captured.err
    assert "request: a red circle" in captured.out  # the steps still go to stdout, whole
    main([*base, "--no-progress"])
    assert "drawing" not in _err(capsys)
