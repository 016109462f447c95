"""benchmarks/agent_accuracy.py end to end on a stand-in model that paints the world's rendering
(wrong on the seeds single-shot generation and the agent's first round use)."""

import json

import pytest
from benchmark_scripts import load_benchmark
from test_agent_tools import painter_checkpoint

bench = load_benchmark("agent_accuracy")


def test_requests_cover_every_category_and_are_drawable():
    requests = bench.make_requests(14, seed=3)
    assert [c for c, _, _ in requests] == list(bench.CATEGORIES) * 2
    assert len({text for _, text, _ in requests}) == 14


@pytest.mark.slow
def test_agent_beats_single_shot_and_the_summary_is_written(tmp_path, capsys):
    model = painter_checkpoint(tmp_path / "painter.safetensors", wrong_seeds=range(4))
    out = tmp_path / "agent.json"
    args = ["--model", str(model), "--n", "7", "--json", str(out), "--max-images", "16"]
    assert bench.main(args) == 0
    result = json.loads(out.read_text())
    summary, rows = result["summary"], result["rows"]
    assert summary["n"] == 7 and summary["max_images"] == 16 and summary["compose"] is True
    overall = summary["accuracy"]["overall"]
    assert overall["single_shot_raw"] == 0.0, "seed 0 is always wrong here"
    assert overall["agent"] == 1.0
    assert all(r["rounds"] >= 2 for r in rows)
    assert "composing on" in capsys.readouterr().out
