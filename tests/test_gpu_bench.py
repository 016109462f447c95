"""benchmarks/gpu_dit.py runs end to end on the CPU with --tiny: every measurement present,
results written as JSON, the table printed, and bad options refused."""

import json

import pytest
from benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("gpu_dit")


def test_tiny_run_measures_training_and_sampling_and_writes_json(bench, tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = ["--tiny", "--sizes", "DiT-S/2", "--modes", "tf32,bf16", "--sample-steps", "2",
            "--out", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    results = json.loads(out.read_text())
    assert results["tiny"] and results["bf16_matmul_peak_tflops"] > 0
    runs = {r["mode"]: r for r in results["runs"]}
    assert set(runs) == {"tf32", "bf16"}
    for run in runs.values():
        assert (
            run["train_images_per_s"] > 0
            and run["train_gflop_per_image"] > run["fwd_gflop_per_image"] > 0
        )
        assert run["mfu"] > 0
    assert runs["bf16"]["sample_images_per_s"] > 0 and "sample_images_per_s" not in runs["tf32"]
    table = capsys.readouterr().out
    assert "DiT-S/2    bf16" in table and "sample img/s" in table


def test_text_conditioning_costs_more_flops_than_class_conditioning(bench):
    import torch

    flops = {}
    for cond in ("class", "text"):
        model, num_classes = bench.build_model(
            "DiT-S/2", cond, tiny=True, device=torch.device("cpu")
        )
        flops[cond] = bench.count_flops(model, (2, 4, 8, 8), num_classes, torch.device("cpu"))[0]
    assert flops["text"] > flops["class"]


def test_unknown_mode_is_refused_with_a_usage_error(bench):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["--modes", "fp8"])
    assert exit_info.value.code == 2


def test_profile_splits_a_training_step_by_kernel_family(bench, tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = ["--tiny", "--sizes", "DiT-S/2", "--modes", "bf16", "--no-sample", "--profile", "2",
            "--out", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    prof = json.loads(out.read_text())["runs"][0]["profile"]
    families = prof["families_ms"]
    assert {"gemm", "attention", "optimizer + EMA"} <= set(families)  # the DiT's own parts
    assert sum(families.values()) == pytest.approx(prof["device_ms_per_step"])
    assert prof["top"] and all(0 < row["share"] <= 1 for row in prof["top"])
    assert "profile:" in capsys.readouterr().out
    assert bench.kernel_family("sm90_xmma_gemm_bf16bf16_bf16f32") == "gemm"
    assert bench.kernel_family("pytorch_flash::flash_fwd_kernel") == "attention"
    assert bench.kernel_family("triton_poi_fused_add_mul_0") == "fused elementwise (triton)"
