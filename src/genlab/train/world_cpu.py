"""CPU-sized recipes for the bundled world text-to-image models, for machines without a GPU. Two
denoisers (a small U-Net; a DiT over 4×4 pixel patches), two text encoders (the bundled
world-clip's text tower, frozen; a new encoder trained jointly) and, at 64 px, pixel or latent
space (world-kl-f4-64's 16×16×4 latents), with the same data, objective and optimizer:

| recipe | denoiser | text encoder | space | export |
|---|---|---|---|---|
| `world-t2i-cpu` | U-Net | world-clip, frozen | 32 px | `world-t2i` (bundled) |
| `world-t2i-cpu-dit` | DiT | world-clip, frozen | 32 px | `world-t2i-dit` |
| `world-t2i-cpu-joint` | U-Net | joint | 32 px | `world-t2i-joint` |
| `world-t2i-cpu-dit-joint` | DiT | joint | 32 px | `world-t2i-dit-joint` |
| `world-t2i-64-cpu` | U-Net, one more level | world-clip, frozen | 64 px | `world-t2i-64` |
| `world-t2i-latent-64-cpu` | U-Net | world-clip, frozen | 16×16×4 latents of 64 px | `world-t2i-latent-64` |

Run two side by side with one thread each and the same --time-budget to compare them at equal
compute; docs/training.md and docs/data.md have the measured comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

from genlab.train.latent import TINY_LATENT_UNET, build_latent_t2i
from genlab.train.recipes import RecipeOptions, TrainJob, register_recipe
from genlab.train.text2image import (
    DIT_WORLD,
    TINY_DIT,
    TINY_UNET,
    UNET_WORLD,
    WorldT2ISpec,
    build_world_t2i,
)

# The 64 px pixel U-Net adds a level on top of UNET_WORLD so that its attention runs at the same
# 16×16 and 8×8 as the 32 px model's; the latent U-Net is UNET_WORLD itself on 16×16×4 latents.
UNET_CPU_64 = dict(UNET_WORLD, channel_mult=(1, 2, 2, 2), attention_levels=(2, 3))
UNET_CPU_LATENT = dict(UNET_WORLD, in_channels=4)


@dataclass(frozen=True)
class CpuRecipe:
    denoiser: str  # a registered model name
    sizes: dict  # its overrides at full scale
    tiny: dict  # and with --tiny
    text_encoder: str  # see text2image.TEXT_ENCODER_SOURCES
    export: str
    description: str
    image_size: int = 32
    autoencoder: str | None = None  # a bundled KL autoencoder: latent diffusion in its space


CPU_RECIPES = {
    "world-t2i-cpu": CpuRecipe(
        "unet-world-s", UNET_WORLD, TINY_UNET, "world-clip", "world-t2i",
        "U-Net (≈1.9M, 0.67 GFLOPs/image) on world-clip's frozen text tower; "
        "exported as the bundled world-t2i"),
    "world-t2i-cpu-dit": CpuRecipe(
        "dit-world-s", DIT_WORLD, TINY_DIT, "world-clip", "world-t2i-dit",
        "DiT over 4×4 patches (≈5.1M, 0.44 GFLOPs/image) on world-clip's frozen text tower"),
    "world-t2i-cpu-joint": CpuRecipe(
        "unet-world-s", UNET_WORLD, TINY_UNET, "joint", "world-t2i-joint",
        "world-t2i-cpu's U-Net with a new text encoder (1.4M) trained jointly"),
    "world-t2i-cpu-dit-joint": CpuRecipe(
        "dit-world-s", DIT_WORLD, TINY_DIT, "joint", "world-t2i-dit-joint",
        "world-t2i-cpu-dit's DiT with a new text encoder trained jointly"),
    "world-t2i-64-cpu": CpuRecipe(
        "unet-world-s", UNET_CPU_64, TINY_UNET, "world-clip", "world-t2i-64",
        "64×64 pixels, world-t2i-cpu's U-Net with a level on top (≈2.3M) on world-clip's "
        "frozen text tower", image_size=64),
    "world-t2i-latent-64-cpu": CpuRecipe(
        "unet-world-s", UNET_CPU_LATENT, TINY_LATENT_UNET, "world-clip", "world-t2i-latent-64",
        "64×64 images through world-kl-f4-64's 16×16×4 latents, world-t2i-cpu's U-Net "
        "(≈1.9M) on world-clip's frozen text tower", image_size=64, autoencoder="world-kl-f4-64"),
}  # fmt: skip


def cpu_spec(r: CpuRecipe) -> WorldT2ISpec:
    return WorldT2ISpec(
        denoiser=r.denoiser,
        denoiser_overrides=r.sizes,
        image_size=r.image_size,
        corpus=100_000,
        steps=40_000,  # the time budget normally ends the run first
        batch_size=64,
        lr=6e-4,
        warmup_steps=200,
        min_snr_gamma=5.0,
        text_encoder=r.text_encoder,
    )


def _cpu_recipe(name: str):
    r = CPU_RECIPES[name]

    def build(options: RecipeOptions) -> TrainJob:
        spec = cpu_spec(r)
        if r.autoencoder is None:
            job = build_world_t2i(r.export, spec, r.tiny, options)
        else:
            job = build_latent_t2i(r.export, spec, r.tiny, options, r.autoencoder)
        job.config.recipe, job.config.export_name = name, r.export
        return job

    build.__doc__ = f"Text-to-image for a 2-core CPU, 100k world scenes: {r.description}."
    return register_recipe(name, takes=("scenes", "data"))(build)


for _name in CPU_RECIPES:
    _cpu_recipe(_name)
