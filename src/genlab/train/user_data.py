"""Your own images for the text-to-image recipes: `genlab train --recipe NAME --data SOURCE` reads
the shards `genlab data prepare` writes (or any WebDataset .tar shards), or a folder of images
with captions, into the recipe's in-memory corpus at the recipe's image size.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from genlab.data.curate import open_source
from genlab.errors import GenlabError, InvalidArgument
from genlab.io import fit_image
from genlab.text.tokenizer import Tokenizer, split_words


def open_data(source: str | Path):
    """The samples of `source` (anything with iter_raw(): shards or a captioned image folder)."""
    if str(source).startswith("world:"):
        raise InvalidArgument(
            "--data", "your shards or image folder (world scenes are the recipes' own data)", source
        )
    if not Path(source).exists():
        raise InvalidArgument(
            "--data", "a folder of .tar shards, a .tar or an image folder", source
        )
    return open_source(source)


def read_data(source, size: int, *, progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """Every captioned image of `source` at size×size (cropped to a square around the centre,
    then scaled: never stretched) as uint8 (n, size, size, 3), and the captions. Samples without
    a caption are left out; an image that does not decode is an error naming it."""
    data = open_data(source)
    images, captions = [], []
    total = len(data) if hasattr(data, "__len__") else None
    for sample in tqdm(data.iter_raw(), total=total, desc="reading data", unit="img",
                       disable=not progress):  # fmt: skip
        if not sample.caption or not sample.caption.strip():
            continue
        try:
            with Image.open(io.BytesIO(sample.data)) as im:
                image = im.convert("RGB")
        except Exception as e:  # PIL raises many types for broken files
            raise GenlabError(f"--data: cannot decode {sample.key} ({type(e).__name__})") from None
        images.append(np.asarray(fit_image(image, size, size)))
        captions.append(" ".join(sample.caption.split()))
    if not images:
        raise GenlabError(f"--data: no captioned images in {source}")
    return np.stack(images), captions


def data_corpus(images: np.ndarray, captions: list[str], tokenizer: Tokenizer, max_length: int):
    """The recipes' corpus dict from your data: {"images": uint8 (n, H, W, 3), "tokens": int16
    (n, 1, max_length)} (one caption per image)."""
    ids = tokenizer(captions, max_length).ids.to(torch.int16)  # (n, L)
    return {"images": torch.from_numpy(images), "tokens": ids[:, None]}


def caption_words(captions: list[str]) -> list[str]:
    """The words of the captions, in order of first use (what a tokenizer must know)."""
    return list(dict.fromkeys(w for c in captions for w in split_words(c)))
