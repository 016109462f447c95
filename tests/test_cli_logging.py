"""The library logs with `logging` (never print), under the "genlab" logger; the command line
shows those records at the level of its global --verbose / --quiet, and --quiet hides the bars."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from genlab.cli import main

SRC = Path(__file__).resolve().parents[1] / "src" / "genlab"


def test_no_library_module_prints():
    printing = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "cli":  # the command line's output is its job
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                owner = getattr(getattr(f, "value", None), "id", "")
                if name == "print" or (owner, name) == ("tqdm", "write"):
                    printing.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not printing, printing


def test_verbose_and_quiet_set_what_the_library_log_shows(tmp_path, capsys):
    base = ["train", "--recipe", "toy-regression", "--out", str(tmp_path), "--device", "cpu",
            "--no-progress"]  # fmt: skip
    assert main([*base, "--steps", "3"]) == 0
    capsys.readouterr()
    assert main([*base, "--steps", "4", "--resume"]) == 0
    assert "resumed from step 3" in capsys.readouterr().err.splitlines()  # INFO, by default
    assert main(["--quiet", *base, "--steps", "5", "--resume"]) == 0
    assert "resumed from step" not in capsys.readouterr().err
    assert main(["-v", *base, "--steps", "6", "--resume"]) == 0
    assert "genlab.train: resumed from step 5" in capsys.readouterr().err  # named by logger


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["-q", "-v", "train", "--list"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    from genlab.eval.images import world_set
    from genlab.io import save_image

    out = []
    for seed in (1, 2):
        folder = tmp_path_factory.mktemp(f"set{seed}")
        for i, image in enumerate(world_set(24, size=32, seed=seed).images):
            save_image(folder / f"{i:03d}.png", image.permute(1, 2, 0).numpy(), {"prompt": "x"})
        out.append(str(folder))
    return out


def test_metrics_fid_shows_progress_unless_told_not_to(two_folders, capsys, monkeypatch):
    import genlab.progress

    monkeypatch.setattr(genlab.progress, "DELAY_S", 0)  # bars show after 2 s: at once, here
    assert main(["metrics", "fid", *two_folders, "--json"]) == 0
    err = capsys.readouterr().err
    assert "reading set1" in err and "world-classifier features" in err and "img/s" in err
    for argv in (["metrics", "fid", *two_folders, "--json", "--no-progress"],
                 ["-q", "metrics", "fid", *two_folders, "--json"]):  # fmt: skip
        assert main(argv) == 0
        assert capsys.readouterr().err == ""


def test_every_command_with_progress_bars_turns_them_off_with_no_progress():
    import argparse

    from genlab.cli import build_parser

    def sub(parser, name):
        (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return choices.choices[name]

    parser = build_parser()
    for path in (["train"], ["data", "prepare"], ["data", "cache"], ["eval"], ["metrics", "fid"],
                 ["metrics", "is"], ["metrics", "clip-score"], ["metrics", "retrieve"]):  # fmt: skip
        command = parser
        for name in path:
            command = sub(command, name)
        flags = {f for a in command._actions for f in a.option_strings}
        assert "--no-progress" in flags, path


def test_generate_shows_its_denoising_steps_unless_told_not_to(tmp_path, capsys, monkeypatch):
    import genlab.progress

    monkeypatch.setattr(genlab.progress, "DELAY_S", 0)  # bars show after 2 s: at once, here
    from genlab.serve.launch import tiny_text2image_checkpoint

    model = str(tiny_text2image_checkpoint(tmp_path / "tiny.safetensors"))
    base = ["generate", "a red circle", "--model", model, "--steps", "3", "--seed", "1",
            "--no-history", "--device", "cpu"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a.png")]) == 0
    assert "denoising: 100%" in capsys.readouterr().err.replace("\r", "\n")
    assert main([*base, "--out", str(tmp_path / "b.png"), "--no-progress"]) == 0
    assert "denoising" not in capsys.readouterr().err


def test_bars_wait_two_seconds_so_quick_commands_and_errors_stay_one_line(tmp_path, capsys):
    (tmp_path / "a.png").write_bytes(b"junk")
    (tmp_path / "b.png").write_bytes(b"junk")
    assert main(["metrics", "fid", str(tmp_path), "world", "--n", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error:") and err.count("\n") == 1
