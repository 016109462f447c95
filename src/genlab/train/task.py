"""The contract between the one Trainer and every model family: a Task says what to train and how
one step computes its loss; the Trainer owns optimizers, EMA, precision, checkpoints and processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.errors import InvalidArgument


@dataclass
class OptimizerGroup:
    """One AdamW optimizer over `params`; unset fields fall back to the TrainConfig's values.

    Every trainer step runs the groups in the order `optimizer_groups()` returns them (a GAN
    returns {"discriminator": ..., "generator": ...}); a group with `every=k` steps only when
    `step % k == 0`. Weight decay applies to matrices and kernels only, never biases or norms.
    """

    params: Iterable[nn.Parameter]
    lr: float | None = None
    # (parameters, factor): these train at lr × factor (e.g. a new parameter next to
    # pretrained ones when fine-tuning); the warm-up and decay apply to them alike
    lr_scales: Sequence[tuple[Iterable[nn.Parameter], float]] = ()
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    grad_clip: float | None = None
    every: int = 1


class Task:
    """Base class of what the Trainer trains. Override the methods marked "required".

    The trainer sets `self.device` before calling anything else, moves every module from
    `modules()` to it, and runs `training_step` under bf16 autocast on CUDA.
    """

    device: torch.device = torch.device("cpu")

    def modules(self) -> dict[str, nn.Module]:
        """Required. Every module whose state is trained and checkpointed, by a stable name."""
        raise NotImplementedError

    # {"module.parameter-name prefix": factor}: the default optimizer trains those parameters at
    # lr × factor (a recipe sets it, e.g. {"text_encoder.word_residual": 10.0})
    lr_scales: dict[str, float] = {}

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        """Optimizers by name, stepped in this order. Default: one group "main" over all params,
        those named in `lr_scales` at their own multiple of the learning rate."""
        named = [
            (f"{m_name}.{p_name}", p)
            for m_name, m in self.modules().items()
            for p_name, p in m.named_parameters()
            if p.requires_grad
        ]
        scales = []
        for prefix, factor in self.lr_scales.items():
            chosen = [p for n, p in named if n.startswith(prefix)]
            if not chosen:
                raise InvalidArgument("lr_scales", "prefixes of trainable parameters", prefix)
            scales.append((chosen, float(factor)))
        return {"main": OptimizerGroup([p for _, p in named], lr_scales=scales)}

    def training_step(self, batch: Any, optimizer_name: str) -> tuple[torch.Tensor, dict]:
        """Required. Loss (a scalar tensor) for `optimizer_name`'s update, plus scalar logs.

        `batch` is one micro-batch on `self.device`. Logs are floats or 0-d tensors; the trainer
        averages them between log lines. Use torch's global RNG: the trainer seeds it per step.
        """
        raise NotImplementedError

    def ema_modules(self) -> list[str]:
        """Names (keys of `modules()`) whose parameters get an exponential moving average."""
        return []

    def sample_grid(self) -> list | None:
        """Images (tensors in [-1, 1], arrays or PIL) to tile into a progress grid, or None.

        Called under torch.inference_mode with EMA weights swapped in, on rank 0 only.
        """
        return None

    def export(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """(tensors, config) of the final, loadable checkpoint (config["pipeline"] names its
        loader), called with EMA weights swapped in; None if the task exports nothing."""
        return None

    def model_card(self) -> str:
        """Extra Markdown for the model card written beside the exported checkpoint."""
        return ""


def count_parameters(modules: dict[str, nn.Module]) -> int:
    return sum(p.numel() for m in modules.values() for p in m.parameters())
