"""One way to spread rendering over processes, for every corpus and clip cache that needs it."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator


def spawn_map(fn: Callable, jobs: list, workers: int) -> Iterator:
    """fn(job) for each job, in order, as a generator: in this process for one worker or one job,
    else over a pool of up to `workers` "spawn" processes (safe next to CUDA), ended on exit.
    `fn` must be a module-level function (it is pickled by name)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return

    with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap(fn, jobs)
