"""Shared blocks: attention masks and causality, zero-init identities, embeddings, configs,
activation checkpointing and the torch.compile fallback."""

import json
import math
import warnings
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from genlab.errors import InvalidArgument
from genlab.nn import (
    AdaLNModulation,
    Attention,
    CrossAttention,
    ModelConfig,
    ResBlock,
    SelfAttention2d,
    TransformerBlock,
    attention_backend,
    compile_blocks,
    compile_for_inference,
    maybe_checkpoint,
    prefer_attention_backend,
    run_with_compile_fallback,
    sincos_2d,
    timestep_embedding,
    uncompile,
)
from genlab.nn.utils import in_micro_batches


def test_timestep_embedding_is_cos_then_sin_of_t_times_geometric_frequencies():
    t = torch.tensor([0.0, 3.5, 999.0])
    emb = timestep_embedding(t, 8)
    assert emb.shape == (3, 8)
    freq1 = math.exp(-math.log(10000) * 1 / 4)
    assert emb[1, 1].item() == pytest.approx(math.cos(3.5 * freq1), abs=1e-5)
    assert emb[1, 5].item() == pytest.approx(math.sin(3.5 * freq1), abs=1e-5)
    assert torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))


def test_sincos_2d_encodes_column_in_first_half_and_row_in_second():
    emb = sincos_2d(3, 4, 16)  # (H*W, D), row-major
    assert emb.shape == (12, 16)
    same_col = emb[[1, 5, 9]]  # column 1 in rows 0, 1, 2
    assert torch.allclose(same_col[:, :8], same_col[0, :8].expand(3, 8))
    assert not torch.allclose(same_col[:, 8:], same_col[0, 8:].expand(3, 8))


def test_self_attention_ignores_padded_keys():
    torch.manual_seed(0)
    attn = Attention(16, num_heads=4)
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[True, True, True, False, False], [True] * 5])
    y = attn(x, mask)
    x2 = x.clone()
    x2[0, 3:] = torch.randn(2, 16) * 10  # change only the padded positions of item 0
    y2 = attn(x2, mask)
    assert torch.allclose(y[0, :3], y2[0, :3], atol=1e-6)
    assert torch.allclose(y[1], y2[1])


def test_all_padding_row_gives_finite_output_instead_of_nan():
    attn = CrossAttention(8, 6, num_heads=2)
    out = attn(torch.randn(1, 4, 8), torch.randn(1, 3, 6), torch.zeros(1, 3, dtype=torch.bool))
    assert torch.isfinite(out).all()


def test_causal_attention_output_does_not_depend_on_later_tokens():
    torch.manual_seed(0)
    block = TransformerBlock(16, num_heads=2, causal=True)
    x = torch.randn(1, 6, 16)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, 16)
    assert torch.allclose(block(x)[:, :4], block(x2)[:, :4], atol=1e-6)
    # with a padding mask too, the combined mask still hides the future
    mask = torch.ones(1, 6, dtype=torch.bool)
    assert torch.allclose(block(x, mask)[:, :4], block(x2, mask)[:, :4], atol=1e-6)


def test_cross_attention_ignores_masked_context_tokens():
    torch.manual_seed(0)
    attn = CrossAttention(16, 8, num_heads=2)
    x, ctx = torch.randn(1, 4, 16), torch.randn(1, 5, 8)
    mask = torch.tensor([[True, True, False, False, False]])
    ctx2 = ctx.clone()
    ctx2[:, 2:] = 100.0
    assert torch.allclose(attn(x, ctx, mask), attn(x, ctx2, mask), atol=1e-6)


def test_residual_blocks_start_as_identity_and_adaln_starts_at_zero():
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(ResBlock(8, emb_dim=4)(x, torch.randn(2, 4)), x)
    assert torch.equal(SelfAttention2d(8, num_heads=2)(x), x)
    assert ResBlock(8, 16, emb_dim=4)(x, torch.randn(2, 4)).shape == (2, 16, 6, 6)
    chunks = AdaLNModulation(8, 3)(torch.randn(2, 8))
    assert len(chunks) == 3 and all(torch.equal(c, torch.zeros(2, 8)) for c in chunks)


@dataclass
class _ToyConfig(ModelConfig):
    arch = "toy"
    width: int = 4
    levels: tuple[int, ...] = (1, 2)
    name: str | None = None


def test_model_config_round_trips_through_json_with_its_arch():
    config = _ToyConfig(width=8, levels=(1, 2, 4))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["arch"] == "toy" and data["levels"] == [1, 2, 4]
    assert _ToyConfig.from_dict(data) == config
    assert config.replace(width=3).width == 3


def test_model_config_rejects_unknown_fields_and_wrong_arch():
    with pytest.raises(InvalidArgument, match="wdth"):
        _ToyConfig.from_dict({"wdth": 3})
    with pytest.raises(InvalidArgument, match="arch"):
        _ToyConfig.from_dict({"arch": "dit"})


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    block = TransformerBlock(16, 2)
    x = torch.randn(2, 5, 16, requires_grad=True)
    grads = []
    for enabled in (False, True):
        block.zero_grad()
        x.grad = None
        maybe_checkpoint(block, x, enabled=enabled).square().sum().backward()
        grads.append((x.grad.clone(), block.attn.qkv.weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-6)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-6)


def _failing_backend(graph_module, example_inputs):
    raise RuntimeError("this backend cannot compile anything")


class _Block(nn.Module):  # defined here: dynamo does not trace torch's own nn modules' frames
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.linear(x)) + x


def test_failed_compilation_falls_back_to_eager_and_says_why():
    torch.manual_seed(0)
    model = nn.Module()
    model.blocks = nn.ModuleList([_Block(), _Block()])

    def forward(x):
        for b in model.blocks:
            x = b(x)
        return x

    x = torch.randn(3, 4)
    expected = forward(x)
    assert compile_blocks(model, [model.blocks], backend=_failing_backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_with_compile_fallback(model, forward, x)
    assert torch.allclose(out, expected)
    assert "this backend cannot compile" in model.compile_error
    assert any("falling back to eager" in str(w.message) for w in caught)
    assert all(b._compiled_call_impl is None for b in model.blocks)


def test_micro_batches_split_every_batch_tensor_and_join_the_outputs():
    """in_micro_batches: tensors with the batch's first dimension (in dicts too) are split into
    calls of at most `rows`, others (a shared (1, D) tensor, a number) passed whole, and the
    outputs (a tensor and a dict of tensors here) concatenated: the same as one call."""
    seen = []

    def fn(x, t, cond, scale=1.0):
        seen.append((x.shape[0], t.shape[0], cond["tokens"].shape[0], cond["shared"].shape[0]))
        y = scale * x * t[:, None] + cond["tokens"].sum(1) + cond["shared"]
        return y, {"mean": y.mean(1)}

    torch.manual_seed(0)
    args = (torch.randn(5, 4), torch.randn(5), {"tokens": torch.randn(5, 3, 4),
                                                "shared": torch.randn(1, 4)})  # fmt: skip
    whole = fn(*args, scale=2.0)
    seen.clear()
    parts = in_micro_batches(fn, 2)(*args, scale=2.0)
    assert seen == [(2, 2, 2, 1), (2, 2, 2, 1), (1, 1, 1, 1)]
    torch.testing.assert_close(parts[0], whole[0], rtol=0, atol=0)
    torch.testing.assert_close(parts[1]["mean"], whole[1]["mean"], rtol=0, atol=0)
    seen.clear()
    in_micro_batches(fn, 8)(*args)  # no more rows than a micro-batch: one call
    assert seen == [(5, 5, 5, 1)]


def test_compile_for_inference_runs_micro_batches_with_eager_outputs():
    """compile_for_inference(micro_batch=2): at 1 thread a batch of 5 runs as compiled calls of
    2, 2 and 1 rows, at 2 threads as one call (dynamo's eager backend: no C++ build in a test),
    with eager's outputs; micro_batch_max_threads=2 splits at 2 threads too, not at 3; uncompile
    undoes it; a negative micro_batch or a max thread count under 1 is refused by name."""
    torch.manual_seed(0)
    model = _Block().eval()
    x = torch.randn(5, 4)
    expected = model(x)
    rows = []
    model.register_forward_pre_hook(lambda module, args: rows.append(args[0].shape[0]))
    torch._dynamo.reset()
    assert compile_for_inference(model, fullgraph=True, backend="eager", micro_batch=2)
    threads = torch.get_num_threads()

    def check_rows_per_call(cases):
        """At each thread count: eager's outputs, in calls of the given row counts."""
        try:
            for n, calls in cases:
                torch.set_num_threads(n)
                rows.clear()
                torch.testing.assert_close(model(x), expected)
                assert rows == calls
        finally:
            torch.set_num_threads(threads)

    check_rows_per_call(((1, [2, 2, 1]), (2, [5])))
    uncompile(model)
    assert model._compiled_call_impl is None
    # micro_batch_max_threads=2: micro-batches at 2 threads too, with the same outputs
    assert compile_for_inference(
        model, fullgraph=True, backend="eager", micro_batch=2, micro_batch_max_threads=2
    )
    check_rows_per_call(((2, [2, 2, 1]), (3, [5])))
    uncompile(model)
    with pytest.raises(InvalidArgument, match="micro_batch"):
        compile_for_inference(model, micro_batch=-1)
    with pytest.raises(InvalidArgument, match="micro_batch_max_threads"):
        compile_for_inference(model, micro_batch=2, micro_batch_max_threads=0)


def test_attention_over_one_token_is_its_value_without_the_attention_kernel():
    """N = 1 takes the shortcut (the output is proj(v)); it must equal real attention, in the
    output and in every parameter's gradient (q and k get none: their gradient is exactly 0)."""
    torch.manual_seed(0)
    attn = Attention(16, 4)
    x = torch.randn(5, 1, 16, requires_grad=True)
    fast = attn(x)
    fast.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in attn.named_parameters()}
    x_grad = x.grad.clone()
    attn.zero_grad()
    x.grad = None
    B, N, D = x.shape
    q, k, v = attn.qkv(x).view(B, N, 3, 4, 4).permute(2, 0, 3, 1, 4).unbind(0)
    ref = attn.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, D))
    ref.square().sum().backward()
    torch.testing.assert_close(fast, ref)
    torch.testing.assert_close(x_grad, x.grad)
    for n, p in attn.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, atol=1e-6, rtol=1e-5)
    assert torch.count_nonzero(grads["qkv.weight"][:32]) == 0


def test_prefer_attention_backend_reorders_and_restores_sdpa_kernels():
    before = list(torch._C._get_sdp_priority_order())
    try:
        prefer_attention_backend("cudnn")
        order = list(torch._C._get_sdp_priority_order())
        assert order[0] == int(torch.nn.attention.SDPBackend.CUDNN_ATTENTION)
        assert sorted(order) == sorted(before)  # the others keep their places, none dropped
        prefer_attention_backend("efficient")
        assert torch._C._get_sdp_priority_order()[0] == int(
            torch.nn.attention.SDPBackend.EFFICIENT_ATTENTION
        )
    finally:
        prefer_attention_backend(None)
    assert list(torch._C._get_sdp_priority_order()) == before
    with pytest.raises(ValueError, match="attention backend must be one of flash"):
        prefer_attention_backend("fastest")
    q = torch.randn(2, 2, 16, 8)
    assert attention_backend(q, q, q) in ("flash", "efficient", "cudnn", "math")


def test_attention_in_chunks_of_sequences_equals_one_call():
    """Above a GPU kernel's batch limit attention runs in chunks of sequences: the same output,
    with a per-sequence key mask split along and a shared (batch-1) mask reused."""
    from genlab.nn.attention import sdpa_in_chunks

    torch.manual_seed(0)
    q, k, v = (torch.randn(7, 2, 5, 4) for _ in range(3))
    keys = torch.rand(7, 1, 1, 5) > 0.3
    keys[..., 0] = True
    shared = torch.ones(5, 5, dtype=torch.bool).tril()[None, None]
    for mask, causal in ((None, False), (None, True), (keys, False), (shared, False)):
        whole = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        torch.testing.assert_close(sdpa_in_chunks(q, k, v, mask, causal, 3), whole)
