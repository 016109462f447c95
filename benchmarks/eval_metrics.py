"""Do the metrics behave? FID/KID of two independent real sets (the floor) vs N, their rise with
noise and blur, IS, CLIP score with true and shuffled captions, and the world oracle's
compositional accuracy (the parser's ceiling), clean and degraded.

    .venv/bin/python benchmarks/eval_metrics.py --n 500 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from genlab.eval import compositional as comp
from genlab.eval import metrics as M
from genlab.eval.features import load_clip_scorer, load_feature_net
from genlab.eval.images import ImageSet, world_set
from genlab.eval.reference import WorldOracle, degrade
from genlab.eval.report import clip_metrics


def degraded(s: ImageSet, noise: float = 0.0, blur: float = 0.0) -> torch.Tensor:
    rng = np.random.default_rng(0)
    arrays = [degrade(im.permute(1, 2, 0).numpy(), noise, blur, rng) for im in s.images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="images per set")
    parser.add_argument(
        "--prompts", type=int, default=10, help="compositional prompts per category and split"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    results: dict = {"n": args.n}
    net = load_feature_net("world")
    a, b = world_set(args.n, seed=1), world_set(args.n, seed=2)
    fa, fb = net.features(a.images), net.features(b.images)

    print(f"## FID / KID floor: two independent real sets ({net.name} features)")
    print(f"{'n':>6} {'FID':>8} {'KID':>9}")
    floors = {}
    for n in sorted({50, 100, 200, args.n // 2, args.n}):
        kid = M.kid_from_features(fa[:n], fb[:n])
        floors[n] = M.fid_from_features(fa[:n], fb[:n])
        print(f"{n:>6} {floors[n]:>8.3f} {kid.mean:>9.4f}")
    results["floor"] = floors

    print(f"\n## FID / KID of real vs degraded real (n={args.n})")
    print(f"{'degradation':>16} {'FID':>8} {'KID':>9}")
    rows = []
    for noise, blur in [
        (0, 0),
        (0.05, 0),
        (0.1, 0),
        (0.2, 0),
        (0.4, 0),
        (0.8, 0),
        (0, 0.5),
        (0, 1.0),
        (0, 1.5),
        (0, 2.5),
    ]:
        f = fb if (noise, blur) == (0, 0) else net.features(degraded(b, noise, blur))
        fid, kid = M.fid_from_features(fa, f), M.kid_from_features(fa, f)
        label = (
            "none (floor)"
            if (noise, blur) == (0, 0)
            else (f"noise σ={noise}" if noise else f"blur r={blur}")
        )
        print(f"{label:>16} {fid:>8.3f} {kid.mean:>9.4f}")
        rows.append({"noise": noise, "blur": blur, "fid": fid, "kid": kid.mean})
    results["degradation"] = rows

    is_real = M.inception_score_from_logits(net.class_logits(a.images))
    is_one = M.inception_score_from_logits(net.class_logits(a.images[:1].repeat(args.n, 1, 1, 1)))
    print(
        f"\n## IS: real world scenes {is_real.mean:.2f} ± {is_real.std:.2f}; one scene repeated {is_one.mean:.2f}"
    )
    results["is"] = {"real": is_real.mean, "one_scene": is_one.mean}

    scorer = load_clip_scorer("world")
    held = world_set(args.n, seed=3, held_out=True)
    c_in, c_held = clip_metrics(scorer, a), clip_metrics(scorer, held)
    print("\n## CLIP score (world-clip, 100·cos): true captions vs shuffled")
    print(f"in-distribution scenes: {c_in['clip_score']:.2f} vs {c_in['clip_score_shuffled']:.2f}")
    print(
        f"held-out-pair scenes:   {c_held['clip_score']:.2f} vs {c_held['clip_score_shuffled']:.2f}"
    )
    results["clip"] = {"in_distribution": c_in, "held_out": c_held}

    print(
        f"\n## Compositional suite with the world oracle ({args.prompts} prompts × 2 images per category and split)"
    )
    prompts = comp.suite(args.prompts, seed=0)
    for name, oracle in [
        ("clean", WorldOracle()),
        ("noise σ=0.3", WorldOracle(noise=0.3)),
        ("blur r=1.5", WorldOracle(blur=1.5)),
    ]:

        def generate(texts, k, seed, oracle=oracle):
            return [
                im
                for i, t in enumerate(texts)
                for im in oracle(t, seed=seed + i, num_images=k).images
            ]

        summary = comp.summarize(comp.run_suite(generate, prompts, 2, progress=False))
        cats = " ".join(
            f"{c[:6]}={v['accuracy']:.2f}"
            for c, v in summary["in_distribution"]["categories"].items()
        )
        print(
            f"{name:>12}: in-dist {summary['in_distribution']['overall']:.3f}  held-out {summary['held_out']['overall']:.3f}  ({cats})"
        )
        results[f"oracle {name}"] = {s: summary[s]["overall"] for s in comp.SPLITS}
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2, default=float)


if __name__ == "__main__":
    main()
