"""Captioner of the built-in world: many templates and synonyms for the same scene, all of which
the prompt grammar reads back to the request they were written from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from genlab.errors import InvalidArgument
from genlab.world.grammar import (
    SceneRequest,
    canonical_caption,
    group_alike,
    phrase_request,
    request_of,
)
from genlab.world.sample import as_generator
from genlab.world.spec import Scene

PREFIXES = (
    "",
    "a picture of ",
    "an image of ",
    "there is ",
    "a scene with ",
    "a drawing of ",
    "a photo showing ",
    "an image containing ",
)


@dataclass(frozen=True)
class Template:
    """How one caption is written: an opening, the level of detail, background or not, joiner."""

    prefix: str
    detail: str  # see grammar.request_of
    with_background: bool
    joiner: str = "list"  # "while" for videos: "a red circle moving right while a square grows"
    capitalize: bool = False

    def applies_to(self, scene: Scene) -> bool:
        if self.detail == "relation" and len(scene.objects) != 2:
            return False
        return self.joiner == "list" or "motions" in scene.extras


TEMPLATES: tuple[Template, ...] = tuple(
    Template(prefix, detail, with_bg, joiner, capitalize)
    for prefix in PREFIXES
    for detail in ("full", "objects", "counts", "relation")
    for with_bg in (True, False)
    for joiner in ("list", "while")
    for capitalize in (False, True)
)


def random_template(scene: Scene, rng, detail: str | None = None) -> Template:
    """One of the TEMPLATES that applies to `scene`, each choice drawn independently (uniform);
    `detail` fixes the level of detail (the other choices stay random)."""
    details = ["full", "objects", "counts"] + (["relation"] if len(scene.objects) == 2 else [])
    if detail is not None:
        if detail not in details:
            raise InvalidArgument("detail", "one of " + ", ".join(details), detail)
        details = [detail]
    joiners = ["list", "while"] if "motions" in scene.extras else ["list"]
    k = rng.integers(1 << 30)
    return Template(
        PREFIXES[k % len(PREFIXES)],
        details[(k >> 4) % len(details)],
        bool((k >> 8) & 1),
        joiners[(k >> 9) % len(joiners)],
        bool((k >> 10) & 1),
    )


def write(template: Template, request: SceneRequest, rng) -> str:
    """The text of `request` in `template`'s wording, synonyms drawn with `rng`."""

    def pick(options):
        return options[int(rng.integers(len(options)))]

    text = template.prefix + phrase_request(request, pick, joiner=template.joiner)
    if template.capitalize:
        text = text[0].upper() + text[1:] + "."
    return text


def caption_and_request(
    scene: Scene, rng=None, template: Template | None = None, relation: str | None = None
):
    """A random caption of `scene` and the SceneRequest it states (what the grammar reads back);
    `relation` picks the one stated by a "relation" template (request_of)."""
    rng = as_generator(rng)
    if template is None:
        template = random_template(scene, rng)
    request: SceneRequest = request_of(
        scene, template.detail, with_background=template.with_background, relation=relation
    )
    return write(template, request, rng), request


def caption(scene: Scene, rng=None) -> str:
    """A caption of `scene`: the canonical one when rng is None, else a random template with
    random synonyms ("a big crimson ball above a blue box")."""
    if rng is None:
        return canonical_caption(scene)
    return caption_and_request(scene, rng)[0]


def varied_caption(
    scene: Scene,
    rng=None,
    *,
    keep_color: float = 0.7,
    keep_size: float = 0.4,
    detail: str | None = None,
    relation: str | None = None,
) -> tuple[str, SceneRequest]:
    """A true caption of `scene` that may leave attributes unsaid, and the request it states.

    Each shape keeps its color with probability `keep_color` and its size with `keep_size`;
    with the "counts" detail, objects that read alike afterwards are grouped ("three circles",
    "two red squares and a star"). Text-to-image training mixes these with the full captions so
    that a model meets prompts as people write them ("a circle", "two circles", "a red circle
    above a square"), not only exhaustive lists: the recaptioning lesson of DALL-E 3 (Betker et
    al. 2023, §3), in miniature.

    `detail` and `relation` fix the level of detail and the relation stated (request_of).
    """
    rng = as_generator(rng)
    template = random_template(scene, rng, detail)
    request = request_of(
        scene, template.detail, with_background=template.with_background, relation=relation
    )
    # One decision per shape: "two squares and a small square" would be ambiguous.
    keep = {o.shape: (rng.random() < keep_color, rng.random() < keep_size) for o in request.objects}
    objects = [
        replace(
            o,
            color=o.color if keep[o.shape][0] else None,
            size=o.size if keep[o.shape][1] else None,
        )
        for o in request.objects
    ]
    if template.detail == "counts":
        objects = group_alike(objects)
    request = replace(request, objects=tuple(objects))
    return write(template, request, rng), request
