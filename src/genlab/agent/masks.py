"""Masks for the agent's edit_image: which pixels to repaint, as (H, W) bool arrays (True =
repaint), from a named region, an object's box, a grid cell or a stored mask image."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from genlab.errors import InvalidArgument
from genlab.io import load_image
from genlab.world.lexicon import POSITION_WORDS

MASK_MARGIN = 2  # pixels added around an object's box so its anti-aliased edge is repainted too


def cell_mask(row: int, col: int, size: tuple[int, int]) -> np.ndarray:
    """The world's grid cell (row, col) of a 3 × 3 grid over an image of `size` (w, h)."""
    w, h = size
    mask = np.zeros((h, w), bool)
    mask[row * h // 3 : (row + 1) * h // 3, col * w // 3 : (col + 1) * w // 3] = True
    return mask


def region_mask(region: str, size: tuple[int, int]) -> np.ndarray:
    """A mask from a position phrase ('top left', 'right': a whole column) or fractions
    'x0,y0,x1,y1'."""
    w, h = size
    phrase = " ".join(region.lower().split())
    for (row, col), names in POSITION_WORDS.items():
        if phrase in names:
            mask = np.zeros((h, w), bool)
            for r in range(3) if row is None else [row]:
                for c in range(3) if col is None else [col]:
                    mask |= cell_mask(r, c, size)
            return mask
    m = re.fullmatch(r"\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*", region)
    if m:
        x0, y0, x1, y1 = (float(v) for v in m.groups())
        if 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1:
            mask = np.zeros((h, w), bool)
            mask[int(y0 * h) : max(int(y0 * h) + 1, round(y1 * h)),
                 int(x0 * w) : max(int(x0 * w) + 1, round(x1 * w))] = True  # fmt: skip
            return mask
    raise InvalidArgument(
        "region",
        "a position such as 'top left', 'center', 'right', or a box 'x0,y0,x1,y1' in fractions "
        "with 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1",
        region,
    )


def box_mask(bbox, size: tuple[int, int], margin: int = MASK_MARGIN) -> np.ndarray:
    """An object's pixel box (x0, y0, x1, y1, ends exclusive), grown by `margin` pixels."""
    w, h = size
    x0, y0, x1, y1 = (int(round(v)) for v in bbox)
    mask = np.zeros((h, w), bool)
    mask[max(0, y0 - margin) : min(h, y1 + margin), max(0, x0 - margin) : min(w, x1 + margin)] = (
        True
    )
    return mask


def stored_mask(path: str | Path, size: tuple[int, int], name: str = "mask") -> np.ndarray:
    """A mask image (white = repaint) of exactly the image's `size`; `name` is the argument that
    named it, for the error."""
    mask = load_image(path, name=name)
    if mask.size != size:
        raise InvalidArgument(
            name, f"a mask of the image's size {size[0]}×{size[1]}", f"{mask.width}×{mask.height}"
        )
    repaint = np.asarray(mask.convert("L")) > 127
    if not repaint.any():
        raise InvalidArgument(name, "a mask with white pixels to repaint", "an all-black mask")
    return repaint
