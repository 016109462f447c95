"""The video family's helper networks and their recipes' configs: the FVD feature network (a 3D
CNN naming motion, color and shape), the learned 2× frame upscaler and the causal 3D VAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from genlab.eval.video import FEATURES_KIND, VideoFeatureNet, feature_targets, flicker
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.models.vae3d import psnr_per_frame, vae3d_loss
from genlab.pipelines.postprocess import UPSCALER_KIND, Upscaler
from genlab.train.data import TensorSource
from genlab.train.recipes import Family, RecipeOptions, TrainJob, apply_options, spec_config
from genlab.train.task import Task
from genlab.train.trainer import TrainConfig
from genlab.world import render, sample_scene
from genlab.world.video import render_video, sample_video_scene


def labelled_clips(n: int, *, size: int = 32, num_frames: int = 8, seed: int = 0, progress=False):
    """n world clips (1–2 objects) with class targets of their main object, as tensors."""

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
        return dict(self.net.state_dict()), {
            "kind": FEATURES_KIND,
            "model": self.net.config.to_dict(),
        }

    def model_card(self) -> str:
        return (
            "A 3D CNN over 8-frame 32×32 world clips (heads: motion, color, shape of the main "
            "object); its pooled features are the FVD features of `genlab.eval.video.fvd`."
        )


@dataclass(frozen=True)
class VideoFeaturesSpec:
    """The FVD feature network's recipe config; the defaults are the base."""

    channels: tuple = (8, 16, 32)
    clips: int = 2000  # world clips rendered (--data-size)
    steps: int = 600
    batch_size: int = 32
    warmup_steps: int = 30
    log_every: int = 50


FEATURES_TINY = dict(
    channels=(8, 8, 16), clips=32, steps=6, batch_size=8, warmup_steps=0, log_every=3
)


def build_video_features(name: str, spec: VideoFeaturesSpec, options: RecipeOptions) -> TrainJob:
    """The FVD feature network: a small 3D CNN naming motion, color and shape of world clips."""
    torch.manual_seed(options.seed)
    net = VideoFeatureNet(channels=spec.channels)
    n = options.data_size or spec.clips
    data = labelled_clips(n, seed=options.seed, progress=options.progress)
    config = _small_net_config(spec, options, name)
    config.extra = {"training clips": f"{n:,} world clips, 8 frames, 1–2 objects"}
    return TrainJob(VideoFeaturesTask(net), TensorSource(data), config)


VIDEO_FEATURES = Family(VideoFeaturesSpec, build_video_features, FEATURES_TINY)


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
        return dict(self.model.state_dict()), {
            "kind": UPSCALER_KIND,
            "model": self.model.config.to_dict(),
        }

    def model_card(self) -> str:
        f = self.model.config.factor
        return f"Upscales world frames {f}× (ESPCN-style residual over bicubic, L1 loss)."


@dataclass(frozen=True)
class UpscalerSpec:
    """The learned 2× upscaler's recipe config; the defaults are the base."""

    image_size: int = 32  # the low resolution; targets are rendered at twice it
    images: int = 2000  # world scenes rendered at both sizes (--data-size)
    channels: int = 32
    steps: int = 500
    batch_size: int = 16
    warmup_steps: int = 50
    log_every: int = 50


UPSCALER_TINY = dict(
    image_size=16, images=32, channels=8, steps=6, batch_size=8, warmup_steps=0, log_every=3
)


def build_upscaler(name: str, spec: UpscalerSpec, options: RecipeOptions) -> TrainJob:
    """The 2× frame upscaler trained on world scenes rendered at both sizes."""
    torch.manual_seed(options.seed)
    size = spec.image_size
    n = options.data_size or spec.images
    low = np.empty((n, size, size, 3), np.uint8)
    high = np.empty((n, 2 * size, 2 * size, 3), np.uint8)
    for i in range(n):
        scene = sample_scene(np.random.default_rng([options.seed, i, 6]))
        low[i], high[i] = render(scene, size), render(scene, 2 * size)
    model = Upscaler(factor=2, channels=spec.channels)
    config = _small_net_config(spec, options, name)
    config.extra = {"training images": f"{n:,} world scenes rendered at {size} and {2 * size} px"}
    data = {"low": torch.from_numpy(low), "high": torch.from_numpy(high)}
    return TrainJob(UpscalerTask(model), TensorSource(data), config)


UPSCALER = Family(UpscalerSpec, build_upscaler, UPSCALER_TINY)


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


@dataclass(frozen=True)
class VAE3DSpec:
    """The causal 3D VAE's recipe config; the defaults are the base."""

    model: str = "vae3d-world-s"  # a registered size
    clips: int = 2000  # world clips rendered (--data-size)
    image_size: int = 32
    num_frames: int = 9  # 1 + 4k: the first frame is kept, then 4× in time
    steps: int = 1500
    batch_size: int = 16
    warmup_steps: int = 50
    log_every: int = 50


VAE3D_TINY = dict(
    model="vae3d-tiny", clips=16, image_size=16, num_frames=5, steps=4, batch_size=4,
    warmup_steps=0, log_every=2,
)  # fmt: skip


def build_vae3d(name: str, spec: VAE3DSpec, options: RecipeOptions) -> TrainJob:
    """Causal 3D VAE (4× space, 4× time, first frame kept) on world clips."""
    torch.manual_seed(options.seed)
    vae = create_model(spec.model)
    n = options.data_size or spec.clips
    data = labelled_clips(n, size=spec.image_size, num_frames=spec.num_frames, seed=options.seed)
    config = _small_net_config(spec, options, name, lr=1e-3)
    task = VAE3DTask(vae)
    task.eval_clips = data["videos"][:2]
    config.extra = {"training clips": f"{n:,} world clips of {data['videos'].shape[1]} frames"}
    return TrainJob(task, TensorSource({"videos": data["videos"]}), config)


VAE3D = Family(VAE3DSpec, build_vae3d, VAE3D_TINY)


def _small_net_config(spec, options: RecipeOptions, name: str, lr: float = 2e-3) -> TrainConfig:
    """The loop of the small networks (FVD features, upscaler, the 3D VAE at lr 1e-3): cosine
    schedule from `lr`, EMA 0.99, fp16 export; sizes from `spec`, then the command line's options."""
    config = spec_config(spec, lr=lr, lr_schedule="cosine", ema_decay=0.99, export_dtype="float16")
    return apply_options(config, options, name)
