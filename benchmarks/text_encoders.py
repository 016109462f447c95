"""Text encoders compared on world captions: one recipe trained with each (same steps, seed, data
and batch), then each model's caption retrieval through its own denoiser, and how far apart each
encoder puts prompts that differ in one thing.

    python benchmarks/text_encoders.py --recipe world-t2i-cpu --tiny --steps 300 \
        --batch-size 32 --data-size 2000 --out runs/text-encoders --json results.json

Caption retrieval (the "diffusion classifier" reading, Li et al. 2023): for an image of a scene
the training never drew (seeds from 10,000 on), its canonical caption and minimal distractors,
each changing one thing (an object's color, shape, size or cell; two objects' colors swapped),
are scored by the denoiser's loss at the same 8 noise levels and noises; the caption with the
lowest loss is the model's pick. Reported: per kind, how often the true caption beats the
distractor (chance 0.5), and how often it beats all of them (chance 1 / candidates). A model can
only pick the right caption if its text conditioning tells them apart and it learned to use it.

Separation: the pooled-output cosine of minimal pairs (benchmarks/text_separation.py's PAIRS),
each encoder as its model was exported (1.0: the same prompt to the model).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

import genlab
from genlab.diffusion.objectives import Objective

ENCODERS = ("world-clip", "joint", "minilm")
TIMESTEPS = (100, 200, 300, 400, 500, 600, 700, 800)


def distractors(scene, rng) -> dict[str, object]:
    """Scenes differing from `scene` in one thing each, by kind (a kind the scene cannot vary in
    is left out)."""
    from genlab.world import spec

    objs = list(scene.objects)
    first = objs[0]
    out = {
        "color": dataclasses.replace(
            first, color=rng.choice([c for c in spec.COLORS if c != first.color])
        ),
        "shape": dataclasses.replace(
            first, shape=rng.choice([s for s in spec.SHAPES if s != first.shape])
        ),
        "size": dataclasses.replace(first, size=next(s for s in spec.SIZES if s != first.size)),
    }
    taken = {(o.row, o.col) for o in objs}
    free = [(r, c) for r in range(3) for c in range(3) if (r, c) not in taken]
    if free:
        r, c = free[rng.integers(len(free))]
        out["position"] = dataclasses.replace(first, row=int(r), col=int(c), x=None, y=None)
    scenes = {k: dataclasses.replace(scene, objects=(o, *objs[1:])) for k, o in out.items()}
    if len(objs) > 1 and objs[1].color != first.color:
        swapped = (dataclasses.replace(first, color=objs[1].color),
                   dataclasses.replace(objs[1], color=first.color), *objs[2:])  # fmt: skip
        scenes["binding"] = dataclasses.replace(scene, objects=swapped)
    return scenes


def test_items(n: int, size: int, seed: int = 10_000):
    """(image uint8 (size, size, 3), true caption, {kind: distractor caption}) for n scenes."""
    from genlab.world import canonical_caption, render, sample_scene

    rng = np.random.default_rng(seed)
    items = []
    while len(items) < n:
        scene = sample_scene(rng, n_objects=(1, 3))
        truth = canonical_caption(scene)
        others = {k: canonical_caption(s) for k, s in distractors(scene, rng).items()}
        others = {k: c for k, c in others.items() if c != truth}
        items.append((render(scene, size), truth, others))
    return items


@torch.inference_mode()
def caption_losses(pipe, image: np.ndarray, captions: list[str], seed: int) -> torch.Tensor:
    """The denoiser's mean loss for each caption at TIMESTEPS, with one noise per level, the same
    for every caption: (len(captions),)."""
    x0 = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 127.5 - 1  # (1, 3, H, W)
    T, C = len(TIMESTEPS), len(captions)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn((T, *x0.shape[1:]), generator=gen)  # (T, 3, H, W)
    t = torch.tensor(TIMESTEPS)
    x_t = pipe.schedule.add_noise(x0.expand(T, -1, -1, -1), noise, t)
    target = Objective(pipe.schedule, pipe.prediction_type).training_target(x0, noise, t)
    enc = pipe.text_encoder.encode(captions)  # (C, L, D)
    cond = {k: v.repeat_interleave(T, dim=0) for k, v in enc.cond.items()}  # caption-major
    pred = pipe.denoiser(x_t.repeat(C, 1, 1, 1), t.float().repeat(C), cond)
    err = (pred - target.repeat(C, 1, 1, 1)).pow(2).reshape(C, T, -1).mean(-1)  # (C, T)
    return err.mean(1)


def retrieval(pipe, items) -> dict:
    pairwise: dict[str, list[bool]] = {}
    best = []
    for i, (image, truth, others) in enumerate(items):
        kinds = list(others)
        losses = caption_losses(pipe, image, [truth] + [others[k] for k in kinds], seed=i)
        for j, kind in enumerate(kinds, start=1):
            pairwise.setdefault(kind, []).append(bool(losses[0] < losses[j]))
        best.append(bool(losses.argmin() == 0))
    out = {k: round(float(np.mean(v)), 3) for k, v in sorted(pairwise.items())}
    out["pairwise_all"] = round(float(np.mean([x for v in pairwise.values() for x in v])), 3)
    out["top1"] = round(float(np.mean(best)), 3)
    out["top1_chance"] = round(float(np.mean([1 / (1 + len(o)) for _, _, o in items])), 3)
    out["n_images"] = len(items)
    return out


@torch.inference_mode()
def separation(pipe) -> dict:
    import importlib.util

    path = Path(__file__).with_name("text_separation.py")
    spec = importlib.util.spec_from_file_location("text_separation", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out: dict[str, list[float]] = {}
    for kind, a, b in mod.PAIRS:
        if kind.startswith("motion"):
            continue
        pooled = pipe.text_encoder.encode([a, b]).pooled
        out.setdefault(kind, []).append(float(torch.cosine_similarity(*pooled, dim=0)))
    return {k: round(float(np.mean(v)), 3) for k, v in out.items()}


def main(argv=None) -> int:
    from genlab.train import RecipeOptions, run_recipe

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", default="world-t2i-cpu")
    ap.add_argument("--encoders", nargs="+", default=list(ENCODERS))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--data-size", type=int, default=2000)
    ap.add_argument("--tiny", action="store_true", help="the recipe's tiny models (16 px)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", type=int, default=200, help="test scenes for retrieval")
    ap.add_argument("--out", default="runs/text-encoders")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    results = {"command": "python benchmarks/text_encoders.py " + " ".join(argv or []),
               "settings": vars(args), "encoders": {}}  # fmt: skip
    for name in args.encoders:
        out = Path(args.out) / name
        t0 = time.monotonic()
        options = RecipeOptions(
            steps=args.steps, batch_size=args.batch_size, data_size=args.data_size,
            tiny=args.tiny, seed=args.seed, out_dir=str(out), text_encoder=name,
            progress=False, save_every_minutes=0, device="cpu",
        )  # fmt: skip
        summary = run_recipe(args.recipe, options)
        train_s = time.monotonic() - t0
        pipe = genlab.load(summary["model"], device="cpu")
        items = test_items(args.images, pipe.image_size)
        row = {
            "train_s": round(train_s, 1),
            "final_loss": round(summary["last_logs"].get("loss", float("nan")), 4),
            "retrieval": retrieval(pipe, items),
            "separation_pooled_cosine": separation(pipe),
        }
        results["encoders"][name] = row
        print(name, json.dumps(row), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
