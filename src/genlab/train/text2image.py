"""The text-to-image family's base config (`WorldT2ISpec`, its defaults the base every world-t2i
recipe overrides; `T2I_TINY` its --tiny overlay) and its builder: corpus, models, task, settings.
The recipes themselves are data in genlab.train.recipes.image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from genlab.diffusion import NoiseSchedule
from genlab.errors import InvalidArgument, check_choice
from genlab.models import create_model
from genlab.text import TextEncoder, Tokenizer
from genlab.text.pretrained import PRETRAINED_TEXT_ENCODERS, PretrainedTextEncoder
from genlab.train.config import TrainConfig
from genlab.train.data import TensorSource
from genlab.train.recipes import Family, RecipeOptions, TrainJob, apply_options, spec_config

# the task and corpus, and the text towers, lived here before the split: same import path
from genlab.train.text2image_task import (
    PAD_ID,
    SCENE_MIXES,
    TextToImageTask,
    _count,
    forward_flops,
    sample_prompts,
    world_corpus,
    world_vocabulary,
)
from genlab.train.text_towers import (
    TEXT_ENCODER_SOURCES,
    frozen_text_encoder,
    frozen_tower,
    pretrained_text_encoder,
    speed_up_word_residual,
    text_encoder_choices,
    unfreeze_tower,
)
from genlab.train.trainer import resolve_device
from genlab.train.user_data import caption_words, data_corpus, read_data
from genlab.world.layout import LAYOUT_BG_CHANNELS, LAYOUT_CHANNELS

# The bundled world-t2i's denoiser (≈1.9M, 0.67 GFLOPs per image): small enough to sample fast
# on a CPU, trained on a GPU by `world-t2i` or on a CPU by `world-t2i-cpu`.
UNET_WORLD = dict(
    model_channels=32,
    channel_mult=(1, 2, 2),
    num_res_blocks=1,
    attention_levels=(1, 2),
    head_dim=32,
)
TINY_UNET = dict(
    model_channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,), head_dim=16
)
# A DiT over 4×4 pixel patches (≈5.1M, 0.44 GFLOPs per image), the U-Net's rival.
DIT_WORLD = dict(hidden_size=192, depth=6, num_heads=4, patch_size=4, in_channels=3, input_size=32)
TINY_DIT = dict(hidden_size=32, depth=2, num_heads=2, patch_size=4, in_channels=3, input_size=16)


@dataclass(frozen=True)
class WorldT2ISpec:
    """A world text-to-image recipe's config; the defaults are the base the recipes override."""

    denoiser: str = "unet-world-s"  # a registered model name
    denoiser_overrides: dict = field(default_factory=lambda: dict(UNET_WORLD))
    text_width: int = 192  # the jointly trained text encoder's sizes
    text_depth: int = 3
    text_heads: int = 4
    max_length: int = 48
    image_size: int = 32
    schedule: str = "cosine"
    prediction_type: str = "v_prediction"
    corpus: int = 400_000  # world scenes rendered (--data-size)
    steps: int = 60_000  # the time budget normally ends the run first
    batch_size: int = 512
    lr: float = 5e-4
    warmup_steps: int = 500
    log_every: int = 100
    sample_every: int = 5000
    checkpoint_every_s: float = 120
    spike_factor: float = 5.0  # skip a step whose loss exceeds 5 × the running mean (0: off)
    scenes: str = "balanced"  # see world_corpus
    captions: str = "varied"
    captions_per_image: int = 4  # captions rendered per scene (the families' task: 1)
    sample_prompts: int = 16  # prompts of the progress grid
    min_snr_gamma: float | None = None
    text_encoder: str = "joint"  # see TEXT_ENCODER_SOURCES
    # Instead: the text encoder of this bundled model, frozen whole (the families on one task
    # read world-t2i-layout's, genlab.train.world_families)
    text_from: str | None = None
    residual_lr_scale: float = 1.0  # the word residual's learning rate, × the recipe's
    # A pretrained tower's last N blocks (with its output norm and pooled projection) train too,
    # at tower_lr_scale × the recipe's rate: what a per-word residual cannot learn (a relation
    # word's meaning depends on the objects around it) needs the tower's attention.
    tower_layers_trained: int = 0
    tower_lr_scale: float = 1.0
    # Two stages: a layout planner (genlab.models.layout_planner) learns to write each scene's
    # layout from its captions while the denoiser learns to draw given layouts (its adapters and
    # the planner at layout_lr_scale × the recipe's rate, both new when fine-tuning).
    layout: bool = False
    layout_lr_scale: float = 1.0
    planner_only: bool = False  # train the planner alone (the rest frozen, as --init-from gives it)
    # The denoiser also reads the background from the plan (LAYOUT_BG_CHANNELS); the planner may
    # stay as --init-from gives it (the plan's background is read from the prompt's words).
    layout_background: bool = False
    planner_frozen: bool = False
    planner_sizes: dict = field(default_factory=dict)  # overrides of the planner's registry size
    corpus_on_device: bool = True  # on CUDA the whole uint8 corpus lives on the GPU: no loader
    count_flops: bool = True  # the card's FLOPs per image (counting takes seconds)
    export: str | None = None  # the exported model's name, when not the recipe's
    # Latent diffusion (genlab.train.latent): a bundled KL autoencoder whose latents the denoiser
    # learns; `untrained_autoencoder`: an untrained kl-tiny instead (smoke runs check plumbing).
    autoencoder: str | None = None
    untrained_autoencoder: bool = False


# --tiny: every world text-to-image recipe at 16 px with small models, 256 scenes, 20 steps
T2I_TINY = dict(
    image_size=16,
    denoiser_overrides=TINY_UNET,
    text_width=32,
    text_depth=1,
    text_heads=2,
    planner_sizes=dict(width=32, encoder_depth=1, decoder_depth=1, num_heads=2),
    corpus=256,
    steps=20,
    batch_size=8,
    warmup_steps=2,
    log_every=10,
    sample_every=0,
    checkpoint_every_s=0,
    spike_factor=0,
    sample_prompts=4,
    corpus_on_device=False,
    count_flops=False,
    untrained_autoencoder=True,
)


def with_text_encoder(spec: WorldT2ISpec, text_encoder: str, name: str) -> WorldT2ISpec:
    """`spec` with another text encoder (`genlab train --text-encoder`), if it can take one: a
    recipe that trains a tower's blocks or a layout planner over world words keeps its own."""
    check_choice("--text-encoder", text_encoder, text_encoder_choices())
    if text_encoder != spec.text_encoder and (spec.layout or spec.tower_layers_trained):
        raise InvalidArgument(
            "--text-encoder", f"{spec.text_encoder} for {name} (its recipe trains parts of it)",
            text_encoder,
        )  # fmt: skip
    return replace(spec, text_encoder=text_encoder)


def denoiser_config(
    spec, options: RecipeOptions, recipe: str, model_name: str, **settings
) -> TrainConfig:
    """The loop of a text-conditioned denoiser, of images or of videos: the loop fields of
    `spec`, no weight decay, gradients clipped to norm 1, an fp16 export, then `settings` (the
    EMA, the schedule) and the command line's options; the run is named `recipe`, its outputs
    `model_name`, and --time-budget counts from the command's start (rendering and setup too)."""
    config = spec_config(spec, weight_decay=0.0, grad_clip=1.0, export_dtype="float16", **settings)
    apply_options(config, options, model_name)
    config.recipe = recipe
    config.budget_start = options.started
    return config


def build_world_t2i(name: str, spec: WorldT2ISpec, options: RecipeOptions) -> TrainJob:
    """The recipe `name` of config `spec`: corpus, models, task, the loop's settings."""
    t_start = time.monotonic()
    model_name = spec.export or name
    device = resolve_device(options.device)  # fail now, not after rendering, if CUDA is absent
    cuda = device.type == "cuda"
    if options.text_encoder is not None:
        spec = with_text_encoder(spec, options.text_encoder, name)
    if spec.text_from is None:
        check_choice("text_encoder", spec.text_encoder, text_encoder_choices())
    torch.manual_seed(options.seed)
    size = spec.image_size
    user = None  # your data (--data): images at the recipe's size and their captions
    if options.data is not None:
        if spec.layout:
            raise InvalidArgument(
                "--data", f"a recipe without a layout planner ({model_name} learns world layouts)",
                options.data,
            )  # fmt: skip
        user = read_data(options.data, size, progress=options.progress)
    if spec.text_from is not None:  # a bundled model's, frozen whole
        text_encoder = frozen_text_encoder(spec.text_from)
        tokenizer = text_encoder.tokenizer
    elif spec.text_encoder == "joint":
        # captions are open vocabulary: the tokenizer learns every word of yours
        tokenizer = world_vocabulary() if user is None else Tokenizer.from_texts(user[1])
        text_kw = dict(width=spec.text_width, depth=spec.text_depth, num_heads=spec.text_heads)
        text_encoder = TextEncoder(vocab=tokenizer.vocab, max_length=spec.max_length, **text_kw)
    elif spec.text_encoder in PRETRAINED_TEXT_ENCODERS:  # open vocabulary, frozen
        text_encoder = PretrainedTextEncoder(name=spec.text_encoder)  # its own token length
        tokenizer = text_encoder.tokenizer
    else:  # pretrained and frozen, at every scale (it is small)
        tower, _, words = spec.text_encoder.partition("+")
        new_words = caption_words(user[1]) if user is not None else ()  # their rows train
        text_encoder = pretrained_text_encoder(tower, new_words, word_residual=words == "words")
        tokenizer = text_encoder.tokenizer
    overrides = dict(spec.denoiser_overrides)
    overrides.update(context_dim=text_encoder.width, pooled_dim=text_encoder.width)
    planner = None
    if spec.layout:
        overrides["layout_channels"] = (
            LAYOUT_BG_CHANNELS if spec.layout_background else LAYOUT_CHANNELS
        )
        planner = create_model(
            {"arch": "layout-planner"},
            vocab_size=len(tokenizer),
            max_length=text_encoder.config.max_length,
            **spec.planner_sizes,
        )
    if cuda and spec.denoiser.startswith("unet"):
        overrides["channels_last"] = True
    denoiser = create_model(spec.denoiser, **overrides)
    schedule = NoiseSchedule.create(spec.schedule)

    n = options.data_size or spec.corpus
    scenes = options.scenes or spec.scenes
    if user is not None:
        corpus = data_corpus(*user, tokenizer, text_encoder.config.max_length)
        n = len(user[1])
    else:
        corpus = world_corpus(
            n,
            size=size,
            seed=options.seed,
            tokenizer=tokenizer,
            max_length=text_encoder.config.max_length,
            workers=1 if n <= 2000 else None,
            progress=options.progress,
            scenes=scenes,
            captions=spec.captions,
            captions_per_image=spec.captions_per_image,
        )
    if cuda and spec.corpus_on_device:
        # The whole corpus lives on the GPU as uint8: batches are one indexing op, no loader.
        corpus = {k: v.to(device) for k, v in corpus.items()}
    source = (
        f"{spec.text_from}'s, frozen"
        if spec.text_from is not None
        else text_encoder_choices()[spec.text_encoder]
    )
    if spec.tower_layers_trained:
        source = source.replace(
            "frozen", f"frozen but for its last {spec.tower_layers_trained} block(s)"
        )
    task = TextToImageTask(
        denoiser,
        text_encoder,
        schedule,
        spec.prediction_type,
        cond_dropout=0.1,
        min_snr_gamma=spec.min_snr_gamma,
        name=model_name,
        image_size=size,
        sample_prompts=sample_prompts(spec.sample_prompts) if user is None else user[1][:16],
        text_encoder_source=source,
        layout_planner=planner,
        planner_only=spec.planner_only,
        planner_frozen=spec.planner_frozen,
    )
    config = denoiser_config(
        spec, options, name, model_name, lr_schedule="constant", ema_decay=0.9995, spike_warmup=500
    )
    if spec.export:
        config.export_name = spec.export
    build_s = time.monotonic() - t_start  # counted in the time budget (options.started)
    what = f"{n:,} world scenes ({scenes} mix)"
    if user is not None:
        what = f"{n:,} captioned images of {options.data} (cropped to squares, scaled)"
        task.data_description = f"{n:,} captioned images of your own ({Path(options.data).name})"
    config.extra = {
        "training images": f"{what} × {corpus['tokens'].shape[1]} captions, "
        f"{corpus['images'].shape[1]}×{corpus['images'].shape[2]}",
        "corpus build time": f"{build_s:.0f} s",
    }
    speed_up_word_residual(task, spec.residual_lr_scale, config)
    if spec.layout:
        if spec.layout_lr_scale != 1.0:
            task.lr_scales = {
                **task.lr_scales,
                "denoiser.layout_adapters.": spec.layout_lr_scale,
            }
            if not spec.planner_frozen:
                task.lr_scales["layout_planner."] = spec.layout_lr_scale
        config.extra["layout"] = (
            f"a layout planner ({_count(planner):,} parameters) learns each scene's layout from "
            f"its captions; the denoiser draws true layouts (dropped with the caption and 10% "
            f"besides); both new parts at × {spec.layout_lr_scale:g} the learning rate"
        )
        if spec.planner_only:
            config.extra["layout"] = (
                f"only the layout planner ({_count(planner):,} parameters) trains, on all "
                f"{corpus['tokens'].shape[1]} captions of each scene; the denoiser and the text "
                "encoder stay as they were"
            )
    if spec.tower_layers_trained:
        if spec.text_encoder == "joint":
            raise InvalidArgument(
                "tower_layers_trained", "0 with a jointly trained encoder (it all trains)", 1
            )
        unfreeze_tower(task, spec.tower_layers_trained, spec.tower_lr_scale, config)
    if spec.count_flops:
        flops = forward_flops(denoiser, text_encoder.width, size, spec.max_length)
        config.extra["denoiser forward FLOPs per image"] = f"{flops / 1e9:.2f} GFLOPs"
    return TrainJob(task, TensorSource(corpus), config)


T2I = Family(WorldT2ISpec, build_world_t2i, T2I_TINY)

__all__ = [
    "DIT_WORLD",
    "PAD_ID",
    "SCENE_MIXES",
    "T2I",
    "TEXT_ENCODER_SOURCES",
    "TINY_DIT",
    "TINY_UNET",
    "UNET_WORLD",
    "TextToImageTask",
    "WorldT2ISpec",
    "build_world_t2i",
    "forward_flops",
    "frozen_tower",
    "pretrained_text_encoder",
    "sample_prompts",
    "speed_up_word_residual",
    "unfreeze_tower",
    "world_corpus",
    "world_vocabulary",
]
