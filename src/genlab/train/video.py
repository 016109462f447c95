"""The text-to-video family's base config (`WorldT2VSpec`, its defaults the base every world-t2v
recipe overrides; `T2V_TINY` its --tiny overlay) and its builder. The recipes themselves are data
in genlab.train.recipes.video; the task and clip source are in genlab.train.video_task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from genlab.diffusion import NoiseSchedule
from genlab.errors import InvalidArgument, check_choice
from genlab.models import create_model
from genlab.models.unet import UNet
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder
from genlab.train.recipes import Family, RecipeOptions, TrainJob
from genlab.train.text2image import denoiser_config
from genlab.train.text_towers import frozen_tower, pretrained_text_encoder, speed_up_word_residual
from genlab.train.trainer import resolve_device

# the task, the clip source and the helper networks lived here before the split: same import path
from genlab.train.video_nets import (
    UpscalerTask,
    VAE3DTask,
    VideoFeaturesTask,
    cache_latents,
    evaluate_vae3d,
    labelled_clips,
)
from genlab.train.video_task import (
    PAD_ID,
    Stage,
    StagedClipSource,
    TextToVideoTask,
    describe_denoiser,
    video_sample_prompts,
    video_vocabulary,
)


@dataclass(frozen=True)
class WorldT2VSpec:
    """A world text-to-video recipe's config; the defaults are the base the recipes override (a
    CPU-sized video DiT with a jointly trained text encoder). `stages` are (fraction of steps,
    clip lengths)."""

    # the denoiser's size overrides: a video DiT's here and in T2V_TINY (a video-unet recipe
    # that is not inflated sets its own, and {} in its tiny overlay)
    denoiser: dict = field(
        default_factory=lambda: dict(hidden_size=96, depth=3, num_heads=4, patch_size=8)
    )
    attention: str = "factored"
    # "video-dit", or "video-unet": an image U-Net frame by frame with temporal attention
    denoiser_arch: str = "video-dit"
    unet_size: str = "video-unet-world-s"  # the registry size of a video-unet not inflated
    # A text-to-image model (a bundled name or a file) whose U-Net the video U-Net starts from
    # (inflated: temporal layers new, zero at the start; its sizes at every scale) and whose
    # text encoder it reads.
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
    max_clip_frames: int | None = None  # cap each stage to one clip length of at most this
    steps: int = 80  # sized for ~15 minutes of a heavily shared 2-core CPU
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 8
    decay_steps: int = 0  # the last steps decay the learning rate (cosine, to 0.1×)
    log_every: int = 50
    checkpoint_every_s: float = 120
    corpus: int = 4000  # world scenes (--data-size); captions are redrawn every epoch
    n_objects: tuple = (1, 1)
    prerender: bool = False  # render the whole corpus up front over a process pool (GPU runs)
    first_frame_prob: float = 0.0  # > 0: a frame-conditioned denoiser, given frame 0 this often
    residual_lr_scale: float = 1.0  # the word residual's learning rate, × the recipe's
    model_name: str | None = None  # the model's name (pipeline, card), when not the recipe's


TINY = dict(hidden_size=32, depth=1, num_heads=2, patch_size=4)  # a tiny video DiT
# --tiny: 16 px, 4-frame clips of 64 scenes, 12 steps of 4 clips
T2V_TINY = dict(
    denoiser=TINY,
    unet_size="video-unet-tiny",
    text_width=32,
    text_depth=1,
    text_heads=2,
    image_size=16,
    num_frames=4,
    max_clip_frames=4,
    steps=12,
    batch_size=4,
    warmup_steps=2,
    decay_steps=0,
    log_every=4,
    checkpoint_every_s=0,
    corpus=64,
    prerender=False,
)


def image_model(name_or_path: str):
    """A text-to-image pipeline with a U-Net, for a video U-Net to start from (its weights)."""
    pipe = load_pipeline(name_or_path)
    if not isinstance(pipe, Text2ImagePipeline) or type(pipe.denoiser) is not UNet:
        raise InvalidArgument(
            "init_image", "a text-to-image model with a U-Net denoiser", name_or_path
        )
    return pipe


def build_world_t2v(name: str, spec: WorldT2VSpec, options: RecipeOptions) -> TrainJob:
    """The recipe `name` of config `spec`: vocabulary, models, staged data, task, settings."""
    t_start = time.monotonic()
    model_name = spec.model_name or name
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
        text_encoder = frozen_tower(
            image.text_encoder,
            extra_words=tokenizer.vocab,
            word_residual=image.text_encoder.word_residual is not None,
        )
        tokenizer = text_encoder.tokenizer
    elif spec.text_encoder.startswith("world-clip"):  # at every scale: it is small
        text_encoder = pretrained_text_encoder(
            "world-clip",
            extra_words=tokenizer.vocab,
            word_residual=spec.text_encoder == "world-clip+words",
        )
        tokenizer = text_encoder.tokenizer
    else:
        text_kw = dict(width=spec.text_width, depth=spec.text_depth, num_heads=spec.text_heads)
        text_encoder = TextEncoder(vocab=tokenizer.vocab, max_length=spec.max_length, **text_kw)
    size = spec.image_size
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
    elif spec.denoiser_arch == "video-unet":
        denoiser = create_model(spec.unet_size, **spec.denoiser, **video, **temporal)
    else:
        denoiser = create_model(
            "video-dit-world-s",
            **spec.denoiser,
            attention=spec.attention,
            input_size=size,
            **video,
        )
    config = denoiser_config(spec, options, name, model_name, ema_decay=0.999, sample_every=0)
    cap = spec.max_clip_frames  # one length per stage, at most this (smoke runs stay in seconds)
    stages = [
        Stage(int(round(frac * config.steps)), (min(max(lengths), cap),) if cap else tuple(lengths))
        for frac, lengths in spec.stages
    ]
    corpus = options.data_size or spec.corpus
    source = StagedClipSource(
        stages,
        config.batch_size,
        tokenizer,
        spec.max_length,
        size=size,
        corpus_size=corpus,
        seed=options.seed,
        n_objects=spec.n_objects,
        max_cached=max(50_000, 5 * corpus),
    )
    if spec.prerender:
        source.prerender(progress=options.progress)
    task = TextToVideoTask(
        denoiser,
        text_encoder,
        NoiseSchedule.create("cosine"),
        "v_prediction",
        name=model_name,
        image_size=size,
        num_frames=spec.num_frames,
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
    speed_up_word_residual(task, spec.residual_lr_scale, config)
    return TrainJob(task, source, config)


T2V = Family(WorldT2VSpec, build_world_t2v, T2V_TINY)

__all__ = [
    "PAD_ID",
    "T2V",
    "Stage",
    "StagedClipSource",
    "TextToVideoTask",
    "UpscalerTask",
    "VAE3DTask",
    "VideoFeaturesTask",
    "WorldT2VSpec",
    "build_world_t2v",
    "cache_latents",
    "describe_denoiser",
    "evaluate_vae3d",
    "image_model",
    "labelled_clips",
    "video_sample_prompts",
    "video_vocabulary",
]
