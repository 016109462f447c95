"""Named training recipes. A recipe is data: a family's base config (a frozen dataclass beside its
builder), a few overrides, one description line and one `tiny` overlay for smoke runs; the
modules of this package hold them (`genlab train --list`). Python dataclasses rather than TOML
files: the overrides reuse named sizes (UNET_WORLD, ...) and are checked against the family's
fields when the recipe is declared, with no loader or schema to keep beside them.

A recipe that needs code (the Trainer's toy example, the evaluation networks) registers a
function instead: `@register_recipe("name")` in any module of genlab.train.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import genlab.train as pkg
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
    # the cosine schedule's length, when the run stops before its end (default: the recipe's,
    # which --steps alone replaces by a full schedule of --steps)
    schedule_steps: int | None = None
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


@dataclass(frozen=True)
class Family:
    """A kind of model and how to train it: `spec` is its base config (a frozen dataclass whose
    defaults are the base), `build(recipe_name, spec, options)` turns a resolved config into a
    TrainJob, `tiny` is the overlay every recipe of the family gets under --tiny."""

    spec: type
    build: Callable[[str, Any, RecipeOptions], TrainJob]
    tiny: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """One named recipe: `config` overrides the family's base (or the `base` recipe's config),
    `tiny` adds to the family's tiny overlay; or, for a recipe written as code, `function`."""

    name: str
    description: str
    family: Family | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    tiny: Mapping[str, Any] = field(default_factory=dict)
    base: Recipe | None = None
    takes: tuple[str, ...] = ()  # RecipeOptions fields beyond the common ones that it reads
    function: Callable[[RecipeOptions], TrainJob] | None = None

    def __post_init__(self):
        if "\n" in self.description or not self.description.strip():
            raise ValueError(f"recipe {self.name}: the description must be one non-empty line")
        if self.function is None:
            names = {f.name for f in dataclasses.fields(self.family.spec)}
            unknown = sorted((set(self.config) | set(self.tiny)) - names)
            if unknown:
                raise TypeError(f"recipe {self.name}: {self.family.spec.__name__} has no {unknown}")

    def overrides(self, tiny: bool = False) -> dict[str, Any]:
        """Every field this recipe sets on its family's base: its base recipe's, then its own,
        then (under --tiny) the family's tiny overlay and the recipes' own tiny additions."""
        chain = []
        recipe = self
        while recipe is not None:
            chain.append(recipe)
            recipe = recipe.base
        out: dict[str, Any] = {}
        for r in reversed(chain):
            out.update(r.config)
        if tiny:
            out.update(self.family.tiny)
            for r in reversed(chain):
                out.update(r.tiny)
        return out

    def resolve(self, tiny: bool = False):
        """The config this recipe trains with: the family's base with the overrides applied."""
        if self.function is not None:
            raise TypeError(f"recipe {self.name} is written as code; it has no config to resolve")
        return self.family.spec(**self.overrides(tiny))

    def build(self, options: RecipeOptions) -> TrainJob:
        if self.function is not None:
            return self.function(options)
        return self.family.build(self.name, self.resolve(options.tiny), options)


def derive(base: Recipe, name: str, description: str, **config) -> Recipe:
    """A recipe that is `base` with a few fields changed (`tiny=` and `takes=` as in Recipe)."""
    tiny = config.pop("tiny", {})
    takes = config.pop("takes", base.takes)
    return Recipe(name, description, base.family, config, tiny, base=base, takes=takes)


_RECIPES: dict[str, Recipe] = {}
_imported = False


def add_recipes(*recipes: Recipe) -> None:
    """Make `genlab train --recipe NAME` know these recipes (a name may be declared once)."""
    for r in recipes:
        if r.name in _RECIPES and _RECIPES[r.name] is not r:
            raise ValueError(f"recipe {r.name} is declared twice")
        _RECIPES[r.name] = r


def register_recipe(name: str, takes: tuple[str, ...] = ()):
    """Decorator for a recipe written as code, `build(options: RecipeOptions) -> TrainJob`; its
    docstring's first line describes the recipe in `genlab train --list`. `takes` names the
    recipe-specific options it reads (e.g. "scenes"); the command line refuses them for the
    other recipes."""

    def deco(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        _RECIPES[name] = Recipe(name, doc[0] if doc else "", takes=tuple(takes), function=fn)
        return fn

    return deco


def _import_all() -> None:
    global _imported
    if _imported:
        return

    for package in (pkg, importlib.import_module(__name__)):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _imported = True


def list_recipes() -> dict[str, Recipe]:
    _import_all()
    return dict(sorted(_RECIPES.items()))


def get_recipe(name: str) -> Recipe:
    recipes = list_recipes()
    if name not in recipes:
        raise NotFound(f"recipe: unknown recipe {name!r}; known recipes: {', '.join(recipes)}")
    return recipes[name]


def spec_config(spec, **settings) -> TrainConfig:
    """A family's loop settings: every field of its config `spec` that TrainConfig has too
    (steps, batch_size, lr, warmup_steps, log_every, ...), then `settings`, those the family
    fixes (a field in both raises TypeError: the spec's value would be silently dropped)."""
    loop = {f.name for f in dataclasses.fields(TrainConfig)}
    named = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name in loop}
    return TrainConfig(**named, **settings)


def apply_options(config: TrainConfig, options: RecipeOptions, name: str) -> TrainConfig:
    """Fill the fields every recipe takes from the command line into the recipe's config."""
    config.recipe = name
    if options.steps is not None:
        config.steps = options.steps
        config.schedule_steps = None  # --steps alone: a full schedule of that many steps
    if options.schedule_steps is not None:
        config.schedule_steps = options.schedule_steps
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
