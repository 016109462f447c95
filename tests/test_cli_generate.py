"""Specification of `genlab generate`, `genlab edit` and `genlab models`: PNGs with their parameters,
one-line errors with exit code 2 for bad input, and no partial output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_pipeline_t2i import make_tiny_checkpoint

from genlab.cli import main
from genlab.io import read_params
from genlab.paths import DEFAULT_IMAGE_MODEL


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(make_tiny_checkpoint(tmp_path_factory.mktemp("cli") / "tiny-t2i.safetensors"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_pngs_with_parameters_and_prints_their_paths(tmp_path, capsys, model):
    out = tmp_path / "img.png"
    code, stdout, _ = run(
        capsys, "generate", "a red circle above a blue square", "--model", model, "--seed", "5",
        "--n", "2", "--steps", "3", "--guidance", "2.5", "--sampler", "ddim",
        "--negative", "green", "--out", str(out), "--device", "cpu",
    )  # fmt: skip
    assert code == 0
    paths = stdout.split()
    assert paths == [str(tmp_path / "img-0.png"), str(tmp_path / "img-1.png")]
    params = read_params(paths[1])
    assert params["prompt"] == "a red circle above a blue square"
    assert params["negative_prompt"] == "green"
    assert (params["seed"], params["num_inference_steps"], params["sampler"]) == (6, 3, "ddim")
    assert params["guidance_scale"] == 2.5 and params["model"] == "tiny-t2i"
    assert (params["height"], params["width"]) == (16, 16)


def test_the_same_command_regenerates_the_same_pixels(tmp_path, capsys, model):
    args = ["generate", "a star", "--model", model, "--seed", "1", "--steps", "3"]
    run(capsys, *args, "--out", str(tmp_path / "a.png"))
    run(capsys, *args, "--out", str(tmp_path / "b.png"))
    a, b = (np.asarray(Image.open(tmp_path / f"{x}.png")) for x in "ab")
    assert np.array_equal(a, b)


def test_output_to_a_directory_names_files_by_prompt_and_seed(tmp_path, capsys, model):
    code, stdout, _ = run(
        capsys, "generate", "A red circle!", "--model", model, "--seed", "9", "--steps", "2",
        "--out", str(tmp_path / "outdir"),
    )  # fmt: skip
    assert code == 0 and stdout.strip() == str(tmp_path / "outdir" / "a-red-circle-9.png")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "0"], "--steps: expected an integer ≥ 1, got 0"),
        (["--guidance", "-1"], "--guidance: expected a number in 0..50"),
        (["--guidance", "nan"], "--guidance: expected a number in 0..50, got 'nan'"),
        (["--guidance", "1e308"], "--guidance: expected a number in 0..50, got '1e308'"),
        (["--seed", str(2**63)], "--seed: expected an integer in 0..2147483647"),
        (["--seed", "-1"], "--seed: expected an integer in 0..2147483647, got -1"),
        (["--device", "cuda:99"], "--device: expected "),
        (["--device", "tpu"], "--device: expected cpu, cuda, cuda:N or mps"),
        (["--sampler", "plms"], "dpmpp_2m, euler, euler_a, heun, lcm, got 'plms'"),
        (["--seed", "abc"], "--seed: expected an integer, got 'abc'"),
        (["--n", "0"], "--n: expected an integer ≥ 1"),
        (["--out", "x.jpg"], "--out: expected a .png file or a directory"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, model, extra, message):
    out = tmp_path / "out"
    if "--out" not in extra:
        extra = [*extra, "--out", str(out)]
    code, stdout, err = run(capsys, "generate", "a red circle", "--model", model, *extra)
    assert code == 2 and stdout == ""
    assert err.startswith("genlab: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unknown_model_lists_the_known_ones(tmp_path, capsys):
    code, _, err = run(capsys, "generate", "x", "--model", "no-such-model", "--out", str(tmp_path))
    assert code == 2 and "unknown model 'no-such-model'; known models:" in err


def test_corrupt_and_foreign_checkpoints_exit_2(tmp_path, capsys, model):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(Path(model).read_bytes()[:500])
    png = tmp_path / "picture.png"
    Image.new("RGB", (8, 8)).save(png)
    for bad in (corrupt, png):
        code, _, err = run(
            capsys, "generate", "x", "--model", str(bad), "--out", str(tmp_path / "o")
        )
        assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_too_long_prompt_says_it_was_truncated(tmp_path, capsys, model):
    prompt = "a red circle above a blue square and a green star"
    code, _, err = run(
        capsys,
        "generate",
        prompt,
        "--model",
        model,
        "--steps",
        "2",
        "--out",
        str(tmp_path / "t.png"),
    )
    assert (
        code == 0 and "genlab: warning: prompt truncated to 8 words; dropped: 'a green star'" in err
    )
    assert read_params(tmp_path / "t.png")["truncated"] is True


def test_a_failed_write_leaves_no_partial_output(tmp_path, capsys, model):
    (tmp_path / "img-1.png").mkdir()  # the second file cannot be written over a directory
    code, stdout, err = run(
        capsys, "generate", "a red circle", "--model", model, "--n", "2", "--steps", "2",
        "--out", str(tmp_path / "img.png"),
    )  # fmt: skip
    assert code == 2 and stdout == "" and "cannot write" in err
    assert [p.name for p in tmp_path.iterdir()] == ["img-1.png"]  # img-0.png was removed


def test_edit_img2img_and_inpaint(tmp_path, capsys, model):
    source = tmp_path / "source.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)).save(source)
    mask = np.zeros((16, 16), np.uint8)
    mask[8:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, stdout, _ = run(
        capsys, "edit", str(source), "--prompt", "a blue star", "--strength", "0.4",
        "--model", model, "--seed", "2", "--steps", "4", "--out", str(tmp_path / "i2i.png"),
    )  # fmt: skip
    assert code == 0 and read_params(stdout.strip())["edit"] == "img2img"
    code, stdout, _ = run(
        capsys, "edit", str(source), "--prompt", "a blue star", "--mask", str(tmp_path / "mask.png"),
        "--model", model, "--steps", "4", "--out", str(tmp_path / "inpaint.png"),
    )  # fmt: skip
    assert code == 0
    params = read_params(stdout.strip())
    assert params["edit"] == "inpaint" and params["source_image"] == str(source)
    kept = np.asarray(Image.open(tmp_path / "inpaint.png"))[:8]
    assert np.array_equal(kept, np.asarray(Image.open(source))[:8])


def test_edit_bad_input(tmp_path, capsys, model):
    source = tmp_path / "source.png"
    Image.new("RGB", (16, 16)).save(source)
    Image.new("L", (8, 8), 255).save(tmp_path / "small.png")
    cases = [
        (["--strength", "0"], "--strength: expected a number in (0, 1]"),
        (["--mask", str(tmp_path / "small.png")], "--mask: expected a 16×16 image"),
        ([], "expected a mask image or a strength"),
        (["--mask", str(tmp_path / "missing.png")], "mask: expected an existing file"),
    ]
    for extra, message in cases:
        code, _, err = run(
            capsys, "edit", str(source), "--prompt", "a red circle", "--model", model, *extra,
            "--out", str(tmp_path / "out.png"),
        )  # fmt: skip
        assert code == 2 and message in err, err
    assert not (tmp_path / "out.png").exists()


def test_models_lists_local_checkpoints_with_kind_size_and_support(tmp_path, capsys, model):
    import shutil

    shutil.copy(model, tmp_path / "mine.safetensors")
    code, stdout, _ = run(capsys, "models", "--dir", str(tmp_path))
    assert code == 0
    line = next(x for x in stdout.splitlines() if "mine.safetensors" in x)
    assert "local" in line and "text2image" in line and "16px" in line and "inpaint" in line
    code, stdout, _ = run(capsys, "models", "--dir", str(tmp_path), "--json")
    import json

    rows = json.loads(stdout)
    assert any(r["kind"] == "text2image" and r["source"] == "local" for r in rows)
    # the bundled model generate, the agent and the server use unasked is marked, alone
    assert [r["name"] for r in rows if r["default"]] == [DEFAULT_IMAGE_MODEL]
    code, stdout, _ = run(capsys, "models")
    assert f"{DEFAULT_IMAGE_MODEL} (default)" in stdout and stdout.count("(default)") == 1


def test_compile_is_refused_for_models_without_a_denoiser(tmp_path, capsys):
    code, _, err = run(
        capsys, "generate", "a red circle", "--model", "world-vq-ar", "--compile",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 2 and err.startswith("genlab: error: --compile") and "diffusion" in err
    assert not list(tmp_path.iterdir())


def test_a_small_call_draws_eagerly_by_default_and_a_large_batch_compiles(tmp_path, capsys, model):
    """--compile/--no-compile: by default on only where compiling pays back its warm-up (images ×
    steps ≥ COMPILE_PAYS_AFTER_IMAGE_STEPS on a CPU): a small call draws the pixels --no-compile
    draws, compiling nothing; a --from-file drawer compiles for a batch that large."""
    from genlab.pipelines.batch import PromptDrawer
    from genlab.pipelines.text_diffusion import COMPILE_PAYS_AFTER_IMAGE_STEPS, compile_pays

    args = ["generate", "a star", "--model", model, "--seed", "1", "--steps", "2"]
    code, _, err = run(capsys, *args, "--no-compile", "--out", str(tmp_path / "a.png"))
    assert code == 0 and "compile" not in err
    run(capsys, *args, "--out", str(tmp_path / "b.png"))
    a, b = (np.asarray(Image.open(tmp_path / f"{x}.png")) for x in "ab")
    assert np.array_equal(a, b)
    call = {"num_images": 4, "num_inference_steps": 2}
    small = PromptDrawer(model, call, None, compile=None, images=8)
    assert not getattr(small.pipe.denoiser, "_genlab_compiled", False)
    assert not compile_pays(small.pipe, 8, 2)
    assert compile_pays(small.pipe, COMPILE_PAYS_AFTER_IMAGE_STEPS // 2, 2)
    steps = small.pipe.default_num_inference_steps  # None: the model's own steps count
    assert compile_pays(small.pipe, -(-COMPILE_PAYS_AFTER_IMAGE_STEPS // steps), None)
    large = PromptDrawer(model, call, None, compile=None, images=COMPILE_PAYS_AFTER_IMAGE_STEPS)
    assert large.pipe.denoiser._genlab_compiled  # compiled at its first draw (not done here)
    off = PromptDrawer(model, call, None, compile=False, images=COMPILE_PAYS_AFTER_IMAGE_STEPS)
    assert not getattr(off.pipe.denoiser, "_genlab_compiled", False)


def test_from_png_regenerates_the_same_pixels_from_either_chunk(tmp_path, capsys, model):
    from PIL import PngImagePlugin

    first = tmp_path / "first.png"
    code, _, _ = run(
        capsys, "generate", "a red circle", "--model", model, "--seed", "11", "--steps", "3",
        "--sampler", "ddim", "--negative", "blue", "--out", str(first), "--device", "cpu",
    )  # fmt: skip
    assert code == 0
    again = tmp_path / "again.png"
    code, _, err = run(capsys, "generate", "--from-png", str(first), "--out", str(again))
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(again)))
    assert read_params(again) == read_params(first)
    # the same image with only the A1111 chunk (as an image browser that rewrites it keeps it)
    with Image.open(first) as im:
        infotext, pixels = im.text["parameters"], im.convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext)
    a1111 = tmp_path / "a1111.png"
    pixels.save(a1111, pnginfo=info)
    third = tmp_path / "third.png"
    code, _, err = run(capsys, "generate", "--from-png", str(a1111), "--out", str(third))
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(third)))
    # an option given as well wins
    fourth = tmp_path / "fourth.png"
    code, _, _ = run(
        capsys, "generate", "--from-png", str(first), "--seed", "12", "--out", str(fourth)
    )
    assert code == 0 and read_params(fourth)["seed"] == 12


def test_from_png_without_parameters_is_one_line_exit_2(tmp_path, capsys):
    Image.new("RGB", (8, 8)).save(tmp_path / "bare.png")
    code, _, err = run(capsys, "generate", "--from-png", str(tmp_path / "bare.png"))
    assert code == 2 and "--from-png" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "generate")
    assert code == 2 and "prompt" in err


def test_generations_are_recorded_in_history_unless_told_not_to(
    tmp_path, capsys, model, monkeypatch
):
    from genlab.history import HistoryStore

    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "home"))
    args = ["generate", "a red circle", "--model", model, "--seed", "4", "--steps", "2"]
    assert run(capsys, *args, "--out", str(tmp_path / "a.png"))[0] == 0
    assert run(capsys, *args, "--out", str(tmp_path / "b.png"), "--no-history")[0] == 0
    store = HistoryStore()
    runs = store.list_runs().items
    assert [(r.kind, r.status, r.request) for r in runs] == [("generate", "done", "a red circle")]
    (record,) = store.get_run(runs[0].id).images
    assert record.seed == 4 and record.params["num_inference_steps"] == 2
    assert np.array_equal(
        np.asarray(Image.open(record.path)), np.asarray(Image.open(tmp_path / "a.png"))
    )
