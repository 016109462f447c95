"""Specification of the shared Trainer: exact resume, EMA of parameters only, the NaN guard,
several optimizers, accumulation, warm-up, time budget, atomic checkpoints, and the train CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from genlab.cli import main as cli_main
from genlab.errors import CheckpointError, InvalidArgument
from genlab.io import load_checkpoint, read_checkpoint_config, save_checkpoint
from genlab.train import (
    OptimizerGroup,
    RecipeOptions,
    Task,
    TensorSource,
    TrainConfig,
    Trainer,
    list_recipes,
    run_recipe,
)


class NoisyTask(Task):
    """Uses every source of randomness the real tasks use: dropout, torch noise, and a buffer."""

    def __init__(self):
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)
        )

    def modules(self):
        return {"net": self.net}

    def ema_modules(self):
        return ["net"]

    def training_step(self, batch, optimizer_name):
        x = batch["x"] + 0.1 * torch.randn_like(batch["x"])
        loss = ((self.net(x).squeeze(-1) - batch["y"]) ** 2).mean()
        return loss, {"mse": loss.detach()}

    def sample_grid(self):
        return [torch.zeros(3, 8, 8)]

    def export(self):
        return dict(self.net.state_dict()), {"pipeline": "none", "kind": "test"}


def data(n=64):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    return TensorSource({"x": x, "y": x.sum(-1).sin()})


def config(tmp_path, **kw):
    base = dict(
        steps=20,
        batch_size=8,
        lr=1e-2,
        warmup_steps=5,
        lr_schedule="cosine",
        out_dir=str(tmp_path),
        progress=False,
        log_every=5,
        ema_decay=0.9,
        recipe="test",
    )
    base.update(kw)
    return TrainConfig(**base)


def test_twenty_steps_equal_ten_plus_resume_plus_ten_bit_for_bit(tmp_path):
    straight = Trainer(NoisyTask(), data(), config(tmp_path / "a"))
    straight.run()

    first = Trainer(NoisyTask(), data(), config(tmp_path / "b"))
    first.run(stop_at=10)  # as if interrupted at step 10
    second = Trainer(NoisyTask(), data(), config(tmp_path / "b"))
    assert second.resume()
    assert second.step == 10
    second.run()

    a, _ = load_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    b, _ = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    assert a.keys() == b.keys()
    assert any(k.startswith("optim/") for k in a) and any(k.startswith("ema/") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key


class ChannelsLastTask(Task):
    """A convolution kept channels-last, as the U-Net is on CUDA."""

    def __init__(self):
        torch.manual_seed(0)
        self.net = nn.Conv2d(2, 4, 3, padding=1).to(memory_format=torch.channels_last)

    def modules(self):
        return {"net": self.net}

    def training_step(self, batch, optimizer_name):
        x = batch["x"].view(-1, 2, 2, 1).expand(-1, 2, 2, 2)
        loss = self.net(x.contiguous(memory_format=torch.channels_last)).square().mean()
        return loss, {}

    def sample_grid(self):
        return None

    def export(self):
        return dict(self.net.state_dict()), {"pipeline": "none", "kind": "test"}


def test_resumed_optimizer_moments_keep_the_parameters_memory_layout(tmp_path):
    # Checkpoints store contiguous tensors; CUDA's fused AdamW refuses moments whose strides
    # differ from their channels-last parameter's (seen on an H100), so resume restores them.
    Trainer(ChannelsLastTask(), data(), config(tmp_path)).run(stop_at=3)
    trainer = Trainer(ChannelsLastTask(), data(), config(tmp_path))
    assert trainer.resume()
    (opt,) = trainer.optimizers.values()
    weight = trainer.modules["net"].weight
    assert not weight.is_contiguous() and weight.is_contiguous(memory_format=torch.channels_last)
    for key in ("exp_avg", "exp_avg_sq"):
        assert opt.state[weight][key].stride() == weight.stride(), key
    trainer.run(stop_at=5)
    assert trainer.step == 5


def test_ema_averages_parameters_and_never_buffers(tmp_path):
    trainer = Trainer(NoisyTask(), data(), config(tmp_path, steps=6))
    trainer.run()
    assert set(trainer.ema.shadow) == {
        f"net.{n}" for n, _ in trainer.modules["net"].named_parameters()
    }
    assert not any("running_mean" in k for k in trainer.ema.shadow)
    live = trainer.modules["net"][0].weight.detach().clone()
    with trainer.ema.swapped_in():
        swapped = trainer.modules["net"][0].weight.detach().clone()
        assert torch.equal(swapped, trainer.ema.shadow["net.0.weight"])
    assert not torch.equal(live, swapped)  # the average lags behind the live weights
    assert torch.equal(trainer.modules["net"][0].weight, live)  # restored after the swap


class NaNAtStep(NoisyTask):
    def __init__(self, bad_calls):
        super().__init__()
        self.calls, self.bad_calls = 0, bad_calls

    def training_step(self, batch, optimizer_name):
        loss, logs = super().training_step(batch, optimizer_name)
        self.calls += 1
        return (loss * float("nan") if self.calls in self.bad_calls else loss), logs


def test_a_nan_loss_skips_the_update_and_says_so(tmp_path, caplog):
    trainer = Trainer(NaNAtStep({4}), data(), config(tmp_path, steps=3))
    trainer.run()
    before = {k: v.clone() for k, v in trainer.modules["net"].state_dict().items()}
    trainer.config.steps = 4
    trainer.run()  # step index 3 is the 4th call: NaN
    after = trainer.modules["net"].state_dict()
    for name, _ in trainer.modules["net"].named_parameters():
        assert torch.equal(before[name], after[name]), name
    assert trainer.skipped == 1
    warned = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("genlab.train.trainer", "WARNING", "step 3: main update skipped: loss is nan") in warned


def test_a_loss_spike_is_skipped_when_the_guard_is_on(tmp_path):
    class Spike(NoisyTask):
        step = 0

        def training_step(self, batch, optimizer_name):
            loss, logs = super().training_step(batch, optimizer_name)
            self.step += 1
            return (loss * 1000 if self.step == 12 else loss), logs

    trainer = Trainer(Spike(), data(), config(tmp_path, steps=15, spike_factor=10, spike_warmup=5))
    trainer.run()
    assert trainer.skipped == 1


class TwoPlayerTask(Task):
    """A GAN-shaped task: two modules, two optimizers, the second one every other step."""

    def __init__(self):
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(4, 1), nn.Linear(4, 1)
        self.seen: list[str] = []

    def modules(self):
        return {"a": self.a, "b": self.b}

    def optimizer_groups(self):
        return {
            "a": OptimizerGroup(self.a.parameters()),
            "b": OptimizerGroup(self.b.parameters(), lr=0.0 + 1e-3, every=2),
        }

    def training_step(self, batch, optimizer_name):
        self.seen.append(optimizer_name)
        net = self.a if optimizer_name == "a" else self.b
        return ((net(batch["x"]).squeeze(-1) - batch["y"]) ** 2).mean(), {}


def test_several_optimizers_step_in_order_and_honour_every(tmp_path):
    task = TwoPlayerTask()
    trainer = Trainer(task, data(), config(tmp_path, steps=4))
    summary = trainer.run()
    assert task.seen == ["a", "b", "a", "a", "b", "a"]
    assert trainer.optimizers["b"].param_groups[0]["initial_lr"] == pytest.approx(1e-3)
    assert {"loss/a", "loss/b"} <= set(summary["last_logs"])


def test_lr_scales_give_named_parameters_their_own_rate_through_warmup_and_decay(tmp_path):
    """Task.lr_scales: parameters named by prefix train at lr × factor, following the same
    schedule; the others are untouched by it; an unknown prefix or a bad factor is refused."""
    from genlab.train.toy import RegressionTask, regression_data

    task = RegressionTask()
    task.lr_scales = {"net.0": 10.0}  # the first layer
    trainer = Trainer(task, regression_data(), config(tmp_path, steps=3, warmup_steps=2))
    lr_of = {id(p): g["initial_lr"] for g in trainer.optimizers["main"].param_groups
             for p in g["params"]}  # fmt: skip
    base = trainer.config.lr
    for name, p in task.net.named_parameters():
        assert lr_of[id(p)] == pytest.approx(base * (10 if name.startswith("0.") else 1)), name
    trainer.run()
    for g in trainer.optimizers["main"].param_groups:
        assert g["lr"] == pytest.approx(g["initial_lr"] * trainer.lr_factor(2))
    task.lr_scales = {"net.nothing": 2.0}
    with pytest.raises(InvalidArgument, match="lr_scales"):
        Trainer(task, regression_data(), config(tmp_path / "b", steps=1))
    task.lr_scales = {"net.0": 0.0}
    with pytest.raises(InvalidArgument, match="lr_scales"):
        Trainer(task, regression_data(), config(tmp_path / "c", steps=1))


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    from genlab.train.toy import RegressionTask, regression_data

    one = Trainer(RegressionTask(), regression_data(), config(tmp_path / "1", batch_size=16))
    two = Trainer(
        RegressionTask(), regression_data(), config(tmp_path / "2", batch_size=16, grad_accum=2)
    )
    one.run(), two.run()
    for p, q in zip(one.modules["net"].parameters(), two.modules["net"].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_learning_rate_warms_up_linearly_then_follows_the_cosine(tmp_path):
    t = Trainer(NoisyTask(), data(), config(tmp_path, steps=105, warmup_steps=5, min_lr_ratio=0.1))
    assert [t.lr_factor(s) for s in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert t.lr_factor(5) == pytest.approx(1.0)
    assert t.lr_factor(55) == pytest.approx(0.55)
    assert t.lr_factor(104) == pytest.approx(0.1, abs=1e-3)


def test_decay_steps_anneal_the_end_of_a_constant_run(tmp_path):
    """Warm-up–stable–decay: constant until the last `decay_steps`, then a cosine to 0.1×."""
    cfg = config(tmp_path, steps=100, warmup_steps=5, lr_schedule="constant", decay_steps=40)
    t = Trainer(NoisyTask(), data(), cfg)
    assert t.lr_factor(10) == t.lr_factor(59) == 1.0
    assert t.lr_factor(60) == pytest.approx(1.0)
    assert t.lr_factor(80) == pytest.approx(0.55)
    assert t.lr_factor(99) == pytest.approx(0.1, abs=2e-3)
    factors = [t.lr_factor(s) for s in range(60, 100)]
    assert all(a >= b for a, b in zip(factors, factors[1:]))
    for bad in (-1, 101, 2.5):
        with pytest.raises(InvalidArgument, match="decay_steps"):
            bad_cfg = config(tmp_path, steps=100, lr_schedule="constant", decay_steps=bad)
            Trainer(NoisyTask(), data(), bad_cfg)
    with pytest.raises(InvalidArgument, match="decay_steps"):
        Trainer(NoisyTask(), data(), config(tmp_path, lr_schedule="cosine", decay_steps=10))


def test_rewarm_starts_a_second_warm_up_for_a_chunk_after_the_decay(tmp_path):
    """A run decayed by step 100 and continued to 200: from `rewarm_at` the rate climbs again
    over the warm-up steps (times whatever the schedule says), not in one jump."""
    cfg = config(tmp_path, steps=200, warmup_steps=10, lr_schedule="constant", decay_steps=50)
    cfg.rewarm_at = 100
    t = Trainer(NoisyTask(), data(), cfg)
    assert t.lr_factor(99) == 1.0  # before the second warm-up: the stable phase of this run
    assert [t.lr_factor(s) for s in (100, 104, 109, 110)] == pytest.approx([0.1, 0.5, 1.0, 1.0])
    assert t.lr_factor(199) == pytest.approx(0.1, abs=2e-3)  # the new decay still ends the run
    for bad in (-1, 200, 1.5):
        with pytest.raises(InvalidArgument, match="rewarm_at"):
            Trainer(NoisyTask(), data(), config(tmp_path, steps=200, rewarm_at=bad))


def test_time_budget_stops_cleanly_saves_and_exports(tmp_path):
    class Slow(NoisyTask):
        def training_step(self, batch, optimizer_name):
            import time

            time.sleep(0.05)
            return super().training_step(batch, optimizer_name)

    summary = Trainer(Slow(), data(), config(tmp_path, steps=10_000, time_budget=0.5)).run()
    assert summary["stopped_early"] and 0 < summary["steps"] < 100
    assert summary["stop_reason"] == "time budget"
    state = read_checkpoint_config(tmp_path / "checkpoint.safetensors")
    assert state["trainer"]["step"] == summary["steps"]
    exported = read_checkpoint_config(tmp_path / "test.safetensors")
    assert exported["training"]["steps"] == summary["steps"]
    card = (tmp_path / "test.md").read_text()
    assert "| steps |" in card and "images seen" in card
    assert (tmp_path / "samples").is_dir()
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines and all(math.isfinite(x["loss"]) and x["images_per_s"] > 0 for x in lines)


def test_checkpoints_are_atomic_a_failed_write_keeps_the_previous_one(tmp_path):
    trainer = Trainer(NoisyTask(), data(), config(tmp_path, steps=2))
    trainer.run()
    good = (tmp_path / "checkpoint.safetensors").read_bytes()
    # A buffer safetensors cannot store makes the next save fail half-way.
    trainer.modules["net"].register_buffer("sparse", torch.zeros(2, 2).to_sparse())
    with pytest.raises(RuntimeError):
        trainer.save_state()
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == good
    assert not list(tmp_path.glob(".checkpoint*.tmp"))


def test_resuming_from_a_foreign_checkpoint_is_a_clear_error(tmp_path):
    save_checkpoint(tmp_path / "checkpoint.safetensors", {"w": torch.zeros(1)}, {"pipeline": "x"})
    trainer = Trainer(NoisyTask(), data(), config(tmp_path))
    with pytest.raises(CheckpointError, match="not a genlab training state"):
        trainer.resume()


def test_batch_size_must_split_evenly_over_accumulation(tmp_path):
    with pytest.raises(InvalidArgument, match="batch_size"):
        Trainer(NoisyTask(), data(), config(tmp_path, batch_size=9, grad_accum=2))


def test_recipes_are_discovered_and_run_from_python(tmp_path):
    assert "toy-regression" in list_recipes()
    summary = run_recipe(
        "toy-regression", RecipeOptions(steps=30, out_dir=str(tmp_path), progress=False)
    )
    assert summary["steps"] == 30 and summary["last_logs"]["loss"] < 1.0


def test_cli_lists_recipes_and_rejects_unknown_ones(capsys):
    assert cli_main(["train", "--list"]) == 0
    assert "toy-regression" in capsys.readouterr().out
    assert cli_main(["train", "--recipe", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'nope'" in err and "toy-regression" in err
    assert cli_main(["train", "--recipe", "toy-regression", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
    for flag, value in (
        ("--decay-steps", "-1"),
        ("--rewarm-at", "-5"),
        ("--profile-steps", "-2"),
        ("--lr", "nan"),
        ("--lr", "0"),
    ):
        assert cli_main(["train", "--recipe", "toy-regression", flag, value]) == 2
        assert flag in capsys.readouterr().err
    # --scenes: only for the recipes that render world scenes, and only a known mix
    assert cli_main(["train", "--recipe", "toy-regression", "--scenes", "focus"]) == 2
    err = capsys.readouterr().err
    assert "--scenes" in err and "world-t2i" in err
    assert cli_main(["train", "--recipe", "world-t2i", "--scenes", "odd"]) == 2
    assert "focus" in capsys.readouterr().err
    # a decay longer than the run is caught by the config, named by its field
    args = ["train", "--recipe", "toy-regression", "--steps", "5", "--decay-steps", "9"]
    assert cli_main(args) == 2
    assert "decay_steps" in capsys.readouterr().err


def test_cli_trains_and_resumes(tmp_path, capsys):
    out = str(tmp_path)
    assert (
        cli_main(
            ["train", "--recipe", "toy-regression", "--steps", "10", "--out", out, "--no-progress"]
        )
        == 0
    )
    assert "done at step 10" in capsys.readouterr().out
    args = [
        "train",
        "--recipe",
        "toy-regression",
        "--steps",
        "20",
        "--out",
        out,
        "--resume",
        "--json",
    ]
    assert cli_main([*args, "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed"] and summary["steps_this_run"] == 10 and summary["steps"] == 20


@pytest.mark.slow
def test_sigterm_stops_after_the_step_and_saves(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "genlab", "train", "--recipe", "toy-regression", "--steps",
           "100000000", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (tmp_path / "log.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until training runs
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "SIGTERM received at step" in err and "stopped (SIGTERM)" in out
    step = read_checkpoint_config(tmp_path / "checkpoint.safetensors")["trainer"]["step"]
    assert 10 <= step < 100_000_000 and f"at step {step}" in out


def test_profiled_steps_report_where_the_time_went_and_change_no_result(tmp_path):
    """--profile-steps: torch.profiler over a window of the run writes profile.txt (wall time,
    the trainer's phases, operators); the trained weights are those of an unprofiled run."""
    plain = Trainer(NoisyTask(), data(), config(tmp_path / "a", steps=12))
    plain.run()
    profiled = Trainer(NoisyTask(), data(), config(tmp_path / "b", steps=12, profile_steps=3))
    profiled.run()
    report = (tmp_path / "b" / "profile.txt").read_text()
    assert report.startswith("steps 9-11 on cpu")  # the last 3 steps: the run is short
    assert "wall time per step:" in report
    for phase in ("forward", "backward", "optimizer", "ema", "batches"):
        assert f"  {phase} " in report
    assert "by host time:" in report and "aten::" in report
    assert not (tmp_path / "a" / "profile.txt").exists()
    a, _ = load_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    b, _ = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Block(nn.Module):  # defined here: dynamo does not trace torch's own nn modules' frames
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        return torch.tanh(self.linear(x))


class BlockNet(nn.Module):
    """A model with repeated blocks and genlab's regional `compile`, as the real denoisers."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList(Block() for _ in range(3))
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return self.head(x).squeeze(-1)

    def compile(self, **kwargs) -> bool:
        from genlab.nn import compile_blocks

        return compile_blocks(self, [self.blocks], **kwargs)


class BlockTask(NoisyTask):
    def __init__(self):
        self.net = BlockNet()


@pytest.mark.slow
def test_compiled_training_matches_eager_and_a_failed_compilation_goes_on_eager(tmp_path, caplog):
    """--compile compiles the blocks in place (same parameters, same checkpoint keys); when the
    compiler fails the run says why, goes back to eager and retakes the step: its weights are the
    eager run's, bit for bit."""
    import torch._dynamo

    def broken_backend(gm, example_inputs):
        raise RuntimeError("no compiler on this machine")

    runs = {}
    for name, kw in (
        ("eager", {}),
        ("compiled", dict(compile=True, compile_kwargs={"backend": "eager"})),
        ("broken", dict(compile=True, compile_kwargs={"backend": broken_backend})),
    ):
        torch._dynamo.reset()
        trainer = Trainer(BlockTask(), data(), config(tmp_path / name, steps=6, **kw))
        summary = trainer.run()
        runs[name] = load_checkpoint(tmp_path / name / "checkpoint.safetensors")[0]
        if name == "compiled":
            assert summary["compiled"] == ["net"] and summary["compile_error"] is None
            assert trainer.modules["net"].blocks[0]._compiled_call_impl is not None
        if name == "broken":
            assert summary["compiled"] == [] and "no compiler" in summary["compile_error"]
            assert "torch.compile failed" in caplog.text
    torch._dynamo.reset()
    assert runs["eager"].keys() == runs["compiled"].keys() == runs["broken"].keys()
    for k, v in runs["eager"].items():
        torch.testing.assert_close(runs["compiled"][k], v)
        assert torch.equal(runs["broken"][k], v), k
