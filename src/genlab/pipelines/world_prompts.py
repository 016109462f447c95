"""Prompts of the built-in world, as genlab's text-to-image and text-to-video models read them:
whether a model speaks the world, each prompt read with the world grammar (or refused), the text
its denoiser is given and what its metadata says of the reading.
"""

from __future__ import annotations

from genlab.errors import InvalidArgument
from genlab.world.grammar import PromptParse, parse_prompt
from genlab.world.spec import COLORS, SHAPES

WORLD_CONTENT = "the built-in world (shapes, colors, sizes, positions, relations)"


def speaks_world(vocab) -> bool:
    """Whether a tokenizer vocabulary (words, or a word -> id map) has every shape and color of
    the built-in world: its model draws the world, and its prompts are read with the grammar."""
    return all(w in vocab for w in (*SHAPES, *COLORS))


def read_world_prompt(prompt: str) -> PromptParse:
    """PromptParse of a prompt for a model of the world, or InvalidArgument for one it cannot
    draw: empty, over the grammar's length, or not one word of it known."""
    if not prompt.strip():
        raise InvalidArgument("prompt", f"a description of {WORLD_CONTENT}", prompt)
    reading = parse_prompt(prompt)
    r = reading.request
    if not (r.objects or r.background or reading.unsupported) and reading.unknown_words:
        raise InvalidArgument(
            "prompt",
            f"a description of {WORLD_CONTENT}",
            prompt,
            hint="no word of it is known: " + ", ".join(reading.unknown_words[:8]),
        )
    return reading


def model_texts(prompts: list[str], readings) -> list[str]:
    """What the denoiser reads: the grammar's canonical caption where it read objects (the words
    the model was trained on), else the prompt as written (all of them when `readings` is None)."""
    if readings is None:
        return list(prompts)
    return [r.canonical if r.request.objects else p for p, r in zip(prompts, readings)]


def note_readings(metadata, prompts, texts, readings) -> None:
    """Each output's metadata says how its prompt was read ("read_as") and what of it could not
    be read or drawn ("warnings")."""
    if readings is None:
        return
    for meta, prompt, text, reading in zip(metadata, prompts, texts, readings, strict=True):
        if text != prompt:
            meta["read_as"] = text
        if reading.warnings():
            meta["warnings"] = reading.warnings()
