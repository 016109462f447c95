"""Where the Trainer's batches come from: a deterministic, position-addressed index stream split
into shards per rank and micro-batch, so resume needs only the step and any world size agrees.

Step s covers global samples [s·B, (s+1)·B) of an endless sequence of seeded epoch permutations;
that global batch is cut into world_size × grad_accum equal shards, one per (micro-step, rank).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from genlab.errors import InvalidArgument


class BatchSource:
    """A dataset addressed by sample index: `length` (None = endless) and `fetch(indices)`.

    `prefetch = True` lets the Trainer fetch step s+1's batch on a background thread while step s
    runs (the GPU waits less on host work). Only for sources whose fetch is a pure function of
    the indices (no global RNG) and may run on another thread; one fetch runs at a time.
    """

    length: int | None = None
    prefetch: bool = False

    def fetch(self, indices: torch.Tensor) -> Any:
        raise NotImplementedError


class TensorSource(BatchSource):
    """Batches indexed out of in-memory tensors (which may live on the GPU: no loader, no copies).

    `tensors` is a dict of equal-length tensors; a batch is the same dict, indexed.
    """

    def __init__(self, tensors: dict[str, torch.Tensor]):
        lengths = {len(t) for t in tensors.values()}
        if len(lengths) != 1:
            raise InvalidArgument("tensors", "tensors of equal length", sorted(lengths))
        self.tensors = tensors
        self.length = lengths.pop()

    def fetch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: t[indices.to(t.device)] for k, t in self.tensors.items()}


class DatasetSource(BatchSource):
    """Batches from a map-style dataset (`ds[i]`); a dataset without `len` is treated as endless
    and read in order (index i is then the i-th sample, e.g. the scene rendered from seed i)."""

    def __init__(self, dataset, collate: Callable | None = None):
        self.dataset = dataset
        self.collate = collate or torch.utils.data.default_collate
        try:
            self.length = len(dataset)
        except TypeError:
            self.length = None

    def fetch(self, indices: torch.Tensor) -> Any:
        return self.collate([self.dataset[int(i)] for i in indices])


class IndexStream:
    """Global sample indices by position: epoch e is `randperm(N)` seeded by (seed, e)."""

    def __init__(self, length: int | None, seed: int, shuffle: bool = True):
        if length is not None and length < 1:
            raise InvalidArgument("dataset", "at least one sample", length)
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            if self.shuffle:
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._perms[epoch] = torch.randperm(self.length, generator=gen)
            else:
                self._perms[epoch] = torch.arange(self.length)
        return self._perms[epoch]

    def indices(self, start: int, count: int) -> torch.Tensor:
        """Indices of global positions [start, start + count)."""
        if self.length is None:
            return torch.arange(start, start + count)
        out, pos = [], start
        while pos < start + count:
            epoch, offset = divmod(pos, self.length)
            take = min(self.length - offset, start + count - pos)
            out.append(self._perm(epoch)[offset : offset + take])
            pos += take
        return torch.cat(out)


def shard_of(global_indices: torch.Tensor, micro: int, rank: int, world_size: int, accum: int):
    """The slice of a global batch that `rank` reads at micro-step `micro` (equal shards)."""
    n_shards = world_size * accum
    size = len(global_indices) // n_shards
    shard = micro * world_size + rank
    return global_indices[shard * size : (shard + 1) * size]
