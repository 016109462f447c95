"""Distribution and alignment metrics: FID, KID and IS over any feature network, and CLIP score.

The math is torchmetrics' (FID: Heusel et al. 2017, eq. 6; KID: Bińkowski et al. 2018; IS: Salimans
et al. 2016); genlab supplies the feature networks and computes features once per image set.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab.errors import InvalidArgument

# Below these counts a metric is either undefined or meaningless; the error message says so.
# FID needs two samples for a covariance, but its bias is large until N is well above the
# feature dimension (the report prints the real-vs-real floor at the same N for that reason).
MIN_SAMPLES = {"fid": 10, "kid": 10, "is": 10, "clip_score": 1}
RECOMMENDED_SAMPLES = {"fid": 1000, "kid": 500, "is": 1000, "clip_score": 100}


def check_count(metric: str, n: int, what: str = "images") -> None:
    """Raise InvalidArgument if `n` samples are too few for `metric` (naming the minimum)."""
    low = MIN_SAMPLES[metric]
    if n < low:
        raise InvalidArgument(
            what,
            f"at least {low} samples for {metric.upper()} (≥ {RECOMMENDED_SAMPLES[metric]} recommended)",
            n,
        )


class _Precomputed(nn.Module):
    """Identity 'feature network' so torchmetrics runs its math on features computed once by genlab."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def as_features(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InvalidArgument(name, "a (N, D) feature matrix with N ≥ 1", tuple(x.shape))
    if not torch.isfinite(x).all():
        raise InvalidArgument(name, "finite features", "NaN or inf values")
    return x.double()


def fid_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D)."""
    from torchmetrics.image.fid import FrechetInceptionDistance  # optional: the eval extra

    real, fake = as_features(real, "real features"), as_features(fake, "fake features")
    check_count("fid", len(real), "real images")
    check_count("fid", len(fake), "generated images")
    if real.shape[1] != fake.shape[1]:
        raise InvalidArgument("features", "equal dimensions", (real.shape[1], fake.shape[1]))
    metric = FrechetInceptionDistance(feature=_Precomputed(real.shape[1]))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return max(float(metric.compute()), 0.0)  # sqrtm round-off can give -1e-9


@dataclass
class KID:
    mean: float
    std: float
    subset_size: int


def kid_from_features(
    real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, seed: int = 0
) -> KID:
    """Kernel Inception Distance: unbiased MMD² with the cubic polynomial kernel, over random subsets."""
    from torchmetrics.image.kid import KernelInceptionDistance  # optional: the eval extra

    real, fake = as_features(real, "real features"), as_features(fake, "fake features")
    check_count("kid", len(real), "real images")
    check_count("kid", len(fake), "generated images")
    # Subsets must be smaller than the sets, or every subset is the whole set and std is 0.
    subset_size = min(1000, len(real) // 2, len(fake) // 2)
    with warnings.catch_warnings():  # "features kept in memory": they are already
        warnings.simplefilter("ignore")
        metric = KernelInceptionDistance(
            feature=_Precomputed(real.shape[1]), subsets=subsets, subset_size=subset_size
        )
    metric.update(real, real=True)
    metric.update(fake, real=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return KID(float(mean), float(std), subset_size)


@dataclass
class InceptionScore:
    mean: float
    std: float
    splits: int


def inception_score_from_logits(logits: torch.Tensor, splits: int = 10, seed: int = 0):
    """IS = exp(E_x KL(p(y|x) || p(y))), averaged over `splits` random splits of the samples."""
    from torchmetrics.image.inception import (
        InceptionScore as TMInceptionScore,  # optional: the eval extra
    )

    logits = as_features(logits, "class logits")
    check_count("is", len(logits))
    splits = max(1, min(splits, len(logits) // 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = TMInceptionScore(feature=_Precomputed(logits.shape[1]), splits=splits)
    metric.update(logits)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = metric.compute()
    std = float(std) if splits > 1 else 0.0
    return InceptionScore(float(mean), std, splits)


def clip_score_from_embeddings(image_emb: torch.Tensor, text_emb: torch.Tensor) -> float:
    """CLIP score (Hessel et al. 2021 without the 2.5 weight): mean over pairs of 100·max(cos, 0)."""
    if image_emb.shape != text_emb.shape:
        raise InvalidArgument("captions", "one caption per image", (len(image_emb), len(text_emb)))
    check_count("clip_score", len(image_emb))
    cos = nn.functional.cosine_similarity(image_emb.float(), text_emb.float(), dim=-1)
    return float(100 * cos.clamp(min=0).mean())


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927); (0, 1) when n == 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def paired_difference(a, b, z: float = 1.96) -> tuple[float, float, float]:
    """Mean of a - b over paired items (same prompts and seeds) and its interval by the normal
    approximation: (mean, low, high); the interval is NaN for a single pair."""
    d = np.asarray(a, float) - np.asarray(b, float)
    mean = float(d.mean())
    half = z * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return mean, mean - half, mean + half
