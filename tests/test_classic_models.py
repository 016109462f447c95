"""Specifications of the classic families' models: VAE, GAN, VQ-VAE, AR transformer."""

import math

import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.models.ar_transformer import AR_MODELS, ARTransformer, filter_logits
from genlab.models.gan import GAN, GAN_MODELS, class_histogram
from genlab.models.vae import VAE, VAE_MODELS
from genlab.models.vqvae import VQVAE, VQVAE_MODELS, VectorQuantizer, VQVAEConfig

# --------------------------------------------------------------------------- VAE


def test_reparameterisation_gradient_equals_the_analytic_derivative():
    # z = μ + exp(½ log σ²)·ε, so ∂z/∂μ = 1 and ∂z/∂log σ² = ½ σ ε.
    mu = torch.tensor([0.3, -1.2], requires_grad=True)
    logvar = torch.tensor([0.5, -0.7], requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    z = VAE.reparameterize(mu, logvar, gen)
    z.sum().backward()
    eps = torch.randn(2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mu.grad, torch.ones(2))
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_elbo_reports_reconstruction_and_kl_and_beta_weights_the_kl():
    x = torch.randn(4, 1, 16, 16)
    gen_a, gen_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    plain = VAE(dict(VAE_MODELS["vae-tiny"], beta=1.0))
    beta4 = VAE(dict(VAE_MODELS["vae-tiny"], beta=4.0))
    beta4.load_state_dict(plain.state_dict())
    a, b = plain.loss(x, generator=gen_a), beta4.loss(x, generator=gen_b)
    assert a["kl"] >= 0 and a["recon"] > 0
    assert torch.allclose(a["loss"], a["recon"] + a["kl"])
    assert torch.allclose(b["loss"], b["recon"] + 4.0 * b["kl"])


def test_kl_is_zero_when_posterior_equals_prior():
    vae = VAE(VAE_MODELS["vae-tiny"])
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    assert kl == 0 and vae.config.latent_dim == 4


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_class_conditional_vae_samples_reconstructs_and_interpolates(arch):
    vae = VAE(dict(net=arch, image_size=16, in_channels=1, latent_dim=4, hidden=8, num_classes=10))
    labels = torch.tensor([3, 7])
    x = torch.randn(2, 1, 16, 16)
    assert vae.sample(2, labels).shape == (2, 1, 16, 16)
    assert vae.reconstruct(x, labels).shape == (2, 1, 16, 16)
    path = vae.interpolate(x[0], x[1], steps=5, cond=labels[:1])
    assert path.shape == (5, 1, 16, 16)
    # The ends of the path are the decoded posterior means of the two images.
    ends = vae.reconstruct(x, torch.tensor([3, 3]))
    assert torch.allclose(path[0], ends[0], atol=1e-5) and torch.allclose(
        path[-1], ends[1], atol=1e-5
    )


def test_text_conditional_vae_takes_pooled_text_and_refuses_labels():
    vae = VAE(dict(VAE_MODELS["vae-tiny"], text_dim=12))
    assert vae.sample(2, torch.randn(2, 12)).shape == (2, 1, 16, 16)
    with pytest.raises(InvalidArgument, match="cond"):
        vae.sample(2, torch.tensor([1, 2]))


# --------------------------------------------------------------------------- GAN


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_gan_losses_give_gradients_to_their_own_network_only(arch, loss):
    gan = GAN(dict(GAN_MODELS["gan-tiny"], net=arch, loss=loss, num_classes=10))
    real, labels = torch.rand(4, 1, 16, 16) * 2 - 1, torch.arange(4)
    gan.discriminator_loss(real, labels)["loss"].backward()
    assert all(p.grad is None for p in gan.generator.parameters())
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in gan.discriminator.parameters()
    )
    gan.zero_grad(set_to_none=True)
    gan.generator_loss(4, labels)["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.generator.parameters())


def test_label_smoothing_changes_only_the_real_term():
    torch.manual_seed(0)
    smooth = GAN(dict(GAN_MODELS["gan-tiny"], label_smoothing=0.9))
    hard = GAN(dict(GAN_MODELS["gan-tiny"], label_smoothing=1.0))
    hard.load_state_dict(smooth.state_dict())
    real = torch.rand(4, 1, 16, 16)
    a = smooth.discriminator_loss(real, generator=torch.Generator().manual_seed(0))
    b = hard.discriminator_loss(real, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(a["loss"], b["loss"])
    assert torch.allclose(a["d_fake"], b["d_fake"]) and torch.allclose(a["d_real"], b["d_real"])


def test_spectral_norm_bounds_the_discriminator_layers():
    gan = GAN(dict(GAN_MODELS["gan-tiny"], net="mlp", spectral_norm=True))
    gan.train()
    for _ in range(30):  # power iteration converges over forward passes
        gan.discriminator(torch.randn(8, 1, 16, 16))
    first = gan.discriminator.net[0]
    sigma = torch.linalg.matrix_norm(first.weight.detach(), ord=2)
    assert sigma == pytest.approx(1.0, abs=0.05)


def test_projection_discriminator_depends_on_the_class():
    gan = GAN(dict(GAN_MODELS["gan-tiny"], num_classes=10))
    x = torch.randn(1, 1, 16, 16).repeat(2, 1, 1, 1)
    out = gan.discriminator(x, torch.tensor([0, 5]))
    assert out.shape == (2,) and out[0] != out[1]


def test_class_histogram_entropy_flags_mode_collapse():
    balanced = class_histogram(torch.arange(100) % 10, 10)
    collapsed = class_histogram(torch.full((100,), 3), 10)
    assert balanced["entropy"] == pytest.approx(1.0) and balanced["classes_covered"] == 10
    assert collapsed["entropy"] == 0 and collapsed["counts"][3] == 100


# --------------------------------------------------------------------------- VQ-VAE


def test_straight_through_estimator_copies_the_gradient_to_the_encoder_output():
    cfg = VQVAEConfig(image_size=16, codebook_size=8, code_dim=4, ema=True)
    vq = VectorQuantizer(cfg).eval()
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    z_q, indices, _ = vq(z_e)
    # Forward: the nearest codes. Backward: identity, ∂(Σ w·z_q)/∂z_e = w.
    assert torch.allclose(z_q, vq.lookup(indices), atol=1e-6)
    w = torch.randn_like(z_q)
    (z_q * w).sum().backward()
    assert torch.allclose(z_e.grad, w)


def test_ema_codebook_moves_towards_assigned_encoder_outputs():
    cfg = VQVAEConfig(image_size=16, codebook_size=4, code_dim=2, decay=0.5)
    vq = VectorQuantizer(cfg).train()
    target = torch.tensor([3.0, -2.0])
    z_e = target.view(1, 2, 1, 1).repeat(1, 1, 4, 4)
    before = (vq.embedding - target).norm(dim=1).min()
    for _ in range(10):
        _, indices, stats = vq(z_e)
    after = (vq.embedding - target).norm(dim=1).min()
    assert after < 0.05 < before
    assert stats["perplexity"] == pytest.approx(1.0) and stats["usage"] == pytest.approx(0.25)


def test_dead_codes_are_restarted_on_encoder_outputs():
    cfg = VQVAEConfig(
        image_size=16, codebook_size=8, code_dim=2, decay=0.5, dead_code_threshold=0.5
    )
    vq = VectorQuantizer(cfg).train()
    z_e = torch.randn(4, 2, 4, 4) + 10.0  # far from every initial code
    for _ in range(5):
        vq(z_e)
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, 2)
    # Every code now sits at (or was averaged from) encoder outputs: none stays near the origin.
    assert vq.embedding.norm(dim=1).min() > 5.0
    assert torch.cdist(vq.embedding, flat).min(dim=1).values.max() < 5.0


def test_vqvae_round_trips_token_grids_and_reports_codebook_stats():
    vq = VQVAE(VQVAE_MODELS["vqvae-tiny"])
    x = torch.randn(2, 3, 16, 16)
    logs = vq.loss(x)
    assert {"loss", "recon", "commitment", "perplexity", "usage"} <= set(logs)
    indices = vq.encode_indices(x)
    assert indices.shape == (2, 4, 4) and indices.max() < vq.config.codebook_size
    assert vq.decode_indices(indices).shape == (2, 3, 16, 16)
    with pytest.raises(InvalidArgument, match="indices"):
        vq.decode_indices(torch.full((1, 4, 4), 99))


def test_codebook_loss_trains_a_non_ema_codebook():
    vq = VQVAE(dict(VQVAE_MODELS["vqvae-tiny"], ema=False))
    vq.loss(torch.randn(2, 3, 16, 16))["loss"].backward()
    assert vq.quantizer.embedding.grad is not None


# --------------------------------------------------------------------------- AR transformer


def _tiny_ar(seed=0):
    torch.manual_seed(seed)
    return ARTransformer(AR_MODELS["ar-tiny"]).eval()


def test_kv_cache_and_full_recompute_sample_the_same_tokens():
    model = _tiny_ar()
    text = torch.randint(2, 50, (3, 8))
    kwargs = dict(temperature=0.9, top_k=8, top_p=0.95, guidance_scale=2.5)
    cached = model.generate(text, generator=torch.Generator().manual_seed(7), **kwargs)
    full = model.generate(
        text, generator=torch.Generator().manual_seed(7), use_cache=False, **kwargs
    )
    assert cached.shape == (3, 16) and torch.equal(cached, full)


def test_teacher_forced_logits_match_incremental_decoding():
    model = _tiny_ar()
    text, image = torch.randint(2, 50, (2, 8)), torch.randint(0, 16, (2, 16))
    logits = model(text, image)
    # Position i of the teacher-forced pass sees only text and tokens < i: recompute it alone.
    for i in (0, 5, 15):
        truncated = model(
            text, torch.cat([image[:, :i], torch.zeros(2, 16 - i, dtype=torch.long)], 1)
        )
        assert torch.allclose(logits[:, i], truncated[:, i], atol=1e-5)


def test_filter_logits_keeps_top_k_and_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)[0, 2:]).all()
    kept = ~torch.isinf(filter_logits(logits, top_p=0.7))
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 < 0.7 ≤ 0.5 + 0.3
    assert torch.allclose(filter_logits(logits, temperature=2.0), logits / 2)


def test_guidance_scale_zero_samples_from_the_null_prompt():
    # ℓ = ℓ_null + 0·(ℓ_text − ℓ_null): the text is ignored, as if the prompt were empty.
    model = _tiny_ar()
    text = torch.randint(2, 50, (2, 8))
    guided = model.generate(text, guidance_scale=0.0, generator=torch.Generator().manual_seed(3))
    null = model.generate(
        model.null_text(2, "cpu"), guidance_scale=1.0, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(guided, null)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=-1.0), "temperature"),
        (dict(top_k=0), "top_k"),
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(guidance_scale=math.nan), "guidance_scale"),
    ],
)
def test_bad_sampling_arguments_are_refused_by_name(kwargs, name):
    with pytest.raises(InvalidArgument, match=name):
        _tiny_ar().generate(torch.zeros(1, 8, dtype=torch.long), **kwargs)


def test_training_reduces_the_ar_loss_on_a_fixed_pair():
    model = _tiny_ar().train()
    text, image = torch.randint(2, 50, (4, 8)), torch.randint(0, 16, (4, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = model.loss(text, image)["loss"].item()
    for _ in range(15):
        opt.zero_grad()
        model.loss(text, image)["loss"].backward()
        opt.step()
    assert model.loss(text, image)["loss"].item() < 0.5 * first
