"""Autoregressive text-to-image transformer over VQ-VAE tokens (DALL·E-style, Ramesh et al. 2021):
text tokens as a prefix, then image tokens predicted one by one under causal attention.

Sampling keeps a KV cache and offers temperature, top-k, top-p and classifier-free guidance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from genlab.errors import InvalidArgument
from genlab.models.registry import register_architecture, register_models
from genlab.nn import FeedForward
from genlab.nn.config import ModelConfig


@dataclass
class ARConfig(ModelConfig):
    arch: ClassVar[str] = "ar-transformer"

    text_vocab_size: int = 256
    text_len: int = 16  # text prefix length (prompts are padded/truncated to this)
    image_vocab_size: int = 256  # = the VQ-VAE codebook size
    image_tokens: int = 64  # h*w of the VQ-VAE token grid
    dim: int = 256
    depth: int = 6
    heads: int = 8
    mlp_ratio: float = 4.0
    pad_id: int = 0  # the text pad token; an all-pad prefix is the null prompt for CFG

    def __post_init__(self):
        if self.dim % self.heads:
            raise InvalidArgument("dim", f"a multiple of heads={self.heads}", self.dim)

    @property
    def seq_len(self) -> int:
        # [text (text_len)] [BOS] [image tokens 0..N-2]: the last image token is never an input.
        return self.text_len + self.image_tokens


class KVCache:
    """Keys and values of every layer, (B, heads, T, head_dim) preallocated to the full sequence
    on first use (in the dtype attention computes in, so autocast and fp16 work alike)."""

    def __init__(self, cfg: ARConfig, batch: int):
        self.shape = (batch, cfg.heads, cfg.seq_len, cfg.dim // cfg.heads)
        self.k: list[torch.Tensor | None] = [None] * cfg.depth
        self.v: list[torch.Tensor | None] = [None] * cfg.depth
        self.length = 0  # positions filled so far

    def write(self, layer: int, start: int, k: torch.Tensor, v: torch.Tensor):
        """Store k, v (B, heads, T, hd) at positions start.. and return all keys/values so far."""
        if self.k[layer] is None:
            self.k[layer] = k.new_zeros(self.shape)
            self.v[layer] = v.new_zeros(self.shape)
        end = start + k.shape[2]
        self.k[layer][:, :, start:end] = k
        self.v[layer][:, :, start:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ARConfig):
        super().__init__()
        self.heads = cfg.heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, x, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.shape
        # (B, T, 3C) -> 3 × (B, heads, T, C/heads)
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        start = 0
        if cache is not None:
            start = cache.length
            k, v = cache.write(layer, start, k, v)
        if start == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # New queries at positions start..start+T-1 see every cached key up to their own.
            q_pos = torch.arange(start, start + T, device=x.device)[:, None]
            mask = torch.arange(start + T, device=x.device)[None] <= q_pos  # (T, start+T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, heads, T, C/h) -> (B, T, C)


class Block(nn.Module):
    def __init__(self, cfg: ARConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.attn = CausalSelfAttention(cfg)
        self.mlp = FeedForward(cfg.dim, cfg.mlp_ratio)

    def forward(self, x, cache=None, layer=0):
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None) -> torch.Tensor:
    """Scale by 1/temperature, keep the top_k largest and the smallest set whose probability
    reaches top_p (nucleus sampling, Holtzman et al. 2020); the rest become −∞."""
    check_sampling_args(temperature, top_k, top_p)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # Drop a token when the tokens ranked above it already reach top_p (the first always stays).
        drop_sorted = (cumulative - sorted_logits.softmax(-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _draw(probs: torch.Tensor, generator) -> torch.Tensor:
    """One token per row from probs (B, V): one shared generator, or one generator per row."""
    if isinstance(generator, list | tuple):
        return torch.cat(
            [torch.multinomial(p[None], 1, generator=g) for p, g in zip(probs, generator)]
        )
    return torch.multinomial(probs, 1, generator=generator)


def check_sampling_args(temperature, top_k, top_p) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise InvalidArgument("temperature", "a number > 0", temperature)
    if math.isnan(temperature) or temperature <= 0:
        raise InvalidArgument("temperature", "a number > 0", temperature)
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise InvalidArgument("top_k", "an integer ≥ 1 (or None for no limit)", top_k)
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, int | float) or not 0 < top_p <= 1
    ):
        raise InvalidArgument("top_p", "a number in (0, 1] (or None for no limit)", top_p)


def check_guidance(guidance_scale) -> None:
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, int | float):
        raise InvalidArgument("guidance_scale", "a number ≥ 0", guidance_scale)
    if math.isnan(guidance_scale) or guidance_scale < 0:
        raise InvalidArgument("guidance_scale", "a number ≥ 0", guidance_scale)


@torch.no_grad()
def sample_tokens(
    model: nn.Module,
    prefix: torch.Tensor,
    *,
    image_bias: torch.Tensor | None = None,
    guidance_scale: float = 1.0,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator=None,
    use_cache: bool = True,
    progress: bool = False,
) -> torch.Tensor:
    """The sampling loop of every AR prior here: `prefix` (B or 2B, L, D) embedded condition,
    the conditional rows first and, when guided (guidance_scale ≠ 1), the unconditional ones
    after; `image_bias` (same rows, N, D) is added to the input that predicts image token i.
    `model` has `_run(x, cache)`, `image_embed`, `pos_embed`, `bos_id` and a config with
    `image_tokens`, `seq_len`, `dim`, `heads`, `depth`. Returns tokens (B, N).

    Classifier-free guidance on logits: ℓ = ℓ_uncond + s·(ℓ_cond − ℓ_uncond).
    """
    cfg, device = model.config, prefix.device
    guided = guidance_scale != 1.0
    rows = prefix.shape[0]
    B = rows // 2 if guided else rows
    if isinstance(generator, list | tuple) and len(generator) != B:
        raise InvalidArgument("generator", f"one generator per prompt ({B})", len(generator))
    bos = model.image_embed(torch.full((rows, 1), model.bos_id, device=device))
    if image_bias is not None:
        bos = bos + image_bias[:, :1]
    tokens = torch.empty(B, 0, dtype=torch.long, device=device)
    cache = KVCache(cfg, rows) if use_cache else None
    seq = torch.cat([prefix, bos], dim=1)  # every input so far (the uncached path)
    new = seq  # inputs the cache has not seen yet
    for i in tqdm(range(cfg.image_tokens), desc="tokens", disable=not progress, leave=False):
        if use_cache:
            start = cache.length
            logits = model._run(new + model.pos_embed[:, start : start + new.shape[1]], cache)
        else:
            logits = model._run(seq + model.pos_embed[:, : seq.shape[1]])
        logits = logits[:, -1]  # (B or 2B, image_vocab)
        if guided:
            cond, uncond = logits.chunk(2)
            logits = uncond + guidance_scale * (cond - uncond)
        probs = filter_logits(logits.float(), temperature, top_k, top_p).softmax(-1)
        nxt = _draw(probs, generator)  # (B, 1)
        tokens = torch.cat([tokens, nxt], dim=1)
        if i + 1 == cfg.image_tokens:
            break
        new = model.image_embed(nxt.repeat(2, 1) if guided else nxt)
        if image_bias is not None:
            new = new + image_bias[:, i + 1 : i + 2]
        if not use_cache:
            seq = torch.cat([seq, new], dim=1)
    return tokens


def gpt2_init(model: nn.Module, blocks, depth: int, params=()) -> None:
    """GPT-2 init: N(0, 0.02) for every linear and embedding weight and for `params`, zero biases,
    residual projections scaled by 1/√(2·depth) so the residual stream's variance does not grow
    with depth."""
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    for p in params:
        nn.init.normal_(p, std=0.02)
    for block in blocks:
        std = 0.02 / math.sqrt(2 * depth)
        nn.init.normal_(block.attn.proj.weight, std=std)
        nn.init.normal_(block.mlp.fc2.weight, std=std)


class TokenDecoder(nn.Module):
    """What both autoregressive priors share: a stack of causal blocks over (prefix, image
    tokens), a final norm and head, teacher forcing after a BOS token, and the token loss.
    Subclasses set `blocks`, `ln_f`, `head`, `bos_id` and `config`."""

    def _run(self, x, cache=None):
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.head(self.ln_f(x))

    def shifted(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """The decoder's input ids for teacher forcing: BOS, then tokens 0 … N−2."""
        B = image_tokens.shape[0]
        bos = torch.full((B, 1), self.bos_id, device=image_tokens.device, dtype=torch.long)
        return torch.cat([bos, image_tokens[:, :-1]], dim=1)

    @staticmethod
    def token_loss(logits, image_tokens) -> dict[str, torch.Tensor]:
        """Cross-entropy of teacher-forced logits against the tokens (and in bits per token)."""
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), image_tokens.reshape(-1))
        return {"loss": loss, "bits_per_token": loss.detach() / math.log(2)}

    def config_dict(self) -> dict:
        return self.config.to_dict()


class ARTransformer(TokenDecoder):
    """logits(image token i | text, image tokens < i) with a decoder-only transformer."""

    def __init__(self, config: ARConfig | dict):
        super().__init__()
        self.config = config if isinstance(config, ARConfig) else ARConfig.from_dict(config)
        cfg = self.config
        self.text_embed = nn.Embedding(cfg.text_vocab_size, cfg.dim)
        self.image_embed = nn.Embedding(cfg.image_vocab_size + 1, cfg.dim)  # last id = BOS
        self.bos_id = cfg.image_vocab_size
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.seq_len, cfg.dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.image_vocab_size, bias=False)
        self._init_weights()

    def _init_weights(self):
        gpt2_init(self, self.blocks, self.config.depth, (self.pos_embed,))

    def forward(self, text_ids, image_tokens) -> torch.Tensor:
        """text_ids (B, text_len), image_tokens (B, N) -> logits (B, N, image_vocab) where
        position i predicts image token i from the text and tokens < i (teacher forcing)."""
        img = self.image_embed(self.shifted(image_tokens))
        x = torch.cat([self.text_embed(text_ids), img], dim=1)  # (B, L+N, D)
        logits = self._run(x + self.pos_embed[:, : x.shape[1]])
        return logits[:, text_ids.shape[1] :]

    def loss(self, text_ids, image_tokens) -> dict[str, torch.Tensor]:
        return self.token_loss(self(text_ids, image_tokens), image_tokens)

    def null_text(self, batch: int, device) -> torch.Tensor:
        return torch.full((batch, self.config.text_len), self.config.pad_id, device=device)

    @torch.no_grad()
    def generate(
        self,
        text_ids: torch.Tensor,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        guidance_scale: float = 1.0,
        negative_ids: torch.Tensor | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        use_cache: bool = True,
        progress: bool = False,
    ) -> torch.Tensor:
        """Sample image tokens (B, N) for text_ids (B, text_len).

        Classifier-free guidance on logits: ℓ = ℓ_null + s·(ℓ_text − ℓ_null), with the text and
        null prefixes in one batch (s = 1 is plain conditional sampling and skips the null half).
        `negative_ids` replace the null prefix (a negative prompt). `generator` may be one
        generator per row, so that row i depends only on its own generator (exact regeneration).
        """
        check_sampling_args(temperature, top_k, top_p)
        check_guidance(guidance_scale)
        B, device = text_ids.shape[0], text_ids.device
        guided = guidance_scale != 1.0
        negative = self.null_text(B, device) if negative_ids is None else negative_ids
        prefix = torch.cat([text_ids, negative]) if guided else text_ids
        return sample_tokens(
            self,
            self.text_embed(prefix),
            guidance_scale=guidance_scale,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
            use_cache=use_cache,
            progress=progress,
        )


AR_MODELS = {
    "ar-world": dict(dim=128, depth=6, heads=4, text_len=24),  # ~1.2M parameters
    "ar-world-s": dict(dim=96, depth=3, heads=3, text_len=24),  # CPU-trainable
    "ar-tiny": dict(dim=32, depth=2, heads=2, text_len=8, image_vocab_size=16, image_tokens=16),
}

register_architecture(ARConfig, ARTransformer)
register_models(ARConfig.arch, AR_MODELS)
