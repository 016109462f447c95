"""Training recipes of the evaluation networks (world-classifier, digits-classifier, world-clip),
run by the shared Trainer: `genlab train --recipe world-classifier`; each exports fp16 weights and
a model card with the network's own held-out accuracy. The networks live in genlab/eval/.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from tqdm import tqdm

from genlab.data.digits import DigitsDataset
from genlab.eval.classifier import CONFIGS, ImageClassifier, classifier_loss, world_targets
from genlab.text.clip import DomainCLIP, retrieval_recall
from genlab.text.tokenizer import Tokenizer
from genlab.train.data import BatchSource, TensorSource
from genlab.train.recipes import RecipeOptions, TrainJob, apply_options, register_recipe
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig
from genlab.world import caption
from genlab.world.render import render
from genlab.world.sample import sample_scene

EVAL_SEED = 1_000_003  # held-out evaluation scenes: a seed no training set uses


def _render_chunk(args):
    n, seed, size, with_captions = args
    rng = np.random.default_rng(seed)
    images, targets, captions = [], [], []
    for _ in range(n):
        scene = sample_scene(rng, exclude_held_out=False)
        images.append(render(scene, size=size))
        targets.append(world_targets(scene))
        if with_captions:
            captions.append(caption(scene, rng))
    # numpy, not torch: tensors sent back from a process pool travel as file descriptors
    stacked = {k: np.stack([t[k].numpy() for t in targets]) for k in targets[0]}
    return np.stack(images), stacked, captions


def render_world(
    n: int,
    seed: int,
    size: int = 32,
    with_captions: bool = False,
    workers: int = 1,
    progress: bool = False,
):
    """n random world scenes *including* held-out pairs (evaluation nets must know every object):
    uint8 images (N,H,W,3), per-cell targets, and one random caption per scene if asked.
    Rendered in chunks of 2,000 (chunk k seeded by (seed, k)), over `workers` processes."""
    chunk = 2000
    jobs = [
        (min(chunk, n - i), [seed, k], size, with_captions)
        for k, i in enumerate(range(0, n, chunk))
    ]
    bar = tqdm(total=n, desc=f"rendering {n} scenes", disable=not progress, leave=False)
    parts = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for part in pool.map(_render_chunk, jobs):
                parts.append(part)
                bar.update(len(part[2]) or len(part[0]))
    else:
        for job in jobs:
            parts.append(_render_chunk(job))
            bar.update(job[0])
    bar.close()
    out = {"images": torch.from_numpy(np.concatenate([p[0] for p in parts]))}
    for key in parts[0][1]:
        out[key] = torch.from_numpy(np.concatenate([p[1][key] for p in parts]))
    return out, [c for p in parts for c in p[2]]


def _scale(options: RecipeOptions, tiny, cpu, gpu):
    """Pick the tiny, CPU or GPU sizes of a recipe (GPU when the run will use CUDA)."""
    if options.tiny:
        return tiny
    on_gpu = options.device.startswith("cuda") or (
        options.device == "auto" and torch.cuda.is_available()
    )
    return gpu if on_gpu else cpu


def _workers() -> int:
    return max(1, min(16, (os.cpu_count() or 1)))


def _augment(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B,H,W,3) -> float (B,3,H,W) in [-1,1], half the batch with Gaussian noise
    (σ up to 0.1) so that features stay stable on imperfect generated images."""
    x = images.permute(0, 3, 1, 2).float() / 127.5 - 1
    sigma = torch.rand(len(x), 1, 1, 1, device=x.device) * 0.1
    sigma = sigma * (torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5)
    return (x + sigma * torch.randn_like(x)).clamp(-1, 1)


class _EvalNetTask(Task):
    """One evaluation network, `self.model`, averaged by the EMA under `module_name`; its model
    card is `card_intro` over a table of the held-out `self.metrics` the export measured."""

    module_name: str
    card_intro: str
    metric_column: str = "held-out metric"

    def modules(self):
        return {self.module_name: self.model}

    def ema_modules(self):
        return [self.module_name]

    def model_card(self) -> str:
        lines = [self.card_intro, "", f"| {self.metric_column} | value |", "|---|---|"]
        for k, v in self.metrics.items():
            lines.append(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |")
        return "\n".join(lines)


class ClassifierTask(_EvalNetTask):
    """Cross-entropy over every head of the evaluation classifier; exports it with its accuracy."""

    module_name = "classifier"
    card_intro = "Evaluation network: penultimate features (FID/KID) and class probabilities (IS)."

    def __init__(self, name: str, eval_data: dict[str, torch.Tensor]):
        self.name = name
        self.model = ImageClassifier(CONFIGS[name]())
        self.eval_data = eval_data
        self.metrics: dict[str, float] = {}

    def training_step(self, batch, optimizer_name):
        targets = {k: v for k, v in batch.items() if k != "images"}
        return classifier_loss(self.model, _augment(batch["images"]), targets)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        data = {k: v.to(self.device) for k, v in self.eval_data.items()}
        images = data["images"].permute(0, 3, 1, 2).contiguous()  # uint8 (N,3,H,W)
        outs = [self.model(images[i : i + 500]) for i in range(0, len(images), 500)]
        out = {k: torch.cat([o[k] for o in outs]) for k in outs[0]}
        metrics = {}
        if self.model.config.domain == "world":
            n = len(images)
            obj = out["object"].view(n, 9, -1).argmax(-1)
            size = out["size"].view(n, 9, -1).argmax(-1)
            bg = out["background"].argmax(-1)
            cell_ok = (obj == data["object"]) & (size == data["size"])
            metrics["cell accuracy (object class + size, per grid cell)"] = float(
                cell_ok.float().mean()
            )
            metrics["object accuracy (occupied cells)"] = float(
                (obj == data["object"])[data["object"] > 0].float().mean()
            )
            metrics["count accuracy"] = float(
                ((obj > 0).sum(1) == (data["object"] > 0).sum(1)).float().mean()
            )
            metrics["background accuracy"] = float((bg == data["background"]).float().mean())
            metrics["whole-scene accuracy"] = float(
                (cell_ok.all(1) & (bg == data["background"])).float().mean()
            )
        else:
            metrics["digit accuracy"] = float(
                (out["digit"].argmax(-1) == data["digit"]).float().mean()
            )
        metrics["held-out images"] = len(images)
        return metrics

    @torch.no_grad()
    def calibrate(self) -> float:
        """Set feature_scale so that held-out real images have features of mean square 1."""
        images = self.eval_data["images"].to(self.device).permute(0, 3, 1, 2).contiguous()
        self.model.config.feature_scale = 1.0
        feats = torch.cat(
            [self.model.embed(images[i : i + 500]) for i in range(0, len(images), 500)]
        )
        self.model.config.feature_scale = float(feats.float().pow(2).mean().rsqrt())
        return self.model.config.feature_scale

    def export(self):
        self.calibrate()
        self.metrics = self.evaluate()
        config = {
            "kind": "eval-classifier",
            "pipeline": "eval-classifier",
            "name": self.name,
            "model": self.model.config_dict(),
            "metrics": self.metrics,
        }
        return dict(self.model.state_dict()), config


def _config(options: RecipeOptions, name: str, steps: int, batch: int, lr: float) -> TrainConfig:
    config = TrainConfig(
        steps=steps,
        batch_size=batch,
        lr=lr,
        warmup_steps=min(100, steps // 10),
        lr_schedule="cosine",
        weight_decay=0.01,
        ema_decay=0.995,
        log_every=50,
        export_dtype="float16",
    )
    return apply_options(config, options, name)


@register_recipe("world-classifier")
def world_classifier(options: RecipeOptions) -> TrainJob:
    """Evaluation classifier over world scenes (per-cell object and size, background); GPU or CPU sizes."""
    n_train, n_eval, steps, batch = _scale(
        options, (512, 128, 20, 64), (30_000, 2_000, 1_000, 64), (300_000, 5_000, 8_000, 256)
    )
    train, _ = render_world(
        n_train, seed=options.seed, workers=_workers(), progress=options.progress
    )
    held, _ = render_world(n_eval, seed=EVAL_SEED, workers=_workers())
    task = ClassifierTask("world-classifier", held)
    config = _config(options, "world-classifier", steps, batch, 2e-3)
    config.extra = {"training scenes": f"{n_train:,} rendered (held-out pairs included)"}
    return TrainJob(task, TensorSource(train), config)


def _digits(split: str, size: int) -> dict[str, torch.Tensor]:
    ds = DigitsDataset(size=size, split=split)
    items = [ds[i] for i in range(len(ds))]
    images = torch.stack([it["image"] for it in items])  # (N, C, H, W) in [-1, 1]
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
    labels = torch.tensor([int(it["label"]) for it in items])
    return {"images": images.contiguous(), "digit": labels}


@register_recipe("digits-classifier")
def digits_classifier(options: RecipeOptions) -> TrainJob:
    """Evaluation classifier for digits models (sklearn digits at 28 px), ~1 CPU minute."""
    train, test = _digits("train", 28), _digits("test", 28)
    task = ClassifierTask("digits-classifier", test)
    steps = 20 if options.tiny else 400
    config = _config(options, "digits-classifier", steps, 64, 2e-3)
    config.extra = {"training images": f"{len(train['images']):,} (sklearn digits, train split)"}
    return TrainJob(task, TensorSource(train), config)


class CaptionSource(BatchSource):
    """Pre-rendered images with their captions: batches {"images": uint8 (B,H,W,3), "captions": list}."""

    def __init__(self, images: torch.Tensor, captions: list[str]):
        self.images, self.captions, self.length = images, captions, len(captions)

    def fetch(self, indices):
        return {
            "images": self.images[indices],
            "captions": [self.captions[int(i)] for i in indices],
        }


class CLIPTask(_EvalNetTask):
    """Symmetric InfoNCE on (world image, caption) pairs; exports with held-out retrieval recall."""

    module_name = "clip"
    card_intro = "Domain CLIP: CLIP score (100 · cosine) and text→image retrieval on the world."
    metric_column = "held-out metric (text→image)"

    def __init__(self, eval_images: torch.Tensor, eval_captions: list[str], **overrides):
        self.model = DomainCLIP(**overrides)
        self.eval_images, self.eval_captions = eval_images, eval_captions
        self.metrics: dict[str, float] = {}

    def training_step(self, batch, optimizer_name):
        return self.model.contrastive_loss(_augment(batch["images"]), batch["captions"])

    def export(self):
        images = self.eval_images.permute(0, 3, 1, 2).contiguous()
        pool = 1000 if len(images) >= 1000 else len(images)
        recalls = [
            retrieval_recall(self.model, images[i : i + pool], self.eval_captions[i : i + pool])
            for i in range(0, len(images) - pool + 1, pool)
        ]
        self.metrics = {k: float(np.mean([r[k] for r in recalls])) for k in recalls[0]}
        self.metrics["candidate pool (images per query)"] = pool
        self.metrics["held-out pairs"] = pool * len(recalls)
        tensors, config = self.model.export()
        config.update({"pipeline": "domain-clip", "name": "world-clip", "metrics": self.metrics})
        return tensors, config


@register_recipe("world-clip")
def world_clip(options: RecipeOptions) -> TrainJob:
    """Domain CLIP (image tower + text encoder, InfoNCE) on world captions; GPU or CPU sizes."""
    n_train, n_eval, steps, batch = _scale(
        options, (512, 64, 20, 64), (60_000, 2_000, 2_000, 128), (400_000, 5_000, 8_000, 512)
    )
    train, train_caps = render_world(
        n_train,
        seed=options.seed + 1,
        with_captions=True,
        workers=_workers(),
        progress=options.progress,
    )
    held, held_caps = render_world(
        n_eval, seed=EVAL_SEED + 1, with_captions=True, workers=_workers()
    )
    # The world tokenizer's vocabulary plus every word the captioner used (synonyms, templates).
    overrides = {"vocab": Tokenizer.from_texts(train_caps).vocab}
    if options.tiny:
        overrides.update(channels=(8, 16), embed_dim=16, text_width=16, text_depth=1, text_heads=2)
    task = CLIPTask(held["images"], held_caps, **overrides)
    config = _config(options, "world-clip", steps, batch, 1e-3)
    config.extra = {"training pairs": f"{n_train:,} rendered scenes, one random caption each"}
    return TrainJob(task, CaptionSource(train["images"], train_caps), config)
