"""The four generative families (VAE, GAN, VQ + AR, diffusion) on one task, text-conditioned 32×32
world generation, side by side: one table (strict accuracy per category of the compositional
suite, FID, diversity, images/s, parameters, training cost) and one grid of the same prompts.

    .venv/bin/python benchmarks/compare_families.py [--models world-vae world-dcgan world-vq-ar
        world-t2i-layout world-t2i] [--prompts-per-category 10] [--out compare_families.png]
        [--json rows.json] [--threads 1] [--budget IMAGES]

Accuracy: the strict compositional suite (genlab.eval.compositional, in-distribution split), one
image per prompt, judged by the world's scene parser. FID: world-classifier features of the suite
images against renders of scenes that realize the same prompts (genlab.world.grammar.realize), so
every family is measured against what its prompts ask for. Diversity: for each of a few prompts,
many samples: the fraction of distinct scenes the parser reads among them, and the spread of
their features (mean pairwise distance) divided by the spread of real renders of the same prompt
(1.0: as varied as the world; 0: one image, mode collapse).

Training cost: each row's images seen, wall time and hardware, read from its checkpoint (the last
run's). `--budget IMAGES` makes the table an equal-budget one: every model must have seen exactly
that many images in training, or the script stops before measuring anything (exit 2). Models are
bundled names or checkpoint paths, e.g. the diffusion row trained at the same budget by
`genlab train --recipe world-t2i-layout-plan` (runs/world-t2i-layout-plan/*.safetensors); a
`LABEL=PATH` entry names the row LABEL (default: the file's stem), e.g.
`world-vq-ar-24k=runs/budget-vq-ar/world-vq-ar.safetensors` beside the bundled world-vq-ar.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

GRID_PROMPTS = [
    "a red circle",
    "a large blue square on the left",
    "two yellow stars",
    "a purple circle above a cyan square",
    "a small orange diamond on a white background",
    "a pink star to the right of a green circle",
    "three blue triangles",
    "a red triangle",  # a held-out (color, shape) pair
]
DIVERSITY_PROMPTS = ["a red circle", "two yellow stars", "a green diamond and a blue circle"]
FAMILIES = {"vae": "VAE", "gan": "GAN", "vq-ar": "VQ + AR", "text2image": "diffusion"}
DEFAULT_MODELS = ["world-vae", "world-dcgan", "world-vq-ar", "world-t2i-layout", "world-t2i"]
CATEGORY_SHORT = {
    "single_object": "single",
    "two_objects": "two",
    "counting": "count",
    "colors": "colors",
    "position": "position",
    "attribute_binding": "binding",
}
CELL = 32  # every sample is shown at 32×32 in the grid


def count_parameters(pipe) -> int:
    """Parameters of every nn.Module the pipeline holds (models, text encoders, decoders)."""
    seen, total = set(), 0
    for value in vars(pipe).values():
        if isinstance(value, torch.nn.Module):
            for p in value.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    total += p.numel()
    return total


def _draw(pipe, kind: str, prompts: list[str], seed: int, steps: int, per_prompt: int = 1):
    """per_prompt images for each prompt, prompt-major, 16 prompts per call (call c seeded
    seed + 1000·c, its images seed + 1000·c + i as every pipeline numbers them)."""
    kwargs = {"num_inference_steps": steps} if kind == "text2image" else {}
    images = []
    for c, start in enumerate(range(0, len(prompts), 16)):
        chunk = prompts[start : start + 16]
        result = pipe(chunk, seed=seed + 1000 * c, num_images=per_prompt, **kwargs)
        images += [im.convert("RGB") for im in result.images]
    return images


def real_renders(prompts: list[str], seed: int, size: int) -> torch.Tensor:
    """uint8 (N, 3, S, S): for each prompt a rendered scene realizing exactly its request."""
    from genlab.world.grammar import parse_prompt, realize
    from genlab.world.render import render

    out = []
    for i, prompt in enumerate(prompts):
        scene = realize(parse_prompt(prompt).request, np.random.default_rng([seed, i]))
        out.append(torch.from_numpy(render(scene, size)).permute(2, 0, 1))
    return torch.stack(out)


def as_uint8(images: list[Image.Image], size: int = CELL) -> torch.Tensor:
    arrays = [np.asarray(im.convert("RGB").resize((size, size))) for im in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def feature_spread(net, images: torch.Tensor) -> float:
    """Mean pairwise L2 distance between the feature vectors of uint8 images (N, 3, S, S)."""
    f = net.features(images).double()
    d = torch.cdist(f, f)
    n = len(f)
    return float(d.sum() / (n * (n - 1)))


def diversity(pipe, kind, net, seed: int, steps: int, samples: int) -> dict:
    """Distinct parsed scenes per prompt (fraction of `samples`) and feature spread against the
    spread of real renders of the same prompt, averaged over DIVERSITY_PROMPTS."""
    from genlab.world.parser import parse_image

    distinct, ratio = [], []
    for i, prompt in enumerate(DIVERSITY_PROMPTS):
        images = _draw(pipe, kind, [prompt], seed + 77 * i, steps, samples)
        distinct.append(len({parse_image(im).describe() for im in images}) / samples)
        if net is not None:
            real = real_renders([prompt] * samples, seed + 77 * i, CELL)
            ratio.append(feature_spread(net, as_uint8(images)) / feature_spread(net, real))
    return {
        "distinct_scenes": float(np.mean(distinct)),
        "feature_spread": float(np.mean(ratio)) if ratio else None,
    }


def _feature_net():
    from genlab.errors import GenlabError
    from genlab.eval.features import load_feature_net

    try:
        return load_feature_net("world")
    except GenlabError:
        return None


def training_cost(config: dict) -> dict:
    t = config.get("training") or {}
    return {
        "images_seen": t.get("samples_seen"),
        "train_seconds": t.get("wall_time_s"),
        "hardware": t.get("hardware"),
    }


def split_label(entry: str) -> tuple[str, str]:
    """A --models entry -> (row label, model): `LABEL=PATH` or a bundled name / path alone
    (labelled by its stem). A '=' inside a path (after a '/') is part of the path."""
    label, sep, model = str(entry).partition("=")
    if sep and label and model and "/" not in label:
        return label, model
    return Path(str(entry)).stem, str(entry)


def check_budget(names: list[str], budget: int) -> None:
    """InvalidArgument unless every model's checkpoint records exactly `budget` images seen."""
    from genlab.errors import InvalidArgument
    from genlab.io import read_checkpoint_config
    from genlab.pipelines.registry import resolve_path

    for entry in names:
        _, name = split_label(entry)
        path = resolve_path(str(name))
        seen = training_cost(read_checkpoint_config(path))["images_seen"] if path else None
        if seen != budget:
            raise InvalidArgument(
                "--budget", f"{name} trained on {budget:,} images (its checkpoint says {seen})",
                budget,
            )  # fmt: skip


def evaluate_model(
    name: str,
    prompts_per_category: int = 10,
    seed: int = 0,
    steps: int = 20,
    diversity_samples: int = 8,
    fid: bool = True,
    label: str | None = None,
) -> tuple[dict, list[Image.Image]]:
    """One row of the table (named `label`, default the model's stem) and the model's grid
    images (GRID_PROMPTS, seed 0 each)."""
    import genlab
    from genlab.eval import compositional as comp
    from genlab.eval.metrics import MIN_SAMPLES, fid_from_features
    from genlab.io import read_checkpoint_config
    from genlab.pipelines.registry import resolve_path

    path = resolve_path(name)
    config = read_checkpoint_config(path) if path else {}
    kind = config.get("pipeline", "?")
    pipe = genlab.load(name, device="cpu")
    suite = comp.suite(prompts_per_category, seed, splits=("in_distribution",))
    _draw(pipe, kind, [suite[0].prompt], seed, steps)  # warm-up: lazy loads, allocator
    start = time.perf_counter()
    images = _draw(pipe, kind, [p.prompt for p in suite], seed, steps)
    images_per_s = len(images) / (time.perf_counter() - start)
    results = comp.run_suite(lambda *_: images, suite, 1, seed, progress=False)
    summary = comp.summarize(results)["in_distribution"]
    net = _feature_net() if fid else None
    fid_value = None
    if net is not None and len(images) >= MIN_SAMPLES["fid"]:
        real = real_renders([p.prompt for p in suite], seed + 1, CELL)
        fid_value = fid_from_features(net.features(real), net.features(as_uint8(images)))
    row = {
        "model": label or Path(str(name)).stem,
        "family": FAMILIES.get(kind, kind),
        "parameters": count_parameters(pipe),
        "images_per_s": images_per_s,
        "images": len(images),
        "accuracy": summary["pooled_accuracy"],
        "accuracy_ci95": summary["pooled_ci95"],
        "categories": {c: v["accuracy"] for c, v in summary["categories"].items()},
        "fid": fid_value,
        **diversity(pipe, kind, net, seed, steps, diversity_samples),
        **training_cost(config),
    }
    grid = _draw(pipe, kind, GRID_PROMPTS, 0, steps)
    return row, grid


def grid_image(rows: list[dict], images: list[list[Image.Image]]) -> Image.Image:
    """One row per model (its name and family), one column per prompt of GRID_PROMPTS, ×3."""
    scale, label_w, pad, head = 3, 150, 2, 14
    cell = CELL * scale
    columns = max(len(ims) for ims in images)
    width = label_w + columns * (cell + pad) + pad
    height = head + len(rows) * (cell + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, prompt in enumerate(GRID_PROMPTS[:columns]):
        draw.text((label_w + pad + c * (cell + pad), 1), prompt[:16], fill=(0, 0, 0))
    for r, (row, ims) in enumerate(zip(rows, images)):
        y = head + pad + r * (cell + pad)
        draw.text((4, y + cell // 2 - 12), f"{row['model']}\n({row['family']})", fill=(0, 0, 0))
        for c, im in enumerate(ims):
            tile = im.convert("RGB").resize((CELL, CELL)).resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (label_w + pad + c * (cell + pad), y))
    return canvas


def _num(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def format_table(rows: list[dict]) -> str:
    cats = list(CATEGORY_SHORT)
    head = ["model", "family", "strict acc. (95% CI)", *CATEGORY_SHORT.values()]
    head += ["FID", "distinct scenes", "feature spread", "images/s", "parameters"]
    head += ["images seen", "train wall s"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for r in rows:
        lo, hi = r["accuracy_ci95"]
        cells = [r["model"], r["family"], f"{r['accuracy']:.3f} ({lo:.2f}-{hi:.2f})"]
        cells += [_num(r["categories"].get(c), ".2f") for c in cats]
        cells += [_num(r["fid"], ".1f"), _num(r["distinct_scenes"], ".2f")]
        cells += [_num(r["feature_spread"], ".2f"), _num(r["images_per_s"], ".1f")]
        cells += [f"{r['parameters']:,}", _num(r["images_seen"], ",")]
        cells += [_num(r["train_seconds"], ",.0f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from genlab.cli import HelpFormatter
    from genlab.errors import GenlabError, InvalidArgument

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--models",
        nargs="*",
        help=f"models, NAME, PATH or LABEL=PATH (default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument(
        "--prompts-per-category", type=int, default=10, help="suite prompts per category"
    )
    parser.add_argument(
        "--diversity-samples", type=int, default=8, help="samples per diversity prompt"
    )
    parser.add_argument("--seed", type=int, default=0, help="suite and sampling seed")
    parser.add_argument("--steps", type=int, default=20, help="sampling steps of diffusion models")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-fid", action="store_true", help="skip FID and feature spread")
    parser.add_argument("--out", default="compare_families.png", help="grid image, a row per model")
    parser.add_argument("--json", help="also write the table's rows as JSON to this path")
    parser.add_argument(
        "--budget",
        type=int,
        help="images seen in training that every model must have (an equal-budget table)",
    )
    parser.add_argument(
        "--keep",
        help="folder keeping each model's row and grid strip; a model found there is not "
        "measured again (delete its files to re-measure)",
    )
    args = parser.parse_args(argv)
    try:
        for flag, value, low in (
            ("--prompts-per-category", args.prompts_per_category, 1),
            ("--diversity-samples", args.diversity_samples, 2),
            ("--threads", args.threads, 1),
        ):
            if value < low:
                raise InvalidArgument(flag, f"an integer ≥ {low}", value)
        torch.set_num_threads(args.threads)
        if args.budget is not None:
            check_budget(args.models or DEFAULT_MODELS, args.budget)
        rows, grids = [], []
        for entry in args.models or DEFAULT_MODELS:
            label, name = split_label(entry)
            kept = Path(args.keep or "", label)
            if args.keep and kept.with_suffix(".json").is_file():  # measured before: reuse
                row = json.loads(kept.with_suffix(".json").read_text())
                strip = Image.open(kept.with_suffix(".png")).convert("RGB")
                grid = [
                    strip.crop((i * CELL, 0, (i + 1) * CELL, CELL))
                    for i in range(len(GRID_PROMPTS))
                ]
            else:
                row, grid = evaluate_model(
                    name,
                    args.prompts_per_category,
                    args.seed,
                    args.steps,
                    args.diversity_samples,
                    not args.no_fid,
                    label,
                )
                if args.keep:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.with_suffix(".json").write_text(json.dumps(row, indent=2))
                    strip = Image.new("RGB", (CELL * len(grid), CELL))
                    for i, im in enumerate(grid):
                        strip.paste(im.convert("RGB").resize((CELL, CELL)), (i * CELL, 0))
                    strip.save(kept.with_suffix(".png"))
            rows.append(row)
            grids.append(grid)
            print(f"{row['model']}: accuracy {row['accuracy']:.3f}", file=sys.stderr)
    except GenlabError as e:
        print(f"compare_families: error: {e}", file=sys.stderr)
        return 2
    print(format_table(rows))
    if args.budget is not None:
        print(f"equal budget: every model saw {args.budget:,} images in training")
    grid_image(rows, grids).save(args.out)
    print(f"grid: {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
