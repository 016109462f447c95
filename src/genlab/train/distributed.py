"""Multi-process training under torchrun through torch's own wrappers: DistributedDataParallel
(the default) or FSDP2's `fully_shard` (`strategy="fsdp"`), so N ranks × batch B step like one
process with batch N·B; plus the process group from the environment and full-tensor checkpoints.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

STRATEGIES = ("ddp", "fsdp")


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_kind: str) -> DistInfo:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR...).

    One process without torchrun gets DistInfo() and no process group. NCCL on CUDA, gloo on CPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        if device_kind == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def teardown(info: DistInfo) -> None:
    """Leave the process group once every rank is here. The barrier first: it leaves no
    collective in flight whose tensors a gloo worker would free (needing the GIL) while the group
    is destroyed (pytorch/pytorch#75097, #190489: destroy_process_group hangs now and then)."""
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


# ---------------------------------------------------------------------------------- DDP


class GroupStep(nn.Module):
    """One optimizer group's parameters as a module whose forward is the task's training step.

    DDP must see each forward to prepare the backward's bucketed all-reduce; tasks call their own
    modules (and may compute a group's loss through several of them), so the group, not a model,
    is what DDP wraps. The parameters are the task's own objects: state dicts are unchanged.
    """

    def __init__(self, task, group_name: str, params: Iterable[nn.Parameter]):
        super().__init__()
        self.group_params = nn.ParameterList(list(params))
        # the bound method, not the task: a task that were a Module must not become a submodule
        self.training_step, self.group_name = task.training_step, group_name

    def forward(self, batch: Any):
        return self.training_step(batch, self.group_name)


def wrap_ddp(
    task, group_name: str, params: list[nn.Parameter], device: torch.device
) -> nn.parallel.DistributedDataParallel:
    """DistributedDataParallel over one optimizer group (see GroupStep).

    `find_unused_parameters`: a task may leave some of a group's parameters out of a step (a GAN's
    generator when the discriminator steps, a planner-only stage); DDP then marks them ready
    instead of waiting for their gradients forever.
    """
    return nn.parallel.DistributedDataParallel(
        GroupStep(task, group_name, params),
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=True,
    )


# ---------------------------------------------------------------------------------- FSDP2


def shard_modules(
    modules: dict[str, nn.Module], device: torch.device, world_size: int, param_dtype=None
) -> list[str]:
    """FSDP2: `fully_shard` every repeated block (each child of an nn.ModuleList) of each module
    with trainable parameters, then the module itself; frozen modules stay whole. With
    `param_dtype` (bf16) the wrapper computes in it and reduces gradients in fp32. Returns the
    names of the sharded modules."""
    from torch.distributed.device_mesh import (
        init_device_mesh,  # FSDP2 (torch ≥ 2.6), for multi-GPU runs only
    )
    from torch.distributed.fsdp import (  # FSDP2 (torch ≥ 2.6), for multi-GPU runs only
        MixedPrecisionPolicy,
        fully_shard,
    )

    mesh = init_device_mesh(device.type, (world_size,))
    policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32)
    sharded = []
    for name, module in modules.items():
        if not any(p.requires_grad for p in module.parameters()):
            continue
        for sub in module.modules():
            if isinstance(sub, nn.ModuleList):
                for block in sub:
                    if any(p.requires_grad for p in block.parameters()):
                        fully_shard(block, mesh=mesh, mp_policy=policy)
        fully_shard(module, mesh=mesh, mp_policy=policy)
        sharded.append(name)
    return sharded


def gradient_sync(wrapper: Any, modules: Iterable[nn.Module], sync: bool):
    """Context of one micro-step: with `sync` False the gradients only accumulate locally (the
    DDP `wrapper`'s `no_sync`, or FSDP2's `set_requires_gradient_sync(False)` on the sharded
    `modules`); the last micro-step synchronises."""
    modules = list(modules)
    if sync or (wrapper is None and not modules):  # one process: nothing to hold back
        return contextlib.nullcontext()
    if wrapper is not None:
        return wrapper.no_sync()
    return _fsdp_no_sync(modules)


@contextlib.contextmanager
def _fsdp_no_sync(modules: list[nn.Module]):
    from torch.distributed.fsdp import FSDPModule  # FSDP2 (torch ≥ 2.6), for multi-GPU runs only

    fsdp = [m for m in modules if isinstance(m, FSDPModule)]
    for m in fsdp:
        m.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        for m in fsdp:
            m.set_requires_gradient_sync(True)


def is_sharded(value: Any) -> bool:
    from torch.distributed.tensor import DTensor  # FSDP2 (torch ≥ 2.6), for multi-GPU runs only

    return isinstance(value, DTensor)


def full_tensor(value: torch.Tensor) -> torch.Tensor:
    """The whole tensor of a DTensor shard (a collective: every rank calls it, in the same order);
    a plain tensor as it is."""
    return value.full_tensor() if is_sharded(value) else value


def shard_like(full: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`full` laid out as `like`: this rank's shard where `like` is a DTensor (a collective), the
    tensor itself otherwise. Checkpoints hold whole tensors, so any world size can resume them."""
    if not is_sharded(like):
        return full
    from torch.distributed.tensor import (
        distribute_tensor,  # FSDP2 (torch ≥ 2.6), for multi-GPU runs only
    )

    return distribute_tensor(full.to(like.dtype), like.device_mesh, like.placements)


# ---------------------------------------------------------------------------------- scalars


def mean_scalar(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of a scalar log value over ranks (identity without a process group)."""
    if not info.enabled:
        return value
    value = full_tensor(value).detach().float().clone()
    dist.all_reduce(value)
    return value / info.world_size


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if `flag` is true on at least one (e.g. "time is up")."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
