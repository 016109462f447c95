"""MNIST in its original IDX files (LeCun et al.; `train-images-idx3-ubyte[.gz]` and the labels
file): a strict IDX reader and a dataset of digit images captioned with their number in words.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from genlab.data.shards import RawSample
from genlab.errors import GenlabError, InvalidArgument

# IDX type codes (third byte of the magic number) and their big-endian numpy types.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as an array: magic = 0, 0, type code, number of dims;
    then one big-endian int32 per dimension; then the data, row-major."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument("idx", "an existing IDX file", str(path))
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise GenlabError(f"{path}: not a readable gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise GenlabError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise GenlabError(f"{path}: IDX header is truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise GenlabError(
            f"{path}: IDX data has {len(raw) - header} bytes, its shape {shape} needs {expected}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_pair(folder: str | Path, split: str = "train") -> tuple[Path, Path | None]:
    """(images, labels or None) IDX files of `split` ("train" or "t10k") in `folder`."""
    folder = Path(folder)
    images = sorted(folder.glob(f"{split}-images*idx3-ubyte*"))
    labels = sorted(folder.glob(f"{split}-labels*idx1-ubyte*"))
    if not images:
        raise InvalidArgument(
            "source", f"a folder with {split}-images-idx3-ubyte[.gz]", str(folder)
        )
    return images[0], (labels[0] if labels else None)


class MNISTDataset(Dataset):
    """Item i: {"image": float (1, 28, 28) in [-1, 1] (size×size if given), "label": int (-1 without
    a labels file), "caption": "a handwritten seven"}. `images` is an IDX path or a folder."""

    def __init__(
        self,
        images: str | Path,
        labels: str | Path | None = None,
        *,
        split: str = "train",
        size: int | None = None,
    ):
        if Path(images).is_dir():
            images, found = find_idx_pair(images, split)
            labels = labels or found
        self.images = read_idx(images)
        if self.images.ndim != 3:
            raise GenlabError(f"{images}: expected (N, H, W) images, got shape {self.images.shape}")
        self.labels = None
        if labels is not None:
            self.labels = read_idx(labels)
            if self.labels.shape != (len(self.images),):
                raise GenlabError(
                    f"{labels}: {self.labels.shape} labels for {len(self.images)} images"
                )
        self.size = size

    def __len__(self) -> int:
        return len(self.images)

    def label(self, index: int) -> int:
        return -1 if self.labels is None else int(self.labels[index])

    def caption(self, index: int) -> str | None:
        label = self.label(index)
        return f"a handwritten {DIGIT_WORDS[label]}" if 0 <= label <= 9 else None

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        image = torch.from_numpy(self.images[index].astype(np.float32))[None] / 127.5 - 1.0
        if self.size is not None and image.shape[-1] != self.size:
            image = torch.nn.functional.interpolate(
                image[None], size=(self.size, self.size), mode="bilinear", antialias=True
            )[0]
        return {"image": image, "label": self.label(index), "caption": self.caption(index) or ""}

    def iter_raw(self) -> Iterator[RawSample]:
        """Every digit as a PNG-encoded RawSample (the form curation and shards take)."""
        for i in range(len(self)):
            buf = io.BytesIO()
            Image.fromarray(self.images[i].astype(np.uint8), "L").save(buf, format="PNG")
            yield RawSample(
                f"{i:06d}", buf.getvalue(), ".png", self.caption(i), {"label": self.label(i)}
            )
