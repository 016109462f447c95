"""The four families on one task (issue #39): text-conditioned 32×32 world generation with the
same data (the focus scenes of world-t2i-layout), the same frozen text encoder (world-t2i-layout's)
and the same plan (the 3×3 layout the grammar writes), so that the families compare as drawing
stages. Budget rule: the same images seen by each drawing stage (64 × steps); see
docs/families.md for what each run cost.
"""

from genlab.train.recipes import Recipe, add_recipes, derive
from genlab.train.recipes.image import WORLD_T2I
from genlab.train.world_families import PLAN_AR, PLAN_CLASSIC

# The equal budget of docs/families.md: 377 steps of 64 = 24,128 images seen by each drawing
# stage (what the bundled world-dcgan, the slowest per image, saw in its 25 CPU minutes); the
# other recipes reach it with --steps 377.
EQUAL_BUDGET_STEPS = 377

WORLD_VQ_AR_PLAN = Recipe(
    "world-vq-ar-plan",
    "Two-stage world VQ + AR (the bundled world-vq-ar): palette tokenizer, then an AR prior "
    "drawing the grammar's plan with world-t2i-layout's frozen text encoder; CPU",
    PLAN_AR,
    # the bundled run's settings (its card, and training.trained_as in the file): the tokenizer
    # fitted on 4,000 focus scenes of seed 5, then 475 steps of 64 = 30,400 images from 80,000
    # scenes, stopped (by its time budget then) at step 475 of a 700-step cosine schedule
    dict(
        images=80_000,
        tokenizer_images=4000,
        tokenizer_seed=5,
        steps=475,
        schedule_steps=700,
        lr=1.5e-3,
        warmup_steps=100,
    ),
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

# The diffusion family on the same task, from scratch: world-t2i-layout's U-Net with layout
# adapters (its layout planner trains beside it, but the grammar writes the plans it draws), the
# same frozen text encoder and corpus (one caption per focus scene), batch 64 on a CPU.
WORLD_T2I_LAYOUT_PLAN = derive(
    WORLD_T2I,
    "world-t2i-layout-plan",
    "world-t2i-layout's U-Net from scratch on the families' task: the same focus scenes, frozen "
    "text encoder and plan as world-vq-ar-plan, 377 steps of 64 on a CPU",
    text_from="world-t2i-layout",
    layout=True,
    scenes="focus",
    captions_per_image=1,
    corpus=40_000,
    steps=EQUAL_BUDGET_STEPS,
    batch_size=64,
    lr=1e-3,
    warmup_steps=100,
    log_every=25,
    export="world-t2i-layout-plan",
    takes=(),
)

add_recipes(WORLD_VQ_AR_PLAN, WORLD_VAE_PLAN, WORLD_DCGAN_PLAN, WORLD_T2I_LAYOUT_PLAN)
