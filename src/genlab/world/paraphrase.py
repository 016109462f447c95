"""Prompts as people write them: a SceneRequest phrased with a lead-in ("please make", "show me"),
any synonym the grammar reads (READ_WORDING: "disc", "emerald", "navy blue", "a pair of", "2",
"on top of", "to the left side of", "drifting rightward", "sinks"), casing and punctuation. The compositional suite's
paraphrased split asks for the same scenes as its canonical one in these words.

Every phrasing is one the grammar reads back to the same request (tests check it); so the split
measures drawing under free wording, while words outside the lexicon are measured by the
independent prompts of benchmarks/outsider_prompts.json.
"""

from __future__ import annotations

import numpy as np

from genlab.world.grammar import (
    READ_WORDING,
    SceneRequest,
    Wording,
    canonical_caption,
    parse_prompt,
    phrase_request,
)
from genlab.world.lexicon import SHADE_WORDS

LEAD_INS = (
    "", "", "", "draw ", "please make ", "show me ", "I want ", "can you make ", "generate ",
    "I'd like ", "create ", "could you draw ", "make me ", "please draw ", "render ",
    "a picture of ", "an image with ", "I need ", "give me ", "paint ", "let's see ",
    "can I get ", "draw me ", "please show ",
)  # fmt: skip
ENDINGS = ("", "", "", ".", "!", ", please", " please", "?")


def _paraphrase_wording() -> Wording:
    """READ_WORDING with shaded and doubled colors ("light green", "golden yellow") that the
    grammar reads as the same color, so that a phrasing never changes what is asked."""
    colors = {}
    for color, names in READ_WORDING.colors.items():
        extra = [f"{shade} {w}" for shade in SHADE_WORDS[:6] for w in names[:2]]
        extra += [f"{a} {names[0]}" for a in names[1:3]]  # "crimson red", "golden yellow"
        colors[color] = [
            w
            for w in [*names, *extra]
            if parse_prompt(f"a {w} circle").request.objects[0].color == color
        ]
    return Wording(
        READ_WORDING.shapes, colors, READ_WORDING.sizes, READ_WORDING.relations,
        READ_WORDING.counts, motions=READ_WORDING.motions, motion_verbs=READ_WORDING.motion_verbs,
    )  # fmt: skip


_WORDING: Wording | None = None


def paraphrase(request: SceneRequest, rng: np.random.Generator) -> str:
    """One free phrasing of `request`, its words drawn from `rng`, that the grammar reads back
    to the same request (a draw whose words run together into another reading, as a motion
    phrase ending "to the left side" before "of", is drawn again; after 20 such draws, the
    canonical caption)."""

    for _ in range(20):
        text = _draw(request, rng)
        if parse_prompt(text).request.normalized() == request.normalized():
            return text
    return canonical_caption(request)


def _draw(request: SceneRequest, rng: np.random.Generator) -> str:
    global _WORDING
    if _WORDING is None:  # built on first use: it parses each candidate color once
        _WORDING = _paraphrase_wording()

    def pick(options):
        return options[int(rng.integers(len(options)))]

    body = phrase_request(request, pick, wording=_WORDING)
    lead, end = pick(LEAD_INS), pick(ENDINGS)
    if "please" in lead and "please" in end:
        end = "."
    if lead.startswith(("can", "could")) and not end:
        end = "?"
    text = lead + body + end
    casing = int(rng.integers(4))
    if casing == 1:
        text = text[0].upper() + text[1:]
    elif casing == 2:
        text = text.upper() if len(text) < 40 else text.capitalize()
    return text
