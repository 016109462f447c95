"""CPU-sized recipe for the bundled world text-to-image model: a DiT over 4×4 pixel patches
(64 tokens at 32×32), about 3× cheaper per image than the U-Net, for machines without a GPU.

The GPU recipes (`world-t2i`, `world-t2i-dit`) are the ones to use where a GPU is available;
this one is what the bundled weights were trained with when no GPU time was left.
"""

from __future__ import annotations

from genlab.train.recipes import RecipeOptions, TrainJob, register_recipe
from genlab.train.text2image import TINY_DIT, WorldT2ISpec, build_world_t2i

DIT_CPU = dict(hidden_size=192, depth=6, num_heads=4, patch_size=4, in_channels=3, input_size=32)


@register_recipe("world-t2i-cpu")
def world_t2i_cpu(options: RecipeOptions) -> TrainJob:
    """Text-to-image DiT-p4 (≈4M) + text encoder on 100k world scenes, sized for a 2-core CPU."""
    spec = WorldT2ISpec(
        denoiser="dit-world-s",
        denoiser_overrides=DIT_CPU,
        corpus=100_000,
        steps=40_000,  # the time budget normally ends the run first
        batch_size=64,
        lr=6e-4,
        warmup_steps=200,
    )
    job = build_world_t2i("world-t2i", spec, TINY_DIT, options)
    job.config.recipe = "world-t2i-cpu"
    job.config.export_name = "world-t2i"  # the bundled name
    return job
