"""Handwritten digits that need no download: scikit-learn's bundled 8×8 digits (1,797 images),
upscaled to 16 or 28 pixels, with labels and captions ("the digit 7"), split into train and test.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from genlab.errors import GenlabError, InvalidArgument, check_choice

SPLITS = ("train", "test", "all")
TEST_EVERY = 5  # every 5th digit (by index) is in the test split: 360 test, 1,437 train
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CAPTION_TEMPLATES = ("the digit {d}", "a handwritten {d}", "the number {w}", "a {w}")


def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 8, 8) with values 0..16, labels (N,)) as scikit-learn bundles them.

    The CSV is read straight from the installed package (importing sklearn.datasets takes
    seconds); sklearn's own loader is the fallback if the file is not where it used to be.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        csv = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        if csv.is_file():
            table = np.loadtxt(csv, delimiter=",", dtype=np.float32)  # (N, 65): pixels, label
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    try:
        from sklearn.datasets import load_digits  # optional: the digits extra (scikit-learn)
    except ImportError:
        raise GenlabError(
            "digits: the digits data ships with scikit-learn: pip install 'genlab[digits]'"
        ) from None

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


@lru_cache(maxsize=8)
def _digits(size: int) -> tuple[np.ndarray, np.ndarray]:
    """All digits as float32 (N, size, size) in [0, 1] (ink bright) and int64 labels (N,)."""
    raw, labels = _raw_digits()
    images = raw / 16.0  # (N, 8, 8), values 0..16
    # Bicubic upsampling of each 8×8 bitmap (PIL's float mode keeps full precision).
    up = np.stack(
        [
            np.asarray(Image.fromarray(im, mode="F").resize((size, size), Image.BICUBIC))
            for im in images
        ]
    )
    return np.clip(up, 0.0, 1.0), labels


class DigitsDataset(Dataset):
    """Items {"image": float (1, size, size) in [-1, 1], "caption": str, "label": int}.

    split: "train", "test" (every 5th digit) or "all". captions: "fixed" gives "the digit 7";
    "varied" cycles through templates ("a handwritten 7", "the number seven", ...).
    """

    def __init__(self, size: int = 28, split: str = "train", captions: str = "fixed"):
        if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 256:
            raise InvalidArgument("size", "an image size in 8..256 (16 and 28 are usual)", size)
        self.size, self.split = size, check_choice("split", split, SPLITS)
        self.captions = check_choice("captions", captions, ("fixed", "varied"))
        images, labels = _digits(size)
        index = np.arange(len(labels))
        if split == "train":
            index = index[index % TEST_EVERY != 0]
        elif split == "test":
            index = index[index % TEST_EVERY == 0]
        self._images = torch.from_numpy(images[index] * 2.0 - 1.0)[:, None]  # (N, 1, S, S)
        self._labels = labels[index]

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} digits")
        label = int(self._labels[i])
        return {
            "image": self._images[i],
            "caption": digit_caption(label, i, self.captions),
            "label": label,
        }

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()


def digit_caption(label: int, index: int = 0, style: str = "fixed") -> str:
    template = CAPTION_TEMPLATES[0 if style == "fixed" else index % len(CAPTION_TEMPLATES)]
    return template.format(d=label, w=NUMBER_WORDS[label])
