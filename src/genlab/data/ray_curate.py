"""The Ray engine of `genlab data prepare`: reading (world scenes render on the workers), decoding,
filters, captions and hashes as a Ray Data pipeline; its results arrive in source order, so the
driver's dedup and shard writer keep exactly the samples the local engine keeps.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import numpy as np

from genlab.cluster import ray_init
from genlab.data.curate import WorldSource, _process, _Result, world_raw_sample
from genlab.data.shards import RawSample

CHUNK = 4096  # raw samples a driver-read source hands to Ray at a time (bounded memory)
BATCH = 64  # samples per Ray Data batch


def ray_results(src, config, captioner, address: str | None = None) -> Iterator:
    """curate._Result for every sample of `src`, in order, computed by Ray Data workers."""
    ray = ray_init(address, None if address else config.workers)
    process = {"config": config, "captioner": captioner}
    if isinstance(src, WorldSource):  # nothing to read: the workers render their own scenes
        ds = ray.data.range(src.n).map_batches(
            _render_world, fn_kwargs={"size": src.size, "seed": src.seed}, batch_size=BATCH
        )
        yield from _rows(ds.map_batches(_process_batch, fn_kwargs=process, batch_size=BATCH))
        return
    samples = enumerate(src.iter_raw())
    while chunk := list(itertools.islice(samples, CHUNK)):
        items = [_raw_row(i, s) for i, s in chunk]
        ds = ray.data.from_items(items).map_batches(
            _process_batch, fn_kwargs=process, batch_size=BATCH
        )
        yield from _rows(ds)


def _raw_row(index: int, s: RawSample) -> dict:
    return {
        "index": index,
        "key": s.key,
        "data": s.data,
        "ext": s.ext,
        "caption": s.caption,
        "meta": json.dumps(s.meta),
    }


def _render_world(batch: dict, size: int, seed: int) -> dict:
    """Rows of world scenes batch["id"], as WorldSource.iter_raw gives them."""
    rows = [_raw_row(int(i), world_raw_sample(int(i), size, seed)) for i in batch["id"]]
    return {k: [r[k] for r in rows] for k in rows[0]}


def _process_batch(batch: dict, config, captioner) -> dict:
    results = []
    for i in range(len(batch["index"])):
        sample = RawSample(
            str(batch["key"][i]),
            bytes(batch["data"][i]),
            str(batch["ext"][i]),
            batch["caption"][i],
            json.loads(batch["meta"][i]),
        )
        results.append(_process((int(batch["index"][i]), sample, config, captioner)))
    return {
        "index": np.array([r.index for r in results], np.int64),
        "key": [r.key for r in results],
        "reason": [r.reason for r in results],
        "png": [r.png for r in results],
        "width": np.array([r.width for r in results], np.int64),
        "height": np.array([r.height for r in results], np.int64),
        "hash": [str(r.hash) for r in results],  # up to 768 bits: more than any numpy integer
        "caption": [r.caption for r in results],
        "caption_source": [r.caption_source for r in results],
        "meta": [json.dumps(r.meta) for r in results],
    }


def _rows(ds) -> Iterator:
    for row in ds.iter_rows():
        yield _Result(
            index=int(row["index"]),
            key=row["key"],
            reason=row["reason"],
            png=row["png"] or b"",
            width=int(row["width"]),
            height=int(row["height"]),
            hash=int(row["hash"]),
            caption=row["caption"],
            caption_source=row["caption_source"],
            meta=json.loads(row["meta"]),
        )
