"""`genlab data prepare SRC --out DIR` (curate a source into WebDataset shards and report what each
step removed) and `genlab data cache SHARDS --autoencoder NAME` (pre-encode latents once).
"""

from __future__ import annotations

import json

from genlab.cli import add_command_group, add_engine_options
from genlab.cli.logs import add_progress_flag, show_progress
from genlab.data.cache import build_cache
from genlab.data.curate import CurationConfig, prepare
from genlab.errors import InvalidArgument
from genlab.eval.features import world_clip_quality
from genlab.io import check_out_folder
from genlab.models.autoencoder_kl import load_autoencoder
from genlab.train.text2image import world_vocabulary


def register(subparsers) -> None:
    sub = add_command_group(
        subparsers,
        "data",
        dest="data_command",
        help="prepare datasets (curation into shards) and latent caches",
        description="Curate image data into WebDataset shards and pre-encode latent caches.",
    )

    prep = sub.add_parser(
        "prepare",
        help="curate a source into WebDataset shards with a manifest",
        description=(
            "Read SRC (an image folder with name.txt captions or metadata.jsonl, a folder of .tar "
            "shards, a folder with MNIST IDX files, or world:N), filter, deduplicate, clean and "
            "re-caption in a process pool, and write OUT/shard-*.tar + OUT/manifest.json."
        ),
    )
    prep.add_argument("source", metavar="SRC", help="folder, .tar shard(s) or world:N")
    prep.add_argument("--out", required=True, help="output folder for the shards and manifest")
    prep.add_argument(
        "--min-size", type=int, default=8, help="drop images whose shorter side is smaller (pixels)"
    )
    prep.add_argument(
        "--no-min-size", action="store_true", help="switch the minimum-size filter off"
    )
    prep.add_argument(
        "--max-aspect",
        type=float,
        default=2.0,
        help="drop images with a longer/shorter side ratio above this",
    )
    prep.add_argument("--no-aspect", action="store_true", help="switch the aspect-ratio filter off")
    prep.add_argument(
        "--no-dedup", action="store_true", help="switch perceptual-hash near-duplicate removal off"
    )
    prep.add_argument(
        "--dedup-hash",
        help="perceptual hash of the near-duplicate filter: phash, phash16, phash-rgb, "
        "phash16-rgb or dhash-rgb (default: the one measured best on small images, docs/data.md)",
    )
    prep.add_argument(
        "--dedup-threshold",
        type=int,
        help="largest Hamming distance between two images' hashes that counts as a duplicate "
        "(default: the one measured with the default hash, docs/data.md)",
    )
    prep.add_argument(
        "--no-clean-captions",
        action="store_true",
        help="keep captions as they are (no boilerplate or whitespace cleaning)",
    )
    prep.add_argument(
        "--min-caption-words",
        type=int,
        default=1,
        help="drop samples whose caption has fewer words",
    )
    prep.add_argument(
        "--max-caption-words",
        type=int,
        default=64,
        help="drop samples whose caption has more words",
    )
    prep.add_argument(
        "--recaption",
        choices=["off", "missing", "all"],
        default="off",
        help="caption images with the captioner: never, only those without a usable caption, or all",
    )
    prep.add_argument(
        "--captioner",
        default="world",
        help="captioner name (world: scene parser + canonical caption)",
    )
    prep.add_argument(
        "--quality-threshold",
        type=float,
        help="keep samples whose quality score (domain CLIP image-caption cosine) is at least this",
    )
    prep.add_argument("--resize", type=int, help="store images resized to SIZE×SIZE")
    prep.add_argument("--shard-size", type=int, default=1000, help="samples per .tar shard")
    prep.add_argument(
        "--workers", type=int, help="worker processes (default: every CPU, at most 8; 1 = no pool)"
    )
    add_engine_options(
        prep,
        "local: a process pool; ray: a Ray Data pipeline (a local Ray with --workers CPUs, "
        "or the cluster at --ray-address); both keep the same samples",
        workers=False,  # --workers above: the process pool's size, or the local Ray's CPUs
    )
    prep.add_argument(
        "--overwrite", action="store_true", help="replace shards and manifest already in --out"
    )
    add_progress_flag(prep)
    prep.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    prep.set_defaults(func=run_prepare)

    cache = sub.add_parser(
        "cache",
        help="pre-encode shards' images into latents (and tokenize captions) once",
        description=(
            "Encode every sample of SHARDS with a KL autoencoder (posterior mean × scaling factor) "
            "and tokenize its caption with the world vocabulary; latent training reads the file."
        ),
    )
    cache.add_argument("shards", metavar="SHARDS", help="folder of .tar shards or one .tar")
    cache.add_argument(
        "--autoencoder",
        required=True,
        help="bundled autoencoder name (world-kl-f4) or checkpoint path",
    )
    cache.add_argument("--out", required=True, help="cache file to write (.safetensors)")
    cache.add_argument("--batch-size", type=int, default=64, help="images encoded per batch")
    cache.add_argument("--max-length", type=int, default=48, help="caption tokens kept")
    cache.add_argument(
        "--no-tokens", action="store_true", help="cache latents only, not tokenized captions"
    )
    cache.add_argument("--device", default="cpu", help="device that runs the encoder")
    add_progress_flag(cache)
    cache.set_defaults(func=run_cache)


def run_prepare(args) -> int:
    check_out_folder(args.out)
    for name in ("shard_size", "min_caption_words", "max_caption_words"):
        value = getattr(args, name)
        if value < (0 if name == "min_caption_words" else 1):
            raise InvalidArgument("--" + name.replace("_", "-"), "a positive integer", value)
    config = CurationConfig(
        min_size=None if args.no_min_size else args.min_size,
        max_aspect=None if args.no_aspect else args.max_aspect,
        dedup=not args.no_dedup,
        **{
            k: v
            for k, v in (("dedup_hash", args.dedup_hash), ("dedup_threshold", args.dedup_threshold))
            if v is not None
        },  # fmt: skip
        clean_captions=not args.no_clean_captions,
        min_caption_words=args.min_caption_words,
        max_caption_words=args.max_caption_words,
        recaption=args.recaption,
        captioner=args.captioner,
        quality_threshold=args.quality_threshold,
        resize=args.resize,
        shard_size=args.shard_size,
        workers=args.workers,
    )
    manifest = prepare(
        args.source,
        args.out,
        config,
        quality=world_clip_quality if args.quality_threshold is not None else None,
        progress=show_progress(args),
        overwrite=args.overwrite,
        engine=args.engine,
        ray_address=args.ray_address,
    )
    if args.json:
        print(json.dumps(manifest, indent=2))
        return 0
    report = manifest["report"]
    print(f"read {report['read']} samples from {manifest['source']}")
    for reason, n in report["skipped_by_source"].items():
        print(f"  skipped by the reader ({reason}): {n}")
    for reason, n in report["removed"].items():
        print(f"  removed ({reason}): {n}")
    for how, n in report["captions_changed"].items():
        print(f"  captions {how}: {n}")
    print(f"kept {report['kept']} in {len(manifest['shards'])} shard(s) under {args.out}")
    return 0


def run_cache(args) -> int:
    if args.batch_size < 1:
        raise InvalidArgument("--batch-size", "an integer ≥ 1", args.batch_size)
    if args.max_length < 1:
        raise InvalidArgument("--max-length", "an integer ≥ 1", args.max_length)
    autoencoder = load_autoencoder(args.autoencoder, device=args.device)
    tokenizer = None
    if not args.no_tokens:
        tokenizer = world_vocabulary()
    info = build_cache(
        args.shards,
        autoencoder,
        args.out,
        tokenizer=tokenizer,
        max_length=args.max_length,
        batch_size=args.batch_size,
        progress=show_progress(args),
    )
    skipped = ", ".join(f"{k} {v}" for k, v in info["skipped"].items()) or "none"
    print(
        f"cached {info['count']} latents from {len(info['shards'])} shard(s) with "
        f"{info['autoencoder']} (scaling factor {info['scaling_factor']:.4f}); skipped: {skipped}"
    )
    print(f"cache: {args.out}")
    return 0
