"""Small helpers every model shares: GroupNorm sizing, zero-init, activation checkpointing and
`torch.compile` with a fallback to eager when compilation is unavailable or fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_leaves, tree_map  # torch's own nested-argument walker
from torch.utils.checkpoint import checkpoint

from genlab.errors import GenlabError, InvalidArgument


def group_norm(channels: int, max_groups: int = 32, eps: float = 1e-6) -> nn.GroupNorm:
    """GroupNorm with the largest group count ≤ max_groups that divides `channels`."""
    return nn.GroupNorm(math.gcd(channels, max_groups), channels, eps=eps)


def zero_(module: nn.Module) -> nn.Module:
    """Set every parameter of `module` to zero (for residual branches that start as identity)."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def require_cond(cond: dict, key: str) -> torch.Tensor:
    """cond[key] for a denoiser's conditioning dict, or InvalidArgument naming what is missing."""
    if key not in cond or cond[key] is None:
        raise InvalidArgument("cond", f"a dict with {key!r} for this model", sorted(cond))
    return cond[key]


def weights_fingerprint(module: nn.Module) -> str:
    """A short hash of a model's config (`module.config.to_dict()`) and weights: what was made
    with one model (a latent cache) can be refused by any other."""
    h = hashlib.sha256(json.dumps(module.config.to_dict(), sort_keys=True).encode())
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def maybe_checkpoint(fn: Callable, *args, enabled: bool = False):
    """Run fn(*args), recomputing its activations in backward when `enabled` (saves memory)."""
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


def compile_blocks(model: nn.Module, block_lists: list[nn.ModuleList], **compile_kwargs) -> bool:
    """Compile each repeated block in place (regional compilation: one block's code is compiled
    once and reused for its siblings, so compile time does not grow with depth).

    Returns False, and leaves the model eager, when torch.compile is unavailable; failures that
    only show at the first call are for `run_with_compile_fallback` to catch.
    """
    if not hasattr(torch, "compile") or sys.platform == "win32":
        warnings.warn("torch.compile unavailable; running eager", stacklevel=2)
        return False
    compile_kwargs.setdefault("dynamic", False)  # shapes are static in training and sampling
    # Blocks of one class share their code object, and so dynamo's cache: each distinct input
    # shape (a U-Net's stages differ in width and resolution) is one more entry, and past the
    # recompile limit (8 by default) dynamo silently leaves the rest eager.
    n_blocks = sum(len(blocks) for blocks in block_lists)
    config = torch._dynamo.config
    if hasattr(config, "recompile_limit"):
        config.recompile_limit = max(config.recompile_limit, 4 * n_blocks + 8)
    for blocks in block_lists:
        for block in blocks:
            block.compile(**compile_kwargs)
    model._genlab_compiled = True
    return True


# inductor settings for sampling on a CPU (torch.compile's `options`): kernels read the thread
# count at run time, so one build (and its entry in inductor's on-disk FX graph cache, which
# otherwise keys on torch.get_num_threads()) serves every thread count: the compile is paid once
# per machine, not once per setting (checked: a 1-thread build is a cache hit at 2 threads).
CPU_INFERENCE_OPTIONS: dict[str, Any] = {"cpp.dynamic_threads": True}

# Rows per call of a compiled CPU graph (`compile_for_inference`'s micro_batch): world-t2i's
# compiled U-Net ran 64 rows (32 images with guidance) in 1,090 ms of CPU time as one batch, and
# in 946 ms as four calls of 16 (8: about the same), 1 thread, 2026-12-08
# (docs/experiments/2026-12-08-cpu-compile.md): the fused elementwise and norm kernels are
# memory-bound, and 16 rows of activations stay in the CPU's caches where 64 do not.
CPU_MICRO_BATCH = 16
# Micro-batches only up to this many torch threads: with more, every call's OpenMP regions make
# the threads wait on each other once more; on the loaded 2-core CPU at 2 threads, micro-batches
# of 16 drew 0.58-0.71× diffusers' images/s against 1.14× for one call (same docs record), and
# no quiet 2-thread measurement shows a gain.
MICRO_BATCH_MAX_THREADS = 1


def compile_for_inference(
    model: nn.Module,
    fullgraph: bool = False,
    freeze: bool = False,
    options: dict[str, Any] | None = None,
    micro_batch: int | None = None,
    micro_batch_max_threads: int | None = None,
    **kwargs,
) -> bool:
    """Compile the whole model in place for inference on a CPU: one graph (`fullgraph` for a
    model dynamo traces without a break) that inductor fuses across blocks (norm + SiLU, the
    reshapes around attention, the scale-shift and residual elementwise ops), static shapes (a
    batch shape compiles at its first call), `CPU_INFERENCE_OPTIONS`. inductor's layout
    optimisation runs the convolutions channels-last on a CPU with oneDNN.

    `micro_batch`: at up to `micro_batch_max_threads` torch threads (default
    `MICRO_BATCH_MAX_THREADS`; the thread count is read at each call), a call on more rows runs
    as calls of that many (and one for the rest), their outputs concatenated: faster where
    activations then fit in the caches (`CPU_MICRO_BATCH`), and one compiled shape serves every
    batch that is a multiple of it. None or 0: one call.
    Every tensor argument (also inside a dict, list or tuple) whose first dimension is the
    batch's is split; the others are passed whole.

    `freeze`: inductor's freezing (weights as constants: oneDNN-prepacked convolutions with
    fused activations). It is a process-wide inductor setting (torch.compile's `options` do not
    reach it), used only by graphs compiled without autograd, and inductor's FX graph cache
    skips frozen graphs, so every process compiles them again.

    Returns False, leaving the model eager, when torch.compile is unavailable; failures at the
    first call are for `run_with_compile_fallback`. A `backend` or `mode` in kwargs replaces
    inductor's options (torch.compile takes one or the other)."""
    if micro_batch is not None and micro_batch < 0:
        raise InvalidArgument("micro_batch", "an integer ≥ 0 (0: one call)", micro_batch)
    if micro_batch_max_threads is not None and micro_batch_max_threads < 1:
        raise InvalidArgument("micro_batch_max_threads", "an integer ≥ 1", micro_batch_max_threads)
    if not hasattr(torch, "compile") or sys.platform == "win32":
        warnings.warn("torch.compile unavailable; running eager", stacklevel=2)
        return False
    kwargs.setdefault("dynamic", False)
    if "backend" not in kwargs and "mode" not in kwargs:
        kwargs["options"] = {**CPU_INFERENCE_OPTIONS, **(options or {})}
    elif options:
        kwargs["options"] = options
    if freeze:
        import torch._inductor.config as inductor_config  # inductor loads on first compile only

        inductor_config.freezing = True
    nn.Module.compile(model, fullgraph=fullgraph, **kwargs)
    if micro_batch:
        # Split outside the compiled graph: inside it, dynamo would unroll the loop into one
        # graph as large as the whole batch's.
        max_threads = micro_batch_max_threads or MICRO_BATCH_MAX_THREADS
        model._compiled_call_impl = in_micro_batches(
            model._compiled_call_impl, micro_batch, max_threads
        )
    model._genlab_compiled = True
    return True


def in_micro_batches(fn: Callable, rows: int, max_threads: int | None = None) -> Callable:
    """`fn(*args, **kwargs)` on at most `rows` rows at a time (while torch runs at most
    `max_threads` threads, if given; else one call): the tensors among the arguments
    (in dicts, lists and tuples too) whose first dimension is the batch's (the first tensor
    argument's) are split along it, the rest passed whole; the outputs are concatenated (a
    tensor, or a tuple/list/dict of tensors)."""

    def joined(first, *rest):
        return torch.cat([first, *rest]) if isinstance(first, torch.Tensor) else first

    def call(*args, **kwargs):
        first = next((x for x in tree_leaves((args, kwargs)) if isinstance(x, torch.Tensor)), None)
        too_many_threads = max_threads is not None and torch.get_num_threads() > max_threads
        if too_many_threads or first is None or first.dim() == 0 or first.shape[0] <= rows:
            return fn(*args, **kwargs)
        batch = first.shape[0]

        def part(start: int):
            def rows_of(x):
                if isinstance(x, torch.Tensor) and x.dim() and x.shape[0] == batch:
                    return x[start : start + rows]
                return x

            return tree_map(rows_of, (args, kwargs))

        outs = []
        for start in range(0, batch, rows):
            a, kw = part(start)
            outs.append(fn(*a, **kw))
        return tree_map(joined, outs[0], *outs[1:])

    return call


def uncompile(model: nn.Module) -> None:
    """Undo `compile_blocks`: every submodule goes back to its eager forward."""
    for m in model.modules():
        if getattr(m, "_compiled_call_impl", None) is not None:
            m._compiled_call_impl = None
    model._genlab_compiled = False
    with contextlib.suppress(Exception):  # torch internals vary between versions
        torch._dynamo.reset()


def compile_failure(e: BaseException) -> str:
    """A compiler error in one line: its type and the first two lines of its message."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {' '.join(lines[:2])[:300]}"


def run_with_compile_fallback(model: nn.Module, fn: Callable, *args, **kwargs):
    """Call fn(*args); if a compiled model fails to compile, revert to eager, warn, and retry.

    The reason is kept in `model.compile_error` (None while compilation works).
    """
    try:
        return fn(*args, **kwargs)
    except GenlabError:  # bad input, not the compiler
        raise
    except Exception as e:
        if not getattr(model, "_genlab_compiled", False):
            raise
        reason = compile_failure(e)
        warnings.warn(f"torch.compile failed ({reason}); falling back to eager", stacklevel=2)
        model.compile_error = reason
        uncompile(model)
        return fn(*args, **kwargs)
