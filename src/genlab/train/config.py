"""The training loop's settings (`TrainConfig`, which recipes fill and the CLI overrides), the
device a run asks for, and the exponential moving average of the trained weights.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from genlab.errors import InvalidArgument, check_choice, check_int, check_range
from genlab.train import distributed as D


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
    # "cosine" only: the schedule's length when the run stops before its end (a run stopped part
    # way along a longer schedule, as a time budget once stopped world-vq-ar); None: `steps`
    schedule_steps: int | None = None
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
        if self.schedule_steps is not None:
            check_int("schedule_steps", self.schedule_steps, self.steps)  # stops, never overruns
            if self.lr_schedule != "cosine":
                raise InvalidArgument(
                    "schedule_steps", "None with a constant schedule", self.schedule_steps
                )
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
