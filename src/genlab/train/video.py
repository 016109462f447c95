"""Text-to-video training on the built-in world: the video diffusion task, a staged clip source
(images → short clips → longer clips, one length per batch) and the progressive `world-t2v` recipes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from genlab.data.parallel import spawn_map
from genlab.diffusion import NoiseSchedule, diffusion_loss
from genlab.errors import InvalidArgument, check_choice
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.text import TextEncoder, Tokenizer
from genlab.train.data import BatchSource
from genlab.train.recipes import RecipeOptions, TrainJob, apply_options, register_recipe
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig, resolve_device

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
        from genlab.world.video import sample_video_scene

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
        from genlab.world import render
        from genlab.world.video import render_video

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
        import os

        from tqdm import tqdm

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
        from genlab.world import Scene, caption

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
    from genlab.world import Scene, caption
    from genlab.world.video import sample_video_scene

    rng = np.random.default_rng([seed, 8])
    texts = []
    for _ in range(n_scenes):
        scene = sample_video_scene(rng)
        texts += [caption(scene, rng), caption(Scene(scene.objects, scene.background), rng)]
    return Tokenizer.from_texts(texts)


def video_sample_prompts(n: int = 4, seed: int = 1234) -> list[str]:
    """Fixed canonical captions of one-object moving scenes: the progress grid's prompts."""
    from genlab.world import canonical_caption
    from genlab.world.video import sample_video_scene

    rng = np.random.default_rng(seed)
    return [canonical_caption(sample_video_scene(rng, n_objects=1)) for _ in range(n)]


# --------------------------------------------------------------------------- recipes


@dataclass
class WorldT2VSpec:
    """Sizes of a world text-to-video recipe. `stages` are (fraction of steps, clip lengths)."""

    denoiser: dict = field(
        default_factory=lambda: dict(hidden_size=96, depth=3, num_heads=4, patch_size=8)
    )
    attention: str = "factored"
    # "video-dit", or "video-unet": an image U-Net frame by frame with temporal attention
    denoiser_arch: str = "video-dit"
    # A text-to-image model (a bundled name or a file) whose U-Net the video U-Net starts from
    # (inflated: temporal layers new, zero at the start) and whose text encoder it reads.
    init_image: str | None = None
    # video-unet: a 3-D convolution block before each temporal attention, and the prompt's
    # tokens read by learned queries to steer those blocks (VideoUNetConfig)
    temporal_conv: bool = False
    temporal_text: bool = False
    # "joint", "world-clip" (its frozen tower, motion words added and trained), "world-clip+words"
    # (and a trainable per-word residual) or "init-image" (init_image's encoder, frozen the same)
    text_encoder: str = "joint"
    text_width: int = 96
    text_depth: int = 2
    text_heads: int = 4
    max_length: int = 48
    image_size: int = 32
    num_frames: int = 8
    max_frames: int = 16
    stages: tuple = ((0.0, (1,)), (0.4, (4,)), (0.7, (8,)))
    steps: int = 80  # sized for ~15 minutes of a heavily shared 2-core CPU
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 100
    corpus: int = 4000
    n_objects: tuple = (1, 1)
    prerender: bool = False  # render the whole corpus up front over a process pool (GPU runs)
    first_frame_prob: float = 0.0  # > 0: a frame-conditioned denoiser, given frame 0 this often
    decay_steps: int = 0  # the last steps decay the learning rate (cosine, to 0.1×)
    residual_lr_scale: float = 1.0  # the word residual's learning rate, × the recipe's


TINY = dict(hidden_size=32, depth=1, num_heads=2, patch_size=4)


def image_model(name_or_path: str):
    """A text-to-image pipeline with a U-Net, for a video U-Net to start from (its weights)."""
    from genlab.models.unet import UNet
    from genlab.pipelines.registry import load as load_pipeline
    from genlab.pipelines.text2image import Text2ImagePipeline

    pipe = load_pipeline(name_or_path)
    if not isinstance(pipe, Text2ImagePipeline) or type(pipe.denoiser) is not UNet:
        raise InvalidArgument(
            "init_image", "a text-to-image model with a U-Net denoiser", name_or_path
        )
    return pipe


def build_world_t2v(name: str, spec: WorldT2VSpec, options: RecipeOptions) -> TrainJob:
    """Shared body of the world-t2v recipes: vocabulary, models, staged data, task, config."""
    from genlab.models import create_model

    t_start = time.monotonic()
    tiny = options.tiny
    resolve_device(options.device)  # fail now if CUDA is asked for and absent
    check_choice(
        "text_encoder", spec.text_encoder, ("joint", "world-clip", "world-clip+words", "init-image")
    )
    check_choice("denoiser_arch", spec.denoiser_arch, ("video-dit", "video-unet"))
    image = None
    if spec.init_image is not None:
        if spec.denoiser_arch != "video-unet" or spec.text_encoder != "init-image":
            raise InvalidArgument(
                "init_image",
                "a video-unet denoiser reading the image model's text encoder (text_encoder="
                "'init-image')",
                f"{spec.denoiser_arch}, text_encoder={spec.text_encoder!r}",
            )
        image = image_model(spec.init_image)
    elif spec.text_encoder == "init-image":
        raise InvalidArgument("text_encoder", "'init-image' only with an init_image", "no image")
    tokenizer = video_vocabulary()
    torch.manual_seed(options.seed)
    if image is not None:  # the image model's encoder (its null and word residual) + motion words
        from genlab.train.text2image import frozen_tower

        text_encoder = frozen_tower(
            image.text_encoder,
            extra_words=tokenizer.vocab,
            word_residual=image.text_encoder.word_residual is not None,
        )
        tokenizer = text_encoder.tokenizer
    elif spec.text_encoder.startswith("world-clip"):  # at every scale: it is small
        from genlab.train.text2image import pretrained_text_encoder

        text_encoder = pretrained_text_encoder(
            "world-clip",
            extra_words=tokenizer.vocab,
            word_residual=spec.text_encoder == "world-clip+words",
        )
        tokenizer = text_encoder.tokenizer
    else:
        text_kw = dict(width=spec.text_width, depth=spec.text_depth, num_heads=spec.text_heads)
        if tiny:
            text_kw = dict(width=32, depth=1, num_heads=2)
        text_encoder = TextEncoder(vocab=tokenizer.vocab, max_length=spec.max_length, **text_kw)
    size = 16 if tiny else spec.image_size
    video = dict(
        frame_cond=spec.first_frame_prob > 0,
        max_frames=spec.max_frames,
        context_dim=text_encoder.width,
        pooled_dim=text_encoder.width,
    )
    temporal = dict(temporal_conv=spec.temporal_conv, temporal_text=spec.temporal_text)
    if image is not None:  # the image U-Net's sizes at every scale: its weights must fit
        fields = {k: v for k, v in image.denoiser.config.to_dict().items() if k != "arch"}
        denoiser = create_model("video-unet-world-s", **{**fields, **video}, **temporal)
        new = denoiser.load_image_weights(image.denoiser.state_dict())
    elif spec.denoiser_arch == "video-unet":  # tiny: the registry's tiny size
        denoiser = create_model(
            "video-unet-tiny" if tiny else "video-unet-world-s",
            **({} if tiny else spec.denoiser),
            **video,
            **temporal,
        )
    else:
        denoiser = create_model(
            "video-dit-world-s",
            **(TINY if tiny else spec.denoiser),
            attention=spec.attention,
            input_size=size,
            **video,
        )
    config = TrainConfig(
        steps=12 if tiny else spec.steps,
        batch_size=4 if tiny else spec.batch_size,
        lr=spec.lr,
        warmup_steps=2 if tiny else min(spec.warmup_steps, spec.steps // 10),
        weight_decay=0.0,
        grad_clip=1.0,
        ema_decay=0.999,
        log_every=4 if tiny else 50,
        sample_every=0,
        checkpoint_every_s=0 if tiny else 120,
        export_dtype="float16",
        decay_steps=0 if tiny else spec.decay_steps,
    )
    apply_options(config, options, name)
    config.budget_start = options.started
    # tiny runs cap clips at 4 frames so that a smoke run stays within seconds
    stages = [
        Stage(int(round(frac * config.steps)), (min(max(lengths), 4),) if tiny else tuple(lengths))
        for frac, lengths in spec.stages
    ]
    source = StagedClipSource(
        stages,
        config.batch_size,
        tokenizer,
        spec.max_length,
        size=size,
        corpus_size=64 if tiny else (options.data_size or spec.corpus),
        seed=options.seed,
        n_objects=spec.n_objects,
        max_cached=max(50_000, 5 * (options.data_size or spec.corpus)),
    )
    if spec.prerender and not tiny:
        source.prerender(progress=options.progress)
    task = TextToVideoTask(
        denoiser,
        text_encoder,
        NoiseSchedule.create("cosine"),
        "v_prediction",
        name=name,
        image_size=size,
        num_frames=4 if tiny else spec.num_frames,
        sample_prompts=video_sample_prompts(2),
        stages=stages,
        first_frame_prob=spec.first_frame_prob,
    )
    config.extra = {
        "training clips": f"{source.corpus_size:,} world scenes ({spec.n_objects[0]}–"
        f"{spec.n_objects[1]} objects), {size}×{size}, captions redrawn every epoch",
        "text encoder": {
            "world-clip": "world-clip's text tower, frozen; the words it lacks added and trained",
            "world-clip+words": "world-clip's text tower, frozen; the words it lacks added and "
            "trained; a trainable per-word vector on its output tokens (zero at the start)",
            "init-image": f"{spec.init_image}'s (world-clip's tower with that model's null and "
            "word residual, trained on), frozen; the words it lacks added and trained",
        }.get(spec.text_encoder, "trained jointly with the denoiser"),
        "progressive stages": ", ".join(
            f"step {s.start_step}: {'/'.join(map(str, s.lengths))} frames" for s in stages
        ),
        "first-frame conditioning": f"the clean first frame given to {spec.first_frame_prob:.0%} "
        "of clips (image → video)"
        if spec.first_frame_prob
        else "none",
        "setup time": f"{time.monotonic() - t_start:.0f} s",
    }
    if image is not None:
        config.extra["started from"] = (
            f"the U-Net and text encoder of {spec.init_image} (image → video inflation: "
            f"{len(new)} new temporal-layer tensors, zero-initialised outputs)"
        )
    from genlab.train.text2image import speed_up_word_residual

    speed_up_word_residual(task, spec.residual_lr_scale, config)
    return TrainJob(task, source, config)


@register_recipe("world-t2v-cpu")
def world_t2v_cpu(options: RecipeOptions) -> TrainJob:
    """The CPU text-to-video model (bundled until 2026-11-27): world-clip's frozen text tower,
    video DiT depth 4, width 128, patch 4 (2.0M), one-object clips: images, 4-frame, then 8-frame
    clips (~80 min on 2 threads)."""
    spec = replace(
        WorldT2VSpec(),
        denoiser=dict(hidden_size=128, depth=4, num_heads=4, patch_size=4),
        text_encoder="world-clip",
        # step costs on 2 threads (batch 32): images 0.22 s, 4-frame 0.8 s, 8-frame 1.7 s
        stages=((0.0, (1,)), (1 / 3, (4,)), (5 / 9, (8,))),
        steps=4500,
        batch_size=32,
        lr=6e-4,
        warmup_steps=200,
        corpus=20_000,
        n_objects=(1, 1),
        prerender=True,
    )
    return build_world_t2v("world-t2v-cpu", spec, options)


@register_recipe("world-t2v-joint")
def world_t2v_joint(options: RecipeOptions) -> TrainJob:
    """The first CPU video model: a text encoder trained jointly, DiT patch 8 (0.9M); progressive
    images, 4-, 8-frame clips."""
    return build_world_t2v("world-t2v-joint", WorldT2VSpec(), options)


@register_recipe("world-t2v-full")
def world_t2v_full(options: RecipeOptions) -> TrainJob:
    """world-t2v-joint with full 3D attention instead of factored attention (the comparison)."""
    return build_world_t2v("world-t2v-full", replace(WorldT2VSpec(), attention="full"), options)


@register_recipe("world-t2v-long")
def world_t2v_long(options: RecipeOptions) -> TrainJob:
    """Progressive to 16 frames: images, 4-frame clips, then mixed 8/12/16-frame buckets (GPU)."""
    return build_world_t2v("world-t2v-long", _long_spec(), options)


def _long_spec() -> WorldT2VSpec:
    # A GPU run is normally ended by --time-budget long before `steps`: the stages start early
    # (images until step 600, 4-frame clips until 1,800) so that most of the time goes to the
    # long clips whatever the budget.
    return WorldT2VSpec(
        denoiser=dict(hidden_size=192, depth=6, num_heads=4, patch_size=4),
        text_width=192,
        text_depth=3,
        stages=((0.0, (1,)), (0.02, (4,)), (0.06, (8, 12, 16))),
        steps=30_000,
        batch_size=128,
        lr=5e-4,
        warmup_steps=200,
        corpus=20_000,
        n_objects=(1, 2),
        prerender=True,
    )


@register_recipe("world-t2v")
def world_t2v(options: RecipeOptions) -> TrainJob:
    """The bundled text-to-video model (GPU, ~10 min on one H100): world-clip's frozen text tower
    (motion words added), video DiT width 128, depth 6 (3.0M, 7 MB in fp16), first-frame
    conditioned (image → video) on 60% of clips, batch 256, 1-2 objects: images, 4-frame, then
    8/12/16-frame clips, the last 1,000 steps decaying."""
    return build_world_t2v("world-t2v", _world_t2v_spec(), options)


def _world_t2v_spec() -> WorldT2VSpec:
    return replace(
        _long_spec(),
        denoiser=dict(hidden_size=128, depth=6, num_heads=4, patch_size=4),
        text_encoder="world-clip",
        # sized for one GPU session (about 4.5 steps/s on an H100 shared with a world-t2i run)
        stages=((0.0, (1,)), (0.1, (4,)), (0.25, (8, 12, 16))),
        steps=3200,
        decay_steps=1000,
        batch_size=256,
        lr=8e-4,
        first_frame_prob=0.6,
    )


@register_recipe("world-t2v-words")
def world_t2v_words(options: RecipeOptions) -> TrainJob:
    """world-t2v with a trainable per-word vector on the frozen tower's output tokens: the tower
    encodes "moving left" and "moving right" 1.000 alike, so no direction reaches the denoiser;
    meant to go on from the bundled weights (--init-from world-t2v)."""
    spec = replace(_world_t2v_spec(), text_encoder="world-clip+words", residual_lr_scale=10.0)
    return build_world_t2v("world-t2v-words", spec, options)


@register_recipe("world-t2v-words-cpu")
def world_t2v_words_cpu(options: RecipeOptions) -> TrainJob:
    """world-t2v-words as a fine-tune on a CPU (--init-from world-t2v): 8-frame clips of 1-2
    objects only, batch 16, lr 1e-4 (the residual 1e-3), frame-conditioned 60%."""
    spec = replace(
        _world_t2v_spec(),
        text_encoder="world-clip+words",
        residual_lr_scale=10.0,
        stages=((0.0, (8,)),),
        steps=1000,
        decay_steps=250,
        batch_size=16,
        lr=1e-4,
        warmup_steps=50,
        corpus=8000,
    )
    job = build_world_t2v("world-t2v-words", spec, options)
    job.config.recipe, job.config.export_name = "world-t2v-words-cpu", "world-t2v-words"
    return job


def _unet_spec() -> WorldT2VSpec:
    # The bundled world-t2i's U-Net, inflated: it draws the world's objects from the first step,
    # so there is no stage of still images and a lower rate than a model learning from scratch.
    # The toy probe (benchmarks/video_direction_probe.py --model unet) is why: at its scale the
    # video DiT learned no direction, the U-Net with temporal attention did.
    return replace(
        _world_t2v_spec(),
        denoiser_arch="video-unet",
        denoiser={},
        init_image="world-t2i",
        temporal_conv=True,  # the probe's direction from the label: 53% without, 86% with
        text_encoder="init-image",
        residual_lr_scale=10.0,
        stages=((0.0, (4,)), (0.1, (8, 12, 16))),
        steps=3000,
        decay_steps=800,
        batch_size=64,
        lr=3e-4,
        warmup_steps=200,
    )


@register_recipe("world-t2v-unet")
def world_t2v_unet(options: RecipeOptions) -> TrainJob:
    """A video U-Net started from the bundled world-t2i (GPU): its U-Net frame by frame with a
    3-D convolution block and temporal attention after each stage (zero at the start) and its
    text encoder (motion words added), first-frame conditioned on 60% of clips, batch 64 of 4-,
    then 8/12/16-frame clips."""
    return build_world_t2v("world-t2v-unet", _unet_spec(), options)


def _unet_cpu_spec() -> WorldT2VSpec:
    return replace(
        _unet_spec(), stages=((0.0, (8,)),), steps=1000, decay_steps=250, batch_size=8,
        warmup_steps=50, corpus=8000,
    )  # fmt: skip


@register_recipe("world-t2v-unet-cpu")
def world_t2v_unet_cpu(options: RecipeOptions) -> TrainJob:
    """world-t2v-unet3d-cpu without the 3-D convolution blocks (the bundled world-t2v before them,
    at commit a93e6bd): 8-frame clips only, batch 8, 1,000 steps."""
    spec = replace(_unet_cpu_spec(), temporal_conv=False)
    job = build_world_t2v("world-t2v-unet", spec, options)
    job.config.recipe = "world-t2v-unet-cpu"
    return job


@register_recipe("world-t2v-unet3dq-cpu")
def world_t2v_unet3dq_cpu(options: RecipeOptions) -> TrainJob:
    """world-t2v-unet3d-cpu whose 3-D blocks also hear the prompt's tokens through learned queries
    (the pooled text hears "left" and "right" 0.99 alike): meant to go on from the bundled
    world-t2v (--init-from world-t2v; the queries' projection starts at zero). Measured: no gain
    in 800 steps from the 2,100-step world-t2v (motion 0.36 against 0.44 without; the queries'
    attention stayed uniform; docs/training.md)."""
    spec = replace(_unet_cpu_spec(), temporal_text=True)
    job = build_world_t2v("world-t2v-unet3dq", spec, options)
    job.config.recipe = "world-t2v-unet3dq-cpu"
    return job


@register_recipe("world-t2v-unet3d-cpu")
def world_t2v_unet3d_cpu(options: RecipeOptions) -> TrainJob:
    """world-t2v-unet on a CPU, with its 3-D convolution block before each temporal attention
    (motion as a shift between neighbouring frames, steered by the prompt): 8-frame clips only,
    batch 8, 1,000 steps."""
    job = build_world_t2v("world-t2v-unet3d", _unet_cpu_spec(), options)
    job.config.recipe = "world-t2v-unet3d-cpu"
    return job


# --------------------------------------------------------------------------- helper networks


def labelled_clips(n: int, *, size: int = 32, num_frames: int = 8, seed: int = 0, progress=False):
    """n world clips (1–2 objects) with class targets of their main object, as tensors."""
    from tqdm import tqdm

    from genlab.eval.video import feature_targets
    from genlab.world.video import render_video, sample_video_scene

    clips = np.empty((n, num_frames, size, size, 3), np.uint8)
    targets = {"motion": [], "color": [], "shape": []}
    for i in tqdm(range(n), desc="render clips", unit="clip", disable=not progress):
        scene = sample_video_scene(np.random.default_rng([seed, i, 5]), n_objects=(1, 2))
        clips[i] = render_video(scene, num_frames, size)
        for k, v in feature_targets(scene).items():
            targets[k].append(v)
    out = {"videos": torch.from_numpy(clips)}
    out.update({k: torch.tensor(v) for k, v in targets.items()})
    return out


class VideoFeaturesTask(Task):
    """Cross-entropy of the video feature network's motion, color and shape heads: features that
    must see both appearance and movement, which is what FVD needs of them."""

    def __init__(self, net):
        self.net = net

    def modules(self):
        return {"net": self.net}

    def training_step(self, batch, optimizer_name):
        logits = self.net(batch["videos"])
        losses = {k: torch.nn.functional.cross_entropy(v, batch[k]) for k, v in logits.items()}
        accuracy = {
            f"acc/{k}": (v.argmax(-1) == batch[k]).float().mean() for k, v in logits.items()
        }
        return sum(losses.values()), accuracy

    def export(self):
        from genlab.eval.video import FEATURES_KIND

        return dict(self.net.state_dict()), {
            "kind": FEATURES_KIND,
            "model": self.net.config.to_dict(),
        }

    def model_card(self) -> str:
        return (
            "A 3D CNN over 8-frame 32×32 world clips (heads: motion, color, shape of the main "
            "object); its pooled features are the FVD features of `genlab.eval.video.fvd`."
        )


@register_recipe("world-t2v-fvd")
def world_t2v_fvd(options: RecipeOptions) -> TrainJob:
    """The FVD feature network: a small 3D CNN naming motion, color and shape of world clips."""
    from genlab.eval.video import VideoFeatureNet
    from genlab.train.data import TensorSource

    torch.manual_seed(options.seed)
    tiny = options.tiny
    net = VideoFeatureNet(channels=(8, 8, 16) if tiny else (8, 16, 32))
    n = options.data_size or (32 if tiny else 2000)
    data = labelled_clips(n, seed=options.seed, progress=options.progress)
    config = TrainConfig(
        steps=6 if tiny else 600,
        batch_size=8 if tiny else 32,
        lr=2e-3,
        warmup_steps=0 if tiny else 30,
        lr_schedule="cosine",
        ema_decay=0.99,
        log_every=3 if tiny else 50,
        export_dtype="float16",
    )
    apply_options(config, options, "world-t2v-fvd")
    config.extra = {"training clips": f"{n:,} world clips, 8 frames, 1–2 objects"}
    return TrainJob(VideoFeaturesTask(net), TensorSource(data), config)


class UpscalerTask(Task):
    """L1 between the upscaler's output for a world image rendered at S and the same scene
    rendered at factor·S (the renderer draws any size exactly: true high-resolution targets)."""

    def __init__(self, model):
        self.model = model

    def modules(self):
        return {"upscaler": self.model}

    def ema_modules(self):
        return ["upscaler"]

    def training_step(self, batch, optimizer_name):
        lo = batch["low"].permute(0, 3, 1, 2).float() / 127.5 - 1  # (B, S, S, 3) -> (B, 3, S, S)
        hi = batch["high"].permute(0, 3, 1, 2).float() / 127.5 - 1
        out = self.model(lo)
        base = torch.nn.functional.interpolate(
            lo, scale_factor=self.model.config.factor, mode="bicubic"
        )
        return (out - hi).abs().mean(), {"l1_bicubic": (base - hi).abs().mean()}

    def export(self):
        from genlab.pipelines.postprocess import UPSCALER_KIND

        return dict(self.model.state_dict()), {
            "kind": UPSCALER_KIND,
            "model": self.model.config.to_dict(),
        }

    def model_card(self) -> str:
        f = self.model.config.factor
        return f"Upscales world frames {f}× (ESPCN-style residual over bicubic, L1 loss)."


@register_recipe("world-upscaler")
def world_upscaler(options: RecipeOptions) -> TrainJob:
    """The learned 2× frame upscaler (32 -> 64 px) trained on world scenes rendered at both sizes."""
    from genlab.pipelines.postprocess import Upscaler
    from genlab.train.data import TensorSource
    from genlab.world import render, sample_scene

    torch.manual_seed(options.seed)
    tiny = options.tiny
    size = 16 if tiny else 32
    n = options.data_size or (32 if tiny else 2000)
    low = np.empty((n, size, size, 3), np.uint8)
    high = np.empty((n, 2 * size, 2 * size, 3), np.uint8)
    for i in range(n):
        scene = sample_scene(np.random.default_rng([options.seed, i, 6]))
        low[i], high[i] = render(scene, size), render(scene, 2 * size)
    model = Upscaler(factor=2, channels=8 if tiny else 32)
    config = TrainConfig(
        steps=6 if tiny else 500,
        batch_size=8 if tiny else 16,
        lr=2e-3,
        warmup_steps=0 if tiny else 50,
        lr_schedule="cosine",
        ema_decay=0.99,
        log_every=3 if tiny else 50,
        export_dtype="float16",
    )
    apply_options(config, options, "world-upscaler")
    config.extra = {"training images": f"{n:,} world scenes rendered at {size} and {2 * size} px"}
    data = {"low": torch.from_numpy(low), "high": torch.from_numpy(high)}
    return TrainJob(UpscalerTask(model), TensorSource(data), config)


# --------------------------------------------------------------------------- the 3D VAE


class VAE3DTask(Task):
    """Reconstruction + KL + temporal-difference loss of the causal 3D VAE on world clips; clips
    are `videos` uint8 (B, T, H, W, 3) with T = 1 + 4k."""

    def __init__(self, vae, kl_weight: float = 1e-4, temporal_weight: float = 1.0):
        self.vae, self.kl_weight, self.temporal_weight = vae, kl_weight, temporal_weight
        self.eval_clips: torch.Tensor | None = None

    def modules(self):
        return {"vae": self.vae}

    def ema_modules(self):
        return ["vae"]

    def training_step(self, batch, optimizer_name):
        from genlab.models.vae3d import vae3d_loss

        x = batch["videos"].permute(0, 4, 1, 2, 3).float() / 127.5 - 1  # -> (B, 3, T, H, W)
        return vae3d_loss(self.vae, x, self.kl_weight, self.temporal_weight)

    def sample_grid(self):
        if self.eval_clips is None:
            return None
        x = self.eval_clips[:2].to(self.device).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        recon = self.vae.decode(self.vae.encode(x)[0]).clamp(-1, 1)
        return [f for pair in zip(x, recon) for clip in pair for f in clip.transpose(0, 1)]

    def export(self):
        return dict(self.vae.state_dict()), {"kind": "vae3d", "model": self.vae.config.to_dict()}


def evaluate_vae3d(vae, videos: torch.Tensor) -> dict:
    """PSNR per frame (dB) and flicker of reconstructions vs. the originals' flicker, on uint8
    clips (N, T, H, W, 3)."""
    from genlab.eval.video import flicker
    from genlab.models.vae3d import psnr_per_frame

    vae.eval()
    with torch.inference_mode():
        x = videos.permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        recon = vae.decode(vae.encode(x)[0]).clamp(-1, 1)
    psnr = psnr_per_frame(recon, x)
    frames = ((recon + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).numpy()
    return {
        "psnr_per_frame": [round(float(p), 2) for p in psnr],
        "psnr": float(psnr.mean()),
        "flicker": float(np.mean([flicker(v) for v in frames])),
        "flicker_original": float(np.mean([flicker(v) for v in videos.numpy()])),
    }


@torch.inference_mode()
def cache_latents(vae, videos: torch.Tensor, path, batch_size: int = 32, progress: bool = False):
    """Encode uint8 clips (N, T, H, W, 3) once and save their latent means (N, C, 1+k, h, w) to a
    safetensors file, so latent diffusion training reads latents instead of running the encoder."""
    from tqdm import tqdm

    from genlab.io import save_checkpoint

    vae.eval()
    means = []
    for i in tqdm(range(0, len(videos), batch_size), desc="encode", disable=not progress):
        x = videos[i : i + batch_size].permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        means.append(vae.encode(x)[0])
    latents = torch.cat(means)
    save_checkpoint(
        path, {"latents": latents}, {"kind": "latent-cache", "vae": vae.config.to_dict()}
    )
    return latents


@register_recipe("world-vae3d")
def world_vae3d(options: RecipeOptions) -> TrainJob:
    """Causal 3D VAE (4× space, 4× time, first frame kept) on 9-frame world clips."""
    from genlab.models import create_model
    from genlab.train.data import TensorSource

    torch.manual_seed(options.seed)
    tiny = options.tiny
    vae = create_model("vae3d-tiny" if tiny else "vae3d-world-s")
    n = options.data_size or (16 if tiny else 2000)
    size = 16 if tiny else 32
    data = labelled_clips(n, size=size, num_frames=9 if not tiny else 5, seed=options.seed)
    config = TrainConfig(
        steps=4 if tiny else 1500,
        batch_size=4 if tiny else 16,
        lr=1e-3,
        warmup_steps=0 if tiny else 50,
        lr_schedule="cosine",
        ema_decay=0.99,
        log_every=2 if tiny else 50,
        export_dtype="float16",
    )
    apply_options(config, options, "world-vae3d")
    task = VAE3DTask(vae)
    task.eval_clips = data["videos"][:2]
    config.extra = {"training clips": f"{n:,} world clips of {data['videos'].shape[1]} frames"}
    return TrainJob(task, TensorSource({"videos": data["videos"]}), config)
