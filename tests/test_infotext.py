"""Specification of the A1111 `parameters` chunk every genlab PNG carries beside its JSON: what
Pillow, sd-parsers (an A1111/ComfyUI metadata reader) and genlab itself read back from it."""

from __future__ import annotations

import pytest
from PIL import Image

from genlab.infotext import format_infotext, parse_infotext
from genlab.io import png_bytes, read_params, save_image

PARAMS = {
    "prompt": "a red circle, above: a blue square",
    "negative_prompt": "green",
    "seed": 7,
    "batch_seed": 6,
    "num_inference_steps": 20,
    "guidance_scale": 3.0,
    "sampler": "dpmpp_2m",
    "model": "world-t2i-layout",
    "height": 32,
    "width": 48,
    "layout": "red circle: top-left",
    "layout_cells": [1, 0, 0, 0, 0, 0, 0, 0, 3],
    "plan_layout": True,
    "layout_temperature": 0.7,
    "job_id": "123",
}


def test_every_png_carries_an_a1111_infotext_beside_the_json(tmp_path):
    path = save_image(tmp_path / "a.png", Image.new("RGB", (48, 32)), PARAMS)
    with Image.open(path) as im:
        chunks = dict(im.text)
    assert set(chunks) == {"genlab", "parameters"}
    lines = chunks["parameters"].split("\n")
    assert lines[0] == PARAMS["prompt"]
    assert lines[1] == "Negative prompt: green"
    assert lines[2].startswith(
        "Steps: 20, Sampler: DPM++ 2M, CFG scale: 3.0, Seed: 7, Size: 48x32, "
        "Model: world-t2i-layout, Batch seed: 6, "
    )


def test_the_infotext_reads_back_to_the_same_parameters_with_their_types():
    assert parse_infotext(format_infotext(PARAMS)) == PARAMS


def test_a_foreign_a1111_infotext_reads_as_genlab_parameters():
    text = (
        "masterpiece, a cat\nwearing a hat\nNegative prompt: blurry, lowres\n"
        "Steps: 28, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
        'Size: 512x768, Model hash: abc123, Model: sd15, Lora hashes: "x: 1, y: 2", Version: v1.9.4'
    )
    params = parse_infotext(text)
    assert params["prompt"] == "masterpiece, a cat\nwearing a hat"
    assert params["negative_prompt"] == "blurry, lowres"
    assert params["sampler"] == "euler_a"  # A1111's name mapped to genlab's
    assert (params["num_inference_steps"], params["guidance_scale"], params["seed"]) == (
        28,
        7.0,
        1234,
    )
    assert (params["width"], params["height"]) == (512, 768)
    assert params["schedule_type"] == "Karras" and params["lora_hashes"] == "x: 1, y: 2"


def test_a_prompt_without_a_parameters_line_is_all_prompt():
    assert parse_infotext("just words, no settings") == {
        "prompt": "just words, no settings",
        "negative_prompt": None,
    }


def test_sd_parsers_reads_prompt_sampler_and_settings(tmp_path):
    sd_parsers = pytest.importorskip("sd_parsers")
    path = save_image(tmp_path / "a.png", Image.new("RGB", (48, 32)), PARAMS)
    info = sd_parsers.ParserManager().parse(str(path))
    assert info.generator.value == "AUTOMATIC1111"
    (sampler,) = info.samplers
    assert sampler.name == "DPM++ 2M"
    assert sampler.parameters == {"cfg_scale": "3.0", "seed": "7", "steps": "20"}
    assert sampler.model.name == "world-t2i-layout"
    assert [p.value for p in sampler.prompts] == [PARAMS["prompt"]]
    assert [p.value for p in sampler.negative_prompts] == ["green"]
    assert info.metadata["Size"] == "48x32"


def test_read_params_falls_back_to_the_infotext(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", format_infotext(PARAMS))
    path = tmp_path / "a1111.png"
    Image.new("RGB", (48, 32)).save(path, pnginfo=info)
    assert read_params(path) == PARAMS
    Image.new("RGB", (8, 8)).save(tmp_path / "bare.png")
    assert read_params(tmp_path / "bare.png") is None


def test_a_file_and_png_bytes_are_the_same_bytes(tmp_path):
    image = Image.new("RGB", (48, 32), (200, 10, 10))
    path = save_image(tmp_path / "a.png", image, PARAMS)
    assert path.read_bytes() == png_bytes(image, PARAMS)


EXTRAS_WITH_COMMAS = {
    **PARAMS,
    "layout": "small red circle (top left), large blue square (bottom)",
    "warnings": ["white is not a color of this world, it knows: gray", "'xyz' is not a word"],
    "read_as": 'a red circle, "big"',
    "checkpoint": "C:\\models\\mine, v2.safetensors",
    "note": "café, crème",
}


def test_extras_holding_commas_are_quoted_as_a1111_quotes_them_and_read_back_whole():
    text = format_infotext(EXTRAS_WITH_COMMAS)
    last = text.split("\n")[-1]
    assert 'Layout: "small red circle (top left), large blue square (bottom)"' in last
    assert 'Note: "café, crème"' in last  # A1111 writes letters as they are, not \u escapes
    assert parse_infotext(text) == EXTRAS_WITH_COMMAS


def test_sd_parsers_reads_the_settings_whole_when_extras_hold_commas(tmp_path):
    sd_parsers = pytest.importorskip("sd_parsers")
    path = save_image(tmp_path / "a.png", Image.new("RGB", (48, 32)), EXTRAS_WITH_COMMAS)
    (sampler,) = sd_parsers.ParserManager().parse(str(path)).samplers
    assert sampler.name == "DPM++ 2M" and sampler.model.name == "world-t2i-layout"
    assert sampler.parameters == {"cfg_scale": "3.0", "seed": "7", "steps": "20"}
    assert [p.value for p in sampler.prompts] == [PARAMS["prompt"]]


def test_an_unquoted_json_object_reads_as_one_value_as_civitai_writes_hashes():
    params = parse_infotext(
        "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, "
        'Hashes: {"vae": "c6a580b13a", "model": "e6bb9ea85b"}, Version: v1.9.4'
    )
    assert params["hashes"] == {"vae": "c6a580b13a", "model": "e6bb9ea85b"}
    assert params["version"] == "v1.9.4" and params["seed"] == 1


def test_from_png_regenerates_from_the_infotext_alone_with_a_comma_in_the_checkpoint_path(
    tmp_path, capsys
):
    from PIL import PngImagePlugin

    from genlab.cli import main
    from genlab.serve.launch import tiny_text2image_checkpoint

    model = str(tiny_text2image_checkpoint(tmp_path / "mine, v2: tiny.safetensors"))
    first = tmp_path / "first.png"
    argv = ["generate", "a red circle", "--model", model, "--steps", "2", "--seed", "5",
            "--no-history", "--no-progress", "--device", "cpu", "--out", str(first)]  # fmt: skip
    assert main(argv) == 0
    with Image.open(first) as im:  # only the A1111 chunk, as a tool that drops others leaves it
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", im.text["parameters"])
        assert '"' + str((tmp_path / "mine, v2: tiny.safetensors").resolve()) in im.text[
            "parameters"
        ].replace("\\\\", "\\")
        im.save(tmp_path / "a1111.png", pnginfo=info)
    again = tmp_path / "again.png"
    argv = ["generate", "--from-png", str(tmp_path / "a1111.png"), "--no-history", "--no-progress",
            "--device", "cpu", "--out", str(again)]  # fmt: skip
    assert main(argv) == 0
    with Image.open(first) as a, Image.open(again) as b:
        assert a.tobytes() == b.tobytes()
    assert read_params(again)["checkpoint"] == str(
        (tmp_path / "mine, v2: tiny.safetensors").resolve()
    )
