"""What a recipe builds, as plain JSON: the loop's settings, each model's class, sizes and initial
weights, the task's settings and the data's shape. `python tests/data/recipes/snapshot.py` wrote
expected.json from the code before recipes became data (main at ac3369e); test_train_recipes.py
builds every kept recipe again and compares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
EXPECTED = HERE / "expected.json"
# Full-size runs render this many scenes (their own corpus size would take hours); the recipe's
# corpus size itself is still compared through the settings it reaches (`max_cached`, the card).
FULL_DATA_SIZE = 16
VOLATILE_EXTRA = ("corpus build time", "setup time")  # measured seconds, not settings
# Full-size builds that render their own fixed corpus (30,000+ scenes, no --data-size): tiny only.
FULL_SKIPPED = {"world-classifier", "world-clip"}
# The VQ + AR recipes train stage 1 inside their build unless OUT/vqvae holds its export (their
# resume path): full-size builds get an untrained VQ-VAE of the stage's registered size there.
STAGE_ONE = {"world-vq-ar": "vqvae-world", "world-vq-ar-cpu": "vqvae-world-s"}


def _plain(value):
    """JSON-able, with long lists (vocabularies) as their length and a digest."""
    if isinstance(value, torch.Tensor):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        if len(items) > 40:
            digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
            return {"len": len(items), "sha256": digest}
        return items
    if isinstance(value, float):
        return round(value, 10)
    if value is None or isinstance(value, bool | int | str):
        return value
    return type(value).__name__


def _scalars(obj) -> dict:
    """An object's settings: attributes that are numbers, strings, flags or lists of them."""
    out = {}
    for k, v in sorted(vars(obj).items()):
        if k.startswith("_") or k == "device":
            continue
        scalar = v is None or isinstance(v, bool | int | float | str)
        if (
            scalar
            or isinstance(v, list | tuple)
            and all(x is None or isinstance(x, bool | int | float | str | tuple) for x in v)
        ):
            out[k] = _plain(v)
    return out


def describe_job(job) -> dict:
    config = dataclasses.asdict(job.config)
    for volatile in ("budget_start", "out_dir"):
        config.pop(volatile)
    config["extra"] = {k: v for k, v in config["extra"].items() if k not in VOLATILE_EXTRA}
    modules = {}
    for name, module in job.task.modules().items():
        params = list(module.parameters())
        cfg = getattr(module, "config", None)
        modules[name] = {
            "type": type(module).__name__,
            "parameters": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
            "config": _plain(cfg.to_dict() if hasattr(cfg, "to_dict") else None),
            # the initial weights: a recipe seeds torch before it builds its models
            "weight_sum": round(float(sum(p.detach().double().sum() for p in params)), 4),
        }
    task = {"type": type(job.task).__name__, **_scalars(job.task)}
    task["lr_scales"] = _plain(dict(job.task.lr_scales))
    pipeline = getattr(job.task, "pipeline", None)
    if pipeline is not None:
        task["pipeline"] = {"type": type(pipeline).__name__, **_scalars(pipeline)}
    data = {"type": type(job.data).__name__, "length": job.data.length}
    if hasattr(job.data, "tensors"):
        data["tensors"] = _plain(job.data.tensors)
    if hasattr(job.data, "stages"):
        data.update(_scalars(job.data))
        data["stages"] = [[s.start_step, list(s.lengths)] for s in job.data.stages]
        data["vocabulary"] = len(job.data.tokenizer)
    return {"config": _plain(config), "modules": modules, "task": task, "data": data}


def options_for(name: str, scale: str, out_dir: Path):
    from genlab.train import RecipeOptions

    return RecipeOptions(
        tiny=scale == "tiny",
        out_dir=str(out_dir / name / scale),
        device="cpu",
        progress=False,
        data_size=None if scale == "tiny" else FULL_DATA_SIZE,
    )


def place_stage_one(name: str, out: Path) -> None:
    from genlab.io import save_checkpoint
    from genlab.models.vqvae import VQVAE, VQVAE_MODELS

    torch.manual_seed(1)
    vqvae = VQVAE(dict(VQVAE_MODELS[STAGE_ONE[name]], image_size=32))
    path = out / "vqvae" / "world-vqvae.safetensors"
    save_checkpoint(path, vqvae.state_dict(), {"model": vqvae.config.to_dict()})


def build(name: str, scale: str, out_dir: Path) -> dict:
    from genlab.train import get_recipe

    options = options_for(name, scale, out_dir)
    if scale == "full" and name in STAGE_ONE:
        place_stage_one(name, Path(options.out_dir))
    torch.manual_seed(0)
    job = get_recipe(name).build(options)
    return describe_job(job)


if __name__ == "__main__":
    import tempfile

    names = sys.argv[1:]
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for scale in ("tiny",) if name in FULL_SKIPPED else ("tiny", "full"):
                print(name, scale, file=sys.stderr, flush=True)
                expected.setdefault(name, {})[scale] = build(name, scale, Path(tmp))
    EXPECTED.write_text(json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
