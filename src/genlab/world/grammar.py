"""Prompt grammar of the built-in world: free text -> SceneRequest (what was asked, with the words
not understood), SceneRequest -> canonical text, Scene -> SceneRequest, and SceneRequest -> a Scene.

A prompt only partly specifies a scene: "two red circles above a blue square" fixes colors, shapes
and a relation but not sizes or cells. `realize` draws a concrete scene that satisfies it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

import numpy as np

from genlab.errors import InvalidArgument
from genlab.world.lexicon import (
    ANY_SHAPE_WORDS,
    BACKGROUND_SHADES,
    BACKGROUND_WORDS,
    COLOR_NAMESAKES,
    COLOR_WORDS,
    COUNT_WORDS,
    FOREIGN_COLORS,
    FOREIGN_RELATIONS,
    FOREIGN_SHAPES,
    INVERSE_RELATION,
    LEAD_IN_WORDS,
    MOTION_VERBS,
    MOTION_WORDS,
    POSITION_WORDS,
    READ_COLOR_WORDS,
    READ_COUNT_WORDS,
    READ_MOTION_WORDS,
    READ_POSITION_WORDS,
    READ_RELATION_WORDS,
    READ_SHAPE_WORDS,
    READ_SIZE_WORDS,
    RELATION_WORDS,
    SHADE_WORDS,
    SHAPE_ADJECTIVES,
    SHAPE_WORDS,
    SIDE_RELATIONS,
    SIZE_WORDS,
    STOPWORDS,
)
from genlab.world.motion import DIRECTIONS as _DIRECTIONS
from genlab.world.motion import start_size, target_cell
from genlab.world.sample import as_generator, jittered_center
from genlab.world.spec import (
    BACKGROUNDS,
    COLORS,
    GRID,
    HELD_OUT,
    MAX_OBJECTS,
    RELATIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    relation_between,
)

DETAILS = ("full", "objects", "counts", "relation")
# Relations a request may hold: the world's four, and "beside" (left of or right of, either side).
REQUEST_RELATIONS = (*RELATIONS, *SIDE_RELATIONS)
_INVERSE = {**INVERSE_RELATION, **{r: r for r in SIDE_RELATIONS}}


@dataclass(frozen=True)
class ObjectRequest:
    """A group of `count` alike objects; None means "any" for that attribute."""

    shape: str | None = None
    color: str | None = None
    size: str | None = None
    count: int = 1
    row: int | None = None
    col: int | None = None
    motion: str | None = None

    def matches(self, shape: str, color: str, size: str) -> bool:
        """Whether an object with these attributes is one of this group (position aside)."""
        return (
            (self.shape is None or self.shape == shape)
            and (self.color is None or self.color == color)
            and (self.size is None or self.size == size)
        )

    def allows_cell(self, row: int, col: int) -> bool:
        return (self.row is None or self.row == row) and (self.col is None or self.col == col)

    def describe(self, count: int | None = None) -> str:
        """Canonical noun phrase without position: 'two small red circles', 'a blue object'."""
        return _object_phrase(self, _first, count=self.count if count is None else count)

    @property
    def position(self) -> str | None:
        if self.row is None and self.col is None:
            return None
        return POSITION_WORDS[(self.row, self.col)][0]


@dataclass(frozen=True)
class RelationRequest:
    """objects[subject] <relation> objects[target], for every instance of both groups."""

    subject: int
    relation: str
    target: int


@dataclass(frozen=True)
class SceneRequest:
    objects: tuple[ObjectRequest, ...] = ()
    relations: tuple[RelationRequest, ...] = ()
    background: str | None = None

    @property
    def total_objects(self) -> int:
        return sum(o.count for o in self.objects)

    def normalized(self) -> SceneRequest:
        """The same request in a canonical order (sorted groups, 'left of'/'above' relations)."""

        def key(o: ObjectRequest):
            return tuple("" if v is None else str(v) for v in (o.row, o.col, *_attrs(o)))

        order = sorted(range(len(self.objects)), key=lambda i: key(self.objects[i]))
        new_index = {old: new for new, old in enumerate(order)}
        relations = set()
        for r in self.relations:
            s, rel, t = new_index[r.subject], r.relation, new_index[r.target]
            if rel in ("right of", "below"):
                s, rel, t = t, _INVERSE[rel], s
            relations.add(RelationRequest(s, rel, t))
        return SceneRequest(
            tuple(self.objects[i] for i in order),
            tuple(sorted(relations, key=lambda r: (r.subject, r.relation, r.target))),
            self.background,
        )


def _attrs(o: ObjectRequest) -> tuple:
    return (o.shape, o.color, o.size, o.count, o.motion)


def group_alike(objects) -> list[ObjectRequest]:
    """Alike single objects (same stated shape, color, size, motion) as one group with a count,
    in order of first appearance: red circle, blue square, red circle -> two red circles, ..."""
    grouped: dict[tuple, int] = {}
    for o in objects:
        key = (o.shape, o.color, o.size, o.motion)
        grouped[key] = grouped.get(key, 0) + o.count
    return [ObjectRequest(s, c, z, n, motion=m) for (s, c, z, m), n in grouped.items()]


@dataclass
class PromptParse:
    """Result of parse_prompt: the request, the words not understood, the canonical text, and
    the colors, shapes and relations asked for that this world does not have, as (kind, words):
    ("color", "white"), ("shape", "hexagon"), ("relation", "between")."""

    request: SceneRequest
    unknown_words: list[str] = field(default_factory=list)
    canonical: str = ""
    unsupported: list[tuple[str, str]] = field(default_factory=list)

    @property
    def understood(self) -> bool:
        """Every word was read and everything asked for can be drawn."""
        return bool(self.request.objects) and not self.unknown_words and not self.unsupported

    def warnings(self) -> list[str]:
        """One sentence per problem, for a CLI warning, a response field or the agent's reply:
        "white is not a color of this world; it knows red, orange, ...", "not understood: ..."."""
        out = self.unsupported_warnings()
        if self.unknown_words:
            words = list(dict.fromkeys(self.unknown_words))
            out.append("not understood: " + ", ".join(words))
        return out

    def unsupported_warnings(self) -> list[str]:
        """The sentences of `warnings` about what this world lacks (not the words not read)."""
        known = {
            "color": ", ".join(COLORS),
            "shape": ", ".join(SHAPES),
            "relation": ", ".join(REQUEST_RELATIONS[:-1]) + " and beside (next to)",
            "background color": ", ".join(BACKGROUNDS),
        }
        return [
            f"{words} is not a {kind} of this world; it knows {known[kind]}"
            for kind, words in dict.fromkeys(self.unsupported)
        ]


# --------------------------------------------------------------------------- phrasing


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
                    link = (_INVERSE[r.relation], r.subject, not fresh)
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


def canonical_caption(x) -> str:
    """The one canonical caption of a Scene, a SceneRequest, or free text (parsed first)."""
    if isinstance(x, Scene):
        x = request_of(x)
    elif isinstance(x, str):
        x = parse_prompt(x).request
    if not isinstance(x, SceneRequest):
        raise InvalidArgument("x", "a Scene, SceneRequest or text", type(x).__name__)
    return phrase_request(x, _first, joiner="while" if _has_motion(x) else "list")


def _has_motion(req: SceneRequest) -> bool:
    return any(o.motion is not None for o in req.objects)


# --------------------------------------------------------------------------- scene -> request


def request_of(
    scene: Scene,
    detail: str = "full",
    *,
    with_background: bool = True,
    with_motion: bool = True,
    relation: str | None = None,
) -> SceneRequest:
    """What a caption of `scene` says, at a level of detail.

    full: every object with its cell; objects: every object, no positions; counts: alike objects
    grouped ("two red circles"); relation: two objects and one relation between them, `relation`
    if given (it must hold), else the first that holds (left/right before above/below).
    """
    if detail not in DETAILS:
        raise InvalidArgument("detail", "one of " + ", ".join(DETAILS), detail)
    if relation is not None and detail != "relation":
        raise InvalidArgument("relation", "None unless detail is 'relation'", relation)
    motions = (
        scene.motions if with_motion and "motions" in scene.extras else [None] * len(scene.objects)
    )
    objects = []
    for o, motion in zip(scene.objects, motions):
        at = (o.row, o.col) if detail == "full" else (None, None)
        objects.append(ObjectRequest(o.shape, o.color, o.size, 1, *at, motion))
    relations: tuple[RelationRequest, ...] = ()
    if detail == "counts":
        objects = group_alike(objects)
    elif detail == "relation":
        if len(objects) != 2:
            raise InvalidArgument(
                "detail", "'relation' only for scenes of two objects", len(scene.objects)
            )
        holds = relation_between(*scene.objects)
        if relation is not None and relation not in holds:
            raise InvalidArgument(
                "relation", "one that holds between the two objects: " + ", ".join(holds), relation
            )
        relations = (RelationRequest(0, relation or holds[0], 1),)
    background = scene.background if with_background else None
    return SceneRequest(tuple(objects), relations, background)


# --------------------------------------------------------------------------- text -> request


def _build_lexicon() -> dict[tuple[str, ...], tuple[str, object]]:
    lex: dict[tuple[str, ...], tuple[str, object]] = {}

    def add(phrase: str, kind: str, value) -> None:
        lex.setdefault(tuple(phrase.split()), (kind, value))

    words = READ_WORDING
    for shape, forms in words.shapes.items():
        for singular, plural in forms:
            add(singular, "shape", (shape, False))
            add(plural, "shape", (shape, True))
    for singular, plural in ANY_SHAPE_WORDS:
        add(singular, "shape", (None, False))
        add(plural, "shape", (None, True))
    for color, names in words.colors.items():
        for w in names:
            add(w, "color", color)
        # "golden yellow", "navy blue": two words for one color; "light green": a shade of it
        for a, b in itertools.product(names, names):
            if a != b:
                add(f"{a} {b}", "color", color)
        for shade, w in itertools.product((*SHADE_WORDS, *COLOR_NAMESAKES), names):
            add(f"{shade} {w}", "color", color)
    for table, kind in ((words.sizes, "size"), (BACKGROUND_WORDS, "bg")):
        for value, names in table.items():
            for w in names:
                add(w, kind, value)
    for value, names in BACKGROUND_WORDS.items():  # "jet black", "mid grey", "snow white"
        for shade, w in itertools.product(BACKGROUND_SHADES, names):
            add(f"{shade} {w}", "bg", value)
    for table, kind in (
        (words.relations, "rel"),
        (MOTION_WORDS, "motion"),
        (MOTION_VERBS, "motion"),
        (READ_MOTION_WORDS, "motion"),
    ):
        for value, names in table.items():
            for w in names:
                add(w, kind, value)
    for table in (POSITION_WORDS, READ_POSITION_WORDS):
        for cell, names in table.items():
            for w in names:
                add(w, "pos", cell)
    for n, names in words.counts.items():
        for w in names:
            add(w, "count", n)
    for w in ("and", ",", "while", "with", "plus", "along with", "together with", "as well as"):
        add(w, "sep", None)
    for w in ("one more thing", "another thing", "one last thing"):  # "... and one more thing: X"
        add(w, "stop", None)
    add("the", "the", None)
    add("other", "other", None)
    for w in ("it", "its", "them", "their"):  # "... with a red ball above it / on its left"
        add(w, "pronoun", w)
    for w in ("background", "backdrop"):
        add(w, "background", None)
    for shape, names in SHAPE_ADJECTIVES.items():
        for w in names:
            add(w, "shape adjective", shape)
        for singular, _ in words.shapes[shape]:
            add(f"{singular} shaped", "shape adjective", shape)
    # What this world does not have, named in a warning rather than dropped.
    for w in FOREIGN_COLORS:
        add(w, "foreign color", w)
        for shade in SHADE_WORDS:
            add(f"{shade} {w}", "foreign color", f"{shade} {w}")
    for w in FOREIGN_SHAPES:
        add(w, "foreign shape", (w, False))
        add(w + ("es" if w.endswith(("s", "x", "ch", "sh")) else "s"), "foreign shape", (w, True))
    for w in FOREIGN_RELATIONS:
        add(w, "foreign relation", w)
    return lex


_LEXICON = _build_lexicon()
_BACKGROUND_OF = {w: bg for bg, names in BACKGROUND_WORDS.items() for w in names}
_MAX_PHRASE = max(len(k) for k in _LEXICON)
_TOKEN_RE = re.compile(r"[a-z0-9]+|,")
# Longer than any description of a 4-object scene by far: a longer prompt is a mistake.
MAX_PROMPT_WORDS = 200


def _tokenize(text: str) -> list[tuple[str, object, str]]:
    """Longest-match lexicon lookup: [(kind, value, words)], 'unknown' and 'stop' included."""
    words = _TOKEN_RE.findall(text.lower().replace(";", ",").replace("-", " "))
    tokens, i = [], 0
    while i < len(words):
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            hit = _LEXICON.get(tuple(words[i : i + n]))
            if hit is not None:
                tokens.append((hit[0], hit[1], " ".join(words[i : i + n])))
                i += n
                break
        else:
            known = words[i] in STOPWORDS or words[i] in LEAD_IN_WORDS
            tokens.append(("stop" if known else "unknown", None, words[i]))
            i += 1
    return tokens


def parse_prompt(text: str) -> PromptParse:
    """Free text -> PromptParse(request, unknown_words, canonical)."""
    if not isinstance(text, str):
        raise InvalidArgument("prompt", "a string", type(text).__name__)
    if len(text.split()) > MAX_PROMPT_WORDS:
        raise InvalidArgument(
            "prompt", f"at most {MAX_PROMPT_WORDS} words", f"{len(text.split())} words"
        )
    tokens = _tokenize(text)
    objects: list[ObjectRequest] = []
    relations: list[RelationRequest] = []
    unknown: list[str] = []
    unsupported: list[tuple[str, str]] = []
    background = None
    pending: dict = {}  # count / size / color / definite, before the noun arrives
    pending_cell = None  # a position phrase seen before its object
    pending_rel = None  # (subject index, relation) waiting for its target
    last = None  # index of the last object mentioned
    before = None  # the one mentioned before it: what "it" refers to ("X with Y above it")
    fresh_clause = True  # a separator came after the last object
    owner = None  # "its": the object whose side the next position phrase names

    def add_object(shape, plural: bool) -> None:
        nonlocal pending, pending_cell, pending_rel, last, before, fresh_clause
        count = pending.get("count") or (2 if plural else 1)
        new = ObjectRequest(shape, pending.get("color"), pending.get("size"), count)
        index = None
        if pending.get("definite") and pending.get("count") is None:
            # "the blue square" refers back to an object already mentioned, if there is one.
            for j, o in enumerate(objects):
                if all(v is None or v == w for v, w in zip(_attrs(new)[:3], _attrs(o)[:3])):
                    index = j
        if index is None:
            if pending_cell is not None:
                new = replace(new, row=pending_cell[0], col=pending_cell[1])
            objects.append(new)
            index = len(objects) - 1
        if pending_rel is not None and pending_rel[0] != index:
            relations.append(RelationRequest(pending_rel[0], pending_rel[1], index))
        if index != last:
            before = last
        pending, pending_cell, pending_rel, last, fresh_clause = {}, None, None, index, False

    def flush() -> None:
        """Attributes without a noun ("a red one", "something big") still name an object."""
        if any(pending.get(k) for k in ("color", "size", "foreign", "shape")):
            add_object(pending.get("shape"), False)
        pending.clear()

    skip: set[int] = set()  # tokens already read with the one before them
    for k, (kind, value, words) in enumerate(tokens):
        if k in skip:
            continue
        following = tokens[k + 1][0] if k + 1 < len(tokens) else None
        previous = tokens[k - 1][2] if k else None
        if kind == "count" and last is not None and _of_them(tokens, k):
            # "square tiles, three of them": the count of the group just named
            objects[last] = replace(objects[last], count=value)
            skip.update((k + 1, k + 2))
        elif (
            kind == "color"
            and last is not None
            and previous in _POST_COLOR
            and objects[last].color is None
            and not pending
        ):
            # "a star colored yellow", "a triangle in green", "two boxes, both red",
            # "three discs, all of them violet": the color of the object just named
            objects[last] = replace(objects[last], color=value)
        elif kind in ("count", "size", "color"):
            # A repeated attribute, or a count after attributes, starts a new noun phrase
            # ("a red elephant and a star": the red thing is an object of its own).
            if (kind in pending and kind != "count") or (
                kind == "count" and ("color" in pending or "size" in pending)
            ):
                flush()
            if kind == "color" and "foreign" in pending:
                flush()
            pending[kind] = value
        elif kind == "the":
            pending["definite"] = True
        elif kind == "shape" and _same_noun(tokens, k):
            pending["shape"] = value[0]  # "star shapes", "square tiles": one noun, two words
        elif kind == "shape":
            shape, plural = value
            add_object(shape if shape is not None else pending.get("shape"), plural)
        elif kind == "shape adjective":  # "a triangular shape", "a round red thing"
            pending["shape"] = value
        elif kind == "foreign shape":
            unsupported.append(("shape", value[0]))
            add_object(None, value[1])  # counted and colored as asked, its shape left open
        elif kind == "foreign color":
            shade_of = _BACKGROUND_OF.get(value.split()[-1])
            if shade_of is not None and following not in _OBJECT_WORDS:
                # "a light gray background", "against bright white": the world's background
                background = shade_of
            elif following == "background":
                unsupported.append(("background color", value))
            else:
                unsupported.append(("color", value))
                pending.setdefault("foreign", True)
        elif kind == "foreign relation":
            flush()
            unsupported.append(("relation", value))
        elif kind == "pronoun" and words == "them" and following == "color":
            pass  # "all of them violet": the color goes to the group just named
        elif kind == "pronoun":
            if pending_rel is not None and before is not None and words in ("it", "them"):
                relations.append(RelationRequest(pending_rel[0], pending_rel[1], before))
                pending_rel = None  # "a square with a red ball above it"
            elif words in ("its", "their") and before is not None and last is not None:
                owner = before  # "a square with a red ball on its left"
            else:
                unknown.append(words)
        elif kind == "pos" and owner is not None and value in _SIDES:
            relations.append(RelationRequest(last, _SIDES[value], owner))
            owner = None
        elif kind == "pos" and _beside_side(value, relations, last):
            # "a red circle beside a blue square, on the right": the side of "beside"
            rel = relations[-1]
            side = "left of" if value[1] == 0 else "right of"
            relations[-1] = RelationRequest(rel.subject, side, rel.target)
        elif kind == "pos":
            flush()
            if last is not None and not fresh_clause and objects[last].position is None:
                objects[last] = replace(objects[last], row=value[0], col=value[1])
            else:
                pending_cell = value
        elif kind == "rel":
            flush()
            if last is None:
                unknown.append(words)
            else:
                pending_rel = (last, value)
        elif kind == "motion":
            flush()
            if last is None or objects[last].motion is not None:
                unknown.append(words)
            else:
                objects[last] = replace(objects[last], motion=value)
        elif kind == "bg":
            if following in ("color", "size", "shape", "foreign shape"):
                unsupported.append(("color", words))  # "a white circle": not an object color
                pending.setdefault("foreign", True)
            else:
                background = value
        elif kind == "sep":
            flush()
            fresh_clause = True
        elif kind == "other":
            # "two circles, one above the other": a relation between the members of one group.
            if pending_rel is not None and objects[pending_rel[0]].count >= 2:
                relations.append(RelationRequest(pending_rel[0], pending_rel[1], pending_rel[0]))
                pending_rel = None
                pending.clear()
            else:
                unknown.append(words)
        elif kind == "unknown":
            unknown.append(words)
        # "stop" and "background" carry no meaning of their own
    flush()
    request = SceneRequest(tuple(objects), tuple(relations), background)
    canonical = canonical_caption(request) if objects or background else ""
    return PromptParse(request, unknown, canonical, unsupported)


# Kinds of token that make a color before them an object's, not the background's.
_OBJECT_WORDS = ("color", "size", "shape", "foreign shape", "shape adjective")

# Words after which a color names the object just mentioned: "colored yellow", "in green",
# "both red", "all (of them) violet".
_POST_COLOR = frozenset(("colored", "coloured", "painted", "in", "both", "all", "each", "them"))


def _of_them(tokens, k: int) -> bool:
    """Token k (a count) is followed by "of them": "..., three of them"."""
    return [t[2] for t in tokens[k + 1 : k + 3]] == ["of", "them"]


# The side a position phrase names after "its": "on its left" = left of it.
_SIDES = {(None, 0): "left of", (None, 2): "right of", (0, None): "above", (2, None): "below"}


def _same_noun(tokens, k: int) -> bool:
    """Whether the shape noun at k and the next word name one object: "star shapes", "diamond
    object", "square tiles" (a generic noun, or a noun of the same shape, right after it)."""
    if k + 1 >= len(tokens) or tokens[k + 1][0] != "shape":
        return False
    shape, following = tokens[k][1][0], tokens[k + 1][1][0]
    return shape is not None and following in (None, shape)


def _beside_side(cell, relations, last) -> bool:
    """Whether a position phrase names the side of a "beside" just read ("... on the right")."""
    return (
        cell in ((None, 0), (None, 2))
        and bool(relations)
        and relations[-1].relation in SIDE_RELATIONS
        and relations[-1].target == last
    )


# --------------------------------------------------------------------------- request -> scene


def _relation_holds(
    rel: str, a: tuple[int, int], b: tuple[int, int], aligned: bool = False
) -> bool:
    """Whether cell a is `rel` cell b; `aligned` also asks for the same row ("left of", "right
    of", "beside") or column ("above", "below"), so no reader could see another relation."""
    if rel in ("left of", "right of", "beside"):
        side = {"left of": a[1] < b[1], "right of": a[1] > b[1], "beside": a[1] != b[1]}[rel]
        return side and (not aligned or a[0] == b[0])
    return (a[0] < b[0] if rel == "above" else a[0] > b[0]) and (not aligned or a[1] == b[1])


def _place(
    instances: list[int], req: SceneRequest, rng: np.random.Generator, aligned: bool = False
) -> list[tuple[int, int]] | None:
    """Cells for each instance (its group index given) meeting positions and relations, or None;
    `aligned`: each relation along one axis only (see _relation_holds)."""
    cells = [(r, c) for r in range(GRID) for c in range(GRID)]
    chosen: list[tuple[int, int]] = []

    def sweep(k: int, cell) -> tuple[int, int] | None:
        motion = req.objects[instances[k]].motion
        return target_cell(*cell, motion) if motion else None

    def ok(k: int, cell) -> bool:
        g = instances[k]
        if not req.objects[g].allows_cell(*cell):
            return False
        # A moving object needs the cell it moves (or bounces) into: inside the grid and free.
        target = sweep(k, cell)
        if target is not None and not (0 <= target[0] < GRID and 0 <= target[1] < GRID):
            return False
        motion = req.objects[g].motion
        for j in range(k):
            other = sweep(j, chosen[j])
            # Objects moving the same way move in lockstep, so one may follow another into the
            # cell it leaves; anything else must not enter a cell that is used.
            lockstep = motion in _DIRECTIONS and req.objects[instances[j]].motion == motion
            if target is not None and (target == other or (target == chosen[j] and not lockstep)):
                return False
            if other is not None and other == cell and not lockstep:
                return False
        for rel in req.relations:
            for j in range(k):
                h = instances[j]
                if rel.subject == rel.target == g == h:  # within a group: either order
                    if not (
                        _relation_holds(rel.relation, cell, chosen[j], aligned)
                        or _relation_holds(rel.relation, chosen[j], cell, aligned)
                    ):
                        return False
                    continue
                if (
                    rel.subject == g
                    and rel.target == h
                    and not _relation_holds(rel.relation, cell, chosen[j], aligned)
                ):
                    return False
                if (
                    rel.subject == h
                    and rel.target == g
                    and not _relation_holds(rel.relation, chosen[j], cell, aligned)
                ):
                    return False
        return True

    def search(k: int) -> bool:
        if k == len(instances):
            return True
        for i in rng.permutation(len(cells)):
            cell = cells[i]
            if cell not in chosen and ok(k, cell):
                chosen.append(cell)
                if search(k + 1):
                    return True
                chosen.pop()
        return False

    return list(chosen) if search(0) else None


def _fill(o: ObjectRequest, rng: np.random.Generator, exclude_held_out: bool):
    """(shape, color, size) for one object of group o, drawing what o leaves open."""
    shapes = [o.shape] if o.shape else list(SHAPES)
    colors = [o.color] if o.color else list(COLORS)
    pairs = [(c, s) for c in colors for s in shapes]
    if exclude_held_out and (o.shape is None or o.color is None):
        pairs = [p for p in pairs if p not in HELD_OUT] or pairs
    color, shape = pairs[int(rng.integers(len(pairs)))]
    size = o.size or start_size(o.motion) or list(SIZES)[int(rng.integers(len(SIZES)))]
    return shape, color, size


def realize(
    request: SceneRequest,
    rng=None,
    *,
    exclude_held_out: bool = True,
    max_tries: int = 200,
    aligned: bool = False,
) -> Scene:
    """A concrete Scene satisfying `request` (unspecified attributes and cells drawn from `rng`).

    Raises InvalidArgument when no scene can satisfy it (too many objects, contradictory positions
    or relations). Attributes left open avoid held-out pairs unless exclude_held_out is False;
    pairs the request names explicitly are always honoured. `aligned` puts related objects in
    one row ("left of", "beside") or column ("above") where some arrangement allows it, so the
    relation reads one way only.
    """
    rng = as_generator(rng)
    if not isinstance(request, SceneRequest):
        raise InvalidArgument("request", "a SceneRequest", type(request).__name__)
    if not request.objects:
        request = replace(request, objects=(ObjectRequest(),))
    total = request.total_objects
    if total > MAX_OBJECTS:
        raise InvalidArgument("objects", f"at most {MAX_OBJECTS} objects in a scene", total)
    for o in request.objects:
        needed = start_size(o.motion)
        if needed is not None and o.size not in (None, needed):
            raise InvalidArgument(
                "prompt",
                f"a {needed} object when it is to {o.motion}",
                canonical_caption(request),
                hint=f"{o.motion} goes between the small and the large size",
            )
    instances = [g for g, o in enumerate(request.objects) for _ in range(o.count)]
    cells = (_place(instances, request, rng, aligned=True) if aligned else None) or _place(
        instances, request, rng
    )
    if cells is None:
        raise InvalidArgument(
            "prompt",
            "positions, relations and motions that fit one 3×3 grid",
            canonical_caption(request),
            hint="no arrangement satisfies all of them",
        )
    background = request.background or list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
    has_motion = _has_motion(request)
    for _ in range(max_tries):
        objects = []
        for g, (row, col) in zip(instances, cells):
            shape, color, size = _fill(request.objects[g], rng, exclude_held_out)
            x, y = jittered_center(rng, row, col)
            objects.append(Obj(shape, color, size, row, col, x, y))
        if _no_strays(request, instances, objects):
            extras = {}
            if has_motion:
                extras["motions"] = [request.objects[g].motion or "still" for g in instances]
            return Scene(tuple(objects), background, extras)
    raise InvalidArgument(
        "prompt", "object groups that can be told apart", canonical_caption(request)
    )


def _implies(h: ObjectRequest, g: ObjectRequest) -> bool:
    """Every object of group h is necessarily also an object of group g ("red circle" -> "circle")."""
    return all(b is None or a == b for a, b in zip(_attrs(h)[:3], _attrs(g)[:3]))


def _no_strays(request: SceneRequest, instances: list[int], objects: list[Obj]) -> bool:
    """No object drawn for one group happens to also be an object of another group by chance
    (e.g. the free color of "a circle" coming out red next to "two red circles")."""
    for h, b in zip(instances, objects):
        for g, o in enumerate(request.objects):
            if (
                g != h
                and o.matches(b.shape, b.color, b.size)
                and not _implies(request.objects[h], o)
            ):
                return False
    return True
