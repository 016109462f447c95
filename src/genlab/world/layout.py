"""Layouts: a scene's objects as one class per grid cell, the plan a layout planner writes from a
prompt and a layout-conditioned denoiser draws (genlab.models.layout_planner, UNetConfig's
`layout_channels`).

A layout is 9 integers, the cells in reading order (row 0 left to right, then row 1, ...): 0 for
an empty cell, else 1 + an index over (color, shape, size). The background is not one of the
classes: a denoiser with `LAYOUT_BG_CHANNELS` reads it beside the cells (a one-hot over
BACKGROUNDS in every cell, zeros where the prompt leaves it open); an older one reads it from the
text alone.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import InvalidArgument
from genlab.world.spec import BACKGROUNDS, COLORS, GRID, SHAPES, SIZES, Obj, Scene, position_name

CELLS = GRID * GRID
_COLORS, _SIZES = tuple(COLORS), tuple(SIZES)
OBJECT_CLASSES = len(_COLORS) * len(SHAPES) * len(_SIZES)
LAYOUT_CLASSES = 1 + OBJECT_CLASSES  # 0 = empty
# Feature channels per cell: empty, then one-hots of color, shape and size.
LAYOUT_CHANNELS = 1 + len(_COLORS) + len(SHAPES) + len(_SIZES)
# ... and, for a denoiser that takes the background from the plan too, a one-hot over BACKGROUNDS.
_BACKGROUNDS = tuple(BACKGROUNDS)
LAYOUT_BG_CHANNELS = LAYOUT_CHANNELS + len(_BACKGROUNDS)


def object_class(obj: Obj) -> int:
    """1 + the index of (color, shape, size)."""
    c, s, z = _COLORS.index(obj.color), SHAPES.index(obj.shape), _SIZES.index(obj.size)
    return int(classes_of(c, s, z))


def classes_of(color, shape, size):
    """Cell classes of objects given by their indices into COLORS, SHAPES and SIZES (ints or
    tensors); the inverse of `class_indices` for occupied cells."""
    return 1 + (color * len(SHAPES) + shape) * len(_SIZES) + size


def class_parts(k: int) -> tuple[str, str, str]:
    """(color, shape, size) of object class k ≥ 1."""
    if not 1 <= k < LAYOUT_CLASSES:
        raise InvalidArgument("layout class", f"an integer in 1..{LAYOUT_CLASSES - 1}", k)
    k -= 1
    z = k % len(_SIZES)
    k //= len(_SIZES)
    return _COLORS[k // len(SHAPES)], SHAPES[k % len(SHAPES)], _SIZES[z]


def scene_layout(scene: Scene) -> np.ndarray:
    """(9,) int8: the class in each cell of `scene`."""
    out = np.zeros(CELLS, np.int8)
    for obj in scene.objects:
        out[obj.row * GRID + obj.col] = object_class(obj)
    return out


def layout_objects(layout) -> list[Obj]:
    """The objects a layout places, in reading order, at their cells' centers."""
    cells = [int(k) for k in layout]
    if len(cells) != CELLS:
        raise InvalidArgument("layout", f"{CELLS} cell classes", len(cells))
    objects = []
    for i, k in enumerate(cells):
        if k:
            color, shape, size = class_parts(k)
            objects.append(Obj(shape, color, size, i // GRID, i % GRID))
    return objects


def describe_layout(layout) -> str:
    """'small red circle (top left), large blue square (bottom)' ('empty' if none)."""
    objects = layout_objects(layout)
    if not objects:
        return "empty"
    return ", ".join(f"{o.describe()} ({position_name(o.row, o.col)})" for o in objects)


def class_indices(layout: torch.Tensor):
    """Tensors of cell classes -> (occupied, color, shape, size): a bool mask and the indices
    into COLORS, SHAPES and SIZES (0 where the cell is empty), the inverse of `object_class`."""
    k = layout.long()
    j = (k - 1).clamp(min=0)
    size = j % len(_SIZES)
    shape = (j // len(_SIZES)) % len(SHAPES)
    return k > 0, j // (len(_SIZES) * len(SHAPES)), shape, size


def background_indices(backgrounds, batch: int) -> torch.Tensor:
    """(batch,) long: each background's index into BACKGROUNDS, -1 where it is None (left open)."""
    if backgrounds is None:
        return torch.full((batch,), -1, dtype=torch.long)
    names = list(backgrounds)
    if len(names) != batch:
        raise InvalidArgument("backgrounds", f"{batch} names or None", len(names))
    for name in names:
        if name is not None and name not in BACKGROUNDS:
            raise InvalidArgument("background", "one of " + ", ".join(_BACKGROUNDS), name)
    return torch.tensor([-1 if b is None else _BACKGROUNDS.index(b) for b in names])


def layout_features(
    layout: torch.Tensor, backgrounds=None, channels: int = LAYOUT_CHANNELS
) -> torch.Tensor:
    """(B, 9) classes -> (B, channels, 3, 3) float features: per cell a one-hot "empty" or
    one-hots of its object's color, shape and size; with `channels` = LAYOUT_BG_CHANNELS also
    the background, `backgrounds` (B names or indices into BACKGROUNDS, None or -1 where the
    prompt leaves it open), one-hot in every cell. A null layout (no plan) is all zeros, which
    no real layout gives (every cell is empty or holds an object)."""
    if layout.dim() != 2 or layout.shape[1] != CELLS:
        raise InvalidArgument("layout", f"(B, {CELLS}) cell classes", tuple(layout.shape))
    if channels not in (LAYOUT_CHANNELS, LAYOUT_BG_CHANNELS):
        raise InvalidArgument(
            "layout channels", f"{LAYOUT_CHANNELS} or {LAYOUT_BG_CHANNELS}", channels
        )
    B = len(layout)
    occupied, color, shape, size = class_indices(layout)
    feats = [
        (~occupied).float()[..., None],
        torch.nn.functional.one_hot(color, len(_COLORS)) * occupied[..., None],
        torch.nn.functional.one_hot(shape, len(SHAPES)) * occupied[..., None],
        torch.nn.functional.one_hot(size, len(_SIZES)) * occupied[..., None],
    ]
    if channels == LAYOUT_BG_CHANNELS:
        if isinstance(backgrounds, torch.Tensor):
            bg = backgrounds.long().to(layout.device)
        else:
            bg = background_indices(backgrounds, B).to(layout.device)
        one = torch.nn.functional.one_hot(bg.clamp(min=0), len(_BACKGROUNDS)) * (bg >= 0)[:, None]
        feats.append(one[:, None, :].expand(B, CELLS, len(_BACKGROUNDS)))
    f = torch.cat([t.float() for t in feats], dim=-1)  # (B, 9, C)
    return f.transpose(1, 2).reshape(B, channels, GRID, GRID)


def null_layout_features(batch: int = 1, device=None, channels: int = LAYOUT_CHANNELS):
    """The features of "no plan": zeros."""
    return torch.zeros(batch, channels, GRID, GRID, device=device)


def mask_cells(mask: torch.Tensor, min_coverage: float = 0.5) -> list[int]:
    """The cells an inpainting mask (H, W) or (1, 1, H, W), 1 = repaint, opens: those it covers
    at least `min_coverage` of, most covered first; when it covers none that much, the one it
    covers most (none when the mask is empty)."""
    m = mask.float().reshape(mask.shape[-2], mask.shape[-1])
    if not m.any():
        return []
    coverage = torch.nn.functional.adaptive_avg_pool2d(m[None, None], GRID).flatten()
    order = sorted(range(CELLS), key=lambda i: -float(coverage[i]))
    return [i for i in order if coverage[i] >= min_coverage] or order[:1]


def place_in_cells(layout, cells: list[int]) -> list[int]:
    """`layout` (9 classes) with its objects moved into `cells` (a plan written for a prompt,
    drawn where an inpainting mask opens): an object already in one of them stays, the others
    fill the free ones in reading order; objects beyond the cells are dropped, and every cell
    outside them is empty."""
    row = [int(k) for k in layout]
    out = [0] * CELLS
    staying = [i for i in cells if row[i]]
    for i in staying:
        out[i] = row[i]
    free = [i for i in cells if not row[i]]
    movers = [k for i, k in enumerate(row) if k and i not in staying]
    for i, k in zip(free, movers, strict=False):
        out[i] = k
    return out
