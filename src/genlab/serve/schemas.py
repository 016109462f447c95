"""Request bodies of the REST API, as pydantic models: they are the OpenAPI schema, and every
bad field is answered with 422 naming it before any work starts.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from genlab.pipelines.request import JSON, PARAMS, GenerationRequest, check_prompt

TEXT_LIMIT = 1000  # characters in a prompt; the text encoder truncates far earlier
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ID_RE = re.compile(ID_PATTERN)
# What one request may ask of this server (the arguments' own ranges are genlab.pipelines.request's)
SERVER_LIMITS = {
    "num_inference_steps": 200,
    "num_images": 8,
    "num_frames": 64,
    "keyframe_candidates": 16,
}
MAX_STEPS = SERVER_LIMITS["num_inference_steps"]
MAX_IMAGES = SERVER_LIMITS["num_images"]
MAX_FRAMES = SERVER_LIMITS["num_frames"]
MAX_KEYFRAME_CANDIDATES = SERVER_LIMITS["keyframe_candidates"]


Prompt = Annotated[str, AfterValidator(check_prompt)]  # every face refuses an empty prompt


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="null")

    def generation(self) -> GenerationRequest:
        """The body's generation arguments as the one request type every face checks with."""
        names = {f.name for f in fields(GenerationRequest)} & type(self).model_fields.keys()
        values = {k: getattr(self, k) for k in names if k != "model"}
        return GenerationRequest(**values, face=JSON, limits=SERVER_LIMITS)


_LAYOUT_TEMPERATURE = Field(
    None,
    **PARAMS["layout_temperature"].bounds(),
    description="Two-stage text-to-image models: the planner's sampling temperature (below 1: "
    "plans nearer its most likely one, less varied); null: the model's own.",
)


_STEPS_DESCRIPTION = (
    "Denoising steps; null: the model's own (a distilled few-step model's is few: GET "
    "/api/models gives it as default_steps)."
)


class GenerateRequest(_Strict):
    """Text to image (or video, for a text-to-video model)."""

    prompt: Prompt = Field(min_length=1, max_length=TEXT_LIMIT, description="What to draw.")
    negative_prompt: str | None = Field(
        None, max_length=TEXT_LIMIT, description="What to steer away from."
    )
    num_inference_steps: int | None = Field(
        None, **PARAMS["num_inference_steps"].bounds(MAX_STEPS), description=_STEPS_DESCRIPTION
    )
    guidance_scale: float | None = Field(
        None,
        **PARAMS["guidance_scale"].bounds(),
        description="Classifier-free guidance; model default if null.",
    )
    sampler: str | None = Field(
        None, pattern=r"^[a-z0-9_+]{1,32}$", description="Sampler name; model default if null."
    )
    seed: int | None = Field(
        None,
        **PARAMS["seed"].bounds(),
        description="Same seed and settings give the same image; random if null.",
    )
    num_images: int = Field(
        1, **PARAMS["num_images"].bounds(MAX_IMAGES), description="How many images."
    )
    num_frames: int | None = Field(
        None,
        **PARAMS["num_frames"].bounds(MAX_FRAMES),
        description="Frames of a video (text-to-video models only).",
    )
    model: str | None = Field(None, max_length=200, description="A name from GET /api/models.")
    keyframe_model: str | None = Field(
        None,
        max_length=200,
        description="Text-to-video models only: a text-to-image model from GET /api/models that "
        "draws each video's first frame, which the video model animates (text → image → video).",
    )
    keyframe_candidates: int = Field(
        1,
        **PARAMS["keyframe_candidates"].bounds(MAX_KEYFRAME_CANDIDATES),
        description="With keyframe_model: first frames drawn per video; the one the asked motion "
        "can best start from (the built-in world's scene parser) is animated.",
    )
    plan_layout: bool | None = Field(
        None,
        description="Two-stage text-to-image models (with a layout planner): false draws from "
        "the text alone; null plans where the model can (each image's plan is in its metadata).",
    )
    layout_temperature: float | None = _LAYOUT_TEMPERATURE


class EditRequest(_Strict):
    """Inpaint (with a mask) or img2img (with a strength) an image from history."""

    image_id: str = Field(pattern=ID_PATTERN, description="An image id from history.")
    prompt: Prompt = Field(min_length=1, max_length=TEXT_LIMIT)
    mask: str | None = Field(
        None,
        max_length=2_000_000,
        description="PNG (base64 or data URL); white = repaint. Any size: it is scaled to the image.",
    )
    strength: float | None = Field(
        None, **PARAMS["strength"].bounds(), description="How much to change (img2img)."
    )
    negative_prompt: str | None = Field(None, max_length=TEXT_LIMIT)
    num_inference_steps: int | None = Field(
        None, **PARAMS["num_inference_steps"].bounds(MAX_STEPS), description=_STEPS_DESCRIPTION
    )
    guidance_scale: float | None = Field(None, **PARAMS["guidance_scale"].bounds())
    seed: int | None = Field(None, **PARAMS["seed"].bounds())
    model: str | None = Field(None, max_length=200)
    plan_layout: bool | None = Field(
        None,
        description="Two-stage text-to-image models: null inpaints the prompt's plan in the cells "
        "the mask opens (img2img: from the text); false draws from the text alone; true also "
        "plans an img2img edit.",
    )
    layout_temperature: float | None = _LAYOUT_TEMPERATURE

    @model_validator(mode="after")
    def _mask_or_strength(self):
        if self.mask is None and self.strength is None:
            raise ValueError("give a mask (inpainting) or a strength (img2img), or both")
        return self


class AgentRequest(_Strict):
    """A request for the agent, which plans, generates, checks and refines."""

    request: Prompt = Field(min_length=1, max_length=TEXT_LIMIT)
    backend: str = Field(
        "offline",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="An agent backend this server offers (GET /api/health lists them): offline, "
        "anthropic, openai, or one its operator configured. Endpoints and keys are the "
        "operator's; a request cannot give them.",
    )
    options: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description="Backend options: model (the LLM's), image_model, max_rounds, max_steps, "
        "seed, steps, guidance, num_candidates, max_images, fast (true: candidates drawn by the "
        "distilled few-step model, when the server offers it).",
        max_length=20,
    )


class OpenAIImageRequest(BaseModel):
    """The body of OpenAI's `POST /v1/images/generations` (fields genlab has no use for are ignored)."""

    model_config = ConfigDict(extra="allow")

    prompt: Prompt = Field(min_length=1, max_length=TEXT_LIMIT)
    model: str | None = Field(None, max_length=200)
    n: int = Field(1, **PARAMS["num_images"].bounds(MAX_IMAGES))
    size: str | None = Field(
        None, pattern=r"^(auto|\d{1,4}x\d{1,4})$", description="WIDTHxHEIGHT or auto."
    )
    response_format: Literal["b64_json", "url"] | None = "b64_json"
