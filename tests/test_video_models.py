"""Video models: the video DiT (factored and full 3D attention) and the causal 3D VAE keep their
shape contracts, start as the identity/zero where the papers say, and respect causality in time."""

import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.models import create_model
from genlab.models.vae3d import psnr_per_frame, vae3d_loss


def text_cond(B, width=32, L=5):
    return {
        "tokens": torch.randn(B, L, width),
        "mask": torch.ones(B, L, dtype=torch.bool),
        "pooled": torch.randn(B, width),
    }


@pytest.mark.parametrize("attention", ["factored", "full"])
def test_video_dit_predicts_a_clip_of_its_input_shape_and_starts_at_zero(attention):
    model = create_model("video-dit-tiny", attention=attention)
    x = torch.randn(2, 3, 4, 16, 16)
    out = model(x, torch.tensor([10.0, 900.0]), text_cond(2))
    assert out.shape == x.shape
    assert torch.count_nonzero(out) == 0  # adaLN-Zero and a zeroed final layer


def test_video_dit_takes_any_clip_length_including_a_single_image():
    model = create_model("video-dit-tiny")
    for T in (1, 3, 8):
        assert model(torch.randn(1, 3, T, 16, 16), torch.tensor([5.0]), text_cond(1)).shape[2] == T


def test_factored_attention_mixes_frames_only_through_its_temporal_attention():
    torch.manual_seed(0)
    model = create_model("video-dit-tiny", attention="factored").eval()
    for p in model.parameters():  # leave the zero init so that every branch is active
        torch.nn.init.normal_(p, std=0.1)
    cond = text_cond(1)
    x = torch.randn(1, 3, 4, 16, 16)
    y = x.clone()
    y[:, :, 3] += 1.0  # change the last frame only
    t = torch.tensor([100.0])
    changed = (model(x, t, cond) - model(y, t, cond)).abs().amax(dim=(0, 1, 3, 4))
    assert (changed[:3] > 0).all()  # temporal attention carries the change to other frames
    for block in model.blocks:  # without temporal attention each frame is on its own
        block.attn_t.proj.weight.data.zero_()
        block.attn_t.proj.bias.data.zero_()
    changed = (model(x, t, cond) - model(y, t, cond)).abs().amax(dim=(0, 1, 3, 4))
    assert torch.all(changed[:3] == 0) and changed[3] > 0


def test_video_dit_rejects_a_clip_whose_sides_do_not_fit_its_patches():
    model = create_model("video-dit-tiny")
    with pytest.raises(InvalidArgument, match="H and W by 4"):
        model(torch.randn(1, 3, 2, 18, 16), torch.tensor([1.0]), text_cond(1))


def test_vae3d_compresses_space_4x_and_time_4x_keeping_the_first_frame():
    vae = create_model("vae3d-tiny")
    for T, latent_T in ((1, 1), (5, 2), (9, 3)):
        mean, logvar = vae.encode(torch.randn(1, 3, T, 16, 16))
        assert mean.shape == (1, 4, latent_T, 4, 4) and logvar.shape == mean.shape
        assert vae.decode(mean).shape == (1, 3, T, 16, 16)


def test_vae3d_is_causal_later_frames_never_change_earlier_latents_or_frames():
    torch.manual_seed(0)
    vae = create_model("vae3d-tiny").eval()
    x = torch.randn(1, 3, 9, 16, 16)
    y = x.clone()
    y[:, :, 5:] += 1.0  # frames 5..8 belong to latent 2 only
    diff = (vae.encode(x)[0] - vae.encode(y)[0]).abs().amax(dim=(0, 1, 3, 4))
    assert torch.all(diff[:2] == 0) and diff[2] > 0
    z = vae.encode(x)[0]
    z2 = z.clone()
    z2[:, :, 2] += 1.0
    frames = (vae.decode(z) - vae.decode(z2)).abs().amax(dim=(0, 1, 3, 4))
    assert torch.all(frames[:5] == 0) and torch.all(frames[5:] > 0)


def test_vae3d_refuses_frame_counts_it_cannot_encode_and_names_the_valid_ones():
    vae = create_model("vae3d-tiny")
    with pytest.raises(InvalidArgument, match=r"1 \+ 4·k frames \(1, 5, 9, 13"):
        vae.encode(torch.randn(1, 3, 8, 16, 16))


def test_vae3d_loss_has_reconstruction_kl_and_temporal_terms_and_gradient_steps_lower_it():
    from genlab.data.world import to_signed, video_item
    from genlab.world import render_video

    torch.manual_seed(0)
    vae = create_model("vae3d-tiny")
    clip = render_video(video_item(0, 1)[0], 5, 16)  # (5, 16, 16, 3) uint8
    x = to_signed(clip).transpose(0, 1)[None]  # (1, 3, 5, 16, 16)
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    losses = []
    for _ in range(3):
        torch.manual_seed(1)  # the same reparameterisation noise: only the weights change
        loss, logs = vae3d_loss(vae, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert set(logs) == {"mse", "kl", "temporal"} and logs["temporal"] > 0
    assert losses[2] < losses[1] < losses[0]


def test_psnr_per_frame_gives_one_value_per_frame_and_rises_with_accuracy():
    x = torch.rand(2, 3, 4, 8, 8) * 2 - 1
    noisy = x + 0.1 * torch.randn_like(x)
    psnr = psnr_per_frame(noisy, x)
    assert psnr.shape == (4,)
    assert (psnr_per_frame(x + 0.01 * torch.randn_like(x), x) > psnr).all()


def test_cached_latents_are_the_encoder_means_saved_once_to_a_file(tmp_path):
    from genlab.io import load_checkpoint
    from genlab.train.video import cache_latents

    torch.manual_seed(0)
    vae = create_model("vae3d-tiny").eval()
    videos = torch.randint(0, 256, (3, 5, 16, 16, 3), dtype=torch.uint8)
    latents = cache_latents(vae, videos, tmp_path / "latents.safetensors", batch_size=2)
    tensors, config = load_checkpoint(tmp_path / "latents.safetensors")
    assert tensors["latents"].shape == (3, 4, 2, 4, 4) and config["kind"] == "latent-cache"
    x = videos[:1].permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    assert torch.allclose(tensors["latents"][:1], vae.encode(x)[0], atol=1e-5)
    assert torch.equal(latents, tensors["latents"])


def randomized(model):
    torch.manual_seed(0)
    for p in model.parameters():  # leave the zero init so that every branch is active
        torch.nn.init.normal_(p, std=0.1)
    return model.eval()


def test_a_frame_conditioned_video_dit_sees_the_first_frame_in_every_frame():
    model = randomized(create_model("video-dit-tiny", frame_cond=True))
    assert model.x_embedder.in_channels == 3 + 3 + 1  # x_t, the first frame, the "given" flag
    cond, t = text_cond(2), torch.tensor([300.0, 300.0])
    x, first = torch.randn(2, 3, 4, 16, 16), torch.randn(2, 3, 16, 16)
    plain = model(x, t, cond)
    given = model(x, t, {**cond, "first_frame": first})
    assert given.shape == x.shape
    # even with temporal attention switched off every frame changes: each frame reads frame 0
    for block in model.blocks:
        block.attn_t.proj.weight.data.zero_()
        block.attn_t.proj.bias.data.zero_()
    plain = model(x, t, cond)
    given = model(x, t, {**cond, "first_frame": first})
    assert ((given - plain).abs().amax(dim=(1, 3, 4)) > 0).all()
    # a sample marked "not given" is exactly the unconditioned one, whatever frame it carries
    mixed = model(x, t, {**cond, "first_frame": first, "first_frame_given": torch.tensor([1, 0])})
    torch.testing.assert_close(mixed[0], given[0])
    torch.testing.assert_close(mixed[1], plain[1])


def test_a_first_frame_of_the_wrong_shape_is_refused():
    model = create_model("video-dit-tiny", frame_cond=True)
    with pytest.raises(
        InvalidArgument, match=r"first_frame: expected a tensor of shape \(1, 3, 16, 16\)"
    ):
        model(torch.randn(1, 3, 2, 16, 16), torch.tensor([1.0]),
              {**text_cond(1), "first_frame": torch.randn(1, 3, 8, 8)})  # fmt: skip


def test_a_model_without_frame_cond_ignores_a_first_frame_and_keeps_its_channels():
    model = randomized(create_model("video-dit-tiny"))
    assert model.x_embedder.in_channels == 3
    x, t, cond = torch.randn(1, 3, 2, 16, 16), torch.tensor([50.0]), text_cond(1)
    torch.testing.assert_close(
        model(x, t, cond), model(x, t, {**cond, "first_frame": torch.randn(1, 3, 16, 16)})
    )


def test_separate_time_embedding_gives_the_frame_its_own_dimensions():
    model = create_model("video-dit-tiny", time_embedding="separate")  # width 32: 24 + 8
    pos = model.positions_3d(3, 2, 2)[0].reshape(3, 4, 32)  # (frames, patches, D)
    space, time = pos[..., :24], pos[..., 24:]
    assert torch.equal(space[0], space[2])  # the patch part is the same in every frame
    assert torch.equal(time[:, 0], time[:, 3])  # the frame part is the same at every patch
    assert not torch.equal(time[0], time[1])
    summed = create_model("video-dit-tiny").positions_3d(3, 2, 2)[0].reshape(3, 4, 32)
    assert not torch.equal(summed[0], summed[1])  # "sum": every dimension carries both
    x = torch.randn(1, 3, 2, 16, 16)
    assert model(x, torch.tensor([3.0]), text_cond(1)).shape == x.shape
    with pytest.raises(InvalidArgument, match="multiple of 16"):
        create_model("video-dit-tiny", hidden_size=40, time_embedding="separate")
    with pytest.raises(InvalidArgument, match="time_embedding"):
        create_model("video-dit-tiny", time_embedding="rotary")
