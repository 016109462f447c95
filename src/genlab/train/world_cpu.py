"""CPU-sized recipes for the bundled world text-to-image model, for machines without a GPU:

- `world-t2i-cpu` (the bundled `world-t2i`): a DiT over 4×4 pixel patches conditioned on the
  bundled world-clip's text tower, frozen;
- `world-t2i-cpu-joint`: the same DiT with a new text encoder trained jointly, the comparison
  point for the pretrained encoder;
- `world-t2i-cpu-unet`: a small U-Net with the jointly trained encoder and the same data,
  objective and optimizer, the equal-compute rival of `world-t2i-cpu-joint` (run them side by
  side with one thread each and the same --time-budget).

docs/training.md has the measured comparisons.

The GPU recipes (`world-t2i`, `world-t2i-dit`) are the ones to use where a GPU is available;
these are what the bundled weights were trained with when no GPU time was left.
"""

from __future__ import annotations

from genlab.train.recipes import RecipeOptions, TrainJob, register_recipe
from genlab.train.text2image import TINY_DIT, TINY_UNET, WorldT2ISpec, build_world_t2i

UNET_CPU = dict(
    model_channels=32,
    channel_mult=(1, 2, 2),
    num_res_blocks=1,
    attention_levels=(1, 2),
    head_dim=32,
)
DIT_CPU = dict(hidden_size=192, depth=6, num_heads=4, patch_size=4, in_channels=3, input_size=32)


def _cpu_spec(denoiser: str, overrides: dict, text_encoder: str = "joint") -> WorldT2ISpec:
    return WorldT2ISpec(
        denoiser=denoiser,
        denoiser_overrides=overrides,
        corpus=100_000,
        steps=40_000,  # the time budget normally ends the run first
        batch_size=64,
        lr=6e-4,
        warmup_steps=200,
        min_snr_gamma=5.0,
        text_encoder=text_encoder,
    )


@register_recipe("world-t2i-cpu")
def world_t2i_cpu(options: RecipeOptions) -> TrainJob:
    """Text-to-image DiT-p4 (≈5.1M, 0.44 GFLOPs/image) on the bundled world-clip's frozen text
    tower, 100k rebalanced world scenes with varied captions, sized for a 2-core CPU; exported as
    the bundled `world-t2i`."""
    spec = _cpu_spec("dit-world-s", DIT_CPU, text_encoder="world-clip")
    job = build_world_t2i("world-t2i", spec, TINY_DIT, options)
    job.config.recipe = "world-t2i-cpu"
    job.config.export_name = "world-t2i"  # the bundled name
    return job


@register_recipe("world-t2i-cpu-joint")
def world_t2i_cpu_joint(options: RecipeOptions) -> TrainJob:
    """world-t2i-cpu with a new text encoder (1.4M) trained jointly instead of world-clip's."""
    job = build_world_t2i("world-t2i", _cpu_spec("dit-world-s", DIT_CPU), TINY_DIT, options)
    job.config.recipe = "world-t2i-cpu-joint"
    job.config.export_name = "world-t2i-joint"
    return job


@register_recipe("world-t2i-cpu-unet")
def world_t2i_cpu_unet(options: RecipeOptions) -> TrainJob:
    """world-t2i-cpu-joint with a U-Net denoiser (≈1.9M, 0.67 GFLOPs/image): the equal-compute
    rival."""
    job = build_world_t2i("world-t2i", _cpu_spec("unet-world-s", UNET_CPU), TINY_UNET, options)
    job.config.recipe = "world-t2i-cpu-unet"
    job.config.export_name = "world-t2i-unet"
    return job


@register_recipe("world-t2i-cpu-unet-clip")
def world_t2i_cpu_unet_clip(options: RecipeOptions) -> TrainJob:
    """world-t2i-cpu with the U-Net denoiser: both denoisers on world-clip's frozen text tower."""
    spec = _cpu_spec("unet-world-s", UNET_CPU, text_encoder="world-clip")
    job = build_world_t2i("world-t2i", spec, TINY_UNET, options)
    job.config.recipe = "world-t2i-cpu-unet-clip"
    job.config.export_name = "world-t2i-unet-clip"
    return job
