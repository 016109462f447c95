"""Text-to-image diffusion on the built-in world: the task (denoiser + text encoder with condition
dropout, an optional layout planner) and its pre-rendered in-memory corpus of captioned scenes.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from genlab.data.parallel import spawn_map
from genlab.data.world import balanced_item, focus_item, world_item
from genlab.diffusion import NoiseSchedule, diffusion_loss
from genlab.errors import InvalidArgument, check_choice
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder, Tokenizer, split_words
from genlab.train.task import Task
from genlab.world import canonical_caption, caption, render, sample_scene
from genlab.world.caption import caption_and_request, random_template, varied_caption
from genlab.world.layout import CELLS, LAYOUT_BG_CHANNELS, layout_features, scene_layout
from genlab.world.spec import BACKGROUNDS

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


# --------------------------------------------------------------------------- the corpus


def _text_encoder_size(encoder) -> str:
    if hasattr(encoder, "backbone_parameters"):  # a pretrained one: its weights are not ours
        return (f"{encoder.backbone_parameters():,} frozen parameters (from its package) and "
                f"{_count(encoder):,} trained, {len(encoder.tokenizer):,} WordPiece tokens")  # fmt: skip
    return f"{_count(encoder):,} parameters, {len(encoder.tokenizer)} words"


def world_vocabulary(seed: int = 0, n_scenes: int = 4000) -> Tokenizer:
    """The world's base vocabulary plus every word the captioner wrote for `n_scenes` scenes
    (all synonyms and template words appear well within a few thousand captions)."""
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
    rng = np.random.default_rng(seed)
    return [canonical_caption(sample_scene(rng, n_objects=(1, 2))) for _ in range(n)]
