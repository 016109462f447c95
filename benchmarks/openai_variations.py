"""How far should `/v1/images/variations` re-noise an image? For N rendered world scenes, each
is varied by img2img towards its own canonical caption at several strengths; the scene parser
says whether the variation still shows the same scene (the same objects, colors and cells), and
the mean absolute pixel change says how much it varies. The server uses the largest strength
whose same-scene rate is at least --keep (genlab.serve.openai_images.VARIATION_STRENGTH).

    python benchmarks/openai_variations.py --n 40 --model world-t2i --json out.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def objects(scene) -> set[tuple]:
    return {(o.color, o.shape, o.row, o.col) for o in scene.objects}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--model", default="world-t2i")
    parser.add_argument("--steps", type=int, default=20, help="genlab serve's --openai-steps")
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.3, 0.45, 0.6, 0.75, 0.9])
    parser.add_argument("--keep", type=float, default=0.9)
    parser.add_argument("--json")
    args = parser.parse_args()

    import genlab
    from genlab.world import caption, parse_image, render
    from genlab.world.sample import sample_scene

    pipe = genlab.load(args.model, device="cpu")
    rng = np.random.default_rng(0)
    scenes = [sample_scene(rng, n_objects=(1, 3)) for _ in range(args.n)]
    rows = []
    for strength in args.strengths:
        same, change, start = 0, [], time.perf_counter()
        for i, scene in enumerate(scenes):
            image = render(scene, pipe.image_size)
            out = pipe.edit(image, caption(scene), strength=strength, seed=i,
                            num_inference_steps=args.steps).images[0]  # fmt: skip
            parsed = parse_image(out).to_scene()
            same += parsed is not None and objects(parsed) == objects(scene)
            change.append(float(np.abs(np.asarray(out, float) - np.asarray(image, float)).mean()))
        rows.append({"strength": strength, "same_scene": same / args.n,
                     "mean_abs_change": float(np.mean(change)),
                     "seconds": time.perf_counter() - start})  # fmt: skip
        print(json.dumps(rows[-1]))
    kept = [r["strength"] for r in rows if r["same_scene"] >= args.keep]
    choice = max(kept) if kept else None
    print(f"largest strength keeping the scene in ≥ {args.keep:.0%}: {choice}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "n": args.n, "steps": args.steps, "rows": rows,
                       "keep": args.keep, "choice": choice}, f, indent=2)  # fmt: skip


if __name__ == "__main__":
    main()
