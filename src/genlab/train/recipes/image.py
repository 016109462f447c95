"""The world text-to-image recipes, as data: overrides of WorldT2ISpec (genlab.train.text2image),
in pixel space (T2I) or in a KL autoencoder's latent space (LATENT_T2I, genlab.train.latent).

GPU recipes train on 400k scenes at batch 512; the CPU ones (`*-cpu`) on 100k at batch 64, sized
for a 2-core machine: run two side by side with one thread each and the same --time-budget to
compare them at equal compute (docs/training.md, docs/data.md).
"""

from genlab.train.latent import (
    LATENT_DIT,
    LATENT_T2I,
    LATENT_UNET,
    TINY_LATENT_DIT,
    TINY_LATENT_UNET,
)
from genlab.train.recipes import Recipe, add_recipes, derive
from genlab.train.text2image import DIT_WORLD, T2I, TINY_DIT, UNET_WORLD

SCENES_AND_DATA = ("scenes", "data")  # --scenes (the scene mix) and --data (your images)

# GPU: world-clip's frozen text tower and min-SNR-5 loss weighting (Hang et al. 2023)
WORLD_T2I = Recipe(
    "world-t2i",
    "The bundled world-t2i's GPU pretraining: U-Net (1.9M) on world-clip's frozen text tower, "
    "400k scenes, batch 512",
    T2I,
    dict(text_encoder="world-clip", min_snr_gamma=5.0, lr=8e-4),
    takes=SCENES_AND_DATA,
)
WORLD_T2I_DIT = derive(
    WORLD_T2I,
    "world-t2i-dit",
    "world-t2i with a DiT denoiser over 4×4 patches (5.1M, 0.44 GFLOPs per image)",
    denoiser="dit-world-s",
    denoiser_overrides=DIT_WORLD,
    lr=3e-4,
    tiny=dict(denoiser_overrides=TINY_DIT),
)
WORLD_T2I_WORDS = derive(
    WORLD_T2I,
    "world-t2i-words",
    "world-t2i plus a trainable per-word vector on the tower's output, for relations, counts and "
    "binding (the bundled world-t2i's CPU fine-tune: --init-from world-t2i --scenes focus)",
    text_encoder="world-clip+words",
    # a fine-tune moves the pretrained weights gently (--lr) while the new residual, at zero,
    # must travel: ×10 its rate (and ×√width its output, see TextEncoder.forward)
    residual_lr_scale=10.0,
)
WORLD_T2I_LAYOUT = derive(
    WORLD_T2I_WORDS,
    "world-t2i-layout",
    "world-t2i-words in two stages: a layout planner writes where objects go, the denoiser "
    "draws that layout (--init-from world-t2i --scenes focus)",
    layout=True,
    layout_lr_scale=20.0,
    takes=("scenes",),
)
# The adapters' new inputs start at zero, so the first step draws as the old model did; the planner
# is kept as it is (the grammar reads a prompt's background).
WORLD_T2I_LAYOUT_BG = derive(
    WORLD_T2I_LAYOUT,
    "world-t2i-layout-bg",
    "world-t2i-layout whose plan carries the background a caption names too (--init-from "
    "world-t2i-layout --scenes focus; the planner kept as it is)",
    layout_background=True,
    planner_frozen=True,
)
# Text in, layout out: no image is denoised, so a step costs a small fraction of a denoiser step
# and the planner can see far more captions; the denoiser and text encoder of the world-t2i-layout
# export it starts from (--init-from FILE) are kept as they are and exported with it.
WORLD_T2I_PLANNER = derive(
    WORLD_T2I,
    "world-t2i-planner",
    "Only the layout planner of a two-stage model trains, on many scenes' captions and layouts "
    "(--init-from a world-t2i-layout export)",
    text_encoder="world-clip+words",
    layout=True,
    planner_only=True,
    scenes="focus",
    batch_size=256,
    lr=1e-3,
    takes=("scenes",),
)

# CPU: 100k scenes, batch 64; each exports under the model name it reproduces
CPU = dict(
    corpus=100_000, steps=40_000, batch_size=64, lr=6e-4, warmup_steps=200, min_snr_gamma=5.0
)
# The 64 px pixel U-Net adds a level on top of UNET_WORLD so that its attention runs at the same
# 16×16 and 8×8 as the 32 px model's; the latent U-Net is UNET_WORLD itself on 16×16×4 latents.
UNET_CPU_64 = dict(UNET_WORLD, channel_mult=(1, 2, 2, 2), attention_levels=(2, 3))
UNET_CPU_LATENT = dict(UNET_WORLD, in_channels=4)
CPU_T2I = Recipe(
    "world-t2i-cpu",
    "Text-to-image for a 2-core CPU, 100k scenes: U-Net (1.9M, 0.67 GFLOPs/image) on "
    "world-clip's frozen text tower; exported as the bundled world-t2i",
    T2I,
    dict(CPU, text_encoder="world-clip", export="world-t2i"),
    takes=SCENES_AND_DATA,
)
CPU_T2I_DIT = derive(
    CPU_T2I,
    "world-t2i-cpu-dit",
    "world-t2i-cpu with a DiT over 4×4 patches (5.1M, 0.44 GFLOPs/image); exports world-t2i-dit",
    denoiser="dit-world-s",
    denoiser_overrides=DIT_WORLD,
    export="world-t2i-dit",
    tiny=dict(denoiser_overrides=TINY_DIT),
)
CPU_T2I_JOINT = derive(
    CPU_T2I,
    "world-t2i-cpu-joint",
    "world-t2i-cpu with a new text encoder (1.4M) trained jointly, e.g. on your captions (--data)",
    text_encoder="joint",
    export="world-t2i-joint",
)
CPU_T2I_64 = derive(
    CPU_T2I,
    "world-t2i-64-cpu",
    "world-t2i-cpu at 64×64 pixels, its U-Net with a level on top (2.3M); exports world-t2i-64",
    denoiser_overrides=UNET_CPU_64,
    image_size=64,
    export="world-t2i-64",
)
CPU_T2I_LATENT_64 = Recipe(
    "world-t2i-latent-64-cpu",
    "world-t2i-cpu's U-Net (1.9M) on world-kl-f4-64's 16×16×4 latents of 64×64 images; "
    "the bundled world-t2i-latent-64",
    LATENT_T2I,
    dict(
        CPU,
        text_encoder="world-clip",
        denoiser_overrides=UNET_CPU_LATENT,
        image_size=64,
        autoencoder="world-kl-f4-64",
        export="world-t2i-latent-64",
    ),
    tiny=dict(denoiser_overrides=TINY_LATENT_UNET),
    takes=SCENES_AND_DATA,
)

# Latent, GPU sizes: the base config (a jointly trained text encoder) on world-kl-f4's latents
LATENT = Recipe(
    "world-t2i-latent",
    "Latent text-to-image U-Net on world-kl-f4 latents (8×8×4): world-t2i's task and data",
    LATENT_T2I,
    dict(denoiser="unet-latent-world-m", denoiser_overrides=LATENT_UNET, autoencoder="world-kl-f4"),
    tiny=dict(denoiser_overrides=TINY_LATENT_UNET),
    takes=SCENES_AND_DATA,
)
LATENT_DIT_RECIPE = derive(
    LATENT,
    "world-t2i-latent-dit",
    "Latent DiT (patch 1 on 8×8×4 world-kl-f4 latents), the latent twin of world-t2i-dit",
    denoiser="dit-latent-world-m",
    denoiser_overrides=LATENT_DIT,
    lr=3e-4,
    tiny=dict(denoiser_overrides=TINY_LATENT_DIT),
)

add_recipes(
    WORLD_T2I,
    WORLD_T2I_DIT,
    WORLD_T2I_WORDS,
    WORLD_T2I_LAYOUT,
    WORLD_T2I_LAYOUT_BG,
    WORLD_T2I_PLANNER,
    CPU_T2I,
    CPU_T2I_DIT,
    CPU_T2I_JOINT,
    CPU_T2I_64,
    CPU_T2I_LATENT_64,
    LATENT,
    LATENT_DIT_RECIPE,
)
