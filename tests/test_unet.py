"""U-Net: the denoiser contract on pixels and latents, identity-at-init output, cross-attention
that respects the padding mask, channels-last and checkpointing equivalence, named sizes."""

import functools
import json

import pytest
import torch
from denoiser_inputs import randomized, text_cond

from genlab.errors import InvalidArgument
from genlab.models import create_model, list_models

_text_cond = functools.partial(text_cond, length=4, valid=2)  # (batch) -> encoder output
_randomize = functools.partial(randomized, std=0.05)


@pytest.mark.parametrize("channels,height,width", [(3, 8, 8), (4, 16, 8), (3, 6, 10)])
def test_output_has_the_input_shape_for_pixels_latents_and_sizes_divisible_by_two(
    channels, height, width
):
    model = create_model("unet-tiny", in_channels=channels)
    x = torch.randn(2, channels, height, width)
    out = model(x, torch.tensor([1.0, 998.0]), _text_cond(2))
    assert out.shape == x.shape
    assert torch.equal(out, torch.zeros_like(out))  # zero output conv: prediction 0 at init


def test_size_not_divisible_by_the_downsampling_factor_raises_invalid_argument():
    model = create_model("unet-tiny")
    with pytest.raises(InvalidArgument, match="divisible by 2"):
        model(torch.randn(1, 3, 7, 8), torch.zeros(1), _text_cond(1))
    with pytest.raises(InvalidArgument, match="pooled"):
        model(torch.randn(1, 3, 8, 8), torch.zeros(1), {"tokens": torch.randn(1, 4, 32)})
    with pytest.raises(InvalidArgument, match="attention_levels"):
        create_model("unet-tiny", attention_levels=(5,))


def test_cross_attention_reads_real_tokens_and_ignores_padding():
    model = _randomize(create_model("unet-tiny")).eval()
    x, t, cond = torch.randn(1, 3, 8, 8), torch.tensor([250.0]), _text_cond(1)
    padded_changed = {**cond, "tokens": cond["tokens"].clone()}
    padded_changed["tokens"][:, 2:] = 30.0
    real_changed = {**cond, "tokens": cond["tokens"].clone()}
    real_changed["tokens"][:, 0] = 3.0
    base = model(x, t, cond)
    assert torch.allclose(base, model(x, t, padded_changed), atol=1e-5)
    assert not torch.allclose(base, model(x, t, real_changed), atol=1e-4)


def test_channels_last_and_gradient_checkpointing_compute_the_same_function():
    x, t, cond = torch.randn(2, 3, 8, 8), torch.tensor([3.0, 600.0]), _text_cond(2)
    reference = _randomize(create_model("unet-tiny"))
    out = reference(x, t, cond)
    out.square().mean().backward()
    for overrides in ({"channels_last": True}, {"gradient_checkpointing": True}):
        other = create_model("unet-tiny", **overrides)
        other.load_state_dict(reference.state_dict())
        other_out = other(x, t, cond)
        assert torch.allclose(out, other_out, atol=1e-5), overrides
        other_out.square().mean().backward()
        g_ref, g = reference.conv_out.weight.grad, other.conv_out.weight.grad
        assert torch.allclose(g_ref, g, atol=1e-5), overrides


def test_class_conditional_unet_takes_labels_instead_of_text():
    model = _randomize(
        create_model("unet-tiny", num_classes=3, context_dim=None, pooled_dim=None)
    ).eval()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([50.0, 50.0])
    a = model(x, t, {"labels": torch.tensor([0, 3])})
    b = model(x, t, {"labels": torch.tensor([2, 3])})
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])


def test_named_sizes_and_config_round_trip_through_json():
    assert {"unet-tiny", "unet-world-s", "unet-world-m"} <= set(list_models("unet"))
    model = create_model("unet-tiny", channel_mult=(1, 2, 2), attention_levels=(2,))
    data = json.loads(json.dumps(model.config.to_dict()))
    again = create_model(data)
    assert again.config == model.config and again.config.channel_mult == (1, 2, 2)
    again.load_state_dict(model.state_dict())
    assert again.downsample_factor == 4


def test_runs_and_backpropagates_under_bf16_autocast_with_channels_last():
    model = create_model("unet-tiny", channels_last=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 8, 8), torch.tensor([1.0, 2.0]), _text_cond(2))
    out.float().square().mean().backward()
    assert out.shape == (2, 3, 8, 8) and model.conv_out.weight.grad is not None
