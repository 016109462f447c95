"""CPU-sized recipes for the bundled world text-to-image model, for machines without a GPU. Two
denoisers (a small U-Net; a DiT over 4×4 pixel patches) and two text encoders (the bundled
world-clip's text tower, frozen; a new encoder trained jointly), with the same data, objective
and optimizer:

| recipe | denoiser | text encoder | export |
|---|---|---|---|
| `world-t2i-cpu` | U-Net | world-clip, frozen | `world-t2i` (bundled) |
| `world-t2i-cpu-dit` | DiT | world-clip, frozen | `world-t2i-dit` |
| `world-t2i-cpu-joint` | U-Net | joint | `world-t2i-joint` |
| `world-t2i-cpu-dit-joint` | DiT | joint | `world-t2i-dit-joint` |

Run two side by side with one thread each and the same --time-budget to compare them at equal
compute; docs/training.md has the measured comparisons.
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


# name: (denoiser, its CPU sizes, its tiny sizes, text encoder, export name, description)
CPU_RECIPES = {
    "world-t2i-cpu": ("unet-world-s", UNET_CPU, TINY_UNET, "world-clip", "world-t2i",
                      "U-Net (≈1.9M, 0.67 GFLOPs/image) on world-clip's frozen text tower; "
                      "exported as the bundled world-t2i"),
    "world-t2i-cpu-dit": ("dit-world-s", DIT_CPU, TINY_DIT, "world-clip", "world-t2i-dit",
                          "DiT over 4×4 patches (≈5.1M, 0.44 GFLOPs/image) on world-clip's "
                          "frozen text tower"),
    "world-t2i-cpu-joint": ("unet-world-s", UNET_CPU, TINY_UNET, "joint", "world-t2i-joint",
                            "world-t2i-cpu's U-Net with a new text encoder (1.4M) trained jointly"),
    "world-t2i-cpu-dit-joint": ("dit-world-s", DIT_CPU, TINY_DIT, "joint", "world-t2i-dit-joint",
                                "world-t2i-cpu-dit's DiT with a new text encoder trained jointly"),
}  # fmt: skip


def _cpu_recipe(name: str):
    denoiser, sizes, tiny, text_encoder, export, description = CPU_RECIPES[name]

    def build(options: RecipeOptions) -> TrainJob:
        spec = _cpu_spec(denoiser, sizes, text_encoder=text_encoder)
        job = build_world_t2i("world-t2i", spec, tiny, options)
        job.config.recipe, job.config.export_name = name, export
        return job

    build.__doc__ = f"Text-to-image for a 2-core CPU, 100k world scenes: {description}."
    return register_recipe(name)(build)


for _name in CPU_RECIPES:
    _cpu_recipe(_name)
