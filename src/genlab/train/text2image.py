"""Text-to-image diffusion training on the built-in world: the task (denoiser + text encoder with
condition dropout), a pre-rendered in-memory corpus, and the `world-t2i` recipes (U-Net and DiT).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from genlab.data.parallel import spawn_map
from genlab.diffusion import NoiseSchedule, diffusion_loss
from genlab.errors import InvalidArgument, check_choice
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder, Tokenizer
from genlab.text.pretrained import PRETRAINED_TEXT_ENCODERS
from genlab.train.data import TensorSource
from genlab.train.recipes import RecipeOptions, TrainJob, apply_options, register_recipe
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig, resolve_device

PAD_ID = 0


class TextToImageTask(Task):
    """ε/v/x₀ diffusion loss of `denoiser(x_t, t, text_encoder(caption))`, both trained jointly.

    Batches hold `images` uint8 (B, H, W, 3) and `tokens` (B, K, L): K tokenized captions per
    image, one picked at random each time. With probability `cond_dropout` the caption is
    dropped (all padding), so the encoder returns its learned null: the unconditional model
    classifier-free guidance needs (Ho & Salimans 2022, §3.2).

    A denoiser that reads layouts (`layout_channels`) gets the scene's true layout (batch
    `layouts` (B, 9), genlab.world.layout) except where the caption is dropped and, besides, with
    probability `layout_dropout` (so it still draws from text alone). A `layout_planner` learns
    to write those layouts from all K captions of each image (cross-entropy, × `planner_weight`:
    AdamW's steps do not depend on the scale, and a small one keeps its gradients from dominating
    the clipped global norm).
    """

    def __init__(
        self,
        denoiser: torch.nn.Module,
        text_encoder: TextEncoder,
        schedule: NoiseSchedule,
        prediction_type: str = "epsilon",
        *,
        cond_dropout: float = 0.1,
        min_snr_gamma: float | None = None,
        name: str = "world-t2i",
        image_size: int = 32,
        sample_prompts: list[str] | None = None,
        default_guidance_scale: float = 3.0,
        text_encoder_source: str = "trained jointly with the denoiser",
        layout_planner: torch.nn.Module | None = None,
        layout_dropout: float = 0.1,
        planner_weight: float = 0.01,
        planner_only: bool = False,
        planner_frozen: bool = False,
    ):
        self.denoiser, self.text_encoder = denoiser, text_encoder
        self.layout_planner = layout_planner
        self.reads_layout = bool(getattr(denoiser.config, "layout_channels", 0))
        # the words by which a caption names its background (a world vocabulary has them)
        index = getattr(text_encoder.tokenizer, "index", None) or {}
        self._background_ids = torch.tensor(
            [index[w] for w in ("background", "backdrop") if w in index], dtype=torch.long
        )
        self.layout_dropout, self.planner_weight = layout_dropout, planner_weight
        self.planner_only = planner_only
        self.planner_frozen = planner_frozen and layout_planner is not None
        if self.planner_frozen:
            layout_planner.requires_grad_(False)  # kept as loaded, exported as it is
        if planner_only:
            if layout_planner is None:
                raise InvalidArgument("planner_only", "a layout planner to train", None)
            denoiser.requires_grad_(False)  # only the planner learns: no diffusion loss at all
            text_encoder.requires_grad_(False)
        self.schedule, self.prediction_type = schedule, prediction_type
        self.cond_dropout, self.min_snr_gamma = cond_dropout, min_snr_gamma
        self.pipeline = Text2ImagePipeline(
            denoiser,
            text_encoder,
            schedule,
            prediction_type,
            name=name,
            image_size=image_size,
            default_guidance_scale=default_guidance_scale,
            layout_planner=layout_planner,
        )
        self.sample_prompts = sample_prompts or []
        self.text_encoder_source = text_encoder_source
        self.data_description = "world scenes without the held-out (color, shape) pairs"

    def modules(self):
        modules = {"denoiser": self.denoiser, "text_encoder": self.text_encoder}
        if self.layout_planner is not None:
            modules["layout_planner"] = self.layout_planner
        return modules

    def ema_modules(self):
        return list(self.modules())  # the EMA skips frozen parameters

    def clean_sample(self, batch) -> torch.Tensor:
        """x₀ the denoiser learns: here pixels; the latent task (genlab.train.latent) encodes."""
        images = batch["images"]  # uint8 (B, H, W, 3)
        return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # -> (B, 3, H, W) in [-1, 1]

    def training_step(self, batch, optimizer_name):
        tokens = batch["tokens"]
        B, K = tokens.shape[:2]
        if self.planner_only:
            plan = self.layout_planner.captions_loss(tokens, batch["layouts"])
            return plan, {"planner_loss": plan.detach()}
        x0 = self.clean_sample(batch)
        pick = torch.randint(0, K, (B,), device=tokens.device)
        ids = tokens[torch.arange(B, device=tokens.device), pick].long()  # (B, K, L) -> (B, L)
        dropped = torch.rand(B, device=ids.device) < self.cond_dropout
        ids = ids.masked_fill(dropped[:, None], PAD_ID)  # no words -> the learned null
        text_tokens, mask, pooled = self.text_encoder(ids, ids != PAD_ID)
        cond = {"tokens": text_tokens, "mask": mask, "pooled": pooled}
        logs = {}
        if self.reads_layout:
            from genlab.world.layout import LAYOUT_BG_CHANNELS, layout_features

            layouts, C = batch["layouts"], self.denoiser.config.layout_channels
            keep = ~dropped & (torch.rand(B, device=ids.device) >= self.layout_dropout)
            backgrounds = None
            if C == LAYOUT_BG_CHANNELS:  # the plan says the background where the caption does
                said = torch.isin(ids, self._background_ids.to(ids.device)).any(dim=1)
                backgrounds = batch["backgrounds"].long().masked_fill(~said, -1)
            features = layout_features(layouts, backgrounds, channels=C)
            cond["layout"] = features * keep[:, None, None, None]
        t = torch.randint(0, self.schedule.num_train_timesteps, (B,), device=x0.device)
        noise = torch.randn_like(x0)
        loss = diffusion_loss(
            self.denoiser,
            x0,
            cond,
            self.schedule,
            self.prediction_type,
            noise=noise,
            t=t,
            min_snr_gamma=self.min_snr_gamma,
        )
        if self.layout_planner is not None and not self.planner_frozen:
            plan = self.layout_planner.captions_loss(tokens, batch["layouts"])
            logs["planner_loss"] = plan.detach()
            loss = loss + self.planner_weight * plan
        return loss, logs

    def sample_grid(self):
        if not self.sample_prompts:
            return None
        result = self.pipeline(self.sample_prompts, num_inference_steps=20, seed=0)
        return result.images

    def export(self):
        return self.pipeline.checkpoint()

    def model_card(self) -> str:
        lines = [
            f"Generates {self.pipeline.image_size}×{self.pipeline.image_size} images from text "
            "prompts.",
            "",
            f"- denoiser: `{self.denoiser.config.arch}` {_count(self.denoiser):,} parameters",
            f"- text encoder: {_text_encoder_size(self.text_encoder)}, "
            f"{self.text_encoder.config.max_length} tokens; {self.text_encoder_source}",
            f"- schedule: {self.schedule.name}, {self.schedule.num_train_timesteps} steps; "
            f"prediction: {self.prediction_type}; condition dropout {self.cond_dropout:g}",
            f"- training data: {self.data_description}",
            "",
            "```python",
            "import genlab",
            "",
            f'pipe = genlab.load("{self.pipeline.name}")',
            'pipe("a red circle above a blue square", seed=0).images[0].save("out.png")',
            "```",
        ]
        return "\n".join(lines)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _text_encoder_size(encoder) -> str:
    if hasattr(encoder, "backbone_parameters"):  # a pretrained one: its weights are not ours
        return (f"{encoder.backbone_parameters():,} frozen parameters (from its package) and "
                f"{_count(encoder):,} trained, {len(encoder.tokenizer):,} WordPiece tokens")  # fmt: skip
    return f"{_count(encoder):,} parameters, {len(encoder.tokenizer)} words"


# --------------------------------------------------------------------------- the corpus


def world_vocabulary(seed: int = 0, n_scenes: int = 4000) -> Tokenizer:
    """The world's base vocabulary plus every word the captioner wrote for `n_scenes` scenes
    (all synonyms and template words appear well within a few thousand captions)."""
    from genlab.world import caption, sample_scene

    rng = np.random.default_rng([seed, 7])
    texts = []
    for _ in range(n_scenes):
        scene = sample_scene(rng)
        texts.append(caption(scene, rng))
    return Tokenizer.from_texts(texts)


def _render_chunk(job) -> tuple[np.ndarray, np.ndarray]:
    """Worker: items [start, stop) of the world stream -> images (n, S, S, 3), tokens (n, K, L),
    layouts (n, 9) (genlab.world.layout).

    scenes "plain": item i is genlab.data.world's scene i (the same image `prerender` gives);
    "balanced": the rebalanced stream (genlab.data.world.balanced_item); "focus": relations,
    counts and binding (genlab.data.world.focus_item), every caption of a scene stating it at
    the scene's detail. Caption 0 is the item's full caption; captions 1..K-1 are drawn with
    (seed, i, k): full ones ("plain") or ones that may leave colors and sizes unsaid and count
    alike objects ("varied"). With
    "varied" and K ≥ 3 the last one is such a request in canonical words with no opening
    ("three red circles"): what the agent's refine_prompt writes, which random openings alone
    left rare (a caption starting with a count word was 0.4% of them).
    """
    from genlab.data.world import balanced_item, focus_item, world_item
    from genlab.text import split_words
    from genlab.world import canonical_caption, render
    from genlab.world.caption import caption_and_request, random_template, varied_caption
    from genlab.world.layout import CELLS, scene_layout
    from genlab.world.spec import BACKGROUNDS

    BACKGROUND_NAMES = list(BACKGROUNDS)
    start, stop, seed, size, k, max_length, vocab, scenes, captions = job
    index = {w: i for i, w in enumerate(vocab)} if vocab is not None else None
    n = stop - start
    images = np.empty((n, size, size, 3), np.uint8)
    tokens = np.zeros((n, k, max_length), np.int16)
    texts = []  # without a word vocabulary: the captions, for the caller's tokenizer
    layouts = np.zeros((n, CELLS), np.int8)
    backgrounds = np.zeros(n, np.int8)
    for j in range(n):
        detail = relation = None  # "focus": every caption states what the scene is there for
        if scenes == "focus":
            scene, text, detail, relation = focus_item(seed, start + j)
        else:
            scene, text = (balanced_item if scenes == "balanced" else world_item)(seed, start + j)
        images[j] = render(scene, size)
        layouts[j] = scene_layout(scene)
        backgrounds[j] = BACKGROUND_NAMES.index(scene.background)
        how = dict(detail=detail, relation=relation)
        for c in range(k):
            rng = np.random.default_rng([seed, start + j, c])
            if c and captions != "varied":
                text = caption_and_request(
                    scene, rng, random_template(scene, rng, detail), relation
                )[0]
            elif c == k - 1 >= 2:  # the last of three or more: a canonical request
                text = canonical_caption(varied_caption(scene, rng, **how)[1])
            elif c:
                text = varied_caption(scene, rng, **how)[0]
            if index is None:
                texts.append(text)
                continue
            ids = [index.get(w, 1) for w in split_words(text)][:max_length]
            tokens[j, c, : len(ids)] = ids
    return images, tokens if index is not None else texts, layouts, backgrounds


SCENE_MIXES = {
    "plain": "the world's scene stream as sampled",
    "balanced": "rebalanced: more one- and two-object scenes and alike objects (BALANCED_MIX)",
    "focus": "for counting, relations and binding, a quarter balanced (FOCUS_MIX)",
}


def world_corpus(
    n: int,
    *,
    size: int = 32,
    seed: int = 0,
    captions_per_image: int = 4,
    tokenizer: Tokenizer,
    max_length: int,
    workers: int | None = None,
    chunk: int = 2000,
    progress: bool = True,
    scenes: str = "plain",
    captions: str = "plain",
) -> dict[str, torch.Tensor]:
    """Render the first `n` training scenes of the world stream (held-out pairs excluded, as
    genlab.data.world.prerender) with K captions each, tokenized once. `scenes` (SCENE_MIXES)
    and `captions` ("plain" or "varied") choose the mix, see `_render_chunk`.

    Returns {"images": uint8 (n, size, size, 3), "tokens": int16 (n, K, max_length),
    "layouts": int8 (n, 9) (each scene's objects per grid cell, genlab.world.layout),
    "backgrounds": int8 (n,) (each scene's index into BACKGROUNDS)}. Work is
    spread over a process pool ("spawn", safe next to CUDA); the result depends only on seed.
    """
    check_choice("scenes", scenes, SCENE_MIXES)
    check_choice("captions", captions, ("plain", "varied"))
    workers = workers or max(1, min(os.cpu_count() or 1, 32))
    # a word tokenizer's vocabulary goes to the workers; another tokenizer (a pretrained
    # encoder's WordPiece) reads the captions they return, here
    vocab = getattr(tokenizer, "vocab", None)
    jobs = [
        (s, min(s + chunk, n), seed, size, captions_per_image, max_length, vocab, scenes, captions)
        for s in range(0, n, chunk)
    ]
    bar = tqdm(total=n, desc="rendering world", unit="img", disable=not progress)
    parts = []
    for part in spawn_map(_render_chunk, jobs, workers):
        parts.append(part)
        bar.update(len(part[0]))
    bar.close()
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    if vocab is None:
        texts = [t for p in parts for t in p[1]]  # (n·K,) in item-major order
        ids = tokenizer(texts, max_length).ids.to(torch.int16)
        tokens = ids.view(n, captions_per_image, max_length)
    else:
        tokens = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    layouts = torch.from_numpy(np.concatenate([p[2] for p in parts]))
    backgrounds = torch.from_numpy(np.concatenate([p[3] for p in parts]))
    return {"images": images, "tokens": tokens, "layouts": layouts, "backgrounds": backgrounds}


def forward_flops(denoiser: torch.nn.Module, text_width: int, size: int, length: int) -> float:
    """FLOPs of one denoiser forward pass on one image (counted by torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    C = denoiser.config.in_channels
    cond = {
        "tokens": torch.zeros(1, length, text_width),
        "mask": torch.ones(1, length, dtype=torch.bool),
        "pooled": torch.zeros(1, text_width),
    }
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        denoiser(torch.zeros(1, C, size, size), torch.tensor([500.0]), cond)
    return float(counter.get_total_flops())


def sample_prompts(n: int = 16, seed: int = 1234) -> list[str]:
    """Fixed canonical captions of random scenes: the progress grid's prompts."""
    from genlab.world import canonical_caption, sample_scene

    rng = np.random.default_rng(seed)
    return [canonical_caption(sample_scene(rng, n_objects=(1, 2))) for _ in range(n)]


# --------------------------------------------------------------------------- recipes


@dataclass
class WorldT2ISpec:
    """Sizes of one world text-to-image recipe at full scale and tiny scale."""

    denoiser: str  # a registered model name
    denoiser_overrides: dict
    text_width: int = 192
    text_depth: int = 3
    text_heads: int = 4
    max_length: int = 48
    image_size: int = 32
    schedule: str = "cosine"
    prediction_type: str = "v_prediction"
    corpus: int = 400_000
    steps: int = 60_000  # the time budget normally ends the run first
    batch_size: int = 512
    lr: float = 5e-4
    warmup_steps: int = 500
    scenes: str = "balanced"  # see world_corpus
    captions: str = "varied"
    min_snr_gamma: float | None = None
    text_encoder: str = "joint"  # see TEXT_ENCODER_SOURCES
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


# What `--text-encoder` may choose for a text-to-image recipe: these, and the pretrained
# open-vocabulary encoders of genlab.text.pretrained (PRETRAINED_TEXT_ENCODERS).
TEXT_ENCODER_SOURCES = {
    "joint": "a new text encoder trained jointly with the denoiser",
    "world-clip": "the bundled world-clip's text tower, frozen (its learned null stays trainable)",
    "world-clip+words": "the bundled world-clip's text tower, frozen, plus a trainable per-word "
    "vector added to its output tokens (zero at the start)",
}


def text_encoder_choices() -> dict[str, str]:
    """Every text encoder a text-to-image recipe may train with, and what it is."""
    return {**TEXT_ENCODER_SOURCES, **{k: v[3] for k, v in PRETRAINED_TEXT_ENCODERS.items()}}


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


def pretrained_text_encoder(name: str, extra_words=(), word_residual: bool = False) -> TextEncoder:
    """The text tower of a bundled domain CLIP, frozen except the learned null (tokens and pooled),
    which CLIP never trained and classifier-free guidance needs: like Stable Diffusion's frozen
    CLIP text encoder, the denoiser gets captions whose synonyms and wording are already resolved.

    `extra_words` the CLIP never saw (a video model's motion words) are added to its vocabulary
    and only their embedding rows train: a gradient hook zeroes the known rows' gradients, so
    (with no weight decay) AdamW leaves them exactly as they were.

    `word_residual` adds a trainable per-word vector to the tower's output tokens, zero at the
    start (the encoder's outputs are unchanged until it trains): a contrastive tower encodes
    colors, shapes and sizes but hardly relations, counts or which color goes with which shape
    ("a red circle above a blue square" and "... below ..." come out 0.999 alike), which the
    denoiser then cannot learn from it.
    """
    from genlab.eval.features import bundled_path
    from genlab.text.clip import DomainCLIP

    return frozen_tower(
        DomainCLIP.load(bundled_path(name)).text_encoder, extra_words, word_residual
    )


def frozen_tower(
    text_encoder: TextEncoder, extra_words=(), word_residual: bool = False
) -> TextEncoder:
    """`text_encoder` frozen as `pretrained_text_encoder` describes: the learned null, the word
    residual (added if asked and absent) and the rows of `extra_words` it lacks stay trainable.
    Also for a text-to-image model's own encoder (null and residual as that model trained them),
    when a video model starts from it."""
    if word_residual:
        text_encoder = text_encoder.with_word_residual()
    known = len(text_encoder.tokenizer)
    text_encoder = text_encoder.with_words(extra_words)
    text_encoder.requires_grad_(False)
    text_encoder.null_tokens.requires_grad_(True)
    text_encoder.null_pooled.requires_grad_(True)
    if text_encoder.word_residual is not None:
        text_encoder.word_residual.requires_grad_(True)
    if len(text_encoder.tokenizer) > known:
        weight = text_encoder.token_embedding.weight
        weight.requires_grad_(True)
        new_rows = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
        new_rows[known:] = 1.0
        weight.register_hook(lambda grad: grad * new_rows.to(grad.device, grad.dtype))
    return text_encoder


def speed_up_word_residual(task, scale: float, config: TrainConfig) -> None:
    """Train the text encoder's word residual (if it has one) at `scale` × the learning rate,
    and say so in the model card."""
    if task.text_encoder.word_residual is not None and scale != 1.0:
        task.lr_scales = {**task.lr_scales, "text_encoder.word_residual": scale}
        config.extra["word residual"] = f"learning rate × {scale:g} for the word residual"


def unfreeze_tower(task, layers: int, scale: float, config: TrainConfig) -> None:
    """Let a frozen tower's last `layers` transformer blocks train again, with the output norm
    and pooled projection they feed, at `scale` × the learning rate; the model card says so."""
    encoder = task.text_encoder
    depth = len(encoder.blocks)
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 <= layers <= depth:
        raise InvalidArgument("tower_layers_trained", f"an integer from 0 to {depth}", layers)
    if not layers:
        return
    for i in range(depth - layers, depth):
        encoder.blocks[i].requires_grad_(True)
    encoder.norm.requires_grad_(True)
    encoder.pool_proj.requires_grad_(True)
    if scale != 1.0:
        prefixes = [f"text_encoder.blocks.{i}." for i in range(depth - layers, depth)]
        prefixes += ["text_encoder.norm.", "text_encoder.pool_proj."]
        task.lr_scales = {**task.lr_scales, **dict.fromkeys(prefixes, scale)}
    config.extra["text tower"] = (
        f"its last {layers} of {depth} blocks, output norm and pooled projection trained "
        f"(learning rate × {scale:g})"
    )


# The bundled world-t2i's denoiser (≈1.9M, 0.67 GFLOPs per image): small enough to sample fast
# on a CPU, trained on a GPU by `world-t2i` or on a CPU by `world-t2i-cpu` (genlab.train.world_cpu).
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


def build_world_t2i(name: str, spec: WorldT2ISpec, tiny_denoiser: dict, options: RecipeOptions):
    """Shared body of the world-t2i recipes: corpus, models, task, config."""
    from genlab.models import create_model

    t_start = time.monotonic()
    tiny = options.tiny
    device = resolve_device(options.device)  # fail now, not after rendering, if CUDA is absent
    cuda = device.type == "cuda"
    if options.text_encoder is not None:
        spec = with_text_encoder(spec, options.text_encoder, name)
    check_choice("text_encoder", spec.text_encoder, text_encoder_choices())
    torch.manual_seed(options.seed)
    size = 16 if tiny else spec.image_size
    user = None  # your data (--data): images at the recipe's size and their captions
    if options.data is not None:
        from genlab.train.user_data import caption_words, read_data

        if spec.layout:
            raise InvalidArgument(
                "--data", f"a recipe without a layout planner ({name} learns world layouts)",
                options.data,
            )  # fmt: skip
        user = read_data(options.data, size, progress=options.progress)
    if spec.text_encoder == "joint":
        # captions are open vocabulary: the tokenizer learns every word of yours
        tokenizer = world_vocabulary() if user is None else Tokenizer.from_texts(user[1])
        text_kw = dict(width=spec.text_width, depth=spec.text_depth, num_heads=spec.text_heads)
        if tiny:
            text_kw = dict(width=32, depth=1, num_heads=2)
        text_encoder = TextEncoder(vocab=tokenizer.vocab, max_length=spec.max_length, **text_kw)
    elif spec.text_encoder in PRETRAINED_TEXT_ENCODERS:  # open vocabulary, frozen
        from genlab.text.pretrained import PretrainedTextEncoder

        text_encoder = PretrainedTextEncoder(name=spec.text_encoder)  # its own token length
        tokenizer = text_encoder.tokenizer
    else:  # pretrained and frozen, at every scale (it is small)
        tower, _, words = spec.text_encoder.partition("+")
        new_words = caption_words(user[1]) if user is not None else ()  # their rows train
        text_encoder = pretrained_text_encoder(tower, new_words, word_residual=words == "words")
        tokenizer = text_encoder.tokenizer
    overrides = dict(tiny_denoiser if tiny else spec.denoiser_overrides)
    overrides.update(context_dim=text_encoder.width, pooled_dim=text_encoder.width)
    planner = None
    if spec.layout:
        from genlab.world.layout import LAYOUT_BG_CHANNELS, LAYOUT_CHANNELS

        overrides["layout_channels"] = (
            LAYOUT_BG_CHANNELS if spec.layout_background else LAYOUT_CHANNELS
        )
        planner_kw = dict(width=32, encoder_depth=1, decoder_depth=1, num_heads=2) if tiny else {}
        planner = create_model(
            {"arch": "layout-planner"},
            vocab_size=len(tokenizer),
            max_length=text_encoder.config.max_length,
            **planner_kw,
        )
    if cuda and spec.denoiser.startswith("unet"):
        overrides["channels_last"] = True
    denoiser = create_model(spec.denoiser, **overrides)
    schedule = NoiseSchedule.create(spec.schedule)

    n = options.data_size or (256 if tiny else spec.corpus)
    if user is not None:
        from genlab.train.user_data import data_corpus

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
            scenes=options.scenes or spec.scenes,
            captions=spec.captions,
        )
    if cuda and not tiny:
        # The whole corpus lives on the GPU as uint8: batches are one indexing op, no loader.
        corpus = {k: v.to(device) for k, v in corpus.items()}
    source = text_encoder_choices()[spec.text_encoder]
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
        name=name,
        image_size=size,
        sample_prompts=sample_prompts(4 if tiny else 16) if user is None else user[1][:16],
        text_encoder_source=source,
        layout_planner=planner,
        planner_only=spec.planner_only,
        planner_frozen=spec.planner_frozen,
    )
    config = TrainConfig(
        steps=20 if tiny else spec.steps,
        batch_size=8 if tiny else spec.batch_size,
        lr=spec.lr,
        warmup_steps=2 if tiny else spec.warmup_steps,
        lr_schedule="constant",
        weight_decay=0.0,
        grad_clip=1.0,
        ema_decay=0.9995,
        log_every=10 if tiny else 100,
        sample_every=0 if tiny else 5000,
        checkpoint_every_s=0 if tiny else 120,
        spike_factor=0 if tiny else 5.0,
        spike_warmup=500,
        export_dtype="float16",
    )
    apply_options(config, options, name)
    config.budget_start = options.started  # --time-budget covers rendering and setup too
    build_s = time.monotonic() - t_start  # counted in the time budget (options.started)
    what = f"{n:,} world scenes ({options.scenes or spec.scenes} mix)"
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
    if not tiny:  # counting takes seconds: worth it for the real model's card only
        flops = forward_flops(denoiser, text_encoder.width, size, spec.max_length)
        config.extra["denoiser forward FLOPs per image"] = f"{flops / 1e9:.2f} GFLOPs"
    return TrainJob(task, TensorSource(corpus), config)


def gpu_spec(denoiser: str, sizes: dict, lr: float) -> WorldT2ISpec:
    """The GPU recipes: 400k scenes, batch 512, world-clip's frozen text tower, min-SNR-5."""
    return WorldT2ISpec(
        denoiser=denoiser,
        denoiser_overrides=sizes,
        text_encoder="world-clip",
        min_snr_gamma=5.0,
        lr=lr,
    )


@register_recipe("world-t2i", takes=("scenes", "data"))
def world_t2i(options: RecipeOptions) -> TrainJob:
    """The bundled world-t2i's GPU pretraining: U-Net (1.9M) on world-clip's frozen text tower,
    400k world scenes, batch 512, bf16, EMA (its CPU fine-tune: world-t2i-words --scenes focus)."""
    spec = gpu_spec("unet-world-s", UNET_WORLD, lr=8e-4)
    return build_world_t2i("world-t2i", spec, TINY_UNET, options)


@register_recipe("world-t2i-dit", takes=("scenes", "data"))
def world_t2i_dit(options: RecipeOptions) -> TrainJob:
    """world-t2i with a DiT denoiser over 4×4 patches (5.1M, 0.44 GFLOPs per image)."""
    spec = gpu_spec("dit-world-s", DIT_WORLD, lr=3e-4)
    return build_world_t2i("world-t2i-dit", spec, TINY_DIT, options)


@register_recipe("world-t2i-words", takes=("scenes", "data"))
def world_t2i_words(options: RecipeOptions) -> TrainJob:
    """world-t2i with a trainable per-word vector on world-clip's output tokens (zero at the
    start), for relations, counts and binding; meant to go on from the bundled weights:
    --init-from world-t2i."""
    spec = replace(
        gpu_spec("unet-world-s", UNET_WORLD, lr=8e-4),
        text_encoder="world-clip+words",
        # a fine-tune moves the pretrained weights gently (--lr) while the new residual, at
        # zero, must travel: ×10 its rate (and ×√width its output, see TextEncoder.forward)
        residual_lr_scale=10.0,
    )
    return build_world_t2i("world-t2i-words", spec, TINY_UNET, options)


@register_recipe("world-t2i-tower", takes=("scenes", "data"))
def world_t2i_tower(options: RecipeOptions) -> TrainJob:
    """world-t2i-words with the text tower's last block (and its output norm and pooled
    projection) trained too, at 2.5× the rate: the tower's attention, which can tie "above" to
    the objects around it, learns from the denoiser's loss. Meant to go on from the bundled
    weights (--init-from world-t2i --scenes focus)."""
    spec = replace(
        gpu_spec("unet-world-s", UNET_WORLD, lr=8e-4),
        text_encoder="world-clip+words",
        residual_lr_scale=10.0,
        tower_layers_trained=1,
        tower_lr_scale=2.5,
    )
    return build_world_t2i("world-t2i-tower", spec, TINY_UNET, options)


@register_recipe("world-t2i-layout", takes=("scenes",))
def world_t2i_layout(options: RecipeOptions) -> TrainJob:
    """world-t2i-words in two stages: a layout planner learns to write where each object goes
    from the prompt, and the denoiser (through zero-initialised layout adapters) to draw a given
    layout. Meant to go on from the bundled weights (--init-from world-t2i --scenes focus); the
    adapters and the planner, new, learn at 20× the rate."""
    return build_world_t2i("world-t2i-layout", _layout_spec(), TINY_UNET, options)


def _layout_spec() -> WorldT2ISpec:
    """The two-stage recipe's sizes and rates (world-t2i-layout and its variants)."""
    return replace(
        gpu_spec("unet-world-s", UNET_WORLD, lr=8e-4),
        text_encoder="world-clip+words",
        residual_lr_scale=10.0,
        layout=True,
        layout_lr_scale=20.0,
    )


@register_recipe("world-t2i-layout-bg", takes=("scenes",))
def world_t2i_layout_bg(options: RecipeOptions) -> TrainJob:
    """world-t2i-layout whose plan carries the background too: the denoiser reads a one-hot of
    the background a caption names (zeros where it names none) beside the cells' objects. Meant
    to go on from the bundled world-t2i-layout (--init-from world-t2i-layout --scenes focus):
    the adapters' new inputs start at zero, so the first step draws as the old model did; the
    planner is kept as it is (the grammar reads a prompt's background)."""
    spec = replace(_layout_spec(), layout_background=True, planner_frozen=True)
    return build_world_t2i("world-t2i-layout-bg", spec, TINY_UNET, options)


@register_recipe("world-t2i-planner", takes=("scenes",))
def world_t2i_planner(options: RecipeOptions) -> TrainJob:
    """Only the layout planner of a two-stage model trains, on the captions and layouts of many
    scenes (text in, layout out: no image is denoised, so a step costs a small fraction of a
    denoiser step and the planner can see far more captions). Meant to go on from a
    world-t2i-layout export (--init-from FILE): its denoiser and text encoder are kept as they
    are and exported with the trained planner."""
    spec = replace(
        gpu_spec("unet-world-s", UNET_WORLD, lr=1e-3),
        text_encoder="world-clip+words",
        layout=True,
        planner_only=True,
        scenes="focus",
        batch_size=256,
    )
    return build_world_t2i("world-t2i-planner", spec, TINY_UNET, options)
