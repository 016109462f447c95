"""`POST /v1/images/generations`, shaped like OpenAI's Images API so that existing clients (the
`openai` package with base_url pointing here) generate with genlab's models.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from PIL import Image

from genlab.errors import InvalidArgument, StorageError
from genlab.serve.engine import new_seed
from genlab.serve.jobs import QueueFull
from genlab.serve.schemas import OpenAIImageRequest
from genlab.serve.security import scrub_paths

MAX_SIDE = 1024
JOB_TIMEOUT = 600.0  # seconds one request may wait for its images


def openai_error(status: int, message: str, param: str | None, type_: str, headers=None):
    """OpenAI's error body (`error.message`, `error.param`), plus FastAPI's `detail` for others."""
    body: dict[str, Any] = {
        "error": {"message": message, "type": type_, "param": param, "code": None},
        "detail": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _storage_error(e: StorageError):
    return openai_error(507 if e.full else 503, scrub_paths(str(e)), None, "server_error")


def parse_size(size: str | None, native: tuple[int, int]) -> tuple[int, int]:
    """OpenAI's "WIDTHxHEIGHT" (or "auto"/None for the model's own size), each side 16..1024."""
    if size in (None, "auto"):
        return native
    width, height = (int(v) for v in size.split("x"))
    for side in (width, height):
        if not 16 <= side <= MAX_SIDE:
            raise InvalidArgument(
                "size", f"WIDTHxHEIGHT with sides in 16..{MAX_SIDE} or auto", size
            )
    return width, height


def add_openai_routes(api: FastAPI, server) -> None:
    from genlab.serve.app import encode_png

    @api.post("/v1/images/generations", tags=["openai"])
    async def images_generations(body: OpenAIImageRequest):
        """Generate like OpenAI's Images API: b64_json or url per image. The model draws at its
        native resolution and the image is scaled (nearest neighbour) to `size`; a model name
        this server does not know (e.g. dall-e-3) means its default model; the number of
        denoising steps is the server's --openai-steps."""
        if body.response_format == "url" and not server.config.public_url:
            return openai_error(
                422,
                "response_format: url needs the server's public address (genlab serve "
                "--public-url); ask for b64_json",
                "response_format",
                "invalid_request_error",
            )
        try:
            parse_size(body.size, (MAX_SIDE, MAX_SIDE))
            model = body.model if body.model in server.catalog.entries else None
            params = {
                "prompt": body.prompt,
                "negative_prompt": None,
                "num_inference_steps": server.config.openai_steps,
                "guidance_scale": None,
                "sampler": None,
                "seed": new_seed(),
                "num_images": body.n,
                "model": server.catalog.resolve(model),
            }
            server.catalog.check_prompt(params["model"], body.prompt)
            job = await asyncio.to_thread(server.submit, "generate", params)
        except QueueFull as e:
            return openai_error(
                429, str(e), None, "rate_limit_error", headers={"Retry-After": str(e.retry_after)}
            )
        except InvalidArgument as e:
            return openai_error(422, str(e), e.name, "invalid_request_error")
        except StorageError as e:
            return _storage_error(e)
        deadline = time.monotonic() + JOB_TIMEOUT
        while job.status not in ("done", "failed"):
            if time.monotonic() > deadline:
                return openai_error(504, f"job {job.id} did not finish in time", None, "timeout")
            await asyncio.sleep(0.05)
        if job.status == "failed":
            if isinstance(job.failure, StorageError):
                return _storage_error(job.failure)
            error = scrub_paths(job.error or "generation failed")
            return openai_error(503, error, None, "server_error")
        data = []
        for result in job.results:
            # The prompt as the model read it (a world model's canonical caption), and what it
            # could not read or draw ("white is not a color of this world; ...").
            params = result.get("params", {})
            read = {"revised_prompt": params.get("read_as", body.prompt)}
            if params.get("warnings"):
                read["warnings"] = params["warnings"]
            if body.response_format == "url":
                # The operator's address, never the request's Host header (the client writes that).
                data.append({"url": server.config.public_url + result["url"], **read})
                continue
            record = server.history.get_image(result["image_id"])
            with Image.open(record.path) as im:
                image = im.convert("RGB")
            size = parse_size(body.size, image.size)
            if size != image.size:
                image = image.resize(size, Image.NEAREST)
            data.append({"b64_json": encode_png(image), **read})
        return {"created": int(time.time()), "data": data}
