"""Image sets to evaluate: a folder of image files, a model's samples, or freshly rendered world
scenes and digits; all become one uint8 tensor (N, 3, H, W) with optional captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genlab.data.digits import DigitsDataset
from genlab.errors import GenlabError, InvalidArgument
from genlab.io import read_params
from genlab.progress import progress_bar
from genlab.world import caption, render, sample_scene

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}


@dataclass
class ImageSet:
    """uint8 images (N, 3, H, W), an optional caption per image, and files that could not be read."""

    images: torch.Tensor
    captions: list[str] | None = None
    names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    source: str = ""
    seeds: list[int | None] | None = None  # per image, from the pipeline's metadata

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.images.shape[-2:])

    def pils(self) -> list[Image.Image]:
        return [Image.fromarray(t.permute(1, 2, 0).numpy()) for t in self.images]

    def split(self, n: int) -> tuple[ImageSet, ImageSet]:
        a = ImageSet(self.images[:n], self.captions[:n] if self.captions else None, self.names[:n])
        b = ImageSet(self.images[n:], self.captions[n:] if self.captions else None, self.names[n:])
        return a, b


def from_pils(images, captions=None, source: str = "", names=None) -> ImageSet:
    """PIL images or (H,W,3) uint8 arrays, all of one size, -> ImageSet."""
    arrays = [np.asarray(im.convert("RGB") if isinstance(im, Image.Image) else im) for im in images]
    if not arrays:
        raise InvalidArgument("images", "at least one image", 0)
    _check_same_size([a.shape[:2] for a in arrays], names or [str(i) for i in range(len(arrays))])
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(
        stacked, list(captions) if captions is not None else None, list(names or []), source=source
    )


def _check_same_size(sizes, names) -> None:
    first = tuple(sizes[0])
    for size, name in zip(sizes, names):
        if tuple(size) != first:
            raise InvalidArgument(
                "images",
                f"images of one size (first is {first[1]}×{first[0]} px)",
                f"{name} is {size[1]}×{size[0]} px",
                hint="resize them first, or pass --resize N",
            )


def load_folder(
    path: str | Path, resize: int | None = None, limit: int | None = None, progress: bool = False
) -> ImageSet:
    """Read every image file in a folder (sorted by name). Unreadable files are skipped and listed.

    Captions come from the PNG generation parameters (genlab.io.save_image) or a `.txt` file beside
    the image, when every image has one.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InvalidArgument("folder", "an existing directory of images", str(path))
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None:
        files = files[:limit]
    if not files:
        raise InvalidArgument(
            "folder",
            f"a directory with image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
            str(path),
            hint="it has none",
        )
    arrays, names, captions, skipped = [], [], [], []
    for f in progress_bar(files, desc=f"reading {folder.name}", unit="img", enabled=progress):
        try:
            with Image.open(f) as im:
                im.load()
                rgb = im.convert("RGB")
        except Exception:
            skipped.append(f.name)
            continue
        if resize:
            rgb = rgb.resize((resize, resize), Image.BICUBIC)
        arrays.append(np.asarray(rgb))
        names.append(f.name)
        caption = None
        if f.with_suffix(".txt").is_file():
            caption = f.with_suffix(".txt").read_text().strip()
        elif f.suffix.lower() == ".png":
            try:
                caption = (read_params(f) or {}).get("prompt")
            except Exception:
                caption = None
        captions.append(caption)
    if not arrays:
        raise GenlabError(f"folder: none of the {len(files)} image files in {path} could be read")
    _check_same_size([a.shape[:2] for a in arrays], names)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    caps = captions if all(c for c in captions) else None
    return ImageSet(images, caps, names, skipped, source=str(path))


def world_set(
    n: int, size: int = 32, seed: int = 0, held_out: bool = False, n_objects=None
) -> ImageSet:
    """`n` freshly rendered world scenes with one random caption each (independent per seed)."""
    rng = np.random.default_rng(seed)
    arrays, captions = [], []
    for _ in range(n):
        scene = sample_scene(rng, n_objects=n_objects, exclude_held_out=not held_out)
        arrays.append(render(scene, size=size))
        captions.append(caption(scene, rng))
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(images, captions, source=f"world(n={n}, size={size}, seed={seed})")


def digits_set(n: int, size: int = 28, split: str = "test", seed: int = 0) -> ImageSet:
    """`n` digit images (sklearn's digits, upscaled) with captions, drawn without replacement."""
    ds = DigitsDataset(size=size, split=split)
    if n > len(ds):
        raise InvalidArgument("n", f"at most {len(ds)} digits in the {split} split", n)
    order = np.random.default_rng(seed).permutation(len(ds))[:n]
    items = [ds[int(i)] for i in order]
    images = torch.stack(
        [((it["image"].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8) for it in items]
    )
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1).contiguous()
    return ImageSet(images, [it["caption"] for it in items], source=f"digits(n={n}, {split})")
