"""Hosted image APIs behind genlab's pipeline call: OpenAI Images (gpt-image, dall-e) through the
`openai` client and Stability's Stable Image API through httpx, with retries and clear errors.

Keys come from environment variables named in the model's configuration; a key's value is never
logged, stored in metadata or history, or put in an error message.
"""

from __future__ import annotations

import base64
import io
import os
import time
from typing import Any

from PIL import Image

from genlab.errors import GenlabError, InvalidArgument, remote_error_summary
from genlab.pipelines.base import (
    ContractPipeline,
    GenerationResult,
    SamplingArgs,
    diffusers_call,
)

# Sizes and image counts each OpenAI model accepts (from the Images API reference).
OPENAI_MODELS: dict[str, dict[str, Any]] = {
    "gpt-image-1": {
        "sizes": ("1024x1024", "1536x1024", "1024x1536", "auto"),
        "max_n": 10,
        "edit": True,
    },
    "gpt-image-1-mini": {
        "sizes": ("1024x1024", "1536x1024", "1024x1536", "auto"),
        "max_n": 10,
        "edit": True,
    },
    "dall-e-3": {"sizes": ("1024x1024", "1792x1024", "1024x1792"), "max_n": 1, "edit": False},
    "dall-e-2": {"sizes": ("256x256", "512x512", "1024x1024"), "max_n": 10, "edit": True},
}
STABILITY_MODELS = ("core", "ultra", "sd3")
STABILITY_ASPECTS = ("1:1", "16:9", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")


class HostedAPIError(GenlabError):
    """The hosted service refused or failed the request; the message summarises its answer
    (status and error code, never its free text: that reaches job errors and history)."""


def _api_key(env_var: str, api_key: str | None) -> str:
    key = api_key or os.environ.get(env_var)
    if not key:
        raise GenlabError(f"api key: set the environment variable {env_var} (no key found)")
    return key


def _png_bytes(image: Image.Image, mode: str = "RGBA") -> bytes:
    buf = io.BytesIO()
    image.convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def _size_text(height: int | None, width: int | None, default: str) -> str:
    if height is None and width is None:
        return default
    if height is None or width is None:
        raise InvalidArgument("height/width", "both or neither", (height, width))
    return f"{width}x{height}"


class HostedImages(ContractPipeline):
    """What the hosted APIs share: the pipeline call (ContractPipeline's, one prompt at a time;
    the API's own options, such as Stability's `aspect_ratio`, pass as keywords) and `edit`, the
    metadata of what they answer, and no device. A subclass asks its API in `_generate` and
    `_edit`."""

    one_prompt = True
    name = ""
    backend = ""  # the metadata's "backend"

    def to(self, device):
        """A hosted model runs on its service: nothing moves (for code that calls `pipe.to`)."""
        return self

    @diffusers_call
    def edit(
        self,
        image: Image.Image,
        prompt: str,
        mask: Image.Image | None = None,
        strength: float | None = None,
        negative_prompt: str | None = None,
        seed: int | None = None,
        **_: Any,
    ) -> GenerationResult:
        """Edit `image` towards `prompt` where `mask` is white (the subclass says what it takes)."""
        return self._edit(image, prompt, mask, strength, negative_prompt, seed)

    def _check_mask(self, image: Image.Image, mask: Image.Image) -> None:
        if mask.size != image.size:
            raise InvalidArgument("mask", f"the image's size {image.size}", mask.size)

    def _result(
        self, images: list[Image.Image], metadata: list[dict[str, Any]]
    ) -> GenerationResult:
        """The images with their metadata, each also naming the model and its size."""
        metadata = [
            dict(meta, model=self.name, backend=self.backend, height=im.height, width=im.width)
            for im, meta in zip(images, metadata)
        ]
        return GenerationResult(images=images, metadata=metadata)


class OpenAIImages(HostedImages):
    """OpenAI's Images API (or any server that speaks it, via `base_url`).

    Negative prompts and seeds are not part of this API: a negative prompt is refused rather than
    silently dropped, and metadata records `seed: None` (outputs are not reproducible).
    """

    backend = "openai"

    def __init__(
        self,
        model: str = "gpt-image-1",
        *,
        api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        name: str | None = None,
        quality: str | None = None,
    ):
        import openai  # optional: the agent extra (the OpenAI SDK)

        self.model = model
        self.name = name or f"openai:{model}"
        self.quality = quality
        self.base_url = base_url
        self._limits = OPENAI_MODELS.get(model, {"sizes": None, "max_n": 10, "edit": True})
        # the client retries 429 and 5xx with exponential backoff, honouring Retry-After
        self.client = openai.OpenAI(
            api_key=_api_key(api_key_env, api_key),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    def capabilities(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "image": True,
            "video": False,
            "edit": self._limits["edit"],
            "negative_prompt": False,
            "sizes": list(self._limits["sizes"] or []),
            "max_n": self._limits["max_n"],
        }

    def _check(self, size: str, n: int) -> None:
        if self._limits["sizes"] and size not in self._limits["sizes"]:
            raise InvalidArgument(
                "size", f"one of {', '.join(self._limits['sizes'])} for {self.model}", size
            )
        if n > self._limits["max_n"]:
            raise InvalidArgument(
                "num_images", f"at most {self._limits['max_n']} for {self.model}", n
            )

    def _call(self, fn, **kwargs):
        import openai  # optional: the agent extra (the OpenAI SDK)

        where = self.base_url or "the OpenAI API"
        try:
            return fn(**kwargs)
        except openai.AuthenticationError:
            raise HostedAPIError(f"{self.name}: the key was refused by {where} (401)") from None
        except openai.RateLimitError as e:
            raise HostedAPIError(
                f"{self.name}: rate limited by {where} after retries: {_openai_summary(e)}"
            ) from None
        except openai.BadRequestError as e:
            code = getattr(e, "code", None) or ""
            kind = (
                "content policy"
                if "content_policy" in str(code) or "safety" in str(code)
                else "bad request"
            )
            raise HostedAPIError(f"{self.name}: refused ({kind}): {_openai_summary(e)}") from None
        except openai.APIConnectionError:
            raise HostedAPIError(f"{self.name}: cannot reach {where}") from None
        except openai.APIStatusError as e:
            raise HostedAPIError(f"{self.name}: {where} answered {_openai_summary(e)}") from None

    def _answer(self, response, params: dict[str, Any]) -> GenerationResult:
        images, meta = [], []
        for item in response.data:
            if getattr(item, "b64_json", None):
                image = Image.open(io.BytesIO(base64.b64decode(item.b64_json))).convert("RGB")
            elif getattr(item, "url", None):
                import httpx  # optional: the serve and agent extras

                image = Image.open(io.BytesIO(httpx.get(item.url, timeout=60).content)).convert(
                    "RGB"
                )
            else:
                raise HostedAPIError(f"{self.name}: the response held no image data")
            images.append(image)
            meta.append(dict(params, revised_prompt=getattr(item, "revised_prompt", None)))
        return self._result(images, meta)

    def _generate(self, args: SamplingArgs, height, width, **_) -> GenerationResult:
        prompt, negative_prompt, num_images = args.prompts[0], args.negative_prompt, args.num_images
        if negative_prompt:
            raise InvalidArgument(
                "negative_prompt",
                f"not supported by {self.model}; describe what you want instead",
                negative_prompt,
            )
        size = _size_text(height, width, "1024x1024")
        self._check(size, num_images)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "n": num_images,
            "size": size,
        }
        if not self.model.startswith("gpt-image"):
            kwargs["response_format"] = "b64_json"  # gpt-image models always answer with base64
        if self.quality:
            kwargs["quality"] = self.quality
        response = self._call(self.client.images.generate, **kwargs)
        params = {
            "prompt": prompt,
            "negative_prompt": None,
            "seed": None,
            "size": size,
            "num_inference_steps": None,
            "guidance_scale": None,
            "sampler": None,
        }
        return self._answer(response, params)

    def _edit(self, image, prompt, mask, strength, negative_prompt, seed) -> GenerationResult:
        """Edit with a mask (white = repaint, sent as transparent pixels as the API expects);
        a negative prompt is not part of this API's edits and is left."""
        if not self._limits["edit"]:
            raise InvalidArgument(
                "model",
                f"a model that edits ({', '.join(m for m, v in OPENAI_MODELS.items() if v['edit'])})",
                self.model,
            )
        if strength is not None:
            raise InvalidArgument(
                "strength", f"not supported by {self.model}; give a mask", strength
            )
        files: dict[str, Any] = {"image": ("image.png", _png_bytes(image), "image/png")}
        if mask is not None:
            self._check_mask(image, mask)
            # OpenAI's mask: fully transparent where the image should be repainted
            alpha = mask.convert("L").point(lambda v: 0 if v >= 128 else 255)
            rgba = Image.new("RGBA", mask.size, (0, 0, 0, 255))
            rgba.putalpha(alpha)
            files["mask"] = ("mask.png", _png_bytes(rgba), "image/png")
        kwargs: dict[str, Any] = {"model": self.model, "prompt": prompt, "image": files["image"]}
        if "mask" in files:
            kwargs["mask"] = files["mask"]
        response = self._call(self.client.images.edit, **kwargs)
        return self._answer(response, {"prompt": prompt, "seed": None, "edit": "inpaint"})


def _openai_summary(e) -> str:
    return remote_error_summary(e.status_code, getattr(e, "body", None))


class StabilityImages(HostedImages):
    """Stability AI's Stable Image API (v2beta) through httpx: generate (core, ultra, sd3) and inpaint."""

    backend = "stability"

    def __init__(
        self,
        model: str = "core",
        *,
        api_key_env: str = "STABILITY_API_KEY",
        api_key: str | None = None,
        base_url: str = "https://api.stability.ai",
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        name: str | None = None,
    ):
        if model not in STABILITY_MODELS:
            raise InvalidArgument("model", "one of " + ", ".join(STABILITY_MODELS), model)
        self.model = model
        self.name = name or f"stability:{model}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._key = _api_key(api_key_env, api_key)

    def capabilities(self) -> dict[str, Any]:
        return {
            "backend": "stability",
            "image": True,
            "video": False,
            "edit": True,
            "negative_prompt": True,
            "sizes": [f"aspect {a}" for a in STABILITY_ASPECTS],
        }

    def _post(self, path: str, data: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        import httpx  # optional: the serve and agent extras

        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        files = files or {"none": ("", b"")}  # the API wants multipart even without files
        for attempt in range(self.max_retries + 1):
            try:
                r = httpx.post(url, headers=headers, data=data, files=files, timeout=self.timeout)
            except httpx.TransportError:
                if attempt < self.max_retries:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                raise HostedAPIError(f"{self.name}: cannot reach {self.base_url}") from None
            retryable = r.status_code == 429 or r.status_code >= 500
            if retryable and attempt < self.max_retries:
                retry_after = r.headers.get("retry-after")
                delay = (
                    float(retry_after)
                    if retry_after and retry_after.isdigit()
                    else self.backoff * 2**attempt
                )
                time.sleep(min(delay, 30.0))
                continue
            if r.status_code != 200:
                raise HostedAPIError(
                    f"{self.name}: {self.base_url} answered {_stability_summary(r)}"
                )
            body = r.json()
            if body.get("finish_reason") == "CONTENT_FILTERED":
                raise HostedAPIError(
                    f"{self.name}: refused (content filter): the output was filtered"
                )
            return body
        raise AssertionError("unreachable")

    def _image(self, body: dict[str, Any]) -> Image.Image:
        if not body.get("image"):
            raise HostedAPIError(f"{self.name}: the response held no image data")
        return Image.open(io.BytesIO(base64.b64decode(body["image"]))).convert("RGB")

    def _generate(
        self, args: SamplingArgs, height, width, aspect_ratio: str = "1:1", **_
    ) -> GenerationResult:
        """`aspect_ratio` (one of STABILITY_ASPECTS) instead of height and width."""
        prompt, negative_prompt, seed = args.prompts[0], args.negative_prompt, args.seed
        if aspect_ratio not in STABILITY_ASPECTS:
            raise InvalidArgument(
                "aspect_ratio", "one of " + ", ".join(STABILITY_ASPECTS), aspect_ratio
            )
        if height is not None or width is not None:
            raise InvalidArgument(
                "height/width",
                f"unset for {self.name}: it takes aspect_ratio instead",
                (height, width),
            )
        images, meta = [], []
        for i in range(args.num_images):
            data: dict[str, Any] = {
                "prompt": prompt,
                "aspect_ratio": aspect_ratio,
                "output_format": "png",
            }
            if negative_prompt:
                data["negative_prompt"] = negative_prompt
            if seed is not None:
                data["seed"] = str(seed + i)
            if self.model == "sd3" and args.guidance_scale is not None:
                data["cfg_scale"] = str(args.guidance_scale)
            body = self._post(f"/v2beta/stable-image/generate/{self.model}", data, {})
            images.append(self._image(body))
            meta.append(
                {
                    "prompt": prompt,
                    "negative_prompt": negative_prompt,
                    "seed": body.get("seed", data.get("seed")),
                    "aspect_ratio": aspect_ratio,
                }
            )
        return self._result(images, meta)

    def _edit(self, image, prompt, mask, strength, negative_prompt, seed) -> GenerationResult:
        """Inpaint where `mask` is white."""
        if mask is None:
            raise InvalidArgument("mask", f"a mask: {self.name} edits by inpainting", None)
        self._check_mask(image, mask)
        files = {
            "image": ("image.png", _png_bytes(image, "RGB"), "image/png"),
            "mask": ("mask.png", _png_bytes(mask, "L"), "image/png"),
        }
        data: dict[str, Any] = {"prompt": prompt, "output_format": "png"}
        if negative_prompt:
            data["negative_prompt"] = negative_prompt
        if seed is not None:
            data["seed"] = str(seed)
        body = self._post("/v2beta/stable-image/edit/inpaint", data, files)
        meta = {
            "prompt": prompt,
            "negative_prompt": negative_prompt,
            "seed": body.get("seed", seed),
            "edit": "inpaint",
        }
        return self._result([self._image(body)], [meta])


def _stability_summary(r) -> str:
    try:
        body = r.json()
    except ValueError:
        body = None
    return remote_error_summary(r.status_code, body)
