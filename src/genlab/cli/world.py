"""`genlab world ...`: look at the built-in world: sample scenes (image grids or videos) with their
captions, parse an image into objects, read a prompt with the grammar, draw a prompt exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from genlab.cli import add_command_group
from genlab.cli.logs import add_progress_flag, show_progress
from genlab.errors import InvalidArgument
from genlab.io import _existing_file, atomic_path, image_grid, load_image, save_image
from genlab.progress import progress_bar
from genlab.world import caption
from genlab.world.grammar import canonical_caption, parse_prompt, realize
from genlab.world.match import match
from genlab.world.parser import parse_image
from genlab.world.render import check_size, render
from genlab.world.sample import sample_scene
from genlab.world.video import check_num_frames, parse_video, render_video, sample_video_scene

VIDEO_SUFFIXES = (".gif", ".mp4")


def register(subparsers) -> None:
    sub = add_command_group(
        subparsers,
        "world",
        dest="world_command",
        help="sample, draw, parse and caption scenes of the built-in world",
        description="The built-in synthetic world: shapes, colors, sizes, positions, motions.",
    )

    s = sub.add_parser(
        "sample",
        help="render random scenes into an image grid (or a video) and print their captions",
        description="Render N random scenes as one upscaled grid image and print a caption each.",
    )
    s.add_argument("--n", type=int, default=16, help="number of scenes")
    s.add_argument("--size", type=int, default=32, help="image side in pixels (≥ 16)")
    s.add_argument("--seed", type=int, default=0, help="random seed (same seed, same scenes)")
    s.add_argument(
        "--out", default="grid.png", help="output file: .png (or .gif/.mp4 with --video)"
    )
    s.add_argument(
        "--scale", type=int, default=0, help="upscaling factor of the grid (0: about 256 px a tile)"
    )
    s.add_argument(
        "--objects", type=int, default=None, help="objects per scene, 1 to 4 (default: random)"
    )
    s.add_argument(
        "--relation",
        default=None,
        help="make the first object 'left of', 'right of', 'above' or 'below' the second",
    )
    s.add_argument(
        "--held-out",
        action="store_true",
        help="sample only scenes with a held-out (color, shape) pair, which training never sees",
    )
    s.add_argument(
        "--canonical", action="store_true", help="print canonical captions instead of random ones"
    )
    s.add_argument("--video", action="store_true", help="moving scenes, written as a GIF or MP4")
    s.add_argument("--frames", type=int, default=12, help="frames per video (with --video)")
    s.add_argument("--fps", type=int, default=8, help="frames per second of the video file")
    s.add_argument("--json", action="store_true", help="print scenes and captions as JSON lines")
    add_progress_flag(s)
    s.set_defaults(func=_sample)

    pa = sub.add_parser(
        "parse",
        help="detect the objects of an image with the scene parser",
        description="Print the objects (shape, color, size, position) the scene parser finds.",
    )
    pa.add_argument(
        "image",
        help="image file (PNG, JPEG, ...), or a video (animated GIF, MP4): objects + motions",
    )
    pa.add_argument("--json", action="store_true", help="print the parsed scene as JSON")
    pa.add_argument(
        "--prompt", default=None, help="also check the image against this prompt (score, reasons)"
    )
    pa.set_defaults(func=_parse)

    c = sub.add_parser(
        "caption",
        help="read free text with the world grammar: spec, canonical caption, unknown words",
        description="Parse TEXT into a scene request and print its canonical caption.",
    )
    c.add_argument("text", help="a prompt, e.g. 'two crimson balls above a big box'")
    c.add_argument("--json", action="store_true", help="print the parse as JSON")
    c.add_argument(
        "--lenient",
        action="store_true",
        help="list unknown words instead of failing on them (exit 0 if any object was understood)",
    )
    c.set_defaults(func=_caption)

    d = sub.add_parser(
        "draw",
        help="render a scene that satisfies a prompt exactly (the world's ground truth)",
        description="Realize TEXT as a concrete scene with the grammar and render it.",
    )
    d.add_argument("text", help="a prompt, e.g. 'a red circle left of a blue square'")
    d.add_argument("--out", default="scene.png", help="output PNG (or .gif/.mp4 if it moves)")
    d.add_argument("--size", type=int, default=64, help="image side in pixels (≥ 16)")
    d.add_argument(
        "--seed", type=int, default=0, help="random seed for what the prompt leaves open"
    )
    d.add_argument("--scale", type=int, default=0, help="upscaling factor (0: about 256 px)")
    d.add_argument("--frames", type=int, default=12, help="frames if the prompt has motion")
    d.add_argument(
        "--lenient", action="store_true", help="ignore unknown words instead of failing on them"
    )
    d.set_defaults(func=_draw)


def _scale(scale: int, size: int) -> int:
    if scale < 0:
        raise InvalidArgument("--scale", "0 (auto) or a positive factor", scale)
    return scale or max(1, 256 // size)


def _write_frames(path: Path, frames, fps: int) -> None:
    """Write PIL frames as an animated GIF (Pillow) or an MP4 (PyAV, H.264)."""
    if fps < 1:
        raise InvalidArgument("--fps", "a positive number of frames per second", fps)
    if path.suffix.lower() == ".gif":
        with atomic_path(path) as tmp:
            frames[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=int(1000 / fps),
                loop=0,
            )
        return
    import av  # optional: the data extra (PyAV)

    w, h = frames[0].size
    w2, h2 = w + w % 2, h + h % 2  # H.264 wants even sides
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w2, h2, "yuv420p"
        for im in frames:
            arr = np.zeros((h2, w2, 3), dtype=np.uint8)
            arr[:h, :w] = np.asarray(im)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _check_out(out: str, video: bool) -> Path:
    path = Path(out)
    allowed = VIDEO_SUFFIXES if video else (".png",)
    if path.suffix.lower() not in allowed:
        raise InvalidArgument("--out", "a file ending in " + " or ".join(allowed), out)
    return path


def _sample(args) -> int:
    if args.n < 1 or args.n > 1024:
        raise InvalidArgument("--n", "a number of scenes in 1..1024", args.n)
    size = check_size(args.size, "--size")
    out = _check_out(args.out, args.video)
    scale = _scale(args.scale, size)
    rng = np.random.default_rng(args.seed)
    kwargs = dict(
        n_objects=args.objects,
        relation=args.relation,
        exclude_held_out=not args.held_out,
        only_held_out=args.held_out,
    )
    scenes = [
        (sample_video_scene if args.video else sample_scene)(rng, **kwargs) for _ in range(args.n)
    ]
    captions = [caption(s, None if args.canonical else rng) for s in scenes]
    drawn = progress_bar(scenes, desc="rendering", unit="scene", enabled=show_progress(args))
    if args.video:
        num_frames = check_num_frames(args.frames)
        videos = [render_video(s, num_frames, size) for s in drawn]
        frames = [image_grid([v[t] for v in videos], scale=scale) for t in range(num_frames)]
        _write_frames(out, frames, args.fps)
    else:
        grid = image_grid([render(s, size) for s in drawn], scale=scale)
        save_image(out, grid, {"seed": args.seed, "size": size, "captions": captions})
    for i, (s, text) in enumerate(zip(scenes, captions)):
        if args.json:
            print(json.dumps({"index": i, "caption": text, "scene": s.to_dict()}, sort_keys=True))
        else:
            print(f"{i:3d}  {text}")
    if not args.json:
        print(f"wrote {out} ({len(scenes)} scenes, {size} px, shown ×{scale})")
    return 0


def _read_frames(path: str):
    """The frames of an animated GIF or an MP4 as uint8 arrays, or None for a still image."""
    if path.lower().endswith(".mp4"):
        import av  # optional: the data extra (PyAV)

        _existing_file(path, "image")
        try:
            with av.open(path) as container:
                return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        except Exception as e:  # PyAV raises many types for damaged files
            raise InvalidArgument("image", "a readable MP4 video", f"{path} ({e})") from None
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) < 2:
            return None
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def _parse(args) -> int:
    if not args.image.lower().endswith(".mp4"):
        image = load_image(args.image)  # clear errors for missing or unreadable files
    frames = _read_frames(args.image)
    if frames is not None:
        parsed = parse_video(frames)
        rows = [
            f"{o.size:5s} {o.color:6s} {o.shape:8s} starts at ({o.center[0]:.3f}, "
            f"{o.center[1]:.3f}) motion={o.motion}"
            for o in parsed.objects
        ]
        header = f"background: {parsed.background}  ({parsed.num_frames} frames)"
        return _print_parsed(args, parsed, header, rows)
    parsed = parse_image(image)
    scene = parsed.to_scene()
    rows = [
        f"{o.size:5s} {o.color:6s} {o.shape:8s} {o.position:13s} center=({o.center[0]:.3f}, "
        f"{o.center[1]:.3f}) area={o.area:.1f}px fit_error={o.fit_error:.4f}"
        for o in parsed.objects
    ]
    header = f"background: {parsed.background}  ({parsed.width}×{parsed.height} px)"
    text = canonical_caption(scene) if scene is not None else parsed.describe()
    return _print_parsed(args, parsed, header, rows, caption=text)


def _print_parsed(args, parsed, header: str, rows: list[str], caption: str | None = None) -> int:
    """What the parser found in an image or a video: a header, one numbered row per object, the
    caption (images) and, with --prompt, how well it matches; or all of it as JSON (--json)."""
    result = match(args.prompt, parsed) if args.prompt is not None else None
    if args.json:
        out = {"parsed": parsed.to_dict()}
        if caption is not None:
            out["caption"] = caption
        if result is not None:
            out["match"] = result.to_dict()
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    print(header)
    for i, row in enumerate(rows):
        print(f"{i:2d}  {row}")
    if caption is not None:
        print(f"caption: {caption}")
    if result is not None:
        print(result.summary())
    return 0


def _reject_unknown(parse) -> None:
    if parse.unknown_words or parse.unsupported or parse.unaccounted or parse.invented:
        raise InvalidArgument(
            "text",
            "only words the world grammar knows, about what the world has",
            "; ".join(parse.warnings()),
            hint=f"understood: '{parse.canonical}'; --lenient ignores the rest",
        )


def _caption(args) -> int:
    parse = parse_prompt(args.text)
    if not parse.request.objects and parse.request.background is None:
        raise InvalidArgument(
            "text",
            "a description of objects (shape, color, size, position, relation)",
            args.text,
            hint="unknown words: " + (", ".join(parse.unknown_words) or "none"),
        )
    if not args.lenient:
        _reject_unknown(parse)
    if args.json:
        out = {
            "request": asdict(parse.request),
            "canonical": parse.canonical,
            "unknown_words": parse.unknown_words,
            "unsupported": [list(u) for u in parse.unsupported],
            "unaccounted": parse.unaccounted,
            "warnings": parse.warnings(),
        }
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    req = parse.request
    for i, o in enumerate(req.objects):
        attrs = [f"count={o.count}"] + [
            f"{k}={v}"
            for k, v in (("shape", o.shape), ("color", o.color), ("size", o.size))
            if v is not None
        ]
        if o.position:
            attrs.append(f"position={o.position}")
        if o.motion:
            attrs.append(f"motion={o.motion}")
        print(f"object {i}: " + " ".join(attrs))
    for r in req.relations:
        print(f"relation: object {r.subject} {r.relation} object {r.target}")
    if req.background:
        print(f"background: {req.background}")
    print(f"canonical: {parse.canonical}")
    print("unknown words: " + (", ".join(parse.unknown_words) or "none"))
    for warning in parse.unsupported_warnings():
        print(f"warning: {warning}")
    return 0


def _draw(args) -> int:
    size = check_size(args.size, "--size")
    parse = parse_prompt(args.text)
    if not parse.request.objects:
        raise InvalidArgument("text", "at least one object the world grammar knows", args.text)
    if not args.lenient:
        _reject_unknown(parse)
    scene = realize(parse.request, args.seed)
    moving = "motions" in scene.extras
    out = _check_out(args.out, moving)
    scale = _scale(args.scale, size)
    if moving:
        video = render_video(scene, check_num_frames(args.frames), size)
        _write_frames(out, [image_grid([f], pad=0, scale=scale) for f in video], 8)
    else:
        image = image_grid([render(scene, size)], pad=0, scale=scale)
        save_image(out, image, {"prompt": args.text, "seed": args.seed, "size": size})
    print(f"scene: {canonical_caption(scene)}")
    if parse.unknown_words:
        print("unknown words (ignored): " + ", ".join(parse.unknown_words))
    print(f"wrote {out}")
    return 0
