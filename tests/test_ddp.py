"""Multi-process training under torchrun on CPU (gloo): 2 processes × batch B follow the loss
curve of 1 process × batch 2B, and a run saved by 2 processes resumes in 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from genlab.io import load_checkpoint, read_checkpoint_config
from genlab.train import RecipeOptions, run_recipe


def train_two_processes(out, steps: int) -> list[dict]:
    args = ["-m", "genlab", "train", "--recipe", "toy-regression", "--steps", str(steps)]
    args += ["--out", str(out), "--batch-size", "32", "--no-progress", "--device", "cpu"]
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, *launcher, *args], capture_output=True, text=True, env=env, timeout=150
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return read_log(out)


def train_one_process(out, steps: int, batch_size: int, resume: bool = False) -> list[dict]:
    options = RecipeOptions(steps=steps, out_dir=str(out), batch_size=batch_size, progress=False)
    run_recipe("toy-regression", options, resume=resume)
    return read_log(out)


def read_log(out) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.mark.timeout(200)
def test_two_processes_with_batch_b_match_one_process_with_batch_2b(tmp_path):
    # toy-regression logs every 10 steps; --batch-size is global, so each rank reads 16.
    double = train_two_processes(tmp_path / "two", steps=30)
    single = train_one_process(tmp_path / "one", steps=60, batch_size=32)
    assert [x["step"] for x in double] == [10, 20, 30]
    for a, b in zip(single, double):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
    state = read_checkpoint_config(tmp_path / "two" / "checkpoint.safetensors")
    assert state["trainer"]["world_size"] == 2 and state["trainer"]["step"] == 30
    assert not list((tmp_path / "two").glob(".*.tmp"))  # rank 0 alone wrote, atomically

    # The 2-process checkpoint resumes in 1 process and continues the same curve.
    resumed = train_one_process(tmp_path / "two", steps=60, batch_size=32, resume=True)
    assert [x["step"] for x in resumed] == [10, 20, 30, 40, 50, 60]
    for a, b in zip(single, resumed):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
    final_one, _ = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")
    final_resumed, _ = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    for key in final_one:
        if key.startswith("module/"):
            torch.testing.assert_close(final_one[key], final_resumed[key], rtol=1e-4, atol=1e-6)


def test_each_rank_and_micro_step_reads_its_own_shard_of_the_global_batch():
    from genlab.train.data import IndexStream, shard_of

    stream = IndexStream(length=100, seed=0)
    batch = stream.indices(40, 16)  # step 2.5 of batch 16: spans the same epoch
    shards = [shard_of(batch, m, r, world_size=2, accum=2) for m in range(2) for r in range(2)]
    assert all(len(s) == 4 for s in shards)
    assert sorted(torch.cat(shards).tolist()) == sorted(batch.tolist())  # disjoint, complete
    # Epochs are permutations: 100 positions from any start cover each sample once per epoch.
    assert sorted(stream.indices(0, 100).tolist()) == list(range(100))
    assert not torch.equal(stream.indices(0, 100), stream.indices(100, 100))
