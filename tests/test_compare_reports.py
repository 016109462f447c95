"""benchmarks/compare_reports.py on small hand-made reports."""

import json
from pathlib import Path

from benchmark_scripts import load_benchmark

bench = load_benchmark("compare_reports")


def _report(path: Path, satisfied: list[bool], prompts=None) -> Path:
    prompts = prompts or [f"p{i}" for i in range(len(satisfied))]
    images = [
        {"category": "single_object" if i % 2 else "counting", "split": "in_distribution",
         "prompt": p, "seed": i, "satisfied": ok, "score": 1.0 if ok else 0.5}
        for i, (p, ok) in enumerate(zip(prompts, satisfied))
    ]  # fmt: skip
    path.write_text(json.dumps({"compositional_images": images}))
    return path


def test_paired_difference_and_per_category_accuracy(tmp_path, capsys):
    a = _report(tmp_path / "a.json", [False, False, True, False])
    b = _report(tmp_path / "b.json", [True, True, True, False])
    out = tmp_path / "cmp.json"
    assert bench.main([str(a), str(b), "--names", "old", "new", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    new = result["models"]["new"]
    assert new["accuracy"] == 0.75 and new["mean_score"] == 0.875
    assert new["per_category"] == {"counting": 1.0, "single_object": 0.5}
    mean, lo, hi = new["minus_first"]["accuracy"]
    assert mean == 0.5 and lo < 0.5 < hi
    assert result["models"]["old"]["minus_first"]["accuracy"] == [0.0, 0.0, 0.0]
    lo, hi = new["ci95"]
    assert 0 < lo < 0.75 < hi <= 1
    assert "| new | 0.750" in capsys.readouterr().out


def test_reports_of_other_prompts_or_names_are_refused_in_one_line(tmp_path, capsys):
    a = _report(tmp_path / "a.json", [True, False])
    b = _report(tmp_path / "b.json", [True, False], prompts=["x", "y"])
    assert bench.main([str(a), str(b)]) == 2
    assert capsys.readouterr().err.startswith("genlab: error: reports")
    assert bench.main([str(a), str(a), "--names", "one"]) == 2
    assert capsys.readouterr().err.startswith("genlab: error: --names")
    assert bench.main([str(a), "--split", "held_out"]) == 2
    assert capsys.readouterr().err.startswith("genlab: error: --split")
    (tmp_path / "bad.json").write_text("{not json")
    assert bench.main([str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("genlab: error: report")


def test_one_image_has_no_interval_but_does_not_fail(tmp_path):
    a = _report(tmp_path / "a.json", [True])
    result = bench.compare([bench.load_images(a, "in_distribution")], ["only"])
    assert result["models"]["only"]["accuracy"] == 1.0


def test_numeric_names_plot_accuracy_against_the_value(tmp_path, capsys):
    reports = [
        _report(tmp_path / f"g{g}.json", [g > 2, g > 4, True, False])
        for g in (5, 1, 3)  # out of order: the plot sorts by value
    ]
    png = tmp_path / "acc.png"
    args = [*map(str, reports), "--names", "5", "1", "3", "--plot", str(png), "--xlabel", "g"]
    assert bench.main(args) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert bench.main([*map(str, reports), "--plot", str(tmp_path / "x.png")]) == 2
    assert "numbers" in capsys.readouterr().err
