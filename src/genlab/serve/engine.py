"""What the server's workers run: the models it offers (loaded once, one lock each) and the
generate/edit jobs, whose outputs are stored in the shared history before the job counts as done.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import io
import secrets
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from genlab.diffusion import SAMPLERS
from genlab.errors import CheckpointError, GenlabError, InvalidArgument, NotFound
from genlab.history import HistoryStore
from genlab.io import (
    fit_image,
    load_image,
    params_xmp,
    read_checkpoint_config,
    to_pil,
    verify_checkpoint,
)
from genlab.paths import DEFAULT_IMAGE_MODEL
from genlab.pipelines.base import MAX_SEED, aspect_size
from genlab.pipelines.catalog import configured_models
from genlab.pipelines.registry import bundled_models, resolve_path
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.request import JSON, GenerationRequest, ModelAbilities, negative_prompt_note
from genlab.pipelines.text2image import read_world_prompt, speaks_world
from genlab.serve.jobs import Job
from genlab.serve.security import public

MAX_IMAGE_SIDE = 1024  # uploads and masks larger than this are refused
BUILTIN_DIFFUSION_KINDS = ("text2image", "text2video")
GENERATIVE_KINDS = (*BUILTIN_DIFFUSION_KINDS, "vae", "gan", "vq-ar")  # pipelines taking a prompt
# What each kind of model can do in the playground's tabs, and which request fields it reads;
# None is a model whose kind the server cannot read (diffusers, hosted APIs: general models).
MODEL_TASKS = {
    "text2image": ("generate", "edit", "agent"),
    "text2video": ("generate",),  # its edit() refuses; the agent draws images
    "vq-ar": ("generate", "agent"),
    "vae": ("generate",),  # class-conditional (digits): the agent's requests are scenes
    "gan": ("generate",),
    "diffusers": ("generate", "edit", "agent"),  # models.toml entries: general models
    "openai": ("generate", "edit", "agent"),
    "stability": ("generate", "edit", "agent"),
    None: ("generate", "edit", "agent"),
}
MODEL_CONTROLS = {
    "text2image": ("negative_prompt", "num_inference_steps", "guidance_scale", "sampler"),
    "text2video": ("negative_prompt", "num_inference_steps", "guidance_scale", "sampler"),
    "vq-ar": ("negative_prompt", "guidance_scale"),  # one step per token, no sampler
    "vae": (),  # one decoder pass
    "gan": (),
    "diffusers": ("negative_prompt", "num_inference_steps", "guidance_scale"),
    "openai": (),  # a hosted model takes the prompt (and seed, size) only
    "stability": ("negative_prompt",),
    None: ("negative_prompt", "num_inference_steps", "guidance_scale"),
}


@dataclass
class ModelEntry:
    """A model the server offers: its public name, where it loads from and what it can do."""

    name: str
    source: str  # a bundled name or a checkpoint path, as genlab.load takes it
    kind: str | None = None  # config["pipeline"] of the checkpoint, when it can be read
    config: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        size = self.config.get("image_size") or self.config.get("resolution")
        return {
            "name": self.name,
            "kind": self.kind,
            "image_size": size,
            "video": self.kind == "text2video",
            "tasks": list(MODEL_TASKS.get(self.kind, ("generate",))),
            "controls": list(MODEL_CONTROLS.get(self.kind, MODEL_CONTROLS[None])),
            "layout": "layout_planner" in self.config,  # two-stage: plan_layout applies
            # a distilled few-step model (genlab.train.distill): the playground's "fast" toggle
            "distilled": "distilled" in self.config,
            "default_steps": self.config.get("default_num_inference_steps"),
            # the planner's temperature when a request gives none (null: no planner)
            "layout_temperature": (
                float(self.config.get("default_layout_temperature", 1.0))
                if "layout_planner" in self.config
                else None
            ),
        }


class ModelCatalog:
    """Bundled models, models.toml entries (diffusers, hosted APIs) and the checkpoints named on
    the command line; clients may only ask for these.

    Pipelines are loaded on first use and kept; each has a lock, because a pipeline object is
    not assumed to be safe to call from two threads at once.
    """

    def __init__(
        self,
        extra: dict[str, str] | None = None,
        default: str | None = None,
        include_bundled: bool = True,
    ):
        sources: dict[str, str] = {}
        configured: dict[str, str] = {}
        if include_bundled:
            sources.update({name: name for name in bundled_models()})
            configured = {name: e["backend"] for name, e in configured_models().items()}
        sources.update(extra or {})
        entries = {
            # The operator's own checkpoints are read whole and checked now: a corrupt one stops
            # the server at start rather than failing every request that names it.
            name: _verified_model(name, src)
            if name in (extra or {})
            else _describe_model(name, src)
            for name, src in sources.items()
        }
        # Bundled checkpoints that do not generate (the eval classifier, domain CLIP) are not offered.
        self.entries = {
            name: e
            for name, e in entries.items()
            if name in (extra or {}) or e.kind in GENERATIVE_KINDS
        }
        for name, backend in configured.items():
            self.entries.setdefault(name, ModelEntry(name, name, backend))
        if default is not None and default not in self.entries:
            raise InvalidArgument("default model", "one of " + self._known(), default)
        fallback = next(iter(self.entries), None)
        self.default = default or next(
            (m for m in (DEFAULT_IMAGE_MODEL, "world-t2i") if m in self.entries), fallback
        )
        self._pipes: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in self.entries}
        self._load_lock = threading.Lock()

    def default_steps(self, name: str) -> int:
        """The denoising steps a request that gives none is drawn with: the model's own (a
        distilled model's few, its config's default_num_inference_steps), else 20."""
        steps = self.entries[name].config.get("default_num_inference_steps")
        return int(steps) if steps else 20

    def resolve(self, name: str | None) -> str:
        """The model a request means: its `name`, or the default one; InvalidArgument if unknown."""
        name = name or self.default
        if name is None:
            raise NotFound("model: this server offers no models (bundle one or pass --model)")
        if name not in self.entries:
            raise InvalidArgument("model", "one of " + self._known(), name)
        return name

    def pipeline(self, name: str) -> tuple[Any, threading.Lock]:
        name = self.resolve(name)
        with self._load_lock:
            if name not in self._pipes:
                self._pipes[name] = load_pipeline(self.entries[name].source)
        return self._pipes[name], self._locks[name]

    def shared(self, name: str) -> LockedPipeline:
        """The server's copy of a model for other callers (the agent), behind the same lock."""
        pipe, lock = self.pipeline(name)
        return LockedPipeline(pipe, lock)

    def samplers(self, name: str) -> list[str] | None:
        """The sampler names a genlab diffusion model takes (None: the model decides itself)."""
        if self.entries[name].kind not in BUILTIN_DIFFUSION_KINDS:
            return None

        return list(SAMPLERS)

    def abilities(self, name: str) -> ModelAbilities:
        entry = self.entries[name]
        planner = "layout_planner" in entry.config
        samplers = self.samplers(name)
        distilled = entry.config.get("distilled")  # a distilled model's folded guidance
        folded = distilled.get("guidance_scale") if isinstance(distilled, dict) else None
        return ModelAbilities(
            name, entry.kind, planner, None if samplers is None else tuple(samplers),
            None if folded is None else float(folded),
        )  # fmt: skip

    def check(self, name: str, request: GenerationRequest) -> None:
        """Refuse here, with a 422, what model `name` cannot honour of a request (its sampler,
        frames, layout plan, a prompt its world grammar cannot read) rather than failing the job
        in the worker: the request's own checks (genlab.pipelines.request), named as JSON does."""
        request.check_model(self.abilities(name), JSON)
        self.check_prompt(name, request.prompt)

    def check_sampler(self, name: str, sampler: str | None) -> None:
        self.abilities(name).check_sampler(sampler)

    def check_prompt(self, name: str, prompt: str) -> None:
        """A model of the built-in world refuses here, with a 422, a prompt it cannot draw
        (empty, too long, no word it knows) rather than failing the job in the worker."""
        entry = self.entries[name]
        vocab = entry.config.get("text_encoder", {}).get("vocab")
        world = isinstance(vocab, list) and speaks_world(vocab)
        if entry.kind in ("text2image", "text2video") and world:
            read_world_prompt(prompt)

    def check_keyframe(self, name: str, keyframe: str | None) -> str | None:
        """The image model that draws a video's first frame: only for a text-to-video `name`,
        only a text-to-image model; its resolved name (None when not asked)."""
        if keyframe is None:
            return None
        if self.entries[name].kind != "text2video":
            raise InvalidArgument("keyframe_model", "no value: this model makes images", keyframe)
        if "image_model" in self.entries[name].config:  # a layout-planned video model
            raise InvalidArgument(
                "keyframe_model", f"no value: model {name!r} draws every frame from its plan",
                keyframe,
            )  # fmt: skip
        images = [n for n, e in self.entries.items() if e.kind == "text2image"]
        if keyframe not in images:
            known = ", ".join(images) or "(none)"
            raise InvalidArgument(
                "keyframe_model", f"a text-to-image model: one of {known}", keyframe
            )
        return keyframe

    def public(self) -> list[dict[str, Any]]:
        return [
            dict(e.public(), default=e.name == self.default, samplers=self.samplers(e.name))
            for e in self.entries.values()
        ]

    def _known(self) -> str:
        return ", ".join(self.entries) or "(none)"


class LockedPipeline:
    """A pipeline whose calls (generate and edit) take its lock; everything else passes through."""

    def __init__(self, pipe, lock: threading.Lock):
        self._pipe, self._lock = pipe, lock

    def __call__(self, *args, **kwargs):
        with self._lock:
            return self._pipe(*args, **kwargs)

    def edit(self, *args, **kwargs):
        with self._lock:
            return self._pipe.edit(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def _layout_kwargs(p: dict[str, Any], accepted) -> dict[str, Any]:
    """A job's plan_layout and layout_temperature, for a pipeline call taking `accepted`
    arguments (the catalog checked them against the model's kind before queueing)."""
    out = {}
    for key in ("plan_layout", "layout_temperature"):
        if p.get(key) is not None:
            if key not in accepted:
                raise InvalidArgument(key, "null: this model draws without a layout plan", p[key])
            out[key] = p[key]
    return out


def _describe_model(name: str, source: str) -> ModelEntry:
    path = resolve_path(source)
    if path is None:
        return ModelEntry(name, source)
    try:
        config = read_checkpoint_config(path)
    except GenlabError:
        return ModelEntry(name, source)
    return ModelEntry(name, str(path), config.get("pipeline"), config)


def _verified_model(name: str, source: str) -> ModelEntry:
    path = resolve_path(source)
    if path is None:
        raise InvalidArgument(f"model {name}", "a checkpoint file", source)
    config = verify_checkpoint(path)
    if not config.get("pipeline"):
        raise CheckpointError(
            f"{path}: a genlab checkpoint but not a model (no pipeline kind; a training state "
            "is exported to a model by `genlab train`)"
        )
    return ModelEntry(name, str(path), config["pipeline"], config)


# --------------------------------------------------------------------------- decoding inputs


def decode_image_data(data: str, name: str) -> Image.Image:
    """A PNG/JPEG given as base64 or a `data:image/...;base64,` URL -> PIL image (checked)."""
    if "," in data and data.startswith("data:"):
        data = data.split(",", 1)[1]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(name, "a base64-encoded PNG or JPEG image", data[:32]) from None
    return open_image_bytes(raw, name)


def open_image_bytes(raw: bytes, name: str) -> Image.Image:
    """Decode an uploaded image, refusing non-images and anything larger than MAX_IMAGE_SIDE."""
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in ("PNG", "JPEG", "WEBP", "GIF"):
                raise InvalidArgument(name, "a PNG, JPEG, WebP or GIF image", im.format)
            if max(im.size) > MAX_IMAGE_SIDE:
                side = f"at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} pixels"
                raise InvalidArgument(name, f"an image of {side}", f"{im.width}×{im.height}")
            im.load()
            return im.copy()
    except GenlabError:
        raise
    except Exception as e:  # PIL raises many types for broken files
        raise InvalidArgument(name, "a readable image", type(e).__name__) from None


# --------------------------------------------------------------------------- running jobs


class JobRunner:
    """Runs one job for the queue: calls the pipeline, stores every output in history."""

    def __init__(self, catalog: ModelCatalog, history: HistoryStore):
        self.catalog = catalog
        self.history = history

    def __call__(self, job: Job, report: Callable[[int, int], None]) -> list[dict[str, Any]]:
        if job.kind == "generate":
            return self.generate(job, report)
        if job.kind == "edit":
            return self.edit(job, report)
        raise InvalidArgument("kind", "generate or edit", job.kind)

    def generate(self, job: Job, report: Callable[[int, int], None]) -> list[dict[str, Any]]:
        p = job.params
        pipe, lock = self.catalog.pipeline(p["model"])
        steps = drawing_steps(pipe, pipe, p.get("num_inference_steps"))
        kwargs = {
            "prompt": p["prompt"],
            "negative_prompt": p.get("negative_prompt"),
            "seed": p["seed"],
            "num_images": p["num_images"],
        }
        for optional in ("num_inference_steps", "guidance_scale", "sampler"):
            if p.get(optional) is not None:
                kwargs[optional] = p[optional]
        if p.get("num_frames") is not None:
            if "num_frames" not in _parameters(pipe):
                raise InvalidArgument(
                    "num_frames", "no value: this model makes images", p["num_frames"]
                )
            kwargs["num_frames"] = p["num_frames"]
        kwargs.update(_layout_kwargs(p, _parameters(pipe)))
        if p.get("output_size"):  # drawn at the asked aspect, scaled when stored
            kwargs.update(drawing_size(pipe, *p["output_size"]))
        if p.get("keyframe_model"):  # its own lock, taken while it draws the first frames
            kwargs["keyframe"] = self.catalog.shared(p["keyframe_model"])
            kwargs["keyframe_candidates"] = p.get("keyframe_candidates") or 1
        job.warnings += _prompt_warnings(pipe, p["prompt"], p.get("negative_prompt"))
        job.warnings += _guidance_warnings(pipe, p)
        report(0, steps)
        with lock:
            result = pipe(**kwargs, **_progress_kwargs(pipe, report, steps))
        report(steps, steps)
        return self.store_result(job, result, parent_id=None)

    def edit(self, job: Job, report: Callable[[int, int], None]) -> list[dict[str, Any]]:
        p = job.params
        source = self.history.get_image(p["image_id"])
        if source.kind != "image":
            raise InvalidArgument("image_id", "the id of an image (not a video)", p["image_id"])

        image = load_image(source.path)
        mask = None
        if p.get("mask"):
            mask = decode_image_data(p["mask"], "mask").convert("L")
            # The mask is drawn on a scaled-up canvas: bring it back to the image's own size.
            mask = mask.resize(image.size, Image.NEAREST).point(lambda v: 255 if v >= 128 else 0)
        pipe, lock = self.catalog.pipeline(p["model"])
        if not hasattr(pipe, "edit"):
            raise InvalidArgument("model", "a model that supports editing", p["model"])
        steps = drawing_steps(pipe, pipe.edit, p.get("num_inference_steps"))
        kwargs = {"mask": mask, "strength": p.get("strength")}
        accepted = _parameters(pipe.edit)
        for key in (
            "negative_prompt", "num_inference_steps", "guidance_scale", "sampler", "seed",
            "num_images",
        ):  # fmt: skip
            if key in accepted and p.get(key) is not None:
                kwargs[key] = p[key]
        kwargs.update(_layout_kwargs(p, accepted))
        job.warnings += _prompt_warnings(pipe, p["prompt"], p.get("negative_prompt"))
        job.warnings += _guidance_warnings(pipe, p)
        report(0, steps)
        with lock:
            result = pipe.edit(
                image, p["prompt"], **kwargs, **_progress_kwargs(pipe.edit, report, steps)
            )
        report(steps, steps)
        return self.store_result(job, result, parent_id=source.id)

    def store_result(self, job: Job, result, parent_id: str | None) -> list[dict[str, Any]]:
        """Write every output (file first, atomically; then its history row) and describe it."""
        model = job.params["model"]
        records = []
        metadata = list(result.metadata or [])
        if result.frames:
            for i, frames in enumerate(result.frames):
                params = _output_params(job, metadata, i)
                records.append(self._store_video(frames, params, job.id, parent_id, model))
        else:
            for i, image in enumerate(result.images):
                params = _output_params(job, metadata, i)
                if job.params.get("output_size"):  # e.g. an OpenAI request's size
                    image = fit_image(image, *job.params["output_size"])
                records.append(
                    self.history.add_image(
                        image, params, run_id=job.id, parent_id=parent_id, model=model
                    )
                )
        return [describe_record(r) for r in records]

    def _store_video(self, frames, params, run_id, parent_id, model):
        # An animated WebP plays in every browser's <img> and needs no video codec; its
        # parameters ride in XMP (WebP has no PNG text chunk), as genlab.io.read_params reads.
        pils = [to_pil(f) for f in frames]
        fps = int(params.get("fps") or 8)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "video.webp"
            pils[0].save(
                path,
                format="WEBP",
                save_all=True,
                append_images=pils[1:],
                duration=1000 // fps,
                loop=0,
                lossless=True,
                xmp=params_xmp(params),
            )
            return self.history.add_file(
                path, params, kind="video", run_id=run_id, parent_id=parent_id, model=model
            )


def drawing_size(pipe, width: int, height: int) -> dict[str, int]:
    """The height and width at which `pipe` draws an output of aspect width:height
    (genlab.pipelines.base.aspect_size), or {} for a pipeline that draws one size only (its
    square output is then cropped to the aspect, never stretched: genlab.io.fit_image)."""
    native, multiple = getattr(pipe, "image_size", None), getattr(pipe, "size_multiple", None)
    if not native or not multiple or not {"height", "width"} <= _parameters(pipe):
        return {}

    h, w = aspect_size(int(native), int(multiple), width, height)
    return {"height": h, "width": w}


def describe_record(record) -> dict[str, Any]:
    """What a client sees of a stored image: its id, where to fetch it, how it was made."""
    return {
        "image_id": record.id,
        "url": f"/api/images/{record.id}{Path(record.path).suffix.lower()}",
        "kind": record.kind,
        "prompt": record.prompt,
        "seed": record.seed,
        "model": record.model,
        # (a CLI edit records the paths of its source image and mask: not for clients)
        "params": public({k: v for k, v in record.params.items() if k != "image_id"}),
        "parent_id": record.parent_id,
        "created": record.created,
    }


def new_seed() -> int:
    return secrets.randbelow(MAX_SEED)


def _output_params(job: Job, metadata: list[dict[str, Any]], i: int) -> dict[str, Any]:
    """The pipeline's own metadata for output i (it knows the exact seed), over the request."""
    request = {k: v for k, v in job.params.items() if k not in ("mask",) and v is not None}
    request.pop("num_images", None)
    out = dict(request, **(metadata[i] if i < len(metadata) else {}))
    out["model"] = job.params["model"]  # the server's names, which a reuse asks for again
    if job.params.get("keyframe_model"):
        out["keyframe_model"] = job.params["keyframe_model"]
    out["job_id"] = job.id
    return out


def _prompt_warnings(pipe, *prompts: str | None) -> list[str]:
    """Say which words a pipeline's text encoder will drop (for pipelines that can tell), and,
    for a model of the world, what of the prompt its grammar cannot read or the world lacks."""
    out = []
    read = getattr(pipe, "read_prompts", None)
    if read is not None and prompts and prompts[0]:
        readings = read([prompts[0]])
        out += readings[0].warnings() if readings else []
    truncated_words = getattr(pipe, "truncated_words", None)
    if truncated_words is None:
        return out
    for prompt in prompts:
        dropped = truncated_words(prompt) if prompt else []
        if dropped:
            shown = " ".join(dropped[:12]) + (" …" if len(dropped) > 12 else "")
            out.append(f"prompt too long for the model: dropped {len(dropped)} words ({shown})")
    return out


def _guidance_warnings(pipe, p: dict[str, Any]) -> list[str]:
    """A negative prompt a distilled model will not act on (its guidance folded in, drawn at
    guidance 1): said in the job's warnings, as the images' metadata says it."""
    if not p.get("negative_prompt"):
        return []
    note = negative_prompt_note(
        p["model"], getattr(pipe, "folded_guidance", None), p.get("guidance_scale")
    )
    return [note] if note else []


def _parameters(fn) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def drawing_steps(pipe, fn, given: int | None) -> int:
    """The steps a call draws with, for its progress: the request's, else the model's own
    (`default_num_inference_steps`, or the call's default), else 0 (progress unknown)."""
    if given is not None:
        return given
    own = getattr(pipe, "default_num_inference_steps", None)
    if own is None:
        try:
            own = inspect.signature(fn).parameters["num_inference_steps"].default
        except (KeyError, TypeError, ValueError):
            own = None
    return own if isinstance(own, int) and not isinstance(own, bool) else 0


def _progress_kwargs(fn, report: Callable[[int, int], None], steps: int) -> dict[str, Any]:
    """A `callback` for pipelines that take one, called as callback(steps_done, total, x)."""
    if "callback" not in _parameters(fn):
        return {}

    def callback(done, total=steps, *_):
        report(min(int(done), int(total)), int(total))

    return {"callback": callback}
