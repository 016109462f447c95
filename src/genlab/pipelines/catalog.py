"""The model catalog: bundled checkpoints plus the models a user configures in
`<config dir>/models.toml` (diffusers pipelines, OpenAI or Stability hosted models).

    [models.sdxl]
    backend = "diffusers"            # diffusers | openai | stability
    source = "stabilityai/stable-diffusion-xl-base-1.0"   # or a local directory
    device = "cuda"
    dtype = "float16"

    [models.dalle3]
    backend = "openai"
    model = "dall-e-3"
    api_key_env = "OPENAI_API_KEY"   # the variable's name; keys never go in this file

    [llms.local]                     # an agent backend the server may use: POST /api/agent
    backend = "openai"               # openai (any compatible server) | anthropic
    base_url = "http://127.0.0.1:11434/v1"
    model = "llama3.1"
    api_key_env = "OLLAMA_API_KEY"   # optional for local servers
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError, InvalidArgument
from genlab.io import read_checkpoint_config
from genlab.paths import config_dir
from genlab.pipelines.diffusers_backend import DiffusersPipeline
from genlab.pipelines.hosted import OpenAIImages, StabilityImages
from genlab.pipelines.registry import bundled_models, register_resolver

BACKENDS = ("diffusers", "openai", "stability")
LLM_BACKENDS = ("anthropic", "openai")
_STATIC_CAPS = {
    "diffusers": {
        "image": True,
        "video": "depends on the pipeline",
        "edit": "if the pipeline supports it",
    },
    "openai": {"image": True, "video": False, "edit": True},
    "stability": {"image": True, "video": False, "edit": True},
}


@dataclass
class ModelInfo:
    name: str
    source: str  # "bundled", "local", or "configured"
    backend: str  # "genlab", "diffusers", "openai", "stability"
    kind: str  # pipeline kind (text2image, vae, ...) or what the backend makes
    details: dict[str, Any] = field(default_factory=dict)


def models_file() -> Path:
    return config_dir() / "models.toml"


def _read_models_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise GenlabError(f"{path}: not valid TOML ({e})") from None


def configured_llms(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The `[llms.NAME]` tables of models.toml: agent backends an operator offers by name, each
    with its endpoint (`base_url`), `model` and key variable (`api_key_env`), validated."""
    path = path or models_file()
    llms = _read_models_file(path).get("llms", {})
    if not isinstance(llms, dict):
        raise GenlabError(f"{path}: [llms] must be a table of named agent backends")
    for name, entry in llms.items():
        where = f"{path}: llms.{name}"
        _check_entry(where, entry, LLM_BACKENDS)
        unknown = sorted(set(entry) - {"backend", "base_url", "model", "api_key_env"})
        if unknown:
            raise GenlabError(f"{where}: unknown setting {unknown[0]!r}")
    return llms


def configured_models(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Entries of models.toml by name (empty if the file does not exist), validated."""
    path = path or models_file()
    data = _read_models_file(path)
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise GenlabError(f"{path}: [models] must be a table of named models")
    for name, entry in models.items():
        _check_entry(f"{path}: models.{name}", entry, BACKENDS)
        if entry["backend"] == "diffusers" and "source" not in entry:
            raise GenlabError(
                f"{path}: models.{name}.source (a directory or hub id) is required for diffusers models"
            )
    return models


def _check_entry(where: str, entry: Any, backends) -> None:
    """A models.toml entry is a table naming one of `backends`, and holds no key itself."""
    if not isinstance(entry, dict):
        raise GenlabError(f"{where} must be a table")
    if entry.get("backend") not in backends:
        raise GenlabError(
            f"{where}.backend must be one of {', '.join(backends)}, got {entry.get('backend')!r}"
        )
    if "api_key" in entry:
        raise GenlabError(
            f"{where} holds a key; name its environment variable with api_key_env instead"
        )


def build_configured(name: str, entry: dict[str, Any], **overrides):
    """Instantiate the pipeline object for one models.toml entry."""
    options = {k: v for k, v in entry.items() if k not in ("backend", "source", "model")}
    options.update(overrides)
    backend = entry["backend"]
    if backend == "diffusers":
        return DiffusersPipeline(entry["source"], name=name, **options)
    if backend == "openai":
        return OpenAIImages(entry.get("model", "gpt-image-1"), name=name, **options)

    return StabilityImages(entry.get("model", "core"), name=name, **options)


@register_resolver
def _resolve_configured(name: str, **kwargs):
    """Claim names from models.toml and the `openai:<model>` / `stability:<model>` shorthands."""
    entries = configured_models()
    if name in entries:
        return build_configured(name, entries[name], **kwargs)
    prefix, _, model = name.partition(":")
    if prefix in ("openai", "stability") and model:
        return build_configured(name, {"backend": prefix, "model": model}, **kwargs)
    return None


def list_models(extra_dirs: list[Path] | None = None) -> list[ModelInfo]:
    """Every model `genlab.load` can reach: bundled, local checkpoints in `extra_dirs`, configured."""
    infos: list[ModelInfo] = []
    for name, path in bundled_models().items():
        infos.append(_checkpoint_info(name, path, "bundled", read_checkpoint_config))
    for d in extra_dirs or []:
        d = Path(d)
        if not d.is_dir():
            raise InvalidArgument("dir", "an existing directory", str(d))
        for path in sorted(d.glob("*.safetensors")):
            try:
                infos.append(_checkpoint_info(str(path), path, "local", read_checkpoint_config))
            except GenlabError:
                continue  # not a genlab checkpoint: not a model
        for path in sorted(p.parent for p in d.glob("*/model_index.json")):
            infos.append(
                ModelInfo(
                    str(path), "local", "diffusers", "diffusers pipeline", {"path": str(path)}
                )
            )
    for name, entry in configured_models().items():
        details = {k: v for k, v in entry.items() if k != "backend"}
        details.update(_STATIC_CAPS[entry["backend"]])
        infos.append(ModelInfo(name, "configured", entry["backend"], "image", details))
    return infos


def _checkpoint_info(name: str, path: Path, source: str, read_config) -> ModelInfo:
    config = read_config(path)
    details = {"path": str(path), "megabytes": round(path.stat().st_size / 2**20, 2)}
    for key in ("image_size", "height", "width", "num_frames", "recipe", "steps"):
        if key in config:
            details[key] = config[key]
    return ModelInfo(name, source, "genlab", str(config.get("pipeline", "?")), details)
