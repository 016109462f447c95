"""`genlab video "PROMPT"`: text (or an image) to an MP4 / GIF with its generation parameters, with
optional frame interpolation, smoothing and upscaling; `genlab video-curate` and `genlab video-eval`.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from genlab.cli.generate import CLI, _float, _int, guidance, option, record_in_history
from genlab.cli.logs import add_progress_flag, show_progress, step_bar
from genlab.data.video_curate import CurateConfig, curate_videos
from genlab.errors import InvalidArgument, check_choice
from genlab.eval.video import (
    VIDEO_CATEGORIES,
    VIDEO_SPLITS,
    evaluate_pipeline,
    run_video_suite,
    summarize_videos,
    video_suite,
)
from genlab.paths import DEFAULT_VIDEO_MODEL
from genlab.pipelines.base import check_device
from genlab.pipelines.layout_video import ANIMATIONS
from genlab.pipelines.postprocess import (
    check_fps,
    check_video_path,
    interpolate_frames,
    temporal_smoothing,
    upscale,
    write_video,
)
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.request import GenerationRequest
from genlab.pipelines.text2video import PLAN_SOURCES, is_image_pipeline

DEFAULT_MODEL = DEFAULT_VIDEO_MODEL
ANIMATION_HELP = (
    "world-t2v-layout: how frames after the first are made: redraw (each drawn by the image "
    "model from its planned layout) or cutout (the first frame's objects moved along their "
    "planned paths); default: the model's"
)
PLAN_SOURCE_HELP = (
    "who writes the text the model draws from a prompt of the world: reading (the caption of "
    "what was read) or grammar (a whole scene of it: sizes, and cells where each motion can play)"
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "video",
        help="generate a short video from a text prompt",
        description="Generate a video from a prompt and write it as MP4 (H.264) or GIF; the "
        "generation parameters are stored in the file's comment.",
    )
    p.add_argument("prompt", help="what should move, e.g. 'a red circle moving right'")
    p.add_argument("--frames", help="number of frames (default: the model's; invalid counts are "
                   "refused with the valid range)")  # fmt: skip
    _denoising_options(p)
    p.add_argument("--negative", help="negative prompt: what to steer away from")
    p.add_argument("--seed", help="integer seed (default: random, recorded in the file)")
    p.add_argument("--image", help="first frame to animate (image → video)")
    p.add_argument(
        "--keyframe",
        help="text-to-image model (name or path) that draws the first frame from the prompt, "
        "which the video model then animates (text → image → video)",
    )
    p.add_argument(
        "--keyframe-candidates",
        default="1",
        help="with --keyframe: first frames to draw, the one the asked motion can best start "
        "from is animated (built-in world prompts; default %(default)s)",
    )
    _world_video_options(p)
    p.add_argument("--model", default=DEFAULT_MODEL, help="bundled model name or checkpoint path")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--fps", default="8", help="frames per second of the written video")
    p.add_argument(
        "--no-history", action="store_true", help="do not record this video in the history"
    )
    p.add_argument(
        "--interpolate",
        choices=["2", "4"],
        help="insert frames along optical flow: 2× or 4× frames",
    )
    p.add_argument("--smooth", help="temporal smoothing: Gaussian σ in frames (e.g. 0.7)")
    p.add_argument(
        "--upscale", choices=["bicubic", "learned"], help="upscale 2× (learned: world-upscaler)"
    )
    p.add_argument(
        "--out", help="output file ending in .mp4 or .gif (default: PROMPT-SEED.mp4 here)"
    )
    add_progress_flag(p)
    p.set_defaults(func=run_video)

    c = subparsers.add_parser(
        "video-curate",
        help="curate video clips into WebDataset shards",
        description="Split clips at scene cuts, drop static segments, standardise fps, size and "
        "length, caption them and write WebDataset shards; prints the per-step counts.",
    )
    c.add_argument("source", help="directory of clips (.mp4, .gif, .avi, .mov, .webm, .mkv)")
    c.add_argument("--out", required=True, help="output directory for the shards")
    c.add_argument("--frames", default="8", help="frames per standardised clip")
    c.add_argument("--size", default="32", help="side of the standardised square frames")
    c.add_argument("--fps", default="8", help="frame rate clips are resampled to")
    c.add_argument("--min-flow", default="0.2", help="static filter: minimum mean flow (pixels)")
    c.add_argument("--cut-threshold", default="0.5", help="histogram distance that marks a cut")
    c.add_argument("--captioner", default="world", help="world (scene parser) or none")
    c.add_argument("--workers", default="1", help="processes for decoding and analysis")
    c.set_defaults(func=run_curate)

    e = subparsers.add_parser(
        "video-eval",
        help="motion accuracy, FVD, flicker and consistency of a text-to-video model",
        description="Generate one video per in-distribution prompt and score it with the scene "
        "parser (motion and attribute accuracy), FVD vs. real clips and its real-vs-real floor.",
    )
    e.add_argument("--model", default=DEFAULT_MODEL, help="bundled model name or checkpoint path")
    e.add_argument("--n", default="32", help="number of prompts / videos")
    e.add_argument("--frames", default="8", help="frames per video")
    _denoising_options(e)
    e.add_argument("--seed", default="0", help="seed of prompts and noise")
    e.add_argument(
        "--keyframe", help="text-to-image model drawing each first frame (text → image → video)"
    )
    e.add_argument(
        "--keyframe-candidates",
        default="1",
        help="with --keyframe: first frames drawn per video, the best by the world's keyframe "
        "fit animated (default %(default)s)",
    )
    e.add_argument(
        "--features", default="world-t2v-fvd", help="FVD feature network: bundled name or path"
    )
    e.add_argument(
        "--split",
        help="run the motion prompt suite instead: canonical, paraphrased or both "
        "(comma-separated); --n prompts per category and split, judged strictly (exactly the "
        "asked objects over the clip, direction and speed of each motion, first and last frames)",
    )
    e.add_argument(
        "--categories",
        default="single,two",
        help="with --split: single (one object moving), two (two objects moving differently)",
    )
    _world_video_options(e)
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    add_progress_flag(e)
    e.set_defaults(func=run_eval)


def _denoising_options(p) -> None:
    """--steps and --guidance, as `video` and `video-eval` take them."""
    p.add_argument("--steps", default="20", help="denoising steps")
    p.add_argument("--guidance", help="classifier-free guidance scale ≥ 0 (default: the model's)")


def _world_video_options(p) -> None:
    """--plan-source and --animation (prompts of the built-in world), as `video` and `video-eval`
    take them."""
    p.add_argument("--plan-source", default="reading", help=PLAN_SOURCE_HELP)
    p.add_argument("--animation", help=ANIMATION_HELP)


def _load(model: str, device: str | None):
    pipe = load_pipeline(model, **({"device": device} if device else {}))
    if not hasattr(pipe, "valid_frames"):
        raise InvalidArgument("--model", "a text-to-video model", model)
    return pipe


def _load_keyframe(model: str | None, device: str | None):
    """The --keyframe text-to-image pipeline, or None."""
    if model is None:
        return None

    pipe = load_pipeline(model, **({"device": device} if device else {}))
    if not is_image_pipeline(pipe):
        raise InvalidArgument("--keyframe", "a text-to-image model", model)
    return pipe


def run_video(args) -> int:
    seed = option("seed", args.seed)
    request = GenerationRequest(
        args.prompt,
        negative_prompt=args.negative,
        num_inference_steps=option("num_inference_steps", args.steps),
        guidance_scale=option("guidance_scale", args.guidance),
        seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
        num_frames=option("num_frames", args.frames),
        keyframe_model=args.keyframe,
        keyframe_candidates=option("keyframe_candidates", args.keyframe_candidates),
        face=CLI,
    )
    check_device(args.device, "--device")
    check_choice("--plan-source", args.plan_source, PLAN_SOURCES)
    if args.animation is not None:
        check_choice("--animation", args.animation, ANIMATIONS)
    seed = request.seed
    fps = check_fps(_float("--fps", args.fps, "a number > 0"))
    out = Path(args.out) if args.out else _default_out(args.prompt, seed)
    check_video_path(out)  # before any work: a bad extension costs nothing
    smooth = _float("--smooth", args.smooth, "a number > 0")
    kwargs = request.given()
    for key in ("prompt", "num_images", "keyframe_model", "keyframe_candidates"):
        kwargs.pop(key, None)
    if args.plan_source != "reading":
        kwargs["plan_source"] = args.plan_source
    if args.animation is not None:
        kwargs["animation"] = args.animation
    if args.image and args.keyframe:
        raise InvalidArgument(
            "--keyframe", "to be left out when --image gives the first frame", args.keyframe
        )
    pipe = _load(args.model, args.device)
    if args.image:
        kwargs["image"] = args.image
    keyframe = _load_keyframe(args.keyframe, args.device)
    if keyframe is not None:
        kwargs["keyframe"] = keyframe
        kwargs["keyframe_candidates"] = request.keyframe_candidates or 1
    with step_bar(kwargs.get("num_inference_steps"), show_progress(args)) as on_step:
        if on_step is not None:
            kwargs["callback_on_step_end"] = on_step
        result = pipe(args.prompt, **kwargs)
    frames, params = result.frames[0], dict(result.metadata[0])
    if args.interpolate:
        frames = interpolate_frames(frames, int(args.interpolate))
        params["interpolate"] = int(args.interpolate)
    if smooth is not None:
        frames = temporal_smoothing(frames, smooth)
        params["smooth"] = smooth
    if args.upscale:
        frames = upscale(frames, 2, args.upscale)
        params["upscale"] = args.upscale
    if args.image:
        params["image"] = str(args.image)
    write_video(out, frames, fps, params)
    print(out)
    record_in_history(args, "video", args.prompt, videos=[(out, params)])
    return 0


def _default_out(prompt: str, seed: int) -> Path:
    slug = "-".join(re.findall(r"[a-z0-9]+", prompt.lower())[:6]) or "video"
    return Path(f"{slug}-{seed}.mp4")


def run_curate(args) -> int:
    config = CurateConfig(
        num_frames=_int("--frames", args.frames, 1),
        size=_int("--size", args.size, 2),
        fps=_float("--fps", args.fps, "a number > 0"),
        min_flow=_float("--min-flow", args.min_flow, "a number ≥ 0"),
        cut_threshold=_float("--cut-threshold", args.cut_threshold, "a number in (0, 2]"),
        captioner=args.captioner,
        workers=_int("--workers", args.workers, 1),
    )
    counts = curate_videos(args.source, args.out, config)
    for key, value in counts.items():
        print(f"{key}: {value}")
    return 0


def run_eval(args) -> int:
    check_choice("--plan-source", args.plan_source, PLAN_SOURCES)
    if args.animation is not None:
        check_choice("--animation", args.animation, ANIMATIONS)
    if args.split:
        return run_suite_eval(args)
    pipe = _load(args.model, None)
    result = evaluate_pipeline(
        pipe,
        option("num_images", args.n),
        num_frames=pipe.check_num_frames(option("num_frames", args.frames)),
        steps=option("num_inference_steps", args.steps),
        seed=option("seed", args.seed),
        guidance_scale=guidance(args.guidance),
        features=args.features,
        keyframe=_load_keyframe(args.keyframe, None),
        keyframe_candidates=option("keyframe_candidates", args.keyframe_candidates),
        plan_source=args.plan_source,
        animation=args.animation,
        progress=show_progress(args),
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key == "motion_by_kind":  # one line per motion asked
                for kind, row in value.items():
                    print(
                        f"  {kind}: {row['accuracy']:.3f} of {row['asked']} "
                        f"(found most often: {row['most_found']})"
                    )
            else:
                print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    sys.stdout.flush()
    return 0


def run_suite_eval(args) -> int:
    """`genlab video-eval --split ...`: the motion prompt suite, strict headline first."""
    splits = tuple(s.strip() for s in args.split.split(","))
    categories = tuple(c.strip() for c in args.categories.split(","))
    for split in splits:
        check_choice("--split", split, VIDEO_SPLITS)
    for category in categories:
        check_choice("--categories", category, VIDEO_CATEGORIES)
    if args.keyframe or args.keyframe_candidates != "1":
        raise InvalidArgument("--keyframe", "left out with --split (the suite draws from text)")
    n = option("num_images", args.n)
    seed = option("seed", args.seed)
    pipe = _load(args.model, None)
    options = {"plan_source": args.plan_source} if args.plan_source != "reading" else {}
    if args.animation is not None:
        options["animation"] = args.animation
    results = run_video_suite(
        pipe,
        video_suite(n, seed, categories, splits),
        seed=seed,
        steps=option("num_inference_steps", args.steps),
        num_frames=pipe.check_num_frames(option("num_frames", args.frames)),
        guidance_scale=guidance(args.guidance),
        progress=show_progress(args),
        **options,
    )
    summary = summarize_videos(results)
    if args.json:
        print(json.dumps({"summary": summary, "results": [r.to_dict() for r in results]}, indent=2))
        return 0
    for split, entry in summary.items():
        lo, hi = entry["strict_ci95"]
        print(f"{split}: strict {entry['strict']:.3f} [{lo:.3f}, {hi:.3f}], "
              f"lenient {entry['lenient']:.3f} ({entry['videos']} videos)")  # fmt: skip
        for category, row in entry["categories"].items():
            lo, hi = row["strict_ci95"]
            print(f"  {category}: strict {row['strict']:.3f} [{lo:.3f}, {hi:.3f}], "
                  f"lenient {row['lenient']:.3f} ({row['videos']})")  # fmt: skip
            for motion, m in entry["motions"][category].items():
                print(f"    {motion}: strict {m['strict']:.3f}, lenient {m['lenient']:.3f} "
                      f"({m['videos']})")  # fmt: skip
    failed = [r for r in results if not r.satisfied]
    for r in failed[:8]:
        print(f"  FAIL {r.prompt!r}: {r.reasons[0] if r.reasons else ''}")
    sys.stdout.flush()
    return 0
