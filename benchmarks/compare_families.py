"""Side-by-side comparison of the generative families (VAE, GAN, VQ + AR, diffusion) on the same
prompts: sampling time per image, parameters, quality and alignment, and one grid row per model.

    .venv/bin/python benchmarks/compare_families.py [--models digits-vae digits-dcgan world-vq-ar
        world-t2i] [--per-prompt 2] [--out compare_families.png] [--json results.json]

World models (text) get world prompts, scored by compositional accuracy (genlab's scene parser
+ match); digit models (classes) get "the digit k", scored by a digits classifier. FID comes
from genlab.eval's bundled feature network when it is there (else "n/a").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

WORLD_PROMPTS = [
    "a red circle",
    "a blue square on the left",
    "a large green triangle",
    "two yellow stars",
    "a purple circle above a cyan square",
    "a small orange diamond on a white background",
    "a pink star to the right of a blue circle",
    "a red triangle",  # a held-out combination
]
DIGIT_PROMPTS = [f"the digit {k}" for k in range(10)]
FAMILIES = {"vae": "VAE", "gan": "GAN", "vq-ar": "VQ + AR", "text2image": "diffusion"}
CELL = 32  # every sample is shown at 32×32 in the grid


def default_models() -> list[str]:
    """Bundled models of the compared kinds, in family order."""
    from genlab.io import read_checkpoint_config
    from genlab.pipelines.registry import bundled_models

    found = []
    for name, path in bundled_models().items():
        kind = read_checkpoint_config(path).get("pipeline")
        if kind in FAMILIES:
            found.append((list(FAMILIES).index(kind), name))
    return [name for _, name in sorted(found)]


def model_domain(config: dict) -> str:
    """ "digits" for class-conditional digit models, else "world"."""
    condition = config.get("condition") or {}
    if condition.get("type") == "class":
        return "digits"
    return "world"


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


def _fid(domain: str, images: list[Image.Image], seed: int) -> float | None:
    """FID against fresh real images with genlab.eval's bundled feature net, None if unavailable."""
    try:
        from genlab.eval.features import load_feature_net
        from genlab.eval.images import digits_set, world_set
        from genlab.eval.metrics import MIN_SAMPLES, fid_from_features
        from genlab.io import to_tensor
    except ImportError:
        return None
    if len(images) < MIN_SAMPLES["fid"]:
        return None
    from genlab.errors import GenlabError

    try:
        net = load_feature_net(domain)
    except GenlabError:
        return None
    n = len(images)
    real = world_set(n, 32, seed=seed + 1) if domain == "world" else digits_set(n, 28, seed=seed)
    fake = torch.stack(
        [((to_tensor(im.convert("RGB")) + 1) * 127.5).round().to(torch.uint8) for im in images]
    )
    if fake.shape[-1] != real.images.shape[-1]:
        fake = (
            torch.nn.functional.interpolate(
                fake.float(), size=real.images.shape[-1], mode="bilinear", antialias=True
            )
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
        )
    return fid_from_features(net.features(real.images), net.features(fake))


def _alignment(domain: str, prompts: list[str], images: list[Image.Image]) -> dict:
    if domain == "world":
        from genlab.eval.compositional import score_image

        results = [score_image(p, im) for p, im in zip(prompts, images)]
        return {
            "alignment": "compositional accuracy",
            "accuracy": sum(r[0] for r in results) / len(results),
            "mean_score": sum(r[1] for r in results) / len(results),
        }
    from genlab.io import to_tensor
    from genlab.train.classic import DigitsMonitor

    monitor = DigitsMonitor()
    x = torch.stack([to_tensor(im) for im in images])
    predicted = monitor.predict(x).tolist()
    asked = [int(p.split()[-1]) for p in prompts]
    stats = monitor(x)
    return {
        "alignment": "digit accuracy",
        "accuracy": sum(a == b for a, b in zip(asked, predicted)) / len(asked),
        "class_entropy": stats["entropy"],
    }


def evaluate_model(
    name: str, per_prompt: int = 2, seed: int = 0, steps: int = 20, device: str = "cpu", fid=True
) -> tuple[dict, list[Image.Image]]:
    """Sample `per_prompt` images per prompt of the model's domain; return (row, images)."""
    import genlab
    from genlab.io import read_checkpoint_config
    from genlab.pipelines.registry import resolve_path

    path = resolve_path(name)
    config = read_checkpoint_config(path) if path else {}
    kind = config.get("pipeline", "?")
    domain = model_domain(config)
    pipe = genlab.load(name, device=device)
    prompts = WORLD_PROMPTS if domain == "world" else DIGIT_PROMPTS
    kwargs = {"num_inference_steps": steps} if kind == "text2image" else {}
    images, asked = [], []
    pipe(prompts[0], seed=seed, num_images=1, **kwargs)  # warm-up: lazy loads, allocator
    start = time.perf_counter()
    for i, prompt in enumerate(prompts):
        result = pipe(prompt, seed=seed + 1000 * i, num_images=per_prompt, **kwargs)
        images += result.images
        asked += [prompt] * len(result.images)
    seconds = (time.perf_counter() - start) / len(images)
    row = {
        "model": Path(str(name)).stem,
        "family": FAMILIES.get(kind, kind),
        "domain": domain,
        "parameters": count_parameters(pipe),
        "seconds_per_image": seconds,
        "images": len(images),
        **_alignment(domain, asked, images),
        "fid": _fid(domain, images, seed) if fid else None,
    }
    return row, images


def grid_image(rows: list[dict], images: list[list[Image.Image]], columns: int) -> Image.Image:
    """One row per model: its name, then its first `columns` samples at 32×32, upscaled ×3."""
    scale, label_w, pad = 3, 150, 2
    cell = CELL * scale
    width = label_w + columns * (cell + pad) + pad
    height = len(rows) * (cell + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (row, ims) in enumerate(zip(rows, images)):
        y = pad + r * (cell + pad)
        draw.text((4, y + cell // 2 - 12), f"{row['model']}\n({row['family']})", fill=(0, 0, 0))
        for c, im in enumerate(ims[:columns]):
            tile = im.convert("RGB").resize((CELL, CELL)).resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (label_w + pad + c * (cell + pad), y))
    return canvas


def format_table(rows: list[dict]) -> str:
    head = "| model | family | domain | parameters | s / image | alignment | accuracy | FID |"
    lines = [head, "|---|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        fid = "n/a" if r.get("fid") is None else f"{r['fid']:.1f}"
        lines.append(
            f"| {r['model']} | {r['family']} | {r['domain']} | {r['parameters']:,} | "
            f"{r['seconds_per_image']:.4f} | {r['alignment']} | {r['accuracy']:.3f} | {fid} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from genlab.cli import HelpFormatter
    from genlab.errors import GenlabError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--models", nargs="*", help="model names or checkpoint paths (default: every bundled one)"
    )
    parser.add_argument("--per-prompt", type=int, default=2, help="samples per prompt and model")
    parser.add_argument("--seed", type=int, default=0, help="base seed of every model's samples")
    parser.add_argument("--steps", type=int, default=20, help="sampling steps of diffusion models")
    parser.add_argument("--device", default="cpu", help="device the models sample on")
    parser.add_argument("--no-fid", action="store_true", help="skip FID (it needs the eval nets)")
    parser.add_argument("--out", default="compare_families.png", help="grid image, a row per model")
    parser.add_argument("--json", help="also write the table's rows as JSON to this path")
    args = parser.parse_args(argv)
    try:
        if args.per_prompt < 1:
            from genlab.errors import InvalidArgument

            raise InvalidArgument("--per-prompt", "an integer ≥ 1", args.per_prompt)
        models = args.models or default_models()
        if not models:
            print("no models to compare: none bundled and none given", file=sys.stderr)
            return 2
        rows, samples = [], []
        for name in models:
            row, images = evaluate_model(
                name, args.per_prompt, args.seed, args.steps, args.device, not args.no_fid
            )
            rows.append(row)
            samples.append(images)
            print(f"{row['model']}: {row['seconds_per_image']:.4f} s/image", file=sys.stderr)
    except GenlabError as e:
        print(f"compare_families: error: {e}", file=sys.stderr)
        return 2
    print(format_table(rows))
    firsts = [s[:: args.per_prompt] for s in samples]  # one sample per prompt
    grid_image(rows, firsts, columns=min(10, max(len(s) for s in firsts))).save(args.out)
    print(f"grid: {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
