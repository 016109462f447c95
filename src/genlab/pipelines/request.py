"""A generation request, checked in one place: each argument's type and range is written once
(`PARAMS`), and every face (the pipeline call, the CLI, REST, the OpenAI endpoint, the agent)
checks its values with it, so that a bad value gets the same error wherever it is given.

`GenerationRequest` is the request itself (built = checked, as diffusers' `check_inputs`);
`GenerationRequest.check_model` what a given model can honour of it (`ModelAbilities`). A face
names the arguments its own way (`Face`: `--steps` on the command line, `null` in JSON).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import InitVar, dataclass, field, fields
from typing import Any

from genlab.errors import InvalidArgument, check_int

# The bounds every face shares: past 50, guidance only saturates the image; seeds are what a
# 31-bit random draw gives, which every RNG here takes.
MAX_GUIDANCE = 50.0
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Param:
    """One numeric argument: integer or number, and its range (`low_open`: low itself is out).
    `check` takes a Python value, `parse` a command line's text, `bounds` gives pydantic's Field
    constraints (the REST schema), all from the same numbers; `high` tightens the range for a face
    that caps it (a server's steps and images per request)."""

    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def expected(self, high: float | None = None) -> str:
        """What a number must be (an integer's words are check_int's)."""
        high = self.high if high is None else high
        if self.low_open:
            return f"a number in ({self.low:g}, {high:g}]"
        return f"a number in {self.low:g}..{high:g}"

    def check(self, name: str, value, high: float | None = None):
        high = self.high if high is None else high
        if self.integer:
            low = None if self.low is None else int(self.low)
            return check_int(name, value, low, None if high is None else int(high))
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        ok = ok and (value > self.low if self.low_open else value >= self.low) and value <= high
        if not ok:  # (NaN compares false)
            raise InvalidArgument(name, self.expected(high), value)
        return value

    def parse(self, name: str, text, high: float | None = None):
        """A command line's value: None stays None; text that is not a number names `text`."""
        if text is None:
            return None
        if self.integer:
            try:
                value = int(str(text), 10)
            except ValueError:
                raise InvalidArgument(name, "an integer", text) from None
            return self.check(name, value, high)
        try:
            value = float(text)
        except ValueError:
            raise InvalidArgument(name, self.expected(high), text) from None
        if math.isnan(value) or math.isinf(value):
            raise InvalidArgument(name, self.expected(high), text)
        try:
            return self.check(name, value, high)
        except InvalidArgument:
            raise InvalidArgument(name, self.expected(high), text) from None

    def bounds(self, high: float | None = None) -> dict[str, Any]:
        """pydantic `Field` keyword arguments: ge/gt, le, and no inf or NaN for numbers."""
        high = self.high if high is None else high
        out: dict[str, Any] = {"gt" if self.low_open else "ge": self.low}
        if high is not None:
            out["le"] = high
        if not self.integer:
            out["allow_inf_nan"] = False
        return out


# Each generation argument's range, once. A face may cap a range lower (a server's MAX_STEPS).
PARAMS: dict[str, Param] = {
    "num_inference_steps": Param(integer=True, low=1),
    "guidance_scale": Param(integer=False, low=0, high=MAX_GUIDANCE),
    "seed": Param(integer=True, low=0, high=MAX_SEED),
    "num_images": Param(integer=True, low=1),
    "num_frames": Param(integer=True, low=1),
    "height": Param(integer=True, low=1),
    "width": Param(integer=True, low=1),
    "keyframe_candidates": Param(integer=True, low=1),
    "layout_temperature": Param(integer=False, low=0, high=10, low_open=True),
    "strength": Param(integer=False, low=0, high=1, low_open=True),
}


def check_prompt(prompt, name: str = "prompt") -> str:
    """A prompt with something to draw: a string that is not empty or only spaces."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidArgument(name, "a non-empty prompt", prompt)
    return prompt


@dataclass(frozen=True)
class Face:
    """How a face names the request's arguments in its errors: `names` (field -> `--steps`),
    its word for "no value" (None in Python, null in JSON), how it says "when plan_layout is
    False" and what its limits are counted in."""

    names: Mapping[str, str] = field(default_factory=dict)
    nothing: str = "None"
    no_layout: str = "when plan_layout is False"
    scope: str = "per call"  # what a face's limits are counted in ("per request")

    def name(self, field_name: str) -> str:
        return self.names.get(field_name, field_name)

    @contextlib.contextmanager
    def naming(self) -> Iterator[None]:
        """Re-raise an InvalidArgument about a request field under this face's name for it."""
        try:
            yield
        except InvalidArgument as e:
            if e.name in self.names:
                raise e.renamed(self.names[e.name]) from None
            raise


PYTHON = Face()
JSON = Face(nothing="null", no_layout="when plan_layout is false", scope="per request")


@dataclass(frozen=True)
class ModelAbilities:
    """What a model can honour of a request. `kind` is its pipeline kind (config["pipeline"]);
    None for a general model (diffusers, a hosted API) whose pipeline decides for itself."""

    name: str
    kind: str | None = None
    layout_planner: bool = False
    samplers: tuple[str, ...] | None = None  # None: the model chooses (or has no sampler)
    # a distilled model's classifier-free guidance scale, folded into its network (its config's
    # "distilled"): it draws at guidance_scale 1, where a negative prompt has no effect
    folded_guidance: float | None = None

    def check_sampler(self, sampler: str | None, name: str = "sampler") -> None:
        if sampler is not None and self.samplers is not None and sampler not in self.samplers:
            raise InvalidArgument(name, "one of " + ", ".join(sorted(self.samplers)), sampler)


@dataclass
class GenerationRequest:
    """The arguments of one generation, checked when built; None means the model's default.
    `prompt` may be a list (one set of images per prompt, as the pipelines take them)."""

    prompt: str | list[str]
    negative_prompt: str | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    sampler: str | None = None
    seed: int | None = None
    num_images: int = 1
    height: int | None = None
    width: int | None = None
    num_frames: int | None = None
    plan_layout: bool | None = None
    layout_temperature: float | None = None
    keyframe_model: str | None = None
    keyframe_candidates: int | None = None
    strength: float | None = None  # an edit's: how far the image is re-noised (img2img)
    # How the building face names the fields in errors, and the lower highs it sets (a server's
    # {"num_images": 8}); not fields of the request.
    face: InitVar[Face] = None
    limits: InitVar[Mapping[str, float] | None] = None

    def __post_init__(self, face: Face | None, limits: Mapping[str, float] | None) -> None:
        face = face or PYTHON
        with face.naming():
            self.validate(limits, face)

    def validate(
        self, limits: Mapping[str, float] | None = None, face: Face | None = None
    ) -> GenerationRequest:
        """Check every field: its type and PARAMS' range (capped by `limits`)."""
        limits, face = limits or {}, face or PYTHON
        prompts = self.prompt if isinstance(self.prompt, list | tuple) else [self.prompt]
        if not prompts:
            raise InvalidArgument("prompt", "a prompt or a non-empty list of prompts", self.prompt)
        for prompt in prompts:
            check_prompt(prompt)
        if self.negative_prompt is not None and not isinstance(self.negative_prompt, str):
            raise InvalidArgument("negative_prompt", "a string or None", self.negative_prompt)
        if self.sampler is not None and not isinstance(self.sampler, str):
            raise InvalidArgument("sampler", "a sampler's name", self.sampler)
        if self.plan_layout is not None and not isinstance(self.plan_layout, bool):
            raise InvalidArgument("plan_layout", "True, False or None", self.plan_layout)
        for name, param in PARAMS.items():
            value = getattr(self, name, None)
            if value is not None:
                param.check(name, value)
                if name in limits and value > limits[name]:
                    raise InvalidArgument(name, f"at most {limits[name]:g} {face.scope}", value)
        if self.keyframe_candidates not in (None, 1) and self.keyframe_model is None:
            raise InvalidArgument(
                "keyframe_candidates",
                f"1 unless {face.name('keyframe_model')} is given",
                self.keyframe_candidates,
            )
        return self

    def check_model(self, model: ModelAbilities, face: Face = PYTHON) -> list[str]:
        """Refuse what `model` cannot honour (before any work is queued), naming the argument
        as `face` does: a sampler it lacks, frames of an image model, a layout plan or planner
        temperature for a model without a planner. Returns what it will honour differently
        than asked, one sentence each (a negative prompt at a distilled model's folded
        guidance: no effect), for the face to show as warnings."""
        notes = self._notes(model, face)
        self._refusals(model, face)
        return notes

    def _notes(self, model: ModelAbilities, face: Face) -> list[str]:
        if self.negative_prompt and model.folded_guidance is not None:
            note = negative_prompt_note(
                model.name, model.folded_guidance, self.guidance_scale, face.name("guidance_scale")
            )
            return [note] if note else []
        return []

    def _refusals(self, model: ModelAbilities, face: Face) -> None:
        kind, nothing, name = model.kind, face.nothing, model.name
        model.check_sampler(self.sampler, face.name("sampler"))
        if self.num_frames is not None and kind is not None and kind != "text2video":
            raise InvalidArgument(
                face.name("num_frames"), f"{nothing}: this model makes images", self.num_frames
            )
        if self.layout_temperature is not None:
            if self.plan_layout is False:
                raise InvalidArgument(
                    face.name("layout_temperature"), f"{nothing} {face.no_layout}",
                    self.layout_temperature,
                )  # fmt: skip
            if kind is not None and not model.layout_planner:
                raise InvalidArgument(
                    face.name("layout_temperature"),
                    f"{nothing}: model {name!r} has no layout planner",
                    self.layout_temperature,
                )
        if self.plan_layout is None or kind is None:  # unknown kind: the pipeline decides
            return
        if kind != "text2image":
            raise InvalidArgument(
                face.name("plan_layout"), f"{nothing}: model {name!r} draws without a layout plan"
            )  # fmt: skip
        if self.plan_layout and not model.layout_planner:
            raise InvalidArgument(
                face.name("plan_layout"), f"{nothing} or false: model {name!r} has no layout planner"
            )  # fmt: skip

    def given(self) -> dict[str, Any]:
        """The fields that are set (not None), as pipeline keyword arguments."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def negative_prompt_note(
    model: str, folded_guidance: float | None, guidance_scale, name: str = "guidance_scale"
) -> str | None:
    """The warning for a negative prompt a model will not act on, or None: a distilled model
    with classifier-free guidance folded in draws at guidance 1 (one network evaluation, no
    unconditional half), where the negative prompt takes no part; above 1, guidance is applied
    again on top, against the negative prompt."""
    if folded_guidance is None or (guidance_scale is not None and guidance_scale != 1):
        return None
    return (
        f"the negative prompt has no effect: model {model!r} has classifier-free guidance "
        f"{folded_guidance:g} folded in and draws at guidance 1; give {name} above 1 to steer "
        "away from it (two network evaluations a step)"
    )


def check_generation_args(
    *,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int | None = None,
    num_images: int | None = None,
) -> None:
    """Raise InvalidArgument for the common bad inputs, naming the argument (PARAMS' ranges)."""
    given = {
        "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale,
        "seed": seed,
        "num_images": num_images,
    }
    for name, value in given.items():
        if value is not None:
            PARAMS[name].check(name, value)
