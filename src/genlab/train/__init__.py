"""genlab's one Trainer for every family (VAE, GAN, VQ+AR, diffusion) and its named recipes.

See docs/training.md for the Task contract, recipes and multi-process/multi-node launches.
"""

from genlab.train.data import BatchSource, DatasetSource, IndexStream, TensorSource
from genlab.train.recipes import (
    RecipeOptions,
    TrainJob,
    apply_options,
    get_recipe,
    list_recipes,
    register_recipe,
)
from genlab.train.task import OptimizerGroup, Task
from genlab.train.trainer import EMA, TrainConfig, Trainer


def run_recipe(name: str, options: RecipeOptions | None = None, *, resume: bool = False) -> dict:
    """Build the recipe `name`, train it (resuming from OUT/checkpoint.safetensors if asked)."""
    job = get_recipe(name).build(options or RecipeOptions())
    trainer = Trainer(job.task, job.data, job.config)
    try:
        resumed = trainer.resume() if resume else False
        summary = trainer.run()
        summary["resumed"] = resumed
        return summary
    finally:
        trainer.close()


__all__ = [
    "EMA",
    "BatchSource",
    "DatasetSource",
    "IndexStream",
    "OptimizerGroup",
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
