"""`genlab models`: every model `genlab generate --model` can use — bundled weights, local checkpoints
and models configured in models.toml — with its kind, size and what it supports.
"""

from __future__ import annotations

import json
from pathlib import Path

from genlab.paths import DEFAULT_IMAGE_MODEL, data_dir
from genlab.pipelines.catalog import list_models

# What each genlab pipeline kind can do (the CLI commands and pipeline methods it serves).
SUPPORTS = {
    "text2image": "generate, negative prompt, samplers, guidance, edit (img2img, inpaint)",
    "text2video": "generate video, negative prompt, samplers, guidance",
    "vae": "generate (class or text condition), reconstruct, interpolate",
    "gan": "generate (class or text condition)",
    "vq-ar": "generate (text), temperature, top-k, top-p, guidance",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "models",
        help="list bundled, local and configured models",
        description=(
            "List the models genlab can load: bundled weights, genlab checkpoints in "
            "<data dir>/models and --dir folders, and models.toml entries."
        ),
    )
    p.add_argument(
        "--dir",
        action="append",
        default=[],
        help="also list checkpoints in this folder (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def local_dirs(extra: list[str]) -> list[Path]:
    dirs = [data_dir() / "models"]
    return [d for d in dirs if d.is_dir()] + [Path(d) for d in extra]


def describe(info) -> dict:
    d = info.details
    size = f"{d['megabytes']:.1f} MB" if "megabytes" in d else "-"
    if "image_size" in d:
        size += f", {d['image_size']}px"
    if info.backend == "genlab":
        supports = SUPPORTS.get(info.kind, "helper model (used by eval/agent, not for generate)")
    else:
        caps = [k for k in ("image", "video", "edit") if d.get(k) is True]
        supports = ", ".join(caps) or "see its backend"
    return {
        "name": info.name,
        "source": info.source,
        "backend": info.backend,
        "kind": info.kind,
        "size": size,
        "supports": supports,
        # what generate, the agent and the server draw with when no model is named
        "default": info.name == DEFAULT_IMAGE_MODEL and info.source == "bundled",
    }


def run(args) -> int:
    # A checkpoint without a pipeline kind (e.g. a training state) is not a model.
    rows = [describe(i) for i in list_models(local_dirs(args.dir)) if i.kind != "?"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models found (bundled weights are trained with `genlab train --recipe NAME`)")
        return 0
    for r in rows:
        if r["default"]:
            r["name"] += " (default)"
    headers = ["name", "source", "kind", "size", "supports"]
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers[:-1]}
    print("  ".join(h.ljust(widths.get(h, 0)) for h in headers).rstrip())
    for r in rows:
        print("  ".join(str(r[h]).ljust(widths.get(h, 0)) for h in headers).rstrip())
    return 0
