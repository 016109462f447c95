"""Specification of the KL autoencoder: latent shapes for f = 4 and 8, the diagonal Gaussian's KL,
a scaling factor measured from data that makes latents unit-variance and travels in the checkpoint,
reconstruction metrics, training that lowers the loss, and the world-kl-f4 recipe."""

import pytest
import torch

from genlab.errors import CheckpointError, InvalidArgument, NotFound
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.models.autoencoder_kl import DiagonalGaussian, fingerprint, load_autoencoder
from genlab.train import RecipeOptions, Trainer, get_recipe, run_recipe
from genlab.train.latent import psnr, reconstruction_metrics, ssim


@pytest.mark.parametrize(("name", "factor"), [("kl-tiny", 4), ("kl-world-f8", 8)])
def test_latents_are_four_channels_at_one_over_f_of_the_side(name, factor):
    ae = create_model(name, base_channels=8)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    posterior = ae.encode(x)
    assert posterior.mean.shape == (2, 4, 32 // factor, 32 // factor)
    assert ae.downsample_factor == factor
    assert ae.decode(posterior.sample()).shape == x.shape


def test_kl_is_zero_for_the_standard_normal_and_positive_otherwise():
    zeros = torch.zeros(3, 8, 2, 2)
    assert torch.allclose(DiagonalGaussian(zeros).kl(), torch.zeros(3))
    shifted = zeros.clone()
    shifted[:, :4] = 1.0  # mean 1 in 16 elements: KL = ½ · 16 · 1² = 8
    assert torch.allclose(DiagonalGaussian(shifted).kl(), torch.full((3,), 8.0))


def test_measured_scaling_factor_gives_unit_variance_latents_and_survives_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    ae = create_model("kl-tiny").eval()
    images = torch.rand(64, 3, 16, 16) * 2 - 1
    factor = ae.measure_scaling_factor(images)
    assert ae.config.scaling_factor == factor != 1.0
    torch.manual_seed(1)
    scaled = torch.cat([ae.encode(images).sample() for _ in range(4)]) * ae.scaling_factor
    assert abs(scaled.std().item() - 1.0) < 0.05
    path = tmp_path / "ae.safetensors"
    save_checkpoint(path, ae.state_dict(), {"kind": "autoencoder-kl", "model": ae.config.to_dict()})
    loaded = load_autoencoder(str(path))
    assert loaded.config.scaling_factor == pytest.approx(factor)
    assert fingerprint(loaded) == fingerprint(ae)
    assert torch.allclose(loaded.encode_latents(images[:2]), ae.encode_latents(images[:2]))


def test_a_few_steps_lower_the_reconstruction_loss():
    torch.manual_seed(0)
    ae = create_model("kl-tiny")
    blocks = torch.rand(8, 3, 2, 2) * 2 - 1  # flat color blocks, like the world's shapes
    x = torch.nn.functional.interpolate(blocks, scale_factor=8, mode="nearest")
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    first = ae.loss(x)[0].item()
    for _ in range(20):
        loss, logs = ae.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first and set(logs) == {"recon_l1", "kl"}


def test_bad_inputs_are_named():
    ae = create_model("kl-tiny")
    with pytest.raises(InvalidArgument, match="multiples of 4"):
        ae.encode(torch.zeros(1, 3, 18, 18))
    with pytest.raises(InvalidArgument, match="images"):
        ae.encode(torch.zeros(1, 1, 16, 16))
    with pytest.raises(InvalidArgument, match="scaling_factor"):
        create_model("kl-tiny", scaling_factor=0.0)
    with pytest.raises(NotFound, match="world-kl-f4"):
        load_autoencoder("no-such-autoencoder")


def test_load_autoencoder_refuses_other_checkpoints(tmp_path):
    path = tmp_path / "other.safetensors"
    save_checkpoint(path, {"w": torch.zeros(1)}, {"kind": "vae"})
    with pytest.raises(CheckpointError, match="not a KL autoencoder"):
        load_autoencoder(str(path))


def test_psnr_and_ssim_are_perfect_for_identical_images_and_drop_with_noise():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2))
    assert (psnr(x, x) > 90).all()
    noise = torch.randn_like(x)
    noisy, noisier = (x + 0.2 * noise).clamp(-1, 1), (x + 0.6 * noise).clamp(-1, 1)
    assert (ssim(noisier, x) < ssim(noisy, x)).all() and (ssim(noisy, x) < 0.99).all()
    assert (psnr(noisier, x) < psnr(noisy, x)).all() and (psnr(noisy, x) < 25).all()
    # MSE 0.04 on a peak-to-peak range of 2: 10·log10(4 / 0.04) = 20 dB
    assert psnr(x + 0.2, x).mean().item() == pytest.approx(20.0, abs=1e-3)


def test_world_kl_f4_tiny_recipe_exports_scaling_factor_and_reconstruction_metrics(tmp_path):
    summary = run_recipe(
        "world-kl-f4", RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False)
    )
    ae = load_autoencoder(summary["model"])
    assert ae.config.scaling_factor != 1.0
    card = (tmp_path / "world-kl-f4.md").read_text()
    assert "PSNR" in card and "SSIM" in card and "scaling factor" in card
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    metrics = reconstruction_metrics(ae, images)
    assert set(metrics) == {"psnr", "ssim"} and metrics["psnr"] > 0


@pytest.mark.slow
def test_world_kl_f4_64_recipe_starts_from_the_bundled_32_px_autoencoder(tmp_path):
    options = RecipeOptions(steps=1, data_size=40, out_dir=str(tmp_path), progress=False)
    job = get_recipe("world-kl-f4-64").build(options)
    # Reconstructing the recipe's 512 held-out 64 px scenes for the card costs about a minute of
    # CPU; 16 of them still write the card's metrics, which is all this test reads of them.
    job.task.eval_images = job.task.eval_images[:16]
    trainer = Trainer(job.task, job.data, job.config)
    try:
        summary = trainer.run()
    finally:
        trainer.close()
    ae, start = load_autoencoder(summary["model"]), load_autoencoder("world-kl-f4")
    assert ae.config.image_size == 64
    moved = [(a - b).abs().max().item() for a, b in zip(ae.parameters(), start.parameters())]
    assert max(moved) < 0.01  # one warm-up step from world-kl-f4's weights, not from scratch
    assert "`world-kl-f4` (bundled)" in (tmp_path / "world-kl-f4-64.md").read_text()


@pytest.mark.parametrize(
    "name, size, min_psnr", [("world-kl-f4", 32, 24), ("world-kl-f4-64", 64, 24)]
)
def test_bundled_world_autoencoders_reconstruct_scenes_with_unit_variance_latents(
    name, size, min_psnr
):
    from genlab.data.world import prerender

    ae = load_autoencoder(name)
    images = prerender(16, size, seed=99, workers=1)["images"].permute(0, 3, 1, 2).float()
    images = images / 127.5 - 1
    latents = ae.encode_latents(images)
    assert latents.shape == (16, 4, size // 4, size // 4)
    assert 0.6 < latents.std().item() < 1.4  # the stored scaling factor was measured on this data
    assert reconstruction_metrics(ae, images)["psnr"] > min_psnr


def test_optional_patch_gan_trains_a_discriminator_beside_the_autoencoder(tmp_path):
    from genlab.train import TensorSource, TrainConfig, Trainer
    from genlab.train.latent import AutoencoderKLTask

    torch.manual_seed(0)
    task = AutoencoderKLTask(create_model("kl-tiny"), disc_weight=0.1, disc_start=1)
    images = torch.randint(0, 256, (16, 16, 16, 3), dtype=torch.uint8)
    config = TrainConfig(steps=3, batch_size=4, out_dir=str(tmp_path), progress=False, log_every=1)
    before = [p.clone() for p in task.discriminator.parameters()]
    trainer = Trainer(task, TensorSource({"images": images}), config)
    try:
        summary = trainer.run()
    finally:
        trainer.close()
    assert set(task.optimizer_groups()) == {"autoencoder", "discriminator"}
    assert "g_loss" in summary["last_logs"] and "loss/discriminator" in summary["last_logs"]
    assert any(not torch.equal(a, b) for a, b in zip(before, task.discriminator.parameters()))
