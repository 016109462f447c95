"""`genlab generate "PROMPT"` and `genlab edit IMAGE --prompt ...`: run any loadable model and write
PNGs that carry their generation parameters (so every image can be regenerated exactly).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import re
import sys
import warnings
from pathlib import Path

from genlab.cli import add_engine_options
from genlab.cli.logs import add_progress_flag, show_progress, step_bar
from genlab.cluster import check_engine
from genlab.diffusion import SAMPLERS
from genlab.errors import GenlabError, InvalidArgument, StorageError, check_int
from genlab.history import HistoryStore
from genlab.io import load_image, read_params, save_image
from genlab.paths import DEFAULT_IMAGE_MODEL, FAST_IMAGE_MODEL, GUIDED_IMAGE_MODEL
from genlab.pipelines.base import check_device
from genlab.pipelines.batch import generate_batch, read_prompts
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.request import PARAMS, Face, GenerationRequest, ModelAbilities
from genlab.pipelines.text2image import NegativePromptIgnored, PromptTruncated, Text2ImagePipeline
from genlab.pipelines.text_diffusion import (
    COMPILE_PAYS_AFTER_IMAGE_STEPS,
    TextDiffusionPipeline,
    compile_pays,
)


def register(subparsers) -> None:
    gen = subparsers.add_parser(
        "generate",
        help="generate images from a text prompt",
        description="Generate images from a prompt and write them as PNGs with their parameters. "
        "--from-file: every prompt of a file (one a line) into --out DIR with DIR/index.jsonl "
        "(prompt → files), in this process or over Ray workers (--engine ray).",
    )
    gen.add_argument(
        "prompt", nargs="?", help="what to draw, e.g. 'a red circle above a blue square'"
    )
    gen.add_argument(
        "--from-png",
        metavar="IMAGE",
        help="regenerate IMAGE from the parameters it carries (genlab's chunk, or an A1111 "
        "'parameters' infotext); options given as well override them",
    )
    _common_options(gen)
    gen.add_argument(
        "--from-file",
        metavar="PROMPTS",
        help="a text file of prompts, one a line: --n images of each into --out DIR, named "
        "LINE-WORDS-K.png (stable), prompt i from seed + i·n, listed in DIR/index.jsonl",
    )
    add_engine_options(
        gen,
        "--from-file: draw in this process (local) or over Ray actors that each load the "
        "model once (ray: a local Ray, or the cluster at --ray-address)",
    )
    gen.add_argument("--height", help="image height in pixels (default: the model's size)")
    gen.add_argument("--width", help="image width in pixels (default: the model's size)")
    gen.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        # Default: on only where it pays. On the 2-core CPU compiling took minutes per batch
        # shape and then saved 0.036 s per image-step (compile_pays; docs/experiments/
        # 2026-12-07-compiled-cpu-sampling-2.md): a batch of thousands of images, not one call.
        help="torch.compile the denoiser first (on a CPU: the whole denoiser as one graph; inductor "
        "keeps what it built on disk for later runs). Default: only when the run draws enough "
        f"images × steps to pay the compile back ({COMPILE_PAYS_AFTER_IMAGE_STEPS:,} on a CPU, "
        "e.g. a large --from-file batch); --no-compile never. Eager again, with a warning, if "
        "compilation fails",
    )
    gen.add_argument(
        "--fast",
        action="store_true",
        help=f"draw with {FAST_IMAGE_MODEL}, {GUIDED_IMAGE_MODEL} distilled to 4 steps with "
        "its guidance folded in (about 10× faster; same as --model "
        + FAST_IMAGE_MODEL
        + ("; the default already)" if FAST_IMAGE_MODEL == DEFAULT_IMAGE_MODEL else ")"),
    )
    _layout_options(gen, "draw from the text alone, no plan")
    gen.set_defaults(func=run_generate)

    edit = subparsers.add_parser(
        "edit",
        help="edit an image: img2img (--strength) or inpainting (--mask)",
        description=(
            "Edit IMAGE towards --prompt. --strength S alone: img2img (noise the image that far, "
            "then denoise). --mask M: regenerate the white pixels of M and keep the black ones "
            "(with --strength too, start from the noised image instead of pure noise). A "
            "two-stage model inpaints its plan of the prompt in the cells the mask opens."
        ),
    )
    edit.add_argument("image", help="the image to edit (PNG, JPEG, ...)")
    edit.add_argument("--prompt", required=True, help="what the edited image should show")
    edit.add_argument(
        "--mask", help="mask image of the same size: white = regenerate, black = keep"
    )
    edit.add_argument("--strength", help="how far to noise the image, in (0, 1]; 1 = redraw fully")
    _common_options(edit)
    _layout_options(edit, "inpaint from the text alone, without placing a plan in the mask")
    edit.set_defaults(func=run_edit)


def _layout_options(p, no_layout_help: str) -> None:
    p.add_argument("--no-layout", action="store_true", help=f"a two-stage model: {no_layout_help}")
    p.add_argument(
        "--layout-temperature",
        type=float,
        default=None,
        help="a two-stage model: its planner's sampling temperature (below 1: plans nearer the "
        "most likely one; default: the model's own)",
    )


def _common_options(p) -> None:
    p.add_argument("--negative", help="negative prompt: what to steer away from")
    p.add_argument("--steps", help="denoising steps (default: the model's, 20 for diffusion)")
    p.add_argument(
        "--guidance", help="classifier-free guidance scale, 0..50 (default: the model's)"
    )
    p.add_argument(
        "--sampler",
        help="sampler: ddpm, ddim, euler, euler_a, heun, dpmpp_2m, lcm (a distilled model's; default: the model's)",
    )
    p.add_argument("--seed", help="integer seed; image i uses seed + i (default: random, recorded)")
    p.add_argument("--n", default="1", help="number of images")
    p.add_argument(
        "--model",
        default=None,
        help="bundled model name, checkpoint path or configured model (see genlab models; "
        f"default: {DEFAULT_IMAGE_MODEL})",
    )
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--out",
        default=".",
        help="output .png file (with --n > 1: FILE-0.png, FILE-1.png, ...) or directory",
    )
    p.add_argument(
        "--no-history",
        action="store_true",
        help="do not record this generation in the history (genlab history, the server's gallery)",
    )
    add_progress_flag(p)


# --------------------------------------------------------------------------- argument checks

# How the command line names a request's fields; genlab.pipelines.request checks them all.
CLI = Face(
    names={
        "num_inference_steps": "--steps",
        "guidance_scale": "--guidance",
        "seed": "--seed",
        "num_images": "--n",
        "height": "--height",
        "width": "--width",
        "negative_prompt": "--negative",
        "sampler": "--sampler",
        "num_frames": "--frames",
        "plan_layout": "--no-layout",
        "layout_temperature": "--layout-temperature",
        "keyframe_model": "--keyframe",
        "keyframe_candidates": "--keyframe-candidates",
        "strength": "--strength",
    },
    nothing="no value",
    no_layout="with --no-layout",
    scope="per command",
)
CLI_LIMITS = {"num_images": 64}  # images per command


def option(field_name: str, text, high: float | None = None):
    """A command line's text for the request field `field_name` (None: not given), parsed and
    checked by its one definition (genlab.pipelines.request.PARAMS), named as the flag."""
    return PARAMS[field_name].parse(CLI.name(field_name), text, high)


def _int(name: str, text, low: int | None = None, high: int | None = None):
    """An integer option that is not a request field (--size, --workers), checked by check_int."""
    if text is None:
        return None
    try:
        value = int(str(text), 10)
    except ValueError:
        raise InvalidArgument(name, "an integer", text) from None
    return check_int(name, value, low, high)


def _float(name: str, text, expected: str):
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgument(name, expected, text) from None
    if math.isnan(value) or math.isinf(value):
        raise InvalidArgument(name, expected, text)
    return value


def guidance(text) -> float | None:
    """--guidance, bounded like every other face's guidance_scale (0..MAX_GUIDANCE)."""
    return option("guidance_scale", text)


def generation_request(args, prompt=None) -> GenerationRequest:
    """The request a command's options give (generate, edit): each parsed and checked as the
    request type checks it, named by its flag; a random seed, recorded, when none is given."""
    seed = option("seed", args.seed)
    no_layout = getattr(args, "no_layout", False)
    return GenerationRequest(
        args.prompt if prompt is None else prompt,
        negative_prompt=args.negative,
        num_inference_steps=option("num_inference_steps", args.steps),
        guidance_scale=option("guidance_scale", args.guidance),
        sampler=args.sampler,
        seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
        num_images=option("num_images", args.n),
        height=option("height", getattr(args, "height", None)),
        width=option("width", getattr(args, "width", None)),
        plan_layout=False if no_layout else None,
        layout_temperature=option("layout_temperature", getattr(args, "layout_temperature", None)),
        face=CLI,
        limits=CLI_LIMITS,
    )


def _generation_kwargs(request: GenerationRequest) -> dict:
    """The pipeline arguments the user gave (not the prompt, nor the layout ones, which
    layout_kwargs checks against the model); others are left to the model's defaults."""
    kwargs = request.given()
    for key in ("prompt", "plan_layout", "layout_temperature"):
        kwargs.pop(key, None)
    return kwargs


def output_paths(out: str, n: int, prompt: str, seed: int) -> list[Path]:
    """Where n images go: a .png file (numbered when n > 1) or a directory (named by prompt/seed)."""
    path = Path(out)
    if path.suffix.lower() == ".png":
        if n == 1:
            return [path]
        return [path.with_name(f"{path.stem}-{i}.png") for i in range(n)]
    if path.suffix:
        raise InvalidArgument("--out", "a .png file or a directory", out)
    slug = "-".join(re.findall(r"[a-z0-9]+", prompt.lower())[:6]) or "image"
    return [path / f"{slug}-{seed + i}.png" for i in range(n)]


def _load(model: str, device: str | None):
    check_device(device, "--device")
    kwargs = {"device": device} if device else {}
    return load_pipeline(model, **kwargs)


def _write(result, paths: list[Path]) -> list[Path]:
    """Save every image with its metadata; on any failure remove what was written (no partial output)."""
    written: list[Path] = []
    try:
        for image, meta, path in zip(result.images, result.metadata, paths, strict=True):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_image(path, image, meta)
            except OSError as e:
                raise GenlabError(f"--out: cannot write {path} ({e.strerror or e})") from None
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _report_prompt_warnings(result) -> None:
    """What the world grammar could not read or the world cannot draw, one line each, once."""
    seen = dict.fromkeys(w for meta in result.metadata for w in meta.get("warnings", ()))
    for warning in seen:
        print(f"genlab: warning: {warning}", file=sys.stderr)


def _run_quietly_reporting_truncation(fn):
    """Call fn(); a PromptTruncated warning becomes one 'genlab: warning:' line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PromptTruncated)
        result = fn()
    for w in caught:
        if issubclass(w.category, PromptTruncated):
            print(f"genlab: warning: {w.message}", file=sys.stderr)
        elif issubclass(w.category, NegativePromptIgnored):
            pass  # also in the images' metadata "warnings", which _report_prompt_warnings prints
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


# --------------------------------------------------------------------------- commands


def model_abilities(name: str, pipe) -> ModelAbilities:
    """What a loaded pipeline can honour of a request: genlab's text-to-image models plan
    layouts (those with a planner) and take its samplers; for others the pipeline decides."""
    if isinstance(pipe, Text2ImagePipeline):
        planner = pipe.layout_planner is not None
        return ModelAbilities(name, "text2image", planner, tuple(SAMPLERS), pipe.folded_guidance)
    if getattr(pipe, "plans_layouts", False):  # the grammar's plan (world-vq-ar): --no-layout
        return ModelAbilities(name, "text2image")
    return ModelAbilities(name, getattr(pipe, "kind", None) or "other")


def layout_kwargs(pipe, args) -> dict:
    """The pipeline arguments of --no-layout and --layout-temperature (generate, edit, eval),
    checked against the model by the request's own check (genlab.pipelines.request)."""
    temperature = option("layout_temperature", args.layout_temperature)
    request = GenerationRequest(
        "-",  # (only the layout fields are checked here)
        plan_layout=False if args.no_layout else None,
        layout_temperature=temperature,
        face=CLI,
    )
    request.check_model(model_abilities(args.model, pipe), CLI)
    if temperature is not None:
        return {"layout_temperature": temperature}
    return {"plan_layout": False} if args.no_layout else {}


# the options --from-png fills from a PNG's parameters when they are not given
_FROM_PNG_OPTIONS = {
    "prompt": "prompt",
    "negative_prompt": "negative",
    "num_inference_steps": "steps",
    "guidance_scale": "guidance",
    "sampler": "sampler",
    "seed": "seed",
    "model": "model",
    "height": "height",
    "width": "width",
    "layout_temperature": "layout_temperature",
}


def apply_png_params(args) -> None:
    """Fill the options of `genlab generate --from-png IMAGE` that were not given from the
    parameters IMAGE carries (genlab.io.read_params: genlab's JSON chunk, else A1111 infotext)."""
    params = read_params(args.from_png)
    if not params or not params.get("prompt"):
        raise InvalidArgument(
            "--from-png", "a PNG with generation parameters (genlab or A1111)", args.from_png
        )
    if params.get("edit"):
        raise InvalidArgument(
            "--from-png", "an image made by generate (this one is an edit: use genlab edit)",
            args.from_png,
        )  # fmt: skip
    for key, option in _FROM_PNG_OPTIONS.items():
        if getattr(args, option) is None and params.get(key) is not None:
            setattr(args, option, params[key])
    checkpoint = params.get("checkpoint")  # a model loaded from a file: that file, if still there
    if checkpoint and Path(checkpoint).is_file() and args.model == params.get("model"):
        args.model = checkpoint
    if params.get("plan_layout") is False and args.layout_temperature is None:
        args.no_layout = True


def run_batch(args) -> int:
    """generate --from-file: every prompt of the file, written with an index."""
    if args.prompt is not None:
        raise InvalidArgument(
            "prompt", "no PROMPT with --from-file (the file holds them)", args.prompt
        )
    check_engine(args.engine, args.ray_address)
    prompts = read_prompts(args.from_file)
    kwargs = _generation_kwargs(generation_request(args, prompts))
    if args.no_layout or args.layout_temperature is not None:  # checked against the model
        kwargs.update(layout_kwargs(_load(args.model, args.device), args))
    n, seed = kwargs.pop("num_images"), kwargs.pop("seed")
    rows = generate_batch(
        args.model,
        prompts,
        args.out,
        n=n,
        seed=seed,
        generation=kwargs,
        device=args.device,
        engine=args.engine,
        ray_address=args.ray_address,
        workers=args.workers,
        progress=show_progress(args),
        compile=args.compile,
    )
    print(f"{sum(len(r['files']) for r in rows)} images of {len(rows)} prompts in {args.out}")
    print(Path(args.out) / "index.jsonl")
    return 0


def run_generate(args) -> int:
    if args.from_png:
        apply_png_params(args)
    if args.fast:
        if args.model not in (None, FAST_IMAGE_MODEL):
            raise InvalidArgument(
                "--fast", f"no --model, or --model {FAST_IMAGE_MODEL}", args.model
            )
        args.model = FAST_IMAGE_MODEL
    args.model = args.model or DEFAULT_IMAGE_MODEL
    if args.from_file is not None:
        return run_batch(args)
    if args.prompt is None:
        raise InvalidArgument("prompt", "a prompt, --from-png IMAGE or --from-file PROMPTS", None)
    for flag, given in (
        ("--engine", args.engine != "local"),
        ("--ray-address", args.ray_address is not None),
        ("--workers", args.workers is not None),
    ):
        if given:
            raise InvalidArgument(flag, "only with --from-file (a batch of prompts)")
    kwargs = _generation_kwargs(generation_request(args))
    paths = output_paths(args.out, kwargs["num_images"], args.prompt, kwargs["seed"])
    pipe = _load(args.model, args.device)
    if args.compile is None:  # on where it pays (a call of thousands of images)
        args.compile = compile_pays(pipe, kwargs["num_images"], kwargs.get("num_inference_steps"))
    if args.compile:
        if not isinstance(pipe, TextDiffusionPipeline):
            raise InvalidArgument("--compile", "a genlab diffusion model", args.model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if not pipe.compile():
                reasons = "; ".join(str(w.message) for w in caught) or "not available here"
                print(
                    f"genlab: warning: --compile: sampling stays eager ({reasons})", file=sys.stderr
                )
    kwargs.update(layout_kwargs(pipe, args))
    with step_bar(kwargs.get("num_inference_steps"), show_progress(args)) as on_step:
        if on_step is not None:
            kwargs["callback_on_step_end"] = on_step
        result = _run_quietly_reporting_truncation(lambda: pipe(args.prompt, **kwargs))
    if getattr(pipe, "compile_error", None):
        print(
            f"genlab: warning: --compile failed, drew eagerly ({pipe.compile_error})",
            file=sys.stderr,
        )
    if Path(args.model).is_file():  # a checkpoint file: its path lets --from-png load it again
        for meta in result.metadata:
            meta["checkpoint"] = str(Path(args.model).resolve())
    _report_prompt_warnings(result)
    for path in _write(result, paths):
        print(path)
    record_in_history(args, "generate", args.prompt, zip(result.images, result.metadata))
    return 0


def record_in_history(args, kind: str, prompt: str, images=(), videos=()) -> str | None:
    """Record a command's outputs in the history, like the server's (unless --no-history):
    `images` as (image, params), `videos` as (written file, params). The files at --out are
    written already, so a history that cannot be written only warns."""
    if getattr(args, "no_history", False):
        return None
    run_id = None
    try:
        store = HistoryStore()
        run_id = store.add_run(kind, prompt, model=args.model, params={"origin": "cli"})
        ids = [store.add_image(im, meta, run_id=run_id, model=args.model).id for im, meta in images]
        ids += [store.add_file(f, meta, run_id=run_id, model=args.model).id for f, meta in videos]
        store.finish_run(run_id, status="done", result={"images": ids})
    except StorageError as e:
        if run_id is not None:
            with contextlib.suppress(StorageError):
                store.finish_run(run_id, status="failed", error=str(e))
        print(f"genlab: warning: not recorded in history ({e})", file=sys.stderr)
        return None
    return run_id


def run_edit(args) -> int:
    args.model = args.model or DEFAULT_IMAGE_MODEL
    kwargs = _generation_kwargs(generation_request(args))
    strength = option("strength", args.strength)
    if args.mask is None and strength is None:
        raise InvalidArgument("--mask/--strength", "a mask image or a strength (what to edit)")
    image = load_image(args.image, name="image")
    mask = load_image(args.mask, name="mask") if args.mask else None
    if mask is not None and mask.size != image.size:
        raise InvalidArgument(
            "--mask",
            f"a {image.width}×{image.height} image (the size of {args.image})",
            f"{mask.width}×{mask.height}",
        )
    paths = output_paths(args.out, kwargs["num_images"], args.prompt, kwargs["seed"])
    pipe = _load(args.model, args.device)
    if not hasattr(pipe, "edit"):
        raise GenlabError(f"model {args.model!r} cannot edit images (it only generates)")
    kwargs.update(layout_kwargs(pipe, args))
    with step_bar(kwargs.get("num_inference_steps"), show_progress(args)) as on_step:
        if on_step is not None:
            kwargs["callback_on_step_end"] = on_step
        result = _run_quietly_reporting_truncation(
            lambda: pipe.edit(image, args.prompt, mask=mask, strength=strength, **kwargs)
        )
    for meta in result.metadata:
        meta["source_image"] = str(args.image)
        if args.mask:
            meta["mask"] = str(args.mask)
    _report_prompt_warnings(result)
    for path in _write(result, paths):
        print(path)
    record_in_history(args, "edit", args.prompt, zip(result.images, result.metadata))
    return 0
