"""Feature networks behind the metrics: genlab's bundled classifiers and domain CLIP, or standard
Inception / CLIP weights the user has on disk; one interface, loaded from a short spec string.

Specs: "world", "digits" (bundled classifiers), "inception:PATH" (a TorchScript Inception such as
clean-fid's inception-2015-12-05.pt), "clip:PATH" (a transformers CLIP directory), or a path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genlab.errors import CheckpointError, InvalidArgument, NotFound
from genlab.eval.classifier import ClassifierConfig, ImageClassifier
from genlab.io import load_checkpoint
from genlab.paths import WEIGHTS_DIR
from genlab.progress import progress_bar
from genlab.text.clip import DomainCLIP

BUNDLED_CLASSIFIERS = {"world": "world-classifier", "digits": "digits-classifier"}


def _batches(images: torch.Tensor, batch_size: int, progress: bool = False, what: str = ""):
    with progress_bar(
        total=len(images), desc=what, unit="img", enabled=progress, leave=False
    ) as bar:
        for i in range(0, len(images), batch_size):
            yield images[i : i + batch_size]
            bar.update(min(batch_size, len(images) - i))


class FeatureNet:
    """Images uint8 (N,3,H,W) -> features (N,D) for FID/KID, and class logits (N,K) for IS."""

    name = "features"
    has_logits = True

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.inference_mode()
    def features(
        self, images: torch.Tensor, batch_size: int = 256, progress: bool = False
    ) -> torch.Tensor:
        _check_images(images)
        batches = _batches(images, batch_size, progress, f"{self.name} features")
        return torch.cat([self._features(b).float() for b in batches])

    @torch.inference_mode()
    def class_logits(
        self, images: torch.Tensor, batch_size: int = 256, progress: bool = False
    ) -> torch.Tensor:
        if not self.has_logits:
            raise InvalidArgument("features", "a network with class outputs for IS", self.name)
        _check_images(images)
        batches = _batches(images, batch_size, progress, f"{self.name} logits")
        return torch.cat([self._logits(b).float() for b in batches])


def _check_images(images: torch.Tensor) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise InvalidArgument(
            "images", "a uint8 tensor (N, 3, H, W)", (images.dtype, tuple(images.shape))
        )


class ClassifierFeatures(FeatureNet):
    """genlab's evaluation classifier (world or digits): penultimate features and its IS head."""

    def __init__(self, model, name: str):
        self.model = model.eval().float()
        self.name = name

    def _features(self, images):
        return self.model.embed(images)

    def _logits(self, images):
        return self.model.class_logits(images)


class TorchScriptInception(FeatureNet):
    """A TorchScript Inception-v3 (clean-fid / StyleGAN convention): float input in [0, 255] at
    299×299; `model(x, return_features=True)` gives the 2048-d pool features, `model(x)` the logits.
    """

    def __init__(self, path: str | Path, input_size: int = 299):
        path = Path(path)
        if not path.is_file():
            raise InvalidArgument("inception", "a TorchScript file on disk", str(path))
        try:
            self.model = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as e:
            raise CheckpointError(f"{path}: not a TorchScript model ({type(e).__name__})") from None
        self.input_size = input_size
        self.name = f"inception:{path.name}"

    def _prepare(self, images):
        x = images.float()
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", align_corners=False)
        return x

    def _features(self, images):
        return self.model(self._prepare(images), return_features=True)

    def _logits(self, images):
        return self.model(self._prepare(images))


class HFCLIP(FeatureNet):
    """A transformers CLIPModel from a local directory: image embeddings as FID features
    (clip-FID, Kynkäänniemi et al. 2023) and image/text embeddings for the standard CLIP score."""

    has_logits = False

    def __init__(self, path: str | Path):
        from transformers import CLIPModel, CLIPProcessor  # optional: the hub extra

        path = Path(path)
        if not path.is_dir():
            raise InvalidArgument(
                "clip", "a local directory saved by CLIPModel.save_pretrained", str(path)
            )
        try:
            self.model = CLIPModel.from_pretrained(str(path)).eval()
            self.processor = CLIPProcessor.from_pretrained(str(path))
        except Exception as e:
            raise CheckpointError(
                f"{path}: not a CLIP model directory ({type(e).__name__}: {e})"
            ) from None
        self.name = f"clip:{path.name}"

    def _features(self, images):
        return self.embed_images(images)

    @torch.inference_mode()
    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        pixels = self.processor(
            images=list(images.permute(0, 2, 3, 1).numpy()), return_tensors="pt"
        )
        out = self.model.get_image_features(pixel_values=pixels["pixel_values"])
        return _as_tensor(out)

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        max_len = self.model.config.text_config.max_position_embeddings
        tokens = self.processor(
            text=list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt"
        )
        out = self.model.get_text_features(
            input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
        )
        return _as_tensor(out)


def _as_tensor(out) -> torch.Tensor:
    # transformers ≥ 5 may return a model output object instead of the pooled tensor
    if isinstance(out, torch.Tensor):
        return out
    for key in ("image_embeds", "text_embeds", "pooler_output"):
        value = getattr(out, key, None)
        if value is not None:
            return value
    raise CheckpointError("CLIP model returned no embeddings")


class DomainCLIPScorer:
    """The bundled domain CLIP (genlab.text.clip) behind the same embed_images/embed_texts calls."""

    def __init__(self, model, name: str = "world-clip"):
        self.model = model.eval().float()
        self.name = name

    @torch.inference_mode()
    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images)
        return torch.cat([self.model.encode_images(b) for b in _batches(images, 256)])

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        texts = list(texts)
        return torch.cat(
            [self.model.encode_texts(texts[i : i + 256]) for i in range(0, len(texts), 256)]
        )


_CACHE: dict[str, object] = {}


def bundled_path(name: str) -> Path:
    path = WEIGHTS_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise NotFound(
            f"features: bundled weights {name!r} are missing ({path}); "
            f"train them with `genlab metrics train-features --net {name}`"
        )
    return path


def load_classifier(path: str | Path):
    """An ImageClassifier from a genlab checkpoint (config kind 'eval-classifier')."""
    tensors, config = load_checkpoint(path, dtype=torch.float32)
    if config.get("kind") != "eval-classifier":
        raise CheckpointError(f"{path}: not an evaluation classifier (kind {config.get('kind')!r})")
    model_cfg = dict(config["model"])
    model_cfg["channels"] = tuple(model_cfg["channels"])
    model = ImageClassifier(ClassifierConfig(**model_cfg))
    model.load_state_dict(tensors)
    return model.eval()


def load_feature_net(spec: str = "world") -> FeatureNet:
    """A FeatureNet from a spec (see the module docstring); bundled nets are loaded once."""
    if spec in _CACHE:
        return _CACHE[spec]
    if spec in BUNDLED_CLASSIFIERS:
        net = ClassifierFeatures(
            load_classifier(bundled_path(BUNDLED_CLASSIFIERS[spec])), BUNDLED_CLASSIFIERS[spec]
        )
    elif spec.startswith("inception:"):
        net = TorchScriptInception(spec.split(":", 1)[1])
    elif spec.startswith("clip:"):
        net = HFCLIP(spec.split(":", 1)[1])
    elif spec.endswith(".safetensors"):
        net = ClassifierFeatures(load_classifier(spec), Path(spec).stem)
    elif spec.endswith((".pt", ".pth", ".jit")):
        net = TorchScriptInception(spec)
    elif Path(spec).is_dir():
        net = HFCLIP(spec)
    else:
        raise InvalidArgument(
            "features", "world, digits, inception:PATH, clip:PATH or a checkpoint path", spec
        )
    _CACHE[spec] = net
    return net


def load_clip_scorer(spec: str = "world"):
    """Image/text embedder for CLIP score: "world" (bundled domain CLIP), "clip:PATH" or a directory."""
    key = f"clip|{spec}"
    if key in _CACHE:
        return _CACHE[key]
    if spec in ("world", "world-clip") or spec.endswith(".safetensors"):
        path = bundled_path("world-clip") if not spec.endswith(".safetensors") else Path(spec)
        scorer = DomainCLIPScorer(DomainCLIP.load(path), Path(path).stem)
    elif spec.startswith("clip:"):
        scorer = HFCLIP(spec.split(":", 1)[1])
    elif Path(spec).is_dir():
        scorer = HFCLIP(spec)
    else:
        raise InvalidArgument("clip", "world, clip:PATH or a CLIP directory", spec)
    _CACHE[key] = scorer
    return scorer


def world_clip_quality(images, captions) -> list[float]:
    """Curation's quality hook for world images (`genlab data prepare --quality-threshold`): the
    bundled domain CLIP's cosine similarity of each PIL image and its caption."""
    scorer = load_clip_scorer("world")
    arrays = [np.asarray(im.convert("RGB")) for im in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # uint8 (N, H, W, 3) -> (N, 3, H, W)
    img = F.normalize(scorer.embed_images(x).float(), dim=-1)
    txt = F.normalize(scorer.embed_texts(list(captions)).float(), dim=-1)
    return (img * txt).sum(-1).tolist()
