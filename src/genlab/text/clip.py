"""Domain CLIP: a small image encoder and genlab's text encoder trained contrastively (InfoNCE) on
world images and their captions; it powers CLIP score and text→image retrieval offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import CheckpointError
from genlab.io import load_checkpoint
from genlab.nn import ModelConfig, group_norm
from genlab.text.encoder import TextEncoder, TextEncoderConfig
from genlab.text.tokenizer import default_vocab


@dataclass
class DomainCLIPConfig(ModelConfig):
    arch = "domain-clip"
    image_size: int = 32  # images are resized to this side
    channels: tuple[int, ...] = (32, 64, 128)
    embed_dim: int = 128  # shared image/text embedding space
    text_width: int = 128
    text_depth: int = 2
    text_heads: int = 4
    max_length: int = 48  # world captions reach ~42 words
    vocab: list[str] = field(default_factory=default_vocab)
    init_temperature: float = 0.07  # CLIP's initial τ; logit_scale = log(1/τ), learned


class ImageTower(nn.Module):
    """Conv stack (each block halves the side: 32 -> 16 -> 8 -> 4) -> 3×3 pooled grid -> MLP.

    Pooling to the world's 3×3 grid, not to 1×1, keeps the positions that captions talk about.
    """

    def __init__(self, channels: tuple[int, ...], embed_dim: int):
        super().__init__()
        layers, c_in = [], 3
        for c in channels:
            layers += [
                nn.Conv2d(c_in, c, 3, stride=2, padding=1),
                group_norm(c),
                nn.SiLU(),
            ]
            c_in = c
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.proj = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in * 9, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pool(self.convs(x)))  # (B,3,H,W) -> (B,C,3,3) -> (B,embed_dim)


class DomainCLIP(nn.Module):
    """Image tower + text encoder projected into one space; similarity is cosine × exp(logit_scale)."""

    def __init__(self, config: DomainCLIPConfig | None = None, **overrides):
        super().__init__()
        config = (config or DomainCLIPConfig()).replace(**overrides)
        self.config = config
        self.image_tower = ImageTower(config.channels, config.embed_dim)
        self.text_encoder = TextEncoder(
            TextEncoderConfig(
                vocab=list(config.vocab),
                max_length=config.max_length,
                width=config.text_width,
                depth=config.text_depth,
                num_heads=config.text_heads,
            )
        )
        self.text_proj = nn.Linear(config.text_width, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / config.init_temperature)))

    @property
    def tokenizer(self):
        return self.text_encoder.tokenizer

    def _pixels(self, images: torch.Tensor) -> torch.Tensor:
        device = self.logit_scale.device
        if images.dtype == torch.uint8:
            images = images.float() / 127.5 - 1
        images = images.to(device)
        size = self.config.image_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
        return images

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B,3,H,W) or float in [-1,1] -> unit-norm embeddings (B, embed_dim)."""
        return F.normalize(self.image_tower(self._pixels(images)), dim=-1)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Captions -> unit-norm embeddings (B, embed_dim); long captions are truncated."""
        pooled = self.text_encoder.encode(list(texts)).pooled
        return F.normalize(self.text_proj(pooled), dim=-1)

    def forward(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """Logits (B, B): row i scores image i against every caption of the batch."""
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()  # CLIP caps the scale at 100
        return scale * self.encode_images(images) @ self.encode_texts(texts).T

    def contrastive_loss(self, images: torch.Tensor, texts: list[str]) -> tuple[torch.Tensor, dict]:
        """Symmetric InfoNCE (Radford et al. 2021, Fig. 3): cross-entropy over rows and columns.

        Captions that happen to describe the same scene as another item are still negatives: with
        random world scenes such collisions are rare enough not to matter.
        """
        logits = self(images, texts)  # (B, B)
        labels = torch.arange(len(logits), device=logits.device)
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        acc = (logits.argmax(-1) == labels).float().mean()
        return loss, {"acc_i2t": float(acc), "logit_scale": float(self.logit_scale.detach().exp())}

    # ---------------------------------------------------------------- checkpoints

    def export(self) -> tuple[dict[str, torch.Tensor], dict]:
        return dict(self.state_dict()), {"kind": "domain-clip", "model": self.config.to_dict()}

    @classmethod
    def load(cls, path: str | Path) -> DomainCLIP:
        tensors, config = load_checkpoint(path, dtype=torch.float32)
        if config.get("kind") != "domain-clip":
            raise CheckpointError(
                f"{path}: not a domain CLIP checkpoint (kind {config.get('kind')!r})"
            )
        model = cls(DomainCLIPConfig.from_dict(config["model"]))
        model.load_state_dict(tensors)
        return model.eval()


@torch.inference_mode()
def retrieval_recall(
    model: DomainCLIP, images: torch.Tensor, texts: list[str], ks=(1, 5)
) -> dict[str, float]:
    """Text→image recall@k: for each caption, is its own image among the k most similar images?"""
    img = torch.cat([model.encode_images(images[i : i + 256]) for i in range(0, len(images), 256)])
    txt = torch.cat([model.encode_texts(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    sims = txt @ img.T  # (N_text, N_image)
    own = sims.diagonal().unsqueeze(1)
    rank = (sims > own).sum(1)  # images scoring strictly higher than the right one
    return {f"recall@{k}": float((rank < k).float().mean()) for k in ks}


@torch.inference_mode()
def retrieve(
    model: DomainCLIP, query: str, images: torch.Tensor, k: int = 5
) -> list[tuple[int, float]]:
    """Text→image retrieval: indices of the k images most similar to `query`, with 100·cosine."""
    img = torch.cat([model.encode_images(images[i : i + 256]) for i in range(0, len(images), 256)])
    sims = (img @ model.encode_texts([query])[0]) * 100  # (N,)
    top = sims.topk(min(k, len(sims)))
    return [(int(i), float(s)) for s, i in zip(top.values, top.indices)]
