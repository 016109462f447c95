"""Does the layout planner's word window help it bind colors to shapes? Planners that differ only
in `word_window` are trained the same way (same initial seed, same batches of the world's "focus"
captions and layouts, AdamW at 1e-3 with 200 warm-up steps) and measured every `--every` steps on
held-out scenes of another seed:

  binding   two objects of different colors and shapes: how often the planner, teacher-forced on
            the true layout (so it has just written the object's shape in its cell), gives that
            object its own color (chance between the two named colors: 0.5)
  loss      the planner's loss on all of the held-out captions

    python benchmarks/planner_word_window.py --steps 200 --windows 0,2

Each planner is the bundled two-stage model's size (width 128, 2 + 2 blocks) over world-t2i's
vocabulary. One thread per planner; on the 2-core CPU a step of 128 scenes (512 captions) takes
about 1.6 s.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def binding_rows(layouts: torch.Tensor) -> torch.Tensor:
    """Rows whose layout holds exactly two objects of different colors and different shapes."""
    from genlab.world.layout import class_indices

    occupied, color, shape, _ = class_indices(layouts)
    keep = occupied.sum(1) == 2
    for attr in (color, shape):
        both = torch.where(occupied, attr, -1).sort(dim=1, descending=True).values[:, :2]
        keep &= both[:, 0] != both[:, 1]
    return keep


@torch.no_grad()
def measure(planner, ids, layouts, bind) -> dict:
    from genlab.models.layout_planner import layout_tokens

    planner.eval()
    length = int((ids != 0).sum(1).max())
    ids = ids[:, :length]
    loss = planner.loss(ids, ids != 0, layouts).item()
    b_ids, b_layouts = ids[bind], layouts[bind]
    color_logits = planner(b_ids, b_ids != 0, b_layouts)[1]
    target = layout_tokens(b_layouts).view(len(b_layouts), -1, 3)
    objects = target[..., 0] > 0
    right = color_logits.argmax(-1)[objects] == target[..., 1][objects]
    planner.train()
    return {"binding": round(right.float().mean().item(), 4), "loss": round(loss, 4)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", default="0,2", help="word_window values to compare")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--every", type=int, default=100, help="measure every N steps")
    p.add_argument("--batch-size", type=int, default=128, help="scenes per step (4 captions each)")
    p.add_argument("--data-size", type=int, default=100_000, help="training scenes")
    p.add_argument("--val-size", type=int, default=1500, help="held-out scenes (another seed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    import genlab
    from genlab.models import create_model
    from genlab.train.text2image import world_corpus

    torch.set_num_threads(1)
    tokenizer = genlab.load("world-t2i", device="cpu").text_encoder.tokenizer

    def corpus(n, seed):
        c = world_corpus(n, size=16, seed=seed, tokenizer=tokenizer, max_length=48,
                         progress=False, scenes="focus")  # fmt: skip
        k = c["tokens"].shape[1]
        return c["tokens"].long(), c["layouts"].long(), k

    tokens, layouts, k = corpus(args.data_size, args.seed + 12)
    val_tokens, val_layouts, _ = corpus(args.val_size, args.seed + 99)
    val_ids = val_tokens.flatten(0, 1)
    val_layouts = val_layouts.repeat_interleave(k, 0)
    bind = binding_rows(val_layouts)
    print(f"{args.data_size:,} training scenes × {k} captions; {len(val_ids):,} held-out captions,"
          f" {int(bind.sum()):,} of them binding")  # fmt: skip
    results = {}
    for window in [int(w) for w in args.windows.split(",")]:
        torch.manual_seed(args.seed)
        planner = create_model({"arch": "layout-planner"}, vocab_size=len(tokenizer),
                               max_length=48, word_window=window)  # fmt: skip
        opt = torch.optim.AdamW(planner.parameters(), lr=1e-3, weight_decay=0.01)
        batches = torch.Generator().manual_seed(args.seed + 1)
        start, curve = time.perf_counter(), []
        for step in range(1, args.steps + 1):
            for group in opt.param_groups:
                group["lr"] = 1e-3 * min(1.0, step / 200)
            pick = torch.randint(0, len(tokens), (args.batch_size,), generator=batches)
            loss = planner.captions_loss(tokens[pick], layouts[pick])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(planner.parameters(), 1.0)
            opt.step()
            if step % args.every == 0 or step == args.steps:
                row = {"step": step, **measure(planner, val_ids, val_layouts, bind)}
                curve.append(row)
                print(f"  word_window {window}: step {step:>5}  binding {row['binding']:.3f}  "
                      f"held-out loss {row['loss']:.3f}  ({time.perf_counter() - start:.0f} s)",
                      flush=True)  # fmt: skip
        results[f"word_window={window}"] = curve
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
