"""Scene parser, the built-in world's object detector: image -> objects (shape, color, size, cell)
by color segmentation, connected components, and fitting each blob with the renderer's own shapes.

Steps: (1) background = the palette background most pixels are near; (2) each pixel's coverage
alpha for every object color, by projecting (pixel - background) onto (color - background);
(3) foreground components (alpha > 1/2, 4-connected); (4) per component, the color with most
coverage, its centroid and area; (5) the shape whose rendered coverage, at the radius that gives
the same area, is closest to the observed coverage (least squares); the size from that radius.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from genlab.errors import InvalidArgument
from genlab.world.lexicon import POSITION_WORDS
from genlab.world.render import SHAPE_AREA, SHAPE_CENTROID, coverage
from genlab.world.spec import BACKGROUNDS, COLORS, GRID, MAX_OBJECTS, SHAPES, SIZES, Obj, Scene

_COLOR_NAMES = list(COLORS)
_COLOR_RGB = np.array([COLORS[c] for c in _COLOR_NAMES], dtype=np.float32)  # (K, 3)
_BG_NAMES = list(BACKGROUNDS)
_BG_RGB = np.array([BACKGROUNDS[b] for b in _BG_NAMES], dtype=np.float32)
_BG_NEAR = 48.0  # a pixel within this RGB distance of a palette background counts as background
_MAX_RESIDUAL = 70.0  # farther than this from every (background, color) mix: not an object pixel
_BLUR_GRID = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)  # Gaussian blurs (pixels) tried first
_GOOD_FIT = 0.002  # mean squared coverage error below which a sharp fit is accepted at once
_MARGIN = 3  # pixels around a blob's box that still hold its anti-aliased or blurred rim
# Size boundary: geometric mean of the two radii, so each size wins on a log scale.
_SIZE_NAMES = sorted(SIZES, key=SIZES.get)


@dataclass
class ParsedObject:
    """One detected object. center and radius are fractions of the image side; bbox and area are
    in pixels (bbox = x0, y0, x1, y1 with exclusive ends; area = summed coverage)."""

    shape: str
    color: str
    size: str
    center: tuple[float, float]
    row: int
    col: int
    bbox: tuple[int, int, int, int]
    area: float
    radius: float
    fit_error: float  # mean squared coverage residual of the chosen shape, 0 for a perfect fit

    @property
    def position(self) -> str:
        return POSITION_WORDS[(self.row, self.col)][0]

    def describe(self) -> str:
        return f"{self.size} {self.color} {self.shape} in the {self.position}"

    def to_obj(self) -> Obj:
        return Obj(self.shape, self.color, self.size, self.row, self.col, *self.center)


@dataclass
class ParsedScene:
    objects: list[ParsedObject] = field(default_factory=list)
    background: str = "black"
    height: int = 0
    width: int = 0

    def to_scene(self) -> Scene | None:
        """The Scene this image shows, or None when it is not a valid scene (0 or > 4 objects,
        two objects in one cell)."""
        cells = [(o.row, o.col) for o in self.objects]
        if not 1 <= len(self.objects) <= MAX_OBJECTS or len(set(cells)) != len(cells):
            return None
        return Scene(tuple(o.to_obj() for o in self.objects), self.background)

    def to_dict(self) -> dict:
        return {
            "background": self.background,
            "height": self.height,
            "width": self.width,
            "objects": [
                {**asdict(o), "position": o.position, "center": list(o.center)}
                for o in self.objects
            ],
        }

    def describe(self) -> str:
        if not self.objects:
            return f"no objects on a {self.background} background"
        return ", ".join(o.describe() for o in self.objects) + f" on a {self.background} background"


def as_uint8_image(image) -> np.ndarray:
    """uint8 (H, W, 3) array from a uint8 array, a PIL image, or a (3, H, W) tensor in [-1, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if hasattr(image, "detach"):  # a torch tensor
        t = image.detach().float().cpu()
        if t.ndim != 3 or t.shape[0] != 3:
            raise InvalidArgument("image", "a (3, H, W) tensor in [-1, 1]", tuple(t.shape))
        return ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidArgument("image", "an (H, W, 3) array", arr.shape)
    if arr.dtype != np.uint8:
        raise InvalidArgument("image", "a uint8 array", str(arr.dtype))
    return arr


def _background(pixels: np.ndarray) -> tuple[str, np.ndarray]:
    """The palette background that most pixels are close to, and the median of those pixels."""
    dist = np.linalg.norm(pixels[:, None, :] - _BG_RGB[None], axis=2)  # (N, B)
    near = dist < _BG_NEAR
    counts = near.sum(axis=0)
    if counts.max() == 0:
        b = int(np.argmin(np.median(dist, axis=0)))
        return _BG_NAMES[b], _BG_RGB[b]
    b = int(np.argmax(counts))
    return _BG_NAMES[b], np.median(pixels[near[:, b]], axis=0)


def _coverage_per_color(pixels: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha (N, K) in [0, 1] of each object color, and the RGB residual (N, K) of that mix.

    A pixel p covered by fraction a of color c over background b is p = b + a (c - b), so
    a = <p - b, c - b> / |c - b|^2, and the residual |p - b - a (c - b)| says how well c explains p.
    """
    p = pixels - bg  # (N, 3)
    d = _COLOR_RGB - bg  # (K, 3)
    alpha = np.clip((p @ d.T) / (d * d).sum(axis=1), 0.0, 1.0)  # (N, K)
    residual = np.linalg.norm(p[:, None, :] - alpha[..., None] * d[None], axis=2)
    return alpha, residual


def _golden_min(f, lo: float, hi: float, tol: float = 0.02) -> tuple[float, float]:
    """Minimum of a unimodal f on [lo, hi] by golden-section search: (argmin, min)."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (c, fc) if fc < fd else (d, fd)


def _fit_shape(
    alpha: np.ndarray, x0: int, y0: int, noise_floor: float = 0.0
) -> tuple[str, float, tuple[float, float], float]:
    """Best shape for a coverage patch: (shape, radius px, center px, mean squared error).

    Each shape is drawn with the observed area at the observed centroid. If no sharp shape fits
    (a blurry image, e.g. from a generative model), each shape is blurred by the Gaussian that
    fits it best, so that a blurred square is not mistaken for a sharper circle.
    """
    h, w = alpha.shape
    px = (np.arange(x0, x0 + w) + 0.5)[None, :]
    py = (np.arange(y0, y0 + h) + 0.5)[:, None]
    mass = float(alpha.sum())
    cx = float((alpha * px).sum() / mass)
    cy = float((alpha * py).sum() / mass)
    fits = []
    for shape in SHAPES:
        radius = math.sqrt(mass / SHAPE_AREA[shape])  # same area as the observed blob
        ox, oy = SHAPE_CENTROID[shape] * radius  # centroid offset from the shape's center
        template = coverage(shape, cx - ox, cy - oy, radius, px, py)
        err = float(((alpha - template) ** 2).mean())
        fits.append([err, shape, radius, (cx - ox, cy - oy), template])
    if min(f[0] for f in fits) > _GOOD_FIT + 2 * noise_floor:
        for fit in fits:
            template = fit[4]

            def blurred_error(sigma: float, template=template) -> float:
                t = ndimage.gaussian_filter(template, sigma, mode="constant")
                return float(((alpha - t) ** 2).mean())

            grid = [(blurred_error(s), s) for s in _BLUR_GRID]
            _, start = min(grid)
            step = _BLUR_GRID[1] - _BLUR_GRID[0]
            lo, hi = max(start - step, 0.0), start + step
            fit[0] = min(fit[0], _golden_min(blurred_error, lo, hi)[1])
    err, shape, radius, center, _ = min(fits, key=lambda f: f[0])
    return shape, radius, center, err


def _size_name(radius_frac: float) -> str:
    return min(_SIZE_NAMES, key=lambda s: abs(math.log(radius_frac / SIZES[s])))


def parse_image(image, *, min_area: float | None = None) -> ParsedScene:
    """Detect the objects of a world image (uint8 (H,W,3), PIL image, or (3,H,W) tensor in [-1,1]).

    min_area: smallest blob kept, in pixels (default: a third of a small triangle's area).
    """
    img = as_uint8_image(image)
    h, w = img.shape[:2]
    if min(h, w) < 8:
        raise InvalidArgument("image", "an image at least 8 pixels on a side", (h, w))
    pixels = img.reshape(-1, 3).astype(np.float32)
    background, bg = _background(pixels)
    alpha, residual = _coverage_per_color(pixels, bg)
    best = np.argmin(np.where(alpha > 0.25, residual, np.inf), axis=1)  # (N,)
    best_alpha = alpha[np.arange(len(best)), best]
    best_residual = residual[np.arange(len(best)), best]
    foreground = ((best_alpha > 0.5) & (best_residual < _MAX_RESIDUAL)).reshape(h, w)
    labels, n = ndimage.label(foreground)  # 4-connected: a one-pixel gap separates objects
    if min_area is None:
        min_area = SHAPE_AREA["triangle"] * (SIZES[_SIZE_NAMES[0]] * w) ** 2 / 3
    side = float(w)
    objects = []
    best_map = best.reshape(h, w)
    alpha_map = alpha.reshape(h, w, -1)
    slices = ndimage.find_objects(labels)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    # Blobs too small to be objects (noise, or a thin star tip cut off by 4-connectivity) are
    # not masked out of their neighbours' windows: a tip still belongs to its star.
    kept = np.zeros(n + 1, dtype=bool)
    kept[1:] = sizes[1:] >= min_area
    kept_labels = np.where(kept[labels], labels, 0)
    background_far = ~ndimage.binary_dilation(foreground, iterations=_MARGIN)
    noise_floor: dict[int, float] = {}
    for index, sl in enumerate(slices, start=1):
        if sl is None or not kept[index]:
            continue
        mask = labels[sl] == index
        color_k = int(np.bincount(best_map[sl][mask], minlength=len(_COLOR_NAMES)).argmax())
        # Window: the blob's box plus a margin for its anti-aliased or blurred rim, without the
        # pixels of any other blob (grown by one pixel so their rims do not leak in).
        y0, y1 = max(sl[0].start - _MARGIN, 0), min(sl[0].stop + _MARGIN, h)
        x0, x1 = max(sl[1].start - _MARGIN, 0), min(sl[1].stop + _MARGIN, w)
        window = kept_labels[y0:y1, x0:x1]
        others = ndimage.binary_dilation((window != 0) & (window != index)) & (window != index)
        patch = np.where(others, 0.0, alpha_map[y0:y1, x0:x1, color_k])
        area = float(patch.sum())
        if color_k not in noise_floor:
            # Mean squared coverage of this color where there is surely no object: the part of
            # a fit's error that pixel noise alone explains.
            far = alpha_map[..., color_k][background_far]
            noise_floor[color_k] = float((far**2).mean()) if far.size else 0.0
        shape, radius, (cx, cy), err = _fit_shape(patch, x0, y0, noise_floor[color_k])
        center = (cx / side, cy / float(h))
        objects.append(
            ParsedObject(
                shape=shape,
                color=_COLOR_NAMES[color_k],
                size=_size_name(radius / side),
                center=(round(center[0], 4), round(center[1], 4)),
                row=min(max(int(center[1] * GRID), 0), GRID - 1),
                col=min(max(int(center[0] * GRID), 0), GRID - 1),
                bbox=(int(sl[1].start), int(sl[0].start), int(sl[1].stop), int(sl[0].stop)),
                area=round(area, 2),
                radius=round(radius / side, 4),
                fit_error=round(err, 5),
            )
        )
    objects.sort(key=lambda o: (o.row, o.col, o.center))
    return ParsedScene(objects, background, h, w)
