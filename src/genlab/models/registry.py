"""Named model sizes for every architecture: `create_model("DiT-B/2")`, or from a checkpoint's JSON
config dict, with field overrides. Architecture modules in genlab.models register themselves.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from genlab.errors import InvalidArgument, NotFound
from genlab.nn.config import ModelConfig
from genlab.plugins import import_all

_ARCHITECTURES: dict[str, tuple[type[ModelConfig], type[nn.Module]]] = {}
_NAMED: dict[str, tuple[str, dict[str, Any]]] = {}  # name -> (arch, config fields)


def register_architecture(config_cls: type[ModelConfig], model_cls: type[nn.Module]) -> None:
    """Make `config_cls.arch` buildable: `model_cls(config)` must build the model."""
    if not config_cls.arch:
        raise ValueError(f"{config_cls.__name__}.arch must name the architecture")
    _ARCHITECTURES[config_cls.arch] = (config_cls, model_cls)


def register_models(arch: str, sizes: dict[str, dict[str, Any]]) -> None:
    """Register named sizes: {name: config fields} for an architecture."""
    for name, fields in sizes.items():
        _NAMED[name] = (arch, dict(fields))


def list_models(arch: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one architecture."""
    import_all("genlab.models", tolerant=True)
    return sorted(n for n, (a, _) in _NAMED.items() if arch is None or a == arch)


def list_architectures() -> list[str]:
    import_all("genlab.models", tolerant=True)
    return sorted(_ARCHITECTURES)


def model_config(name_or_config: str | dict | ModelConfig, **overrides) -> ModelConfig:
    """The config dataclass for a registered name, a `to_dict()` dict or a config, plus overrides."""
    import_all("genlab.models", tolerant=True)
    if isinstance(name_or_config, ModelConfig):
        return name_or_config.replace(**overrides)
    if isinstance(name_or_config, str):
        if name_or_config not in _NAMED:
            known = ", ".join(sorted(_NAMED))
            raise NotFound(f"model: unknown model {name_or_config!r}; known models: {known}")
        arch, fields = _NAMED[name_or_config]
        data = {**fields, "arch": arch}
    elif isinstance(name_or_config, dict):
        data = dict(name_or_config)
        if "arch" not in data:
            raise InvalidArgument("config", "a dict with an 'arch' key", sorted(data))
    else:
        raise InvalidArgument(
            "model", "a model name, a config dict or a ModelConfig", name_or_config
        )
    arch = data["arch"]
    if arch not in _ARCHITECTURES:
        raise NotFound(
            f"arch: unknown architecture {arch!r}; known: {', '.join(sorted(_ARCHITECTURES))}"
        )
    config_cls, _ = _ARCHITECTURES[arch]
    return config_cls.from_dict(data, **overrides)


def create_model(name_or_config: str | dict | ModelConfig, **overrides) -> nn.Module:
    """Build a model: `create_model("DiT-S/2", in_channels=3)`, `create_model(ckpt_config["model"])`.

    The model's `.config` is its dataclass; `.config.to_dict()` goes into checkpoints.
    """
    config = model_config(name_or_config, **overrides)
    _, model_cls = _ARCHITECTURES[config.arch]
    return model_cls(config)
