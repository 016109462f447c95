"""Files in and out: checkpoints (one safetensors file, JSON config in its metadata), images with
their generation parameters in a PNG text chunk, and atomic writes so nothing is half-written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, unescape

import numpy as np
import torch
from PIL import Image, PngImagePlugin
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from genlab.errors import CheckpointError, GenlabError, InvalidArgument
from genlab.infotext import format_infotext, parse_infotext

CONFIG_KEY = "genlab_config"
HASH_KEY = "genlab_sha256"  # content hash of the tensors (names, dtypes, shapes, bytes)
FORMAT_VERSION = 1
PARAMS_KEY = "genlab"  # PNG text chunk holding the generation parameters as JSON
INFOTEXT_KEY = "parameters"  # PNG text chunk A1111-style readers read (genlab.infotext)
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it over `path` (atomic on POSIX).

    On any exception the temporary file is removed and `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(
    path: str | os.PathLike,
    tensors: Mapping[str, torch.Tensor],
    config: Mapping[str, Any],
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write `tensors` and a JSON-serialisable `config` to one safetensors file, atomically.

    `dtype` casts floating-point tensors (e.g. torch.float16 for bundled weights).
    """
    out, seen = {}, set()
    for name, t in tensors.items():
        t = t.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        t = t.contiguous()
        # safetensors refuses tensors that share storage (tied weights): clone repeats.
        out[name] = t.clone() if t.data_ptr() in seen else t
        seen.add(t.data_ptr())
    metadata = {
        CONFIG_KEY: json.dumps(dict(config), sort_keys=True),
        "format_version": str(FORMAT_VERSION),
        HASH_KEY: tensors_digest(out),
    }
    with atomic_path(path) as tmp:
        save_file(out, str(tmp), metadata=metadata)
    return Path(path)


def read_checkpoint_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read only the JSON config of a checkpoint (cheap: no tensors are loaded)."""
    path = _existing_file(path, "checkpoint")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as e:  # safetensors raises several types for corrupt headers
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    if CONFIG_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file, but not a genlab checkpoint (no '{CONFIG_KEY}' metadata)"
        )
    try:
        return json.loads(metadata[CONFIG_KEY])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: genlab config metadata is not valid JSON ({e})") from None


def load_checkpoint(
    path: str | os.PathLike, *, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load (tensors, config) from a genlab checkpoint, verified (see `verify_tensors`); floating
    tensors optionally cast to `dtype`."""
    config = read_checkpoint_config(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            expected_hash = (f.metadata() or {}).get(HASH_KEY)
        tensors = load_file(str(path), device="cpu")
    except Exception as e:
        raise CheckpointError(f"{path}: tensors could not be read ({e})") from None
    verify_tensors(path, tensors, expected_hash)
    if str(device) != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    return tensors, config


def tensors_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def verify_tensors(
    path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], expected_hash: str | None
) -> None:
    """CheckpointError unless the tensors match the content hash saved with them (files written
    before hashes were kept have none) and every floating-point value is finite."""
    if expected_hash is not None and tensors_digest(tensors) != expected_hash:
        raise CheckpointError(
            f"{path}: corrupt: its tensors do not match the content hash saved with them"
        )
    for name, t in tensors.items():
        if t.is_floating_point() and t.numel() and not _all_finite(t):
            raise CheckpointError(f"{path}: corrupt: tensor {name!r} holds NaN or infinite values")


# An IEEE float is NaN or infinite exactly when its exponent bits are all ones.
_EXPONENT_BITS = {
    torch.float16: (torch.int16, 0x7C00),
    torch.bfloat16: (torch.int16, 0x7F80),
    torch.float32: (torch.int32, 0x7F800000),
    torch.float64: (torch.int64, 0x7FF0000000000000),
}


def _all_finite(t: torch.Tensor) -> bool:
    # A bit test in numpy, not torch.isfinite: on a CPU, isfinite over half-precision weights is
    # about 20 times slower (0.8 s against 0.04 s for world-t2v's 3.6 M fp16 values).
    if t.dtype not in _EXPONENT_BITS:
        return bool(torch.isfinite(t.float()).all())
    int_dtype, mask = _EXPONENT_BITS[t.dtype]
    bits = t.detach().to("cpu").contiguous().reshape(-1).view(int_dtype).numpy()
    return not bool(np.any((bits & mask) == mask))


def verify_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a whole checkpoint and check it (config, tensors, hash, finite values): its config."""
    return load_checkpoint(path)[1]


def check_out_folder(path: str | os.PathLike | None, name: str = "--out") -> None:
    """A folder output goes to: one that exists, or one that can be made. Checked before any
    work, so that a file already at that path costs nothing."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidArgument(name, "a folder (this is an existing file)", str(path))
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgument(name, f"a folder ({parent} is a file)", str(path))
            break


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(what, "an existing file", str(path))
    return path


# --------------------------------------------------------------------------- images


def to_pil(image: torch.Tensor | np.ndarray | Image.Image) -> Image.Image:
    """Convert a (3,H,W) float tensor in [-1, 1], an (H,W,3) uint8 array or a PIL image to PIL RGB."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        if t.ndim != 3 or t.shape[0] not in (1, 3):
            raise InvalidArgument("image", "a (C,H,W) tensor with C in {1, 3}", tuple(t.shape))
        t = ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        if t.shape[0] == 1:
            t = t.expand(3, -1, -1)
        return Image.fromarray(t.permute(1, 2, 0).numpy())
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise InvalidArgument("image", "a uint8 array", arr.dtype)
    return Image.fromarray(arr).convert("RGB")


def to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """PIL image or (H,W,3) uint8 array -> (3,H,W) float tensor in [-1, 1]."""
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 127.5 - 1.0


def png_bytes(image, params: Mapping[str, Any] | None = None) -> bytes:
    """An image as PNG bytes carrying `params` twice: as JSON in the `genlab` text chunk (exact,
    typed) and as AUTOMATIC1111 infotext in the `parameters` chunk (what A1111-style readers show).
    The one encoder of every PNG genlab writes, so a file and an API's base64 are the same bytes."""
    pil = to_pil(image)
    info = PngImagePlugin.PngInfo()
    if params is not None:
        info.add_text(PARAMS_KEY, json.dumps(dict(params), sort_keys=True, default=str))
        info.add_text(INFOTEXT_KEY, format_infotext(params, pil.size))
    buf = io.BytesIO()
    pil.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def save_image(path: str | os.PathLike, image, params: Mapping[str, Any] | None = None) -> Path:
    """Save an image as PNG, atomically, with `params` (prompt, seed, ...) in its text chunks
    (`png_bytes`)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidArgument("out", "a path ending in .png", str(path))
    atomic_write_bytes(path, png_bytes(image, params))
    return path


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` at width×height without distortion: cropped (centred) to that aspect, then scaled;
    nearest neighbour when both sides scale by the same whole factor, up or down (the built-in
    world's flat shapes stay crisp, and a whole-factor upscale scales back exactly), else Lanczos."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    if w * height != h * width:  # crop the longer side to the target's aspect
        if w * height > h * width:
            cw, ch = round(h * width / height), h
        else:
            cw, ch = w, round(w * height / width)
        left, top = (w - cw) // 2, (h - ch) // 2
        image = image.crop((left, top, left + cw, top + ch))
        w, h = image.size
    up, down = width // w if width >= w else 0, w // width if w >= width else 0
    whole = (up and up * w == width and up * h == height) or (
        down and down * width == w and down * height == h
    )
    return image.resize((width, height), Image.NEAREST if whole else Image.LANCZOS)


def load_image(path: str | os.PathLike, *, name: str = "image") -> Image.Image:
    """Open an image file as RGB, with a clear error if it is missing or unreadable."""
    path = _existing_file(path, name)
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except Exception as e:
        raise GenlabError(f"{name}: cannot read image {path} ({type(e).__name__}: {e})") from None


def params_xmp(params: Mapping[str, Any]) -> bytes:
    """`params` as an XMP packet (the JSON in a genlab:params element): how a file without PNG
    text chunks (an animated WebP video) carries them; `read_params` reads them back."""
    text = escape(json.dumps(dict(params), sort_keys=True, default=str))
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
        f' xmlns:genlab="urn:genlab:params:1"><genlab:{PARAMS_KEY}>{text}</genlab:{PARAMS_KEY}>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def read_params(path: str | os.PathLike) -> dict[str, Any] | None:
    """Generation parameters stored in an image: genlab's JSON chunk (PNG), its XMP packet
    (`params_xmp`, e.g. a WebP video), else an A1111 `parameters` infotext (genlab's or another
    tool's) parsed; None if there are none."""
    path = _existing_file(path, "image")
    try:
        with Image.open(path) as im:
            chunks = dict(getattr(im, "text", {}) or {})
            xmp = im.info.get("xmp") or b""
    except Exception as e:  # PIL raises many types for broken files
        raise GenlabError(f"image: cannot read {path} ({type(e).__name__}: {e})") from None
    if chunks.get(PARAMS_KEY):
        return json.loads(chunks[PARAMS_KEY])
    if xmp:
        if isinstance(xmp, bytes):
            xmp = xmp.decode("utf-8", "replace")
        found = re.search(rf"<genlab:{PARAMS_KEY}>(.*?)</genlab:{PARAMS_KEY}>", xmp, re.S)
        if found:
            return json.loads(unescape(found.group(1)))
    if chunks.get(INFOTEXT_KEY):
        return parse_infotext(chunks[INFOTEXT_KEY])
    return None


def image_grid(images, ncols: int | None = None, pad: int = 2, scale: int = 1) -> Image.Image:
    """Tile images (tensors, arrays or PIL) into one PIL grid, optionally upscaled (nearest)."""
    pils = [to_pil(im) for im in images]
    if not pils:
        raise InvalidArgument("images", "at least one image", 0)
    w, h = pils[0].size
    ncols = ncols or int(np.ceil(np.sqrt(len(pils))))
    nrows = int(np.ceil(len(pils) / ncols))
    grid = Image.new("RGB", (ncols * (w + pad) + pad, nrows * (h + pad) + pad), (255, 255, 255))
    for i, im in enumerate(pils):
        r, c = divmod(i, ncols)
        grid.paste(im.resize((w, h)), (pad + c * (w + pad), pad + r * (h + pad)))
    if scale != 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    return grid
