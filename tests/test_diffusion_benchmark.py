"""benchmarks/samplers.py: its scoring on a pipeline that draws the prompt exactly, and a whole
run on a tiny random text2image checkpoint."""

import json

import numpy as np
import pytest
import torch
from benchmark_scripts import load_benchmark
from PIL import Image

from genlab.diffusion import NoiseSchedule
from genlab.io import save_checkpoint
from genlab.pipelines.base import GenerationResult
from genlab.world import parse_prompt, realize, render

pytestmark = pytest.mark.usefixtures("one_thread")

bench = load_benchmark("samplers")


class DrawingPipeline:
    """Stand-in for a perfect model: renders a scene that satisfies each prompt."""

    def __init__(self):
        self.calls = []

    def __call__(
        self, prompts, num_inference_steps, guidance_scale=None, sampler="ddim", seed=0, **_
    ):
        self.calls.append((len(prompts), num_inference_steps, sampler, seed))
        images = [
            Image.fromarray(render(realize(parse_prompt(p).request, seed + i), 32))
            for i, p in enumerate(prompts)
        ]
        return GenerationResult(images=images, metadata=[{}] * len(images))


def test_world_prompts_are_reproducible_captions_with_their_requests():
    a, b = bench.world_prompts(5, seed=3), bench.world_prompts(5, seed=3)
    assert [t for t, _ in a] == [t for t, _ in b]
    assert all(isinstance(t, str) and t and r.objects for t, r in a)


def test_a_pipeline_that_draws_every_prompt_scores_full_accuracy():
    pipe = DrawingPipeline()
    prompts = bench.world_prompts(20, seed=1)
    acc = bench.compositional_accuracy(
        pipe, prompts, sampler="euler", steps=7, seed=100, batch_size=8
    )
    assert (acc["accuracy"], acc["mean_score"]) == (1.0, 1.0)
    assert acc["per_prompt"] == {"satisfied": [True] * 20, "score": [1.0] * 20}
    assert pipe.calls == [(8, 7, "euler", 100), (8, 7, "euler", 108), (4, 7, "euler", 116)]


def test_blank_images_score_zero_accuracy():
    blank = lambda prompts, **_: GenerationResult(
        images=[Image.fromarray(np.full((32, 32, 3), 18, np.uint8))] * len(prompts)
    )
    acc = bench.compositional_accuracy(blank, bench.world_prompts(6), sampler="ddim", steps=1)
    assert acc["accuracy"] == 0.0 and acc["mean_score"] < 1.0


@pytest.fixture
def tiny_checkpoint(tmp_path):
    from genlab.models import create_model
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TextEncoder, TextEncoderConfig
    from genlab.text.encoder import TEXT_ENCODERS

    torch.manual_seed(0)
    pipe = Text2ImagePipeline(
        create_model("dit-tiny"),
        TextEncoder(TextEncoderConfig(**TEXT_ENCODERS["text-tiny"])),
        NoiseSchedule.create("cosine"),
        "v_prediction",
        image_size=16,
        name="tiny-random",
    )
    return save_checkpoint(tmp_path / "tiny.safetensors", *pipe.checkpoint())


@pytest.mark.slow
def test_benchmark_runs_end_to_end_on_a_tiny_random_model(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    # One prompt per configuration: the run's shape is checked here, not its accuracy, and
    # reading an untrained model's noise back into shapes is what costs (about 2 s an image).
    rc = bench.main(
        [
            "--model", str(tiny_checkpoint), "--device", "cpu", "--num-prompts", "1",
            "--steps", "1", "3", "--speed-steps", "2", "--speed-images", "2",
            "--guidance", "1", "4", "--guidance-steps", "2", "--out-dir", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    results = json.loads((out / "samplers.json").read_text())
    assert set(results["speed"]) == set(bench.DEFAULT_SAMPLERS)  # (lcm: distilled models only)
    assert all(r["images_per_s"] > 0 for r in results["speed"].values())
    for rows in results["accuracy_vs_steps"].values():
        assert [r["steps"] for r in rows] == [1, 3]
        assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert [r["guidance_scale"] for r in results["accuracy_vs_guidance"]["dpmpp_2m"]] == [1.0, 4.0]
    for png in ("accuracy_vs_steps.png", "accuracy_vs_guidance.png"):
        with Image.open(out / png) as im:
            assert im.format == "PNG" and im.width > 100
    assert "| dpmpp_2m |" in capsys.readouterr().out


def test_paired_difference_is_the_mean_gap_with_an_interval_around_it():
    d = bench.paired_difference([1, 1, 0, 1], [1, 0, 0, 0])
    assert d["mean"] == 0.5 and d["ci95"][0] < 0.5 < d["ci95"][1]
    assert bench.paired_difference([0.5] * 3, [0.5] * 3) == {"mean": 0.0, "ci95": [0.0, 0.0]}


def test_reference_compares_each_sampler_with_the_same_prompts_and_seeds(
    tiny_checkpoint, tmp_path, capsys
):
    out = tmp_path / "ref"
    rc = bench.main(
        [
            "--model", str(tiny_checkpoint), "--device", "cpu", "--num-prompts", "2",
            "--samplers", "ddim", "dpmpp_2m", "--steps", "2", "--speed-steps", "1",
            "--speed-images", "1", "--guidance", "3", "--guidance-steps", "1",
            "--reference", "ddpm:5", "--compare-steps", "2", "--out-dir", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    ref = json.loads((out / "samplers.json").read_text())["reference"]
    assert (ref["sampler"], ref["steps"]) == ("ddpm", 5) and len(ref["per_prompt"]["score"]) == 2
    assert set(ref["gaps"]) == {"ddim", "dpmpp_2m"}
    for gap in ref["gaps"].values():
        lo, hi = gap["mean_score"]["ci95"]
        assert lo <= gap["mean_score"]["mean"] <= hi
    assert "reference ddpm at 5 steps" in capsys.readouterr().out
    for bad, flag in (
        (["--reference", "plms:9"], "--reference"),
        (["--reference", "ddpm:5", "--compare-steps", "7"], "--compare-steps"),
    ):
        rc = bench.main(["--model", str(tiny_checkpoint), "--steps", "2", *bad])
        assert rc == 2 and capsys.readouterr().err.startswith(f"genlab: error: {flag}")


def test_benchmark_refuses_an_unknown_sampler_in_one_line(tiny_checkpoint, tmp_path, capsys):
    rc = bench.main(
        ["--model", str(tiny_checkpoint), "--samplers", "plms", "--out-dir", str(tmp_path)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error: --samplers") and "dpmpp_2m" in err


cpu_bench = load_benchmark("cpu_sampling")


@pytest.mark.slow
def test_cpu_sampling_benchmark_times_each_config_and_checks_before_equals_after(
    tiny_checkpoint, tmp_path, capsys
):
    out = tmp_path / "cpu"
    rc = cpu_bench.main(
        ["--models", str(tiny_checkpoint), "--samplers", "ddim", "euler_a", "--steps", "2",
         "--num-images", "3", "--num-before", "2", "--out-dir", str(out)]
    )  # fmt: skip
    assert rc == 0
    report = json.loads((out / "cpu_sampling.json").read_text())
    rows = report["models"][str(tiny_checkpoint)]["rows"]
    assert set(rows) == {"ddim", "euler_a"}
    for row in rows.values():
        assert all(row[c] > 0 for c in ("before", "threads", "after"))
    # The slow loop and the batched pipeline draw the same pixels (deterministic sampler only).
    assert rows["ddim"]["max_abs_diff_before_vs_after"] <= 2 / 127.5
    assert "max_abs_diff_before_vs_after" not in rows["euler_a"]
    assert "after/before" in capsys.readouterr().out


def test_cpu_sampling_benchmark_refuses_bad_counts_in_one_line(tiny_checkpoint, capsys):
    rc = cpu_bench.main(
        ["--models", str(tiny_checkpoint), "--num-before", "9", "--num-images", "4"]
    )
    assert rc == 2
    assert capsys.readouterr().err.startswith("genlab: error: --num-before")
