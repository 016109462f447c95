"""Batch generation: every prompt of a file, K images each, under stable file names with a JSONL
index (prompt → files); in this process, or sharded over Ray workers that load the model once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from genlab.cluster import check_engine, ray_cpus, ray_init
from genlab.errors import GenlabError, InvalidArgument
from genlab.io import atomic_write_text, save_image, to_pil
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.text_diffusion import compile_pays
from genlab.progress import progress_bar

INDEX_FILE = "index.jsonl"


def read_prompts(path: str | Path) -> list[str]:
    """The prompts of a text file, one a line (blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument("--from-file", "a text file with one prompt a line", str(path))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GenlabError(f"--from-file: cannot read {path} ({e})") from None
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise InvalidArgument("--from-file", "a file with at least one prompt", str(path))
    return prompts


def image_names(index: int, prompt: str, n: int) -> list[str]:
    """File names of prompt `index`'s n images: the line number, the prompt's first words, k.
    They depend on nothing else (not the seed, the engine or the worker): a rerun overwrites."""
    slug = "-".join(re.findall(r"[a-z0-9]+", prompt.lower())[:6]) or "image"
    return [f"{index:05d}-{slug}-{k}.png" for k in range(n)]


def prompt_seed(seed: int, index: int, n: int) -> int:
    """Prompt `index` draws its n images from seeds prompt_seed … + n − 1: distinct everywhere."""
    return seed + index * n


def generate_batch(
    model: str,
    prompts: list[str],
    out_dir: str | Path,
    *,
    n: int = 1,
    seed: int = 0,
    generation: dict[str, Any] | None = None,
    device: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    compile: bool | None = None,
) -> list[dict]:
    """Draw `n` images of every prompt into `out_dir` and write `out_dir/index.jsonl`, one line a
    prompt: {"index", "prompt", "seed", "files"}; return those rows.

    `generation` holds further pipeline arguments (steps, guidance, sampler, ...). engine "ray"
    spreads the prompts over `workers` Ray actors (default: one per CPU of the cluster), each
    loading `model` once; the images equal the local engine's (same seeds, same calls).
    `progress` shows a bar over the prompts drawn (genlab.progress: after 2 s). `compile`:
    torch.compile each drawer's denoiser first (None: where it pays for the images a drawer
    draws, `genlab.pipelines.text_diffusion.compile_pays`; a model without one stays eager).
    """
    check_engine(engine, ray_address)
    if n < 1:
        raise InvalidArgument("--n", "an integer ≥ 1", n)
    if workers is not None and workers < 1:
        raise InvalidArgument("--workers", "an integer ≥ 1", workers)
    out_dir = Path(out_dir)
    if out_dir.suffix:
        raise InvalidArgument("--out", "a directory for a batch (--from-file)", str(out_dir))
    jobs = [
        {"index": i, "prompt": p, "seed": prompt_seed(seed, i, n)} for i, p in enumerate(prompts)
    ]
    call = {"num_images": n, **(generation or {})}
    if engine == "ray":
        results = _ray_images(model, jobs, call, device, ray_address, workers, compile)
    else:
        results = _local_images(model, jobs, call, device, compile)
    rows = []
    bar = progress_bar(results, total=len(jobs), desc="prompts", unit="prompt", enabled=progress)
    for job, images, params in bar:
        names = image_names(job["index"], job["prompt"], n)
        if len(images) != n:
            raise GenlabError(f"model {model!r} drew {len(images)} images, not {n}")
        for image, meta, name in zip(images, params, names):
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                save_image(out_dir / name, image, meta)
            except OSError as e:
                raise GenlabError(
                    f"--out: cannot write {out_dir / name} ({e.strerror or e})"
                ) from e
        rows.append({**job, "files": names})
    atomic_write_text(out_dir / INDEX_FILE, "".join(json.dumps(r) + "\n" for r in rows))
    return rows


class PromptDrawer:
    """Loads a model once and draws jobs with it: the local loop's and each Ray actor's worker."""

    def __init__(
        self,
        model: str,
        call: dict,
        device: str | None,
        compile: bool | None = False,
        images: int = 0,
    ):
        """`compile`: torch.compile the denoiser first (None: if it pays for the `images` this
        drawer will draw; models without a denoiser stay eager either way)."""
        self.pipe = load_pipeline(model, **({"device": device} if device else {}))
        self.call = call
        if compile is None:
            steps = call.get("num_inference_steps")
            compile = compile_pays(self.pipe, images, steps)
        if compile and hasattr(self.pipe, "compile"):
            self.pipe.compile()

    def draw(self, job: dict) -> tuple[list[np.ndarray], list[dict]]:
        result = self.pipe(job["prompt"], seed=job["seed"], **self.call)
        images = [np.asarray(to_pil(im).convert("RGB")) for im in result.images]
        params = list(result.metadata or [{}] * len(images))
        return images, params

    def __call__(self, batch: dict) -> dict:
        """Ray Data: one row per job in, one row per image out."""
        out: dict[str, list] = {"index": [], "k": [], "image": [], "params": []}
        for index, prompt, seed in zip(batch["index"], batch["prompt"], batch["seed"]):
            images, params = self.draw({"prompt": str(prompt), "seed": int(seed)})
            for k, (image, meta) in enumerate(zip(images, params)):
                out["index"].append(int(index))
                out["k"].append(k)
                out["image"].append(image)
                out["params"].append(json.dumps(meta, default=str))
        return out


def _local_images(
    model: str, jobs: list[dict], call: dict, device: str | None, compile: bool | None = False
) -> Iterator:
    drawer = PromptDrawer(model, call, device, compile, len(jobs) * call["num_images"])
    for job in jobs:
        images, params = drawer.draw(job)
        yield job, images, params


def _ray_images(
    model: str,
    jobs: list[dict],
    call: dict,
    device: str | None,
    address: str | None,
    workers: int | None,
    compile: bool | None = False,
) -> Iterator:
    ray = ray_init(address, None if address else workers)
    actors = min(workers or ray_cpus(), len(jobs))
    share = -(-len(jobs) // actors) * call["num_images"]  # the images one actor draws, at most
    ds = ray.data.from_items(jobs).map_batches(
        PromptDrawer,
        fn_constructor_kwargs={
            "model": model,
            "call": call,
            "device": device,
            "compile": compile,
            "images": share,
        },  # fmt: skip
        batch_size=1,
        concurrency=actors,
    )
    rows = iter(ds.iter_rows())  # in job order, each job's images in order
    n_images = call["num_images"]
    for job in jobs:
        images, params = [], []
        for _ in range(n_images):
            row = next(rows, None)
            if row is None or int(row["index"]) != job["index"]:
                raise GenlabError(f"ray: prompt {job['index']} did not get its {n_images} images")
            images.append(np.asarray(row["image"]))
            params.append(json.loads(row["params"]))
        yield job, images, params
