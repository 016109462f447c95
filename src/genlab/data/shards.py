"""WebDataset tar shards (`key.png`, `key.txt`, `key.json` per sample): a writer that renames each
shard into place only when complete, and a reader that skips and counts incomplete samples.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from genlab.errors import GenlabError, InvalidArgument
from genlab.io import atomic_path, to_tensor

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
CAPTION_KEYS = ("text", "caption")  # the Hugging Face imagefolder convention's usual columns


@dataclass
class RawSample:
    """One item on its way through curation: the encoded image bytes, not yet decoded, so workers
    can find corrupt files; `caption` None means the source had none; `meta` is free JSON."""

    key: str
    data: bytes
    ext: str  # image file extension, with the dot: ".png"
    caption: str | None = None
    meta: dict = field(default_factory=dict)


def _sample_key(name: str) -> tuple[str, str]:
    """WebDataset's rule: the key is the member path up to the first dot of its base name."""
    directory, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    key = f"{directory}/{stem}" if directory else stem
    return key, (dot + ext).lower()


# --------------------------------------------------------------------------- writing


class ShardWriter:
    """Writes samples into OUT/PREFIX-000000.tar, ... with at most `max_count` samples each.

    Each shard is written to a temporary file and renamed when it is complete, so a crash never
    leaves a half-written shard under a real name. Use as a context manager; `shards` lists
    {"name", "count", "bytes"} of every finished shard.
    """

    def __init__(self, out_dir: str | Path, prefix: str = "shard", max_count: int = 1000):
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
            raise InvalidArgument("shard_size", "an integer ≥ 1", max_count)
        self.out_dir, self.prefix, self.max_count = Path(out_dir), prefix, max_count
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.shards: list[dict] = []
        self._tar: tarfile.TarFile | None = None
        self._ctx = None
        self._count = 0

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc_type, exc, tb)

    def _open(self) -> None:
        name = f"{self.prefix}-{len(self.shards):06d}.tar"
        self._name = name
        self._ctx = atomic_path(self.out_dir / name)
        tmp = self._ctx.__enter__()
        self._tar = tarfile.open(tmp, "w")  # noqa: SIM115 (stays open across write() calls)
        self._count = 0

    def _finish(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        size = Path(self._tar.name).stat().st_size
        self._ctx.__exit__(None, None, None)  # renames the temporary file into place
        self.shards.append({"name": self._name, "count": self._count, "bytes": size})
        self._tar, self._ctx = None, None

    def _abort(self, *exc_info) -> None:
        if self._tar is not None:
            self._tar.close()
            self._ctx.__exit__(*exc_info)  # removes the temporary file
            self._tar, self._ctx = None, None

    def write(self, key: str, image: bytes, caption: str, meta: dict | None = None, ext=".png"):
        if self._tar is None:
            self._open()
        members = [(ext, image), (".txt", caption.encode("utf-8"))]
        if meta is not None:
            members.append((".json", json.dumps(meta, sort_keys=True).encode("utf-8")))
        now = time.time()
        for suffix, data in members:
            info = tarfile.TarInfo(f"{key}{suffix}")
            info.size, info.mtime, info.mode = len(data), now, 0o644
            self._tar.addfile(info, io.BytesIO(data))
        self._count += 1
        if self._count >= self.max_count:
            self._finish()

    def close(self) -> list[dict]:
        self._finish()
        return self.shards


# --------------------------------------------------------------------------- reading


def shard_paths(source: str | Path | Iterable) -> list[Path]:
    """Tar paths from a directory (its *.tar, sorted), one .tar file, or a list of either."""
    if not isinstance(source, str | Path):
        return [p for s in source for p in shard_paths(s)]
    path = Path(source)
    if path.is_dir():
        paths = sorted(path.glob("*.tar"))
    elif path.is_file() and path.suffix == ".tar":
        paths = [path]
    else:
        paths = sorted(path.parent.glob(path.name)) if any(c in path.name for c in "*?[") else []
    if not paths:
        raise InvalidArgument("shards", "a .tar shard, a folder of shards or a glob", str(source))
    return paths


@dataclass
class _Entry:
    shard: int
    key: str
    image: tarfile.TarInfo
    caption: tarfile.TarInfo | None
    meta: tarfile.TarInfo | None


class ShardDataset(Dataset):
    """Map-style dataset over complete samples of WebDataset shards: item i is {"image": float
    (3, H, W) in [-1, 1], "caption": str, "key": str}. A sample needs an image member and a
    caption (a .txt member, or "text"/"caption" in its .json); others are skipped and counted in
    `skipped` ("missing image", "missing caption"; a damaged tar counts once as "truncated shard")."""

    def __init__(self, source, *, size: int | None = None):
        self.paths = shard_paths(source)
        self.size = size
        self.skipped: Counter = Counter()
        self.entries: list[_Entry] = []
        for i, path in enumerate(self.paths):
            self._index(i, path)
        if not self.entries:
            raise GenlabError(f"shards: no complete samples in {len(self.paths)} shard(s)")

    def _index(self, i: int, path: Path) -> None:
        groups: dict[str, dict[str, tarfile.TarInfo]] = {}
        file_size, truncated = path.stat().st_size, False
        try:
            with tarfile.open(path, "r") as tar:
                for info in tar:
                    if info.offset_data + info.size > file_size:  # cut off: drop the member
                        truncated = True
                        continue
                    if info.isfile():
                        key, ext = _sample_key(info.name)
                        groups.setdefault(key, {})[ext] = info
                end = tar.offset  # after the last member tarfile could read
            with open(path, "rb") as f:  # a complete tar ends with ≥ 2 zero blocks of 512 bytes
                f.seek(end)
                tail = f.read()
                truncated = truncated or len(tail) < 1024 or any(tail)
        except (tarfile.TarError, OSError, EOFError):
            truncated = True  # keep what was indexed before the damage
        if truncated:
            self.skipped["truncated shard"] += 1
        for key, members in groups.items():
            image = next((members[e] for e in IMAGE_EXTENSIONS if e in members), None)
            if image is None:
                self.skipped["missing image"] += 1
                continue
            caption, meta = members.get(".txt"), members.get(".json")
            if caption is None and meta is None:
                self.skipped["missing caption"] += 1
                continue
            self.entries.append(_Entry(i, key, image, caption, meta))

    def __len__(self) -> int:
        return len(self.entries)

    def raw(self, index: int) -> RawSample:
        """The sample's bytes, caption and JSON metadata, undecoded."""
        e = self.entries[index]
        with tarfile.open(self.paths[e.shard], "r") as tar:
            return _read_entry(tar, e)

    def iter_raw(self) -> Iterator[RawSample]:
        """All samples in order, opening each shard once (faster than raw(i) per sample)."""
        by_shard: dict[int, list[_Entry]] = {}
        for e in self.entries:
            by_shard.setdefault(e.shard, []).append(e)
        for shard, entries in by_shard.items():
            with tarfile.open(self.paths[shard], "r") as tar:
                for e in entries:
                    yield _read_entry(tar, e)

    def __getitem__(self, index: int) -> dict:
        sample = self.raw(int(index))
        return {
            "image": decode_image(sample.data, self.size, name=sample.key),
            "caption": sample.caption or "",
            "key": sample.key,
        }


def _read_entry(tar: tarfile.TarFile, e: _Entry) -> RawSample:
    try:
        meta = json.loads(tar.extractfile(e.meta).read()) if e.meta else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = {}  # unreadable metadata: the sample still has its image and caption
    if not isinstance(meta, dict):
        meta = {}
    if e.caption is not None:
        caption = tar.extractfile(e.caption).read().decode("utf-8", errors="replace")
    else:
        caption = next((meta[k] for k in CAPTION_KEYS if isinstance(meta.get(k), str)), None)
    ext = "." + e.image.name.rpartition("/")[2].partition(".")[2].lower()
    return RawSample(e.key, tar.extractfile(e.image).read(), ext, caption, meta)


def decode_image(data: bytes, size: int | None = None, *, name: str = "image") -> torch.Tensor:
    """Encoded bytes -> float (3, H, W) in [-1, 1], resized to size×size if given."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
    except Exception as e:
        raise GenlabError(f"{name}: cannot decode image ({type(e).__name__}: {e})") from None
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    return to_tensor(im)


def read_manifest(out_dir: str | Path) -> dict:
    """The manifest.json `genlab data prepare` writes beside its shards."""
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        raise InvalidArgument(
            "shards", "a folder with manifest.json (from genlab data prepare)", str(out_dir)
        )
    return json.loads(path.read_text())
