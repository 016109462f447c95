"""Latent cache speed-up: one latent text-to-image training step (forward, backward, AdamW) reading
cached latents vs encoding the batch's images with the KL autoencoder each step.

    .venv/bin/python benchmarks/cache_speedup.py --n 256 --batch-size 32 --steps 10 --threads 1
    .venv/bin/python benchmarks/cache_speedup.py --recipe world-t2i-latent-64-cpu --batch-size 64

With --recipe, the step is that latent CPU recipe's (genlab/train/recipes/image.py): its denoiser,
text encoder, image size and autoencoder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="world images to render and cache")
    parser.add_argument("--batch-size", type=int, default=32, help="images per training step")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--autoencoder",
        default=None,
        help="bundled name or checkpoint (default: the recipe's, else world-kl-f4); an untrained "
        "kl-world-f4 if it is not there",
    )
    parser.add_argument(
        "--recipe", default=None, help="a latent CPU recipe whose training step is timed"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from genlab.data.cache import LatentCache, build_cache
    from genlab.data.curate import CurationConfig, WorldSource, prepare
    from genlab.errors import NotFound
    from genlab.models import create_model
    from genlab.models.autoencoder_kl import load_autoencoder
    from genlab.train import RecipeOptions, TensorSource, list_recipes
    from genlab.train.latent import LATENT_T2I, build_latent_t2i

    latent = {n: r for n, r in list_recipes().items() if r.family is LATENT_T2I and "cpu" in n}
    if args.recipe is not None:
        if args.recipe not in latent:
            parser.error(f"--recipe: expected one of {', '.join(latent)}, got {args.recipe!r}")
        spec = latent[args.recipe].resolve()
    else:
        spec = list_recipes()["world-t2i-latent"].resolve()
    ae_name = args.autoencoder or spec.autoencoder
    try:
        ae = load_autoencoder(ae_name)
    except NotFound:
        torch.manual_seed(0)
        ae, ae_name = create_model("kl-world-f4").eval(), "kl-world-f4 (untrained)"
    tmp = Path(tempfile.mkdtemp(prefix="cache-bench-"))
    options = RecipeOptions(data_size=args.n, out_dir=str(tmp / "run"), progress=False)
    job = build_latent_t2i("bench", spec, options, ae)  # renders n scenes
    task = job.task
    world = WorldSource(args.n, size=spec.image_size)  # n scenes of that size as PNG samples
    prepare(world, tmp / "shards", CurationConfig(workers=1, dedup=False), progress=False)
    t0 = time.perf_counter()
    tokenizer = task.text_encoder.tokenizer
    build_cache(tmp / "shards", ae, tmp / "c.safetensors", tokenizer=tokenizer, progress=False)
    cache_s = time.perf_counter() - t0
    cache = LatentCache.load(tmp / "c.safetensors", autoencoder=ae)
    sources = {
        "encode each step": job.data,  # uint8 images + tokens in memory
        "cached latents": TensorSource(
            {"latents": cache.latents, "tokens": job.data.tensors["tokens"]}
        ),
    }
    params = [p for m in task.modules().values() for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(0)
    step_times: dict[str, list[float]] = {name: [] for name in sources}
    # Interleaved (A, B, A, B, ...) and summarised by the median: on a shared CPU the load drifts,
    # and interleaving spreads that drift over both variants equally.
    for step in range(args.steps + 1):
        for name, source in sources.items():
            batch = source.fetch(torch.randint(0, args.n, (args.batch_size,), generator=g))
            t0 = time.perf_counter()
            loss, _ = task.training_step(batch, "main")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step:  # the first round warms up and is not timed
                step_times[name].append(time.perf_counter() - t0)
    times = {name: float(np.median(ts)) for name, ts in step_times.items()}

    print(f"autoencoder {ae_name}; denoiser {spec.denoiser} {spec.denoiser_overrides}; "
          f"{spec.image_size} px images; batch {args.batch_size}; {args.threads} thread(s); "
          f"cache of {args.n} images built in {cache_s:.1f} s")  # fmt: skip
    print("| training step | median seconds/step | images/s |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {args.batch_size / t:.0f} |")
    speedup = times["encode each step"] / times["cached latents"]
    print(f"speed-up with the cache: {speedup:.2f}×")


if __name__ == "__main__":
    main()
