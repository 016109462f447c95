"""Scale-out on CPU: training step time and images/s in 1 vs 2 processes (torchrun, gloo) with the
old hand-rolled gradient all-reduce (genlab at --baseline, from git) vs DistributedDataParallel
(this tree), and `data prepare` of world:N on the local process pool vs Ray Data; prints ratios.

    .venv/bin/python benchmarks/distributed.py --baseline 6d11295 --steps 15 --repeats 3

Every training process runs --threads torch threads (1: each process has a core of its own, so
2 processes can at best double 1 process's images/s). The variants alternate (A B, then B A) so
a busy machine slows them alike; --repeats R runs each R times and reports the median. At 1
process both trees run the same code (no wrapper at world size 1): the gap between those two
rows is the noise of the machine. Writes JSON and Markdown to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def baseline_tree(commit: str, into: Path) -> Path:
    """genlab's src/ at `commit` (git archive), for the hand-rolled all-reduce it still had."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def train_once(src: Path, nproc: int, args, out: Path) -> dict:
    """One torchrun training run; its summary's step time and images/s."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS=str(args.threads))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc-per-node={nproc}", "-m", "genlab", "train", "--recipe", args.recipe]
    cmd += ["--steps", str(args.steps), "--batch-size", str(args.batch_size)]
    cmd += ["--data-size", str(args.data_size), "--out", str(out), "--device", "cpu"]
    cmd += ["--no-progress", "--json"] + (["--tiny"] if args.tiny else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    seconds = summary["wall_time_s"]
    return {
        "step_s": seconds / summary["steps"],
        "images_per_s": summary["samples_seen"] / seconds,
        "final_loss": summary["last_logs"].get("loss"),
    }


def bench_training(args, tmp: Path) -> dict:
    variants = {
        f"hand-rolled all-reduce ({args.baseline})": baseline_tree(args.baseline, tmp / "base"),
        "DistributedDataParallel (this tree)": ROOT / "src",
    }
    runs: dict[tuple[str, int], list[dict]] = {}
    for r in range(args.repeats):
        for nproc in (1, 2):
            order = list(variants.items())
            for name, src in order[:: 1 if r % 2 == 0 else -1]:  # A B, then B A: no favourite
                out = tmp / f"run-{len(runs)}-{r}-{nproc}"
                result = train_once(src, nproc, args, out)
                runs.setdefault((name, nproc), []).append(result)
                print(
                    f"  {name}, {nproc} process(es), run {r + 1}: "
                    f"{result['step_s'] * 1000:.0f} ms/step, {result['images_per_s']:.1f} images/s",
                    flush=True,
                )
    rows = []
    for (name, nproc), results in runs.items():
        rows.append(
            {
                "variant": name,
                "processes": nproc,
                "threads_per_process": args.threads,
                "step_ms": 1000 * statistics.median(x["step_s"] for x in results),
                "images_per_s": statistics.median(x["images_per_s"] for x in results),
                "runs": len(results),
            }
        )
    return {"rows": rows}


def bench_prepare(args, tmp: Path) -> dict:
    from genlab.cluster import ray_init
    from genlab.data.curate import CurationConfig, prepare

    config = CurationConfig(workers=args.cpus)
    t0 = time.perf_counter()
    local = prepare(f"world:{args.prepare_n}", tmp / "local", config, progress=False)
    local_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray_init(None, args.cpus)
    init_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    on_ray = prepare(f"world:{args.prepare_n}", tmp / "ray", config, progress=False, engine="ray")
    ray_s = time.perf_counter() - t0
    if on_ray["report"] != local["report"] or on_ray["shards"] != local["shards"]:
        raise RuntimeError("the Ray engine kept other samples than the local engine")
    return {
        "images": args.prepare_n,
        "kept": local["report"]["kept"],
        "local_s": local_s,
        "ray_s": ray_s,
        "ray_init_s": init_s,
        "local_images_per_s": args.prepare_n / local_s,
        "ray_images_per_s": args.prepare_n / ray_s,
    }


def markdown(result: dict, command: str) -> str:
    lines = [
        f"# Scale-out on CPU, {result['date']}",
        "",
        f"`{command}`",
        "",
        f"Machine: {result['machine']} (shared with other work: figures are medians of "
        f"{result['args']['repeats']} alternating runs).",
        "",
    ]
    if "training" in result:
        a = result["args"]
        lines += [
            f"## Training: `{a['recipe']}`{' --tiny' if a['tiny'] else ''}, {a['steps']} steps, global batch {a['batch_size']}, "
            f"gloo, {a['threads']} torch thread(s) per process",
            "",
            "| variant | processes | threads each | ms/step | images/s |",
            "|---|---|---|---|---|",
        ]
        for row in result["training"]["rows"]:
            lines.append(
                f"| {row['variant']} | {row['processes']} | {row['threads_per_process']} | "
                f"{row['step_ms']:.0f} | {row['images_per_s']:.1f} |"
            )
        lines += ["", *[f"- {r}" for r in result["training"]["ratios"]], ""]
    if "prepare" in result:
        p = result["prepare"]
        lines += [
            f"## `data prepare world:{p['images']}` ({p['kept']} kept, same samples on both)",
            "",
            "| engine | seconds | images/s |",
            "|---|---|---|",
            f"| local process pool | {p['local_s']:.1f} | {p['local_images_per_s']:.0f} |",
            f"| Ray Data (after a {p['ray_init_s']:.1f} s start) | {p['ray_s']:.1f} | "
            f"{p['ray_images_per_s']:.0f} |",
            "",
            f"- Ray / local time: {p['ray_s'] / p['local_s']:.2f} "
            f"({(p['ray_s'] + p['ray_init_s']) / p['local_s']:.2f} with Ray's start)",
            "",
        ]
    return "\n".join(lines)


def ratios(rows: list[dict]) -> list[str]:
    by = {(r["variant"], r["processes"]): r for r in rows}
    names = list(dict.fromkeys(r["variant"] for r in rows))
    out = []
    for name in names:
        one, two = by[(name, 1)], by[(name, 2)]
        out.append(
            f"{name}: 2 processes / 1 process images/s = "
            f"{two['images_per_s'] / one['images_per_s']:.2f}"
        )
    old, new = names
    for n in (1, 2):
        out.append(
            f"{n} process(es): DDP / hand-rolled images/s = "
            f"{by[(new, n)]['images_per_s'] / by[(old, n)]['images_per_s']:.2f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        default="6d11295",
        help="git commit whose genlab still averaged gradients by hand",
    )
    parser.add_argument("--recipe", default="world-t2i-cpu", help="training recipe to time")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=int, default=16, help="global batch size")
    parser.add_argument("--data-size", type=int, default=256, help="scenes the recipe renders")
    parser.add_argument(
        "--full-size",
        dest="tiny",
        action="store_false",
        help="the recipe's full model (default: its --tiny one; a full world-t2i-cpu step takes "
        "tens of seconds on a shared 2-core CPU)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of data prepare's engines")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each training variant")
    parser.add_argument(
        "--prepare-n", type=int, default=5000, help="world images for data prepare (0: skip)"
    )
    parser.add_argument("--no-training", action="store_true", help="only the data prepare part")
    parser.add_argument(
        "--out",
        default=None,
        help="stem of the JSON and Markdown results (default: "
        "docs/experiments/YYYY-MM-DD-distributed)",
    )
    args = parser.parse_args()
    date = time.strftime("%Y-%m-%d", time.gmtime())
    stem = Path(args.out or ROOT / "docs" / "experiments" / f"{date}-distributed")
    result: dict = {
        "date": date,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "args": vars(args),
    }
    with tempfile.TemporaryDirectory(prefix="genlab-dist-") as tmp:
        if not args.no_training:
            print("training:", flush=True)
            result["training"] = bench_training(args, Path(tmp))
            result["training"]["ratios"] = ratios(result["training"]["rows"])
            for line in result["training"]["ratios"]:
                print(" ", line)
        if args.prepare_n:
            print(f"data prepare world:{args.prepare_n}:", flush=True)
            result["prepare"] = p = bench_prepare(args, Path(tmp))
            print(
                f"  local {p['local_s']:.1f} s, ray {p['ray_s']:.1f} s (+{p['ray_init_s']:.1f} s "
                f"start): Ray / local time = {p['ray_s'] / p['local_s']:.2f}"
            )
    command = "python benchmarks/distributed.py " + " ".join(sys.argv[1:])
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result, command.strip()))
    print(f"wrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
