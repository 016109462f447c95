"""Metrics behave: FID of two real sets sits at its floor and rises with noise and blur, KID is
near zero for real vs real, shuffled captions lower CLIP score, IS rewards variety, and standard
Inception / CLIP weights from a local path go through the same interface."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.eval import metrics as M
from genlab.eval.features import load_clip_scorer, load_feature_net
from genlab.eval.images import ImageSet, world_set
from genlab.eval.reference import degrade
from genlab.eval.report import clip_metrics

N = 96


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


@pytest.fixture(scope="module")
def real_sets():
    return world_set(N, seed=11), world_set(N, seed=12), world_set(N, seed=13)


def _degraded(s: ImageSet, noise: float = 0.0, blur: float = 0.0) -> torch.Tensor:
    rng = np.random.default_rng(0)
    arrays = [degrade(im.permute(1, 2, 0).numpy(), noise, blur, rng) for im in s.images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def test_fid_between_real_sets_is_near_its_floor_and_rises_monotonically_with_noise_and_blur(
    real_sets,
):
    net = load_feature_net("world")
    a, b, c = real_sets
    fa, fb, fc = net.features(a.images), net.features(b.images), net.features(c.images)
    floor, other_real = M.fid_from_features(fa, fb), M.fid_from_features(fa, fc)
    assert abs(floor - other_real) < 0.5 * floor  # two independent real sets: the same floor

    noisy = [M.fid_from_features(fa, net.features(_degraded(b, noise=s))) for s in (0.2, 0.4, 0.8)]
    blurred = [M.fid_from_features(fa, net.features(_degraded(b, blur=r))) for r in (1.0, 1.5, 2.5)]
    assert floor < noisy[0] < noisy[1] < noisy[2]
    assert floor < blurred[0] < blurred[1] < blurred[2]
    assert noisy[2] > 1.5 * max(floor, other_real)


def test_kid_is_near_zero_for_two_real_sets_and_grows_with_noise(real_sets):
    net = load_feature_net("world")
    a, b, _ = real_sets
    fa = net.features(a.images)
    same = M.kid_from_features(fa, net.features(b.images))
    noisy = M.kid_from_features(fa, net.features(_degraded(b, noise=0.6)))
    assert abs(same.mean) < 3 * same.std + 0.02
    assert noisy.mean > same.mean + 3 * noisy.std
    assert same.subset_size == N // 2


def test_shuffled_caption_pairing_lowers_clip_score(real_sets):
    a, _, _ = real_sets
    scores = clip_metrics(load_clip_scorer("world"), a)
    assert 0 <= scores["clip_score_shuffled"] < scores["clip_score"] - 30 <= 70


def test_inception_score_rewards_varied_scenes_over_one_repeated_scene(real_sets):
    net = load_feature_net("world")
    a, _, _ = real_sets
    same_scene = ImageSet(a.images[:1].repeat(N, 1, 1, 1))
    varied = M.inception_score_from_logits(net.class_logits(a.images))
    repeated = M.inception_score_from_logits(net.class_logits(same_scene.images))
    assert repeated.mean < 2.0 < 5.0 < varied.mean


def test_metrics_refuse_too_few_samples_and_say_the_minimum():
    few = torch.randn(5, 8)
    with pytest.raises(InvalidArgument, match="at least 10 samples for FID"):
        M.fid_from_features(few, torch.randn(50, 8))
    with pytest.raises(InvalidArgument, match="at least 10 samples for KID"):
        M.kid_from_features(torch.randn(50, 8), few)
    with pytest.raises(InvalidArgument, match="at least 10 samples for IS"):
        M.inception_score_from_logits(few)
    with pytest.raises(InvalidArgument, match="finite"):
        M.fid_from_features(torch.full((20, 8), float("nan")), torch.randn(20, 8))


def test_wilson_interval_matches_the_textbook_values():
    lo, hi = M.wilson_interval(5, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.237, 0.763)
    assert M.wilson_interval(0, 20)[0] == 0.0 and M.wilson_interval(20, 20)[1] == 1.0
    assert M.wilson_interval(0, 0) == (0.0, 1.0)


class TinyInception(torch.nn.Module):
    """Stands in for clean-fid's TorchScript Inception: 299 px input in [0, 255]."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=8)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert x.shape[-1] == 299
        h = self.conv(x / 255).mean((2, 3))
        return h if return_features else self.fc(h)


def test_standard_inception_fid_runs_from_a_local_torchscript_file(tmp_path, real_sets):
    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.script(TinyInception()).save(str(path))
    net = load_feature_net(f"inception:{path}")
    a, b, _ = real_sets
    fa = net.features(a.images[:20])
    assert fa.shape == (20, 8)
    assert M.fid_from_features(fa, fa) < 1e-3
    assert M.fid_from_features(fa, net.features(_degraded(b, noise=0.8)[:20])) > 0
    assert net.class_logits(a.images[:20]).shape == (20, 10)


def test_standard_clip_score_runs_from_a_local_transformers_clip(tmp_path, real_sets):
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    words = ["a", "red", "blue", "circle", "square", "on", "the", "left", "of"]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<unk>": 2}
    for w in words:
        vocab.setdefault(w + "</w>", len(vocab))
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=32,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        ),
        vision_config=dict(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=8,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(tmp_path / "clip")
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(
        tmp_path / "clip"
    )

    scorer = load_clip_scorer(f"clip:{tmp_path / 'clip'}")
    a, _, _ = real_sets
    subset = ImageSet(a.images[:12], ["a red circle on the left"] * 6 + ["a blue square"] * 6)
    scores = clip_metrics(scorer, subset)
    img, txt = scorer.embed_images(subset.images), scorer.embed_texts(subset.captions)
    expected = 100 * torch.nn.functional.cosine_similarity(img, txt).clamp(min=0).mean()
    assert scores["clip_score"] == pytest.approx(float(expected), rel=1e-5)
    assert 0 <= scores["clip_score"] <= 100
    fid_net = load_feature_net(f"clip:{tmp_path / 'clip'}")
    assert fid_net.features(subset.images).shape == (12, 8)


def test_text_to_image_retrieval_finds_the_scene_a_caption_describes(real_sets):
    from genlab.eval.features import bundled_path
    from genlab.text.clip import DomainCLIP, retrieve

    model = DomainCLIP.load(bundled_path("world-clip"))
    a, _, _ = real_sets
    found = sum(
        i in {j for j, _ in retrieve(model, a.captions[i], a.images, k=5)} for i in range(20)
    )
    assert found >= 18  # recall@5 among 96 images (0.998 among 1,000 on the model card)


def test_paired_difference_is_the_mean_gap_with_a_normal_interval():
    from genlab.eval.metrics import paired_difference

    mean, low, high = paired_difference([1, 1, 0, 1], [1, 0, 0, 0])
    assert mean == 0.5 and low < 0.5 < high
    assert (
        abs((high - low) / 2 - 1.96 * (1 / 3) ** 0.5 / 2) < 1e-9
    )  # z·sd(d)/√n, sd(0,1,0,1)=√(1/3)
    mean, low, high = paired_difference([0.3], [0.1])
    assert abs(mean - 0.2) < 1e-12 and low != low and high != high  # one pair: no interval
