"""The world text-to-video recipes and the video helper networks' recipes, as data: overrides of
WorldT2VSpec (genlab.train.video) and of the helper networks' configs (genlab.train.video_nets).

The bundled world-t2v is a video U-Net inflated from world-t2i (`world-t2v-unet3d-cpu`, then
`world-t2v-unet` on a GPU: its card); `world-t2v` is the recipe of the video DiT bundled before it.
"""

from genlab.train.recipes import Recipe, add_recipes, derive
from genlab.train.video import T2V
from genlab.train.video_nets import UPSCALER, VAE3D, VIDEO_FEATURES

# A GPU run is normally ended by --time-budget long before `steps`: the stages start early
# (images until step 600, 4-frame clips until 1,800) so that most of the time goes to the long
# clips whatever the budget.
WORLD_T2V_LONG = Recipe(
    "world-t2v-long",
    "Progressive to 16 frames: images, 4-frame clips, then mixed 8/12/16-frame buckets (GPU)",
    T2V,
    dict(
        denoiser=dict(hidden_size=192, depth=6, num_heads=4, patch_size=4),
        text_width=192,
        text_depth=3,
        stages=((0.0, (1,)), (0.02, (4,)), (0.06, (8, 12, 16))),
        steps=30_000,
        batch_size=128,
        lr=5e-4,
        warmup_steps=200,
        corpus=20_000,
        n_objects=(1, 2),
        prerender=True,
    ),
)
WORLD_T2V = derive(
    WORLD_T2V_LONG,
    "world-t2v",
    "The video DiT bundled before the U-Net (GPU, ~10 min on one H100): 3.0M, world-clip's "
    "frozen tower, first-frame conditioned, 1- to 16-frame clips",
    denoiser=dict(hidden_size=128, depth=6, num_heads=4, patch_size=4),
    text_encoder="world-clip",
    # sized for one GPU session (about 4.5 steps/s on an H100 shared with a world-t2i run)
    stages=((0.0, (1,)), (0.1, (4,)), (0.25, (8, 12, 16))),
    steps=3200,
    decay_steps=1000,
    batch_size=256,
    lr=8e-4,
    first_frame_prob=0.6,
)
# The tower encodes "moving left" and "moving right" 1.000 alike, so no direction reaches the
# denoiser: a per-word vector on its output tokens may tell them apart.
WORLD_T2V_WORDS = derive(
    WORLD_T2V,
    "world-t2v-words",
    "world-t2v with a trainable per-word vector on the frozen tower's output tokens; go on from "
    "the DiT's weights (--init-from)",
    text_encoder="world-clip+words",
    residual_lr_scale=10.0,
)
# The bundled world-t2i's U-Net, inflated: it draws the world's objects from the first step, so
# there is no stage of still images and a lower rate than a model learning from scratch. The toy
# probe (benchmarks/video_direction_probe.py --model unet) is why: at its scale the video DiT
# learned no direction, the U-Net with temporal attention did.
WORLD_T2V_UNET = derive(
    WORLD_T2V,
    "world-t2v-unet",
    "The bundled world-t2v's GPU recipe: world-t2i's U-Net and text encoder inflated with 3-D "
    "convolution and temporal attention, 4- to 16-frame clips",
    denoiser_arch="video-unet",
    denoiser={},
    init_image="world-t2i",
    temporal_conv=True,  # the probe's direction from the label: 53% without, 86% with
    text_encoder="init-image",
    residual_lr_scale=10.0,
    stages=((0.0, (4,)), (0.1, (8, 12, 16))),
    steps=3000,
    decay_steps=800,
    batch_size=64,
    lr=3e-4,
    warmup_steps=200,
)
WORLD_T2V_UNET3D_CPU = derive(
    WORLD_T2V_UNET,
    "world-t2v-unet3d-cpu",
    "The bundled world-t2v's CPU recipe: world-t2v-unet on 8-frame clips of 8,000 scenes, "
    "batch 8, 1,000 steps",
    stages=((0.0, (8,)),),
    steps=1000,
    decay_steps=250,
    batch_size=8,
    warmup_steps=50,
    corpus=8000,
    model_name="world-t2v-unet3d",
)

WORLD_T2V_FVD = Recipe(
    "world-t2v-fvd",
    "The FVD feature network: a small 3D CNN naming motion, color and shape of world clips",
    VIDEO_FEATURES,
)
WORLD_UPSCALER = Recipe(
    "world-upscaler",
    "The learned 2× frame upscaler (32 -> 64 px) trained on world scenes rendered at both sizes",
    UPSCALER,
)
WORLD_VAE3D = Recipe(
    "world-vae3d",
    "Causal 3D VAE (4× space, 4× time, first frame kept) on 9-frame world clips",
    VAE3D,
)

add_recipes(
    WORLD_T2V_LONG,
    WORLD_T2V,
    WORLD_T2V_WORDS,
    WORLD_T2V_UNET,
    WORLD_T2V_UNET3D_CPU,
    WORLD_T2V_FVD,
    WORLD_UPSCALER,
    WORLD_VAE3D,
)
