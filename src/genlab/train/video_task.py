"""Text-to-video diffusion on the built-in world: the video diffusion task and a staged clip source
(images → short clips → longer clips, one length per batch) for progressive training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from genlab.data.parallel import spawn_map
from genlab.diffusion import NoiseSchedule, diffusion_loss
from genlab.errors import InvalidArgument
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.text import TextEncoder, Tokenizer
from genlab.train.data import BatchSource
from genlab.train.task import Task
from genlab.world import Scene, canonical_caption, caption, render
from genlab.world.video import render_video, sample_video_scene

PAD_ID = 0


@dataclass
class Stage:
    """One stage of progressive training: from `start_step` on, each batch has one clip length
    drawn from `lengths` (a bucket), so no clip is padded. Length 1 is a still image."""

    start_step: int
    lengths: tuple[int, ...]


class StagedClipSource(BatchSource):
    """World clips whose length follows the training stage. Endless (length None), so the trainer
    asks for samples in order: index i is sample i of the run and step = i // batch_size decides
    the stage and the bucket, which keeps resume exact. Scene i % corpus_size is rendered (and
    cached) at the clip length; its caption is drawn anew with (seed, i), so each epoch sees other
    templates. One-frame items are images: their captions name no motion."""

    length = None
    prefetch = True  # fetch is a pure function of the indices (numpy RNGs seeded per sample)

    def __init__(
        self,
        stages: list[Stage],
        batch_size: int,
        tokenizer: Tokenizer,
        max_length: int,
        *,
        size: int = 32,
        corpus_size: int = 4000,
        seed: int = 0,
        n_objects=(1, 2),
        motions=None,
        max_cached: int = 50_000,
    ):
        if not stages or stages[0].start_step != 0:
            raise InvalidArgument("stages", "a list starting at step 0", stages)
        self.stages = sorted(stages, key=lambda s: s.start_step)
        self.batch_size, self.tokenizer, self.max_length = batch_size, tokenizer, max_length
        self.size, self.corpus_size, self.seed = size, corpus_size, seed
        self.n_objects, self.motions = n_objects, motions
        self.max_cached = max_cached  # rendered clips kept in memory (a bound for big corpora)
        self._cache: dict[tuple[int, int], np.ndarray] = {}
        self._scenes: dict = {}  # index -> Scene: sampling one costs more than captioning it

    def stage_of(self, step: int) -> Stage:
        return [s for s in self.stages if s.start_step <= step][-1]

    def length_at(self, step: int) -> int:
        """The clip length of every sample in step `step`'s batch (bucket drawn with (seed, step))."""
        lengths = self.stage_of(step).lengths
        return lengths[int(np.random.default_rng([self.seed, step, 11]).integers(len(lengths)))]

    def scene(self, index: int):
        if index in self._scenes:
            return self._scenes[index]
        rng = np.random.default_rng([self.seed, index])
        scene = sample_video_scene(
            rng, n_objects=self.n_objects, motions=self.motions, exclude_held_out=True
        )
        if len(self._scenes) < self.max_cached:
            self._scenes[index] = scene
        return scene

    def clip(self, index: int, num_frames: int) -> np.ndarray:
        """(T, S, S, 3) uint8 frames of corpus scene `index` (cached)."""
        key = (index, num_frames)
        if key in self._cache:
            return self._cache[key]
        scene = self.scene(index)
        if num_frames == 1:
            frames = render(scene, self.size)[None]
        else:
            frames = render_video(scene, num_frames, self.size)
        if len(self._cache) < self.max_cached:
            self._cache[key] = frames
        return frames

    def lengths(self) -> list[int]:
        """Every clip length some stage asks for."""
        return sorted({n for stage in self.stages for n in stage.lengths})

    def prerender(self, workers: int | None = None, progress: bool = True) -> int:
        """Render every corpus scene at every stage's clip length into the cache, over a process
        pool ("spawn", safe next to CUDA), so that the training loop only indexes and stacks.
        Returns the number of clips cached (bounded by `max_cached`)."""

        lengths = self.lengths()
        n = min(self.corpus_size, self.max_cached // max(1, len(lengths)))
        workers = workers or max(1, min(os.cpu_count() or 1, 32))
        chunk = 500
        jobs = [
            (s, min(s + chunk, n), self.seed, self.size, lengths, self.n_objects, self.motions)
            for s in range(0, n, chunk)
        ]
        with tqdm(total=n, desc="rendering clips", unit="scene", disable=not progress) as bar:
            for part in spawn_map(_render_clips, jobs, workers):
                self._cache.update(part)
                bar.update(len(part) // len(lengths))
        return len(self._cache)

    def fetch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = [int(i) for i in indices]
        T = self.length_at(indices[0] // self.batch_size)
        clips, texts = [], []
        for i in indices:
            k = i % self.corpus_size
            scene = self.scene(k)
            if T == 1:  # an image: the caption must not promise motion
                scene = Scene(scene.objects, scene.background)
            clips.append(self.clip(k, T))
            texts.append(caption(scene, np.random.default_rng([self.seed, i, 3])))
        tokens = self.tokenizer(texts, self.max_length).ids
        return {"videos": torch.from_numpy(np.stack(clips)), "tokens": tokens}


def _render_clips(job) -> dict[tuple[int, int], np.ndarray]:
    """Worker of StagedClipSource.prerender: scenes [start, stop) at each clip length."""
    start, stop, seed, size, lengths, n_objects, motions = job
    source = StagedClipSource(
        [Stage(0, (1,))], 1, None, 0, size=size, corpus_size=stop, seed=seed,
        n_objects=n_objects, motions=motions, max_cached=0,
    )  # fmt: skip
    return {(i, n): source.clip(i, n) for i in range(start, stop) for n in lengths}


class TextToVideoTask(Task):
    """ε/v/x₀ diffusion loss of `denoiser(x_t, t, text_encoder(caption))` (a video DiT or U-Net)
    over clips (B, 3, T, H, W), both trained jointly, with 10% of captions dropped to the learned null
    (classifier-free guidance, Ho & Salimans 2022). Batches: `videos` uint8 (B, T, H, W, 3),
    `tokens` (B, L)."""

    def __init__(
        self,
        denoiser: torch.nn.Module,
        text_encoder: TextEncoder,
        schedule: NoiseSchedule,
        prediction_type: str = "v_prediction",
        *,
        cond_dropout: float = 0.1,
        name: str = "world-t2v",
        image_size: int = 32,
        num_frames: int = 8,
        sample_prompts: list[str] | None = None,
        stages: list[Stage] | None = None,
        first_frame_prob: float = 0.0,
    ):
        if not 0.0 <= first_frame_prob <= 1.0:
            raise InvalidArgument("first_frame_prob", "a probability in [0, 1]", first_frame_prob)
        if first_frame_prob and not getattr(denoiser.config, "frame_cond", False):
            raise InvalidArgument(
                "first_frame_prob", "0 for a denoiser without frame_cond", first_frame_prob
            )
        self.first_frame_prob = first_frame_prob
        self.denoiser, self.text_encoder = denoiser, text_encoder
        self.schedule, self.prediction_type = schedule, prediction_type
        self.cond_dropout = cond_dropout
        self.pipeline = Text2VideoPipeline(
            denoiser,
            text_encoder,
            schedule,
            prediction_type,
            name=name,
            image_size=image_size,
            num_frames=num_frames,
        )
        self.sample_prompts = sample_prompts or []
        self.stages = stages or []

    def modules(self):
        return {"denoiser": self.denoiser, "text_encoder": self.text_encoder}

    def ema_modules(self):
        return ["denoiser", "text_encoder"]

    def training_step(self, batch, optimizer_name):
        videos, ids = batch["videos"], batch["tokens"].long()
        # (B, T, H, W, 3) uint8 -> (B, 3, T, H, W) in [-1, 1]
        x0 = videos.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        B = x0.shape[0]
        dropped = torch.rand(B, device=ids.device) < self.cond_dropout
        ids = ids.masked_fill(dropped[:, None], PAD_ID)  # no words -> the learned null
        tokens, mask, pooled = self.text_encoder(ids, ids != PAD_ID)
        cond = {"tokens": tokens, "mask": mask, "pooled": pooled}
        if self.first_frame_prob and x0.shape[2] > 1:
            # image → video: the clean first frame given to a share of the clips (never to
            # stills, whose only frame it would be: there is nothing to learn from copying it)
            given = torch.rand(B, device=x0.device) < self.first_frame_prob
            cond.update(first_frame=x0[:, :, 0], first_frame_given=given.float())
        t = torch.randint(0, self.schedule.num_train_timesteps, (B,), device=x0.device)
        noise = torch.randn_like(x0)  # on x0's device (the same numbers as before on a CPU)
        loss = diffusion_loss(
            self.denoiser, x0, cond, self.schedule, self.prediction_type, noise=noise, t=t
        )
        return loss, {"frames": float(x0.shape[2])}

    def sample_grid(self):
        if not self.sample_prompts:
            return None
        result = self.pipeline(self.sample_prompts, num_inference_steps=10, seed=0)
        return [f for video in result.frames for f in video]  # one row of frames per prompt

    def export(self):
        return self.pipeline.checkpoint()

    def model_card(self) -> str:
        stages = "; ".join(
            f"from step {s.start_step}: {'/'.join(map(str, s.lengths))} frames" for s in self.stages
        )
        return "\n".join(
            [
                f"Generates {self.pipeline.image_size}×{self.pipeline.image_size} videos "
                f"({self.pipeline.valid_frames[0]}–{self.pipeline.max_frames} frames, default "
                f"{self.pipeline.num_frames}) of the built-in world from text prompts.",
                "",
                f"- denoiser: {describe_denoiser(self.denoiser)}, "
                f"{_count(self.denoiser):,} parameters",
                f"- text encoder: {_count(self.text_encoder):,} parameters, "
                f"{len(self.text_encoder.tokenizer)} words",
                f"- schedule: {self.schedule.name}; prediction: {self.prediction_type}; "
                f"condition dropout {self.cond_dropout:g}",
                f"- progressive stages: {stages}",
                "",
                "```python",
                "import genlab",
                "",
                f'pipe = genlab.load("{self.pipeline.name}")',
                'frames = pipe("a red circle moving right", num_frames=8, seed=0).frames[0]',
                "```",
            ]
        )


def describe_denoiser(denoiser: torch.nn.Module) -> str:
    """One line of a model card: the video denoiser's architecture and sizes."""
    cfg = denoiser.config
    if cfg.arch == "video-unet":
        conv = ""
        if cfg.temporal_conv:
            steer = (
                " steered by learned queries over the prompt's tokens" if cfg.temporal_text else ""
            )
            conv = f"a 3-D convolution block{steer} and "
        return (
            f"`video-unet` (the image U-Net frame by frame, {conv}temporal attention "
            "after each stage), "
            f"{cfg.model_channels} base channels × {'-'.join(map(str, cfg.channel_mult))}, "
            f"{cfg.num_res_blocks} res block(s) per level"
        )
    return (
        f"`video-dit` ({cfg.attention} attention), depth {cfg.depth}, width {cfg.hidden_size}, "
        f"patch {cfg.patch_size_t}×{cfg.patch_size}×{cfg.patch_size}"
    )


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def video_vocabulary(seed: int = 0, n_scenes: int = 4000) -> Tokenizer:
    """The world's vocabulary plus every word the captioner writes for still and moving scenes."""
    rng = np.random.default_rng([seed, 8])
    texts = []
    for _ in range(n_scenes):
        scene = sample_video_scene(rng)
        texts += [caption(scene, rng), caption(Scene(scene.objects, scene.background), rng)]
    return Tokenizer.from_texts(texts)


def video_sample_prompts(n: int = 4, seed: int = 1234) -> list[str]:
    """Fixed canonical captions of one-object moving scenes: the progress grid's prompts."""
    rng = np.random.default_rng(seed)
    return [canonical_caption(sample_video_scene(rng, n_objects=1)) for _ in range(n)]
