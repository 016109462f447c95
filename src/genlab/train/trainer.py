"""The one training loop every family reuses: batch → loss → backward (DDP or FSDP2 reduce the
gradients under torchrun) → clip → step → EMA, with warm-up, bf16 on CUDA, a NaN/spike guard, sample
grids, atomic checkpoints and exact resume at any world size.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.profiler import record_function
from tqdm import tqdm

from genlab.errors import InvalidArgument
from genlab.nn.utils import compile_failure, uncompile
from genlab.train import distributed as D
from genlab.train.checkpoint import STATE_FILE, TrainingState, _widened  # noqa: F401

# the loop's settings, the EMA and the monitors lived here before the split: same import path
from genlab.train.config import EMA, TrainConfig, resolve_device
from genlab.train.data import BatchSource, IndexStream, shard_of
from genlab.train.export import TrainerOutputs
from genlab.train.monitor import GracefulStop, StepProfiler, _postfix, hardware_description
from genlab.train.task import Task

logger = logging.getLogger(__name__)

MAX_CONSECUTIVE_SPIKES = 20  # after this many skipped spikes in a row the new level is accepted
LOG_FILE = "log.jsonl"  # one JSON line per log interval: step, losses, lr, images_per_s


class Trainer(TrainingState, TrainerOutputs):
    """Runs `task` on batches from `data` as `config` says. `run()` returns a summary dict."""

    def __init__(self, task: Task, data: BatchSource, config: TrainConfig):
        config.validate()
        self.task, self.data, self.config = task, data, config
        self.out_dir = Path(config.out_dir)
        device = resolve_device(config.device)
        self.dist = D.setup(device.type)
        if device.type == "cuda" and self.dist.enabled:
            device = torch.device("cuda", self.dist.local_rank)
        self.device = device
        shards = self.dist.world_size * config.grad_accum
        if config.batch_size % shards:
            raise InvalidArgument(
                "batch_size",
                f"a multiple of world_size × grad_accum = {shards}",
                config.batch_size,
            )
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True  # fixed training shapes: pick the fastest convs
        use_bf16 = config.precision == "bf16" or (
            config.precision == "auto" and device.type == "cuda"
        )
        self.autocast_dtype = torch.bfloat16 if use_bf16 else None

        task.device = device
        self.modules = task.modules()
        for m in self.modules.values():
            m.to(device)
            m.train()
        # FSDP2 shards parameters in place (the optimizers, EMA and checkpoints then hold
        # DTensors); DDP wraps each optimizer group below, once its parameters are known.
        self.sharded: list[str] = []
        if self.dist.enabled and config.strategy == "fsdp":
            self.sharded = D.shard_modules(
                self.modules, device, self.dist.world_size, self.autocast_dtype
            )
        # Regional compilation of the models that offer it (their repeated blocks, in place: the
        # parameters, state dicts and checkpoints are those of the eager model).
        self.compiled = [
            name
            for name, m in self.modules.items()
            if config.compile
            and type(m).compile is not torch.nn.Module.compile
            and m.compile(**config.compile_kwargs)
        ]
        self.compile_error: str | None = None
        self.groups = task.optimizer_groups()
        self.optimizers = {name: self._make_optimizer(g) for name, g in self.groups.items()}
        self.ddp: dict[str, torch.nn.parallel.DistributedDataParallel] = {}
        if self.dist.enabled and config.strategy == "ddp":
            self.ddp = {
                name: D.wrap_ddp(task, name, self._params(name), device) for name in self.groups
            }
        ema_names = task.ema_modules()
        self.ema = EMA({n: self.modules[n] for n in ema_names}, config.ema_decay, config.ema_warmup)
        self.stream = IndexStream(data.length, config.seed, config.shuffle)
        self._fetcher = None  # one background thread, for sources that allow prefetching
        self._pending: tuple[int, Any] | None = None  # (step, Future of its host batches)
        if getattr(data, "prefetch", False):
            self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="genlab-prefetch")
        self.step = 0
        self.samples_seen = 0
        self.loss_mean: dict[str, float] = {}
        self.skipped = 0
        self._spikes: dict[str, int] = {}  # consecutive skipped spikes per optimizer group
        self.wall_time = 0.0  # seconds of training over all runs (resumes add up)
        self.log_history: list[dict[str, float]] = []

    # ------------------------------------------------------------------ setup

    def _params(self, group_name: str) -> list[torch.nn.Parameter]:
        return [p for pg in self.optimizers[group_name].param_groups for p in pg["params"]]

    def _make_optimizer(self, group) -> torch.optim.Optimizer:
        c = self.config
        params = [p for p in group.params if p.requires_grad]
        if not params:
            raise InvalidArgument("optimizer_groups", "groups with trainable parameters", 0)
        wd = c.weight_decay if group.weight_decay is None else group.weight_decay
        lr = c.lr if group.lr is None else group.lr
        scale = {id(p): 1.0 for p in params}
        for chosen, factor in group.lr_scales:
            if not (math.isfinite(factor) and factor > 0):
                raise InvalidArgument("lr_scales", "factors > 0", factor)
            for p in chosen:
                if id(p) in scale:
                    scale[id(p)] = factor
        param_groups = []
        for factor in sorted(set(scale.values())):
            ps = [p for p in params if scale[id(p)] == factor]
            # nanoGPT's rule: decay matrices, kernels and embeddings (dim ≥ 2), never biases
            # or norm gains
            decay = [p for p in ps if p.dim() >= 2]
            no_decay = [p for p in ps if p.dim() < 2]
            param_groups += [
                {"params": chosen, "weight_decay": w, "initial_lr": lr * factor}
                for chosen, w in ((decay, wd), (no_decay, 0.0))
                if chosen
            ]
        kwargs: dict[str, Any] = {"lr": lr, "betas": tuple(group.betas or c.betas)}
        if self.device.type == "cuda":
            kwargs["fused"] = True
        return torch.optim.AdamW(param_groups, **kwargs)

    def lr_factor(self, step: int) -> float:
        """Multiplier of the base learning rate at `step`: linear warm-up, then constant/cosine.

        With `decay_steps` the constant schedule becomes warm-up–stable–decay: the last
        `decay_steps` of the run fall along a cosine to min_lr_ratio, so a long run trained in
        chunks at constant rate can be ended (annealed) by its final chunk. `rewarm_at` starts a
        second linear warm-up there (a chunk that goes on after such an end)."""
        c = self.config
        if c.warmup_steps and step < c.warmup_steps:
            return (step + 1) / c.warmup_steps
        ramp = 1.0  # a second warm-up, for a chunk that resumes after the rate was decayed
        if c.rewarm_at is not None and c.warmup_steps and step >= c.rewarm_at:
            ramp = min(1.0, (step - c.rewarm_at + 1) / c.warmup_steps)
        return ramp * self._scheduled(step)

    def _scheduled(self, step: int) -> float:
        c = self.config
        if c.lr_schedule == "cosine":
            span = max(1, (c.schedule_steps or c.steps) - c.warmup_steps)
            progress = min(1.0, (step - c.warmup_steps) / span)
        elif c.decay_steps and step >= c.steps - c.decay_steps:
            progress = min(1.0, (step - (c.steps - c.decay_steps)) / c.decay_steps)
        else:
            return 1.0
        return c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    def _seed_step(self, step: int) -> None:
        # Every step's randomness (noise, timesteps, dropout) derives from (seed, step, rank):
        # a resumed run, or one at another world size, draws exactly what it would have drawn.
        seed = (self.config.seed * 1_000_003 + step * 7_919 + self.dist.rank) % 2**63
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # ------------------------------------------------------------------ the loop

    def _host_batches(self, step: int) -> list[Any]:
        """This rank's micro-batches of `step`, as the source gives them (on the host)."""
        c = self.config
        indices = self.stream.indices(step * c.batch_size, c.batch_size)
        return [
            self.data.fetch(
                shard_of(indices, m, self.dist.rank, self.dist.world_size, c.grad_accum)
            )
            for m in range(c.grad_accum)
        ]

    def _take_pending(self, step: int | None = None) -> list[Any] | None:
        """Wait for the prefetch in flight; its batches if it was for `step`, else None."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        batches = pending[1].result()  # always waited for: one fetch at a time
        return batches if pending[0] == step else None

    def _batches(self, step: int) -> list[Any]:
        batches = self._take_pending(step)
        if batches is None:
            batches = self._host_batches(step)
        if self._fetcher is not None and step + 1 < self.config.steps:
            self._pending = (step + 1, self._fetcher.submit(self._host_batches, step + 1))
        return [_to_device(b, self.device) for b in batches]

    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step for every group that is due; returns this step's logs."""
        c = self.config
        self._seed_step(step)
        with record_function("genlab: batches"):
            batches = self._batches(step)
        factor = self.lr_factor(step)
        logs: dict[str, float] = {}
        for name, group in self.groups.items():
            if step % group.every:
                continue
            opt = self.optimizers[name]
            for pg in opt.param_groups:
                pg["lr"] = pg["initial_lr"] * factor
            opt.zero_grad(set_to_none=True)
            loss_sum = torch.zeros((), device=self.device)
            step_logs: dict[str, torch.Tensor | float] = {}
            wrapper = self.ddp.get(name)
            for m, batch in enumerate(batches):
                # DDP/FSDP reduce the gradients during the last micro-step's backward only
                sync = m == len(batches) - 1
                with D.gradient_sync(wrapper, [self.modules[n] for n in self.sharded], sync):
                    with record_function("genlab: forward"), self._autocast():
                        if wrapper is not None:
                            loss, extra = wrapper(batch)
                        else:
                            loss, extra = self.task.training_step(batch, name)
                    with record_function("genlab: backward"):
                        (loss / c.grad_accum).backward()
                loss_sum += D.full_tensor(loss.detach()).float()
                for k, v in extra.items():
                    v = v.detach().float() if torch.is_tensor(v) else float(v)
                    step_logs[k] = step_logs.get(k, 0.0) + v / c.grad_accum
            params = self._params(name)
            loss_value = D.mean_scalar(loss_sum / c.grad_accum, self.dist)
            clip = c.grad_clip if group.grad_clip is None else group.grad_clip
            grad_norm = torch.nn.utils.clip_grad_norm_(params, clip if clip else float("inf"))
            grad_norm = D.full_tensor(grad_norm)  # FSDP2: the norm over every rank's shards
            with record_function("genlab: sync (loss, grad norm)"):
                loss_f, norm_f = float(loss_value), float(grad_norm)
            problem = self._guard(name, loss_f, norm_f, step)
            if problem:
                self.skipped += 1
                opt.zero_grad(set_to_none=True)
                logger.warning(f"step {step}: {name} update skipped: {problem}")
            else:
                with record_function("genlab: optimizer"):
                    opt.step()
            key = "loss" if len(self.groups) == 1 else f"loss/{name}"
            logs[key] = loss_f
            logs[f"grad_norm/{name}" if len(self.groups) > 1 else "grad_norm"] = norm_f
            for k, v in step_logs.items():
                logs[k] = float(v)
        with record_function("genlab: ema"):
            self.ema.update()
        logs["lr"] = c.lr * factor
        return logs

    def _compiled_step(self, step: int) -> dict[str, float]:
        """train_step; when torch.compile fails (at a first call or at a new shape), the models
        go back to eager, the run says why and the step is taken again from its start (a
        compilation error is raised before any update: forward and backward are compiled when
        the forward first runs)."""
        if not self.compiled:
            return self.train_step(step)

        try:
            return self.train_step(step)
        except Exception as e:
            # dynamo is loaded by now (the step ran compiled); imported here, not at the top,
            # because importing it costs ~1.5 s in every genlab process that never compiles
            from torch._dynamo.exc import TorchDynamoException

            if not isinstance(e, TorchDynamoException):
                raise
            self.compile_error = compile_failure(e)
            logger.warning(
                f"step {step}: torch.compile failed ({self.compile_error}); going on eager"
            )
            for name in self.compiled:
                uncompile(self.modules[name])
            self.compiled = []
            for opt in self.optimizers.values():
                opt.zero_grad(set_to_none=True)
            return self.train_step(step)

    def _guard(self, name: str, loss: float, grad_norm: float, step: int) -> str | None:
        """Why this update must be skipped (non-finite loss/gradient, loss spike), or None."""
        if not math.isfinite(loss):
            return f"loss is {loss}"
        if not math.isfinite(grad_norm):
            return f"gradient norm is {grad_norm}"
        mean = self.loss_mean.get(name)
        c = self.config
        spike = (
            c.spike_factor
            and mean is not None
            and mean > 0
            and step >= c.spike_warmup
            and loss > c.spike_factor * mean
        )
        if spike and self._spikes.get(name, 0) < MAX_CONSECUTIVE_SPIKES:
            self._spikes[name] = self._spikes.get(name, 0) + 1
            return f"loss {loss:.4g} is a spike (> {c.spike_factor:g} × running mean {mean:.4g})"
        if spike:  # the loss level moved for good: accept it rather than stall forever
            logger.warning(f"step {step}: {name} loss stays high; accepting it")
            mean = None
        self._spikes[name] = 0
        self.loss_mean[name] = loss if mean is None else 0.98 * mean + 0.02 * loss
        return None

    def run(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train to `config.steps` (or until the time budget is spent), then save and export.

        `stop_at` ends this run early at that step, as an interruption would (the schedule still
        spans `config.steps`), so that a later `resume()` + `run()` continues it.
        """
        c = self.config
        end = c.steps if stop_at is None else min(stop_at, c.steps)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        start_step = self.step
        t0 = time.monotonic()
        wall_before = self.wall_time
        last_ckpt = t0
        # The budget may have started before run() (process start: data preparation counts).
        # Keep a reserve of it for the final checkpoint, sample grid and export.
        deadline = None
        if c.time_budget is not None:
            start = t0 if c.budget_start is None else c.budget_start
            deadline = start + c.time_budget - min(30.0, 0.05 * c.time_budget)
        bar = tqdm(
            total=c.steps,
            initial=start_step,
            disable=not (c.progress and self.dist.is_main),
            desc=c.recipe or "train",
            dynamic_ncols=True,
        )
        sums: dict[str, float] = {}
        n_logged, t_log, stop_reason = 0, time.monotonic(), None
        signals = GracefulStop()  # SIGTERM/SIGINT: finish the step, save, export, exit
        profiler = None
        if c.profile_steps and self.dist.is_main:
            first = start_step + min(20, max(0, end - start_step - c.profile_steps))
            profiler = StepProfiler(
                self.out_dir / "profile.txt", first, c.profile_steps, self.device
            )
        try:
            while self.step < end:
                if profiler is not None:
                    profiler.before(self.step)
                logs = self._compiled_step(self.step)
                if profiler is not None:
                    profiler.after(self.step)
                self.step += 1
                self.samples_seen += c.batch_size
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
                n_logged += 1
                now = time.monotonic()
                self.wall_time = wall_before + (now - t0)
                bar.update(1)
                if self.step % c.log_every == 0 or self.step == end:
                    self._log(sums, n_logged, now - t_log, bar)
                    sums, n_logged, t_log = {}, 0, now
                if c.sample_every and self.step % c.sample_every == 0:
                    self.save_samples()
                due = (c.checkpoint_every and self.step % c.checkpoint_every == 0) or (
                    c.checkpoint_every_s and now - last_ckpt >= c.checkpoint_every_s
                )
                if D.any_rank(bool(due), self.dist, self.device):
                    self.save_state()
                    if c.export_with_checkpoints and (self.dist.is_main or self.sharded):
                        self.export()  # a usable model survives even a hard kill later on
                    last_ckpt = time.monotonic()
                out_of_time = deadline is not None and now >= deadline
                stop = out_of_time or signals.received is not None
                if D.any_rank(stop, self.dist, self.device) and self.step < end:
                    stop_reason = "time budget" if out_of_time else signals.received
                    why = (
                        f"time budget of {c.time_budget:g} s spent"
                        if out_of_time
                        else f"{signals.received} received"
                    )
                    logger.info(f"{why} at step {self.step}: saving")
                    break
        finally:
            signals.restore()
            with contextlib.suppress(Exception):  # a prefetch for a step this run won't take
                self._take_pending()
        if n_logged:
            self._log(sums, n_logged, time.monotonic() - t_log, bar)
        bar.close()
        self.save_state()
        summary = {
            "recipe": c.recipe,
            "rank": self.dist.rank,
            "world_size": self.dist.world_size,
            "strategy": c.strategy,
            "steps": self.step,
            "steps_this_run": self.step - start_step,
            "samples_seen": self.samples_seen,
            "skipped_steps": self.skipped,
            "wall_time_s": self.wall_time,
            "stopped_early": self.step < c.steps,
            "stop_reason": stop_reason or ("done" if self.step >= c.steps else "stop_at"),
            "state": str(self.state_path),
            "last_logs": self.log_history[-1] if self.log_history else {},
        }
        if c.compile:
            summary["compiled"] = self.compiled
            summary["compile_error"] = self.compile_error
        if self.dist.is_main or self.sharded:  # FSDP: every rank takes part in the forwards
            grid = self.save_samples()
            exported = self.export()
            if self.dist.is_main:
                summary["samples"] = str(grid) if grid else None
                summary["model"] = str(exported) if exported else None
        D.barrier(self.dist)
        return summary

    def _log(self, sums: dict[str, float], n: int, seconds: float, bar) -> None:
        means = {k: v / n for k, v in sums.items()}
        means["images_per_s"] = n * self.config.batch_size / max(seconds, 1e-9)
        means["step"] = self.step
        self.log_history.append(means)
        bar.set_postfix(_postfix(means))
        if self.dist.is_main:
            with open(self.out_dir / LOG_FILE, "a") as f:
                f.write(json.dumps(means) + "\n")

    def close(self) -> None:
        # The DDP wrappers go before the process group: each Reducer holds the group, and a group
        # freed from a Reducer's dealloc joins gloo's worker threads while holding the GIL, which
        # deadlocks when a worker still needs the GIL to free a tensor (seen under load).
        self.ddp.clear()
        gc.collect()
        D.teardown(self.dist)


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


__all__ = [
    "EMA",
    "LOG_FILE",
    "STATE_FILE",
    "GracefulStop",
    "StepProfiler",
    "TrainConfig",
    "Trainer",
    "hardware_description",
    "resolve_device",
]
