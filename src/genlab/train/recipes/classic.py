"""The classic families' recipes, as data: digits VAE and DCGAN (overrides of DigitsSpec) and the
world's VQ-VAE + AR transformer (VQARSpec), all in genlab.train.classic_builders. Sized for this
project's 2 shared CPU cores (the bundled weights were trained so): the MLP VAE takes ~0.05 s per
step of 128, the 16 px DCGAN ~0.2 s per step of 64 on one thread.
"""

from genlab.train.classic_builders import DIGITS_GAN, DIGITS_VAE, VQ_AR
from genlab.train.recipes import Recipe, add_recipes

DIGITS_VAE_MLP = Recipe(
    "digits-vae",
    "Class-conditional MLP VAE on the digits (the bundled digits-vae); CPU, minutes",
    DIGITS_VAE,
    dict(model="vae-digits-mlp", steps=3000, lr=1e-3, warmup_steps=100, lr_schedule="cosine"),
)
DIGITS_DCGAN = Recipe(
    "digits-dcgan",
    "Class-conditional DCGAN (projection D, spectral norm) on the digits (the bundled "
    "digits-dcgan); CPU",
    DIGITS_GAN,
    # spectral norm bounds D; clipping would fight the game
    dict(model="dcgan-digits", steps=6000, batch_size=64, grad_clip=None),
)
WORLD_VQ_AR = Recipe(
    "world-vq-ar",
    "VQ-VAE then text-to-image AR transformer on the world (GPU sizes; --time-budget splits 30/70)",
    VQ_AR,
)
WORLD_VQ_AR_CPU = Recipe(
    "world-vq-ar-cpu",
    "The world VQ + AR text-to-image model at CPU sizes (the bundled world-vq-ar, ~10 min on 2 "
    "cores)",
    VQ_AR,
    dict(
        images=8_000,
        vqvae="vqvae-world-s",
        vq_steps=1500,
        vq_batch=32,
        ar="ar-world-s",
        ar_steps=1500,
        ar_batch=32,
        ar_lr=1e-3,
        vq_share=0.5,
    ),
)

add_recipes(DIGITS_VAE_MLP, DIGITS_DCGAN, WORLD_VQ_AR, WORLD_VQ_AR_CPU)
