"""OpenAI's Images API on genlab's models, as the official `openai` client calls it (base_url
pointing here): `GET /v1/models`, `POST /v1/images/generations`, `/v1/images/edits` (image + mask
-> inpainting) and `/v1/images/variations` (img2img of the image's own prompt). Errors come in the
API's shape, `{"error": {"message", "type", "param", "code"}}`, with its status codes.

Every image goes through the server's queue and history: `b64_json` is the stored file's bytes,
the same PNG (with its `genlab` and A1111 `parameters` chunks) that `url` and /api/images serve.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from genlab.errors import GenlabError, InvalidArgument, NotFound, StorageError
from genlab.infotext import parse_infotext
from genlab.io import INFOTEXT_KEY, PARAMS_KEY, fit_image
from genlab.pipelines.request import PARAMS
from genlab.serve.engine import drawing_size, new_seed, open_image_bytes
from genlab.serve.jobs import QueueFull
from genlab.serve.schemas import MAX_IMAGES, TEXT_LIMIT, OpenAIImageRequest
from genlab.serve.security import scrub_paths
from genlab.world import caption, parse_image

# The sizes OpenAI documents (dall-e-2: the square ones; dall-e-3: 1792x1024 and 1024x1792;
# gpt-image: 1536x1024 and 1024x1536) and "auto"; other WIDTHxHEIGHT within the sides are taken.
OPENAI_SIZES = (
    "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792",
)  # fmt: skip
MIN_SIDE, MAX_SIDE = 16, 1792
QUALITIES = ("auto", "standard", "hd", "low", "medium", "high")
STYLES = ("vivid", "natural")
JOB_TIMEOUT = 600.0  # seconds one request may wait for its images
# How far a variation re-noises the image (img2img strength): the largest strength whose
# variations of 40 rendered world scenes still show the same scene (scene parser) in ≥ 90%:
# 0.4 0.975, 0.45 0.975, 0.5 0.925, 0.55 0.925, 0.6 0.825 with world-t2i, 20 steps
# (benchmarks/openai_variations.py; benchmarks/results/openai_variations.json).
VARIATION_STRENGTH = 0.55


class OpenAIError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, param=None, type_="invalid_request_error",
                 code=None, headers=None):  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.type, self.code, self.headers = type_, code, headers


def openai_error(status: int, message: str, param: str | None, type_: str, headers=None, code=None):
    """OpenAI's error body (`error.message`, `.type`, `.param`, `.code`), plus FastAPI's `detail`
    for clients of the rest of this server."""
    body: dict[str, Any] = {
        "error": {"message": message, "type": type_, "param": param, "code": code},
        "detail": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def parse_size(size: str | None, native: tuple[int, int]) -> tuple[int, int]:
    """OpenAI's "WIDTHxHEIGHT" (each side MIN_SIDE..MAX_SIDE), or "auto"/None: `native`."""
    if size in (None, "auto"):
        return native
    expected = f"auto, one of {', '.join(OPENAI_SIZES)}, or WIDTHxHEIGHT with sides in {MIN_SIDE}..{MAX_SIDE}"
    try:
        width, height = (int(v) for v in str(size).split("x"))
    except ValueError:
        raise InvalidArgument("size", expected, size) from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidArgument("size", expected, size)
    return width, height


class ImagesGenerateBody(OpenAIImageRequest):
    """`POST /v1/images/generations`: OpenAI's fields; quality and style are accepted and
    recorded (genlab's models have one quality; the server's --openai-steps sets the steps, else
    each model's own)."""

    model_config = ConfigDict(extra="allow")

    quality: Literal[QUALITIES] | None = None  # type: ignore[valid-type]
    style: Literal[STYLES] | None = None  # type: ignore[valid-type]
    user: str | None = Field(None, max_length=200)


class _FormFields(BaseModel):
    """The text fields of the multipart edits and variations requests."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = Field(None, min_length=1, max_length=TEXT_LIMIT)
    model: str | None = Field(None, max_length=200)
    n: int = Field(1, **PARAMS["num_images"].bounds(MAX_IMAGES))
    size: str | None = Field(None, pattern=r"^(auto|\d{1,4}x\d{1,4})$")
    response_format: Literal["b64_json", "url"] | None = "b64_json"
    quality: Literal[QUALITIES] | None = None  # type: ignore[valid-type]
    user: str | None = Field(None, max_length=200)


def openai_router(server) -> APIRouter:
    api = APIRouter()
    catalog = server.catalog

    @api.get("/v1/models", tags=["openai"])
    async def list_models():
        """The models a request may name, as OpenAI lists them."""
        return {"object": "list", "data": [_model_object(name) for name in catalog.entries]}

    @api.get("/v1/models/{model_id}", tags=["openai"])
    async def retrieve_model(model_id: str):
        if model_id not in catalog.entries:
            return openai_error(
                404, f"The model '{model_id}' does not exist", "model", "invalid_request_error",
                code="model_not_found",
            )  # fmt: skip
        return _model_object(model_id)

    @api.post("/v1/images/generations", tags=["openai"], openapi_extra=_body(ImagesGenerateBody))
    async def images_generations(request: Request):
        """Generate like OpenAI's Images API: `n` images of `size` (drawn at that aspect by
        models that can, else cropped to it; then scaled), as b64_json or url. A model name
        this server does not know (e.g. dall-e-3) means its default model."""

        async def run():
            body = _validated(ImagesGenerateBody, await _json(request))
            model = _model(body.model)
            size = parse_size(body.size, (0, 0))
            params = _params(
                body.prompt, model, body.n, size, quality=body.quality, style=body.style
            )
            catalog.check_prompt(model, body.prompt)  # a world model refuses what it cannot read
            return await _run(server, "generate", params, body.response_format, request)

        return await _answer(run)

    @api.post(
        "/v1/images/edits", tags=["openai"], openapi_extra=_body(_FormFields, "image", "mask")
    )
    async def images_edits(request: Request):
        """Inpaint like OpenAI's image edits: multipart `image` (PNG) and `prompt`; the `mask`
        (or, without one, the image itself) is transparent where the image is to change."""

        async def run():
            form = await request.form()
            fields = _validated(_FormFields, _text_fields(form))
            if fields.prompt is None:
                raise OpenAIError(400, "prompt: a prompt is required", "prompt")
            image = await _image_field(form, ("image", "image[]"), "image")
            mask_file = form.get("mask")
            mask = await _image_field(form, ("mask",), "mask") if mask_file is not None else image
            if mask.size != image.size:
                raise OpenAIError(
                    400, f"mask: must be the image's size {image.width}x{image.height}, "
                    f"got {mask.width}x{mask.height}", "mask",
                )  # fmt: skip
            repaint = _transparent(mask)
            if repaint is None:
                raise OpenAIError(
                    400, "mask: give a mask (or an image) with transparent pixels where to edit",
                    "mask",
                )  # fmt: skip
            model = _model(fields.model)
            catalog.check_prompt(model, fields.prompt)
            size = parse_size(fields.size, image.size)
            source = await _source(server, model, image, size, "openai-edit")
            params = _params(fields.prompt, model, fields.n, size, quality=fields.quality)
            params.update(image_id=source.id, mask=_png_b64(repaint), strength=None)
            return await _run(server, "edit", params, fields.response_format, request)

        return await _answer(run)

    @api.post("/v1/images/variations", tags=["openai"], openapi_extra=_body(_FormFields, "image"))
    async def images_variations(request: Request):
        """Variations like OpenAI's: img2img of `image` (strength VARIATION_STRENGTH) towards
        its own prompt: the one it carries (genlab's or an A1111 chunk), else for a world image
        the scene parser's caption of it."""

        async def run():
            form = await request.form()
            fields = _validated(_FormFields, _text_fields(form))
            raw = await _file_bytes(form, ("image",), "image")
            image = open_image_bytes(raw, "image").convert("RGB")
            prompt = _own_prompt(raw, image)
            model = _model(fields.model)
            size = parse_size(fields.size, image.size)
            source = await _source(server, model, image, size, "openai-variation")
            params = _params(prompt, model, fields.n, size)
            params.update(image_id=source.id, mask=None, strength=VARIATION_STRENGTH)
            return await _run(server, "edit", params, fields.response_format, request)

        return await _answer(run)

    def _model(name: str | None) -> str:
        # OpenAI's own model names (dall-e-3, gpt-image-1) mean this server's default model
        return catalog.resolve(name if name in catalog.entries else None)

    def _model_object(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": "genlab"}

    def _params(prompt, model, n, size, **openai_fields) -> dict[str, Any]:
        params = {
            "prompt": prompt,
            "negative_prompt": None,
            "num_inference_steps": server.config.openai_steps or catalog.default_steps(model),
            "guidance_scale": None,
            "sampler": None,
            "seed": new_seed(),
            "num_images": n,
            "model": model,
        }
        if size != (0, 0):  # (0, 0): "auto", the model's own size
            params["output_size"] = list(size)
        params.update({f"openai_{k}": v for k, v in openai_fields.items() if v is not None})
        return params

    return api


# --------------------------------------------------------------------------- helpers


def _body(model: type[BaseModel], *files: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that validates `model` itself (to answer in OpenAI's
    error shape): JSON, or multipart with `files` as binary parts."""
    schema = model.model_json_schema()
    if not files:
        return {
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        }
    for name in files:
        schema["properties"][name] = {"type": "string", "format": "binary"}
    schema["required"] = [files[0]]
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


async def _answer(run) -> JSONResponse | dict:
    """Run a route body; every failure becomes an error in OpenAI's shape."""
    try:
        return await run()
    except OpenAIError as e:
        return openai_error(e.status, e.message, e.param, e.type, e.headers, e.code)
    except QueueFull as e:
        return openai_error(
            429, str(e), None, "rate_limit_error", headers={"Retry-After": str(e.retry_after)}
        )
    except InvalidArgument as e:
        return openai_error(400, str(e), e.name, "invalid_request_error")
    except StorageError as e:  # the server's disk: 503, or 507 when full
        return openai_error(507 if e.full else 503, scrub_paths(str(e)), None, "server_error")
    except NotFound as e:
        return openai_error(404, str(e), None, "invalid_request_error")
    except GenlabError as e:
        return openai_error(400, str(e), None, "invalid_request_error")


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise OpenAIError(400, "the body is not valid JSON", None) from None


def _validated(model: type[BaseModel], data) -> BaseModel:
    """`data` as `model`; the first problem as OpenAI's 400 naming the parameter."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        param = ".".join(str(x) for x in first["loc"]) or None
        raise OpenAIError(400, f"{param}: {first['msg']}", param) from None


def _text_fields(form) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


async def _file_bytes(form, names: tuple[str, ...], param: str) -> bytes:
    for name in names:
        value = form.get(name)
        if isinstance(value, UploadFile):
            return await value.read()
        if value is not None:
            raise OpenAIError(400, f"{param}: expected a file upload", param)
    raise OpenAIError(400, f"{param}: a file is required", param)


async def _image_field(form, names: tuple[str, ...], param: str) -> Image.Image:
    raw = await _file_bytes(form, names, param)
    return await asyncio.to_thread(open_image_bytes, raw, param)


def _transparent(image: Image.Image) -> Image.Image | None:
    """genlab's mask (white = repaint) of the pixels OpenAI's mask marks: the transparent ones
    (alpha < 128); None when there are none."""
    if "A" not in image.getbands() and not (image.mode == "P" and "transparency" in image.info):
        return None
    alpha = image.convert("RGBA").getchannel("A")
    mask = alpha.point(lambda a: 255 if a < 128 else 0)
    return mask if mask.getbbox() else None


def _png_b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _own_prompt(raw: bytes, image: Image.Image) -> str:
    """The prompt an image carries (genlab's JSON or A1111 infotext), else the scene parser's
    caption of it (the built-in world's images), else "" (an unconditional variation)."""
    with Image.open(io.BytesIO(raw)) as im:
        chunks = dict(getattr(im, "text", {}) or {})
    try:
        if chunks.get(PARAMS_KEY):
            return str(json.loads(chunks[PARAMS_KEY]).get("prompt") or "")
        if chunks.get(INFOTEXT_KEY):
            return parse_infotext(chunks[INFOTEXT_KEY])["prompt"]
    except (ValueError, AttributeError):
        pass

    try:
        scene = parse_image(image).to_scene()
    except GenlabError:
        scene = None
    return caption(scene) if scene is not None else ""


async def _source(server, model: str, image: Image.Image, size, origin: str):
    """Store the image to edit, at the size the model draws the output's aspect (as a
    generation would draw it), in history: the edit job reads it from there."""
    pipe, _ = await asyncio.to_thread(server.catalog.pipeline, model)
    drawn = drawing_size(pipe, *size)
    if drawn:
        image = fit_image(image.convert("RGBA"), drawn["width"], drawn["height"])
    params = {"prompt": "", "source": origin}
    return await asyncio.to_thread(server.history.add_image, image.convert("RGB"), params)


async def _run(server, kind: str, params: dict[str, Any], response_format, request: Request):
    job = await asyncio.to_thread(server.submit, kind, params)
    deadline = time.monotonic() + JOB_TIMEOUT
    while job.status not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise OpenAIError(504, f"job {job.id} did not finish in time", None, "timeout")
        await asyncio.sleep(0.05)
    if job.status == "failed":
        if isinstance(getattr(job, "failure", None), StorageError):
            raise job.failure
        raise OpenAIError(500, scrub_paths(job.error or "generation failed"), None, "server_error")
    data = []
    # links from the operator's address (--public-url, or the bound one), never the Host header
    base = server.config.public_url
    if response_format == "url" and not base:
        raise OpenAIError(
            400,
            "response_format: url needs the server's public address (genlab serve --public-url); "
            "ask for b64_json",
            "response_format",
        )
    for result in job.results:
        # The prompt as the model read it (a world model's canonical caption), and what it
        # could not read or draw ("white is not a color of this world; ...").
        stored = result.get("params", {})
        read = {"revised_prompt": stored.get("read_as", params["prompt"])}
        if stored.get("warnings"):
            read["warnings"] = stored["warnings"]
        if response_format == "url":
            data.append({"url": f"{base}{result['url']}", **read})
            continue
        record = server.history.get_image(result["image_id"])
        raw = await asyncio.to_thread(_read_bytes, record.path)
        data.append({"b64_json": base64.b64encode(raw).decode(), **read})
    return {"created": int(time.time()), "data": data}


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()
