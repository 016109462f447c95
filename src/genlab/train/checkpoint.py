"""Training-state checkpoints: modules, EMA, optimizers and the trainer's counters in ONE safetensors
file (no pickle), written atomically by rank 0, so a crash mid-write never loses the last good one;
the one before it is kept beside it (`checkpoint.prev.safetensors`): the last two survive.
FSDP2 shards are gathered into whole tensors first, so any world size and strategy can resume it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from genlab.errors import CheckpointError
from genlab.io import load_checkpoint, save_checkpoint
from genlab.train.distributed import full_tensor, shard_like

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
                tensors[f"optim/{name}/{pid}/{key}"] = full_tensor(value)
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
    # state_dict() numbers the parameters in param_groups order; a sharded (FSDP2) parameter
    # takes its moments as shards of the saved whole tensors
    params = [p for group in opt.param_groups for p in group["params"]]
    for pid, param_state in state.items():
        for key, value in param_state.items():
            if torch.is_tensor(value) and value.shape == params[pid].shape:
                param_state[key] = shard_like(value, params[pid])
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
    tensors, config = collect_training_state(modules, ema_shadow, optimizers, trainer_state)
    return write_training_state(path, tensors, config)


def collect_training_state(
    modules: dict[str, torch.nn.Module],
    ema_shadow: dict[str, torch.Tensor],
    optimizers: dict[str, torch.optim.Optimizer],
    trainer_state: dict[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, config) of a training-state file, every tensor whole: under FSDP2 each rank
    must call it (gathering shards is a collective), in the same order."""
    # whole tensors in one file rather than torch.distributed.checkpoint's folder of shards: the
    # file stays what export, genlab.load and a resume at any world size read as it is
    tensors: dict[str, torch.Tensor] = {}
    for mname, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module/{mname}/{key}"] = full_tensor(value)
    for key, value in ema_shadow.items():
        tensors[f"ema/{key}"] = full_tensor(value)
    optim_meta = {}
    for name, opt in optimizers.items():
        t, meta = flatten_optimizer(name, opt)
        tensors.update(t)
        optim_meta[name] = meta
    config = {"kind": STATE_KIND, "trainer": trainer_state, "optimizers": optim_meta}
    return tensors, config


def write_training_state(path: Path, tensors: dict, config: dict) -> Path:
    """Write a collected state to `path`, keeping the one before it as checkpoint.prev."""
    path = Path(path)
    # The new state is written whole first; only then does the current one step back to .prev
    # and the new one take its name (a crash between the renames leaves .prev to resume from).
    fresh = save_checkpoint(path.with_name(f"{path.stem}.new{path.suffix}"), tensors, config)
    if path.exists():
        os.replace(path, previous_path(path))
    os.replace(fresh, path)
    return path


def previous_path(path: Path) -> Path:
    """Where the state before the latest one is kept: checkpoint.prev.safetensors."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def load_training_state(path: Path, device: torch.device) -> tuple[dict, dict]:
    """(tensors, config) of a training-state checkpoint, verified (content hash, finite values,
    every part the trainer needs); CheckpointError for a corrupt file or any other kind."""
    try:
        tensors, config = load_checkpoint(path, device=device)
        if config.get("kind") != STATE_KIND:
            raise CheckpointError(
                f"{path}: not a genlab training state (kind {config.get('kind')!r})"
            )
        missing = [k for k in ("trainer", "optimizers") if not isinstance(config.get(k), dict)]
        if missing or not isinstance(config["trainer"].get("step"), int):
            raise CheckpointError(f"{path}: corrupt: its trainer counters are incomplete")
    except CheckpointError as e:
        previous = previous_path(path)
        if previous.is_file():
            raise CheckpointError(
                f"{e}; the state before it is kept in {previous.name} beside it: move that over "
                f"{Path(path).name} to resume from there"
            ) from None
        raise
    return tensors, config


def restore_modules(modules: dict[str, torch.nn.Module], tensors: dict) -> None:
    for mname, module in modules.items():
        prefix = f"module/{mname}/"
        own = module.state_dict()
        sd = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        for key, value in sd.items():
            if key in own and value.dtype != own[key].dtype:
                raise CheckpointError(
                    f"module {mname!r}: {key} is {value.dtype} in the checkpoint, "
                    f"{own[key].dtype} in the model"
                )
        sd = {k: shard_like(v, own[k]) if k in own else v for k, v in sd.items()}
        try:
            module.load_state_dict(sd)
        except RuntimeError as e:
            raise CheckpointError(f"module {mname!r} does not match the checkpoint: {e}") from None
