"""Data curation: read a source (image folder, shards, MNIST IDX, the world), filter, deduplicate,
clean and re-caption in a process pool (or on Ray: data/ray_curate.py), then write WebDataset
shards with a manifest of counts.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from genlab.cluster import check_engine, ray_init
from genlab.data.folders import ImageFolder
from genlab.data.mnist import MNISTDataset
from genlab.data.shards import RawSample, ShardDataset, ShardWriter
from genlab.data.world import world_item
from genlab.errors import GenlabError, InvalidArgument, check_choice
from genlab.io import atomic_write_text
from genlab.world import canonical_caption, parse_image, render

# Removal reasons, in the order the steps run; the report lists every one (0 when it removed none).
REASONS = (
    "corrupt",
    "too small",
    "aspect ratio",
    "no caption",
    "caption length",
    "near duplicate",
    "low quality",
)
RECAPTION_MODES = ("off", "missing", "all")

# --------------------------------------------------------------------------- captions

_BOILERPLATE = [
    r"<[^>]+>",  # HTML tags
    r"https?://\S+|www\.\S+",  # links
    r"\b[\w-]+\.(?:jpe?g|png|gif|webp|bmp|tiff?)\b",  # file names: IMG_1234.jpg
    r"\b(?:IMG|DSC|DSCN|DCIM|PXL|MVIMG)[_-]?\d+\b",  # camera names without extension
    r"\bclick (?:here )?to (?:enlarge|zoom|view|see more)\b",
    r"\b(?:stock (?:photo|image)|royalty[- ]free|all rights reserved|image may contain:?)",
    r"\b(?:no description available|untitled|placeholder)\b",
]
_BOILERPLATE_RE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE), re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_EDGE_JUNK = " \t\n-–—|:;,·•*_~"  # separators left at the ends once boilerplate is cut out


def clean_caption(text: str | None) -> str | None:
    """Strip boilerplate (file names like "IMG_1234.jpg", "click to enlarge", links, HTML), HTML
    entities and extra whitespace; None when nothing meaningful is left."""
    if text is None:
        return None
    text = html.unescape(text)
    text = _BOILERPLATE_RE.sub(" ", text)
    text = _SPACE_RE.sub(" ", text).strip(_EDGE_JUNK)
    return text if re.search(r"[^\W\d_]", text) else None  # at least one letter


def world_captioner(image) -> str | None:
    """The world's scene parser (genlab.world.parse_image) + canonical caption; None if the image
    does not parse as a valid world scene."""
    scene = parse_image(np.asarray(image.convert("RGB"))).to_scene()
    return canonical_caption(scene) if scene is not None else None


CAPTIONERS: dict[str, Callable] = {"world": world_captioner}


# --------------------------------------------------------------------------- settings


@dataclass
class CurationConfig:
    """Which steps run and their thresholds; None or False switches a step off."""

    min_size: int | None = 8  # shorter side in pixels
    max_aspect: float | None = 2.0  # longer side / shorter side
    dedup: bool = True
    # Near duplicates: a HASHES name and the largest Hamming distance that counts as a copy.
    # Chosen by benchmarks/dedup_hashes.py on 1000 world scenes and copies of 200 of them
    # (results in benchmarks/results/dedup_hashes.json): a 64-bit pHash merges distinct small
    # scenes at any threshold (128 of 1000 at 0, 323 at 4); 256 bits at 4 merge 2 and find every
    # exact copy and most 2× upscales (see docs/data.md).
    dedup_hash: str = "phash16"
    dedup_threshold: int = 4
    clean_captions: bool = True
    min_caption_words: int = 1
    max_caption_words: int = 64
    recaption: str = "off"  # "off", "missing" (only samples without a usable caption), "all"
    captioner: str = "world"  # a CAPTIONERS name (the Python API also takes a callable)
    quality_threshold: float | None = None  # keep samples whose quality score is ≥ this
    resize: int | None = None  # store images as size×size (None: as they are)
    shard_size: int = 1000
    workers: int | None = None  # processes (None: every CPU, at most 8; 1: this process)

    def validate(self) -> None:
        for name in ("min_size", "resize"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InvalidArgument(name, "an integer ≥ 1 or None", v)
        if self.max_aspect is not None and not self.max_aspect >= 1:
            raise InvalidArgument("max_aspect", "a ratio ≥ 1 or None", self.max_aspect)
        check_choice("dedup_hash", self.dedup_hash, HASHES)
        t, bits = self.dedup_threshold, HASH_BITS[self.dedup_hash]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= bits:
            raise InvalidArgument(
                "dedup_threshold", f"a Hamming distance in [0, {bits}]", self.dedup_threshold
            )
        if not 0 <= self.min_caption_words <= self.max_caption_words:
            raise InvalidArgument(
                "caption words", "0 ≤ min ≤ max", (self.min_caption_words, self.max_caption_words)
            )
        check_choice("recaption", self.recaption, RECAPTION_MODES)
        if self.workers is not None and self.workers < 1:
            raise InvalidArgument("workers", "an integer ≥ 1", self.workers)


@dataclass
class _Result:
    """What a worker returns for one sample: the kept image (PNG) or the reason it was removed."""

    index: int
    key: str
    reason: str | None = None
    png: bytes = b""
    width: int = 0
    height: int = 0
    hash: int = 0  # the perceptual hash (config.dedup_hash)
    caption: str | None = None
    caption_source: str = "original"  # "original", "cleaned" or "recaptioned"
    meta: dict = field(default_factory=dict)


def _process(job) -> _Result:
    """Worker: decode, size and aspect filters, resize, hash, clean and (re)caption one sample."""
    index, sample, config, captioner = job
    out = _Result(index, sample.key, meta=sample.meta)
    try:
        with Image.open(io.BytesIO(sample.data)) as im:
            im.load()
            image = im.convert("RGB")
    except Exception:
        out.reason = "corrupt"
        return out
    w, h = image.size
    if config.min_size is not None and min(w, h) < config.min_size:
        out.reason = "too small"
        return out
    if config.max_aspect is not None and max(w, h) / min(w, h) > config.max_aspect:
        out.reason = "aspect ratio"
        return out
    if config.resize is not None and image.size != (config.resize, config.resize):
        image = image.resize((config.resize, config.resize), Image.BICUBIC)
    caption = sample.caption
    if config.clean_captions and caption is not None:
        cleaned = clean_caption(caption)
        if cleaned != caption.strip():
            out.caption_source = "cleaned"
        caption = cleaned
    if caption is not None and not caption.strip():
        caption = None
    if config.recaption == "all" or (config.recaption == "missing" and caption is None):
        new = captioner(image)
        if new:
            caption, out.caption_source = new, "recaptioned"
    if caption is None:
        out.reason = "no caption"
        return out
    words = len(caption.split())
    if not config.min_caption_words <= words <= config.max_caption_words:
        out.reason = "caption length"
        return out
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    out.png, (out.width, out.height), out.caption = buf.getvalue(), image.size, caption
    if config.dedup:
        out.hash = HASHES[config.dedup_hash](image)
    return out


def _bits(h) -> int:
    """An imagehash.ImageHash as an int (its bits, row-major)."""
    return int.from_bytes(np.packbits(np.asarray(h.hash, bool).ravel()).tobytes(), "big")


def _per_channel(fn, image, **kw) -> int:
    """`fn` (an imagehash function) on R, G and B, concatenated: a luminance hash alone cannot
    tell a red circle from a green one in the same place (equal structure, same signs)."""
    out = 0
    for channel in image.convert("RGB").split():
        h = fn(channel, **kw)
        out = (out << h.hash.size) | _bits(h)
    return out


def _phash(image, size=8):
    import imagehash  # optional: the data extra

    return _bits(imagehash.phash(image, hash_size=size))


def _phash_rgb(image, size=8):
    import imagehash  # optional: the data extra

    return _per_channel(imagehash.phash, image, hash_size=size)


def _dhash_rgb(image, size=8):
    import imagehash  # optional: the data extra

    return _per_channel(imagehash.dhash, image, hash_size=size)


# name -> function(PIL image) -> int (imagehash on the image); benchmarks/dedup_hashes.py
# measures them
HASHES: dict[str, Callable] = {
    "phash": _phash,  # 64-bit DCT hash of the luminance (pHash, Zauner 2010)
    "phash16": lambda im: _phash(im, 16),  # 256 bits
    "phash-rgb": _phash_rgb,  # 3 × 64 bits
    "phash16-rgb": lambda im: _phash_rgb(im, 16),  # 3 × 256 bits
    "dhash-rgb": _dhash_rgb,  # 3 × 64 bits of horizontal gradients
}
HASH_BITS = {"phash": 64, "phash16": 256, "phash-rgb": 192, "phash16-rgb": 768, "dhash-rgb": 192}


def hash_distance(a: int, b: int) -> int:
    """Hamming distance of two hashes."""
    return (a ^ b).bit_count()


def _popcount64(x: np.ndarray) -> np.ndarray:
    """Bits set in each uint64 (SWAR popcount, Hacker's Delight §5-1)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


class NearDuplicateFilter:
    """Keeps the first of every group of images whose perceptual hashes differ in at most
    `threshold` bits (pHash, Zauner 2010); `is_new(hash)` remembers the hashes it accepts.
    Hashes of `bits` bits are held as rows of 64-bit words, compared all at once."""

    def __init__(self, threshold: int, bits: int = 64):
        self.threshold, self.words = threshold, -(-bits // 64)
        self.kept = np.zeros((1024, self.words), np.uint64)
        self.n = 0

    def is_new(self, hash_value: int) -> bool:
        raw = hash_value.to_bytes(self.words * 8, "big")
        h = np.frombuffer(raw, dtype=">u8").astype(np.uint64)  # (words,)
        if self.n:
            distances = _popcount64(self.kept[: self.n] ^ h).sum(axis=1)
            if distances.min() <= self.threshold:
                return False
        if self.n == len(self.kept):
            self.kept = np.concatenate([self.kept, np.zeros_like(self.kept)])
        self.kept[self.n] = h
        self.n += 1
        return True


# --------------------------------------------------------------------------- sources


def open_source(source: str | Path):
    """An object with `iter_raw()` (RawSamples), `len()` and a `skipped` Counter, for:
    "world:N" (N rendered world scenes), a folder of .tar shards or a .tar, a folder with MNIST
    IDX files, or an image folder with captions."""
    text = str(source)
    if text.startswith("world:"):
        return WorldSource(text.split(":", 1)[1])
    path = Path(source)
    if not path.exists():
        raise InvalidArgument("source", "an existing folder, .tar shard or world:N", text)
    if path.suffix == ".tar" or (path.is_dir() and any(path.glob("*.tar"))):
        return ShardDataset(path)
    if path.is_dir() and any(path.glob("*idx3-ubyte*")):
        split = "train" if any(path.glob("train-images*")) else "t10k"
        return _MNISTSource(MNISTDataset(path, split=split))
    return ImageFolder(path)


class _MNISTSource:
    def __init__(self, dataset):
        self.dataset, self.skipped = dataset, Counter()

    def __len__(self) -> int:
        return len(self.dataset)

    def iter_raw(self) -> Iterator[RawSample]:
        return self.dataset.iter_raw()


class WorldSource:
    """The first N training scenes of the world stream (genlab.data.world) as PNG samples."""

    def __init__(self, n, size: int = 32, seed: int = 0):
        try:
            self.n = int(n)
        except ValueError:
            raise InvalidArgument(
                "source", "world:N with N a number of scenes", f"world:{n}"
            ) from None
        if self.n < 1:
            raise InvalidArgument("source", "world:N with N ≥ 1", f"world:{n}")
        self.size, self.seed, self.skipped = size, seed, Counter()

    def __len__(self) -> int:
        return self.n

    def iter_raw(self) -> Iterator[RawSample]:
        for i in range(self.n):
            yield world_raw_sample(i, self.size, self.seed)


def world_raw_sample(i: int, size: int, seed: int) -> RawSample:
    """Scene i of the world stream, rendered as a PNG sample."""
    scene, text = world_item(seed, i)
    buf = io.BytesIO()
    Image.fromarray(render(scene, size)).save(buf, format="PNG")
    return RawSample(f"world-{i:07d}", buf.getvalue(), ".png", text, {"scene": scene.to_json()})


# --------------------------------------------------------------------------- the pipeline


def prepare(
    source,
    out_dir: str | Path,
    config: CurationConfig | None = None,
    *,
    captioner: Callable | None = None,
    quality: Callable | None = None,
    progress: bool = True,
    overwrite: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
) -> dict:
    """Curate `source` (a path, "world:N", or an object with iter_raw()) into WebDataset shards in
    `out_dir` plus `manifest.json`; return the manifest: counts read, removed per reason (every
    step reports, 0 included), captions changed, kept, shards and statistics.

    captioner(PIL image) -> str | None overrides config.captioner (it runs in the worker
    processes, so it must be picklable: a module-level function). quality(images, captions) ->
    scores is the quality hook (needed with config.quality_threshold; world images:
    genlab.eval.features.world_clip_quality), applied in this process.

    engine "ray" runs reading, filters, captions and hashes as a Ray Data pipeline (a local Ray,
    or the cluster at `ray_address`); dedup and the shard writer stay here, on the results in
    source order, so both engines keep the same samples in the same shards.
    """
    check_engine(engine, ray_address)
    config = config or CurationConfig()
    config.validate()
    if config.quality_threshold is not None and quality is None:
        raise InvalidArgument(
            "quality",
            "a quality(images, captions) -> scores hook with quality_threshold "
            "(genlab.eval.features.world_clip_quality scores world images)",
            None,
        )
    captioner = captioner or CAPTIONERS.get(config.captioner)
    if captioner is None:
        raise InvalidArgument("captioner", "one of " + ", ".join(CAPTIONERS), config.captioner)
    src = open_source(source) if isinstance(source, str | Path) else source
    if engine == "ray":  # join Ray before touching OUT: a missing Ray leaves it as it was
        ray_init(ray_address, None if ray_address else config.workers)
    out_dir = Path(out_dir)
    old = list(out_dir.glob("*.tar")) + list(out_dir.glob("manifest.json"))
    if old and not overwrite:
        raise InvalidArgument("out", "an empty or new folder (or overwrite)", str(out_dir))
    for p in old:
        p.unlink()

    t0 = time.monotonic()
    removed = Counter({r: 0 for r in REASONS})
    captions_changed = Counter({"cleaned": 0, "recaptioned": 0})
    dedup = None
    if config.dedup:
        dedup = NearDuplicateFilter(config.dedup_threshold, HASH_BITS[config.dedup_hash])
    stats = _Stats()
    pending: list[_Result] = []
    total = len(src) if hasattr(src, "__len__") else None
    read = 0

    with ShardWriter(out_dir, max_count=config.shard_size) as writer:

        def flush_quality():
            scores = [None] * len(pending)
            if config.quality_threshold is not None and pending:
                images = [Image.open(io.BytesIO(r.png)).convert("RGB") for r in pending]
                scores = quality(images, [r.caption for r in pending])
            for r, score in zip(pending, scores):
                if score is not None and score < config.quality_threshold:
                    removed["low quality"] += 1
                    continue
                meta = {**r.meta, "source_key": r.key, "caption_source": r.caption_source}
                if score is not None:
                    meta["quality"] = round(float(score), 4)
                writer.write(f"{stats.count:08d}", r.png, r.caption, meta)
                stats.add(r)
            pending.clear()

        bar = tqdm(total=total, desc="curating", unit="img", disable=not progress)
        if engine == "ray":
            # the Ray engine (needs ray) builds on this module's pieces: loaded for it alone
            from genlab.data.ray_curate import ray_results

            results = ray_results(src, config, captioner, ray_address)
        else:
            results = _run_workers(src.iter_raw(), config, captioner)
        for r in results:
            read += 1
            bar.update(1)
            if r.reason is not None:
                removed[r.reason] += 1
                continue
            if dedup is not None and not dedup.is_new(r.hash):
                removed["near duplicate"] += 1
                continue
            if r.caption_source != "original":
                captions_changed[r.caption_source] += 1
            pending.append(r)
            if len(pending) >= 256:
                flush_quality()
        flush_quality()
        bar.close()

    source_skipped = dict(getattr(src, "skipped", {}))
    manifest = {
        "source": str(source) if isinstance(source, str | Path) else type(source).__name__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": asdict(config),
        "engine": engine,
        "report": {
            "read": read,
            "skipped_by_source": source_skipped,
            "removed": dict(removed),
            "captions_changed": dict(captions_changed),
            "kept": stats.count,
        },
        "shards": writer.shards,
        "stats": stats.summary(),
        "seconds": round(time.monotonic() - t0, 2),
    }
    if stats.count == 0:
        raise GenlabError(
            f"prepare: no sample of {read} survived curation (removed: "
            + ", ".join(f"{k} {v}" for k, v in removed.items() if v)
            + ")"
        )
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2))
    return manifest


def _run_workers(
    samples: Iterable[RawSample], config: CurationConfig, captioner
) -> Iterator[_Result]:
    """_process over samples, in order; in a process pool unless config.workers == 1."""
    workers = config.workers or min(os.cpu_count() or 1, 8)
    jobs = ((i, s, config, captioner) for i, s in enumerate(samples))
    if workers == 1:
        yield from map(_process, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        while chunk := list(itertools.islice(jobs, 1024)):  # bounded memory for big sources
            yield from pool.map(_process, chunk, chunksize=32)


class _Stats:
    """Running statistics of the kept samples, for the manifest."""

    def __init__(self):
        self.count = 0
        self.sizes: Counter = Counter()
        self.words: list[int] = []
        self.bytes = 0

    def add(self, r: _Result) -> None:
        self.count += 1
        self.sizes[f"{r.width}x{r.height}"] += 1
        self.words.append(len(r.caption.split()))
        self.bytes += len(r.png)

    def summary(self) -> dict:
        words = np.array(self.words or [0])
        return {
            "samples": self.count,
            "image_sizes": dict(self.sizes.most_common(10)),
            "caption_words": {
                "min": int(words.min()),
                "mean": round(float(words.mean()), 2),
                "max": int(words.max()),
            },
            "image_bytes": self.bytes,
        }
