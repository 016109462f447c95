"""`genlab world sample | parse | caption | draw`: real files written and read back, and bad input
answered with one line naming the argument and exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genlab.cli import main
from genlab.io import read_params
from genlab.world import parse_image


def run(capsys, *argv):
    rc = main(["world", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_sample_writes_an_upscaled_grid_and_prints_captions(tmp_path, capsys):
    out = tmp_path / "grid.png"
    rc, text, _ = run(
        capsys, "sample", "--n", "4", "--size", "32", "--seed", "0", "--out", str(out)
    )
    assert rc == 0
    lines = text.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("wrote")
    with Image.open(out) as im:
        assert im.width >= 4 * 32 and im.width == im.height  # 2×2 grid, upscaled ×8
    assert len(read_params(out)["captions"]) == 4
    rc2, text2, _ = run(capsys, "sample", "--n", "4", "--seed", "0", "--out", str(out))
    assert text2 == text, "same seed, same scenes and captions"


def test_sample_json_lines_carry_the_scenes(tmp_path, capsys):
    rc, text, _ = run(
        capsys, "sample", "--n", "3", "--objects", "2", "--relation", "above", "--json",
        "--out", str(tmp_path / "g.png"),
    )  # fmt: skip
    rows = [json.loads(line) for line in text.strip().splitlines()]
    assert rc == 0 and len(rows) == 3
    for row in rows:
        first, second = row["scene"]["objects"]
        assert first["row"] < second["row"]


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_sample_video_writes_an_animation(tmp_path, capsys, suffix):
    out = tmp_path / f"moving{suffix}"
    rc, text, _ = run(capsys, "sample", "--video", "--n", "2", "--frames", "8", "--out", str(out))
    assert rc == 0 and out.stat().st_size > 1000
    if suffix == ".gif":
        with Image.open(out) as im:
            assert im.n_frames == 8


def test_parse_prints_the_objects_of_a_drawn_scene(tmp_path, capsys):
    out = tmp_path / "scene.png"
    rc, text, _ = run(
        capsys, "draw", "a red circle left of a blue square on a white background",
        "--size", "64", "--out", str(out),
    )  # fmt: skip
    assert rc == 0 and "wrote" in text
    rc, text, _ = run(capsys, "parse", str(out), "--prompt", "a red circle left of a blue square")
    assert rc == 0
    assert "background: white" in text and "red" in text and "circle" in text
    assert "score 1.00 (satisfied)" in text
    rc, text, _ = run(capsys, "parse", str(out), "--json")
    parsed = json.loads(text)
    assert {o["shape"] for o in parsed["parsed"]["objects"]} == {"circle", "square"}


def test_caption_prints_spec_canonical_and_unknown_words(capsys):
    rc, text, _ = run(capsys, "caption", "two crimson balls above a big box")
    assert rc == 0
    assert "object 0: count=2 shape=circle color=red" in text
    assert "relation: object 0 above object 1" in text
    assert "canonical: two red circles above a large square" in text
    rc, text, _ = run(capsys, "caption", "a red elephant near a star", "--lenient", "--json")
    parsed = json.loads(text)
    assert parsed["unknown_words"] == ["elephant"]
    assert parsed["unsupported"] == [["relation", "near"]]
    assert parsed["canonical"] == "a red object and a star"
    rc, text, _ = run(capsys, "caption", "a white square", "--lenient")
    assert "warning: white is not a color of this world; it knows red, orange" in text


@pytest.mark.parametrize(
    "argv, argument",
    [
        (["parse", "does-not-exist.png"], "image"),
        (["sample", "--size", "8"], "--size"),
        (["sample", "--objects", "5"], "n_objects"),
        (["sample", "--out", "grid.jpg"], "--out"),
        (["draw", "five stars"], "objects"),
        (["caption", "a purple elephant"], "text"),
        (["caption", "hello world"], "text"),
    ],
)
def test_bad_input_is_one_line_naming_the_argument_with_exit_2(capsys, tmp_path, argv, argument):
    rc, _, err = run(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith(f"genlab: error: {argument}:")


def test_unreadable_image_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    rc, _, err = run(capsys, "parse", str(bad))
    assert rc == 2 and err.startswith("genlab: error: image: cannot read image")


def test_world_commands_run_as_a_program(tmp_path):
    out = tmp_path / "s.png"
    Image.fromarray(np.full((32, 32, 3), 238, np.uint8)).save(out)
    proc = subprocess.run(
        [sys.executable, "-m", "genlab", "world", "parse", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "background: white" in proc.stdout
    assert parse_image(np.asarray(Image.open(out))).objects == []


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_parse_reads_motions_from_a_drawn_video(tmp_path, capsys, suffix):
    out = tmp_path / f"clip{suffix}"
    prompt = "a red circle moving right while a blue star shrinks on a white background"
    rc, _, _ = run(capsys, "draw", prompt, "--size", "32", "--frames", "8", "--out", str(out))
    assert rc == 0
    rc, text, _ = run(capsys, "parse", str(out), "--prompt", prompt)
    assert rc == 0 and "motion=right" in text and "motion=shrink" in text
    assert "score 1.00 (satisfied)" in text
