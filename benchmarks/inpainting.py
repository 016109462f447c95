"""Inpainting one object into an empty cell: is the named object drawn where the mask is?

For N seeded world scenes of one object, a second object's description ("a red star") is
inpainted into a free grid cell whose square is the mask; the scene parser then looks for that
object in that cell, and for the first object where it was. Case i uses seed i, 20 DPM-Solver++
steps, the model's guidance. A two-stage model (a layout planner) is measured twice: as `edit`
draws by default (the prompt's plan moved into the masked cell) and from the text alone
(`plan_layout=False`).

    python benchmarks/inpainting.py --n 200 --models world-t2i world-t2i-layout --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from genlab.world.spec import GRID


def cases(n: int, size: int, seed: int = 0) -> list[dict]:
    """n inpainting problems: the scene's image, the mask of a free cell, the prompt, the cell."""
    from genlab.world import render
    from genlab.world.sample import sample_scene

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        scene = sample_scene(rng, n_objects=1)
        asked = sample_scene(rng, n_objects=1).objects[0]  # what to add: its color and shape
        used = {(o.row, o.col) for o in scene.objects}
        free = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in used]
        cell = free[int(rng.integers(len(free)))]
        mask = np.zeros((size, size), np.uint8)
        r0, r1 = cell[0] * size // GRID, -(-(cell[0] + 1) * size // GRID)
        c0, c1 = cell[1] * size // GRID, -(-(cell[1] + 1) * size // GRID)
        mask[r0:r1, c0:c1] = 255
        out.append({"image": render(scene, size), "mask": mask, "kept": scene.objects[0],
                    "prompt": f"a {asked.color} {asked.shape}", "asked": asked, "cell": cell})  # fmt: skip
    return out


def _has(objects, color: str, shape: str, cell) -> bool:
    return any(
        o.color == color and o.shape == shape and (o.row, o.col) == tuple(cell) for o in objects
    )


def measure(pipe, problems: list[dict], steps: int, **edit_kw) -> dict:
    from genlab.world.parser import parse_image

    added = kept = 0
    start = time.perf_counter()
    for i, p in enumerate(problems):
        image = pipe.edit(p["image"], p["prompt"], mask=p["mask"], seed=i,
                          num_inference_steps=steps, **edit_kw).images[0]  # fmt: skip
        found = parse_image(np.asarray(image)).objects
        added += _has(found, p["asked"].color, p["asked"].shape, p["cell"])
        k = p["kept"]
        kept += _has(found, k.color, k.shape, (k.row, k.col))
    n = len(problems)
    return {"added": added / n, "kept": kept / n, "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["world-t2i", "world-t2i-layout"])
    p.add_argument("--n", type=int, default=200, help="inpainting problems")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)
    if args.n < 1 or args.steps < 1:
        p.error("--n and --steps: integers ≥ 1")

    import genlab

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = {}
    for name in args.models:
        pipe = genlab.load(name, device="cpu")
        size = pipe.image_size
        problems = cases(args.n, size)
        ways = [(name, {})]
        if getattr(pipe, "layout_planner", None) is not None:
            ways = [(f"{name} (plan in the mask)", {}),
                    (f"{name} (text only)", {"plan_layout": False})]  # fmt: skip
        for label, kw in ways:
            rows[label] = measure(pipe, problems, args.steps, **kw)
            r = rows[label]
            print(f"{label}: object added in its cell {r['added']:.3f}, first object kept"
                  f" {r['kept']:.3f} ({args.n} problems, {r['seconds']:.0f} s)", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps({"n": args.n, "steps": args.steps, "rows": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
