"""Word-level tokenizer for the built-in world's prompts: a small closed vocabulary (shapes, colors,
sizes, positions, relations, counts, synonyms, template words); any other word becomes [UNK].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from genlab.errors import InvalidArgument
from genlab.world import spec

PAD, UNK = "[PAD]", "[UNK]"
SPECIAL_TOKENS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1

_WORD = re.compile(r"[a-z]+|[0-9]+")

# Words prompts about the world use beyond spec's own names: counts, synonyms of shapes, colors
# and sizes, and the words of caption templates. Unlisted words still tokenize, as [UNK].
_EXTRA_WORDS = """
a an the one two three four five single pair couple several some no zero 1 2 3 4
ball disc disk dot ring round box block tile cube rectangle pyramid wedge arrowhead
rhombus gem kite lozenge starfish pentagram
crimson scarlet ruby maroon amber tangerine gold golden lemon lime emerald olive forest
teal turquoise aqua azure navy cobalt sky violet lavender magenta lilac rose salmon fuchsia
grey dark light bright pale
big huge tiny little medium
top bottom middle center centre upper lower left right corner side edge
above below under beneath over underneath on in at of to next beside near and with
there is are image picture photo scene drawing shows showing containing contains depicting
background backdrop against colored coloured object objects shape shapes
moving moves move going goes bouncing bounces growing grows shrinking shrinks still static
up down across
"""


def _plural(word: str) -> str:
    return word + "es" if word.endswith(("s", "x", "sh", "ch")) else word + "s"


def default_vocab() -> list[str]:
    """The built-in world's vocabulary, specials first ([PAD]=0, [UNK]=1), stable order."""
    words: list[str] = []
    nouns = [*spec.SHAPES, "ball", "disc", "disk", "dot", "ring", "box", "block", "tile", "cube"]
    nouns += ["rectangle", "pyramid", "wedge", "rhombus", "gem", "kite", "object", "shape"]
    groups: list[Iterable[str]] = [
        spec.SHAPES,
        (_plural(n) for n in nouns),
        spec.COLORS,
        spec.BACKGROUNDS,
        spec.SIZES,
        spec.ROWS,
        spec.COLS,
        (w for r in spec.RELATIONS for w in r.split()),
        spec.MOTIONS,
        _EXTRA_WORDS.split(),
    ]
    for group in groups:
        words.extend(group)
    seen = set(SPECIAL_TOKENS)
    vocab = list(SPECIAL_TOKENS)
    for w in words:
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
