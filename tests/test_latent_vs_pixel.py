"""benchmarks/latent_vs_pixel.py end to end on tiny pixel and latent models trained by their 64 px
CPU recipes (--tiny): training figures from the checkpoints, a measured sampling speed and the
paired compositional comparison of their eval reports, in one table (main() in this process; the
script's refusal of bad arguments as a program of its own)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load_benchmark

from genlab.cli import main
from genlab.train import RecipeOptions, run_recipe

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "latent_vs_pixel.py"


@pytest.mark.slow
def test_table_of_a_tiny_pixel_and_latent_pair(tmp_path, capsys, monkeypatch):
    models, reports = [], []
    for recipe in ("world-t2i-64-cpu", "world-t2i-latent-64-cpu"):
        out = tmp_path / recipe
        options = RecipeOptions(tiny=True, steps=2, out_dir=str(out), progress=False)
        models.append(run_recipe(recipe, options)["model"])
        argv = ["eval", models[-1], "--suite", "compositional", "--prompts-per-category", "1",
                "--images-per-prompt", "1", "--splits", "in_distribution", "--steps", "2",
                "--out", str(out / "eval"), "--quiet", "--threads", "1"]  # fmt: skip
        assert main(argv) == 0
        reports.append(str(out / "eval" / "report.json"))
    result = tmp_path / "cmp.json"
    argv = [*models, "--names", "pixel", "latent", "--reports", *reports, "--steps", "2",
            "--speed-prompts", "2", "--json", str(result), "--grid", str(tmp_path / "grid.png")]  # fmt: skip
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as a script, it imports compare_reports
    assert load_benchmark("latent_vs_pixel").main(argv) == 0
    printed = capsys.readouterr().out
    figures = json.loads(result.read_text())
    pixel, latent = figures["models"]["pixel"], figures["models"]["latent"]
    assert pixel["space"] == "3×16×16 (pixels)" and latent["space"].startswith("4×4×4 (")
    assert pixel["train steps"] == latent["train steps"] == 2
    speed = "sampling images/s (dpmpp_2m, 2 steps, CFG)"
    assert pixel[speed] > 0 and latent[speed] > 0
    assert figures["compositional"]["images"] == 6
    assert figures["compositional"]["models"]["pixel"]["minus_first"]["accuracy"] == [0.0] * 3
    assert "| forward GFLOPs/image |" in printed and "accuracy − pixel" in printed
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size == (2 * (2 * 18 + 2), 2 * (2 * 18 + 2))
    # one report too few, as a program of its own: a one-line error naming the option, exit 2
    bad = [sys.executable, str(SCRIPT), *models, "--reports", reports[0]]
    run = subprocess.run(bad, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"genlab: error: --reports: expected 2 reports, one per model, got {[reports[0]]!r}"
    ]
