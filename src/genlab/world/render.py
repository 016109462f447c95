"""Renderer of the built-in world: scenes to anti-aliased RGB images at any size ≥ 16 pixels.

Each shape is a signed distance function; a pixel's coverage is clip(0.5 - distance, 0, 1), the
area of a one-pixel box filter crossing a straight edge, so edges are smooth and rendering is exact.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import ndimage

from genlab.errors import InvalidArgument
from genlab.world.spec import BACKGROUNDS, COLORS, SHAPES, Scene

MIN_SIZE = 16
MAX_SIZE = 4096  # a guard against typos: a 4096² float canvas is already 200 MB
STAR_INNER_RATIO = 0.5  # inner / outer radius of the five-pointed star: chunky enough at 32 px
DIAMOND_WIDTH = 0.72  # half-width of the diamond relative to its half-height


def _regular_star(points: int, inner: float) -> np.ndarray:
    angles = -math.pi / 2 + np.arange(2 * points) * math.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


# Polygon vertices for a shape of circumradius 1 centered at the origin (x right, y down).
_H = 1 / math.sqrt(2)
POLYGONS: dict[str, np.ndarray] = {
    "square": np.array([(-_H, -_H), (_H, -_H), (_H, _H), (-_H, _H)]),
    "triangle": np.array([(0.0, -1.0), (math.sqrt(3) / 2, 0.5), (-math.sqrt(3) / 2, 0.5)]),
    "diamond": np.array([(0.0, -1.0), (DIAMOND_WIDTH, 0.0), (0.0, 1.0), (-DIAMOND_WIDTH, 0.0)]),
    "star": _regular_star(5, STAR_INNER_RATIO),
}


def _polygon_area_and_centroid(v: np.ndarray) -> tuple[float, np.ndarray]:
    """Shoelace formula for the area and centroid of a simple polygon."""
    x, y = v[:, 0], v[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    centroid = np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (6 * area)
    return abs(float(area)), centroid


# Area of each shape at circumradius 1, and its centroid's offset from the circumcenter: the
# parser inverts these to read size and center from a segmented blob.
SHAPE_AREA: dict[str, float] = {"circle": math.pi}
SHAPE_CENTROID: dict[str, np.ndarray] = {"circle": np.zeros(2)}
for _name, _v in POLYGONS.items():
    SHAPE_AREA[_name], SHAPE_CENTROID[_name] = _polygon_area_and_centroid(_v)
assert set(SHAPE_AREA) == set(SHAPES)


def _polygon_sdf(v: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Exact signed distance to a polygon (negative inside), vectorised over its edges.

    The distance is the nearest edge segment's; the sign comes from the even-odd crossing rule.
    px: (1, W), py: (H, 1) -> (H, W)
    """
    vi = v[:, None, None, :]  # (E, 1, 1, 2)
    vj = np.roll(v, 1, axis=0)[:, None, None, :]
    ex, ey = vj[..., 0] - vi[..., 0], vj[..., 1] - vi[..., 1]  # (E, 1, 1)
    wx, wy = px[None] - vi[..., 0], py[None] - vi[..., 1]  # (E, H, W) after broadcasting
    t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    bx, by = wx - ex * t, wy - ey * t
    dist2 = (bx * bx + by * by).min(axis=0)
    c1 = py[None] >= vi[..., 1]
    c2 = py[None] < vj[..., 1]
    c3 = ex * wy > ey * wx
    crossings = ((c1 & c2 & c3) | (~c1 & ~c2 & ~c3)).sum(axis=0)
    sign = np.where(crossings % 2 == 1, -1.0, 1.0)
    return sign * np.sqrt(dist2)


def coverage(
    shape: str, cx: float, cy: float, radius: float, px: np.ndarray, py: np.ndarray
) -> np.ndarray:
    """Fraction of each pixel covered by `shape` (all in pixel units; px (1, W), py (H, 1)).

    px, py are pixel-center coordinates; the result is (H, W) float in [0, 1].
    """
    if radius <= 0:
        return np.zeros((py.shape[0], px.shape[1]))
    if shape == "circle":
        sd = np.sqrt((px - cx) ** 2 + (py - cy) ** 2) - radius
    else:
        # Distances scale with the radius: evaluate on the unit shape, then scale back.
        sd = _polygon_sdf(POLYGONS[shape], (px - cx) / radius, (py - cy) / radius) * radius
    return np.clip(0.5 - sd, 0.0, 1.0)


def check_size(size, name: str = "size") -> int:
    if (
        isinstance(size, bool)
        or not isinstance(size, int | np.integer)
        or not MIN_SIZE <= size <= MAX_SIZE
    ):
        raise InvalidArgument(name, f"an integer image size in {MIN_SIZE}..{MAX_SIZE}", size)
    return int(size)


@lru_cache(maxsize=64)
def _palette(name: str, table: str) -> np.ndarray:
    return np.array((COLORS if table == "object" else BACKGROUNDS)[name], dtype=np.float32)


SUBPIXEL = 16  # object centers are snapped to 1/16 pixel, so each sprite is computed once


@lru_cache(maxsize=32768)
def _sprite(shape: str, radius: float, fx: int, fy: int) -> np.ndarray:
    """Coverage of a shape whose center is fx/SUBPIXEL, fy/SUBPIXEL pixels right of and below
    the top-left corner of the sprite's middle pixel: (2K+1, 2K+1, 1) float32, K = ceil(r) + 1."""
    k = int(math.ceil(radius)) + 1
    grid = np.arange(2 * k + 1, dtype=np.float64) + 0.5
    alpha = coverage(shape, k + fx / SUBPIXEL, k + fy / SUBPIXEL, radius, grid[None], grid[:, None])
    return alpha.astype(np.float32)[..., None]


def draw(
    canvas: np.ndarray, shape: str, color: str, cx: float, cy: float, radius: float
) -> np.ndarray:
    """Composite one anti-aliased shape onto a float (H, W, 3) canvas, in place.

    cx, cy, radius are fractions of the image side (the scene's units).
    """
    h, w = canvas.shape[:2]
    qx, qy = round(cx * w * SUBPIXEL), round(cy * h * SUBPIXEL)
    ix, fx = divmod(qx, SUBPIXEL)
    iy, fy = divmod(qy, SUBPIXEL)
    alpha = _sprite(shape, round(radius * w, 3), fx, fy)
    k = alpha.shape[0] // 2
    x0, y0 = ix - k, iy - k  # canvas position of the sprite's top-left pixel
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + alpha.shape[1], w), min(y0 + alpha.shape[0], h)
    if cx0 >= cx1 or cy0 >= cy1:
        return canvas
    a = alpha[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    region = canvas[cy0:cy1, cx0:cx1]
    region += a * (_palette(color, "object") - region)
    return canvas


def blank(background: str, size: int) -> np.ndarray:
    canvas = np.empty((size, size, 3), dtype=np.float32)
    canvas[:] = _palette(background, "background")
    return canvas


def to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def render(scene: Scene, size: int = 32) -> np.ndarray:
    """Draw `scene` as an (size, size, 3) uint8 image; the same scene always gives the same pixels."""
    size = check_size(size)
    canvas = blank(scene.background, size)
    for o in scene.objects:
        cx, cy = o.center
        draw(canvas, o.shape, o.color, cx, cy, o.radius)
    return to_uint8(canvas)


def degrade(image: np.ndarray, rng=None, *, noise: float = 6.0, blur: float = 0.5) -> np.ndarray:
    """A mildly corrupted copy of a uint8 image: Gaussian blur (sigma in pixels), then Gaussian
    noise (sigma in 0..255 units). Used to test that the scene parser is robust."""
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    f = image.astype(np.float32)
    if blur > 0:
        sigma = (blur, blur, 0) if f.ndim == 3 else blur
        f = ndimage.gaussian_filter(f, sigma=sigma)
    if noise > 0:
        f = f + rng.normal(0.0, noise, f.shape)
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)
