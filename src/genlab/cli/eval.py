"""`genlab eval MODEL` (the HTML + JSON report) and `genlab metrics` (FID/KID, IS, CLIP score
between folders, models and the world; preference ratings).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

import genlab.eval.reference  # noqa: F401  (registers world-oracle)
from genlab.cli import add_command_group, add_engine_options
from genlab.cli.generate import layout_kwargs
from genlab.cli.logs import add_progress_flag, show_progress
from genlab.cluster import check_engine
from genlab.errors import InvalidArgument
from genlab.eval import metrics as M
from genlab.eval.compositional import SPLITS as COMPOSITIONAL_SPLITS
from genlab.eval.features import bundled_path, load_clip_scorer, load_feature_net
from genlab.eval.images import digits_set, from_pils, load_folder, world_set
from genlab.eval.preference import PreferenceStore
from genlab.eval.ray_sampler import RaySampler
from genlab.eval.report import EvalOptions, Sampler, clip_metrics, evaluate, write_report
from genlab.io import check_out_folder
from genlab.pipelines.registry import load as load_pipeline
from genlab.progress import progress_bar
from genlab.text.clip import DomainCLIP, retrieve

SOURCES_HELP = (
    "an image folder, 'world' (fresh world scenes), 'world-held-out' (scenes with held-out pairs), "
    "'digits', or 'model:NAME' (samples of a model for world captions or --prompts)"
)


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InvalidArgument("list", "comma-separated numbers", text) from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InvalidArgument("list", "comma-separated integers", text) from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a model: FID/KID/IS, CLIP score, compositional suite, sweeps -> HTML + JSON",
        description="Sample MODEL and write a self-contained HTML report and JSON with FID/KID/IS "
        "(against fresh world scenes, with the real-vs-real floor), CLIP score, the compositional "
        "suite (GenEval categories), and accuracy/FID vs steps and guidance sweeps.\n"
        "MODEL is a bundled name, a checkpoint path, or 'world-oracle[:noise=0.2,blur=1]' "
        "(renders the prompt: the ceiling any model can reach).",
    )
    p.add_argument("model", metavar="MODEL", help="model name or checkpoint path to evaluate")
    p.add_argument(
        "--suite",
        default="all",
        choices=["all", "fid", "clip", "compositional"],
        help="which measurements to run ('all' adds the sweeps)",
    )
    p.add_argument(
        "--n", type=int, default=100, help="images for FID/KID/IS/CLIP score (and each real set)"
    )
    p.add_argument(
        "--out", default="eval-report", help="output folder for report.html and report.json"
    )
    p.add_argument("--steps", type=int, default=20, help="sampling steps (num_inference_steps)")
    p.add_argument(
        "--guidance", type=float, default=None, help="guidance scale (default: the model's own)"
    )
    p.add_argument("--sampler", default=None, help="sampler name (default: the model's own)")
    p.add_argument(
        "--no-layout",
        action="store_true",
        help="a two-stage model (with a layout planner): draw from the text alone, no plan",
    )
    p.add_argument(
        "--layout-temperature",
        type=float,
        default=None,
        help="a two-stage model: its planner's sampling temperature (default: the model's own)",
    )
    p.add_argument(
        "--prompts-per-category",
        type=int,
        default=None,
        help="compositional prompts per category and split (default: max(1, n // 40))",
    )
    p.add_argument(
        "--splits",
        default="in_distribution,held_out,paraphrased",
        help="comma-separated compositional splits: in_distribution, held_out, paraphrased "
        "(the in-distribution scenes in the words people write)",
    )
    p.add_argument(
        "--images-per-prompt",
        type=int,
        default=None,
        help="compositional images per prompt (default: 2 from n = 100, else 1)",
    )
    p.add_argument(
        "--features",
        default="world",
        help="feature network for FID/KID/IS: world, digits, inception:PATH, clip:PATH",
    )
    p.add_argument(
        "--clip",
        default="world",
        help="CLIP model for CLIP score: world (bundled domain CLIP) or clip:PATH",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of prompts, real sets and sampling")
    p.add_argument(
        "--no-sweep", action="store_true", help="skip the steps/sampler and guidance sweeps"
    )
    p.add_argument(
        "--sweep-n",
        type=int,
        default=None,
        help="images per sweep point (default: max(10, n // 4))",
    )
    p.add_argument(
        "--sweep-steps",
        type=_ints,
        default="5,10,20",
        help="comma-separated step counts for the sweep",
    )
    p.add_argument(
        "--sweep-samplers",
        default="ddim,dpmpp_2m",
        help="comma-separated samplers for the sweep",
    )
    p.add_argument(
        "--sweep-guidance",
        type=_floats,
        default="1,3,7.5",
        help="comma-separated guidance scales for the trade-off curve",
    )
    p.add_argument(
        "--sweep-prompts",
        type=int,
        default=6,
        help="compositional prompts per sweep point, spread over the categories",
    )
    p.add_argument(
        "--to-history",
        action="store_true",
        help="store the compositional images in the history, for preference votes",
    )
    add_progress_flag(p, "no progress bars")
    # what --no-progress was called before; the global -q/--quiet (before COMMAND) says it too
    p.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    p.add_argument(
        "--device",
        default=None,
        help="device for the model's sampling, e.g. cuda (default: the pipeline's own); "
        "feature networks and the scene parser run on the CPU",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default); 1 is much faster on a busy, shared CPU",
    )
    add_engine_options(
        p,
        "draw the image sets in this process (local) or over Ray actors that each load the "
        "model once (ray: a local Ray, or the cluster at --ray-address); same images either way",
    )
    p.set_defaults(func=run_eval)

    sub = add_command_group(
        subparsers,
        "metrics",
        dest="metric",
        metavar="METRIC",
        help="FID/KID, IS and CLIP score of image sets; preference ratings",
        description="Metrics between image sets. A SOURCE is " + SOURCES_HELP + ".",
    )
    f = sub.add_parser(
        "fid",
        help="FID and KID between two sets, with the real-vs-real floor",
        description="FID and KID between SOURCE_A (the reference) and SOURCE_B.",
    )
    f.add_argument("source_a", metavar="SOURCE_A", help="reference set: " + SOURCES_HELP)
    f.add_argument("source_b", metavar="SOURCE_B", help="set to compare")
    _source_options(f)
    f.set_defaults(func=run_fid)
    i = sub.add_parser("is", help="Inception Score of a set (with the world or digits classifier)")
    i.add_argument("source", metavar="SOURCE", help=SOURCES_HELP)
    _source_options(i)
    i.set_defaults(func=run_is)
    c = sub.add_parser(
        "clip-score", help="CLIP score of images and their captions (and with captions shuffled)"
    )
    c.add_argument(
        "source",
        metavar="SOURCE",
        help=SOURCES_HELP + "; folder captions come from PNG parameters or .txt files",
    )
    c.add_argument("--clip", default="world", help="world (bundled domain CLIP) or clip:PATH")
    _source_options(c)
    c.set_defaults(func=run_clip)
    q = sub.add_parser(
        "retrieve", help="text→image retrieval with the domain CLIP: the best matches in a set"
    )
    q.add_argument(
        "query", metavar="TEXT", help="what to look for, e.g. 'a red circle above a blue star'"
    )
    q.add_argument("source", metavar="SOURCE", help=SOURCES_HELP)
    q.add_argument("--k", type=int, default=5, help="how many matches to print")
    _source_options(q)
    q.set_defaults(func=run_retrieve)
    r = sub.add_parser(
        "ratings", help="Elo and Bradley–Terry ratings from pairwise preference votes"
    )
    r.add_argument("--db", default=None, help="history database (default: the user's)")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(func=run_ratings)


def _source_options(p) -> None:
    p.add_argument(
        "--n",
        type=int,
        default=500,
        help="images per generated set, and at most this many from a folder",
    )
    p.add_argument("--features", default="world", help="world, digits, inception:PATH, clip:PATH")
    p.add_argument(
        "--resize", type=int, default=None, help="resize every set's images to N×N first"
    )
    p.add_argument("--size", type=int, default=32, help="side of generated world scenes")
    p.add_argument(
        "--prompts", default=None, help="text file, one prompt per line, for model:NAME sources"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of generated sets")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_progress_flag(p, "no progress bars")


# ---------------------------------------------------------------------- sources


def load_source(spec: str, args, seed_offset: int = 0):
    """An ImageSet from a SOURCE spec (see SOURCES_HELP), resized to --resize N if given."""
    if args.resize is not None and args.resize < 8:
        raise InvalidArgument("resize", "a side of at least 8 pixels", args.resize)
    return _resized(_load_source(spec, args, seed_offset), args.resize)


def _resized(s, side: int | None):
    if side and s.size != (side, side):
        x = F.interpolate(s.images.float(), size=(side, side), mode="bicubic", antialias=True)
        s.images = x.round().clamp(0, 255).to(s.images.dtype)
    return s


def _load_source(spec: str, args, seed_offset: int = 0):
    n, seed = args.n, args.seed + seed_offset
    if n < 1:
        raise InvalidArgument("n", "an integer ≥ 1", n)
    if spec in ("world", "world-held-out"):
        return world_set(n, size=args.size, seed=seed, held_out=spec == "world-held-out")
    if spec == "digits":
        return digits_set(n, seed=seed)
    if spec.startswith("model:"):
        sampler = Sampler(load_pipeline(spec[6:]), spec[6:])
        if args.prompts:
            path = Path(args.prompts)
            if not path.is_file():
                raise InvalidArgument(
                    "prompts", "a text file with one prompt per line", args.prompts
                )
            prompts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
            if not prompts:
                raise InvalidArgument("prompts", "at least one non-empty line", args.prompts)
            prompts = [prompts[i % len(prompts)] for i in range(n)]
        else:
            prompts = world_set(n, size=args.size, seed=seed + 999).captions
        images, caps = [], []
        bar = progress_bar(
            prompts, desc=f"sampling {spec[6:]}", unit="img", enabled=show_progress(args)
        )
        for i, prompt in enumerate(bar):
            images += sampler(prompt, 1, seed + i)
            caps.append(prompt)
        return from_pils(images, caps, source=spec)
    if Path(spec).is_dir():
        return load_folder(spec, resize=args.resize, limit=n, progress=show_progress(args))
    raise InvalidArgument("source", SOURCES_HELP, spec)


def _skipped_note(s) -> None:
    if s.skipped:
        shown = ", ".join(s.skipped[:5]) + (" ..." if len(s.skipped) > 5 else "")
        print(
            f"note: {s.source}: skipped {len(s.skipped)} unreadable file(s): {shown}",
            file=sys.stderr,
        )


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for k, v in result.items():
        print(f"{k:>22}: {v:.4f}" if isinstance(v, float) else f"{k:>22}: {v}")


# ---------------------------------------------------------------------- commands


def run_eval(args) -> int:
    check_engine(args.engine, args.ray_address)
    if args.workers is not None and (args.engine != "ray" or args.workers < 1):
        raise InvalidArgument("--workers", "an integer ≥ 1, with --engine ray", args.workers)

    check_out_folder(args.out)
    options = EvalOptions(
        suite=args.suite,
        n=args.n,
        prompts_per_category=args.prompts_per_category,
        images_per_prompt=args.images_per_prompt,
        splits=tuple(x.strip() for x in args.splits.split(",") if x.strip()),
        num_inference_steps=args.steps,
        guidance_scale=args.guidance,
        sampler=args.sampler,
        plan_layout=False if args.no_layout else None,
        layout_temperature=args.layout_temperature,
        features=args.features,
        clip=args.clip,
        seed=args.seed,
        sweep=not args.no_sweep,
        sweep_n=args.sweep_n,
        sweep_steps=args.sweep_steps,
        sweep_samplers=tuple(s for s in args.sweep_samplers.split(",") if s),
        sweep_guidance=args.sweep_guidance,
        sweep_prompts=args.sweep_prompts,
        to_history=args.to_history,
        progress=show_progress(args),
    )
    options.validate()  # before loading the model: bad numbers fail fast
    if args.threads < 0:
        raise InvalidArgument("threads", "an integer ≥ 0", args.threads)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model, **({"device": args.device} if args.device else {}))
    layout_kwargs(pipe, args)  # checks the flags (the options carry them)
    sampler = None
    if args.engine == "ray":
        sampler = RaySampler(
            pipe, args.model, device=args.device, address=args.ray_address, workers=args.workers
        )
    report = evaluate(pipe, args.model, options, sampler)
    html_path, json_path = write_report(report, args.out)
    if "fid" in report:
        f = report["fid"]
        print(
            f"FID {f['fid']:.3f} (real-vs-real floor {f['fid_floor']:.3f}, n={f['n_fake']})  KID {f['kid']:.4f}"
            + (f"  IS {f['is']:.2f}" if "is" in f else "")
        )
    if "clip" in report:
        c = report["clip"]["generated"]
        print(
            f"CLIP score {c['clip_score']:.2f} (shuffled captions {c['clip_score_shuffled']:.2f})"
        )
    if "compositional" in report:
        cm = report["compositional"]
        for split, s in cm.items():
            if split in COMPOSITIONAL_SPLITS:
                lo, hi = s["pooled_ci95"]
                cats = ", ".join(f"{k} {v['accuracy']:.2f}" for k, v in s["categories"].items())
                print(
                    f"compositional {split} (strict): {s['overall']:.3f} (pooled 95% CI "
                    f"{lo:.2f}-{hi:.2f}, {s['images']} images; {cats})"
                )
        if "paraphrase_gap" in cm:
            print(
                f"paraphrase gap (canonical - paraphrased): {cm['paraphrase_gap']['overall']:+.3f}"
            )
    print(f"wrote {html_path} and {json_path}")
    return 0


def _features_of(args, *sets):
    net = load_feature_net(args.features)
    return net, [net.features(s.images, progress=show_progress(args)) for s in sets]


def run_fid(args) -> int:
    a, b = load_source(args.source_a, args), load_source(args.source_b, args, seed_offset=1)
    for s in (a, b):
        _skipped_note(s)
    if a.size != b.size and not args.resize:
        raise InvalidArgument(
            "images",
            f"two sets of one image size ({args.source_a}: {a.size[1]}×{a.size[0]})",
            f"{args.source_b}: {b.size[1]}×{b.size[0]}",
            hint="pass --resize N",
        )
    M.check_count("fid", len(a), f"images in {args.source_a}")
    M.check_count("fid", len(b), f"images in {args.source_b}")
    if args.source_a == "digits":  # the test split has 360 digits: take the floor from train
        floor_set = _resized(
            digits_set(min(len(a), 1437), split="train", seed=args.seed), args.resize
        )
        floor_ref = a
        floor_note = f"digits (test split) vs digits (train split), n={len(floor_set)}"
    elif args.source_a in ("world", "world-held-out"):
        floor_ref, floor_set = a, load_source(args.source_a, args, seed_offset=2)
        floor_note = f"{args.source_a} vs an independent {args.source_a} set, n={len(floor_set)}"
    else:
        half = len(a) // 2
        floor_ref, floor_set = a.split(half)
        floor_note = (
            f"split halves of {args.source_a}, n={half} each (a floor at n/2 is higher than at n)"
        )
        M.check_count("fid", half, f"half of {args.source_a} for the floor")
    net, (fa, fb, fr, ff) = _features_of(args, a, b, floor_ref, floor_set)
    kid = M.kid_from_features(fa, fb)
    result = {
        "fid": M.fid_from_features(fa, fb),
        "fid_floor": M.fid_from_features(fr, ff),
        "floor": floor_note,
        "kid": kid.mean,
        "kid_std": kid.std,
        "n_a": len(a),
        "n_b": len(b),
        "skipped_a": len(a.skipped),
        "skipped_b": len(b.skipped),
        "features": net.name,
    }
    _print(result, args.json)
    return 0


def run_is(args) -> int:
    s = load_source(args.source, args)
    _skipped_note(s)
    net = load_feature_net(args.features)
    score = M.inception_score_from_logits(net.class_logits(s.images, progress=show_progress(args)))
    _print(
        {
            "is": score.mean,
            "is_std": score.std,
            "splits": score.splits,
            "n": len(s),
            "skipped": len(s.skipped),
            "features": net.name,
        },
        args.json,
    )
    return 0


def run_clip(args) -> int:
    s = load_source(args.source, args)
    _skipped_note(s)
    if not s.captions:
        raise InvalidArgument(
            "source",
            "images with captions (PNG generation parameters or .txt files beside them)",
            args.source,
        )
    result = clip_metrics(load_clip_scorer(args.clip), s, args.seed)
    result.update({"n": len(s), "skipped": len(s.skipped)})
    _print(result, args.json)
    return 0


def run_retrieve(args) -> int:
    if args.k < 1:
        raise InvalidArgument("k", "an integer ≥ 1", args.k)
    s = load_source(args.source, args)
    _skipped_note(s)
    model = DomainCLIP.load(bundled_path("world-clip"))
    hits = retrieve(model, args.query, s.images, args.k)
    rows = [
        {"rank": r + 1, "score": score, "image": s.names[i] if s.names else i}
        | ({"caption": s.captions[i]} if s.captions else {})
        for r, (i, score) in enumerate(hits)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            extra = f"  ({row['caption']})" if "caption" in row else ""
            print(f"{row['rank']:>3}. {row['score']:6.2f}  {row['image']}{extra}")
    return 0


def run_ratings(args) -> int:
    ratings = PreferenceStore(args.db).ratings()
    if args.json:
        print(json.dumps([asdict(r) for r in ratings], indent=2))
        return 0
    if not ratings:
        print("no preference votes yet")
        return 0
    print(f"{'model':<28} {'Bradley-Terry':>13} {'Elo':>7} {'W/L/T':>10}")
    for r in ratings:
        bt = "inf" if math.isinf(r.bradley_terry) else f"{r.bradley_terry:.0f}"
        print(f"{r.model:<28} {bt:>13} {r.elo:>7.0f} {f'{r.wins}/{r.losses}/{r.ties}':>10}")
    return 0
