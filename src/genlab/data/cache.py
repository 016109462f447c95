"""Latent and caption caches: encode a shard set's images with a KL autoencoder (and tokenize its
captions) once, so latent diffusion training reads ready latents instead of running the encoder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from genlab.data.shards import ShardDataset, decode_image
from genlab.errors import GenlabError, InvalidArgument
from genlab.io import load_checkpoint, read_checkpoint_config, save_checkpoint
from genlab.nn.utils import weights_fingerprint as fingerprint

KIND = "latent-cache"


def vocab_fingerprint(vocab: list[str]) -> str:
    return hashlib.sha256("\n".join(vocab).encode("utf-8")).hexdigest()[:16]


@dataclass
class LatentCache:
    """latents: float (N, C, h, w), already multiplied by the autoencoder's scaling factor;
    tokens: int16 (N, 1, L) token ids of each caption (None without a tokenizer); info: the
    cache's config (autoencoder name and fingerprint, scaling factor, vocabulary fingerprint)."""

    latents: torch.Tensor
    tokens: torch.Tensor | None
    info: dict

    @classmethod
    def load(cls, path: str | Path, *, autoencoder=None, tokenizer=None) -> LatentCache:
        """Read a cache; refuse it if it was built with another autoencoder or vocabulary than
        the ones given (latents only mean something to the decoder of their encoder)."""
        info = read_checkpoint_config(path)
        if info.get("kind") != KIND:
            raise GenlabError(f"{path}: not a latent cache (kind {info.get('kind')!r})")
        if autoencoder is not None and info["autoencoder_fingerprint"] != fingerprint(autoencoder):
            theirs = getattr(autoencoder, "name", autoencoder.config.arch)
            raise GenlabError(
                f"{path}: cache was built with autoencoder {info['autoencoder']!r} "
                f"(fingerprint {info['autoencoder_fingerprint']}), not with {theirs!r} "
                f"(fingerprint {fingerprint(autoencoder)}); rebuild it: "
                f"genlab data cache SHARDS --autoencoder {theirs} --out {path}"
            )
        if tokenizer is not None and info.get("vocab_fingerprint") not in (
            None,
            vocab_fingerprint(tokenizer.vocab),
        ):
            raise GenlabError(
                f"{path}: cache tokens come from another vocabulary than this text encoder's; "
                "rebuild the cache"
            )
        tensors, _ = load_checkpoint(path)
        latents = tensors["latents"].float()
        return cls(latents, tensors.get("tokens"), info)


def build_cache(
    shards,
    autoencoder,
    out: str | Path,
    *,
    tokenizer=None,
    max_length: int = 48,
    batch_size: int = 64,
    progress: bool = True,
) -> dict:
    """Encode every complete sample of `shards` (see genlab.data.shards.ShardDataset) with
    `autoencoder.encode_latents` (posterior mean × scaling factor) and, with a `tokenizer`,
    tokenize its caption; write one safetensors file atomically. Returns the cache's config."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgument("batch_size", "an integer ≥ 1", batch_size)
    dataset = ShardDataset(shards)
    size = autoencoder.config.image_size
    device = next(autoencoder.parameters()).device
    latents, captions, batch = [], [], []
    bar = tqdm(total=len(dataset), desc="encoding latents", unit="img", disable=not progress)

    def flush():
        with torch.no_grad():
            x = torch.stack(batch).to(device)
            latents.append(autoencoder.encode_latents(x).to("cpu", torch.float16))
        bar.update(len(batch))
        batch.clear()

    for sample in dataset.iter_raw():
        batch.append(decode_image(sample.data, size, name=sample.key))
        captions.append(sample.caption or "")
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    bar.close()
    tensors = {"latents": torch.cat(latents)}
    info = {
        "kind": KIND,
        "pipeline": KIND,
        "autoencoder": getattr(autoencoder, "name", autoencoder.config.arch),
        "autoencoder_fingerprint": fingerprint(autoencoder),
        "scaling_factor": autoencoder.scaling_factor,
        "image_size": size,
        "count": len(captions),
        "skipped": dict(dataset.skipped),
        "shards": [str(p) for p in dataset.paths],
    }
    if tokenizer is not None:
        tokens = tokenizer(captions, max_length).ids  # (N, L)
        tensors["tokens"] = tokens.to(torch.int16)[:, None]  # (N, L) -> (N, K=1, L)
        info["vocab_fingerprint"] = vocab_fingerprint(tokenizer.vocab)
        info["max_length"] = max_length
    save_checkpoint(out, tensors, info)
    return info
