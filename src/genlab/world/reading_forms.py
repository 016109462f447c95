"""Terse prompt layouts rewritten into the sentences the world grammar reads, before it reads them:

- field lists, "shape: triangle; colour: red; count: 3; where: top; bg: white" (fields split by
  ";", "|", "/" or ","): one object with those attributes, "3 red triangle top on a white
  background";
- spatial sequences, "left to right: A, B", "top to bottom: A, B", "one above the other: A
  (upper), B (lower)", "side by side: A on the left, B on the right": "A to the left of B",
  "A above B".

Found on the dev sets outsider8/9 (record: docs/experiments/2026-12-08-reading-fallback.md,
"Dev fixes on outsider8/9"). Text that has neither layout is returned unchanged.
"""

from __future__ import annotations

import re

# Field labels of a form and what they give ("qty: 3", "colour: red", "bg: white").
_FIELDS = {
    "shape": "shape",
    "colour": "color",
    "color": "color",
    "count": "count",
    "number": "count",
    "qty": "count",
    "quantity": "count",
    "amount": "count",
    "size": "size",
    "where": "where",
    "position": "where",
    "pos": "where",
    "location": "where",
    "placement": "where",
    "background": "bg",
    "bg": "bg",
    "backdrop": "bg",
}
_FIELD_RE = re.compile(
    r"\b(" + "|".join(sorted(_FIELDS, key=len, reverse=True)) + r")\s*:\s*([^;|/,:()]*?)"
    r"\s*(?=[;|/,()]|\s-\s|\.(?:\s|$)|$)",
    re.IGNORECASE,
)


def _field_list(text: str) -> str | None:
    """ "shape: triangle | colour: red | count: 3" -> "3 red triangle, ..." (None: not a form)."""
    fields: dict[str, str] = {}
    spans = []
    for m in _FIELD_RE.finditer(text):
        key = _FIELDS[m[1].lower()]
        if key in fields or not m[2]:
            return None  # a field said twice is not one object's form
        fields[key] = m[2]
        spans.append(m.span())
    if "shape" not in fields or len(fields) < 2:
        return None
    words = [fields.get(k, "") for k in ("count", "size", "color", "shape", "where")]
    sentence = " ".join(w for w in words if w)
    if "bg" in fields:
        sentence += f" on a {fields['bg']} background"
    rest = text
    for start, end in reversed(spans):
        rest = rest[:start] + rest[end:]
    return f"{sentence}; {rest}"


# Sequence labels: (the relation of the first item to the second, the markers of the sides).
_SEQUENCES = {
    "left to right": "to the left of",
    "right to left": "to the right of",
    "top to bottom": "above",
    "bottom to top": "below",
    "one above the other": "above",
    "one on top of the other": "above",
    "side by side": "to the left of",
}
_SEQUENCE_RE = re.compile(
    r"\b(" + "|".join(_SEQUENCES) + r")\s*:\s*([^,;|]+?)\s*[,;|]\s*"
    r"(.+?)\s*(?=[;|]|\s-\s|\.(?:\s|$)|,\s*(?:on|against|nothing|backdrop|bg|background)\b|$)",
    re.IGNORECASE,
)
# A marker after an item that names its side: "(upper)", "on the left"; and the relation of an
# item so marked to the other.
_MARKERS = {
    "upper": "above",
    "top": "above",
    "on top": "above",
    "higher": "above",
    "lower": "below",
    "bottom": "below",
    "below": "below",
    "on the left": "to the left of",
    "on the right": "to the right of",
}
_MARKER_RE = re.compile(
    r"\s*(?:\((" + "|".join(_MARKERS) + r")\)|\b(on the left|on the right))\s*$", re.IGNORECASE
)


def _sequence(text: str) -> str | None:
    """ "top to bottom: a red star, a blue disc" -> "a red star above a blue disc" (None: no
    sequence). A marker of the first item's side ("(lower)", "on the right") decides the order."""
    m = _SEQUENCE_RE.search(text)
    if m is None:
        return None
    relation = _SEQUENCES[m[1].lower()]
    first, second = m[2], m[3]
    marker = _MARKER_RE.search(first)
    if marker:
        relation = _MARKERS[(marker[1] or marker[2]).lower()]
        first = first[: marker.start()]
    second = _MARKER_RE.sub("", second)
    return f"{text[: m.start()]}{first} {relation} {second}{text[m.end() :]}"


# "2 discs: one blue on the left, another yellow on the right", "a pair of stars, one above the
# other: pink on top, yellow below it": a group of two split into its members
_GROUP_RE = re.compile(
    r"\b(?:a pair of|two|2)\s+(?P<noun>[a-z][\w -]*?(?:es|s))\s*(?:,\s*(?P<stack>one above the "
    r"other))?\s*:\s*(?:one\s+)?(?P<a>[^,;:|]+?)\s*,\s*(?:(?:another|the other|one)\s+)?"
    r"(?P<b>[^,;:|.]+?)\s*(?=[,;|.]|\s-\s|$)",
    re.IGNORECASE,
)
_PLACE_START = re.compile(r"\s(?:on|in|at|below|above|under|to|near|\()(?:\s|$)|\s\(", re.I)
_STACK_MARKERS = {"on top": "above", "at the top": "above", "below it": "below", "under it": "below",
                  "at the bottom": "below", "on the bottom": "below", "above it": "above"}  # fmt: skip


def _member(item: str, noun: str) -> str:
    """ "Oxford blue on the left" + "disc" -> "Oxford blue disc on the left"."""
    m = _PLACE_START.search(" " + item)
    cut = len(item) if m is None else m.start()
    return f"{item[:cut].strip()} {noun} {item[cut:].strip()}".strip()


def _group(text: str) -> str | None:
    """A group of two written as its members, each with the group's noun (None: no such group)."""
    m = _GROUP_RE.search(text)
    if m is None:
        return None
    noun = m["noun"]
    noun = noun[:-2] if noun.lower().endswith(("uses", "xes", "ches", "shes")) else noun[:-1]
    a, b, relation = m["a"], m["b"], "and"
    if m["stack"]:
        relation = "above"
        for marker, side in _STACK_MARKERS.items():
            if a.lower().endswith(marker):
                a, relation = a[: -len(marker)], side
            if b.lower().endswith(marker):
                b = b[: -len(marker)]
    else:
        marker = _MARKER_RE.search(a)
        if marker:
            relation = _MARKERS[(marker[1] or marker[2]).lower()]
            a, b = a[: marker.start()], _MARKER_RE.sub("", b)
    return (
        f"{text[: m.start()]}a {_member(a, noun)} {relation} a {_member(b, noun)}{text[m.end() :]}"
    )


def rewrite(text: str) -> str:
    """The text with a field list, a spatial sequence or a group of two split into its members
    rewritten as a sentence (else as is)."""
    for layout in (_field_list, _group, _sequence):
        out = layout(text)
        if out is not None:
            return out
    return text
