"""Word-level tokenizer for the built-in world's prompts: a small closed vocabulary (shapes, colors,
sizes, positions, relations, counts, synonyms, template words); any other word becomes [UNK].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from genlab.errors import InvalidArgument
from genlab.world import lexicon as lx
from genlab.world import spec

PAD, UNK = "[PAD]", "[UNK]"
SPECIAL_TOKENS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1

_WORD = re.compile(r"[a-z]+|[0-9]+")


def _lexicon_words() -> list[str]:
    """Every word of every phrase in the world's lexicon (synonyms, counts, positions,
    relations, motions, template stopwords), in the lexicon's order."""
    phrases: list[str] = []
    for forms in lx.SHAPE_WORDS.values():
        phrases.extend(w for pair in forms for w in pair)
    phrases.extend(w for pair in lx.ANY_SHAPE_WORDS for w in pair)
    for table in (lx.COLOR_WORDS, lx.SIZE_WORDS, lx.BACKGROUND_WORDS, lx.RELATION_WORDS,
                  lx.MOTION_WORDS, lx.MOTION_VERBS, lx.COUNT_WORDS, lx.POSITION_WORDS):  # fmt: skip
        for group in table.values():
            phrases.extend(group)
    phrases.extend(sorted(lx.STOPWORDS))
    return [w for phrase in phrases for w in split_words(phrase)]


def default_vocab() -> list[str]:
    """The built-in world's vocabulary, specials first ([PAD]=0, [UNK]=1), in a stable order:
    spec's names, then every word of the world's lexicon, then the digits 0-10."""
    groups: list[Iterable[str]] = [
        spec.SHAPES,
        spec.COLORS,
        spec.BACKGROUNDS,
        spec.SIZES,
        spec.ROWS,
        spec.COLS,
        (w for r in spec.RELATIONS for w in r.split()),
        spec.MOTIONS,
        _lexicon_words(),
        (str(n) for n in range(11)),
    ]
    vocab = list(SPECIAL_TOKENS)
    seen = set(vocab)
    for group in groups:
        for w in group:
            if w not in seen:
                seen.add(w)
                vocab.append(w)
    return vocab


def split_words(text: str) -> list[str]:
    """Lower-case words and numbers of `text`; punctuation and whitespace separate them."""
    return _WORD.findall(text.lower())


@dataclass
class TokenBatch:
    """Token ids (B, L) long padded with [PAD], mask (B, L) bool (True = real token), and which
    prompts were cut to fit L (`truncated[i]` is True when prompt i lost words).
    """

    ids: torch.Tensor
    mask: torch.Tensor
    truncated: list[bool]


class Tokenizer:
    """Maps words to ids by a fixed vocabulary; `to_config()` is what checkpoints store."""

    def __init__(self, vocab: Sequence[str] | None = None):
        vocab = list(default_vocab() if vocab is None else vocab)
        if tuple(vocab[:2]) != SPECIAL_TOKENS:
            raise InvalidArgument(
                "vocab", f"a list starting with {list(SPECIAL_TOKENS)}", vocab[:2]
            )
        if len(set(vocab)) != len(vocab):
            raise InvalidArgument("vocab", "distinct words", len(vocab) - len(set(vocab)))
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], base: Sequence[str] | None = None) -> Tokenizer:
        """The `base` vocabulary (default: the world's) extended by every word of `texts`, in order
        of first appearance, so a caption corpus with new synonyms is fully covered.
        """
        vocab = list(default_vocab() if base is None else base)
        seen = set(vocab)
        for text in texts:
            for w in split_words(text):
                if w not in seen:
                    seen.add(w)
                    vocab.append(w)
        return cls(vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def to_config(self) -> dict:
        return {"vocab": list(self.vocab)}

    @classmethod
    def from_config(cls, config: dict) -> Tokenizer:
        return cls(config["vocab"])

    def tokenize(self, text: str) -> list[int]:
        """All token ids of `text` (no padding, no truncation); unknown words -> [UNK]."""
        return [self.index.get(w, UNK_ID) for w in split_words(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Words of the given ids, [PAD] dropped."""
        return " ".join(self.vocab[int(i)] for i in ids if int(i) != PAD_ID)

    def __call__(self, texts: str | Sequence[str], max_length: int) -> TokenBatch:
        """Tokenize a batch to exactly `max_length` positions (static shapes for compiled models)."""
        if isinstance(texts, str):
            texts = [texts]
        if not all(isinstance(t, str) for t in texts):
            raise InvalidArgument("prompt", "a string or a list of strings", texts)
        if max_length < 1:
            raise InvalidArgument("max_length", "an integer ≥ 1", max_length)
        ids = torch.full((len(texts), max_length), PAD_ID, dtype=torch.long)
        truncated = []
        for row, text in enumerate(texts):
            tokens = self.tokenize(text)
            truncated.append(len(tokens) > max_length)
            tokens = tokens[:max_length]
            ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        return TokenBatch(ids=ids, mask=ids != PAD_ID, truncated=truncated)
