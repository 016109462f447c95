"""Training-state checkpoints: modules, EMA, optimizers and the trainer's counters in ONE safetensors
file (no pickle), written atomically by rank 0, so a crash mid-write never loses the last good one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlab.errors import CheckpointError
from genlab.io import load_checkpoint, save_checkpoint

STATE_KIND = "genlab-training-state"
# Optimizer flags that describe the current machine, not the training run: keep the live values.
_MACHINE_FLAGS = ("fused", "foreach", "capturable", "differentiable")


def flatten_optimizer(name: str, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """(tensors, json) of an optimizer's state_dict: tensors under optim/<name>/<param>/<key>."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim/{name}/{pid}/{key}"] = value
            else:
                scalars[f"{pid}/{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def restore_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, field = key[len(prefix) :].split("/", 1)
            state.setdefault(int(pid), {})[field] = value
    for key, value in meta["scalars"].items():
        pid, field = key.split("/", 1)
        state.setdefault(int(pid), {})[field] = value
    groups = []
    for saved, live in zip(meta["param_groups"], opt.param_groups, strict=True):
        group = dict(saved)
        for flag in _MACHINE_FLAGS:
            if flag in live:
                group[flag] = live[flag]
        groups.append(group)
    opt.load_state_dict({"state": state, "param_groups": groups})
    # Checkpoints hold contiguous tensors; a channels-last parameter's moments must be laid out
    # like it again, or CUDA's fused AdamW refuses them ("same dtype, device, and layout").
    for param, param_state in opt.state.items():
        for key, value in param_state.items():
            if not torch.is_tensor(value) or value.shape != param.shape:
                continue  # scalars such as AdamW's step
            if value.stride() != param.stride():
                param_state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def save_training_state(
    path: Path,
    modules: dict[str, torch.nn.Module],
    ema_shadow: dict[str, torch.Tensor],
    optimizers: dict[str, torch.optim.Optimizer],
    trainer_state: dict[str, Any],
) -> Path:
    tensors: dict[str, torch.Tensor] = {}
    for mname, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module/{mname}/{key}"] = value
    for key, value in ema_shadow.items():
        tensors[f"ema/{key}"] = value
    optim_meta = {}
    for name, opt in optimizers.items():
        t, meta = flatten_optimizer(name, opt)
        tensors.update(t)
        optim_meta[name] = meta
    config = {"kind": STATE_KIND, "trainer": trainer_state, "optimizers": optim_meta}
    return save_checkpoint(path, tensors, config)


def load_training_state(path: Path, device: torch.device) -> tuple[dict, dict]:
    """(tensors, config) of a training-state checkpoint; CheckpointError for any other file."""
    tensors, config = load_checkpoint(path, device=device)
    if config.get("kind") != STATE_KIND:
        raise CheckpointError(f"{path}: not a genlab training state (kind {config.get('kind')!r})")
    return tensors, config


def restore_modules(modules: dict[str, torch.nn.Module], tensors: dict) -> None:
    for mname, module in modules.items():
        prefix = f"module/{mname}/"
        sd = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(sd)
        except RuntimeError as e:
            raise CheckpointError(f"module {mname!r} does not match the checkpoint: {e}") from None
