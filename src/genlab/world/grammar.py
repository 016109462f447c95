"""Prompt grammar of the built-in world: free text -> SceneRequest (what was asked, with the words
not understood), SceneRequest -> canonical text, Scene -> SceneRequest, and SceneRequest -> a Scene.

The pieces live in their own modules and are all importable from here: `request` (what is asked),
`phrasing` (request -> text), `reading` (text -> request) and `realization` (request -> scene).
"""

from __future__ import annotations

from genlab.errors import InvalidArgument
from genlab.world.phrasing import (
    CAPTION_WORDING,
    READ_WORDING,
    Wording,
    canonical_text,
    phrase_request,
)
from genlab.world.reading import MAX_PROMPT_WORDS, PromptParse
from genlab.world.reading_check import parse_prompt
from genlab.world.realization import realize
from genlab.world.request import (
    DETAILS,
    REQUEST_RELATIONS,
    ObjectRequest,
    RelationRequest,
    SceneRequest,
    group_alike,
    request_of,
)
from genlab.world.spec import Scene

__all__ = [
    "CAPTION_WORDING",
    "DETAILS",
    "MAX_PROMPT_WORDS",
    "READ_WORDING",
    "REQUEST_RELATIONS",
    "ObjectRequest",
    "PromptParse",
    "RelationRequest",
    "SceneRequest",
    "Wording",
    "canonical_caption",
    "group_alike",
    "parse_prompt",
    "phrase_request",
    "realize",
    "request_of",
]


def canonical_caption(x) -> str:
    """The one canonical caption of a Scene, a SceneRequest, or free text (parsed first)."""
    if isinstance(x, Scene):
        x = request_of(x)
    elif isinstance(x, str):
        x = parse_prompt(x).request
    if not isinstance(x, SceneRequest):
        raise InvalidArgument("x", "a Scene, SceneRequest or text", type(x).__name__)
    return canonical_text(x)
