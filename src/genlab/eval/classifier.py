"""The evaluation classifier: a small CNN whose penultimate features serve FID/KID and whose class
probabilities serve IS; one architecture, configured as `world-classifier` or `digits-classifier`.

World heads predict, for each of the 3×3 grid cells, which (color, shape) object sits there (or
none) and its size, plus the background: together they describe the whole scene.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genlab.world.spec import BACKGROUNDS, COLORS, GRID, SHAPES, SIZES

# Object classes of a world cell: 0 = empty, then every (color, shape) pair.
WORLD_OBJECTS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLORS for s in SHAPES)
NUM_CELLS = GRID * GRID


def world_heads() -> dict[str, int]:
    """Output sizes of the world classifier's heads (cells are flattened into the head)."""
    return {
        "object": NUM_CELLS * (1 + len(WORLD_OBJECTS)),
        "size": NUM_CELLS * (1 + len(SIZES)),
        "background": len(BACKGROUNDS),
    }


@dataclass
class ClassifierConfig:
    in_size: int = 32  # images are resized to in_size × in_size
    channels: tuple[int, ...] = (32, 64, 128, 128)
    first_stride: int = 1  # 2 halves the resolution at once (4× cheaper, a little less accurate)
    feature_dim: int = 256  # penultimate layer: the FID/KID feature space
    heads: dict[str, int] = field(default_factory=world_heads)
    is_head: str = "object"  # the head whose class distribution IS uses
    domain: str = "world"  # "world" (per-cell heads) or "digits" (one label)
    # Multiplies the features so that real data has mean square 1 per dimension (set at export):
    # FID/KID values then have a stable scale, and KID's polynomial kernel stays well conditioned.
    feature_scale: float = 1.0


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.norm = nn.GroupNorm(8, c_out)

    def forward(self, x):
        return F.silu(self.norm(self.conv(x)))


class ImageClassifier(nn.Module):
    """Conv tower -> 3×3 adaptive pool (one vector per grid cell) -> MLP features -> heads."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        chans = config.channels
        # every block halves the resolution (the first one only if first_stride=2): 32 -> 16 -> 8 -> 4
        blocks = [ConvBlock(3, chans[0], config.first_stride)]
        blocks += [ConvBlock(a, b, 2) for a, b in zip(chans[:-1], chans[1:])]
        self.tower = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(GRID)  # keeps where things are: one cell per grid cell
        self.features = nn.Sequential(
            nn.Flatten(), nn.Linear(chans[-1] * NUM_CELLS, config.feature_dim), nn.SiLU()
        )
        self.heads = nn.ModuleDict(
            {k: nn.Linear(config.feature_dim, n) for k, n in config.heads.items()}
        )
        self.num_features = config.feature_dim

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B,3,H,W) in [0,255] or float in [-1,1] -> float (B,3,in,in) in [-1,1]."""
        if images.dtype == torch.uint8:
            images = images.float() / 127.5 - 1
        size = self.config.in_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
        return images

    def _hidden(self, images: torch.Tensor) -> torch.Tensor:
        x = self.tower(self.preprocess(images))  # (B, C, s, s)
        return self.features(self.pool(x))  # (B, C, 3, 3) -> (B, feature_dim)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The FID/KID features: the penultimate layer, times config.feature_scale."""
        return self._hidden(images) * self.config.feature_scale

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self._hidden(images)
        return {k: head(h) for k, head in self.heads.items()}

    def class_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of one categorical per image, as IS expects.

        Digits: the digit. World: which (color, shape) objects the image holds, i.e. the mean of
        the per-cell object distributions weighted by each cell's probability of being occupied.
        """
        out = self(images)
        if self.config.domain != "world":
            return out[self.config.is_head].log_softmax(-1)
        probs = out["object"].view(len(images), NUM_CELLS, -1).softmax(-1)  # (B, 9, 1+K)
        occupied = probs[..., 1:].sum(-1, keepdim=True)
        mix = (probs[..., 1:] * occupied).sum(1) / occupied.sum(1).clamp_min(1e-8)  # (B, K)
        return mix.clamp_min(1e-12).log()

    def config_dict(self) -> dict:
        d = asdict(self.config)
        d["channels"] = list(d["channels"])
        return d


def world_targets(scene) -> dict[str, torch.Tensor]:
    """Per-cell object class, per-cell size class and background index of a `Scene`."""
    objects = torch.zeros(NUM_CELLS, dtype=torch.long)
    sizes = torch.zeros(NUM_CELLS, dtype=torch.long)
    size_names = list(SIZES)
    for o in scene.objects:
        cell = o.row * GRID + o.col
        objects[cell] = 1 + WORLD_OBJECTS.index((o.color, o.shape))
        sizes[cell] = 1 + size_names.index(o.size)
    return {
        "object": objects,
        "size": sizes,
        "background": torch.tensor(list(BACKGROUNDS).index(scene.background)),
    }


def classifier_loss(model: ImageClassifier, images, targets) -> tuple[torch.Tensor, dict]:
    """Sum of cross-entropies over heads (world heads are per cell); returns (loss, accuracies)."""
    out = model(images)
    loss, logs = 0.0, {}
    for name, logits in out.items():
        target = targets[name]
        if target.ndim == 2:  # per cell: (B, 9) -> (B*9,)
            logits = logits.view(target.shape[0] * target.shape[1], -1)
            target = target.reshape(-1)
        loss = loss + F.cross_entropy(logits, target)
        logs[f"acc_{name}"] = float((logits.argmax(-1) == target).float().mean())
    return loss, logs


CONFIGS = {
    "world-classifier": lambda: ClassifierConfig(),
    "digits-classifier": lambda: ClassifierConfig(
        in_size=28,
        channels=(32, 64),
        feature_dim=128,
        heads={"digit": 10},
        is_head="digit",
        domain="digits",
    ),
}
