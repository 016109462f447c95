"""Checkpoints are verified where they are read: a content hash written with every file, finite
values and shapes checked on load (older files without a hash too); the server refuses a bad
`--model` at start; `genlab train --resume` refuses a corrupt state and keeps it (and the one
before it); training saves periodically and atomically, keeping the last two, and survives a
`kill -9`."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import save_file

from genlab.cli import main as cli_main
from genlab.errors import CheckpointError
from genlab.io import CONFIG_KEY, HASH_KEY, load_checkpoint, read_checkpoint_config, save_checkpoint
from genlab.serve.launch import tiny_text2image_checkpoint


def data_offset(path) -> int:
    """Where a safetensors file's tensor bytes begin (after its 8-byte length and JSON header)."""
    with open(path, "rb") as f:
        return 8 + struct.unpack("<Q", f.read(8))[0]


def flip_bytes(path, count=16) -> None:
    """Damage `count` bytes in the middle of the tensor data; the header stays valid."""
    raw = bytearray(path.read_bytes())
    start = data_offset(path) + (len(raw) - data_offset(path)) // 2
    for i in range(start, start + count):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))


def test_a_saved_checkpoint_carries_a_content_hash_and_damage_is_caught(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(256)}, {"pipeline": "x"})
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert len(f.metadata()[HASH_KEY]) == 64
    assert load_checkpoint(path)[0]["w"].sum() == 256
    raw = bytearray(path.read_bytes())
    raw[data_offset(path) + 10] ^= 0x01  # one bit of one weight: still a finite number
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="do not match the content hash"):
        load_checkpoint(path)


def test_an_old_file_without_a_hash_loads_but_non_finite_values_are_refused(tmp_path):
    meta = {CONFIG_KEY: json.dumps({"pipeline": "x"})}
    good = tmp_path / "old.safetensors"
    save_file({"w": torch.ones(4, dtype=torch.float16)}, str(good), metadata=meta)
    assert load_checkpoint(good)[0]["w"].shape == (4,)
    bad = tmp_path / "old-nan.safetensors"
    save_file(
        {"w": torch.tensor([1.0, float("nan")], dtype=torch.float16)}, str(bad), metadata=meta
    )
    with pytest.raises(CheckpointError, match="'w' holds NaN or infinite values"):
        load_checkpoint(bad)


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "corrupt tensors"])
def test_serve_refuses_a_damaged_model_at_start_in_one_line(tmp_path, damage, monkeypatch, capsys):
    path = tiny_text2image_checkpoint(tmp_path / "tiny.safetensors")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "random bytes":
        path.write_bytes(os.urandom(50_000))
    else:
        flip_bytes(path)
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    code = cli_main(["serve", "--port", "0", "--no-bundled", "--model", f"bad={path}"])
    out = capsys.readouterr()
    assert code == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), out.err
    assert "serving on" not in out.out


def train(out, *extra):
    return cli_main(["train", "--recipe", "toy-regression", "--out", str(out), "--no-progress",
                     *extra])  # fmt: skip


def test_training_saves_every_n_steps_and_keeps_the_last_two(tmp_path, capsys):
    assert train(tmp_path, "--steps", "20", "--save-every", "6") == 0
    latest = read_checkpoint_config(tmp_path / "checkpoint.safetensors")["trainer"]["step"]
    before = read_checkpoint_config(tmp_path / "checkpoint.prev.safetensors")["trainer"]["step"]
    assert (latest, before) == (20, 18)
    assert sorted(p.name for p in tmp_path.glob("checkpoint*")) == [
        "checkpoint.prev.safetensors",
        "checkpoint.safetensors",
    ]
    assert train(tmp_path, "--steps", "25", "--resume") == 0
    out = capsys.readouterr()
    assert "resumed from step 20" in out.err and "resumed from step 20" in out.out
    assert train(tmp_path, "--steps", "25", "--save-every", "-1") == 2


def test_resume_refuses_a_corrupt_state_and_overwrites_nothing(tmp_path, capsys):
    assert train(tmp_path, "--steps", "12", "--save-every", "6") == 0
    state = tmp_path / "checkpoint.safetensors"
    flip_bytes(state)
    damaged, previous = state.read_bytes(), (tmp_path / "checkpoint.prev.safetensors").read_bytes()
    capsys.readouterr()
    assert train(tmp_path, "--steps", "30", "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt" in err[0] and "checkpoint.prev.safetensors" in err[0]
    assert state.read_bytes() == damaged, "the damaged state is left for the user to inspect"
    assert (tmp_path / "checkpoint.prev.safetensors").read_bytes() == previous


@pytest.mark.slow
def test_training_killed_hard_resumes_from_its_last_periodic_save(tmp_path, capsys):
    cmd = [sys.executable, "-m", "genlab", "train", "--recipe", "toy-regression", "--steps",
           "100000000", "--save-every", "25", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    state = tmp_path / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    try:
        while not (tmp_path / "checkpoint.prev.safetensors").exists():
            assert time.monotonic() < deadline, "no periodic checkpoint was written"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    if not state.exists():  # killed between a save's two renames: the one before is whole
        state = tmp_path / "checkpoint.prev.safetensors"
    step = read_checkpoint_config(state)["trainer"]["step"]
    assert step % 25 == 0 and step >= 25
    load_checkpoint(state)  # whole and verified despite the kill
    assert train(tmp_path, "--steps", str(step + 5), "--resume") == 0
    out = capsys.readouterr().out
    assert f"done at step {step + 5} (resumed from step {step}," in out
