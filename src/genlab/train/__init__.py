"""genlab's one Trainer for every family (VAE, GAN, VQ+AR, diffusion) and its named recipes.

See docs/training.md for the Task contract, recipes and multi-process/multi-node launches.
"""

import logging

from genlab.errors import InvalidArgument
from genlab.pipelines.registry import resolve_path
from genlab.train.data import BatchSource, DatasetSource, IndexStream, TensorSource
from genlab.train.recipes import (
    Recipe,
    RecipeOptions,
    TrainJob,
    apply_options,
    get_recipe,
    list_recipes,
    register_recipe,
)
from genlab.train.task import OptimizerGroup, Task
from genlab.train.trainer import EMA, TrainConfig, Trainer

logger = logging.getLogger(__name__)


def run_recipe(
    name: str | Recipe,
    options: RecipeOptions | None = None,
    *,
    resume: bool = False,
    init_from: str | None = None,
) -> dict:
    """Build the recipe `name` (or a Recipe, e.g. one `derive`d from a named one), train it
    (resuming from OUT/checkpoint.safetensors if asked; else, with `init_from`, starting from an
    exported model's weights: a bundled name or a path)."""
    recipe = name if isinstance(name, Recipe) else get_recipe(name)
    job = recipe.build(options or RecipeOptions())
    trainer = Trainer(job.task, job.data, job.config)
    try:
        resumed = trainer.resume() if resume else False
        resumed_from = trainer.step if resumed else None
        if resumed:
            logger.info("resumed from step %d", resumed_from)
        started_from = None
        if init_from and not resumed:  # a resumed run already holds what it started from
            path = resolve_path(init_from)
            if path is None:
                raise InvalidArgument(
                    "--init-from", "a bundled model name or a model file", init_from
                )
            started_from = {"model": str(path), "new": trainer.init_from(path)}
            fresh = [f"{m}.{k}" for m, keys in started_from["new"].items() for k in keys]
            unused = trainer.init_unused
            logger.info(
                f"starting from the weights of {path}"
                + (f"; new, at their initialisation: {_some(fresh)}" if fresh else "")
                + (f"; in the file but not in this recipe's models, left out: {_some(unused)}"
                   if unused else ""),
            )  # fmt: skip
            job.config.extra["started from"] = f"the weights of {path.name}"
        summary = trainer.run()
        summary["resumed"] = resumed
        summary["resumed_from_step"] = resumed_from
        if started_from:
            summary["init_from"] = started_from
        return summary
    finally:
        trainer.close()


__all__ = [
    "EMA",
    "BatchSource",
    "DatasetSource",
    "IndexStream",
    "OptimizerGroup",
    "Recipe",
    "RecipeOptions",
    "Task",
    "TensorSource",
    "TrainConfig",
    "TrainJob",
    "Trainer",
    "apply_options",
    "get_recipe",
    "list_recipes",
    "register_recipe",
    "run_recipe",
]


def _some(names: list[str], shown: int = 6) -> str:
    """The first `shown` names, and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
