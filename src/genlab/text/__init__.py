"""Text side of genlab: the world's word tokenizer and the small transformer text encoder that
turns prompts into token embeddings, pooled embeddings and a learned null for guidance.
"""

from genlab.text.encoder import TEXT_ENCODERS, TextEncoder, TextEncoderConfig, TextEncoding
from genlab.text.tokenizer import TokenBatch, Tokenizer, default_vocab, split_words

__all__ = [
    "TEXT_ENCODERS",
    "TextEncoder",
    "TextEncoderConfig",
    "TextEncoding",
    "TokenBatch",
    "Tokenizer",
    "default_vocab",
    "split_words",
]
