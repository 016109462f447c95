"""Where the world's motions can play: the cell a move or bounce sweeps into, the size growing and
shrinking start from. Shared by the grammar (reading a prompt) and the video renderer.
"""

from __future__ import annotations

from genlab.world.spec import GRID, Obj

DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}


def target_cell(row: int, col: int, motion: str) -> tuple[int, int] | None:
    """The extra grid cell a motion from (row, col) sweeps into (None for in-place motions)."""
    if motion in DIRECTIONS:
        dr, dc = DIRECTIONS[motion]
        return row + dr, col + dc
    if motion == "bounce":
        return row - 1, col
    return None


def motion_target(obj: Obj, motion: str) -> tuple[int, int] | None:
    return target_cell(obj.row, obj.col, motion)


def start_size(motion: str) -> str | None:
    """The size an object must have at the first frame: growing starts small, shrinking large."""
    return {"grow": "small", "shrink": "large"}.get(motion)


def motion_feasible(obj: Obj, motion: str, reserved: set[tuple[int, int]]) -> bool:
    return motion_feasible_at(obj.row, obj.col, obj.size, motion, reserved)


def motion_feasible_at(
    row: int, col: int, size: str, motion: str, reserved: set[tuple[int, int]]
) -> bool:
    """Whether the world can play `motion` for an object of `size` in cell (row, col): grow
    starts small, shrink large; a move or bounce needs its next cell on the grid and free."""
    if start_size(motion) is not None:
        return size == start_size(motion)
    target = target_cell(row, col, motion)
    if target is None:
        return True
    return 0 <= target[0] < GRID and 0 <= target[1] < GRID and target not in reserved
