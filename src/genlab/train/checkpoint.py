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

from genlab.errors import CheckpointError, InvalidArgument
from genlab.io import load_checkpoint, save_checkpoint
from genlab.train import distributed as D
from genlab.train.distributed import full_tensor, shard_like

STATE_KIND = "genlab-training-state"
STATE_FILE = "checkpoint.safetensors"
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


class TrainingState:
    """The Trainer's checkpoint side (a mixin of genlab.train.trainer.Trainer): save and resume
    its whole training state, or start from an exported model's weights."""

    @property
    def state_path(self) -> Path:
        return self.out_dir / STATE_FILE

    def trainer_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "loss_mean": self.loss_mean,
            "skipped": self.skipped,
            "consecutive_spikes": self._spikes,
            "ema_updates": self.ema.updates,
            "wall_time": self.wall_time,
            "world_size": self.dist.world_size,
            "strategy": self.config.strategy,
            "batch_size": self.config.batch_size,
            "recipe": self.config.recipe,
            "seed": self.config.seed,
        }

    def save_state(self) -> Path | None:
        """Write the training state, whole tensors in one file (rank 0 writes; under FSDP every
        rank first gathers its shards), and return its path."""
        path = None
        if self.dist.is_main or self.sharded:
            tensors, config = collect_training_state(
                self.modules, self.ema.shadow, self.optimizers, self.trainer_state()
            )
            if self.dist.is_main:
                path = write_training_state(self.state_path, tensors, config)
        D.barrier(self.dist)
        return path

    def init_from(self, path: str | Path) -> dict[str, list[str]]:
        """Start from the weights of an exported model (`path`, e.g. a bundled model's file):
        each module takes the tensors named `<module>.<parameter>`; parameters the file lacks
        (new ones, e.g. a text encoder's word residual) keep their initialisation; optimizer,
        step and schedule start fresh, the EMA from the loaded weights. Returns what was new;
        the file's tensors that no parameter takes (e.g. a word residual the recipe's encoder
        lacks) are listed in `self.init_unused`. A tensor of another shape, or a file that
        fills none of the modules, is an error."""
        tensors, _ = load_checkpoint(path, device=self.device)
        new: dict[str, list[str]] = {}
        used: set[str] = set()  # the file's tensors some parameter took
        for name, module in self.modules.items():
            own = module.state_dict()
            prefix = f"{name}."
            theirs = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            for key, value in list(theirs.items()):
                if key in own and _widened(value, own[key]):
                    # more inputs than the file has (e.g. a layout adapter that reads the
                    # background too): the file's fill the first, the new ones start at zero,
                    # as inpainting U-Nets are grown from text-to-image ones
                    grown = own[key].new_zeros(own[key].shape)
                    grown[:, : value.shape[1]] = value.to(grown.dtype)
                    theirs[key] = grown
                    new.setdefault(name, []).append(
                        f"{key} (inputs {value.shape[1]} -> {own[key].shape[1]}, new ones zero)"
                    )
                elif key in own and own[key].shape != value.shape:
                    raise CheckpointError(
                        f"{path}: {prefix}{key} has shape {tuple(value.shape)}, the model's "
                        f"{tuple(own[key].shape)}: not a model this recipe can start from"
                    )
            fit = {k: D.shard_like(v, own[k]) for k, v in theirs.items() if k in own}
            used |= {prefix + k for k in fit}
            missing, _ = module.load_state_dict(fit, strict=False)
            new[name] = list(missing) + new.get(name, [])
        if not used:
            raise CheckpointError(f"{path}: none of its tensors fit this recipe's models")
        self.init_unused = sorted(set(tensors) - used)
        with torch.no_grad():
            for key, p in self.ema.params.items():
                self.ema.shadow[key].copy_(p)
        return new

    def resume(self, path: str | Path | None = None) -> bool:
        """Load the training state from `path` (default: OUT/checkpoint.safetensors) if it exists;
        a corrupt one is refused (CheckpointError) and left as it is, so is the one before it."""
        path = Path(path) if path else self.state_path
        if not path.is_file():
            # Killed between a save's two renames: the state before the newest is whole.
            path = previous_path(path)
            if not path.is_file():
                return False
        tensors, config = load_training_state(path, self.device)
        state = config["trainer"]
        if state["batch_size"] != self.config.batch_size:
            raise InvalidArgument(
                "batch_size",
                f"the checkpoint's global batch size {state['batch_size']} to resume exactly",
                self.config.batch_size,
            )
        restore_modules(self.modules, tensors)
        with torch.no_grad():
            for key, value in self.ema.shadow.items():
                value.copy_(D.shard_like(tensors[f"ema/{key}"], value))
        for name, opt in self.optimizers.items():
            restore_optimizer(name, opt, tensors, config["optimizers"][name])
        self.step = state["step"]
        self.samples_seen = state["samples_seen"]
        self.loss_mean = state["loss_mean"]
        self.skipped = state["skipped"]
        self._spikes = dict(state.get("consecutive_spikes", {}))
        self.ema.updates = state["ema_updates"]
        self.wall_time = state["wall_time"]
        return True


def _widened(theirs: torch.Tensor, own: torch.Tensor) -> bool:
    """Whether `own` is `theirs` with more input channels (dim 1), all else the same."""
    return (
        theirs.dim() == own.dim() >= 2
        and theirs.shape[0] == own.shape[0]
        and theirs.shape[2:] == own.shape[2:]
        and theirs.shape[1] < own.shape[1]
    )
