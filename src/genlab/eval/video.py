"""Video metrics: Fréchet video distance over a small world video network, motion and attribute
accuracy from tracked objects (scene parser), subject consistency across frames, and flicker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from genlab.errors import InvalidArgument
from genlab.eval.features import load_feature_net
from genlab.eval.metrics import fid_from_features
from genlab.frames import as_frames
from genlab.io import save_checkpoint
from genlab.nn import ModelConfig
from genlab.pipelines.registry import load_network
from genlab.world import canonical_caption, parse_prompt
from genlab.world.match import match
from genlab.world.spec import COLORS, MOTIONS, SHAPES, SIZES
from genlab.world.video import parse_video, render_video, sample_video_scene

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
        "motion_accuracy": sum(s.motion_ok for s in scores) / mt if mt else float("nan"),
        "motion_by_kind": by_kind,
        "attribute_accuracy": sum(s.object_ok for s in scores) / ot if ot else float("nan"),
        "later_frame_attributes": sum(s.later_ok for s in scores) / lt if lt else float("nan"),
        "match_score": float(np.mean([s.score for s in scores])) if scores else float("nan"),
        "videos": len(scores),
    }


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
) -> dict[str, float]:
    """Generate one video per evaluation prompt and report motion / attribute accuracy, FVD
    against the real clips, the real-vs-real FVD floor, flicker and subject consistency.
    `keyframe`: a text-to-image pipeline drawing each first frame (see Text2VideoPipeline), the
    best of `keyframe_candidates` by the world's keyframe fit; `guidance_scale`: None is the
    model's default."""
    prompts, real = motion_prompts(n, seed, n_objects, pipe.image_size, num_frames)
    _, real2 = motion_prompts(n, seed + 1, n_objects, pipe.image_size, num_frames)
    fake = []
    extra = {}  # the pipeline checks them (candidates without a keyframe model are refused)
    if keyframe is not None or keyframe_candidates != 1:
        extra = {"keyframe": keyframe, "keyframe_candidates": keyframe_candidates}
    for i, p in enumerate(tqdm(prompts, desc="generating videos", unit="video")):
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
