"""benchmarks/cpu_sampling.py --vs-diffusers: the diffusers twin is the same network as the genlab
U-Net (same outputs from the same weights), diffusers' pipeline drives it, and a denoiser diffusers
cannot express is refused in one line."""

import pytest
import torch
from benchmark_scripts import load_benchmark

from genlab.errors import InvalidArgument
from genlab.models import create_model

pytest.importorskip("diffusers")
bench = load_benchmark("cpu_sampling")

TINY = dict(arch="unet", model_channels=32, channel_mult=(1, 2), num_res_blocks=1,
            attention_levels=(1,), head_dim=32, context_dim=16, pooled_dim=16)  # fmt: skip


def random_unet(**overrides):
    torch.manual_seed(0)
    model = create_model({**TINY, **overrides}).eval()
    for name, p in model.named_parameters():
        torch.nn.init.normal_(p, std=0.05)
        if name.endswith(("qkv.bias", "cross.q.bias", "cross.kv.bias")):  # diffusers has none
            torch.nn.init.zeros_(p)
    return model


@pytest.mark.parametrize("num_res_blocks", [1, 2])
def test_twin_computes_what_the_genlab_unet_computes(num_res_blocks):
    model = random_unet(num_res_blocks=num_res_blocks)
    twin = bench.diffusers_twin(model)
    assert sum(p.numel() for p in twin.parameters()) == sum(
        p.numel()
        for n, p in model.named_parameters()
        if not n.endswith(("qkv.bias", "q.bias", "kv.bias"))
    )
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([10.0, 700.0])
    tokens, pooled = torch.randn(2, 5, 16), torch.randn(2, 16)
    with torch.no_grad():
        ours = model(x, t, {"tokens": tokens, "pooled": pooled})
        theirs = twin(x, t, tokens, class_labels=pooled).sample
    assert ours.abs().max() > 0.01  # not a trivially zero output
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


def test_twin_refuses_a_layout_denoiser_in_one_line():
    with pytest.raises(InvalidArgument, match="layout"):
        bench.diffusers_twin(create_model({**TINY, "layout_channels": 4}))


@pytest.fixture
def unet_checkpoint(tmp_path):
    """A random world text-to-image U-Net pipeline, saved as a real checkpoint."""
    from genlab.diffusion import NoiseSchedule
    from genlab.io import save_checkpoint
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder, TextEncoderConfig
    from genlab.text.encoder import TEXT_ENCODERS

    encoder = TextEncoder(TextEncoderConfig(**TEXT_ENCODERS["text-tiny"]))
    width = encoder.config.width
    pipe = Text2ImagePipeline(
        random_unet(context_dim=width, pooled_dim=width), encoder,
        NoiseSchedule.create("cosine"), "v_prediction", image_size=16, name="unet-random",
    )  # fmt: skip
    return save_checkpoint(tmp_path / "unet.safetensors", *pipe.checkpoint())


@pytest.mark.slow
def test_vs_diffusers_times_genlab_eager_compiled_and_diffusers_in_turn(
    unet_checkpoint, tmp_path, capsys
):
    """genlab eager, genlab compiled (dynamo's eager backend here: no C++ build in a test;
    inductor is what the benchmark times) and diffusers, in turn; the report has what the issue
    asks: compiled/diffusers and compiled/eager per round on the wall clock and on CPU time,
    the load per round, compile time, break-even."""
    import json

    import torch

    torch._dynamo.reset()
    rc = bench.main(["--models", str(unet_checkpoint), "--vs-diffusers", "--compile",
                     "--compile-backend", "eager", "--steps", "1", "--num-images", "2",
                     "--rounds", "2", "--threads", "1", "2", "--micro-batch-threads", "2",
                     "--out-dir", str(tmp_path)])  # fmt: skip
    torch._dynamo.reset()
    assert rc == 0
    r = json.loads((tmp_path / "cpu_vs_diffusers.json").read_text())["models"][str(unet_checkpoint)]
    assert r["compile_error"] is None and r["compile_s"] > 0
    assert [run["threads"] for run in r["runs"]] == [1, 2]  # one compile, both thread counts
    for run in r["runs"]:
        assert set(run["images_per_s"]) == {
            "genlab", "diffusers", "genlab+compile", "genlab+compile+micro"
        }  # fmt: skip
        assert run["genlab+compile+micro/genlab+compile"] > 0  # the micro-batch A/B
        assert all(len(v) == 2 and min(v) > 0 for v in run["images_per_s"].values())
        assert run["genlab/diffusers"] > 0 and len(run["load_average_1min"]) == 2
        assert all(len(v) == 2 and min(v) > 0 for v in run["images_per_cpu_s"].values())
        assert len(run["load_average_1min_per_round"]) == 2
        for ratio in ("genlab+compile/diffusers", "genlab+compile/genlab"):
            for clock in (ratio, f"{ratio} cpu"):  # wall clock and CPU time, per round
                assert run[clock] > 0 and len(run[f"{clock} per round"]) == 2
        assert run["max_abs_diff_compiled_vs_eager"] < 1e-4  # the same images
        assert "break_even_images" in run
    out = capsys.readouterr().out
    assert "images/s" in out and "genlab+compile/diffusers" in out and "compiling pays after" in out
    assert "1 thread: " in out and "2 threads: " in out  # the summary: median and range per count
    assert "CPU time" in out and "rounds" in out
