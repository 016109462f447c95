"""The video U-Net: the image U-Net frame by frame plus temporal attention. It keeps the clip shape,
mixes frames only through its temporal layers, starts as an image U-Net's weights exactly (the
inflation that lets a video model begin from world-t2i), and refuses weights that do not fit."""

import pytest
import torch

from genlab.errors import CheckpointError, InvalidArgument
from genlab.models import create_model
from genlab.models.video_unet import TokenQueryPool, VideoUNet

IMAGE_FIELDS = dict(
    model_channels=16,
    channel_mult=(1, 2),
    num_res_blocks=1,
    attention_levels=(1,),
    head_dim=16,
    context_dim=32,
    pooled_dim=32,
)


def text_cond(B, width=32, L=5):
    return {
        "tokens": torch.randn(B, L, width),
        "mask": torch.ones(B, L, dtype=torch.bool),
        "pooled": torch.randn(B, width),
    }


def randomise(model):
    torch.manual_seed(1)
    for p in model.parameters():  # leave the zero inits so that every branch is active
        torch.nn.init.normal_(p, std=0.05)
    return model


def test_predicts_a_clip_of_its_input_shape_for_any_length_and_starts_at_zero():
    model = create_model("video-unet-tiny")
    for T in (1, 3, 8):
        x = torch.randn(2, 3, T, 16, 16)
        out = model(x, torch.tensor([10.0, 900.0]), text_cond(2))
        assert out.shape == x.shape
        assert torch.count_nonzero(out) == 0  # the U-Net's zeroed output convolution


def test_frames_meet_only_in_the_temporal_layers():
    model = randomise(create_model("video-unet-tiny")).eval()
    cond, t = text_cond(1), torch.tensor([100.0])
    x = torch.randn(1, 3, 4, 16, 16)
    y = x.clone()
    y[:, :, 3] += 1.0  # change the last frame only
    with torch.no_grad():
        changed = (model(x, t, cond) - model(y, t, cond)).abs().amax(dim=(0, 1, 3, 4))
        assert (changed[:3] > 0).all()
        for layer in model.temporal.values():  # without them each frame is on its own
            layer.attn.proj.weight.zero_()
            layer.attn.proj.bias.zero_()
        changed = (model(x, t, cond) - model(y, t, cond)).abs().amax(dim=(0, 1, 3, 4))
    assert torch.all(changed[:3] == 0) and changed[3] > 0


def test_the_temporal_convolution_relates_neighbouring_frames_and_hears_the_prompt():
    """A 3×3×3 block: a change to one frame reaches its neighbours even with every temporal
    attention silenced, and the clip's pooled text changes what the block adds."""
    model = randomise(create_model("video-unet-tiny", temporal_conv=True)).eval()
    for layer in model.temporal.values():
        layer.attn.proj.weight.data.zero_()
        layer.attn.proj.bias.data.zero_()
    cond, t = text_cond(1), torch.tensor([100.0])
    x = torch.randn(1, 3, 6, 16, 16)
    y = x.clone()
    y[:, :, 5] += 1.0
    with torch.no_grad():
        changed = (model(x, t, cond) - model(y, t, cond)).abs().amax(dim=(0, 1, 3, 4))
        assert (changed > 0).all()  # through stacked 3×3×3 layers: every frame
        block = next(iter(model.temporal_conv.values()))
        h = torch.randn(2 * 4, block.norm1.num_channels, 8, 8)  # 2 clips of 4 frames
        emb = torch.randn(1, block.emb_proj[1].in_features)
        same, other = block(h, 4, emb.expand(2, -1)), block(h, 4, torch.cat([emb, -emb]))
    assert (same[:4] - other[:4]).abs().max() == 0  # the first clip's embedding is the same
    assert (same[4:] - other[4:]).abs().max() > 0  # the second's differs: so does its motion


def test_channels_last_lays_out_2d_and_3d_convolutions_and_changes_no_output():
    """channels_last (the CUDA default) puts 4-D kernels in NHWC and the 3-D blocks' 5-D kernels
    in NDHWC, and computes what the default layout does."""
    torch.manual_seed(0)
    plain = randomise(create_model("video-unet-tiny", temporal_conv=True)).eval()
    nhwc = create_model("video-unet-tiny", temporal_conv=True, channels_last=True).eval()
    nhwc.load_state_dict(plain.state_dict())
    shapes = {p.dim() for p in nhwc.parameters()}
    assert {4, 5} <= shapes
    for p in nhwc.parameters():
        if p.dim() == 4:
            assert p.is_contiguous(memory_format=torch.channels_last)
        elif p.dim() == 5:
            assert p.is_contiguous(memory_format=torch.channels_last_3d)
    x, t, cond = torch.randn(1, 3, 4, 16, 16), torch.tensor([300.0]), text_cond(1)
    with torch.no_grad():
        torch.testing.assert_close(nhwc(x, t, cond), plain(x, t, cond), rtol=1e-4, atol=1e-5)


def test_the_temporal_layers_know_the_order_of_the_frames():
    """Reversing the clip must not just reverse the output: frame positions reach attention."""
    model = randomise(create_model("video-unet-tiny")).eval()
    for p in model.temporal.parameters():  # attention far from uniform, as after training
        torch.nn.init.normal_(p, std=0.5)
    cond, t = text_cond(1), torch.tensor([300.0])
    x = torch.randn(1, 3, 4, 16, 16)
    with torch.no_grad():
        forward = model(x, t, cond)
        backward = model(x.flip(2), t, cond).flip(2)
    assert (forward - backward).abs().max() > 0.01 * forward.abs().max()


def test_token_queries_read_the_real_tokens_and_start_at_zero():
    pool = TokenQueryPool(32, 64, num_queries=3)
    tokens, mask = torch.randn(2, 6, 32), torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6]).bool()
    assert pool(tokens, mask).shape == (2, 64) and pool(tokens, mask).abs().max() == 0
    randomise(pool)
    with torch.no_grad():
        out = pool(tokens, mask)
        padded = tokens.clone()
        padded[0, 3:] = torch.randn(3, 32)  # the first prompt's padding: nothing it reads
        torch.testing.assert_close(pool(padded, mask)[0], out[0])
        named = tokens.clone()
        named[0, 1] = torch.randn(32)  # one real token, e.g. "left" -> "right"
        assert (pool(named, mask)[0] - out[0]).abs().max() > 1e-3
        torch.testing.assert_close(pool(named, mask)[1], out[1])  # the other prompt: unchanged
        assert torch.isfinite(pool(tokens, torch.zeros_like(mask))).all()  # no real token at all
    with pytest.raises(InvalidArgument, match="temporal_text_queries"):
        TokenQueryPool(32, 64, num_queries=0)


def test_token_queries_steer_the_3d_blocks_where_the_pooled_text_is_the_same():
    """Two prompts with one pooled vector and different tokens ("moving left" / "moving right" as
    the pooled text hears them): the 3-D blocks are steered apart only with temporal_text."""
    cond = text_cond(2)
    cond["pooled"] = cond["pooled"][:1].expand(2, -1)
    x, t = torch.randn(2, 3, 4, 16, 16), torch.tensor([200.0, 200.0])
    for temporal_text in (False, True):
        model = randomise(
            create_model("video-unet-tiny", temporal_conv=True, temporal_text=temporal_text)
        ).eval()
        seen = []
        block = next(iter(model.temporal_conv.values()))
        hook = block.register_forward_hook(lambda m, args, out, seen=seen: seen.append(args[2]))
        with torch.no_grad():
            model(x, t, cond)
        hook.remove()
        apart = (seen[0][0] - seen[0][1]).abs().max()
        assert (apart > 1e-3) == temporal_text, temporal_text


@pytest.mark.parametrize(
    "frame_cond, temporal_conv, temporal_text",
    [(False, False, False), (True, False, False), (True, True, False), (True, True, True)],
)
def test_inflated_from_an_image_unet_it_is_that_unet_frame_by_frame(
    frame_cond, temporal_conv, temporal_text
):
    image = randomise(create_model("unet-tiny", **IMAGE_FIELDS)).eval()
    video = create_model(
        "video-unet-tiny",
        frame_cond=frame_cond,
        temporal_conv=temporal_conv,
        temporal_text=temporal_text,
    ).eval()
    new = video.load_image_weights(image.state_dict())
    assert new and all(k.startswith(("temporal.", "temporal_conv.", "temporal_text.")) for k in new)
    assert any(k.startswith("temporal_conv.") for k in new) == temporal_conv
    assert any(k.startswith("temporal_text.") for k in new) == temporal_text
    cond = text_cond(2)
    x, t = torch.randn(2, 3, 5, 16, 16), torch.tensor([30.0, 700.0])
    if frame_cond:
        cond["first_frame"] = torch.randn(2, 3, 16, 16)  # zero weights on it: no effect yet
    with torch.no_grad():
        out = video(x, t, cond)
        per_frame = torch.stack([image(x[:, :, i], t, cond) for i in range(5)], dim=2)
    torch.testing.assert_close(out, per_frame, atol=1e-5, rtol=1e-4)


def test_a_frame_conditioned_video_unet_sees_the_first_frame_in_every_frame():
    model = randomise(create_model("video-unet-tiny", frame_cond=True)).eval()
    cond, t = text_cond(1), torch.tensor([500.0])
    x = torch.randn(1, 3, 3, 16, 16)
    first = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        plain = model(x, t, cond)
        given = model(x, t, dict(cond, first_frame=first))
        not_given = model(x, t, dict(cond, first_frame=first, first_frame_given=torch.zeros(1)))
    assert ((plain - given).abs().amax(dim=(0, 1, 3, 4)) > 0).all()
    torch.testing.assert_close(not_given, plain)  # "not given" is the same as no first frame
    with pytest.raises(InvalidArgument, match="first_frame"):
        model(x, t, dict(cond, first_frame=torch.randn(1, 3, 8, 8)))


def test_image_weights_that_do_not_fit_are_refused_with_the_tensor_named():
    video = create_model("video-unet-tiny")
    other = create_model("unet-tiny", **dict(IMAGE_FIELDS, model_channels=32, head_dim=32))
    with pytest.raises(CheckpointError, match="has shape"):
        video.load_image_weights(other.state_dict())
    image = create_model("unet-tiny", **IMAGE_FIELDS).state_dict()
    with pytest.raises(CheckpointError, match="no tensor for"):
        video.load_image_weights({k: v for k, v in image.items() if "conv_out" not in k})
    with pytest.raises(CheckpointError, match="not a layer"):
        video.load_image_weights({**image, "blocks.0.attn.weight": torch.zeros(1)})


def test_bad_input_and_config_are_refused_clearly():
    model = create_model("video-unet-tiny")
    with pytest.raises(InvalidArgument, match="x_t"):
        model(torch.randn(1, 3, 16, 16), torch.tensor([1.0]), text_cond(1))  # an image, not a clip
    with pytest.raises(InvalidArgument, match="divisible by 2"):
        model(torch.randn(1, 3, 2, 15, 16), torch.tensor([1.0]), text_cond(1))
    with pytest.raises(InvalidArgument, match="attention"):
        VideoUNet(attention="full")
    with pytest.raises(InvalidArgument, match="temporal_text: expected temporal_conv=True"):
        create_model("video-unet-tiny", temporal_text=True)  # no 3-D blocks to steer
    with pytest.raises(InvalidArgument, match="temporal_text"):
        create_model("video-unet-tiny", temporal_conv=True, temporal_text=True, context_dim=None,
                     pooled_dim=None, num_classes=4)  # fmt: skip
    assert model.config.patch_size_t == 1  # every frame its own: what pipelines read
    again = create_model(model.config.to_dict())
    assert isinstance(again, VideoUNet) and again.config == model.config
