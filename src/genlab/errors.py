"""Errors genlab raises for bad input: one clear line that names the argument and what was expected.

The CLI turns every `GenlabError` into `genlab: error: <message>` and exit code 2 (no traceback);
library users can catch `ValueError` as usual, since argument errors subclass it.
"""

from __future__ import annotations

import math
import os
import re


class GenlabError(Exception):
    """Base class for errors caused by the user's input or environment, not by a bug."""


class InvalidArgument(GenlabError, ValueError):
    """An argument has a value genlab cannot use; the message says which and what was expected."""

    def __init__(self, name: str, expected: str, got: object = None, *, hint: str | None = None):
        message = f"{name}: expected {expected}"
        if got is not None:
            message += f", got {got!r}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
        self.name, self.expected, self.got, self.hint = name, expected, got, hint

    def renamed(self, name: str) -> InvalidArgument:
        """The same error naming the argument as a face calls it (`--steps`, `options.seed`)."""
        return InvalidArgument(name, self.expected, self.got, hint=self.hint)


class NotFound(GenlabError, LookupError):
    """A named thing (model, image id, file) does not exist; the message lists what does."""


class Unavailable(GenlabError):
    """A capability this setup does not have (e.g. no text-to-video model is bundled or
    configured); the message says what still works. Callers decide on the type, not the text."""


class CheckpointError(GenlabError):
    """A checkpoint file is corrupt, truncated or not a genlab checkpoint."""


class StorageError(GenlabError):
    """Where genlab keeps things cannot be written: read-only, not permitted, or (`full`) out of
    space. The server answers 503 (507 when full); the CLI says so in one line."""

    def __init__(self, message: str, *, full: bool = False):
        super().__init__(message)
        self.full = full


def check_choice(name: str, value: str, choices) -> str:
    """Return `value` if it is one of `choices`, else raise InvalidArgument listing them."""
    choices = list(choices)
    if value not in choices:
        raise InvalidArgument(name, "one of " + ", ".join(map(str, choices)), value)
    return value


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """Return `value` if it is an integer (not a bool) in low..high (either end open when None),
    else raise InvalidArgument saying so: the one integer check every argument goes through."""
    if low is not None and high is not None:
        expected = f"an integer in {low}..{high}"
    elif low is not None:
        expected = f"an integer ≥ {low}"
    elif high is not None:
        expected = f"an integer ≤ {high}"
    else:
        expected = "an integer"
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise InvalidArgument(name, expected, value)
    return value


def check_range(name: str, value, low=None, high=None, *, low_open=False, high_open=False):
    """Check low <= value <= high (or < with *_open); NaN is always rejected."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidArgument(name, "a number", value)
    if low is not None and (value <= low if low_open else value < low):
        raise InvalidArgument(name, f"a value {'>' if low_open else '≥'} {low}", value)
    if high is not None and (value >= high if high_open else value > high):
        raise InvalidArgument(name, f"a value {'<' if high_open else '≤'} {high}", value)
    return value


_REASONS = {
    400: "bad request",
    401: "authentication failed",
    403: "forbidden",
    404: "not found",
    408: "timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "unavailable",
    504: "gateway timeout",
}


def remote_error_summary(status: int, body: object = None) -> str:
    """A remote service's error, summarised: `HTTP 401 (authentication failed, invalid_api_key)`.

    The remote's own words are never repeated (they reach event streams and history, and a
    remote may say anything); only its status and, when it gives one, an identifier-like error
    type or code (`rate_limit_exceeded`, `content_policy_violation`) are kept.
    """
    parts = [_REASONS.get(int(status), "server error" if int(status) >= 500 else "error")]
    err = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(err, dict):
        for key in ("code", "type", "name"):
            value = err.get(key)
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,47}", value):
                parts.append(value)
                break
    return f"HTTP {int(status)} ({', '.join(parts)})"


_FULL_ERRNOS = {28, 122}  # ENOSPC, EDQUOT
_SQLITE_NOT_WRITABLE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")


def storage_error(e: BaseException, where: str, path=None) -> StorageError | None:
    """The StorageError that `e` (an OSError or sqlite3 error raised while writing `where`, on the
    file system of `path`) means, or None when it is not about storage (a bug, a missing row)."""
    if isinstance(e, StorageError):
        return e
    name = getattr(e, "sqlite_errorname", None)
    if name is not None:
        # SQLite reports a full disk as SQLITE_FULL, or (growing its WAL index) as an I/O error.
        if name.startswith("SQLITE_FULL") or (name.startswith("SQLITE_IOERR") and _no_space(path)):
            return StorageError(f"{where}: the disk is full ({e})", full=True)
        if name.startswith(_SQLITE_NOT_WRITABLE):
            return StorageError(f"{where}: cannot be written ({e})")
        return None
    if isinstance(e, OSError) and e.errno is not None:
        if e.errno in _FULL_ERRNOS:
            return StorageError(f"{where}: the disk is full ({e.strerror})", full=True)
        return StorageError(f"{where}: cannot be written ({e.strerror})")
    return None


def _no_space(path, reserve: int = 1 << 20) -> bool:
    """Whether the file system holding `path` has less than `reserve` bytes left for a user."""
    if path is None:
        return False
    try:
        fs = os.statvfs(path)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < reserve
