"""Resolve a model name or path to a pipeline.

Checkpoints carry `config["pipeline"]` (e.g. "text2image", "vae", "gan", "vq-ar", "text2video").
Pipeline modules register a loader for their kind with `@register_pipeline("kind")`; every module
in `genlab.pipelines` is imported on first use, so a new kind needs no edit here.
Other sources (diffusers directories, hosted APIs) register a *resolver* that may claim a name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from genlab.errors import CheckpointError, InvalidArgument, NotFound
from genlab.io import load_checkpoint, read_checkpoint_config
from genlab.paths import WEIGHTS_DIR
from genlab.plugins import import_all

_LOADERS: dict[str, Callable] = {}
_RESOLVERS: list[Callable] = []  # fn(name, **kwargs) -> pipeline | None


def register_pipeline(kind: str):
    """Decorator: `loader(path, config, **kwargs) -> pipeline` for checkpoints of this kind."""

    def deco(fn):
        _LOADERS[kind] = fn
        return fn

    return deco


def register_resolver(fn: Callable) -> Callable:
    """Decorator: `resolver(name, **kwargs)` returns a pipeline for names it knows, else None."""
    _RESOLVERS.append(fn)
    return fn


def load_network(name_or_path: str, kind: str, model_cls, config_cls, *, arg: str):
    """A small network saved with its config (`config["kind"] == kind`, the model's fields under
    "model"), from a bundled name or a checkpoint path, in eval mode."""
    path = resolve_path(name_or_path)
    if path is None:
        raise InvalidArgument(arg, f"a bundled {kind} name or a checkpoint path", name_or_path)
    tensors, config = load_checkpoint(path, dtype=torch.float32)
    if config.get("kind") != kind:
        raise CheckpointError(f"{path}: not a {kind} checkpoint (kind {config.get('kind')!r})")
    model = model_cls(config_cls.from_dict(config["model"]))
    model.load_state_dict(tensors)
    return model.eval()


def bundled_models() -> dict[str, Path]:
    """Bundled checkpoints by name (file stem)."""
    return {p.stem: p for p in sorted(WEIGHTS_DIR.glob("*.safetensors"), key=lambda p: p.stem)}


def resolve_path(name_or_path: str) -> Path | None:
    path = Path(name_or_path)
    if path.is_file():
        return path
    return bundled_models().get(name_or_path)


def load(name_or_path: str, **kwargs):
    """Return a pipeline for a bundled name, a checkpoint path, or a name a resolver claims."""
    import_all("genlab.pipelines")
    path = resolve_path(str(name_or_path))
    if path is None:
        for resolver in _RESOLVERS:
            pipe = resolver(str(name_or_path), **kwargs)
            if pipe is not None:
                return pipe
        known = ", ".join(bundled_models()) or "(none bundled)"
        raise NotFound(f"model: unknown model {name_or_path!r}; known models: {known}")
    config = read_checkpoint_config(path)
    kind = config.get("pipeline")
    if kind not in _LOADERS:
        raise CheckpointError(
            f"{path}: checkpoint kind {kind!r} has no pipeline; known kinds: {', '.join(sorted(_LOADERS))}"
        )
    return _LOADERS[kind](path, config, **kwargs)
