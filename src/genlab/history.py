"""The history of everything genlab made: runs (generations, agent sessions), their steps and images,
in one SQLite database shared by the CLI, the agent and the web server.

Layout: `runs` (one per request), `steps` (an agent's transcript, appended as it happens, so a crash
loses nothing) and `images` (one PNG each under the images folder, with its parameters inside the
PNG and in the row). Every write goes through `HistoryStore._write()`: one `BEGIN IMMEDIATE`
transaction under a process lock, WAL mode so readers never block the writer.

    store = HistoryStore()                                   # genlab.paths.history_db()
    run_id = store.add_run("agent", "a red circle", model="world-t2i", backend="offline")
    rec = store.add_image(pil_image, {"prompt": "...", "seed": 0}, run_id=run_id, model="world-t2i")
    store.append_step(run_id, {"type": "tool_call", ...})
    store.finish_run(run_id, status="done", score=1.0, stop_reason="all satisfied")
    page = store.list_runs(page=1, per_page=20, query="circle")
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from PIL import Image

from genlab import paths
from genlab.errors import (
    GenlabError,
    InvalidArgument,
    NotFound,
    StorageError,
    check_int,
    storage_error,
)
from genlab.io import atomic_path, save_image

SCHEMA_VERSION = 1
# "interrupted": the process running it died (or stopped) first; a server can submit it again
RUN_STATUSES = ("running", "done", "failed", "stopped", "interrupted")
MEDIA_KINDS = ("image", "video")
MAX_PER_PAGE = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,            -- 'generate', 'agent', 'edit', 'video', ...
    request     TEXT NOT NULL,            -- the prompt or the user's request, as typed
    status      TEXT NOT NULL,
    backend     TEXT,
    model       TEXT,
    params      TEXT NOT NULL DEFAULT '{}',
    score       REAL,
    stop_reason TEXT,
    result      TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    created     REAL NOT NULL,
    finished    REAL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE TABLE IF NOT EXISTS steps (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    data    TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS images (
    id              TEXT PRIMARY KEY,
    run_id          TEXT REFERENCES runs(id) ON DELETE SET NULL,
    parent_id       TEXT,                 -- the image an edit started from
    kind            TEXT NOT NULL,        -- 'image' or 'video'
    path            TEXT NOT NULL,
    prompt          TEXT NOT NULL DEFAULT '',
    negative_prompt TEXT,
    seed            INTEGER,
    model           TEXT,
    params          TEXT NOT NULL DEFAULT '{}',
    score           REAL,
    width           INTEGER,
    height          INTEGER,
    created         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS images_run ON images(run_id);
CREATE INDEX IF NOT EXISTS images_created ON images(created);
"""


def new_id() -> str:
    """A short random id (12 hex digits): unique enough for one user's history, easy to type."""
    return uuid.uuid4().hex[:12]


@dataclass
class ImageRecord:
    """One stored image (or video file) and the parameters that made it."""

    id: str
    path: str
    kind: str = "image"
    run_id: str | None = None
    parent_id: str | None = None
    prompt: str = ""
    negative_prompt: str | None = None
    seed: int | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    width: int | None = None
    height: int | None = None
    created: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    """One request: a plain generation or an agent session, with its outcome."""

    id: str
    kind: str
    request: str
    status: str
    backend: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    stop_reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created: float = 0.0
    finished: float | None = None
    num_images: int = 0
    steps: list[dict[str, Any]] | None = None  # filled by get_run
    images: list[ImageRecord] | None = None  # filled by get_run

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.images is not None:
            d["images"] = [im.to_dict() for im in self.images]
        return d


@dataclass
class Page:
    """One page of a listing; `total` counts every match, not only this page."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [it.to_dict() for it in self.items],
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.Lock:
    """One lock per database file in this process: every store on it shares the writer path."""
    key = str(Path(path).resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


class HistoryStore:
    """Runs, steps and images in SQLite (WAL) plus PNG files; safe to share between threads.

    `path` defaults to `genlab.paths.history_db()`; images go to `images_dir`, by default
    `genlab.paths.images_dir()` for the default database, else an `images/` folder beside `path`.
    """

    def __init__(self, path: str | Path | None = None, images_dir: str | Path | None = None):
        if path is None:
            self.path = paths.history_db()
            default_images = paths.images_dir()
        else:
            self.path = Path(path)
            default_images = self.path.parent / "images"
        self.images_dir = Path(images_dir) if images_dir is not None else default_images
        with _storage(f"history folder {self.path.parent}", self.path.parent.parent):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _writer_lock(self.path)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise GenlabError(
                    f"{self.path}: history schema version {version} is newer than this genlab "
                    f"understands ({SCHEMA_VERSION}); upgrade genlab"
                )
        try:
            with self._write() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except StorageError:
            if version != SCHEMA_VERSION:
                raise
            # A complete store that cannot be written still opens, for reading; writes say why.

    # ------------------------------------------------------------------ connections

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per operation: cheap for SQLite and safe across threads.
        with _storage(f"history database {self.path}", self.path.parent):
            conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute(
                    "PRAGMA synchronous=NORMAL"
                )  # WAL + NORMAL: atomic, no fsync per commit
                yield conn
            finally:
                conn.close()

    def reader(self):
        """A short-lived connection for reads (other tables in this database use it too)."""
        return self._connect()

    def writer(self):
        """The one writer path of this database file, for other tables in it too."""
        return self._write()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The one writer path: an immediate transaction, committed whole or rolled back whole.
        Every store on the same file shares one lock, so writes queue in-process."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ------------------------------------------------------------------ runs

    def add_run(
        self,
        kind: str,
        request: str,
        *,
        backend: str | None = None,
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        status: str = "running",
    ) -> str:
        """Record a new run and return its id."""
        if not isinstance(kind, str) or not kind:
            raise InvalidArgument("kind", "a non-empty string", kind)
        if not isinstance(request, str):
            raise InvalidArgument("request", "a string", request)
        _check_status(status)
        run_id = new_id()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, kind, request, status, backend, model, params, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, request, status, backend, model, _dumps(params or {}), time.time()),
            )
        return run_id

    def append_step(self, run_id: str, step: Mapping[str, Any]) -> int:
        """Append one transcript step (a JSON-able dict) to a run; returns its index."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            idx = conn.execute(
                "SELECT COALESCE(MAX(idx), -1) + 1 FROM steps WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO steps (run_id, idx, data, created) VALUES (?, ?, ?, ?)",
                (run_id, idx, _dumps(step), time.time()),
            )
        return idx

    def finish_run(
        self,
        run_id: str,
        *,
        status: str = "done",
        score: float | None = None,
        stop_reason: str | None = None,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Close a run with its outcome (status one of RUN_STATUSES)."""
        _check_status(status)
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                "UPDATE runs SET status = ?, score = ?, stop_reason = ?, result = ?, error = ?,"
                " finished = ? WHERE id = ?",
                (
                    status,
                    None if score is None else float(score),
                    stop_reason,
                    _dumps(result or {}),
                    error,
                    time.time(),
                    run_id,
                ),
            )

    def update_run_result(self, run_id: str, updates: Mapping[str, Any]) -> None:
        """Set keys of a run's result (a value of None removes its key), its status and times
        unchanged: e.g. which run resubmitted an interrupted one."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            row = conn.execute("SELECT result FROM runs WHERE id = ?", (run_id,)).fetchone()
            result = dict(json.loads(row[0]), **updates)
            result = {k: v for k, v in result.items() if v is not None}
            conn.execute("UPDATE runs SET result = ? WHERE id = ?", (_dumps(result), run_id))

    def get_run(self, run_id: str, *, with_steps: bool = True) -> RunRecord:
        """A run with its images (and its transcript steps unless with_steps=False)."""
        with self._connect() as conn:
            row = conn.execute(_RUN_SELECT + " WHERE r.id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(f"run: no run with id {run_id!r} in {self.path}")
            run = _run_from_row(row)
            run.images = [
                _image_from_row(r)
                for r in conn.execute(
                    "SELECT * FROM images WHERE run_id = ? ORDER BY created, rowid", (run_id,)
                )
            ]
            if with_steps:
                run.steps = [
                    json.loads(r["data"])
                    for r in conn.execute(
                        "SELECT data FROM steps WHERE run_id = ? ORDER BY idx", (run_id,)
                    )
                ]
        return run

    def list_runs(
        self,
        page: int = 1,
        per_page: int = 20,
        query: str | None = None,
        kind: str | None = None,
        status: str | None = None,
    ) -> Page:
        """Runs, newest first; `query` matches the request text (case-insensitive substring),
        `kind` and `status` keep runs of that kind and status."""
        if status:
            _check_status(status)
        filters = [
            ("r.request LIKE ? ESCAPE '\\'", query and _like(query)),
            ("r.kind = ?", kind),
            ("r.status = ?", status),
        ]
        return self._page(_RUN_SELECT, "runs r", "r.", filters, page, per_page, _run_from_row)

    def delete_run(self, run_id: str, *, delete_files: bool = True) -> None:
        """Remove a run, its steps and its images (and their files unless delete_files=False)."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            files = [
                r[0] for r in conn.execute("SELECT path FROM images WHERE run_id = ?", (run_id,))
            ]
            conn.execute("DELETE FROM images WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if delete_files:
            for f in files:
                Path(f).unlink(missing_ok=True)

    def delete_images(self, run_id: str) -> int:
        """Remove a run's images (rows, then files) and keep the run: what a re-run replaces."""
        with self._write() as conn:
            files = [
                r[0] for r in conn.execute("SELECT path FROM images WHERE run_id = ?", (run_id,))
            ]
            conn.execute("DELETE FROM images WHERE run_id = ?", (run_id,))
        for f in files:
            Path(f).unlink(missing_ok=True)
        return len(files)

    def remove_orphan_files(self, older_than: float = 5.0) -> int:
        """Delete files of the images folder that no row records: the file a process wrote just
        before it was killed, ahead of its row. Only files older than `older_than` seconds go
        (another process's file may be between its write and its row). Returns how many."""
        if not self.images_dir.is_dir():
            return 0
        with self._connect() as conn:
            # By file name (the image's unique id): rows may spell their folder differently.
            recorded = {Path(r[0]).name for r in conn.execute("SELECT path FROM images")}
        cutoff, removed = time.time() - older_than, 0
        for path in self.images_dir.rglob("*"):
            if path.is_file() and path.name not in recorded and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    # ------------------------------------------------------------------ images

    def add_image(
        self,
        image,
        params: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        parent_id: str | None = None,
        model: str | None = None,
        score: float | None = None,
    ) -> ImageRecord:
        """Save `image` (PIL, tensor or array) as PNG with `params` inside, and record it.

        `params` should hold what regenerates the image (prompt, negative_prompt, seed,
        num_inference_steps, guidance_scale, sampler, model, ...). The file is written first
        and removed again if the database refuses the row, so no orphan either way.
        """
        params = dict(params or {})
        model = model or params.get("model")
        if model is not None:
            params.setdefault("model", model)
        image_id = new_id()
        params["image_id"] = image_id
        out = self.images_dir / time.strftime("%Y%m%d") / f"{image_id}.png"
        with _storage(f"images folder {self.images_dir}", self.images_dir):
            save_image(out, image, params)  # atomic: whole or not there

        with Image.open(out) as im:
            width, height = im.size
        return self._insert_image(
            image_id, out, "image", params, run_id, parent_id, model, score, width, height
        )

    def add_file(
        self,
        source: str | Path,
        params: Mapping[str, Any] | None = None,
        *,
        kind: str = "video",
        run_id: str | None = None,
        parent_id: str | None = None,
        model: str | None = None,
        score: float | None = None,
    ) -> ImageRecord:
        """Copy an already written media file (a video, a GIF) into the images folder and record it."""
        source = Path(source)
        if not source.is_file():
            raise InvalidArgument("source", "an existing file", str(source))
        if kind not in MEDIA_KINDS:
            raise InvalidArgument("kind", "one of " + ", ".join(MEDIA_KINDS), kind)
        params = dict(params or {})
        model = model or params.get("model")
        image_id = new_id()
        out = self.images_dir / time.strftime("%Y%m%d") / f"{image_id}{source.suffix.lower()}"
        with _storage(f"images folder {self.images_dir}", self.images_dir), atomic_path(out) as tmp:
            shutil.copyfile(source, tmp)  # whole or not there
        return self._insert_image(
            image_id, out, kind, params, run_id, parent_id, model, score, None, None
        )

    def _insert_image(
        self, image_id, out, kind, params, run_id, parent_id, model, score, width, height
    ) -> ImageRecord:
        seed = params.get("seed")
        record = ImageRecord(
            id=image_id,
            path=str(out),
            kind=kind,
            run_id=run_id,
            parent_id=parent_id,
            prompt=str(params.get("prompt") or ""),
            negative_prompt=params.get("negative_prompt"),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            model=model,
            params=params,
            score=None if score is None else float(score),
            width=width,
            height=height,
            created=time.time(),
        )
        try:
            with self._write() as conn:
                if run_id is not None:
                    self._require_run(conn, run_id)
                if (
                    parent_id is not None
                    and not conn.execute(
                        "SELECT 1 FROM images WHERE id = ?", (parent_id,)
                    ).fetchone()
                ):
                    raise NotFound(f"image: no image with id {parent_id!r} (parent_id)")
                conn.execute(
                    "INSERT INTO images (id, run_id, parent_id, kind, path, prompt, negative_prompt,"
                    " seed, model, params, score, width, height, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.run_id,
                        record.parent_id,
                        record.kind,
                        record.path,
                        record.prompt,
                        record.negative_prompt,
                        record.seed,
                        record.model,
                        _dumps(record.params),
                        record.score,
                        record.width,
                        record.height,
                        record.created,
                    ),
                )
        except BaseException:
            Path(out).unlink(missing_ok=True)
            raise
        return record

    def set_image_score(self, image_id: str, score: float | None) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE images SET score = ? WHERE id = ?",
                (None if score is None else float(score), image_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"image: no image with id {image_id!r} in {self.path}")

    def get_image(self, image_id: str) -> ImageRecord:
        """The record of one image; NotFound (naming the id) if there is none."""
        if not isinstance(image_id, str) or not image_id:
            raise InvalidArgument("image_id", "a non-empty image id", image_id)
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise NotFound(f"image: no image with id {image_id!r} in {self.path}")
        return _image_from_row(row)

    def list_images(
        self,
        page: int = 1,
        per_page: int = 20,
        query: str | None = None,
        run_id: str | None = None,
        kind: str | None = None,
    ) -> Page:
        """Images, newest first; `query` matches the prompt (case-insensitive substring)."""
        filters = [
            ("prompt LIKE ? ESCAPE '\\'", query and _like(query)),
            ("run_id = ?", run_id),
            ("kind = ?", kind),
        ]
        select = "SELECT * FROM images"
        return self._page(select, "images", "", filters, page, per_page, _image_from_row)

    def _page(self, select, table, prefix, filters, page, per_page, from_row) -> Page:
        """One page of `select` (FROM `table`, columns named with `prefix`), newest first, where
        every (condition, value) of `filters` whose value is given holds."""
        _check_page(page, per_page)
        given = [(cond, value) for cond, value in filters if value]
        clause = (" WHERE " + " AND ".join(c for c, _ in given)) if given else ""
        args = [value for _, value in given]
        with self._connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM {table}{clause}", args).fetchone()[0]
            rows = conn.execute(
                f"{select}{clause} ORDER BY {prefix}created DESC, {prefix}rowid DESC"
                " LIMIT ? OFFSET ?",
                [*args, per_page, (page - 1) * per_page],
            ).fetchall()
        return Page([from_row(r) for r in rows], total, page, per_page)

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            return {
                "runs": conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
                "images": conn.execute("SELECT COUNT(*) FROM images").fetchone()[0],
            }

    # ------------------------------------------------------------------ helpers

    def _require_run(self, conn: sqlite3.Connection, run_id: str) -> None:
        if not conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
            raise NotFound(f"run: no run with id {run_id!r} in {self.path}")


_RUN_SELECT = (
    "SELECT r.*, (SELECT COUNT(*) FROM images i WHERE i.run_id = r.id) AS num_images FROM runs r"
)


@contextlib.contextmanager
def _storage(where: str, path: Path) -> Iterator[None]:
    """Turn a write refused by the disk (read-only, not permitted, full) into a StorageError."""
    try:
        yield
    except Exception as e:
        error = storage_error(e, where, path)
        if error is None or error is e:
            raise
        raise error from None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise InvalidArgument("status", "one of " + ", ".join(RUN_STATUSES), status)


def _check_page(page: int, per_page: int) -> None:
    check_int("page", page, 1)
    check_int("per_page", per_page, 1, MAX_PER_PAGE)


def _record(cls, row: sqlite3.Row, json_columns: tuple[str, ...]):
    """A record dataclass from its table's row: each field from its column (JSON ones decoded);
    fields with no column (a run's steps and images, filled by get_run) keep their default."""
    columns = set(row.keys())
    values = {f.name: row[f.name] for f in fields(cls) if f.name in columns}
    return cls(**values | {k: json.loads(values[k]) for k in json_columns})


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    return _record(RunRecord, row, ("params", "result"))


def _image_from_row(row: sqlite3.Row) -> ImageRecord:
    return _record(ImageRecord, row, ("params",))
