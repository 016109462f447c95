"""`genlab eval --engine ray`: the image sets of an evaluation drawn by Ray actors, each loading
the model once; chunks and seeds are the local Sampler's, so the sets (and metrics) are its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from PIL import Image

import genlab.eval.reference  # noqa: F401  (registers world-oracle)
from genlab.cluster import ray_cpus, ray_init
from genlab.errors import GenlabError
from genlab.eval.report import Sampler
from genlab.pipelines.registry import load as load_pipeline


class RaySampler(Sampler):
    """A Sampler whose `image_set` chunks run on `workers` Ray actors (default: one per CPU of
    the cluster); single calls (the size probe) stay in this process."""

    def __init__(
        self,
        pipe,
        name: str,
        *,
        device: str | None = None,
        address: str | None = None,
        workers: int | None = None,
    ):
        super().__init__(pipe, name)
        self.device = device
        self.ray = ray_init(address, None if address else workers)
        self.workers = workers or ray_cpus()

    def draw_chunks(
        self, chunks: list[list[str]], per_caption: int, seeds: list[int], kw: dict
    ) -> Iterator[tuple[list[Image.Image], list]]:
        jobs = [
            {"order": j, "captions": c, "seed": s} for j, (c, s) in enumerate(zip(chunks, seeds))
        ]
        if not jobs:
            return
        t0 = time.perf_counter()
        ds = self.ray.data.from_items(jobs).map_batches(
            ChunkDrawer,
            fn_constructor_kwargs={
                "name": self.name,
                "device": self.device,
                "per_caption": per_caption,
                "kw": kw,
            },
            batch_size=1,
            concurrency=min(self.workers, len(jobs)),
        )
        rows = iter(ds.iter_rows())  # in job order, each job's images in order
        for job in jobs:
            want = len(job["captions"]) * per_caption
            images, job_seeds = [], []
            for _ in range(want):
                row = next(rows, None)
                if row is None or int(row["order"]) != job["order"]:
                    raise GenlabError(f"ray: chunk {job['order']} did not get its {want} images")
                images.append(Image.fromarray(np.asarray(row["image"])))
                job_seeds.append(None if row["seed"] < 0 else int(row["seed"]))
            self.images_generated += len(images)
            self.seconds = self.seconds + (time.perf_counter() - t0)
            t0 = time.perf_counter()
            yield images, job_seeds


class ChunkDrawer:
    """A Ray actor's worker: loads the model by name once, draws chunks as Sampler.__call__."""

    def __init__(self, name: str, device: str | None, per_caption: int, kw: dict):
        pipe = load_pipeline(name, **({"device": device} if device else {}))
        self.sampler, self.per_caption, self.kw = Sampler(pipe, name), per_caption, kw

    def __call__(self, batch: dict) -> dict:
        out: dict[str, list] = {"order": [], "image": [], "seed": []}
        for order, captions, seed in zip(batch["order"], batch["captions"], batch["seed"]):
            captions = [str(c) for c in captions]
            prompt = captions if self.sampler.takes_lists else captions[0]
            images = self.sampler(prompt, self.per_caption, int(seed), **self.kw)
            for image, s in zip(images, self.sampler.last_seeds):
                out["order"].append(int(order))
                out["image"].append(np.asarray(image.convert("RGB")))
                out["seed"].append(-1 if s is None else int(s))
        return out
