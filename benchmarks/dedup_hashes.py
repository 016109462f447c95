"""Which perceptual hash and threshold tell copies from distinct small images? Measured on N
world scenes (32×32, the stream `genlab data prepare world:N` reads) and on copies of them:
exact, re-encoded (JPEG q90 and q75) and resized (×2 up, ×0.75 down, both bicubic).

For each hash and threshold t: `distinct merged` = images of the N that a greedy
keep-the-first filter removes although their scene differs from that of every image it matched
(the same background, and the same objects by color, shape, size and grid cell, is the same
scene: renders that differ only by the objects' jitter are near duplicates); `copies found` =
copies within t bits of their original, per kind. The curation default is the hash and
threshold that merge at most --max-merged of the distinct scenes (0.2%: none keeps every one
without finding only exact copies) and find the most copies, on average over the kinds.

    python benchmarks/dedup_hashes.py --n 1000 --json benchmarks/results/dedup_hashes.json
"""

from __future__ import annotations

import argparse
import io
import json

from PIL import Image


def copies(image: Image.Image) -> dict[str, Image.Image]:
    def jpeg(q):
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=q)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    w, h = image.size
    return {
        "exact": image.copy(),
        "jpeg q90": jpeg(90),
        "jpeg q75": jpeg(75),
        "resized x2": image.resize((w * 2, h * 2), Image.BICUBIC),
        "resized x0.75": image.resize((w * 3 // 4, h * 3 // 4), Image.BICUBIC),
    }


def scene_content(scene) -> tuple:
    """What a scene shows, without the objects' jitter."""
    objects = sorted((o.color, o.shape, o.size, o.row, o.col) for o in scene.objects)
    return (scene.background, tuple(objects))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=200, help="originals that get copies")
    parser.add_argument("--max-merged", type=float, default=0.002)
    parser.add_argument("--json")
    args = parser.parse_args()

    from genlab.data.curate import HASHES, hash_distance
    from genlab.data.world import world_item
    from genlab.world import render

    scenes = [world_item(0, i)[0] for i in range(args.n)]
    images = [Image.fromarray(render(scene, 32)) for scene in scenes]
    content = [scene_content(scene) for scene in scenes]
    rows = []
    for name, fn in HASHES.items():
        hashes = [fn(im) for im in images]
        copy_hashes = [
            {kind: fn(c) for kind, c in copies(images[i]).items()} for i in range(args.copies)
        ]
        kinds = list(copy_hashes[0])
        for t in (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32):
            kept: list[int] = []
            merged = 0
            for i, h in enumerate(hashes):
                close = [j for j in kept if hash_distance(hashes[j], h) <= t]
                if not close:
                    kept.append(i)
                elif all(content[j] != content[i] for j in close):
                    merged += 1
            found = {
                k: sum(hash_distance(hashes[i], c[k]) <= t for i, c in enumerate(copy_hashes))
                / args.copies
                for k in kinds
            }
            rows.append({"hash": name, "threshold": t, "distinct_merged": merged,
                         "copies_found": found})  # fmt: skip
            print(f"{name:14s} t={t:2d} distinct merged {merged:4d}/{args.n}  " + "  ".join(
                f"{k} {v:.3f}" for k, v in found.items()))  # fmt: skip
    best = max(
        (r for r in rows if r["distinct_merged"] <= args.max_merged * args.n),
        key=lambda r: (sum(r["copies_found"].values()), -r["distinct_merged"], -r["threshold"]),
    )
    print("choice:", best["hash"], "threshold", best["threshold"], best["copies_found"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "copies": args.copies, "rows": rows, "choice": best}, f,
                      indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
