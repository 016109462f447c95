"""Plot a training run's log (the Trainer's OUT/log.jsonl): loss (log scale) and images/s
against the step, with the steps the NaN/spike guard skipped marked when the run's stderr log is
given.

    python benchmarks/plot_training.py runs/world-t2i/log.jsonl --out loss.png
    python benchmarks/plot_training.py runs/world-t2i/log.jsonl --stderr train.log --out loss.png
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def read_log(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}:{n}: not a JSON line ({e.msg})") from None
        if "step" not in row:
            raise SystemExit(f"{path}:{n}: no 'step' field: is this a genlab log.jsonl?")
        rows.append(row)
    if not rows:
        raise SystemExit(f"{path}: no log lines")
    return rows


def skipped_steps(path: Path) -> list[int]:
    """Steps the trainer reported as skipped ("step N: ... update skipped: ...")."""
    pattern = re.compile(r"^step (\d+): .* update skipped")
    return [int(m.group(1)) for m in map(pattern.match, path.read_text().splitlines()) if m]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("log", type=Path, help="a Trainer log.jsonl")
    p.add_argument("--stderr", type=Path, help="the run's printed log, to mark skipped steps")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--title", default=None, help="figure title (default: the log's folder)")
    args = p.parse_args(argv)
    for path in (args.log, args.stderr):
        if path is not None and not path.is_file():
            p.error(f"no such file: {path}")
    if args.out.suffix.lower() != ".png":
        p.error(f"--out: expected a .png path, got {args.out}")
    rows = read_log(args.log)
    loss_key = "loss" if "loss" in rows[0] else next(k for k in rows[0] if k.startswith("loss"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (ax_loss, ax_speed) = plt.subplots(2, 1, figsize=(7, 5), sharex=True,
                                             gridspec_kw={"height_ratios": [3, 1]})  # fmt: skip
    ax_loss.plot(steps, [r[loss_key] for r in rows], lw=1.2)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel(f"{loss_key} (mean per log interval)")
    if args.stderr:
        skipped = skipped_steps(args.stderr)
        for s in skipped:
            ax_loss.axvline(s, color="tab:red", alpha=0.15, lw=1)
        if skipped:
            ax_loss.plot([], [], color="tab:red", alpha=0.5, label=f"{len(skipped)} skipped steps")
            ax_loss.legend()
    ax_loss.grid(alpha=0.3, which="both")
    ax_speed.plot(
        steps, [r.get("images_per_s", float("nan")) for r in rows], lw=1, color="tab:green"
    )
    ax_speed.set_ylabel("images/s")
    ax_speed.set_xlabel("step")
    ax_speed.grid(alpha=0.3)
    fig.suptitle(args.title or args.log.parent.name)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(rows)} log points, steps {steps[0]}-{steps[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
