"""Multi-process training under torchrun on CPU (gloo), through DistributedDataParallel and FSDP2:
2 processes × batch B follow the loss curve of 1 process × batch 2B, two "nodes" rendezvous over
c10d on 127.0.0.1, and a run saved at one world size resumes at another."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch

from genlab.io import load_checkpoint, read_checkpoint_config
from genlab.train import RecipeOptions, run_recipe


def launch(launcher: list[str], args: list[str]) -> subprocess.Popen:
    """Start torchrun in its own process group; see `finish`."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    return subprocess.Popen(
        [sys.executable, *launcher, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """Wait for a launch; on a hang, SIGABRT the whole group so that every process prints its
    Python stacks (faulthandler) into the failure message instead of a bare timeout."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"torchrun hung for {timeout} s; its processes' stacks:\n{err[-6000:]}")
    assert proc.returncode == 0, err[-2000:]
    return out, err


def torchrun(launcher: list[str], args: list[str], timeout: float = 150) -> str:
    out, _ = finish(launch(launcher, args), timeout)
    return out


def train_two_processes(out, steps: int) -> list[dict]:
    args = ["-m", "genlab", "train", "--recipe", "toy-regression", "--steps", str(steps)]
    args += ["--out", str(out), "--batch-size", "32", "--no-progress", "--device", "cpu"]
    torchrun(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"], args)
    return read_log(out)


def train_one_process(out, steps: int, batch_size: int, resume: bool = False) -> list[dict]:
    options = RecipeOptions(steps=steps, out_dir=str(out), batch_size=batch_size, progress=False)
    run_recipe("toy-regression", options, resume=resume)
    return read_log(out)


def read_log(out) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.mark.slow
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


TRAIN = ["-m", "genlab", "train", "--recipe", "toy-regression", "--no-progress", "--device", "cpu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def final_weights(out) -> dict[str, torch.Tensor]:
    tensors, _ = load_checkpoint(out / "checkpoint.safetensors")
    return {k: v for k, v in tensors.items() if k.startswith(("module/", "ema/"))}


def assert_same_run(a, b) -> None:
    """Two runs' logged losses and final weights (modules and EMA) agree to float tolerance."""
    for x, y in zip(read_log(a), read_log(b), strict=True):
        assert x["step"] == y["step"] and x["loss"] == pytest.approx(y["loss"], rel=1e-4)
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_two_nodes_over_c10d_rendezvous_match_one_process_with_the_global_batch(tmp_path):
    # Two "nodes" of one process each, as on two machines: torchrun's c10d rendezvous on
    # 127.0.0.1, gloo; two micro-steps per optimizer step (DDP's no_sync on the first).
    port = free_port()
    args = [*TRAIN, "--steps", "20", "--batch-size", "32", "--grad-accum", "2"]
    args += ["--out", str(tmp_path / "nodes")]
    launcher = ["-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1"]
    launcher += ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}"]
    launcher += ["--rdzv-id", "genlab-test"]
    nodes = [launch(launcher, args) for _ in range(2)]
    outputs = [finish(node, timeout=150) for node in nodes]
    # rank 0 prints the summary; both ranks' processes finished with status 0
    assert sum("toy-regression: done at step 20" in out for out, _ in outputs) == 1
    state = read_checkpoint_config(tmp_path / "nodes" / "checkpoint.safetensors")["trainer"]
    assert state["world_size"] == 2 and state["strategy"] == "ddp" and state["step"] == 20

    train_one_process(tmp_path / "one", steps=20, batch_size=32)
    assert_same_run(tmp_path / "one", tmp_path / "nodes")


@pytest.mark.slow
@pytest.mark.timeout(250)
def test_fsdp_matches_one_process_and_resumes_at_another_world_size(tmp_path):
    # One process trains 10 steps; two FSDP2 processes resume its checkpoint to step 20 (the
    # shards are cut from the file's whole tensors) and must equal one process's 20 steps.
    train_one_process(tmp_path / "fsdp", steps=10, batch_size=32)
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    args = [*TRAIN, "--steps", "20", "--batch-size", "32", "--strategy", "fsdp", "--resume"]
    args += ["--grad-accum", "2"]  # set_requires_gradient_sync(False) on the first micro-step
    args += ["--out", str(tmp_path / "fsdp"), "--json"]
    summary = json.loads(torchrun(launcher, args))
    assert summary["resumed"] and summary["strategy"] == "fsdp" and summary["world_size"] == 2
    state = read_checkpoint_config(tmp_path / "fsdp" / "checkpoint.safetensors")["trainer"]
    assert state["world_size"] == 2 and state["step"] == 20

    train_one_process(tmp_path / "one", steps=20, batch_size=32)
    assert_same_run(tmp_path / "one", tmp_path / "fsdp")
    # ...and the FSDP run's file resumes in one process again.
    resumed = train_one_process(tmp_path / "fsdp", steps=30, batch_size=32, resume=True)
    assert [x["step"] for x in resumed] == [10, 20, 30]


@pytest.mark.slow
@pytest.mark.timeout(250)
def test_fsdp_shards_a_dit_block_by_block_and_exports_one_loadable_file(tmp_path):
    # A DiT's repeated blocks are sharded one by one; the sample grid's forwards run on both
    # ranks (they are collectives) and the export gathers the shards into one file.
    out = tmp_path / "dit"
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    args = ["-m", "genlab", "train", "--recipe", "world-t2i-cpu-dit", "--tiny", "--steps", "2"]
    args += ["--batch-size", "4", "--strategy", "fsdp", "--out", str(out), "--no-progress"]
    args += ["--device", "cpu", "--json"]
    summary = json.loads(torchrun(launcher, args, timeout=200))
    assert summary["strategy"] == "fsdp" and summary["world_size"] == 2
    assert (out / "samples" / "step_0000002.png").is_file()

    import genlab

    exported, config = load_checkpoint(summary["model"])
    state, _ = load_checkpoint(out / "checkpoint.safetensors")
    blocks = [k for k in exported if ".blocks." in k and f"ema/{k}" in state]  # parameters
    assert blocks and config["training"]["steps"] == 2
    for key in blocks:  # whole tensors: the EMA weights of the training state
        torch.testing.assert_close(
            exported[key].float(), state[f"ema/{key}"].float(), rtol=1e-3, atol=1e-3
        )
    image = genlab.load(summary["model"])("a red circle", num_inference_steps=2, seed=0).images[0]
    assert image.size == (16, 16)
