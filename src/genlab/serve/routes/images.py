"""REST images: queue a generation or an edit, serve a stored file and its record, take an upload."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from genlab.errors import InvalidArgument, NotFound
from genlab.history import HistoryStore
from genlab.pipelines.request import JSON
from genlab.serve.engine import decode_image_data, describe_record, new_seed, open_image_bytes
from genlab.serve.jobs import accepted_view
from genlab.serve.schemas import ID_RE, EditRequest, GenerateRequest
from genlab.serve.security import inside

MEDIA_TYPES = {
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
}


def router(server) -> APIRouter:
    api = APIRouter()
    history, catalog, queue = server.history, server.catalog, server.queue

    @api.post("/api/generate", status_code=202, tags=["jobs"])
    async def generate(body: GenerateRequest):
        """Queue a generation; answers with the job id at once (429 + Retry-After if full)."""
        params = body.model_dump()
        params["model"] = catalog.resolve(body.model)
        catalog.check(params["model"], body.generation())
        if params["num_inference_steps"] is None:  # the model's own, recorded with the job
            params["num_inference_steps"] = catalog.default_steps(params["model"])
        params["keyframe_model"] = catalog.check_keyframe(params["model"], body.keyframe_model)
        if params["keyframe_model"] is None:
            del params["keyframe_candidates"]  # nothing to choose among: not a parameter here
        params["seed"] = body.seed if body.seed is not None else new_seed()
        job = await asyncio.to_thread(server.submit, "generate", params)
        return accepted_view(queue, job)

    @api.post("/api/edit", status_code=202, tags=["jobs"])
    async def edit(body: EditRequest):
        """Queue an edit of a stored image: inpaint under a mask, or img2img with a strength."""
        params = body.model_dump()
        params["model"] = catalog.resolve(body.model)
        request = body.generation()
        request.check_model(catalog.abilities(params["model"]), JSON)
        if params["num_inference_steps"] is None:  # the model's own, recorded with the job
            params["num_inference_steps"] = catalog.default_steps(params["model"])
        params["seed"] = body.seed if body.seed is not None else new_seed()
        record = image_record(history, body.image_id)
        catalog.check_prompt(params["model"], body.prompt)  # after the image: an unknown id is 404
        if record.kind != "image":
            raise InvalidArgument("image_id", "the id of an image (not a video)", body.image_id)
        if body.mask:
            decode_image_data(body.mask, "mask")  # refuse a broken mask now, not in the worker
        job = await asyncio.to_thread(server.submit, "edit", params)
        return accepted_view(queue, job)

    @api.get(
        "/api/images/{image_id}",
        tags=["history"],
        responses={200: {"content": {"image/png": {}}, "description": "The file."}},
    )
    async def image_file(image_id: str):
        """The stored file (`/api/images/ID` or `/api/images/ID.png`, as its `url` says), with its
        generation parameters in the X-Genlab-Params header (and, for PNGs, inside the file's
        `genlab` text chunk)."""
        image_id, dot, extension = image_id.partition(".")
        record = image_record(history, image_id)
        path = inside(history.images_dir, record.path)
        if path is None or (dot and f".{extension.lower()}" != path.suffix.lower()):
            # a row pointing outside the images folder is never served; nor a wrong extension
            raise NotFound(f"image: no file for image {image_id!r}")
        params = json.dumps(describe_record(record)["params"], sort_keys=True, default=str)
        return FileResponse(
            path,
            media_type=MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"),
            headers={"X-Genlab-Params": params, "Cache-Control": "private, max-age=86400"},
            filename=download_name(record, path.suffix.lower()),
            content_disposition_type="inline",
        )

    @api.get("/api/images/{image_id}/info", tags=["history"])
    async def image_info(image_id: str):
        """An image's record: prompt, seed, model, every parameter, the image it was edited from."""
        return describe_record(image_record(history, image_id))

    @api.post("/api/images", status_code=201, tags=["history"])
    async def upload_image(file: UploadFile = File(...)):
        """Add an image of your own (PNG/JPEG/WebP, ≤ 1024 px a side) so that it can be edited."""
        raw = await file.read()
        image = await asyncio.to_thread(open_image_bytes, raw, "file")
        # The client's filename is kept only as text: it never becomes part of a path.
        name = Path(file.filename or "upload").name[:100]
        record = await asyncio.to_thread(
            history.add_image,
            image.convert("RGB"),
            {"prompt": "", "source": "upload", "filename": name},
        )
        return describe_record(record)

    return api


def image_record(history: HistoryStore, image_id: str):
    try:
        if ID_RE.match(image_id):
            return history.get_image(image_id)
    except NotFound:
        pass
    raise NotFound(f"image: no image with id {image_id!r}")  # (the database path stays private)


def download_name(record, suffix: str) -> str:
    """The file name a browser saves an image under: genlab-MODEL-seedSEED-ID.png."""
    parts = ["genlab", record.model, f"seed{record.seed}" if record.seed is not None else None]
    stem = "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts if p)
    return f"{stem}-{record.id}{suffix}"
