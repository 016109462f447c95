"""Video metrics: Fréchet video distance over a small world video network, motion and attribute
accuracy from tracked objects (scene parser), subject consistency across frames, and flicker;
the motion prompt suite (one object moving, two objects moving differently; canonical and
paraphrased wording) judged strictly by `genlab.world.video.judge_video`, lenient beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from genlab.errors import InvalidArgument
from genlab.eval.features import load_feature_net
from genlab.eval.metrics import fid_from_features, wilson_interval
from genlab.frames import as_frames
from genlab.io import save_checkpoint
from genlab.nn import ModelConfig
from genlab.pipelines.registry import load_network
from genlab.world import canonical_caption, parse_prompt
from genlab.world.grammar import ObjectRequest, SceneRequest
from genlab.world.match import match
from genlab.world.paraphrase import paraphrase
from genlab.world.spec import COLORS, HELD_OUT, MOTIONS, SHAPES, SIZES
from genlab.world.video import judge_video, parse_video, render_video, sample_video_scene

FEATURES_KIND = "video-features"
FEATURE_FRAMES = 8  # clips are resampled to this many frames before the feature network


# --------------------------------------------------------------------------- the feature network


@dataclass
class VideoFeatureConfig(ModelConfig):
    """A small 3D CNN trained to name the motion, color and shape of a world clip's main object;
    its pooled features play the role of I3D's in FVD (Unterthiner et al. 2018)."""

    arch = "video-features"
    channels: tuple[int, ...] = (16, 32, 64)
    image_size: int = 32


class VideoFeatureNet(nn.Module):
    """uint8 clips (B, T, H, W, 3) -> features (B, D); heads give motion / color / shape logits."""

    def __init__(self, config: VideoFeatureConfig | None = None, **overrides):
        super().__init__()
        self.config = config = (config or VideoFeatureConfig()).replace(**overrides)
        layers, c_in = [], 3
        for i, c in enumerate(config.channels):
            stride = (1, 2, 2) if i == 0 else (2, 2, 2)  # (T, H, W): 8×32² -> 8×16² -> 4×8² -> 2×4²
            layers += [
                nn.Conv3d(c_in, c, 3, stride=stride, padding=1),
                nn.GroupNorm(8, c),
                nn.SiLU(),
            ]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.heads = nn.ModuleDict(
            {
                "motion": nn.Linear(c_in, len(MOTIONS)),
                "color": nn.Linear(c_in, len(COLORS)),
                "shape": nn.Linear(c_in, len(SHAPES)),
            }
        )

    @property
    def dim(self) -> int:
        return self.config.channels[-1]

    def preprocess(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> (B, 3, FEATURE_FRAMES, S, S) in [-1, 1] (frames resampled)."""
        if clips.dtype != torch.uint8 or clips.ndim != 5 or clips.shape[-1] != 3:
            raise InvalidArgument("videos", "uint8 (B, T, H, W, 3) clips", tuple(clips.shape))
        x = clips.permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        S = self.config.image_size
        return nn.functional.interpolate(x, size=(FEATURE_FRAMES, S, S), mode="trilinear")

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        return self.body(self.preprocess(clips)).mean(dim=(2, 3, 4))  # (B, D)

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.embed(clips)
        return {name: head(h) for name, head in self.heads.items()}


def feature_targets(scene) -> dict[str, int]:
    """Class targets of a scene's largest object (the one a clip shows most of)."""
    i = max(range(len(scene.objects)), key=lambda k: SIZES[scene.objects[k].size])
    o = scene.objects[i]
    return {
        "motion": MOTIONS.index(scene.motions[i]),
        "color": list(COLORS).index(o.color),
        "shape": SHAPES.index(o.shape),
    }


def load_video_features(name_or_path: str = "world-t2v-fvd") -> VideoFeatureNet:
    return load_network(
        name_or_path, FEATURES_KIND, VideoFeatureNet, VideoFeatureConfig, arg="features"
    )


@torch.inference_mode()
def video_features(videos, net: VideoFeatureNet, batch_size: int = 64) -> torch.Tensor:
    """(N, D) features of N clips (uint8 (N, T, H, W, 3) tensor/array or a list of clips)."""
    clips = _as_clips(videos)
    return torch.cat(
        [net.embed(clips[i : i + batch_size]).double() for i in range(0, len(clips), batch_size)]
    )


def fvd(real, fake, net: VideoFeatureNet | None = None) -> float:
    """Fréchet video distance: the Fréchet distance (Heusel et al. 2017, eq. 6) between Gaussians
    fitted to the video network's features of real and generated clips."""
    net = net or load_video_features()
    return fid_from_features(video_features(real, net), video_features(fake, net))


def _as_clips(videos) -> torch.Tensor:
    if isinstance(videos, torch.Tensor):
        return videos
    if isinstance(videos, np.ndarray):
        return torch.from_numpy(videos)

    clips = [as_frames(v) for v in videos]
    if len({c.shape for c in clips}) != 1:
        raise InvalidArgument("videos", "clips of one shape", sorted({c.shape for c in clips}))
    return torch.from_numpy(np.stack(clips))


# --------------------------------------------------------------------------- per-video metrics


def flicker(frames) -> float:
    """Mean |x_{t+1} - 2 x_t + x_{t-1}| / 255: the second temporal difference, zero for still
    frames and for motion at constant speed, large when frames jitter back and forth."""
    x = as_frames(frames).astype(np.float32)
    if len(x) < 3:
        return 0.0
    return float(np.abs(x[2:] - 2 * x[1:-1] + x[:-2]).mean() / 255)


def subject_consistency(frames, net=None) -> float:
    """Mean cosine similarity of each frame's world-classifier features to the first frame's and
    to the previous frame's (as VBench's subject consistency, with the domain's own network)."""
    x = torch.from_numpy(as_frames(frames)).permute(0, 3, 1, 2).contiguous()  # (T, 3, H, W)
    if len(x) < 2:
        return 1.0
    f = nn.functional.normalize((net or load_feature_net("world")).features(x).float(), dim=-1)
    to_first = (f[1:] * f[0]).sum(-1)
    to_prev = (f[1:] * f[:-1]).sum(-1)
    return float(((to_first + to_prev) / 2).mean())


@dataclass
class VideoScore:
    """What the parser found in one video against its prompt."""

    prompt: str
    motion_ok: int
    motion_total: int
    object_ok: int
    object_total: int
    score: float
    later_ok: int = 0  # (frame, asked object) pairs after the first frame where it is seen
    later_total: int = 0
    # (asked motion, motion found: the parser's name, or "nothing") per motion check
    motions: list[tuple[str, str]] = field(default_factory=list)


def score_video(prompt: str, frames) -> VideoScore:
    """Track objects with the scene parser, classify their motions and match against the prompt:
    counts of passing motion checks and object (shape, color, size) checks. The object checks
    read the track's first frame (and shape and color's majority over its frames), so a video
    whose object vanishes after frame 0 can still pass them; `later_ok / later_total` counts,
    for every frame after the first, whether each asked object's shape and color is seen there
    in a frame with no more objects than asked (size is left out: growing and shrinking change
    it; a frame of noisy blobs would otherwise match some by chance)."""
    clip = as_frames(frames)
    parsed = parse_video(clip)
    m = match(prompt, parsed)
    motion = [c.ok for c in m.checks if c.kind == "motion"]
    objects = [c.ok for c in m.checks if c.kind == "object"]
    request = parse_prompt(prompt).request
    # the matcher writes one motion check per object group with a motion, in the request's order
    asked_motions = [o.motion for o in request.objects if o.motion is not None]
    found_motions = [c.found.split(",")[0] for c in m.checks if c.kind == "motion"]
    asked = [(o.shape, o.color) for o in request.objects]
    n_asked = sum(o.count for o in request.objects)
    later = []
    for k in range(1, len(clip)):  # every frame, also when nothing was found in any
        found = parsed.frame_objects(k)
        seen = {(d.shape, d.color) for d in found}
        clean = len(found) <= n_asked  # stray blobs (noise) must not pass by chance
        later += [clean and (s, c) in seen for s, c in asked]
    return VideoScore(
        prompt, sum(motion), len(motion), sum(objects), len(objects), m.score,
        sum(later), len(later), list(zip(asked_motions, found_motions)),
    )  # fmt: skip


def motion_accuracy(prompts: list[str], videos) -> dict[str, float]:
    """Fractions of motion checks and of object-attribute checks that pass over a set of videos,
    of asked objects seen (shape and color) in each frame after the first, and the mean match
    score; one prompt per video."""
    if len(prompts) != len(videos):
        raise InvalidArgument("prompts", "one prompt per video", (len(prompts), len(videos)))
    scores = [score_video(p, v) for p, v in zip(prompts, videos)]
    strict, lenient = _verdicts(prompts, videos)
    mt = sum(s.motion_total for s in scores)
    ot = sum(s.object_total for s in scores)
    lt = sum(s.later_total for s in scores)
    pairs = [pair for s in scores for pair in s.motions]
    by_kind = {}
    for kind in MOTIONS:
        found = [f for a, f in pairs if a == kind]
        if found:  # accuracy, how many were asked, and what was found most often instead
            wrong = [f for f in found if f != kind]
            by_kind[kind] = {
                "accuracy": round(1 - len(wrong) / len(found), 4),
                "asked": len(found),
                "most_found": Counter(found).most_common(1)[0][0],  # ties: first found
            }
    return {
        **_rate("strict_accuracy", strict),
        **_rate("lenient_accuracy", lenient),
        "motion_accuracy": sum(s.motion_ok for s in scores) / mt if mt else float("nan"),
        "motion_by_kind": by_kind,
        "attribute_accuracy": sum(s.object_ok for s in scores) / ot if ot else float("nan"),
        "later_frame_attributes": sum(s.later_ok for s in scores) / lt if lt else float("nan"),
        "match_score": float(np.mean([s.score for s in scores])) if scores else float("nan"),
        "videos": len(scores),
    }


def _verdicts(prompts, videos) -> tuple[list[bool], list[bool]]:
    """Per video: satisfied strictly (judge_video) and leniently."""

    strict = [judge_video(p, v).satisfied for p, v in zip(prompts, videos)]
    lenient = [
        ok or judge_video(p, v, strict=False).satisfied for ok, p, v in zip(strict, prompts, videos)
    ]
    return strict, lenient


def _rate(name: str, verdicts) -> dict:
    """{name: k / n, name_ci95: Wilson 95% interval} of a list of verdicts."""
    k, n = sum(map(bool, verdicts)), len(verdicts)
    return {name: k / n if n else float("nan"), f"{name}_ci95": list(wilson_interval(k, n))}


def motion_prompts(n: int, seed: int = 0, n_objects=(1, 1), size: int = 32, num_frames: int = 8):
    """n in-distribution evaluation items: (canonical prompts, real clips (n, T, S, S, 3) uint8)
    of moving scenes outside the training stream's seeds."""
    rng = np.random.default_rng([seed, 9001])
    prompts, clips = [], []
    for _ in range(n):
        scene = sample_video_scene(rng, n_objects=n_objects, exclude_held_out=True)
        prompts.append(canonical_caption(scene))
        clips.append(render_video(scene, num_frames, size))
    return prompts, np.stack(clips)


def evaluate_pipeline(
    pipe,
    n: int = 32,
    *,
    num_frames: int = 8,
    steps: int = 20,
    seed: int = 0,
    guidance_scale: float | None = None,
    n_objects=(1, 1),
    features: str = "world-t2v-fvd",
    keyframe=None,
    keyframe_candidates: int = 1,
    plan_source: str = "reading",
    animation: str | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Generate one video per evaluation prompt and report motion / attribute accuracy, FVD
    against the real clips, the real-vs-real FVD floor, flicker and subject consistency.
    `keyframe`: a text-to-image pipeline drawing each first frame (see Text2VideoPipeline), the
    best of `keyframe_candidates` by the world's keyframe fit; `guidance_scale`: None is the
    model's default; `plan_source`: see Text2VideoPipeline (the in-distribution prompts name
    every size and cell, so the grammar's plan says what they say); `animation`: see
    LayoutVideoPipeline (None: the model's)."""
    prompts, real = motion_prompts(n, seed, n_objects, pipe.image_size, num_frames)
    _, real2 = motion_prompts(n, seed + 1, n_objects, pipe.image_size, num_frames)
    fake = []
    extra = {}  # the pipeline checks them (candidates without a keyframe model are refused)
    if keyframe is not None or keyframe_candidates != 1:
        extra = {"keyframe": keyframe, "keyframe_candidates": keyframe_candidates}
    if plan_source != "reading":
        extra["plan_source"] = plan_source
    if animation is not None:
        extra["animation"] = animation
    bar = tqdm(prompts, desc="generating videos", unit="video", disable=not progress)
    for i, p in enumerate(bar):
        result = pipe(
            p, num_frames=num_frames, num_inference_steps=steps, seed=seed + i,
            guidance_scale=guidance_scale, **extra,
        )  # fmt: skip
        fake.append(np.stack([np.asarray(f) for f in result.frames[0]]))
    fake = np.stack(fake)
    out = motion_accuracy(prompts, list(fake))
    net = load_video_features(features)
    if n >= 10:
        out["fvd"] = fvd(real, fake, net)
        out["fvd_real_vs_real"] = fvd(real, real2, net)
    out["guidance_scale"] = result.metadata[0]["guidance_scale"]  # the scale the pipeline used
    out["flicker"] = float(np.mean([flicker(v) for v in fake]))
    out["flicker_real"] = float(np.mean([flicker(v) for v in real]))
    out["subject_consistency"] = float(np.mean([subject_consistency(v) for v in fake]))
    return out


def save_features_checkpoint(path: str | Path, model: VideoFeatureNet) -> Path:
    return save_checkpoint(
        path, model.state_dict(), {"kind": FEATURES_KIND, "model": model.config.to_dict()}
    )


# --------------------------------------------------------------------------- the motion prompt suite

VIDEO_CATEGORIES = ("single", "two")  # one object moving; two objects moving differently
VIDEO_SPLITS = ("canonical", "paraphrased")


@dataclass(frozen=True)
class VideoPrompt:
    category: str
    split: str
    prompt: str
    motions: tuple[str, ...]  # the motion asked of each object, in the prompt's order


def video_requests(category: str, n: int, seed: int = 0) -> list:
    """n SceneRequests of `category`, as people ask for motion: a colored shape and how it moves
    ("a red circle moving left"; sizes, cells and background left to the model). Every run of
    len(MOTIONS) requests asks each motion of the world once (of the first object); the second
    object of "two" moves otherwise and differs from the first in color and shape.
    (color, shape) pairs are in-distribution (no spec.HELD_OUT pair)."""

    if category not in VIDEO_CATEGORIES:
        raise InvalidArgument("category", "one of " + ", ".join(VIDEO_CATEGORIES), category)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument("n", "an integer ≥ 1", n)
    rng = np.random.default_rng([seed, 41, VIDEO_CATEGORIES.index(category)])
    pairs = sorted((c, s) for c in COLORS for s in SHAPES if (c, s) not in HELD_OUT)
    out = []
    for i in range(n):
        if i % len(MOTIONS) == 0:
            order = rng.permutation(len(MOTIONS))
        k = int(order[i % len(MOTIONS)])
        color, shape = pairs[int(rng.integers(len(pairs)))]
        objects = [ObjectRequest(shape, color, motion=MOTIONS[k])]
        if category == "two":
            other = MOTIONS[(k + 1 + int(rng.integers(len(MOTIONS) - 1))) % len(MOTIONS)]
            rest = [(c, s) for c, s in pairs if c != color and s != shape]
            c2, s2 = rest[int(rng.integers(len(rest)))]
            objects.append(ObjectRequest(s2, c2, motion=other))
        out.append(SceneRequest(tuple(objects)))
    return out


def video_suite(
    n: int, seed: int = 0, categories=VIDEO_CATEGORIES, splits=VIDEO_SPLITS
) -> list[VideoPrompt]:
    """n prompts per (category, split): the same requests in both splits, index by index, in the
    canonical caption and in a free phrasing (genlab.world.paraphrase: lead-ins, synonyms,
    motion as people write it, "drifting rightward", "sinks", "from left to right")."""

    for split in splits:
        if split not in VIDEO_SPLITS:
            raise InvalidArgument("split", "one of " + ", ".join(VIDEO_SPLITS), split)
    out = []
    for ci, category in enumerate(categories):
        requests = video_requests(category, n, seed)
        for split in splits:
            for i, request in enumerate(requests):
                if split == "canonical":
                    text = canonical_caption(request)
                else:
                    text = paraphrase(request, np.random.default_rng([17, seed, ci, i]))
                motions = tuple(o.motion for o in request.objects)
                out.append(VideoPrompt(category, split, text, motions))
    return out


@dataclass
class VideoResult:
    category: str
    split: str
    prompt: str
    seed: int
    motions: tuple[str, ...]
    satisfied: bool  # strict: judge_video
    lenient: bool
    score: float
    reasons: list[str] = field(default_factory=list)  # the strict checks that failed
    read_as: str | None = None  # the text the model was given, when not the prompt
    clip: object = None  # (T, H, W, 3) uint8 (dropped from JSON)

    def to_dict(self) -> dict:

        d = asdict(self)
        d.pop("clip")
        d["motions"] = list(self.motions)
        return d


def judge_result(item: VideoPrompt, seed: int, clip, read_as: str | None = None) -> VideoResult:
    """A suite item's video judged strictly and leniently."""

    strict = judge_video(item.prompt, clip)
    lenient = strict.satisfied or judge_video(item.prompt, clip, strict=False).satisfied
    return VideoResult(
        item.category, item.split, item.prompt, seed, item.motions, strict.satisfied, lenient,
        strict.score, [c.reason for c in strict.failures], read_as, clip,
    )  # fmt: skip


def run_video_suite(
    pipe,
    prompts: list[VideoPrompt],
    *,
    seed: int = 0,
    steps: int = 20,
    num_frames: int = 8,
    guidance_scale: float | None = None,
    batch_size: int = 8,
    progress: bool = True,
    **options,
) -> list[VideoResult]:
    """One video per suite prompt, item i of each (category, split) seeded seed + i (so the two
    splits of one request share the seed), judged with `judge_result`. `options` go to the
    pipeline call. A pipeline that reads world prompts draws from its reading (`read_as`), so
    a paraphrase read as its canonical caption gives that caption's video: such pairs are drawn
    once (the pipeline is deterministic in text and seed)."""

    index: dict[tuple[str, str], int] = {}
    seeds = []
    for p in prompts:
        key = (p.category, p.split)
        seeds.append(seed + index.get(key, 0))
        index[key] = index.get(key, 0) + 1
    reads = getattr(pipe, "read_prompts", None)
    readings = reads([p.prompt for p in prompts]) if callable(reads) else None
    keys = [
        (r.canonical if r is not None and r.request.objects else p.prompt, s)
        for p, s, r in zip(prompts, seeds, readings or [None] * len(prompts))
    ]
    todo = list(dict.fromkeys(keys))  # unique (text, seed), first-seen order
    batches: list[list] = []
    for text, s in todo:  # consecutive seeds go in one call: its video j is seeded seed + j
        last = batches[-1] if batches else None
        if last and len(last) < batch_size and last[-1][1] + 1 == s:
            last.append((text, s))
        else:
            batches.append([(text, s)])
    made: dict = {}
    bar = tqdm(total=len(todo), desc="generating videos", unit="video", disable=not progress)
    for batch in batches:
        result = pipe(
            [text for text, _ in batch], num_frames=num_frames, num_inference_steps=steps,
            seed=batch[0][1], guidance_scale=guidance_scale, **options,
        )  # fmt: skip
        for key, frames, meta in zip(batch, result.frames, result.metadata):
            made[key] = (np.stack([np.asarray(f) for f in frames]), meta.get("read_as"))
        bar.update(len(batch))
    bar.close()
    out = []
    for p, s, key in zip(prompts, seeds, keys):
        clip, read_as = made[key]
        text = read_as or key[0]  # what the model was given: the call's reading or its text
        out.append(judge_result(p, s, clip, text if text != p.prompt else None))
    return out


def summarize_videos(results: list[VideoResult]) -> dict:
    """Per split: strict accuracy (Wilson 95% interval) and lenient accuracy per category and
    pooled, and per motion asked (a two-object video counts under each of its motions)."""
    out: dict = {}
    for split in VIDEO_SPLITS:
        rows = [r for r in results if r.split == split]
        if not rows:
            continue
        entry: dict = {"categories": {}, "motions": {}}
        for category in VIDEO_CATEGORIES:
            cat = [r for r in rows if r.category == category]
            if not cat:
                continue
            entry["categories"][category] = _summary(cat)
            entry["motions"][category] = {
                m: _summary([r for r in cat if m in r.motions])
                for m in MOTIONS
                if any(m in r.motions for r in cat)
            }
        entry.update(_summary(rows))
        out[split] = entry
    return out


def _summary(rows: list[VideoResult]) -> dict:
    return {
        **_rate("strict", [r.satisfied for r in rows]),
        **_rate("lenient", [r.lenient for r in rows]),
        "videos": len(rows),
    }
