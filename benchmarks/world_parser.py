"""Scene parser accuracy per attribute on freshly rendered world scenes (clean, noisy, blurred) at
32 and 64 px, and the renderer's speed. Usage: python benchmarks/world_parser.py [--n 2000]

Accuracy per attribute: shape / color / size over true objects (the parsed object nearest the true
center, within half a cell); position = the object is found in its grid cell; count = scenes with
the right number of objects; relation = ordered object pairs whose relations (left of, right of,
above, below) read from the parsed centers equal the true ones; scene = everything right.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from genlab.world import parse_image, render, sample_scene
from genlab.world.match import Found, _holds
from genlab.world.render import degrade
from genlab.world.spec import RELATIONS, relation_between

ATTRIBUTES = ("shape", "color", "size", "position", "count", "relation", "background", "scene")
CONDITIONS = {
    "clean": dict(noise=0.0, blur=0.0),
    "noise": dict(noise=6.0, blur=0.0),
    "blur": dict(noise=0.0, blur=0.5),
    "noise+blur": dict(noise=6.0, blur=0.5),
    "blur1.0": dict(noise=0.0, blur=1.0),  # stronger than "mild": a stress row, no target
}
SEED_OFFSET = 1_000_000  # scenes never used by tests or training seeds 0..N


def score_scenes(args: tuple) -> dict[str, list[int]]:
    """(correct, total) per attribute over scenes [start, stop) under one condition."""
    start, stop, size, condition = args
    tally = {a: [0, 0] for a in ATTRIBUTES}
    rng = np.random.default_rng(start)
    for seed in range(start, stop):
        scene = sample_scene(SEED_OFFSET + seed, exclude_held_out=False)
        image = render(scene, size)
        if condition != "clean":
            image = degrade(image, rng, **CONDITIONS[condition])
        parsed = parse_image(image)
        matched = []
        for o in scene.objects:
            cx, cy = o.center
            near = [p for p in parsed.objects if math.dist(p.center, (cx, cy)) < 1 / 6]
            p = min(near, key=lambda p: math.dist(p.center, (cx, cy))) if near else None
            matched.append(p)
            for attr in ("shape", "color", "size"):
                tally[attr][0] += p is not None and getattr(p, attr) == getattr(o, attr)
                tally[attr][1] += 1
            tally["position"][0] += p is not None and (p.row, p.col) == (o.row, o.col)
            tally["position"][1] += 1
        for i, a in enumerate(scene.objects):
            for j, b in enumerate(scene.objects):
                if i == j:
                    continue
                pa, pb = matched[i], matched[j]
                ok = False
                if pa is not None and pb is not None:
                    fa, fb = (Found(p.shape, p.color, p.size, *p.center) for p in (pa, pb))
                    ok = {r for r in RELATIONS if _holds(r, fa, fb)} == set(relation_between(a, b))
                tally["relation"][0] += ok
                tally["relation"][1] += 1
        count_ok = len(parsed.objects) == len(scene.objects)
        tally["count"][0] += count_ok
        tally["count"][1] += 1
        tally["background"][0] += parsed.background == scene.background
        tally["background"][1] += 1
        truth = sorted((o.shape, o.color, o.size, o.row, o.col) for o in scene.objects)
        found = sorted((p.shape, p.color, p.size, p.row, p.col) for p in parsed.objects)
        tally["scene"][0] += found == truth and parsed.background == scene.background
        tally["scene"][1] += 1
    return tally


def render_speed(size: int, n: int) -> float:
    """Images per second of render() in this process, after warming its sprite cache."""
    scenes = [sample_scene(s) for s in range(n)]
    for s in scenes[: n // 4]:
        render(s, size)
    t = time.perf_counter()
    for s in scenes:
        render(s, size)
    return n / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="scenes per size and condition")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help="image sizes")
    parser.add_argument(
        "--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS),
        help="image corruptions: Gaussian noise sigma 6/255, Gaussian blur sigma 0.5 px (mild), "
        "blur sigma 1.0 px (stress)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--speed-n", type=int, default=4000, help="scenes timed for render speed")
    args = parser.parse_args(argv)

    print(f"scene parser accuracy on {args.n} fresh scenes per row (seeds {SEED_OFFSET}+)")
    header = f"{'size':>4} {'condition':<11}" + "".join(f"{a:>11}" for a in ATTRIBUTES)
    print(header)
    chunk = max(1, args.n // (4 * args.workers))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for size in args.sizes:
            for condition in args.conditions:
                t = time.perf_counter()
                tasks = [
                    (s, min(s + chunk, args.n), size, condition) for s in range(0, args.n, chunk)
                ]
                total = {a: [0, 0] for a in ATTRIBUTES}
                for tally in pool.map(score_scenes, tasks):
                    for a in ATTRIBUTES:
                        total[a][0] += tally[a][0]
                        total[a][1] += tally[a][1]
                row = "".join(f"{100 * c / max(n, 1):10.2f}%" for c, n in total.values())
                rate = args.n / (time.perf_counter() - t)
                print(f"{size:>4} {condition:<11}{row}   ({rate:.0f} scenes/s)", flush=True)
    print("\nrenderer speed, one process:")
    for size in args.sizes:
        print(f"  {size} px: {render_speed(size, args.speed_n):,.0f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
