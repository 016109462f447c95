import json

import pytest
import torch

from genlab.errors import CheckpointError, InvalidArgument
from genlab.io import load_checkpoint, params_xmp, read_params, save_checkpoint, save_image


def test_checkpoint_round_trip_keeps_tensors_and_config(tmp_path):
    tensors = {"w": torch.randn(3, 4), "step": torch.tensor(7)}
    path = save_checkpoint(tmp_path / "m.safetensors", tensors, {"pipeline": "x", "dim": 4})
    loaded, config = load_checkpoint(path)
    assert config == {"pipeline": "x", "dim": 4}
    assert torch.equal(loaded["w"], tensors["w"]) and loaded["step"].item() == 7
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_checkpoint_fp16_casts_only_floats(tmp_path):
    path = save_checkpoint(
        tmp_path / "m.safetensors",
        {"w": torch.randn(2), "i": torch.arange(3)},
        {},
        dtype=torch.float16,
    )
    loaded, _ = load_checkpoint(path)
    assert loaded["w"].dtype == torch.float16 and loaded["i"].dtype == torch.int64


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(bad)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a genlab checkpoint"):
        load_checkpoint(foreign)


def test_png_carries_generation_parameters(tmp_path):
    params = {"prompt": "a red circle", "seed": 3, "num_inference_steps": 20}
    path = save_image(tmp_path / "x.png", torch.zeros(3, 8, 8), params)
    assert read_params(path) == json.loads(json.dumps(params))


def test_save_image_rejects_non_png_path(tmp_path):
    with pytest.raises(InvalidArgument, match="out"):
        save_image(tmp_path / "x.jpg", torch.zeros(3, 8, 8))


def test_atomic_writes_get_normal_file_permissions(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = save_image(tmp_path / "x.png", torch.zeros(3, 8, 8))
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_animated_webp_carries_its_params_in_xmp(tmp_path):
    from PIL import Image

    params = {"prompt": 'a <red> circle & "a" square', "seed": 3, "guidance_scale": 4.5}
    frames = [Image.new("RGB", (8, 8), (40 * i, 0, 0)) for i in range(3)]
    path = tmp_path / "video.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], xmp=params_xmp(params))
    assert read_params(path) == params
    frames[0].save(tmp_path / "plain.webp")
    assert read_params(tmp_path / "plain.webp") is None
