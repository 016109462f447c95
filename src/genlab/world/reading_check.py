"""Checking a reading of a world prompt against its own words, and reading again when it fails:
every content word the world knows must be accounted for, and the reading must invent nothing.

`parse_prompt` is the grammar's reading (genlab.world.reading) with this check on top: when the
check fails, alternatives are read (the grammar on the prompt with unread words dropped, with the
article after a count dropped, with a relation put first moved last, with side words read as
the relations they name, and a slot-filling reader that attaches words to the nearest noun
phrase) and the one that invents nothing and accounts for more content words is kept. What is
still unaccounted is named in the parse's `unaccounted`, which its warnings carry to every face
(CLI warning, REST/OpenAI field, agent message). Record: docs/experiments/2026-12-08-reading-
fallback.md (benchmarks/reading_fallback_replay.py replays it over older grammars).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from genlab.world import reading
from genlab.world.lexicon import BACKGROUND_WORDS, INVERSE_RELATION
from genlab.world.phrasing import canonical_text
from genlab.world.request import ObjectRequest, RelationRequest, SceneRequest

# The cell a position word names ((row, col), None for any) and the side a relation names.
_SIDE_CELLS = {"left of": (None, 0), "right of": (None, 2), "above": (0, None), "below": (2, None)}
_CELL_SIDES = {cell: side for side, cell in _SIDE_CELLS.items()}
_INVERSE = {**INVERSE_RELATION, "beside": "beside"}
_BACKGROUND_OF = {w: bg for bg, names in BACKGROUND_WORDS.items() for w in names}
# Tokens that end a noun phrase; a count or "the" starts one ("two copies of | a star").
_BOUNDARIES = frozenset(
    ["sep", "rel", "side end", "pos", "pronoun", "background", "motion", "foreign relation"]
)
_STARTS = frozenset(["count", "the", "times"])
# Words between two objects' phrases: no attribute is carried across them.
_RELATING = ("rel", "side end", "foreign relation", "motion")
_NOUNS = frozenset(["shape", "shape adjective", "foreign shape"])
_ATTRIBUTES = frozenset(["color", "size", "foreign color"])
# Words that name an object without a shape: "a red one", "something big".
_SHAPELESS_NOUNS = frozenset(["one", "ones", "something"])


@dataclass(frozen=True)
class ReadingCheck:
    """What a reading leaves out of its prompt's content words, and what it holds that no word
    asked for ("an object no noun phrase names", "count 3", "relation above")."""

    unaccounted: tuple[str, ...] = ()
    invented: tuple[str, ...] = ()

    @property
    def accounted(self) -> bool:
        """The reading accounts for every content word and invents nothing."""
        return not self.unaccounted and not self.invented


@dataclass
class _Phrase:
    """A noun phrase of the prompt: its tokens, and the boundary token before it (None first)."""

    tokens: list
    opened_by: tuple | None

    def kinds(self) -> set[str]:
        return {t[0] for t in self.tokens}

    @property
    def is_object(self) -> bool:
        """Whether it names an object: a noun, or an attribute ("a red and a blue star")."""
        return bool(self.kinds() & (_NOUNS | _ATTRIBUTES))

    @property
    def has_noun(self) -> bool:
        return bool(self.kinds() & _NOUNS)


def _phrases(tokens: list) -> list:
    """The prompt as a sequence of boundary tokens and _Phrase noun phrases."""
    out: list = []
    current: _Phrase | None = None
    boundary = None
    for token in tokens:
        kind, _, words = token
        if kind in _BOUNDARIES:
            current, boundary = None, token
            out.append(token)
            continue
        if (
            kind == "count"
            and words in ("one", "ones")
            and current
            and current.tokens
            and (current.tokens[-1][0] in _ATTRIBUTES)
        ):
            token = ("shape", (None, words == "ones"), words)  # "a little one": a noun
        elif current is None or (kind in _STARTS and current.tokens and _content(current)):
            current = _Phrase([], boundary)
            out.append(current)
        current.tokens.append(token)
    return out


def _content(phrase: _Phrase) -> bool:
    return any(t[0] not in ("stop", "unknown", "unread modifier") for t in phrase.tokens)


def _in_cell(cell, row, col) -> bool:
    """Whether an object at (row, col) is where the position word `cell` says."""
    return (cell[0] is None or cell[0] == row) and (cell[1] is None or cell[1] == col)


def _count_accounted(n: int, objects) -> bool:
    """A written count n is read as a group's count, or split over alike groups ("two circles,
    one blue and one yellow"), or over the whole scene ("four shapes: ...")."""
    if any(o.count == n for o in objects) or sum(o.count for o in objects) == n:
        return True
    shapes = {o.shape for o in objects}
    return any(sum(o.count for o in objects if o.shape == s) == n for s in shapes)


def _list_labels(tokens: list) -> set[int]:
    """Indices of the numbers that label the items of a numbered list ("Step 1: ... Step 2: ...",
    "1) ... 2) ..."): digits each followed by ":" or ")", numbering 1, 2, 3, ... in order. They
    count nothing; read as counts they made the fallback switch right readings to doubled groups
    (record: "Breaks on outsider10"). Anything short of that form labels nothing."""
    at = [
        k
        for k, (kind, _, words) in enumerate(tokens[:-1])
        if kind == "count" and words.isdigit() and tokens[k + 1][2] in (":", ")")
    ]
    numbers = [int(tokens[k][2]) for k in at]
    return set(at) if len(at) >= 2 and numbers == list(range(1, len(at) + 1)) else set()


def check_reading(tokens: list, parse) -> ReadingCheck:
    """Check a reading (a PromptParse) against its prompt's tokens (reading._tokenize's)."""
    request = parse.request
    objects, relations = request.objects, request.relations
    read_relations = {r.relation for r in relations} | {_INVERSE[r.relation] for r in relations}
    unsupported = " ".join(words for _, words in parse.unsupported)
    unaccounted: list[str] = []
    labels = _list_labels(tokens)
    # "a triangular block": a shape adjective says the shape of the noun in its phrase; "a
    # diamond tile": of two nouns in one phrase, one says the shape
    said = set()
    for p in _phrases(tokens):
        if isinstance(p, _Phrase) and p.has_noun:
            wanted = _object_of(p)
            if any(o.shape == wanted["shape"] for o in objects):
                said |= {id(t) for t in p.tokens}
            # the words of one noun phrase describe one object ("a blue square right of a red
            # triangle" is not a red square and a blue triangle)
            if not any(_binds(o, wanted) for o in objects):
                unaccounted.append(
                    " ".join(t[2] for t in p.tokens if t[0] not in ("stop", "count"))
                )
    for k, token in enumerate(tokens):
        kind, value, words = token
        if kind == "color":
            ok = any(o.color == value for o in objects)
        elif kind == "size":
            ok = any(o.size == value for o in objects)
        elif kind == "shape":
            ok = value[0] is None or id(token) in said
        elif kind == "shape adjective":
            ok = id(token) in said
        elif kind in ("count", "times"):
            ok = value < 2 or k in labels or _count_accounted(value, objects)
        elif kind == "pos":
            ok = any(_in_cell(value, o.row, o.col) for o in objects) or (
                _CELL_SIDES.get(value) in read_relations
            )
        elif kind == "rel":
            # "over a bright white background" says where, not a relation
            ok = (
                _placing(tokens, token)
                or value in read_relations
                or (value == "beside" and bool(read_relations & {"left of", "right of"}))
            )
        elif kind == "side end":
            ok = value in read_relations or any(
                _in_cell(_SIDE_CELLS[value], o.row, o.col) for o in objects
            )
        elif kind == "bg":
            ok = request.background == value or words in unsupported
        elif kind == "motion" and _motion_of(tokens, k):
            # "a triangle goes left of it": a direction with "of" after it relates two objects
            ok = _MOTION_SIDES[value] in read_relations
        elif kind == "motion":
            ok = any(o.motion == value for o in objects)
        elif kind == "foreign color" and words.split()[-1] in _BACKGROUND_OF:
            # "bright white", "solid black": a shade of the world's background
            ok = request.background == _BACKGROUND_OF[words.split()[-1]] or words in unsupported
        elif kind.startswith("foreign"):
            ok = str(value[0] if kind == "foreign shape" else value) in unsupported
        else:
            continue
        if not ok:
            unaccounted.append(words)
    if any(o.shape is None or o.color is None for o in objects):
        # "a coin shape", "a carrot ball", "a grape-colored star": a word not read inside a noun
        # phrase whose object lacks a shape or a color probably named it
        unaccounted += _unread_in_noun_phrases(tokens) + _unread_nouns(tokens)
    for k, (_, _, words) in enumerate(tokens):
        # "further left than a star", "to the right-hand side of": a side word bound to the next
        # object by words not read relates the two
        bound = _side_bound(tokens, k) or _with_side(tokens, k)
        if bound and _side_of(tokens[k]) not in read_relations:
            unaccounted.append(words)
    return ReadingCheck(tuple(dict.fromkeys(unaccounted)), tuple(_invented(tokens, parse)))


def _binds(o, wanted: dict) -> bool:
    """Whether object o has the shape, color and size a noun phrase gives (those it gives)."""
    return all(
        wanted.get(key) is None or getattr(o, key) == wanted[key]
        for key in ("shape", "color", "size")
    )


def _placing(tokens: list, token) -> bool:
    """Whether a relation word stands before a background, not an object ("over a plain white
    backdrop", "on top of a black canvas")."""
    j = next(i for i, t in enumerate(tokens) if t is token) + 1
    k = j
    while k < len(tokens) and tokens[k][0] in ("stop", "the"):
        k += 1
    if token[2] in ("over", "up") and k < len(tokens) and _side_of(tokens[k]) is not None:
        return True  # "a red circle over on the left": where, not above what
    if j < len(tokens) and tokens[j][2] in ("that", "this"):
        return False  # "under that, on a white background": the object named before
    while j < len(tokens) and tokens[j][0] in ("stop", "the", "count", "unknown"):
        j += 1
    if j < len(tokens) and tokens[j][0] == "background":
        return True
    background = j < len(tokens) and (
        tokens[j][0] == "bg"
        or (tokens[j][0] == "foreign color" and tokens[j][2].split()[-1] in _BACKGROUND_OF)
    )
    return background and not (j + 1 < len(tokens) and tokens[j + 1][0] in _NOUNS)


def _unread_in_noun_phrases(tokens: list) -> list[str]:
    """Words not read that stand before a noun in its noun phrase ("a carrot ball")."""
    out = []
    for phrase in _phrases(tokens):
        if not isinstance(phrase, _Phrase) or not phrase.has_noun:
            continue
        last_noun = max(i for i, t in enumerate(phrase.tokens) if t[0] in _NOUNS)
        out += [t[2] for t in phrase.tokens[:last_noun] if t[0] == "unknown"]
    return out


def _unread_nouns(tokens: list) -> list[str]:
    """Words not read that end a noun phrase without a noun, after its attributes: "a red
    elephant" (an object whose shape is not read)."""
    out = []
    for phrase in _phrases(tokens):
        if not isinstance(phrase, _Phrase) or phrase.has_noun:
            continue
        content = [t for t in phrase.tokens if t[0] not in ("stop", "unread modifier")]
        if len(content) > 1 and content[-1][0] == "unknown" and content[-2][0] in _ATTRIBUTES:
            out.append(content[-1][2])
    return out


_MOTION_SIDES = {"left": "left of", "right": "right of", "up": "above", "down": "below"}


def _motion_of(tokens: list, k: int) -> bool:
    """Whether token k is a motion whose direction "of" follows ("goes left of it")."""
    return (
        tokens[k][0] == "motion"
        and tokens[k][1] in _MOTION_SIDES
        and k + 1 < len(tokens)
        and tokens[k + 1][2] == "of"
    )


def _with_side(tokens: list, k: int) -> bool:
    """Whether the side word at k ends a "with" clause after an object: "a red star with a blue
    circle to the left" (the circle left of the star, not at the left of the picture)."""
    if _side_of(tokens[k]) is None:
        return False
    j = k - 1
    while j >= 0 and tokens[j][0] != "sep":
        j -= 1
    if j < 1 or tokens[j][2] != "with" or not any(t[0] in _NOUNS for t in tokens[j:k]):
        return False
    if not any(t[0] in _NOUNS for t in tokens[:j]):
        return False
    i = j - 1
    while i >= 0 and tokens[i][0] != "sep":
        if tokens[i][0] == "pos":  # "a circle on the left with a star on the right": places
            return False
        i -= 1
    after = [t for t in tokens[k + 1 :] if t[0] not in ("stop", "unknown", "the")]
    return not after or after[0][0] in ("sep", "bg", "background", "count")


def _side_of(token) -> str | None:
    """The relation a side word names: "left" (a position) or "to the left" (a side ending)."""
    if token[0] == "pos":
        return _CELL_SIDES.get(token[1])
    return token[1] if token[0] == "side end" else None


# Words after a side that keep it a side of the picture: a bracket closing it, "of the frame".
_ENCLOSED = frozenset([")", "(", "image", "picture", "canvas", "frame", "scene", "photo"])


def _side_bound(tokens: list, k: int) -> bool:
    """Whether the side word at k is followed by words not read and then an object's phrase."""
    if _side_of(tokens[k]) is None:
        return False
    j = k + 1
    while j < len(tokens) and tokens[j][0] in ("unknown", "stop", "the"):
        if tokens[j][2] in _ENCLOSED:
            return False  # "(bottom edge of frame) w/ a star": the side of the picture
        j += 1
    unread = any(t[0] == "unknown" for t in tokens[k + 1 : j])
    while j < len(tokens) and tokens[j][0] in _STARTS:
        j += 1
    return unread and j < len(tokens) and tokens[j][0] in (*_NOUNS, *_ATTRIBUTES)


def _invented(tokens: list, parse) -> list[str]:
    """What the reading holds that no word of the prompt asked for."""
    request = parse.request
    objects = request.objects
    out = []
    phrases = [p for p in _phrases(tokens) if isinstance(p, _Phrase) and p.is_object]
    if len(objects) > len(phrases):
        out.append(f"{len(objects)} objects from {len(phrases)} noun phrases")
    shapeless_words = sum(
        1
        for kind, value, words in tokens
        if (kind == "shape" and value[0] is None) or kind == "foreign shape"
        or words in _SHAPELESS_NOUNS
    )  # fmt: skip
    shapeless_words += len(_unread_nouns(tokens))
    if sum(o.shape is None for o in objects) > shapeless_words:
        out.append("an object with no shape word")
    counts = {v for k, v, _ in tokens if k in ("count", "times")}
    for o in objects:
        if o.count > 2 and o.count not in counts:
            out.append(f"count {o.count}")
    written = {v for k, v, _ in tokens if k in ("rel", "side end")}
    written |= {_CELL_SIDES[v] for k, v, _ in tokens if k == "pos" and v in _CELL_SIDES}
    written |= {_MOTION_SIDES[t[1]] for k, t in enumerate(tokens) if _motion_of(tokens, k)}
    written |= {_INVERSE[r] for r in written}
    for r in request.relations:
        if r.relation not in written and not (r.relation in ("left of", "right of") and (
            "beside" in written
        )):  # fmt: skip
            out.append(f"relation {r.relation}")
    cells = [v for k, v, _ in tokens if k == "pos"]
    cells += [_SIDE_CELLS[v] for k, v, _ in tokens if k == "side end"]
    for o in objects:
        if (o.row, o.col) != (None, None) and not any(
            _in_cell(c, o.row, o.col) or _in_cell((o.row, o.col), *c) for c in cells
        ):
            out.append(f"position {o.position}")
    motions = {v for k, v, _ in tokens if k == "motion"}
    out += [
        f"motion {o.motion}" for o in objects if o.motion is not None and o.motion not in motions
    ]
    return out


# --- alternative readings ---------------------------------------------------------------


def _text(tokens: list) -> str:
    return " ".join(t[2] for t in tokens)


def _without_unread(tokens: list) -> list:
    return [t for t in tokens if t[0] not in ("unknown", "unread modifier")]


def _without_articles_after_counts(tokens: list) -> list:
    """ "three copies of a star" -> "three copies of star": the article after a written count is
    the count's noun's, not a count of its own."""
    out, counted = [], False
    for t in tokens:
        if t[0] == "count" and t[1] == 1 and counted and t[2] in ("a", "an", "one"):
            continue
        if t[0] in ("count", "times") and t[1] >= 2:
            counted = True
        elif t[0] not in ("stop", "unknown", "unread modifier"):
            counted = False
        out.append(t)
    return out


def _sides_as_relations(tokens: list) -> list:
    """Words of a side read as the relation they name: "further left than a star" -> "left of a
    star" (a side bound to the next object by words not read), "goes left of it" -> "left of
    it", "under that" -> "under it" (a demonstrative after a relation is the object before)."""
    out = []
    skip = False
    for k, t in enumerate(tokens):
        if skip:
            skip = False
        elif _side_bound(tokens, k):
            out.append(("rel", _side_of(t), _side_of(t)))
        elif _with_side(tokens, k):
            out.append(("side end", _side_of(t), t[2]))
        elif _motion_of(tokens, k):
            side = _MOTION_SIDES[t[1]]
            out.append(("rel", side, side))
            skip = side.endswith(" of")  # "left of" holds the "of" after it
        elif t[2] in ("that", "this") and out and out[-1][0] == "rel":
            out.append(("pronoun", "it", "it"))
        else:
            out.append(t)
    return out


def _fronted_last(tokens: list) -> list:
    """ "Below a pink star, a green block" -> "a green block below a pink star": a relation put
    before its first object, and that object, move after the clause that follows."""
    k = next((i for i, t in enumerate(tokens) if t[0] not in ("stop", "unknown")), None)
    if k is None or tokens[k][0] not in ("rel", "foreign relation"):
        return tokens
    end = next((i for i in range(k + 1, len(tokens)) if tokens[i][0] == "sep"), None)
    if end is None:
        return tokens
    return tokens[:k] + tokens[end + 1 :] + tokens[k:end]


def slot_reading(tokens: list, parse):
    """A reading that does not depend on constructions: each noun phrase is an object; colors and
    sizes attach to the phrase they stand in, counts to the phrase they stand in or, alone, to the
    nearest noun phrase; a relation word relates the objects before and after it (the one before
    that when none follows: "X with Y underneath"); positions attach to the object before them in
    their clause, else the one after. Returns a PromptParse like the grammar's."""
    items = _phrases(tokens)
    objects: list[dict] = []
    at: dict[int, int] = {}  # item index -> object index
    for i, item in enumerate(items):
        if isinstance(item, _Phrase) and item.has_noun:
            at[i] = len(objects)
            objects.append(_object_of(item))
    background, relations = None, []

    def nearest(i: int, step: int, stop=()):
        """The object nearest item i in direction step, not past a boundary of a kind in stop."""
        j = i + step
        while 0 <= j < len(items):
            if j in at:
                return at[j]
            if not isinstance(items[j], _Phrase) and items[j][0] in stop:
                return None
            j += step
        return None

    for i, item in enumerate(items):
        if isinstance(item, _Phrase):
            for kind, value, words in item.tokens:
                shade_of = (
                    _BACKGROUND_OF.get(words.split()[-1]) if kind == "foreign color" else None
                )
                placed = not item.has_noun or _last_noun_before(item, words)
                if (kind == "bg" or shade_of is not None) and placed:
                    background = value if kind == "bg" else shade_of
            if i in at:
                continue
            target = _attribute_target(items, i, at, objects, nearest)
            if target is not None:
                _attach(objects[target], item)
            continue
        kind, value, words = item
        before = nearest(i, -1)
        if kind == "rel" and _placing(tokens, item):
            continue
        if kind in ("rel", "side end"):
            after = nearest(i, 1)
            pronoun = (
                i + 1 < len(items)
                and not isinstance(items[i + 1], _Phrase)
                and (items[i + 1][0] == "pronoun")
            )
            earlier = None if before is None else nearest(_item_of(at, before), -1)
            if before is None and after is not None:  # "Below a pink star, a green block"
                second = nearest(_item_of(at, after), 1)
                if second is not None:
                    relations.append((second, value, after))
            elif before is not None and after is not None and not pronoun and kind == "rel":
                relations.append((before, value, after))
            elif before is not None and earlier is not None:  # "X with Y underneath / above it"
                relations.append((before, value, earlier))
            elif before is not None and kind == "side end":
                objects[before].setdefault("cell", _SIDE_CELLS[value])
        elif kind == "pos":
            owner = nearest(i, -1, stop=("sep",))
            if owner is None or "cell" in objects[owner]:
                owner = nearest(i, 1)
            if owner is None:  # "three stars, red, on the left"
                owner = nearest(i, -1)
            if owner is not None:
                objects[owner].setdefault("cell", value)
        elif kind == "motion" and before is not None:
            objects[before].setdefault("motion", value)
    request = SceneRequest(
        tuple(
            ObjectRequest(
                o["shape"],
                o.get("color"),
                o.get("size"),
                o.get("count") or (2 if o["plural"] else 1),
                *o.get("cell", (None, None)),
                motion=o.get("motion"),
            )
            for o in objects
        ),
        tuple(RelationRequest(s, r, t) for s, r, t in dict.fromkeys(relations) if s != t),
        background,
    )
    canonical = canonical_text(request) if objects or background else ""
    return replace(parse, request=request, canonical=canonical)


def _item_of(at: dict, index: int) -> int:
    return next(i for i, j in at.items() if j == index)


def _last_noun_before(phrase: _Phrase, words: str) -> bool:
    """Whether no noun follows a background word in its phrase ("a red star against black")."""
    k = max(i for i, t in enumerate(phrase.tokens) if t[2] == words)
    return not any(t[0] in _NOUNS for t in phrase.tokens[k:])


def _object_of(phrase: _Phrase) -> dict:
    """The object a noun phrase names: its shape (a shape adjective's, else the first shape noun's:
    "diamond tile"), plural if any noun is, its first color and size, its written count."""
    o: dict = {"shape": None, "plural": False}
    adjective = [t[1] for t in phrase.tokens if t[0] == "shape adjective"]
    nouns = [t[1] for t in phrase.tokens if t[0] == "shape"]
    o["shape"] = next(iter(adjective), None) or next((s for s, _ in nouns if s is not None), None)
    o["plural"] = any(p for _, p in nouns) or any(
        t[1][1] for t in phrase.tokens if t[0] == "foreign shape"
    )
    _attach(o, phrase)
    return o


def _attach(o: dict, phrase: _Phrase) -> None:
    for kind, value, _ in phrase.tokens:
        if kind in ("color", "size"):
            o.setdefault(kind, value)
        elif kind in ("count", "times") and value >= 2:
            o.setdefault("count", value)


def _attribute_target(items, i, at, objects, nearest):
    """The object a phrase without a noun describes: the one after it when it is a count before
    a noun phrase ("three copies of | a star"), else the one before it ("balls | (4)", "| x 3"),
    else the one after."""
    phrase = items[i]
    kinds = phrase.kinds()
    before, after = nearest(i, -1, _RELATING), nearest(i, 1, _RELATING)
    counted = bool(kinds & {"count", "times"}) and not kinds & _ATTRIBUTES
    next_is_object = i + 1 < len(items) and (i + 1) in at
    if counted and next_is_object and (before is None or phrase.opened_by is not None):
        return after
    for candidate in (before, after):
        if candidate is not None and not any(
            k in kinds and k in objects[candidate] for k in ("color", "size")
        ):
            return candidate
    return None


def best_reading(text: str, tokenize=None, parse=None):
    """The grammar's reading of `text` if it accounts for every content word and invents nothing;
    else the first alternative that does; else, when the grammar's invents something, the
    alternative that invents nothing and leaves out the fewest words. Returns (PromptParse,
    ReadingCheck); tokenize and parse default to genlab.world.reading's (a replay passes an older
    grammar's)."""
    tokenize = tokenize or reading._tokenize
    parse = parse or reading.parse_prompt
    first = parse(text)
    tokens = tokenize(text)
    check = check_reading(tokens, first)
    if check.accounted:
        return first, check
    alternatives = [
        _without_unread(tokens),
        _without_articles_after_counts(_without_unread(tokens)),
        _fronted_last(_without_unread(tokens)),
        _without_unread(_sides_as_relations(tokens)),
    ]
    candidates = []
    for alt in alternatives:
        if alt != tokens and alt:
            again = parse(_text(alt))
            candidates.append(replace(again, unknown_words=first.unknown_words))
    candidates.append(slot_reading(_sides_as_relations(tokens), first))
    # A reading that accounts for every content word and invents nothing replaces the grammar's;
    # one that still leaves words out only replaces a reading that invents something. Switching
    # to any reading that left fewer words out broke right readings on unseen prompts, where the
    # check had missed a construction the grammar read (record: "Dev fixes on outsider8/9").
    best, best_check = first, check
    for candidate in candidates:
        candidate_check = check_reading(tokens, candidate)
        if candidate_check.accounted:
            return candidate, candidate_check
        fewer = best is first or len(candidate_check.unaccounted) < len(best_check.unaccounted)
        if check.invented and not candidate_check.invented and fewer:
            best, best_check = candidate, candidate_check
    return best, best_check


def parse_prompt(text: str):
    """Free text -> PromptParse: the grammar's reading, checked, and read again when the check
    fails (see best_reading); `unaccounted` and `invented` say what the reading kept still lacks."""
    # imported here: benchmarks/reading_fallback_replay.py loads this module over older grammars,
    # which lack these rewrites (it replays best_reading)
    from genlab.world import reading_chat, reading_forms

    if isinstance(text, str) and len(text.split()) <= reading.MAX_PROMPT_WORDS:
        # "shape: X; colour: Y", "left to right: A, B"; "no wait, ...", "(like a coin)"
        text = reading_chat.rewrite(reading_forms.rewrite(text))
    parse, check = best_reading(text)
    return replace(parse, unaccounted=list(check.unaccounted), invented=list(check.invented))
