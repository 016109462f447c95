"""Chatty prompts rewritten into the sentences the world grammar reads, before it reads them:

- corrections replace what they correct: "a blue square, no wait, orange, not blue" -> "an
  orange square"; "a star (sorry, I meant a diamond, not a star)"; "... Actually, make it
  yellow" (a color, size or count of the object just named), "actually, make the circle green"
  (of the object named), "above a square, no wait, I mean to the left of it" (the relation);
- asides in brackets that only compare or comment ("(like a coin)", "(just a plain triangle,
  nothing fancy)") are dropped;
- a relative clause with the relation first, "A, above which is B", becomes "A, above it B";
- a size in a purpose lead-in, "For a little project I'm working on", is no object's.

Found on the dev set outsider9 (record: docs/experiments/2026-12-08-reading-fallback.md, "Dev
fixes on outsider8/9"). Text with none of these is returned unchanged.
"""

from __future__ import annotations

import re

from genlab.world import reading

_ASIDE_RE = re.compile(
    r"\(\s*(?:like|just|i\.?e\.?|e\.?g\.?|as in|regular|normal|plain|simple|basic|classic)\b"
    r"[^()]*\)|\([^()]*\bnothing fancy\b[^()]*\)",
    re.IGNORECASE,
)
_WHICH_RE = re.compile(
    r"\b(of|above|below|beneath|underneath|under|over|atop|beside)\s+which\s+(?:is|are|sits?)\b",
    re.IGNORECASE,
)
# "For a little project", "for my big presentation": a size before a noun the world does not draw
_PURPOSE_RE = re.compile(
    r"\b(for\s+(?:a|an|my|our|the|this|some)\s+)(?:little|small|big|large|tiny|quick)\s+(\w+)",
    re.IGNORECASE,
)


def _purpose(m: re.Match) -> str:
    known = reading._LEXICON.get((m[2].lower(),)) is not None
    return m[0] if known else m[1] + m[2]


# The start of a correction, and how far it reaches (to its closing bracket, else the sentence).
_CORRECTION_RE = re.compile(
    r"(?P<open>\(\s*)?(?:[,.;]\s*)?\b(?:(?P<wait>no wait)|no,? sorry|sorry|actually|oops|i mean)\b"
    r"[\s,]*(?:sorry[\s,]*)?(?:i\s+)?(?P<mean>meant|mean)?[\s,]*"
    r"(?:(?:could|can|would) you\s+|let['’]?s\s+|let us\s+)?(?P<make>make|change)?\s*"
    r"(?P<target>it|them|that|the\s+\w+)?\s*"
    r"(?:into\s+|to\s+)?(?P<body>[^().!?]*?)\s*(?P<instead>\binstead\b)?\s*(?(open)\)|(?=[.!?;(]|,(?!\s*not\b)|\band\b|$))",
    re.IGNORECASE,
)
_NOT_RE = re.compile(r",?\s*\bnot\s+(?:a\s+|an\s+)?([\w -]+?)\s*$", re.IGNORECASE)


def _last_token(tokens: list, kinds: tuple, before_shape: str | None = None):
    """The last token of one of `kinds` (before the last noun of shape `before_shape`, if given;
    a shape noun only if it names a shape: "a triangle shape" -> "triangle")."""
    tokens = [t for t in tokens if t[0] != "shape" or t[1][0] is not None]
    end = len(tokens)
    if before_shape is not None:
        nouns = [i for i, t in enumerate(tokens) if t[0] == "shape" and t[1][0] == before_shape]
        if not nouns:
            return None
        end = nouns[-1] + 1
        start = max((i for i in range(end) if tokens[i][0] in ("sep", "rel")), default=-1)
        found = [t for t in tokens[start + 1 : end] if t[0] in kinds]
        return found[-1] if found else None
    found = [t for t in tokens[:end] if t[0] in kinds]
    return found[-1] if found else None


def _replace_last(text: str, old: str, new: str) -> str | None:
    k = text.lower().rfind(old)
    return None if k < 0 else text[:k] + new + text[k + len(old) :]


def _correct(base: str, target: str | None, body: str, was: str | None) -> str | None:
    """`base` with what `body` says put in place of what it corrects, `was` when the correction
    names it ("not blue"), else the last word of the same kind (None: not understood)."""
    base = base.replace("-", " ")
    said = [
        t
        for t in reading._tokenize(body)
        if t[0] not in ("stop", "unknown", "the") and t[2] not in ("a", "an")
    ]
    if not said:
        return None
    kinds = {t[0] for t in said}
    tokens = reading._tokenize(base)
    shape = None
    if target and target.lower().startswith("the "):
        named = reading._tokenize(target[4:])
        if not named or named[0][0] != "shape":
            return None
        shape = named[0][1][0]
    if was:
        words = " ".join(t[2] for t in reading._tokenize(was))
        replaced = _replace_last(base, f" {words}", " " + " ".join(t[2] for t in said))
        if replaced is not None:
            return replaced
    if "rel" in kinds:
        old = _last_token(tokens, ("rel",))
        rel = next(t for t in said if t[0] == "rel")
        return None if old is None else _replace_last(base, old[2], rel[2])
    if kinds & {"shape", "shape adjective"} and shape is None:
        old = _last_token(tokens, ("shape", "shape adjective"))
        noun = " ".join(t[2] for t in said if t[0] in ("shape", "shape adjective", "color"))
        return None if old is None else _replace_last(base, old[2], noun)
    for kind in ("color", "size", "count"):
        if kind not in kinds:
            continue
        value = " ".join(t[2] for t in said if t[0] == kind)
        if kind == "count" and value in ("a", "an", "one"):
            continue
        old = _last_token(tokens, (kind, "times"), shape)
        if old is not None:
            return _replace_last(base, old[2], value)
        noun = _last_token(tokens, ("shape",), shape)
        if noun is None:
            return None
        return _replace_last(base, noun[2], f"{value} {noun[2]}")
    return None


def _corrections(text: str) -> str:
    """The text with each correction applied to what comes before it."""
    for _ in range(3):
        m = _CORRECTION_RE.search(text)
        if m is None or not m["body"].strip() and not m["target"]:
            return text
        was = _NOT_RE.search(m["body"])
        if not (was or any(m[g] for g in ("wait", "mean", "make", "instead"))):
            return text  # "..., and actually a red circle too": an addition, not a correction
        body = m["body"][: was.start()] if was else m["body"]
        out = _correct(text[: m.start()], m["target"], body, was[1] if was else None)
        if out is None:
            return text
        text = out + text[m.end() :]
    return text


def _aside(m: re.Match) -> str:
    """An aside is dropped only if it says nothing but shapes ("(plain white background)" stays)."""
    said = {
        t[0]
        for t in reading._tokenize(m[0])
        if t[0] not in ("stop", "unknown", "the", "sep") and t[:2] != ("count", 1)
    }
    return " " if said <= {"shape", "shape adjective", "foreign shape"} else m[0]


def rewrite(text: str) -> str:
    """The text with asides dropped, corrections applied and relative relations turned around."""
    text = _ASIDE_RE.sub(_aside, text)
    text = _PURPOSE_RE.sub(_purpose, text)
    text = _WHICH_RE.sub(r"\1 it", text)
    return _corrections(text)
