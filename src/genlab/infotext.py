"""Generation parameters as AUTOMATIC1111's "infotext": the `parameters` PNG text chunk that
A1111/Forge, ComfyUI's loaders, image browsers, Civitai and sd-parsers read.

    a red circle above a blue square
    Negative prompt: green
    Steps: 20, Sampler: DPM++ 2M, CFG scale: 3.0, Seed: 7, Size: 32x32, Model: world-t2i, ...

`format_infotext(params)` writes it from genlab's metadata dict (keys beyond the A1111 ones follow
as `Batch seed: 7`-style pairs); `parse_infotext(text)` reads any A1111 infotext back into that dict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# genlab sampler name -> the name A1111's sampler menu gives the same method
A1111_SAMPLERS = {
    "ddpm": "DDPM",
    "ddim": "DDIM",
    "euler": "Euler",
    "euler_a": "Euler a",
    "heun": "Heun",
    "dpmpp_2m": "DPM++ 2M",
    "lcm": "LCM",
}
_GENLAB_SAMPLERS = {v: k for k, v in A1111_SAMPLERS.items()}
# genlab key -> A1111 key, for the parameters A1111 itself writes
_A1111_KEYS = {
    "num_inference_steps": "Steps",
    "sampler": "Sampler",
    "guidance_scale": "CFG scale",
    "seed": "Seed",
    "model": "Model",
    "strength": "Denoising strength",
    "eta": "Eta",
}
_GENLAB_KEYS = {v: k for k, v in _A1111_KEYS.items()}
_NOT_WRITTEN = ("prompt", "negative_prompt", "height", "width")
# One `Key: value` pair, as A1111 reads them (modules/infotext_utils.py, re_param_code): a value
# is JSON-quoted ("...", escapes inside) or runs to the next comma; besides, as sd-parsers and
# Civitai read them, an unquoted JSON object (`Hashes: {"model": "…", "vae": "…"}`), and keys of
# one character too.
_PARAM = re.compile(r'\s*(\w[\w \-/]*):\s*("(?:\\.|[^\\"])+"|\{[^{}]*\}|[^,]*)(?:,|$)')


def format_infotext(params: Mapping[str, Any], size: tuple[int, int] | None = None) -> str:
    """The infotext of `params` (genlab metadata: prompt, negative_prompt, seed, ...).

    `size` (width, height) is the image's, used when params has no height/width."""
    lines = [str(params.get("prompt") or "")]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {params['negative_prompt']}")
    pairs: list[tuple[str, Any]] = []
    for key in ("num_inference_steps", "sampler", "guidance_scale", "seed"):
        if params.get(key) is not None:
            value = params[key]
            if key == "sampler":
                value = A1111_SAMPLERS.get(value, value)
            pairs.append((_A1111_KEYS[key], value))
    width, height = params.get("width"), params.get("height")
    if (width is None or height is None) and size is not None:
        width, height = size
    if width is not None and height is not None:
        pairs.append(("Size", f"{width}x{height}"))
    if params.get("model") is not None:
        pairs.append(("Model", params["model"]))
    for key, value in params.items():
        if key in _NOT_WRITTEN or key in ("num_inference_steps", "guidance_scale", "seed"):
            continue
        if key in ("sampler", "model"):
            continue
        if value is None:
            continue
        pairs.append((_A1111_KEYS.get(key) or key.replace("_", " ").capitalize(), value))
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in pairs))
    return "\n".join(lines)


def parse_infotext(text: str) -> dict[str, Any]:
    """An infotext (genlab's or A1111's) as a genlab metadata dict: prompt, negative_prompt,
    num_inference_steps, sampler (genlab's name when it has one), guidance_scale, seed, width,
    height, model, and every other pair as `lower_snake_case` keys."""
    lines = text.strip().split("\n")
    last = lines[-1] if lines else ""
    pairs = _PARAM.findall(last)
    if len(pairs) < 3:  # A1111's rule: a last line with fewer than 3 pairs is still prompt text
        pairs, body = [], lines
    else:
        body = lines[:-1]
    prompt_lines, negative_lines, in_negative = [], [], False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    out: dict[str, Any] = {"prompt": "\n".join(prompt_lines).strip()}
    out["negative_prompt"] = "\n".join(negative_lines).strip() or None
    for key, raw in pairs:
        value = _unquote(raw.strip())
        if key == "Size":
            match = re.fullmatch(r"(\d+)x(\d+)", str(value))
            if match:
                out["width"], out["height"] = int(match[1]), int(match[2])
            continue
        name = _GENLAB_KEYS.get(key) or key.strip().lower().replace(" ", "_").replace("-", "_")
        if name == "sampler":
            value = _GENLAB_SAMPLERS.get(value, value)
        if name == "guidance_scale" and isinstance(value, int):
            value = float(value)
        out[name] = value
    return out


def _quote(value: Any) -> str:
    """A value as A1111 writes it: plain, or JSON-quoted when it holds a comma, colon or newline
    (A1111's `quote`: `Key: "value, with comma"`, non-ASCII letters as they are). Non-strings are
    written as JSON, and a string that would read back as a number or a boolean is quoted, so
    that every value reads back with its type."""
    if isinstance(value, str):
        text = value
        try:
            json.loads(value)
            reads_as_other = True
        except ValueError:
            reads_as_other = False
        if reads_as_other or any(c in text for c in ',:\n"'):
            return json.dumps(text, ensure_ascii=False)
        return text
    text = json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in ",:\n") else text


def _unquote(raw: str) -> Any:
    if raw.startswith("{"):  # an unquoted JSON object (Civitai's "Hashes")
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if raw.startswith('"'):
        try:
            text = json.loads(raw)
        except ValueError:
            return raw
        if text[:1] in ("[", "{"):  # a list or dict genlab wrote as quoted JSON
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
    try:
        return json.loads(raw)
    except ValueError:
        return raw
