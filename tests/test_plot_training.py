"""benchmarks/plot_training.py: a Trainer log becomes a loss/speed figure; bad logs are refused."""

import pytest
from benchmark_scripts import load_benchmark
from PIL import Image

plot = load_benchmark("plot_training")


def test_a_real_trainer_log_is_plotted_with_its_skipped_steps(tmp_path, capsys):
    from genlab.train import RecipeOptions, run_recipe

    run = tmp_path / "run"
    run_recipe("toy-regression", RecipeOptions(steps=20, out_dir=str(run), progress=False))
    stderr = tmp_path / "train.log"
    stderr.write_text("step 7: main update skipped: loss 9 is a spike\nother line\n")
    assert plot.skipped_steps(stderr) == [7]
    out = tmp_path / "fig" / "loss.png"
    assert plot.main([str(run / "log.jsonl"), "--stderr", str(stderr), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 300
    assert "log points" in capsys.readouterr().out


def test_a_file_that_is_not_a_trainer_log_is_refused(tmp_path):
    bad = tmp_path / "log.jsonl"
    bad.write_text('{"loss": 1.0}\n')
    with pytest.raises(SystemExit, match="no 'step' field"):
        plot.main([str(bad), "--out", str(tmp_path / "x.png")])
    bad.write_text("not json\n")
    with pytest.raises(SystemExit, match="not a JSON line"):
        plot.main([str(bad), "--out", str(tmp_path / "x.png")])
    assert not (tmp_path / "x.png").exists()
