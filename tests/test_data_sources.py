"""Specification of the data sources: image folders (name.txt or metadata.jsonl captions), WebDataset
shards (incomplete samples skipped and counted, shards renamed into place), MNIST IDX files."""

import gzip
import io
import json
import struct
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data.folders import ImageFolder
from genlab.data.mnist import MNISTDataset, read_idx
from genlab.data.shards import ShardDataset, ShardWriter
from genlab.errors import GenlabError, InvalidArgument
from genlab.train import DatasetSource


def _png_bytes(color, size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- folders


def test_folder_reads_captions_from_txt_files_and_metadata_jsonl(tmp_path):
    (tmp_path / "a.png").write_bytes(_png_bytes((255, 0, 0)))
    (tmp_path / "a.txt").write_text("a red square")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "b.png").write_bytes(_png_bytes((0, 0, 255)))
    (sub / "c.png").write_bytes(_png_bytes((0, 255, 0)))
    lines = [
        json.dumps({"file_name": "b.png", "text": "a blue square"}),
        "{not json",
        json.dumps({"file_name": "c.png", "caption": "a green square"}),
    ]
    (sub / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    folder = ImageFolder(tmp_path, size=4)
    assert len(folder) == 3
    items = {folder[i]["key"]: folder[i] for i in range(3)}
    assert items["a"]["caption"] == "a red square"
    assert items["more/b"]["caption"] == "a blue square"
    assert items["more/c"]["caption"] == "a green square"
    assert folder.skipped == {"bad metadata line": 1}
    red = items["a"]["image"]
    assert red.shape == (3, 4, 4) and torch.allclose(red[0], torch.ones(4, 4))


def test_folder_skips_unreadable_captions_and_feeds_the_trainer(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(_png_bytes((i * 80, 0, 0)))
        (tmp_path / f"{i}.txt").write_text(f"image {i}")
    (tmp_path / "2.txt").write_bytes(b"\xff\xfe\x00bad")
    folder = ImageFolder(tmp_path)
    assert len(folder) == 2 and folder.skipped == {"unreadable caption": 1}
    batch = DatasetSource(folder).fetch(torch.tensor([1, 0]))
    assert batch["image"].shape == (2, 3, 8, 8) and batch["caption"] == ["image 1", "image 0"]


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(GenlabError, match="no images"):
        ImageFolder(tmp_path)
    with pytest.raises(InvalidArgument):
        ImageFolder(tmp_path / "missing")


# --------------------------------------------------------------------------- shards


def test_shard_writer_round_trips_samples_across_shards(tmp_path):
    with ShardWriter(tmp_path, max_count=2) as writer:
        for i in range(5):
            writer.write(f"s{i}", _png_bytes((i, i, i)), f"caption {i}", {"i": i})
    assert [s["count"] for s in writer.shards] == [2, 2, 1]
    data = ShardDataset(tmp_path)
    assert len(data) == 5
    assert [data.raw(i).caption for i in range(5)] == [f"caption {i}" for i in range(5)]
    assert data.raw(3).meta == {"i": 3}
    assert [s.key for s in data.iter_raw()] == [f"s{i}" for i in range(5)]


def test_a_crash_while_writing_leaves_no_half_written_shard(tmp_path):
    with pytest.raises(RuntimeError), ShardWriter(tmp_path, max_count=2) as writer:
        for i in range(3):
            writer.write(f"s{i}", _png_bytes((i, i, i)), "x")
        raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-000000.tar"]  # complete one only


def test_samples_with_missing_members_are_skipped_and_counted(tmp_path):
    path = tmp_path / "data.tar"
    with tarfile.open(path, "w") as tar:

        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("ok.png", _png_bytes((1, 2, 3)))
        add("ok.txt", b"complete")
        add("nocap.png", _png_bytes((1, 2, 3)))
        add("noimage.txt", b"orphan caption")
        add("jsoncap.jpg", _png_bytes((9, 9, 9)))
        add("jsoncap.json", json.dumps({"caption": "from json"}).encode())
    data = ShardDataset(path)
    assert sorted(e.key for e in data.entries) == ["jsoncap", "ok"]
    assert data.skipped == {"missing caption": 1, "missing image": 1}
    assert {data.raw(i).caption for i in range(2)} == {"complete", "from json"}


def test_a_truncated_shard_keeps_its_readable_samples(tmp_path):
    with ShardWriter(tmp_path, max_count=10) as writer:
        for i in range(4):
            writer.write(f"s{i}", _png_bytes((i, 0, 0), size=(64, 64)), f"c{i}")
    tar = tmp_path / "shard-000000.tar"
    raw = tar.read_bytes()
    tar.write_bytes(raw[: len(raw) // 2])
    data = ShardDataset(tmp_path)
    assert 1 <= len(data) < 4 and data.skipped["truncated shard"] == 1
    assert all(data[i]["image"].shape == (3, 64, 64) for i in range(len(data)))


# --------------------------------------------------------------------------- MNIST IDX


def _write_idx(path, array: np.ndarray, code: int = 0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_mnist_reads_idx_files_the_test_writes(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([7, 0, 3, 9, 1], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    data = MNISTDataset(tmp_path)
    assert len(data) == 5
    item = data[0]
    assert item["label"] == 7 and item["caption"] == "a handwritten seven"
    assert item["image"].shape == (1, 28, 28)
    assert torch.allclose((item["image"] + 1) * 127.5, torch.from_numpy(images[0]).float()[None])
    assert MNISTDataset(tmp_path, size=14)[1]["image"].shape == (1, 14, 14)


def test_idx_reader_handles_other_types_and_rejects_bad_files(tmp_path):
    floats = np.arange(6, dtype=np.float32).reshape(2, 3)
    _write_idx(tmp_path / "f.idx", floats, code=0x0D)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), floats)
    (tmp_path / "bad.idx").write_bytes(b"\x00\x00\x42\x01abcd")
    with pytest.raises(GenlabError, match="bad magic"):
        read_idx(tmp_path / "bad.idx")
    _write_idx(tmp_path / "short.idx", np.zeros((4, 2, 2), np.uint8))
    (tmp_path / "short.idx").write_bytes((tmp_path / "short.idx").read_bytes()[:-3])
    with pytest.raises(GenlabError, match="needs 16"):
        read_idx(tmp_path / "short.idx")
