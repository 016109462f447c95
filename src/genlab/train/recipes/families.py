"""The four families on one task (issue #39): text-conditioned 32×32 world generation with the
same data (the focus scenes of world-t2i-layout), the same frozen text encoder (world-t2i-layout's)
and the same plan (the 3×3 layout the grammar writes), so that the families compare as drawing
stages. Budget rule: the same images seen by each drawing stage (64 × steps); see
docs/families.md for what each run cost.
"""

from genlab.train.recipes import Recipe, add_recipes
from genlab.train.world_families import PLAN_AR, PLAN_CLASSIC

WORLD_VQ_AR_PLAN = Recipe(
    "world-vq-ar-plan",
    "Two-stage world VQ + AR (the bundled world-vq-ar): palette tokenizer, then an AR prior "
    "drawing the grammar's plan with world-t2i-layout's frozen text encoder; CPU",
    PLAN_AR,
)
WORLD_VAE_PLAN = Recipe(
    "world-vae-plan",
    "Conv VAE on the world conditioned on the same plan and frozen text encoder as world-vq-ar",
    PLAN_CLASSIC,
    dict(kind="vae", model="vae-world-conv", hidden=32, export="world-vae"),
)
WORLD_DCGAN_PLAN = Recipe(
    "world-dcgan-plan",
    "DCGAN (projection D) on the world conditioned on the same plan and frozen text encoder as "
    "world-vq-ar",
    PLAN_CLASSIC,
    dict(
        kind="gan",
        model="dcgan-world",
        lr=2e-4,
        warmup_steps=0,
        grad_clip=None,
        export="world-dcgan",
    ),
)

add_recipes(WORLD_VQ_AR_PLAN, WORLD_VAE_PLAN, WORLD_DCGAN_PLAN)
