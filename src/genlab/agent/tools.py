"""The generation agent's tools: refine_prompt, generate_image, edit_image, analyze_image and
generate_video, each a typed function over the run's `ToolContext` (pipeline, history, analyses).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageSequence

from genlab.agent.masks import box_mask, cell_mask, region_mask, stored_mask
from genlab.agent.toolkit import Tool, Toolbox, tool
from genlab.agent.vision import critique, write_prompt
from genlab.errors import GenlabError, InvalidArgument, NotFound, Unavailable
from genlab.history import HistoryStore, ImageRecord
from genlab.io import load_image, read_checkpoint_config, to_pil
from genlab.paths import DEFAULT_IMAGE_MODEL, DEFAULT_VIDEO_MODEL
from genlab.pipelines import registry
from genlab.pipelines.diffusers_backend import DiffusersPipeline
from genlab.pipelines.hosted import OpenAIImages, StabilityImages
from genlab.pipelines.registry import bundled_models
from genlab.pipelines.text2video import is_image_pipeline
from genlab.world import (
    BACKGROUNDS,
    COLORS,
    MAX_OBJECTS,
    RELATIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    canonical_caption,
)
from genlab.world.grammar import parse_prompt
from genlab.world.lexicon import COLOR_WORDS, SHAPE_WORDS, SIZE_WORDS
from genlab.world.match import match
from genlab.world.parser import parse_image
from genlab.world.video import judge_video, parse_video

MAX_IMAGES_PER_CALL = 8
DEFAULT_EDIT_STRENGTH = 0.75  # img2img: keep the layout, repaint the details

# Words that address the agent ("Can you draw me ...", "I'd like") rather than describe the
# picture: not reported as undrawable. "d", "ll", "m" are what is left of I'd, I'll, I'm.
_REQUEST_WORDS = "can could would you please me i we want like love need make draw drawing show"
_REQUEST_WORDS += " generate create render paint get give picture image of for us it d ll m"
REQUEST_WORDS = frozenset(_REQUEST_WORDS.split())

_PIPELINES: dict[str, Any] = {}  # loaded once per process: benchmarks run hundreds of requests


def load_pipeline(model: str):
    """genlab.load(model), cached by name."""
    if model not in _PIPELINES:
        _PIPELINES[model] = registry.load(model)
    return _PIPELINES[model]


def distilled(pipe) -> bool:
    """Whether a pipeline is a distilled few-step model (guidance folded in, its own sampler and
    steps): it draws best at its defaults, not at the agent's steps and guidance."""
    return getattr(pipe, "folded_guidance", None) is not None


@dataclass
class ToolContext:
    """Shared state of one agent run: which model draws, where images go, what was analysed."""

    request: str
    model: str = DEFAULT_IMAGE_MODEL
    store: HistoryStore | None = None
    run_id: str | None = None
    seed: int = 0  # first seed; each generated image without an explicit seed takes the next one
    num_inference_steps: int = 20
    guidance_scale: float = 4.0
    video_model: str | None = None
    pipeline: Any = None  # an already loaded pipeline (e.g. the server's); else genlab.load(model)
    # a few-step model (e.g. FAST_IMAGE_MODEL) that draws generate_image's candidates at its own
    # steps and folded guidance; edits stay with `model`. None: `model` draws everything.
    fast_model: str | None = None
    fast_pipeline: Any = None
    video_pipeline: Any = None  # likewise for generate_video; else video_model or a bundled one
    llm: Any = None  # an API backend with ask(): critic and prompt writer for general models
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)  # image id -> analyze_image
    images: dict[str, ImageRecord] = field(default_factory=dict)
    _next_seed: int | None = None

    def __post_init__(self):
        self.store = self.store or HistoryStore()
        self._next_seed = self.seed

    @property
    def pipe(self):
        if self.pipeline is None:
            self.pipeline = load_pipeline(self.model)
        return self.pipeline

    @property
    def candidate_pipe(self):
        """What draws generate_image's candidates: the fast model if the run has one."""
        if self.fast_model is None:
            return self.pipe
        if self.fast_pipeline is None:
            self.fast_pipeline = load_pipeline(self.fast_model)
        return self.fast_pipeline

    def take_seeds(self, n: int, first: int | None = None) -> list[int]:
        """n consecutive seeds from `first`, or the run's next fresh ones when it is None."""
        if first is not None:
            return list(range(first, first + n))
        seeds = list(range(self._next_seed, self._next_seed + n))
        self._next_seed += n
        return seeds

    def image(self, image_id: str) -> ImageRecord:
        if image_id in self.images:
            return self.images[image_id]
        try:
            return self.store.get_image(image_id)
        except NotFound:
            mine = ", ".join(self.images) or "none yet"
            raise NotFound(
                f"image_id: no image {image_id!r}; images made in this run: {mine}"
            ) from None

    def save(
        self, image, params: dict[str, Any], parent_id: str | None = None, model: str | None = None
    ) -> ImageRecord:
        rec = self.store.add_image(
            image, params, run_id=self.run_id, parent_id=parent_id, model=model or self.model
        )
        self.images[rec.id] = rec
        return rec

    def best(self) -> tuple[str, dict[str, Any]] | None:
        """The analysed image with the highest score (earliest wins ties), or None."""
        if not self.analyses:
            return None
        return max(self.analyses.items(), key=lambda kv: kv[1]["score"])


# --------------------------------------------------------------------------- world helpers


def world_vocabulary() -> str:
    """One sentence listing what the built-in world can draw (for 'nothing drawable' answers)."""
    return (
        f"the world draws 1 to {MAX_OBJECTS} objects: shapes {', '.join(SHAPES)}; colors "
        f"{', '.join(COLORS)}; sizes {', '.join(SIZES)}; positions such as top left or center; "
        f"relations {', '.join(RELATIONS)}; backgrounds {', '.join(BACKGROUNDS)}"
    )


def parse_request(text: str):
    """PromptParse of `text`; GenlabError naming what the world can draw if nothing is drawable."""
    if not isinstance(text, str):
        raise InvalidArgument("request", "a description of what to draw", text)
    if not text.strip():
        raise GenlabError(f"nothing drawable found: the request is empty; {world_vocabulary()}")
    parsed = parse_prompt(text)
    if parsed.unsupported:  # drawing something else would answer a different request
        raise GenlabError(
            "the request asks for what this world does not have: "
            + "; ".join(parsed.unsupported_warnings())
        )
    if not parsed.request.objects:
        unknown = (
            f" (not understood: {', '.join(parsed.unknown_words)})" if parsed.unknown_words else ""
        )
        raise GenlabError(f"nothing drawable found in {text!r}{unknown}; {world_vocabulary()}")
    return parsed


def _plain(x) -> Any:
    """Dataclasses, tuples and numpy scalars -> JSON-able values."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _instruction_edit(parsed_scene, instruction: str):
    """'make the circle green' -> (the object to repaint, its new attributes).

    The first object phrase names the target (shape and/or color, as in the image); attribute words
    after it (a color, a size, a shape) say what it becomes.
    """
    words = re.findall(r"[a-z]+", instruction.lower())
    vocab = {}
    for kind, table in (("color", COLOR_WORDS), ("size", SIZE_WORDS)):
        for name, syns in table.items():
            vocab.update({s: (kind, name) for s in syns})
    for name, forms in SHAPE_WORDS.items():
        for singular, plural in forms:
            vocab.update({singular: ("shape", name), plural: ("shape", name)})
    tagged = [vocab[w] for w in words if w in vocab]
    shape_at = next((i for i, (k, _) in enumerate(tagged) if k == "shape"), None)
    if shape_at is None and not tagged:
        raise InvalidArgument(
            "instruction",
            "an edit naming an object and what it becomes, e.g. 'make the circle green'",
            instruction,
        )
    target = dict(tagged[: shape_at + 1]) if shape_at is not None else dict(tagged[:1])
    change = dict(tagged[shape_at + 1 :]) if shape_at is not None else dict(tagged[1:])
    if not change:
        raise InvalidArgument(
            "instruction",
            "a new color, size or shape after the object, e.g. 'make the circle green'",
            instruction,
        )
    candidates = [
        o for o in parsed_scene.objects if all(getattr(o, k) == v for k, v in target.items())
    ]
    if not candidates:
        found = ", ".join(f"{o.color} {o.shape}" for o in parsed_scene.objects) or "no objects"
        wanted = " ".join(target.get(k, "") for k in ("size", "color", "shape")).strip()
        raise NotFound(f"instruction: no {wanted} in the image (it shows {found})")
    return candidates[0], change


# --------------------------------------------------------------------------- the tools


def _reads_plain_english(ctx: ToolContext) -> bool:
    """Whether the drawing model is a general one (diffusers, hosted APIs) that wants the user's
    own words rather than the world's canonical caption. An unloadable model counts as a world
    model here: generate_image reports the real problem."""
    try:
        pipe = ctx.pipe
    except GenlabError:
        return False
    return isinstance(pipe, DiffusersPipeline | OpenAIImages | StabilityImages)


def refine_prompt(ctx: ToolContext, description: str, style: str | None = None) -> dict:
    """Turn a person's description into the prompt the image model understands best.

    For the built-in world model this is the canonical caption (synonyms resolved, counts in
    words); words the world cannot draw are listed so you can tell the user. General models
    (diffusers, hosted APIs) get the description as written, with the style appended.

    Args:
        description: what the user wants, in their own words.
        style: optional style words; the built-in world has no styles, so they are reported back.
    """
    if _reads_plain_english(ctx):
        if not description.strip():
            raise InvalidArgument("description", "a description of what to draw", description)
        if ctx.llm is not None:
            prompt = write_prompt(ctx.llm, description, style)
            note = f"a general model: prompt written by {ctx.llm.name}:{ctx.llm.model}"
        else:
            prompt = " ".join(description.split()) + (f", {style}" if style else "")
            note = "a general model: the description is passed on as written"
        return {"prompt": prompt, "objects": None, "unsupported_words": [], "note": note}
    parsed = parse_request(description)
    unsupported = [w for w in parsed.unknown_words if w.lower() not in REQUEST_WORDS]
    if style:
        unsupported.append(style)
    out = {
        "prompt": parsed.canonical,
        "objects": sum(o.count for o in parsed.request.objects),
        "unsupported_words": unsupported,
    }
    if unsupported:
        out["note"] = f"the world cannot draw: {', '.join(unsupported)}; the rest is drawn"
        out["world_can_draw"] = world_vocabulary()
    if parsed.check_warnings():  # words of the request its reading leaves out
        out["reading_note"] = "; ".join(parsed.check_warnings())
    return out


def generate_image(
    ctx: ToolContext,
    prompt: str,
    negative_prompt: str | None = None,
    seed: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    n: int = 1,
) -> dict:
    """Generate n images from a prompt; returns their ids (use them with analyze_image, edit_image).

    Args:
        prompt: what to draw; use refine_prompt's output for the built-in model.
        negative_prompt: what to steer away from, e.g. wrong colors seen earlier.
        seed: seed of the first image (the others take the next seeds); omit for fresh seeds.
        steps: number of denoising steps (more: slower, often cleaner).
        guidance: classifier-free guidance scale (higher follows the prompt more closely).
        n: how many images (candidates) to make, 1 to 8.
    """
    _check_count(n, "images")
    if not prompt.strip():
        raise InvalidArgument("prompt", "a non-empty prompt", prompt)
    steps = steps or ctx.num_inference_steps
    guidance = ctx.guidance_scale if guidance is None else guidance
    seeds = ctx.take_seeds(n, seed)
    if ctx.fast_model is not None or distilled(ctx.candidate_pipe):
        steps = guidance = None  # a few-step model draws at its own steps and folded guidance
    # One batched call: image i starts from seed + i (the pipeline contract), so each image is
    # still reproducible alone from its own seed.
    result = ctx.candidate_pipe(
        prompt,
        negative_prompt=negative_prompt or None,
        num_inference_steps=steps,
        guidance_scale=guidance,
        seed=seeds[0],
        num_images=n,
    )
    ids, paths = [], []
    for i, image in enumerate(result.images):
        meta = dict(result.metadata[i]) if i < len(result.metadata) else {}
        meta.update(prompt=prompt, negative_prompt=negative_prompt)
        meta.setdefault("seed", seeds[i])  # a hosted API reports None: its images are not seeded
        meta.setdefault("num_inference_steps", steps)
        meta.setdefault("guidance_scale", guidance)
        rec = ctx.save(image, meta, model=ctx.fast_model)
        ids.append(rec.id)
        paths.append(rec.path)
    return {"image_ids": ids, "paths": paths, "seeds": seeds}


def edit_image(
    ctx: ToolContext,
    image_id: str,
    instruction: str | None = None,
    prompt: str | None = None,
    region: str | None = None,
    mask_id: str | None = None,
    strength: float | None = None,
    seed: int | None = None,
    guidance: float | None = None,
    n: int = 1,
) -> dict:
    """Edit an earlier image: repaint one object, a region, a mask, or the whole image (img2img).

    'make the circle green' finds the circle with the scene parser and inpaints it green; a
    prompt with a region or a mask inpaints there; a prompt alone redraws the image (img2img).
    With n > 1, n candidate edits from consecutive seeds.

    Args:
        image_id: id of the image to edit (from generate_image or edit_image).
        instruction: an edit in words, e.g. 'make the circle green' or 'make the red square large'.
        prompt: the full description of the wanted image (used with region, or for img2img).
        region: where to repaint: 'top left', 'center', 'right', ... or a box 'x0,y0,x1,y1' in fractions.
        mask_id: id of a stored black-and-white image of the same size; white is repainted.
        strength: img2img strength in (0, 1]: how far to move away from the original.
        seed: seed of the (first) edit; omit for a fresh one.
        guidance: classifier-free guidance scale of the edit (higher follows the prompt more).
        n: how many candidate edits to make, 1 to 8.
    """
    if not instruction and not prompt:
        raise InvalidArgument("instruction", "an instruction or a prompt", None)
    _check_count(n, "edits")
    if strength is not None and not 0 < strength <= 1:
        raise InvalidArgument("strength", "a number in (0, 1]", strength)
    rec = ctx.image(image_id)
    if rec.kind != "image":
        raise InvalidArgument("image_id", "an image (videos cannot be edited)", image_id)

    image = load_image(rec.path)
    mask = None
    if instruction:
        scene = parse_image(image)
        target, change = _instruction_edit(scene, instruction)
        objects, edited = [], None
        for o in scene.objects:
            attrs = {"shape": o.shape, "color": o.color, "size": o.size}
            if o is target:
                attrs.update(change)
            objects.append(Obj(attrs["shape"], attrs["color"], attrs["size"], o.row, o.col))
            edited = objects[-1] if o is target else edited
        if not prompt:
            try:  # the whole scene, changed: the model sees the context it repaints into
                prompt = canonical_caption(Scene(tuple(objects), scene.background))
            except InvalidArgument:  # a cluttered image is no valid scene: describe the object
                prompt = canonical_caption(Scene((edited,), scene.background))
        mask = box_mask(target.bbox, image.size)
        if "size" in change:  # a larger object needs room: repaint its whole cell
            mask |= cell_mask(target.row, target.col, image.size)
    elif region and mask_id:
        raise InvalidArgument("region", "either a region or a mask_id, not both", region)
    elif region:
        mask = region_mask(region, image.size)
    elif mask_id:
        mask = stored_mask(ctx.image(mask_id).path, image.size, name="mask_id")
    seeds = ctx.take_seeds(n, seed)
    guidance = ctx.guidance_scale if guidance is None else guidance
    if not hasattr(ctx.pipe, "edit"):  # a text-to-video model draws, but edits no images
        raise InvalidArgument("model", "a model that edits images", getattr(ctx.pipe, "name", None))
    steps = ctx.num_inference_steps
    if distilled(ctx.pipe):  # a few-step model edits at its own steps and folded guidance
        steps = guidance = None
    result = ctx.pipe.edit(
        image,
        prompt,
        mask=None if mask is None else Image.fromarray(mask.astype(np.uint8) * 255, "L"),
        strength=None if mask is not None else (strength or DEFAULT_EDIT_STRENGTH),
        seed=seeds[0],
        num_inference_steps=steps,
        guidance_scale=guidance,
        num_images=n,
    )
    edit = "inpaint" if mask is not None else "img2img"
    made = []
    for i, edited in enumerate(result.images):
        meta = dict(result.metadata[i]) if i < len(result.metadata) else {}
        meta.update(prompt=prompt, seed=seeds[i], edit_of=rec.id, instruction=instruction)
        meta.setdefault("guidance_scale", guidance)
        meta["edit"] = edit
        made.append(ctx.save(edited, meta, parent_id=rec.id))
    return {
        "image_ids": [m.id for m in made],
        "paths": [m.path for m in made],
        "seeds": seeds[: len(made)],  # a hosted API may return fewer edits than asked
        "edit": edit,
        "prompt": prompt,
        "repainted_pixels": int(mask.sum()) if mask is not None else None,
    }


def _check_count(n: int, what: str) -> None:
    if not 1 <= n <= MAX_IMAGES_PER_CALL:
        raise InvalidArgument("n", f"1 to {MAX_IMAGES_PER_CALL} {what}", n)


def analyze_image(ctx: ToolContext, image_id: str, question: str | None = None) -> dict:
    """Say what is in an image or video (the scene parser) and check it against the request.

    Returns the objects found, a per-attribute check list with reasons, and a score in [0, 1].
    Motions are checked on videos only: a still image cannot show them; a video is judged over
    the whole clip (no object that was not asked for in any frame, each motion's direction and
    speed, the first and last frames showing what was asked).

    Args:
        image_id: id of the image or video to analyse.
        question: what to check instead of the user's request, e.g. 'two red circles'; omit to
            check the request.
    """
    rec = ctx.image(image_id)
    if _reads_plain_english(ctx):
        return _critique_general(ctx, rec, image_id, question)
    against = question or ctx.request
    try:
        wanted = parse_request(against)
    except GenlabError:
        if question:
            raise
        wanted = parse_request(rec.prompt)  # a request with nothing drawable: check the prompt
    request, notes = wanted.request, []
    result = None
    if rec.kind == "video":
        frames = load_frames(rec.path)
        parsed = parse_video(frames)
        # the strict video judge `genlab video-eval` uses: objects over the whole clip, each
        # motion's direction and speed, the first and last frames as asked
        result = judge_video(request, frames)
    else:
        parsed = parse_image(load_image(rec.path))
        if any(o.motion for o in request.objects):
            request = replace(
                request, objects=tuple(replace(o, motion=None) for o in request.objects)
            )
            notes.append("motion is not checked on a still image")
    if result is None:
        result = match(request, parsed)
    keys = ("size", "color", "shape", "row", "col", "bbox", "motion")
    found = [{k: _plain(getattr(o, k)) for k in keys if hasattr(o, k)} for o in parsed.objects]
    missing = _assign_groups(request, found)
    checks = [_plain(c) for c in result.checks]
    out = {
        "image_id": image_id,
        "kind": rec.kind,
        "compared_with": wanted.canonical,
        "description": parsed.describe() if hasattr(parsed, "describe") else None,
        "found": found,
        "missing": missing,
        "background": parsed.background,
        "score": float(result.score),
        "satisfied": bool(result.satisfied),
        "checks": checks,
        "problems": [_reason(c) for c in checks if not c.get("ok", True)],
    }
    if notes:
        out["notes"] = notes
    if question is None:
        ctx.analyses[image_id] = out
        ctx.store.set_image_score(image_id, out["score"])
    return out


def _critique_general(ctx: ToolContext, rec, image_id: str, question: str | None) -> dict:
    """analyze_image for images of a general model: the scene parser only reads the built-in
    world, so a vision-capable LLM (the run's API backend) describes and scores the image."""
    if ctx.llm is None:
        raise GenlabError(
            "analyze_image: this image comes from a general model and the scene parser only reads "
            "the built-in world; run the agent with --backend anthropic or openai (a vision model)"
        )

    out = {"image_id": image_id, "kind": rec.kind, "compared_with": question or ctx.request}
    out.update(critique(ctx.llm, Path(rec.path).read_bytes(), ctx.request, question))
    if question is None:
        ctx.analyses[image_id] = out
        ctx.store.set_image_score(image_id, out["score"])
    return out


def load_frames(path: str) -> list[Image.Image]:
    """Every frame of an animated WebP or GIF (or the one frame of a still image), as RGB."""
    with Image.open(path) as im:
        return [frame.convert("RGB") for frame in ImageSequence.Iterator(im)]


def _assign_groups(request, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark each found object `requested` if it fills a requested group; return the unfilled groups.

    Greedy, most specific groups first, so 'a red circle and a circle' takes the red one for the
    red group.
    """
    left = {i: o.count for i, o in enumerate(request.objects)}
    order = sorted(
        left, key=lambda i: -sum(v is not None for v in _group_attrs(request.objects[i]))
    )
    for o in found:
        o["requested"] = False
        for i in order:
            g = request.objects[i]
            if left[i] and g.matches(o["shape"], o["color"], o["size"]):
                left[i] -= 1
                o["requested"] = True
                break
    missing = []
    for i, n in left.items():
        g = request.objects[i]
        missing.extend({"shape": g.shape, "color": g.color, "size": g.size} for _ in range(n))
    return missing


def _group_attrs(group) -> tuple:
    return (group.shape, group.color, group.size)


def _reason(check: dict) -> str:
    for key in ("reason", "message", "detail"):
        if check.get(key):
            return str(check[key])
    return ", ".join(f"{k}={v}" for k, v in check.items() if k != "ok")


def _animates_first_frames(pipe) -> bool:
    """Whether a video pipeline was trained to see a given first frame (frame conditioning)."""
    try:
        return bool(pipe.describe().get("first_frame_conditioning"))
    except Exception:  # noqa: BLE001 - a foreign pipeline without describe(): plain text → video
        return False


def generate_video(
    ctx: ToolContext,
    prompt: str,
    num_frames: int = 8,
    seed: int | None = None,
    image_id: str | None = None,
) -> dict:
    """Generate a short video (moving objects) from a prompt; returns its id and file path.

    Args:
        prompt: what to draw and how it moves, e.g. 'a red circle moving right'.
        num_frames: number of frames, 8 to 16.
        seed: seed of the video; omit for a fresh one.
        image_id: an earlier image to animate (it becomes the first frame); omit to start fresh.
    """
    if not 8 <= num_frames <= 16:
        raise InvalidArgument("num_frames", "8 to 16 frames", num_frames)
    pipe, model = ctx.video_pipeline, ctx.video_model
    if pipe is None:
        model = model or find_video_model()
        if model is None:
            raise Unavailable(
                "generate_video is not available: no text-to-video model (a checkpoint with "
                "pipeline 'text2video') is bundled or configured; generate_image still works"
            )
        pipe = ctx.video_pipeline = load_pipeline(model)
    model = model or getattr(pipe, "name", "text2video")
    first_frame = None
    if image_id is not None:
        first_frame = load_image(ctx.image(image_id).path)
    s = seed if seed is not None else ctx.take_seeds(1)[0]
    options: dict = {"image": first_frame} if first_frame is not None else {}
    if first_frame is None and _animates_first_frames(pipe):
        # text → image → video: the agent's image model draws frame 0, the video model animates
        # it (a frame-conditioned model does far better so; its card has the figures)
        try:
            image_pipe = ctx.pipe
        except GenlabError:  # no image model to draw it: the video model starts from text
            image_pipe = None
        if image_pipe is not None and is_image_pipeline(image_pipe):
            options["keyframe"] = image_pipe
    result = pipe(
        prompt,
        num_inference_steps=ctx.num_inference_steps,
        seed=s,
        num_images=1,
        num_frames=num_frames,
        **options,
    )

    frames = [to_pil(f) for f in result.frames[0]]
    meta = dict(result.metadata[0]) if result.metadata else {}
    meta.update(prompt=prompt, seed=s, num_frames=num_frames, model=model, animated=image_id)
    with tempfile.TemporaryDirectory() as tmp:
        # Lossless animated WebP (as the server stores videos): exact colors for the parser.
        path = Path(tmp) / "video.webp"
        frames[0].save(
            path, format="WEBP", save_all=True, append_images=frames[1:], duration=125, loop=0,
            lossless=True,
        )  # fmt: skip
        rec = ctx.store.add_file(path, meta, kind="video", run_id=ctx.run_id, model=model)
    ctx.images[rec.id] = rec
    out = {"image_ids": [rec.id], "paths": [rec.path], "num_frames": len(frames)}
    if "keyframe" in options:
        out["first_frame_model"] = meta.get("keyframe_model")
    return out


def find_video_model() -> str | None:
    """The default video model (genlab.paths.DEFAULT_VIDEO_MODEL) when bundled, else the first
    bundled checkpoint whose config says pipeline 'text2video', if any."""
    bundled = bundled_models()
    names = sorted(bundled, key=lambda name: name != DEFAULT_VIDEO_MODEL)
    for name, path in ((n, bundled[n]) for n in names):
        try:
            if read_checkpoint_config(path).get("pipeline") == "text2video":
                return name
        except GenlabError:
            continue
    return None


TOOLS: list[Tool] = [
    tool(f) for f in (refine_prompt, generate_image, edit_image, analyze_image, generate_video)
]


def make_toolbox(ctx: ToolContext) -> Toolbox:
    return Toolbox(TOOLS, ctx)
