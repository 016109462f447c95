"""Phrasing of the built-in world's requests: SceneRequest -> text, in the captioner's canonical
words (CAPTION_WORDING) or in any words the grammar reads (READ_WORDING, for paraphrases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genlab.world.lexicon import (
    ANY_SHAPE_WORDS,
    BACKGROUND_WORDS,
    COLOR_WORDS,
    COUNT_WORDS,
    INVERSE_RELATION,
    MOTION_VERBS,
    MOTION_WORDS,
    POSITION_WORDS,
    READ_COLOR_WORDS,
    READ_COUNT_WORDS,
    READ_MOTION_WORDS,
    READ_RELATION_WORDS,
    READ_SHAPE_WORDS,
    READ_SIZE_WORDS,
    RELATION_WORDS,
    SHAPE_WORDS,
    SIDE_RELATIONS,
    SIZE_WORDS,
)

if TYPE_CHECKING:  # the request types name this module's phrases: only annotations here
    from genlab.world.request import ObjectRequest, SceneRequest

# A relation read the other way round ("beside" is its own).
INVERSE = {**INVERSE_RELATION, **{r: r for r in SIDE_RELATIONS}}


@dataclass(frozen=True)
class Wording:
    """The word tables a phrasing draws from: the captioner's (CAPTION_WORDING, whose first
    entries are the canonical words) or every word the grammar reads (READ_WORDING)."""

    shapes: dict
    colors: dict
    sizes: dict
    relations: dict
    counts: dict
    backgrounds: dict = field(default_factory=lambda: BACKGROUND_WORDS)
    motions: dict = field(default_factory=lambda: MOTION_WORDS)  # after the noun
    motion_verbs: dict = field(default_factory=lambda: MOTION_VERBS)  # after "while"


def _merged(*tables: dict) -> dict:
    out: dict = {}
    for table in tables:
        for key, words in table.items():
            out[key] = [*out.get(key, []), *(w for w in words if w not in out.get(key, []))]
    return out


CAPTION_WORDING = Wording(
    SHAPE_WORDS,
    COLOR_WORDS,
    SIZE_WORDS,
    {**RELATION_WORDS, "beside": ["next to"]},
    {1: ["a"], **{n: w for n, w in COUNT_WORDS.items() if n > 1}},
)
READ_WORDING = Wording(
    _merged(SHAPE_WORDS, READ_SHAPE_WORDS),
    _merged(COLOR_WORDS, READ_COLOR_WORDS),
    _merged(SIZE_WORDS, READ_SIZE_WORDS),
    _merged(RELATION_WORDS, READ_RELATION_WORDS),
    _merged({n: [*w, str(n)] for n, w in COUNT_WORDS.items()}, READ_COUNT_WORDS),
    motions=_merged(MOTION_WORDS, MOTION_VERBS, READ_MOTION_WORDS),
    motion_verbs=_merged(MOTION_VERBS, READ_MOTION_WORDS),
)


def _first(options: list[str]) -> str:
    return options[0]


def _article(count: int, next_word: str, pick, wording: Wording) -> str:
    if count == 1:
        return "an" if next_word[0] in "aeiou" else "a"
    return pick(wording.counts[count])


def _object_phrase(
    o: ObjectRequest, pick, count: int | None = None, wording: Wording = CAPTION_WORDING
) -> str:
    count = o.count if count is None else count
    if o.shape is None:
        noun = pick(ANY_SHAPE_WORDS)[1 if count > 1 else 0]
    else:
        noun = pick(wording.shapes[o.shape])[1 if count > 1 else 0]
    words = []
    if o.size:
        words.append(pick(wording.sizes[o.size]))
    if o.color:
        words.append(pick(wording.colors[o.color]))
    words.append(noun)
    return _article(count, words[0], pick, wording) + " " + " ".join(words)


def _position_phrase(row, col, pick) -> str:
    name = pick(POSITION_WORDS[(row, col)])
    if row is not None and col is not None:
        return pick(["in the ", "at the "]) + name
    if col is not None and col != 1:
        return "on the " + name
    return ("at the " if row in (0, 2) else "in the ") + name


def _background_phrase(background: str, pick, wording: Wording = CAPTION_WORDING) -> str:
    word = pick(wording.backgrounds[background])
    return pick([f"on a {word} background", f"against a {word} background"])


def phrase_request(
    req: SceneRequest, pick=_first, *, joiner: str = "list", wording: Wording = CAPTION_WORDING
) -> str:
    """Text for a request; `pick` chooses among the synonyms of `wording` (the first one of
    CAPTION_WORDING's: canonical text).

    joiner "list" writes "A, B and C"; "while" writes "A while B" (for videos: the second clause
    uses a verb, "while a blue square grows").
    """
    # Plan the clauses first: each object once, in order, with the first relation that links it
    # to an object not yet mentioned; relations between objects both already mentioned become
    # clauses of their own with definite references ("the red circle above the blue square").
    remaining = [r for r in req.relations if r.subject != r.target]
    within = {r.subject: r.relation for r in req.relations if r.subject == r.target}
    mentioned: set[int] = set()
    plan: list[tuple] = []
    for i in range(len(req.objects)):
        if i in mentioned:
            continue
        link = None
        # Prefer a partner not yet mentioned (written in full), else one already mentioned
        # (written as "the blue square").
        for fresh in (True, False):
            for r in remaining:
                if r.subject == i and (r.target not in mentioned) == fresh and r.target != i:
                    link = (r.relation, r.target, not fresh)
                elif r.target == i and (r.subject not in mentioned) == fresh and r.subject != i:
                    link = (INVERSE[r.relation], r.subject, not fresh)
                if link is not None:
                    remaining.remove(r)
                    break
            if link is not None:
                break
        mentioned.add(i)
        if link is not None:
            mentioned.add(link[1])
        plan.append(("object", i, link))
    plan.extend(("relation", r.subject, (r.relation, r.target, True)) for r in remaining)

    parts = []
    for n, (kind, i, link) in enumerate(plan):
        if kind == "relation":
            rel, j, _ = link
            parts.append(
                _definite_phrase(req.objects[i], pick, wording)
                + f" {pick(wording.relations[rel])} "
                + _definite_phrase(req.objects[j], pick, wording)
            )
            continue
        # After "while" the motion is a verb: "... while a blue square grows".
        verb = joiner == "while" and n == len(plan) - 1 and n > 0
        text = _located_phrase(req.objects[i], pick, wording, verb=verb)
        if i in within:  # "two circles, one above the other"
            text += f", one {pick(wording.relations[within[i]])} the other"
        if link is not None:
            rel, j, definite = link
            text += " " + pick(wording.relations[rel]) + " "
            if definite:
                text += _definite_phrase(req.objects[j], pick, wording)
            else:
                text += _located_phrase(req.objects[j], pick, wording, verb=False)
                if j in within:
                    text += f", one {pick(wording.relations[within[j]])} the other"
        parts.append(text)
    if joiner == "while" and len(parts) > 1:
        text = ", ".join(parts[:-1]) + " while " + parts[-1]
    elif len(parts) > 1:
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
    else:
        text = parts[0] if parts else ""
    if req.background is not None:
        text = (text + " " if text else "") + _background_phrase(req.background, pick, wording)
    return text


def _definite_phrase(o: ObjectRequest, pick, wording: Wording = CAPTION_WORDING) -> str:
    """'the small red circle' / 'the red circles': a reference to an object already mentioned."""
    return "the " + _object_phrase(o, pick, wording=wording).split(" ", 1)[1]


def _located_phrase(o: ObjectRequest, pick, wording: Wording, *, verb: bool) -> str:
    """Noun phrase, then its position and motion: 'a red circle in the top left moving right'."""
    text = _object_phrase(o, pick, wording=wording)
    if o.row is not None or o.col is not None:
        text += " " + _position_phrase(o.row, o.col, pick)
    if o.motion is not None:
        text += " " + pick((wording.motion_verbs if verb else wording.motions)[o.motion])
    return text


def describe_object(o: ObjectRequest, count: int) -> str:
    """Canonical noun phrase of `count` objects of group o, without position."""
    return _object_phrase(o, _first, count=count)


def canonical_text(request: SceneRequest) -> str:
    """The one canonical caption of a request ("A while B" when something moves)."""
    return phrase_request(request, _first, joiner="while" if request.has_motion else "list")
