"""Image folders with captions: `name.png` + `name.txt` side by side, or a `metadata.jsonl` with
{"file_name": ..., "text": ...} lines (the Hugging Face imagefolder convention); nested folders too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from torch.utils.data import Dataset

from genlab.data.shards import CAPTION_KEYS, IMAGE_EXTENSIONS, RawSample, decode_image
from genlab.errors import GenlabError, InvalidArgument

METADATA_FILE = "metadata.jsonl"


class ImageFolder(Dataset):
    """Every image file under `root` (sorted by path) with its caption.

    The caption comes from a `metadata.jsonl` line naming the file (in the image's folder or an
    ancestor, "file_name" relative to that folder; the "text" or "caption" column), else from
    `name.txt` beside the image, else None. Problems never stop the listing; they are counted in
    `skipped`: "unreadable caption" (a .txt that is not UTF-8: the sample is dropped) and
    "bad metadata line" (a line that is not a JSON object with a file_name).

    Item i: {"image": float (3, H, W) in [-1, 1] (size×size if given), "caption": str, "key": str}.
    """

    def __init__(self, root: str | Path, *, size: int | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidArgument("source", "a folder of images", str(root))
        self.size = size
        self.skipped: Counter = Counter()
        captions = self._metadata_captions()
        self.items: list[tuple[Path, str | None]] = []
        for path in sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS):
            if not path.is_file():
                continue
            caption = captions.get(path.resolve())
            if caption is None:
                txt = path.with_suffix(".txt")
                if txt.is_file():
                    try:
                        caption = txt.read_bytes().decode("utf-8")
                    except (UnicodeDecodeError, OSError):
                        self.skipped["unreadable caption"] += 1
                        continue
            self.items.append((path, caption))
        if not self.items:
            raise GenlabError(f"source: no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}")

    def _metadata_captions(self) -> dict[Path, str]:
        captions: dict[Path, str] = {}
        for meta in sorted(self.root.rglob(METADATA_FILE)):
            try:
                lines = meta.read_text(encoding="utf-8").splitlines()
            except (UnicodeDecodeError, OSError):
                self.skipped["bad metadata line"] += 1
                continue
            for line in lines:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    name = row["file_name"]
                    text = next(row[k] for k in CAPTION_KEYS if isinstance(row.get(k), str))
                except (json.JSONDecodeError, KeyError, TypeError, StopIteration):
                    self.skipped["bad metadata line"] += 1
                    continue
                captions[(meta.parent / name).resolve()] = text
        return captions

    def __len__(self) -> int:
        return len(self.items)

    def key(self, index: int) -> str:
        return self.items[index][0].relative_to(self.root).with_suffix("").as_posix()

    def raw(self, index: int) -> RawSample:
        path, caption = self.items[index]
        return RawSample(self.key(index), path.read_bytes(), path.suffix.lower(), caption)

    def iter_raw(self) -> Iterator[RawSample]:
        return (self.raw(i) for i in range(len(self)))

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        path, caption = self.items[index]
        image = decode_image(path.read_bytes(), self.size, name=str(path))
        return {"image": image, "caption": caption or "", "key": self.key(index)}
