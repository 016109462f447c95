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
