"""Named training recipes: `@register_recipe("name")` in any module of genlab.train makes
`genlab train --recipe name` work; modules are discovered with pkgutil, no central list to edit.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from genlab.errors import NotFound
from genlab.train.data import BatchSource
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig


@dataclass
class RecipeOptions:
    """What the command line may change; None means "the recipe's own choice"."""

    steps: int | None = None
    out_dir: str | None = None
    device: str = "auto"
    time_budget: float | None = None
    batch_size: int | None = None
    seed: int = 0
    tiny: bool = False  # tiny model and data: a smoke run that takes seconds on a CPU
    data_size: int | None = None  # samples to prepare, for recipes that generate their data
    decay_steps: int | None = None  # end the run with this many steps of learning-rate decay
    rewarm_at: int | None = None  # warm the learning rate up again from this step
    profile_steps: int = 0  # steps to profile with torch.profiler (Trainer: profile.txt)
    compile: bool = False  # torch.compile the models' blocks (Trainer falls back to eager)
    lr: float | None = None  # peak learning rate (default: the recipe's), e.g. to fine-tune
    scenes: str | None = None  # world-t2i recipes: the scene mix to render (SCENE_MIXES)
    data: str | None = None  # text-to-image recipes: your shards or captioned image folder
    text_encoder: str | None = None  # text-to-image recipes: another text encoder (TEXT_ENCODERS)
    strategy: str = "ddp"  # several processes: "ddp" (DistributedDataParallel) or "fsdp" (FSDP2)
    grad_accum: int | None = None  # micro-steps per optimizer step (default: the recipe's)
    save_every: int | None = None  # steps between training-state checkpoints (0: none by steps)
    save_every_minutes: float | None = None  # minutes between them (0: none by time)
    progress: bool = True
    started: float = field(default_factory=time.monotonic)  # when the command started


@dataclass
class TrainJob:
    """What a recipe returns: the task, its data and the loop's settings."""

    task: Task
    data: BatchSource
    config: TrainConfig


@dataclass
class Recipe:
    name: str
    build: Callable[[RecipeOptions], TrainJob]
    description: str
    takes: tuple[str, ...] = ()  # RecipeOptions fields beyond the common ones that it reads


_RECIPES: dict[str, Recipe] = {}
_imported = False


def register_recipe(name: str, takes: tuple[str, ...] = ()):
    """Decorator for `build(options: RecipeOptions) -> TrainJob`; its docstring's first line
    describes the recipe in `genlab train --list`. `takes` names the recipe-specific options it
    reads (e.g. "scenes"); the command line refuses them for the other recipes."""

    def deco(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        _RECIPES[name] = Recipe(name, fn, doc[0] if doc else "", tuple(takes))
        return fn

    return deco


def _import_all() -> None:
    global _imported
    if _imported:
        return
    import genlab.train as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    _imported = True


def list_recipes() -> dict[str, Recipe]:
    _import_all()
    return dict(sorted(_RECIPES.items()))


def get_recipe(name: str) -> Recipe:
    recipes = list_recipes()
    if name not in recipes:
        raise NotFound(f"recipe: unknown recipe {name!r}; known recipes: {', '.join(recipes)}")
    return recipes[name]


def apply_options(config: TrainConfig, options: RecipeOptions, name: str) -> TrainConfig:
    """Fill the fields every recipe takes from the command line into the recipe's config."""
    config.recipe = name
    if options.steps is not None:
        config.steps = options.steps
    if options.batch_size is not None:
        config.batch_size = options.batch_size
    if options.decay_steps is not None:
        config.decay_steps = options.decay_steps
    if options.rewarm_at is not None:
        config.rewarm_at = options.rewarm_at
    config.profile_steps = options.profile_steps
    if options.lr is not None:
        config.lr = options.lr
    config.compile = options.compile
    config.strategy = options.strategy
    if options.grad_accum is not None:
        config.grad_accum = options.grad_accum
    config.out_dir = options.out_dir or f"runs/{name}"
    config.device = options.device
    config.time_budget = options.time_budget  # counted from Trainer.run(); a recipe that
    # prepares data first sets config.budget_start = options.started to count that time too
    config.seed = options.seed
    config.progress = options.progress
    if options.save_every is not None:
        config.checkpoint_every = options.save_every
    if options.save_every_minutes is not None:
        config.checkpoint_every_s = options.save_every_minutes * 60
    return config


def process_start() -> float:
    """When this process started, on the time.monotonic() clock (Linux; else: now)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return time.monotonic() - max(0.0, age)
    except (OSError, ValueError, IndexError):
        return time.monotonic()
