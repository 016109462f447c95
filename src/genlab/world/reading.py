"""Reading a prompt of the built-in world: free text -> PromptParse (the SceneRequest asked for,
the words not understood, what the world lacks), by longest match against every word it reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from genlab.errors import InvalidArgument
from genlab.world.lexicon import (
    BACKGROUND_WORDS,
    COLOR_DESCRIPTORS,
    COLOR_NAMESAKE_NOUNS,
    LEAD_IN_WORDS,
    SIDE_RELATIONS,
    STOPWORDS,
)
from genlab.world.phrasing import canonical_text
from genlab.world.reading_lexicon import LEXICON as _LEXICON
from genlab.world.request import (
    REQUEST_RELATIONS,
    ObjectRequest,
    RelationRequest,
    SceneRequest,
    object_attrs,
)
from genlab.world.spec import BACKGROUNDS, COLORS, SHAPES


@dataclass
class PromptParse:
    """Result of parse_prompt: the request, the words not understood, the canonical text, and
    the colors, shapes and relations asked for that this world does not have, as (kind, words):
    ("color", "white"), ("shape", "hexagon"), ("relation", "between")."""

    request: SceneRequest
    unknown_words: list[str] = field(default_factory=list)
    canonical: str = ""
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    # set by the reading check (genlab.world.reading_check): content words the reading leaves
    # out ("copies", "further left"), and what it holds that no word asked for ("count 3")
    unaccounted: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)

    @property
    def understood(self) -> bool:
        """Every word was read, accounted for, and everything asked for can be drawn."""
        return (
            bool(self.request.objects)
            and not self.unknown_words
            and not self.unsupported
            and not self.unaccounted
            and not self.invented
        )

    def warnings(self) -> list[str]:
        """One sentence per problem, for a CLI warning, a response field or the agent's reply:
        "white is not a color of this world; it knows red, orange, ...", "not understood: ..."."""
        out = self.unsupported_warnings()
        if self.unknown_words:
            words = list(dict.fromkeys(self.unknown_words))
            out.append("not understood: " + ", ".join(words))
        return out + self.check_warnings()

    def check_warnings(self) -> list[str]:
        """The sentences of `warnings` from the reading check: content words left out of the
        reading (not those already said not understood), and what it may add."""
        out = []
        left = [w for w in self.unaccounted if w not in self.unknown_words]
        if left:
            out.append("left out of the reading: " + ", ".join(left))
        if self.invented:
            out.append("the reading may add what was not asked: " + ", ".join(self.invented))
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


_BACKGROUND_OF = {w: bg for bg, names in BACKGROUND_WORDS.items() for w in names}
_MAX_PHRASE = max(len(k) for k in _LEXICON)
_TOKEN_RE = re.compile(r"[a-z0-9]+|,|:|\(|\)")
_TIMES_RE = re.compile(r"x(\d+)")  # "orange blocks x3": a count after the noun
_TIMES_AFTER_RE = re.compile(r"\bx\s+(\d+)\b")
_TIMES_BEFORE_RE = re.compile(r"\b(\d+)\s*x\b")
# "post-box red", "pillar-box red": a hyphened compound ending in a shape word, right before a
# color word, names the color's namesake; read as one word ("postbox", a namesake or not read) it
# cannot become an object of its own ("box" alone is a square).
_COMPOUND_RE = re.compile(r"\b([a-z]+)-([a-z]+)(?=\s+([a-z]+)\b)")


def _compound(m: re.Match) -> str:
    def kind(*words: str) -> str:
        return (_LEXICON.get(words) or ("",))[0]

    # only a compound ending in a shape word is joined ("teeny-tiny", "sky-blue", "traffic-cone"
    # are read as they are)
    joined = not kind(m[1], m[2]) and kind(m[2]) == "shape" and kind(m[1]) != "color"
    before_color = kind(m[3]) in ("color", "bg", "foreign color")
    return m[1] + m[2] if joined and before_color else m[0]


# Longer than any description of a 4-object scene by far: a longer prompt is a mistake.
MAX_PROMPT_WORDS = 200


def _tokenize(text: str) -> list[tuple[str, object, str]]:
    """Longest-match lexicon lookup: [(kind, value, words)], 'unknown' and 'stop' included."""
    text = _COMPOUND_RE.sub(_compound, text.lower())
    text = text.replace(";", ",").replace("-", " ").replace("&", " and ")
    text = _TIMES_AFTER_RE.sub(r" x\1 ", text.replace("×", " x "))  # "stars x 3", "stars (×3)"
    text = _TIMES_BEFORE_RE.sub(r"\1 ", text)  # "3x red stars"
    words = _TOKEN_RE.findall(text.replace("+", " plus "))
    tokens, i = [], 0
    while i < len(words):
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            hit = _LEXICON.get(tuple(words[i : i + n]))
            if hit is not None:
                tokens.append((hit[0], hit[1], " ".join(words[i : i + n])))
                i += n
                break
        else:
            times = _TIMES_RE.fullmatch(words[i])
            if times and 1 <= int(times[1]) <= 10:
                tokens.append(("times", int(times[1]), words[i]))
            else:
                known = words[i] in STOPWORDS or words[i] in LEAD_IN_WORDS
                tokens.append(("stop" if known else "unknown", None, words[i]))
            i += 1
    return _relations_after_motion(_not_relations(_drop_color_modifiers(tokens)))


_COLOR_KINDS = ("color", "bg", "foreign color")


def _drop_color_modifiers(tokens: list) -> list:
    """Words that only describe the color after them carry nothing a picture of this world shows:
    "kelly green", "fire-engine red", "traffic-cone orange", "inky black", "olive green". A
    descriptor (COLOR_DESCRIPTORS, up to two), a shape this world lacks in the singular, or a
    color it lacks, right before a world color word, is dropped; the color word itself is read
    (and reported, if foreign)."""
    out: list = []
    for kind, value, words in reversed(tokens):
        head = out[-1][0] if out else None
        lead = out[-2][0] if len(out) > 1 else None
        modifies = head in _COLOR_KINDS or (
            head in ("modifier", "unread modifier") and lead in _COLOR_KINDS
        )
        singular_foreign = kind == "foreign shape" and not value[1]
        # a color the world lacks names a shade only of a color it has ("olive green")
        shade = kind == "foreign color" and head == "color"
        descriptor = kind in ("unknown", "stop") and (
            words in COLOR_DESCRIPTORS or words in COLOR_NAMESAKE_NOUNS
        )
        # "strawberry-milk pink": a namesake color before a word not read before a color
        descriptor = descriptor or (kind == "color" and head == "unread modifier")
        if modifies and (descriptor or singular_foreign or shade):
            out.append(("modifier", None, words))
        elif modifies and kind == "unknown":
            # "a disc in pea green", "papaya orange": a word not known right before a color
            # names the color's shade or namesake; it is reported, and the color read as if it
            # stood alone ("in green" is the disc's color)
            out.append(("unread modifier", None, words))
        else:
            out.append((kind, value, words))
    return [t for t in reversed(out) if t[0] != "modifier"]


# "the image", "the picture": after a side ("on the left side of the image") a position
_PICTURE_WORDS = frozenset(["image", "picture", "canvas", "frame", "scene", "photo", "drawing"])
_CELL_OF = {"left of": (None, 0), "right of": (None, 2), "above": (0, None), "below": (2, None)}


def _picture_next(tokens, k: int) -> bool:
    """Whether "[the] image" (or picture, canvas, ...) starts at token k."""
    if k < len(tokens) and tokens[k][0] == "the":
        k += 1
    return k < len(tokens) and tokens[k][2] in _PICTURE_WORDS


def _relations_after_motion(tokens: list) -> list:
    """A motion phrase followed by "of" was a relation: "goes left of it", "go to the right of
    it" ("goes left" and "go to the right" are motions, "left of" a relation). "that" or "this"
    right after a relation is the object named before ("a pink dot; two cyan blocks under that")."""
    out: list = []
    k = 0
    while k < len(tokens):
        kind, value, words = tokens[k]
        after = tokens[k + 1][2] if k + 1 < len(tokens) else None
        if kind == "motion" and after == "of":
            parts = words.split()
            for i in range(1, len(parts)):
                hit = _LEXICON.get((*parts[i:], "of"))
                if hit is not None and hit[0] == "rel":
                    out.append(("stop", None, " ".join(parts[:i])))
                    out.append(("rel", hit[1], " ".join(parts[i:]) + " of"))
                    k += 2
                    break
            else:
                out.append(tokens[k])
                k += 1
            continue
        if (
            kind == "stop"
            and words in ("that", "this")
            and out
            and out[-1][0] == "rel"
            and not _object_next(tokens, k + 1)  # "above that blue square" names a new one
        ):
            out.append(("pronoun", "it", "it"))
        else:
            out.append(tokens[k])
        k += 1
    return out


# Relation words that, before a background or a position, say where rather than relate two
# objects: "over a gray backdrop", "above a white background", "over on the left".
_PLACE_WORDS = ("over", "up")


def _not_relations(tokens: list) -> list:
    """A relation word followed by a background ("over a gray backdrop", "on top of a black
    canvas") is read as no relation (the background is read from what follows); so is "over"
    before a position ("one red circle over on the left") and a relation the world lacks before
    a position ("near the bottom", "around the center": a position)."""
    tokens = [
        ("pos", _CELL_OF[t[1]], t[2])  # "on the left side of the image"
        if t[0] == "rel" and t[1] in _CELL_OF and _picture_next(tokens, k + 1)
        else t
        for k, t in enumerate(tokens)
    ]
    out = list(tokens)
    for k, (kind, value, words) in enumerate(tokens):
        if kind not in ("rel", "foreign relation"):
            continue
        j = k + 1
        while (
            j < len(tokens)
            and tokens[j][2] not in ("that", "this")
            and (tokens[j][0] in ("stop", "the") or tokens[j][:2] == ("count", 1))
        ):
            j += 1
        if j >= len(tokens):
            continue
        after = tokens[j + 1][0] if j + 1 < len(tokens) else None
        # only "over", "above", "on top of" say a background ("underneath black bg" does not)
        background = (
            kind == "rel"
            and value == "above"
            and tokens[j][0] == "bg"
            and after not in (*_OBJECT_WORDS, "count")
        ) or tokens[j][0] == "background"
        position = tokens[j][0] == "pos" and (kind == "foreign relation" or words in _PLACE_WORDS)
        if background or position:
            out[k] = ("stop", None, words)
    return out


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
    unknown: list[str] = [t[2] for t in tokens if t[0] == "unread modifier"]
    tokens = [t for t in tokens if t[0] != "unread modifier"]
    unsupported: list[tuple[str, str]] = []
    background = None
    pending: dict = {}  # count / size / color / definite, before the noun arrives
    pending_cell = None  # a position phrase seen before its object
    pending_rel = None  # (subject index, relation) waiting for its target
    last = None  # index of the last object mentioned
    before = None  # the one mentioned before it: what "it" refers to ("X with Y above it")
    fresh_clause = True  # a separator came after the last object
    owner = None  # "its": the object whose side the next position phrase names
    pending_rev = None  # (target, relation): "A, and directly above it B" -> B above A
    elliptic: list[int] = []  # colored objects without a noun before "and": "a red and a blue star"
    with_clause = False  # the last separator was "with": "B with A to the left"
    fronted: list = []  # [relation, target]: "Below a pink star, a green block" (relation first)

    def add_object(shape, plural: bool) -> None:
        nonlocal pending, pending_cell, pending_rel, pending_rev, last, before, fresh_clause
        count = pending.get("count") or (2 if plural else 1)
        new = ObjectRequest(shape, pending.get("color"), pending.get("size"), count)
        index = None
        if pending.get("definite") and pending.get("count") is None:
            # "the blue square" refers back to an object already mentioned, if there is one.
            for j, o in enumerate(objects):
                if all(
                    v is None or v == w for v, w in zip(object_attrs(new)[:3], object_attrs(o)[:3])
                ):
                    index = j
        if index is None:
            if pending_cell is not None:
                new = replace(new, row=pending_cell[0], col=pending_cell[1])
            objects.append(new)
            index = len(objects) - 1
        if pending_rel is not None and pending_rel[0] != index:
            relations.append(RelationRequest(pending_rel[0], pending_rel[1], index))
        if pending_rev is not None and pending_rev[0] != index:
            relations.append(RelationRequest(index, pending_rev[1], pending_rev[0]))
            pending_rev = None
        if shape is not None and elliptic:
            # "a red and a yellow triangle": the colors before share the noun after them
            for j in elliptic:
                if objects[j].shape is None and j < index:
                    objects[j] = replace(objects[j], shape=shape)
        elliptic.clear()
        if fronted and len(fronted) == 1:
            fronted.append(index)  # the object after a relation put first is its target
        elif fronted and index != fronted[1]:
            relations.append(RelationRequest(index, fronted[0], fronted[1]))
            fronted.clear()
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
        previous_kind = tokens[k - 1][0] if k else None
        if kind == "count" and last is not None and _count_after(tokens, k):
            # "square tiles, three of them", "pink balls, three in total": the count of the
            # group just named
            objects[last] = replace(objects[last], count=value)
            skip.update(range(k + 1, k + 1 + _count_after(tokens, k)))
        elif kind == "count" and value == 1 and _one_of_group(tokens, k, objects, last):
            # "two circles, one blue and one yellow": each "one COLOR" takes one of the group
            group = objects[last]
            color = tokens[k + 1][1]
            if group.count > 1:
                objects[last] = replace(group, count=group.count - 1)
                objects.append(replace(group, count=1, color=color))
            else:
                objects[last] = replace(group, color=color)
            skip.add(k + 1)
        elif (
            kind == "count"
            and last is not None
            and not pending
            and previous == "("
            and (_next_words(tokens, k) == ")")
        ):
            objects[last] = replace(objects[last], count=value)  # "lime green balls (4)"
        elif kind == "side end":
            flush()
            if with_clause and last is not None and before is not None:
                relations.append(RelationRequest(last, value, before))
                with_clause = False
            else:  # "a red star to the left": where it is in the picture
                cell = next(c for c, r in _SIDES.items() if r == value)
                if last is not None and objects[last].position is None:
                    objects[last] = replace(objects[last], row=cell[0], col=cell[1])
                else:
                    pending_cell = cell
        elif (
            kind == "count" and last is not None and not pending and previous_kind == "count label"
        ):
            objects[last] = replace(objects[last], count=value)  # "blue balls, count: 3"
        elif kind == "times" and last is not None and not pending:
            objects[last] = replace(objects[last], count=value)  # "orange blocks x3"
        elif kind == "times":
            pending["count"] = value
        elif (
            kind == "shape"
            and value[0] is None
            and _introduces(tokens, k)
            and not any(pending.get(key) for key in ("shape", "color", "size"))
        ):
            # "Give me shapes: a pink triangle; a yellow diamond" (but "diamond icons: three of
            # them" names its objects)
            pending.clear()
        elif (
            kind == "color"
            and last is not None
            and previous in _POST_COLOR
            and (previous not in _COPULA or not fresh_clause)
            and objects[last].color is None
            and not pending
        ):
            # "a star colored yellow", "a triangle in green", "two boxes, both red",
            # "three discs, all of them violet": the color of the object just named
            objects[last] = replace(objects[last], color=value)
        elif kind in ("size", "color") and previous_kind == kind and tokens[k - 1][1] == value:
            pass  # "teeny-tiny", "banana yellow": one attribute said twice
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
            # "star shapes", "square tiles", "diamond tile": one noun, two words; the first
            # says the shape
            pending["shape"], pending["noun"] = value[0], True
        elif kind == "shape":
            shape, plural = value
            if pending.get("noun") or shape is None:
                shape = pending.get("shape")
            add_object(shape, plural)
        elif kind == "shape adjective":  # "a triangular shape", "a round red thing"
            pending["shape"] = value
            pending["noun"] = True  # "a triangular block": the adjective says the shape
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
        elif kind == "pronoun" and words == "it" and last is not None and _then_relation(tokens, k):
            pass  # "a red circle. it should sit directly above a blue star"
        elif (
            kind == "pronoun"
            and words in ("its", "their")
            and last is not None
            and fresh_clause
            and following == "pos"
            and tokens[k + 1][1] in _SIDES
            and _object_next(tokens, k + 2)
        ):
            # "a green square, and to its right a pink circle": the next object is right of it
            pending_rev = (last, _SIDES[tokens[k + 1][1]])
            skip.add(k + 1)
        elif kind == "pronoun":
            if pending_rel is not None and before is not None and words in ("it", "them"):
                relations.append(RelationRequest(pending_rel[0], pending_rel[1], before))
                pending_rel = None  # "a square with a red ball above it"
            elif words in ("its", "their") and before is not None and last is not None:
                owner = before  # "a square with a red ball on its left"
            else:
                unknown.append(words)
        elif kind == "pos" and owner is not None and value in _SIDES:
            # "next to it on its left": the side replaces the "beside" just read of the two
            pair = {last, owner}
            relations[:] = [
                r for r in relations
                if not (r.relation in SIDE_RELATIONS and {r.subject, r.target} == pair)
            ]  # fmt: skip
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
            if last is None and not fronted:
                fronted.append(value)  # "To the left of a red star, a blue circle"
            elif last is None:
                unknown.append(words)
            elif (
                with_clause
                and before is not None
                and not _object_next(tokens, k + 1)
                and (following != "pronoun")
            ):
                # "a blue square with a pink cube underneath": under the square
                relations.append(RelationRequest(last, value, before))
                with_clause = False
            elif following == "pronoun" and tokens[k + 1][2] in ("it", "them"):
                if _object_next(tokens, k + 2):
                    # "a yellow circle, and directly above it a yellow square"
                    pending_rev = (last, value)
                    skip.add(k + 1)
                else:
                    pending_rel = (last, value)
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
            elided = (
                words == "and"
                and pending.get("color")
                and not pending.get("shape")
                and "foreign" not in pending
            )
            flush()
            if elided and objects and objects[-1].shape is None:
                elliptic.append(len(objects) - 1)
            fresh_clause = True
            with_clause = words == "with"
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
    canonical = canonical_text(request) if objects or background else ""
    return PromptParse(request, unknown, canonical, unsupported)


# Kinds of token that make a color before them an object's, not the background's.
_OBJECT_WORDS = ("color", "size", "shape", "foreign shape", "shape adjective")

# Words after which a color names the object just mentioned: "colored yellow", "in green",
# "both red", "all (of them) violet".
# "that is red", "which are blue", "each one sapphire blue": ("is"/"are" only within the clause
# that named the object, so "a circle and there are red stars" keeps the stars red).
_COPULA = frozenset(("is", "are"))
_POST_COLOR = frozenset(
    ("colored", "coloured", "painted", "in", "both", "all", "each", "them", "(", *_COPULA)
    + ("each one", "every one", "each of them", "every one of them", "both of them")
)
# What follows a count that belongs to the group just named: "three of them", "two in total".
_COUNT_TAILS = (("of", "them"), ("in", "total"), ("total",), ("in", "all"), ("altogether",),
                ("overall",))  # fmt: skip


def _count_after(tokens, k: int) -> int:
    """How many tokens after token k (a count) make it the count of the group just named:
    "..., three of them", "..., three in total" (0 when none)."""
    for tail in _COUNT_TAILS:
        if tuple(t[2] for t in tokens[k + 1 : k + 1 + len(tail)]) == tail:
            return len(tail)
    return 0


def _one_of_group(tokens, k: int, objects, last) -> bool:
    """Whether token k ("one") and the color after it name one member of the group just named,
    still without a color: "two circles, one blue and one yellow" (no noun after the color)."""
    if last is None or k + 1 >= len(tokens) or tokens[k + 1][0] != "color":
        return False
    group = objects[last]
    after = tokens[k + 2][0] if k + 2 < len(tokens) else None
    return (
        group.color is None
        and group.shape is not None
        and tokens[k - 1][0] in ("sep", "stop")
        and after not in (*_OBJECT_WORDS, "rel")
    )


def _introduces(tokens, k: int) -> bool:
    """Whether the noun at k introduces the objects listed after it: "shapes:", "two objects,
    namely ...", "three shapes in total: ..."."""
    k += 1
    while k < len(tokens) and tokens[k][2] in ("in", "total", "all", ","):
        k += 1
    return k < len(tokens) and tokens[k][2] in (":", "namely")


def _next_words(tokens, k: int) -> str | None:
    return tokens[k + 1][2] if k + 1 < len(tokens) else None


def _object_next(tokens, k: int) -> bool:
    """Whether an object's noun phrase starts at token k (skipping words of no meaning)."""
    while k < len(tokens) and tokens[k][0] in ("stop", "count", "the", "times"):
        k += 1  # "on a black canvas" after "above it" is no object: "a" must lead to one
    return k < len(tokens) and tokens[k][0] in _OBJECT_WORDS


def _then_relation(tokens, k: int) -> bool:
    """Whether a relation word follows token k, past words of no meaning ("it should sit above")."""
    k += 1
    while k < len(tokens) and tokens[k][0] == "stop":
        k += 1
    return k < len(tokens) and tokens[k][0] == "rel"


# The side a position phrase names after "its": "on its left" = left of it.
_SIDES = {(None, 0): "left of", (None, 2): "right of", (0, None): "above", (2, None): "below"}


def _same_noun(tokens, k: int) -> bool:
    """Whether the shape noun at k and the next word name one object: "star shapes", "diamond
    object", "square tiles" (a generic noun, or a noun of the same shape, right after it), and
    "diamond tile", "triangle block" (a singular shape noun before another: the first says the
    shape, the second what the thing is)."""
    if k + 1 >= len(tokens) or tokens[k + 1][0] != "shape":
        return False
    (shape, plural), following = tokens[k][1], tokens[k + 1][1][0]
    return shape is not None and (following in (None, shape) or not plural)


def _beside_side(cell, relations, last) -> bool:
    """Whether a position phrase names the side of a "beside" just read ("... on the right")."""
    return (
        cell in ((None, 0), (None, 2))
        and bool(relations)
        and relations[-1].relation in SIDE_RELATIONS
        and last in (relations[-1].target, relations[-1].subject)
    )
