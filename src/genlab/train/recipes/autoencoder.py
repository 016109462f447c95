"""The world KL autoencoder recipes (latent spaces for latent diffusion), as data: overrides of
WorldKLSpec (genlab.train.latent). Both are bundled and train in CPU minutes.
"""

from genlab.train.latent import KL
from genlab.train.recipes import Recipe, add_recipes

WORLD_KL_F4 = Recipe(
    "world-kl-f4",
    "KL autoencoder (f = 4, 4 latent channels) of 32 px world images; CPU minutes, bundled",
    KL,
)
# 16×16×4 latents; the 32 px world-kl-f4 reaches only 20 dB at 64 px (it blurs finer edges)
WORLD_KL_F4_64 = Recipe(
    "world-kl-f4-64",
    "KL autoencoder (f = 4) of 64 px world images, fine-tuned from world-kl-f4; CPU, bundled",
    KL,
    dict(image_size=64, init="world-kl-f4", lr=3e-4),
)

add_recipes(WORLD_KL_F4, WORLD_KL_F4_64)
