"""The smallest recipe: a two-layer MLP regressing a fixed random function, trained in a second.
It exercises the whole Trainer (multi-process, accumulation, resume) and is the example to copy.
"""

from __future__ import annotations

import torch
from torch import nn

from genlab.train.data import TensorSource
from genlab.train.recipes import RecipeOptions, TrainJob, apply_options, register_recipe
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig


class RegressionTask(Task):
    """Mean squared error of an MLP on (x, y) pairs; deterministic given the batch."""

    def __init__(self, dim: int = 8, hidden: int = 32, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        with torch.no_grad():
            for p in self.net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)

    def modules(self):
        return {"net": self.net}

    def ema_modules(self):
        return ["net"]

    def training_step(self, batch, optimizer_name):
        pred = self.net(batch["x"]).squeeze(-1)  # (B, dim) -> (B,)
        loss = torch.mean((pred - batch["y"]) ** 2)
        return loss, {}


def regression_data(n: int = 512, dim: int = 8, seed: int = 0) -> TensorSource:
    """y = sin(x·w) + 0.5·x₀, a smooth target an MLP can fit."""
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, dim, generator=gen)
    w = torch.randn(dim, generator=gen)
    y = torch.sin(x @ w) + 0.5 * x[:, 0]
    return TensorSource({"x": x, "y": y})


@register_recipe("toy-regression")
def toy_regression(options: RecipeOptions) -> TrainJob:
    """MLP regression on a fixed random function (seconds on a CPU): the Trainer's smoke test."""
    config = TrainConfig(steps=200, batch_size=32, lr=1e-2, warmup_steps=10, log_every=10)
    apply_options(config, options, "toy-regression")
    return TrainJob(RegressionTask(seed=options.seed), regression_data(seed=options.seed), config)
