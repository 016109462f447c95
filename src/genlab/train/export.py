"""The Trainer's outputs (a mixin of genlab.train.trainer.Trainer): progress sample grids, the final
exported model (EMA weights, whole tensors) and the model card written beside it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import torch

from genlab.io import atomic_path, atomic_write_text, image_grid, save_checkpoint
from genlab.train import distributed as D
from genlab.train.monitor import _side, hardware_description
from genlab.train.task import count_parameters


class TrainerOutputs:
    """Sample grids, the export and its model card, from the Trainer's modules and EMA."""

    @contextmanager
    def _ema_in_eval_mode(self, grad_mode):
        """Every module in eval mode with the EMA weights swapped in, inside `grad_mode`
        (torch.inference_mode() or torch.no_grad()); the live weights and training mode after."""
        for m in self.modules.values():
            m.eval()
        try:
            with self.ema.swapped_in(), grad_mode:
                yield
        finally:
            for m in self.modules.values():
                m.train()

    def save_samples(self) -> Path | None:
        """Rank 0 draws the task's sample grid with EMA weights and writes it; under FSDP every
        rank draws (the sharded forwards are collectives) and rank 0 writes."""
        if not (self.dist.is_main or self.sharded):
            return None
        with self._ema_in_eval_mode(torch.inference_mode()):
            images = self.task.sample_grid()
        if not images or not self.dist.is_main:
            return None
        path = self.out_dir / "samples" / f"step_{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = image_grid(images, scale=max(1, 128 // _side(images[0])))
        with atomic_path(path) as tmp:
            grid.save(tmp, format="PNG")
        return path

    def export(self) -> Path | None:
        """Write the task's final checkpoint (EMA weights, whole tensors) and its model card into
        OUT (rank 0; under FSDP every rank calls it to gather the shards)."""
        c = self.config
        with self._ema_in_eval_mode(torch.no_grad()):
            exported = self.task.export()
        if exported is None:
            return None
        tensors, config = exported
        tensors = {k: D.full_tensor(v) for k, v in tensors.items()}
        if not self.dist.is_main:
            return None
        name = c.export_name or c.recipe or "model"
        config = dict(config)
        config.setdefault("name", name)
        config["training"] = {
            "recipe": c.recipe,
            "steps": self.step,
            "samples_seen": self.samples_seen,
            "batch_size": c.batch_size,
            "wall_time_s": round(self.wall_time, 1),
            "hardware": hardware_description(self.device, self.dist.world_size),
            "precision": ("bf16" if self.autocast_dtype else "fp32")
            + (", torch.compile" if self.compiled else ""),
        }
        if c.schedule_steps:  # the run stops part way along a longer learning-rate schedule
            config["training"]["schedule_steps"] = c.schedule_steps
        path = self.out_dir / f"{name}.safetensors"
        save_checkpoint(path, tensors, config, dtype=getattr(torch, c.export_dtype))
        atomic_write_text(path.with_suffix(".md"), self.model_card_text(name, config))
        return path

    def model_card_text(self, name: str, config: dict) -> str:
        c, t = self.config, config["training"]
        n_params = count_parameters(self.modules)
        lines = [
            f"# {name}",
            "",
            f"Trained by `genlab train --recipe {c.recipe}` with genlab's shared Trainer.",
            "",
            "| fact | value |",
            "|---|---|",
            f"| recipe | `{c.recipe}` |",
            f"| parameters | {n_params:,} |",
            f"| steps | {t['steps']:,} |",
            f"| images seen | {t['samples_seen']:,} |",
            f"| global batch | {c.batch_size} |",
            f"| learning rate | {c.lr:g} ({c.lr_schedule}, {c.warmup_steps} warm-up steps"
            + (f"; scheduled over {c.schedule_steps} steps" if c.schedule_steps else "")
            + (
                f"; the last {c.decay_steps} steps decayed to {c.min_lr_ratio * c.lr:g}"
                if c.decay_steps
                else ""
            )
            + (f"; warmed up again from step {c.rewarm_at}" if c.rewarm_at is not None else "")
            + ") |",
            f"| EMA decay | {c.ema_decay:g} |",
            f"| precision | {t['precision']} |",
            f"| hardware | {t['hardware']} |",
            f"| wall time | {t['wall_time_s']:.0f} s |",
            f"| skipped steps (NaN/spike guard) | {self.skipped} |",
            f"| weights | {c.export_dtype}, EMA |",
        ]
        for k, v in c.extra.items():
            lines.append(f"| {k} | {v} |")
        if self.log_history:
            last = self.log_history[-1]
            lines.append(f"| final training loss | {last.get('loss', float('nan')):.4f} |")
            lines.append(f"| throughput | {last['images_per_s']:.0f} images/s |")
        extra = self.task.model_card()
        if extra:
            lines += ["", extra.strip()]
        lines += ["", "Measured metrics: (added after evaluation)", ""]
        return "\n".join(lines)
