"""The one training loop every family reuses: batch → loss → backward (DDP or FSDP2 reduce the
gradients under torchrun) → clip → step → EMA, with warm-up, bf16 on CUDA, a NaN/spike guard, sample
grids, atomic checkpoints and exact resume at any world size.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.profiler import record_function
from tqdm import tqdm

from genlab.errors import InvalidArgument, check_choice, check_range
from genlab.io import atomic_path, atomic_write_text, image_grid, save_checkpoint
from genlab.train import checkpoint as ckpt
from genlab.train import distributed as D
from genlab.train.data import BatchSource, IndexStream, shard_of
from genlab.train.task import Task, count_parameters

logger = logging.getLogger(__name__)

STATE_FILE = "checkpoint.safetensors"
MAX_CONSECUTIVE_SPIKES = 20  # after this many skipped spikes in a row the new level is accepted
LOG_FILE = "log.jsonl"  # one JSON line per log interval: step, losses, lr, images_per_s


@dataclass
class TrainConfig:
    """Everything the loop needs; recipes fill it, the CLI overrides a few fields."""

    steps: int = 1000
    batch_size: int = 64  # global: summed over ranks and gradient-accumulation micro-steps
    grad_accum: int = 1
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0  # linear warm-up from 0 to lr
    lr_schedule: str = "constant"  # after warm-up: "constant" or "cosine" (down to min_lr_ratio·lr)
    min_lr_ratio: float = 0.1
    decay_steps: int = 0  # "constant" only: the last N steps decay (cosine) to min_lr_ratio·lr
    rewarm_at: int | None = None  # warm up again over warmup_steps from this step (a new chunk)
    grad_clip: float | None = 1.0
    ema_decay: float = 0.999
    ema_warmup: bool = True  # decay min(ema_decay, (1+n)/(10+n)): short runs still average well
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA, fp32 elsewhere), "fp32", "bf16"
    seed: int = 0
    shuffle: bool = True
    log_every: int = 50
    sample_every: int = 0  # steps between sample grids (0: only at the end)
    checkpoint_every: int = 0  # steps between training-state checkpoints (0: off)
    # seconds between checkpoints (0: off); by default a kill loses at most five minutes of work
    checkpoint_every_s: float = 300.0
    time_budget: float | None = None  # seconds for this run; stop cleanly and save when spent
    budget_start: float | None = None  # time.monotonic() the budget counts from (None: run())
    spike_factor: float = 0.0  # skip a step whose loss exceeds factor × running mean (0: off)
    spike_warmup: int = 50  # steps before the spike test applies
    profile_steps: int = 0  # > 0: profile that many steps from this run's 20th (profile.txt)
    compile: bool = False  # torch.compile the models' repeated blocks (eager again if it fails)
    compile_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"mode": ...}
    strategy: str = "ddp"  # several processes: "ddp" (DistributedDataParallel) or "fsdp" (FSDP2)
    out_dir: str = "runs/default"
    device: str = "auto"
    progress: bool = True
    export_name: str | None = None  # file stem of the exported model (default: the recipe name)
    export_dtype: str = "float32"  # "float16" for bundled weights
    export_with_checkpoints: bool = True  # export the model at every periodic checkpoint too
    recipe: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # recipe facts for the model card

    def validate(self) -> None:
        for name in ("steps", "batch_size", "grad_accum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(name, "an integer ≥ 1", value)
        check_range("lr", self.lr, 0, low_open=True)
        check_choice("lr_schedule", self.lr_schedule, ("constant", "cosine"))
        if isinstance(self.decay_steps, bool) or not isinstance(self.decay_steps, int):
            raise InvalidArgument("decay_steps", "an integer ≥ 0", self.decay_steps)
        if self.decay_steps and not 0 < self.decay_steps <= self.steps:
            raise InvalidArgument("decay_steps", f"0 or 1..steps ({self.steps})", self.decay_steps)
        if self.rewarm_at is not None and (
            isinstance(self.rewarm_at, bool)
            or not isinstance(self.rewarm_at, int)
            or not 0 <= self.rewarm_at < self.steps
        ):
            raise InvalidArgument("rewarm_at", f"a step in 0..{self.steps - 1}", self.rewarm_at)
        if self.decay_steps and self.lr_schedule != "constant":
            raise InvalidArgument(
                "decay_steps", "0 with a cosine schedule (it decays already)", self.decay_steps
            )
        check_choice("precision", self.precision, ("auto", "fp32", "bf16"))
        check_choice("strategy", self.strategy, D.STRATEGIES)
        check_choice("export_dtype", self.export_dtype, ("float32", "float16", "bfloat16"))
        check_range("ema_decay", self.ema_decay, 0, 1)
        if self.time_budget is not None:
            check_range("time_budget", self.time_budget, 0, low_open=True)


def resolve_device(name: str) -> torch.device:
    """ "auto", "cpu", "cuda" or "cuda:N"; under torchrun plain "cuda" means this rank's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgument("device", "an available device (CUDA is not available here)", name)
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    try:
        return torch.device(name)
    except RuntimeError:
        raise InvalidArgument("device", "cpu, cuda or cuda:N", name) from None


class EMA:
    """Exponential moving average of trainable parameters only: buffers (e.g. norm statistics) are
    never averaged, nor are frozen parameters (their average is themselves); the live ones are used
    whenever EMA weights are swapped in."""

    def __init__(self, modules: dict[str, torch.nn.Module], decay: float, warmup: bool):
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self.params = {
            f"{m}.{n}": p
            for m, mod in modules.items()
            for n, p in mod.named_parameters()
            if p.requires_grad
        }
        self.shadow = {k: p.detach().clone() for k, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        n = self.updates
        decay = min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay
        if not self.shadow:
            return
        # shadow ← shadow + (1 − decay)·(param − shadow)
        torch._foreach_lerp_(
            list(self.shadow.values()), [p.detach() for p in self.params.values()], 1 - decay
        )

    @contextlib.contextmanager
    def swapped_in(self):
        """Temporarily load the EMA weights into the live modules."""
        with torch.no_grad():
            backup = {k: p.detach().clone() for k, p in self.params.items()}
            for k, p in self.params.items():
                p.copy_(self.shadow[k])
        try:
            yield
        finally:
            with torch.no_grad():
                for k, p in self.params.items():
                    p.copy_(backup[k])


class Trainer:
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
            from concurrent.futures import ThreadPoolExecutor

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
            span = max(1, c.steps - c.warmup_steps)
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

    # ------------------------------------------------------------------ checkpoints

    @property
    def state_path(self) -> Path:
        return self.out_dir / STATE_FILE

    def trainer_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "loss_mean": self.loss_mean,
            "skipped": self.skipped,
            "consecutive_spikes": self._spikes,
            "ema_updates": self.ema.updates,
            "wall_time": self.wall_time,
            "world_size": self.dist.world_size,
            "strategy": self.config.strategy,
            "batch_size": self.config.batch_size,
            "recipe": self.config.recipe,
            "seed": self.config.seed,
        }

    def save_state(self) -> Path | None:
        """Write the training state, whole tensors in one file (rank 0 writes; under FSDP every
        rank first gathers its shards), and return its path."""
        path = None
        if self.dist.is_main or self.sharded:
            tensors, config = ckpt.collect_training_state(
                self.modules, self.ema.shadow, self.optimizers, self.trainer_state()
            )
            if self.dist.is_main:
                path = ckpt.write_training_state(self.state_path, tensors, config)
        D.barrier(self.dist)
        return path

    def init_from(self, path: str | Path) -> dict[str, list[str]]:
        """Start from the weights of an exported model (`path`, e.g. a bundled model's file):
        each module takes the tensors named `<module>.<parameter>`; parameters the file lacks
        (new ones, e.g. a text encoder's word residual) keep their initialisation; optimizer,
        step and schedule start fresh, the EMA from the loaded weights. Returns what was new;
        the file's tensors that no parameter takes (e.g. a word residual the recipe's encoder
        lacks) are listed in `self.init_unused`. A tensor of another shape, or a file that
        fills none of the modules, is an error."""
        from genlab.errors import CheckpointError
        from genlab.io import load_checkpoint

        tensors, _ = load_checkpoint(path, device=self.device)
        new: dict[str, list[str]] = {}
        used: set[str] = set()  # the file's tensors some parameter took
        for name, module in self.modules.items():
            own = module.state_dict()
            prefix = f"{name}."
            theirs = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            for key, value in list(theirs.items()):
                if key in own and _widened(value, own[key]):
                    # more inputs than the file has (e.g. a layout adapter that reads the
                    # background too): the file's fill the first, the new ones start at zero,
                    # as inpainting U-Nets are grown from text-to-image ones
                    grown = own[key].new_zeros(own[key].shape)
                    grown[:, : value.shape[1]] = value.to(grown.dtype)
                    theirs[key] = grown
                    new.setdefault(name, []).append(
                        f"{key} (inputs {value.shape[1]} -> {own[key].shape[1]}, new ones zero)"
                    )
                elif key in own and own[key].shape != value.shape:
                    raise CheckpointError(
                        f"{path}: {prefix}{key} has shape {tuple(value.shape)}, the model's "
                        f"{tuple(own[key].shape)}: not a model this recipe can start from"
                    )
            fit = {k: D.shard_like(v, own[k]) for k, v in theirs.items() if k in own}
            used |= {prefix + k for k in fit}
            missing, _ = module.load_state_dict(fit, strict=False)
            new[name] = list(missing) + new.get(name, [])
        if not used:
            raise CheckpointError(f"{path}: none of its tensors fit this recipe's models")
        self.init_unused = sorted(set(tensors) - used)
        with torch.no_grad():
            for key, p in self.ema.params.items():
                self.ema.shadow[key].copy_(p)
        return new

    def resume(self, path: str | Path | None = None) -> bool:
        """Load the training state from `path` (default: OUT/checkpoint.safetensors) if it exists;
        a corrupt one is refused (CheckpointError) and left as it is, so is the one before it."""
        path = Path(path) if path else self.state_path
        if not path.is_file():
            # Killed between a save's two renames: the state before the newest is whole.
            path = ckpt.previous_path(path)
            if not path.is_file():
                return False
        tensors, config = ckpt.load_training_state(path, self.device)
        state = config["trainer"]
        if state["batch_size"] != self.config.batch_size:
            raise InvalidArgument(
                "batch_size",
                f"the checkpoint's global batch size {state['batch_size']} to resume exactly",
                self.config.batch_size,
            )
        ckpt.restore_modules(self.modules, tensors)
        with torch.no_grad():
            for key, value in self.ema.shadow.items():
                value.copy_(D.shard_like(tensors[f"ema/{key}"], value))
        for name, opt in self.optimizers.items():
            ckpt.restore_optimizer(name, opt, tensors, config["optimizers"][name])
        self.step = state["step"]
        self.samples_seen = state["samples_seen"]
        self.loss_mean = state["loss_mean"]
        self.skipped = state["skipped"]
        self._spikes = dict(state.get("consecutive_spikes", {}))
        self.ema.updates = state["ema_updates"]
        self.wall_time = state["wall_time"]
        return True

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
        from torch._dynamo.exc import TorchDynamoException

        from genlab.nn.utils import compile_failure, uncompile

        try:
            return self.train_step(step)
        except TorchDynamoException as e:
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
        D.teardown(self.dist)

    # ------------------------------------------------------------------ outputs

    def save_samples(self) -> Path | None:
        """Rank 0 draws the task's sample grid with EMA weights and writes it; under FSDP every
        rank draws (the sharded forwards are collectives) and rank 0 writes."""
        if not (self.dist.is_main or self.sharded):
            return None
        for m in self.modules.values():
            m.eval()
        try:
            with self.ema.swapped_in(), torch.inference_mode():
                images = self.task.sample_grid()
        finally:
            for m in self.modules.values():
                m.train()
        if not images or not self.dist.is_main:
            return None
        path = self.out_dir / "samples" / f"step_{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = image_grid(images, scale=max(1, 128 // _side(images[0])))
        with atomic_path(path) as tmp:
            grid.save(tmp, format="PNG")
        return path

    def export(self) -> Path | None:
        """Write the task's final checkpoint (EMA weights, whole tensors) and its model card into
        OUT (rank 0; under FSDP every rank calls it to gather the shards)."""
        c = self.config
        for m in self.modules.values():
            m.eval()
        try:
            with self.ema.swapped_in(), torch.no_grad():
                exported = self.task.export()
        finally:
            for m in self.modules.values():
                m.train()
        if exported is None:
            return None
        tensors, config = exported
        tensors = {k: D.full_tensor(v) for k, v in tensors.items()}
        if not self.dist.is_main:
            return None
        name = c.export_name or c.recipe or "model"
        config = dict(config)
        config.setdefault("name", name)
        config["training"] = {
            "recipe": c.recipe,
            "steps": self.step,
            "samples_seen": self.samples_seen,
            "batch_size": c.batch_size,
            "wall_time_s": round(self.wall_time, 1),
            "hardware": hardware_description(self.device, self.dist.world_size),
            "precision": ("bf16" if self.autocast_dtype else "fp32")
            + (", torch.compile" if self.compiled else ""),
        }
        path = self.out_dir / f"{name}.safetensors"
        save_checkpoint(path, tensors, config, dtype=getattr(torch, c.export_dtype))
        atomic_write_text(path.with_suffix(".md"), self.model_card_text(name, config))
        return path

    def model_card_text(self, name: str, config: dict) -> str:
        c, t = self.config, config["training"]
        n_params = count_parameters(self.modules)
        lines = [
            f"# {name}",
            "",
            f"Trained by `genlab train --recipe {c.recipe}` with genlab's shared Trainer.",
            "",
            "| fact | value |",
            "|---|---|",
            f"| recipe | `{c.recipe}` |",
            f"| parameters | {n_params:,} |",
            f"| steps | {t['steps']:,} |",
            f"| images seen | {t['samples_seen']:,} |",
            f"| global batch | {c.batch_size} |",
            f"| learning rate | {c.lr:g} ({c.lr_schedule}, {c.warmup_steps} warm-up steps"
            + (
                f"; the last {c.decay_steps} steps decayed to {c.min_lr_ratio * c.lr:g}"
                if c.decay_steps
                else ""
            )
            + (f"; warmed up again from step {c.rewarm_at}" if c.rewarm_at is not None else "")
            + ") |",
            f"| EMA decay | {c.ema_decay:g} |",
            f"| precision | {t['precision']} |",
            f"| hardware | {t['hardware']} |",
            f"| wall time | {t['wall_time_s']:.0f} s |",
            f"| skipped steps (NaN/spike guard) | {self.skipped} |",
            f"| weights | {c.export_dtype}, EMA |",
        ]
        for k, v in c.extra.items():
            lines.append(f"| {k} | {v} |")
        if self.log_history:
            last = self.log_history[-1]
            lines.append(f"| final training loss | {last.get('loss', float('nan')):.4f} |")
            lines.append(f"| throughput | {last['images_per_s']:.0f} images/s |")
        extra = self.task.model_card()
        if extra:
            lines += ["", extra.strip()]
        lines += ["", "Measured metrics: (added after evaluation)", ""]
        return "\n".join(lines)


class StepProfiler:
    """torch.profiler over steps [first, first + count) of a run; `profile.txt` says where a
    step's time went: wall time, device busy time, the trainer's phases (record_function
    "genlab: ..."), then operators by device and by host time. It never stops training: a
    profiler failure is written to the report instead."""

    def __init__(self, path: Path, first: int, count: int, device: torch.device):
        self.path, self.first, self.last = Path(path), first, first + count - 1
        self.count, self.device = count, device
        self.prof, self.t0 = None, 0.0

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def before(self, step: int) -> None:
        if step != self.first:
            return
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU]
        if self.device.type == "cuda":
            activities.append(ProfilerActivity.CUDA)
        try:
            self._sync()
            self.prof = profile(activities=activities, record_shapes=False)
            self.prof.__enter__()
        except Exception as e:  # noqa: BLE001 - a report, not a failure
            self.prof = None
            atomic_write_text(self.path, f"profiler did not start: {e!r}\n")
        self.t0 = time.monotonic()

    def after(self, step: int) -> None:
        if step != self.last or self.prof is None:
            return
        self._sync()
        wall_ms = (time.monotonic() - self.t0) * 1000 / self.count
        prof, self.prof = self.prof, None
        try:
            prof.__exit__(None, None, None)
            atomic_write_text(self.path, self.report(prof, wall_ms))
        except Exception as e:  # noqa: BLE001
            atomic_write_text(
                self.path, f"profile of steps {self.first}-{self.last} failed: {e!r}\n"
            )

    def report(self, prof, wall_ms: float) -> str:
        n = self.count
        events = prof.key_averages()
        dev = "self_device_time_total"
        cuda = self.device.type == "cuda"

        def device_us(e) -> float:
            return float(getattr(e, dev, 0.0) or 0.0)

        busy_ms = sum(device_us(e) for e in events) / 1000 / n if cuda else float("nan")
        lines = [
            f"steps {self.first}-{self.last} on {self.device} (torch {torch.__version__})",
            f"wall time per step: {wall_ms:.2f} ms (profiler overhead included)",
        ]
        if cuda:
            lines.append(
                f"device busy per step: {busy_ms:.2f} ms ({busy_ms / wall_ms:.0%} of the wall "
                "time; the rest the GPU waits for the host)"
            )
        lines += ["", "trainer phases (host time per step, ms; device time they launched):"]
        for e in sorted(events, key=lambda e: -e.cpu_time_total):
            if e.key.startswith("genlab: "):
                lines.append(
                    f"  {e.key[8:]:28s} host {e.cpu_time_total / 1000 / n:8.2f}"
                    + (f"   device {e.device_time_total / 1000 / n:8.2f}" if cuda else "")
                )
        if cuda:
            lines += ["", "by device time:", events.table(sort_by=dev, row_limit=25)]
        lines += ["", "by host time:", events.table(sort_by="self_cpu_time_total", row_limit=25)]
        return "\n".join(lines) + "\n"


class GracefulStop:
    """Turns the first SIGTERM or SIGINT into a request to stop after the current step (the
    loop then saves and exports); a second one acts as usual. Main thread only."""

    SIGNALS = ("SIGTERM", "SIGINT")

    def __init__(self):
        self.received: str | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for name in self.SIGNALS:
            sig = getattr(signal, name)
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        self.restore()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def hardware_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = (
            f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
        )
    return f"{world_size} × {name}" if world_size > 1 else name


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _side(image) -> int:
    if torch.is_tensor(image):
        return int(image.shape[-1])
    if hasattr(image, "size") and not isinstance(image, np.ndarray):
        return int(image.size[0])
    return int(np.asarray(image).shape[1])


def _postfix(means: dict[str, float]) -> dict[str, str]:
    out = {}
    for k, v in means.items():
        if k in ("step", "lr") or k.startswith("grad_norm"):
            continue
        out[k] = f"{v:.0f}" if k == "images_per_s" else f"{v:.4g}"
    return out


def _widened(theirs: torch.Tensor, own: torch.Tensor) -> bool:
    """Whether `own` is `theirs` with more input channels (dim 1), all else the same."""
    return (
        theirs.dim() == own.dim() >= 2
        and theirs.shape[0] == own.shape[0]
        and theirs.shape[2:] == own.shape[2:]
        and theirs.shape[1] < own.shape[1]
    )
