"""The compositional suite: GenEval's six categories as fixed, seeded prompt sets about the world,
in-distribution, held-out and paraphrased, scored by the world's scene parser (genlab.world.match).

Held-out prompts name a (color, shape) pair from spec.HELD_OUT that training data never shows;
in-distribution prompts never do. Paraphrased prompts ask for the in-distribution scenes (the
same picks, so the two compare prompt by prompt) in the words people write: lead-ins, every
synonym the grammar reads, digits, "a pair of", shaded colors, relation wordings, punctuation
(genlab.world.paraphrase). Accuracy is judged strictly, as a user would: the fraction of images
with exactly the objects asked for, nothing else, every attribute and relation right (Wilson
95% interval); the forgiving GenEval reading ("a red circle" = at least one) is kept beside it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from genlab.errors import InvalidArgument
from genlab.eval.metrics import wilson_interval
from genlab.world.grammar import parse_prompt
from genlab.world.match import match
from genlab.world.paraphrase import paraphrase
from genlab.world.parser import parse_image
from genlab.world.spec import BACKGROUNDS, COLORS, HELD_OUT, RELATIONS, SHAPES, SIZES

CATEGORIES = ("single_object", "two_objects", "counting", "colors", "position", "attribute_binding")
SPLITS = ("in_distribution", "held_out", "paraphrased")
COUNT_WORDS = {2: "two", 3: "three", 4: "four"}

# "{x}" is a noun phrase with its article ("a red circle"), "{xs}" a counted plural ("two circles").
SINGULAR_TEMPLATES = (
    "{x}",
    "a photo of {x}",
    "an image of {x}",
    "a picture of {x}",
    "a drawing of {x}",
    "there is {x}",
    "an image showing {x}",
    "a scene with {x}",
    "a picture containing {x}",
    "a photo showing {x}",
)
PLURAL_TEMPLATES = (
    "{x}",
    "a photo of {x}",
    "an image of {x}",
    "a picture of {x}",
    "there are {x}",
    "an image showing {x}",
    "a scene with {x}",
    "a drawing of {x}",
)


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _plural(shape: str) -> str:
    return shape + ("es" if shape.endswith(("s", "x", "sh", "ch")) else "s")


def _noun(shape: str, color: str = "", size: str = "") -> str:
    return " ".join(w for w in (size, color, shape) if w)


@dataclass(frozen=True)
class SuitePrompt:
    category: str
    split: str
    prompt: str
    # what the prompt asks for, in the suite's own words: a paraphrase is judged against the
    # scene it was written from, not against how the grammar reads it (which could share a misreading)
    meant: str | None = None


def _with_background(body: str, background: str) -> str:
    return f"{body} on {_article(background)} background" if background else body


def _variants(phrases, templates) -> list[str]:
    """Every phrase in every template, with and without each background."""
    out = []
    for phrase, template, bg in itertools.product(phrases, templates, ("", *BACKGROUNDS)):
        out.append(_with_background(template.format(x=phrase), bg))
    return out


def _pairs(split: str) -> list[tuple[str, str]]:
    pairs = [(c, s) for c in COLORS for s in SHAPES]
    return [p for p in pairs if (p in HELD_OUT) == (split == "held_out")]


def all_prompts(category: str, split: str = "in_distribution") -> list[str]:
    """Every prompt of a category and split, in a fixed order (≥ 500 for each)."""
    if category not in CATEGORIES:
        raise InvalidArgument("category", "one of " + ", ".join(CATEGORIES), category)
    if split not in SPLITS:
        raise InvalidArgument("split", "one of " + ", ".join(SPLITS), split)
    if split == "paraphrased":
        return list(_paraphrased_all(category))
    held = split == "held_out"
    sizes = ("", *SIZES)
    # The first object: a plain shape in distribution, a held-out (color, shape) pair otherwise.
    firsts = [(c, s) for c, s in HELD_OUT] if held else [("", s) for s in SHAPES]
    firsts = sorted(firsts)
    if category == "single_object":
        phrases = [_article(_noun(s, c, z)) for (c, s), z in itertools.product(firsts, sizes)]
        return _variants(phrases, SINGULAR_TEMPLATES)
    if category == "colors":
        pairs = sorted(_pairs(split))
        phrases = [_article(_noun(s, c, z)) for (c, s), z in itertools.product(pairs, sizes)]
        return _variants(phrases, SINGULAR_TEMPLATES)
    if category == "counting":
        phrases = [
            f"{COUNT_WORDS[n]} {_noun(_plural(s), c, z)}"
            for (c, s), n, z in itertools.product(firsts, COUNT_WORDS, sizes)
        ]
        return _variants(phrases, PLURAL_TEMPLATES)
    if category == "two_objects":
        phrases = [
            f"{_article(_noun(s1, c1))} and {_article(s2)}"
            for (c1, s1), s2 in itertools.product(firsts, SHAPES)
            if s1 != s2
        ]
        return _variants(phrases, SINGULAR_TEMPLATES)
    if category == "position":
        phrases = [
            f"{_article(_noun(s1, c1))} {rel} {_article(s2)}"
            for (c1, s1), rel, s2 in itertools.product(firsts, RELATIONS, SHAPES)
            if s1 != s2
        ]
        return _variants(phrases, SINGULAR_TEMPLATES[:4])
    # attribute_binding: two colored objects, colors and shapes both differ
    second = sorted(_pairs("in_distribution"))
    phrases = [
        f"{_article(_noun(s1, c1))} and {_article(_noun(s2, c2))}"
        for (c1, s1), (c2, s2) in itertools.product(sorted(_pairs(split)), second)
        if c1 != c2 and s1 != s2
    ]
    return _variants(phrases, SINGULAR_TEMPLATES[:2])


@functools.cache
def _paraphrased_all(category: str) -> tuple[str, ...]:
    """The in-distribution prompts of `category`, each in a free phrasing (prompt i's words
    drawn with seed (17, i), so the split is the same everywhere; distinct, like the others)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, p in enumerate(all_prompts(category, "in_distribution")):
        request = parse_prompt(p).request
        text, k = paraphrase(request, np.random.default_rng([17, i])), 0
        while text in seen:  # two scenes drew the same words: draw again, so each is distinct
            k += 1
            text = paraphrase(request, np.random.default_rng([17, i, k]))
        seen.add(text)
        out.append(text)
    return tuple(out)


def suite(
    n_per_category: int,
    seed: int = 0,
    categories=CATEGORIES,
    splits=SPLITS,
) -> list[SuitePrompt]:
    """A seeded sample of `n_per_category` distinct prompts per (category, split)."""
    if (
        isinstance(n_per_category, bool)
        or not isinstance(n_per_category, int)
        or n_per_category < 1
    ):
        raise InvalidArgument("n_per_category", "an integer ≥ 1", n_per_category)
    out = []
    for ci, category in enumerate(categories):
        for split in splits:
            prompts = all_prompts(category, split)
            # paraphrased prompts pick the same scenes as in-distribution ones (index by index)
            si = SPLITS.index("in_distribution" if split == "paraphrased" else split)
            if n_per_category > len(prompts):
                raise InvalidArgument(
                    "n_per_category",
                    f"at most {len(prompts)} for {category}/{split}",
                    n_per_category,
                )
            rng = np.random.default_rng([seed, ci, si])
            picked = rng.choice(len(prompts), size=n_per_category, replace=False)
            source = all_prompts(category, "in_distribution") if split == "paraphrased" else None
            out += [
                SuitePrompt(category, split, prompts[i], source[i] if source else None)
                for i in sorted(picked)
            ]
    return out


@dataclass
class ImageResult:
    category: str
    split: str
    prompt: str
    seed: int
    satisfied: bool  # strict: exactly what was asked, nothing else
    score: float
    reasons: list[str] = field(default_factory=list)
    parsed: str = ""  # the scene the parser found, as text
    image: object = None  # the PIL image (dropped from JSON)
    lenient: bool | None = None  # satisfied under GenEval's forgiving reading

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("image")
        return d


def score_image(prompt: str, image) -> tuple[bool, float, list[str], str, bool]:
    """(satisfied, score, failed checks' reasons, parsed scene, satisfied leniently) of one
    image for one prompt; satisfied and score are strict."""
    request = parse_prompt(prompt).request
    parsed = parse_image(image)
    m = match(request, parsed)
    lenient = m.satisfied or match(request, parsed, strict=False).satisfied
    reasons = [c.reason for c in m.failures]
    return bool(m.satisfied), float(m.score), reasons, parsed.describe(), bool(lenient)


def run_suite(
    generate: Callable[[list[str], int, int], list],
    prompts: list[SuitePrompt],
    images_per_prompt: int = 4,
    seed: int = 0,
    progress: bool = True,
) -> list[ImageResult]:
    """Score `images_per_prompt` images per prompt. `generate(prompt_texts, n, seed)` returns n
    images for each text, prompt-major: a list of images, or an ImageSet whose `seeds` say how
    to regenerate each (genlab.eval.report.Sampler.image_set, batched)."""
    images = generate([p.prompt for p in prompts], images_per_prompt, seed)
    seeds = [seed] * len(images)
    if hasattr(images, "pils"):
        seeds = [s if s is not None else seed for s in (images.seeds or seeds)]
        images = images.pils()
    if len(images) != len(prompts) * images_per_prompt:
        raise InvalidArgument("generate", f"{len(prompts) * images_per_prompt} images", len(images))
    results = []
    for i, image in enumerate(tqdm(images, desc="scoring", disable=not progress, leave=False)):
        p = prompts[i // images_per_prompt]
        ok, score, reasons, parsed, lenient = score_image(p.meant or p.prompt, image)
        results.append(
            ImageResult(
                p.category, p.split, p.prompt, seeds[i], ok, score, reasons, parsed, image, lenient
            )
        )
    return results


def summarize(results: list[ImageResult]) -> dict:
    """Strict accuracy with Wilson 95% CI per (split, category), per split overall (GenEval's
    overall is the mean over categories; the pooled interval is over every image of the split),
    the lenient accuracy beside each, and the paraphrase gap (canonical minus paraphrased) when
    both splits were run."""
    out: dict = {}
    for split in SPLITS:
        rows = [r for r in results if r.split == split]
        if not rows:
            continue
        per_cat = {}
        for category in CATEGORIES:
            cat_rows = [r for r in rows if r.category == category]
            if not cat_rows:
                continue
            k, n = sum(r.satisfied for r in cat_rows), len(cat_rows)
            lo, hi = wilson_interval(k, n)
            per_cat[category] = {
                "accuracy": k / n,
                "ci95": [lo, hi],
                "images": n,
                "mean_score": float(np.mean([r.score for r in cat_rows])),
            }
            lenient = [r.lenient for r in cat_rows if r.lenient is not None]
            if lenient:
                per_cat[category]["lenient_accuracy"] = float(np.mean(lenient))
        k, n = sum(r.satisfied for r in rows), len(rows)
        lo, hi = wilson_interval(k, n)
        out[split] = {
            "categories": per_cat,
            "overall": float(np.mean([c["accuracy"] for c in per_cat.values()])),
            "pooled_accuracy": k / n,
            "pooled_ci95": [lo, hi],
            "images": n,
        }
    if "in_distribution" in out and "paraphrased" in out:
        canonical, free = out["in_distribution"], out["paraphrased"]
        out["paraphrase_gap"] = {
            "overall": canonical["overall"] - free["overall"],
            "categories": {
                c: canonical["categories"][c]["accuracy"] - free["categories"][c]["accuracy"]
                for c in free["categories"]
                if c in canonical["categories"]
            },
        }
    return out


def worst_failures(results: list[ImageResult], k: int = 12) -> list[ImageResult]:
    """The k failed images with the lowest match score (ties: fewest objects found first)."""
    failed = [r for r in results if not r.satisfied]
    return sorted(failed, key=lambda r: (r.score, r.category))[:k]
