"""DiT: the denoiser contract on pixels and latents, adaLN-Zero init, text and class
conditioning, named sizes matching the paper, and a few training steps that lower the loss."""

import functools
import json

import pytest
import torch
from denoiser_inputs import randomized, text_cond

from genlab.errors import InvalidArgument, NotFound
from genlab.models import create_model, list_models
from genlab.models.dit import DIT_MODELS, DiT
from genlab.nn import sincos_2d
from genlab.text import TEXT_ENCODERS, TextEncoder

_text_cond = functools.partial(text_cond, length=5, valid=3)  # (batch) -> encoder output
_randomize = functools.partial(randomized, std=0.1)


@pytest.mark.parametrize("channels,height,width", [(3, 8, 8), (4, 16, 8), (3, 12, 20)])
def test_output_has_the_input_shape_for_pixels_latents_and_any_size_divisible_by_patch(
    channels, height, width
):
    model = create_model("dit-tiny", in_channels=channels)
    x = torch.randn(2, channels, height, width)
    out = model(x, torch.tensor([0.0, 999.5]), _text_cond(2))
    assert out.shape == x.shape


def test_adaln_zero_init_makes_the_first_prediction_exactly_zero():
    model = create_model("dit-tiny")
    out = model(torch.randn(2, 3, 8, 8), torch.tensor([10.0, 500.0]), _text_cond(2))
    assert torch.equal(out, torch.zeros_like(out))
    assert all(
        torch.equal(
            b.adaLN_modulation.linear.weight, torch.zeros_like(b.adaLN_modulation.linear.weight)
        )
        for b in model.blocks
    )


def test_bad_input_size_or_missing_text_raises_invalid_argument():
    model = create_model("dit-tiny")
    with pytest.raises(InvalidArgument, match="divisible by 2"):
        model(torch.randn(1, 3, 7, 8), torch.zeros(1), _text_cond(1))
    with pytest.raises(InvalidArgument, match="tokens"):
        model(torch.randn(1, 3, 8, 8), torch.zeros(1), {"pooled": torch.randn(1, 32)})


def test_text_changes_the_prediction_but_padded_tokens_do_not():
    model = _randomize(create_model("dit-tiny")).eval()
    x, t = torch.randn(1, 3, 8, 8), torch.tensor([300.0])
    cond = _text_cond(1)
    padded_changed = {**cond, "tokens": cond["tokens"].clone()}
    padded_changed["tokens"][:, 3:] = 50.0
    other_text = {**cond, "tokens": torch.randn(1, 5, 32)}
    base = model(x, t, cond)
    assert torch.allclose(base, model(x, t, padded_changed), atol=1e-5)
    assert not torch.allclose(base, model(x, t, other_text), atol=1e-3)


def test_class_conditional_dit_uses_labels_and_has_a_null_class():
    model = _randomize(
        create_model("dit-tiny", num_classes=5, context_dim=None, pooled_dim=None)
    ).eval()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([100.0, 100.0])
    a = model(x, t, {"labels": torch.tensor([0, 5])})  # 5 = the null class for CFG
    b = model(x, t, {"labels": torch.tensor([1, 5])})
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    assert model.y_embedder.null_label == 5


def test_paper_sizes_have_the_papers_parameter_counts():
    # Peebles & Xie 2023, Table 1 (without learned sigma: 4 output channels, so a little fewer).
    expected = {"DiT-S/2": 33e6, "DiT-B/2": 130e6, "DiT-L/2": 458e6, "DiT-XL/2": 675e6}
    for name, params in expected.items():
        with torch.device("meta"):
            model = create_model(name)
        n = sum(p.numel() for p in model.parameters())
        assert abs(n - params) / params < 0.01, (name, n)
    assert {"dit-world-s", "dit-world-m", "dit-tiny"} <= set(list_models("dit"))


def test_config_dict_round_trips_through_json_and_accepts_overrides():
    model = create_model("dit-tiny", depth=3)
    data = json.loads(json.dumps(model.config.to_dict()))
    assert data["arch"] == "dit" and data["depth"] == 3
    again = create_model(data)
    again.load_state_dict(model.state_dict())
    assert again.config == model.config
    assert create_model(data, hidden_size=64).config.hidden_size == 64
    with pytest.raises(NotFound, match="DiT-S/2"):
        create_model("DiT-Q/2")
    assert "DiT-XL/2" in DIT_MODELS


def test_positions_for_other_grid_sizes_are_the_fixed_sincos_embedding():
    model = DiT(create_model("dit-tiny").config)
    assert torch.equal(model.positions(4, 4), model.pos_embed)
    assert torch.equal(model.positions(3, 5)[0], sincos_2d(3, 5, 32))


def test_gradient_checkpointing_gives_the_same_gradients():
    x, t, cond = torch.randn(2, 3, 8, 8), torch.tensor([5.0, 700.0]), _text_cond(2)
    grads = []
    for ckpt in (False, True):
        model = _randomize(create_model("dit-tiny", gradient_checkpointing=ckpt))
        model(x, t, cond).square().mean().backward()
        grads.append(model.blocks[0].attn.qkv.weight.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_dit_and_text_encoder_trained_jointly_lower_the_denoising_loss():
    torch.manual_seed(0)
    model = create_model("dit-tiny")
    encoder = TextEncoder(**TEXT_ENCODERS["text-tiny"])
    opt = torch.optim.AdamW([*model.parameters(), *encoder.parameters()], lr=3e-3)
    x0 = torch.randn(4, 3, 8, 8).clamp(-1, 1)
    prompts = ["a red circle", "a blue square", "", "two green stars"]
    noise, t = torch.randn_like(x0), torch.tensor([100.0, 300.0, 600.0, 900.0])
    a = (1 - t / 1000).sqrt()[:, None, None, None]  # a toy schedule: enough to fit one batch
    x_t = a * x0 + (1 - a**2).sqrt() * noise
    losses = []
    for _ in range(30):
        loss = (model(x_t, t, encoder.encode(prompts).cond) - noise).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert encoder.null_pooled.grad is not None and encoder.null_pooled.grad.abs().sum() > 0


def test_runs_and_backpropagates_under_bf16_autocast():
    model = _randomize(create_model("dit-tiny"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 8, 8), torch.tensor([1.0, 2.0]), _text_cond(2))
    out.float().square().mean().backward()
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    assert model.blocks[0].cross.kv.weight.grad is not None
