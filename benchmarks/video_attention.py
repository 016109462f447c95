"""Factored (space, then time) vs. full 3D attention in the video DiT at equal training compute:
parameters, FLOPs per clip, training speed, and held-out diffusion loss after the same FLOP budget.

Both models see the same 8-frame world clips in the same order; each trains until it has spent
`--gflops` of forward FLOPs (counted by torch's FlopCounterMode), so the cheaper one takes more
steps. The validation loss uses fixed clips, noise and timesteps for both.

    .venv/bin/python benchmarks/video_attention.py --gflops 2000 --frames 8      # ~10 CPU minutes
    .venv/bin/python benchmarks/video_attention.py --gflops 100 --frames 4       # smoke run
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from genlab.diffusion import NoiseSchedule, diffusion_loss
from genlab.models import create_model
from genlab.text import TextEncoder
from genlab.train.video import Stage, StagedClipSource, video_vocabulary


def build(attention: str, args, tokenizer):
    torch.manual_seed(0)
    text = TextEncoder(vocab=tokenizer.vocab, max_length=48, width=args.width, depth=1, num_heads=4)
    model = create_model(
        "video-dit-world-s",
        hidden_size=args.width,
        depth=args.depth,
        num_heads=4,
        patch_size=args.patch,
        attention=attention,
        context_dim=args.width,
        pooled_dim=args.width,
    )
    return model, text


def loss_of(model, text, batch, schedule, generator=None):
    x0 = (
        batch["videos"].permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    )  # (B, T, H, W, 3) -> (B, 3, T, H, W)
    ids = batch["tokens"].long()
    tokens, mask, pooled = text(ids, ids != 0)
    cond = {"tokens": tokens, "mask": mask, "pooled": pooled}
    B = x0.shape[0]
    t = torch.randint(0, 1000, (B,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    return diffusion_loss(model, x0, cond, schedule, "v_prediction", noise=noise, t=t)


def forward_gflops(model, text, batch, schedule) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        loss_of(model, text, batch, schedule, torch.Generator().manual_seed(0))
    return counter.get_total_flops() / 1e9


def run(attention: str, args, tokenizer, source, val) -> dict:
    model, text = build(attention, args, tokenizer)
    schedule = NoiseSchedule.create("cosine")
    params = [*model.parameters(), *text.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr)
    first = source.fetch(torch.arange(args.batch))
    per_step = 3 * forward_gflops(model, text, first, schedule)  # backward ≈ 2× forward
    steps = max(1, int(args.gflops / per_step))
    t0 = time.perf_counter()
    for step in range(steps):
        batch = source.fetch(torch.arange(step * args.batch, (step + 1) * args.batch))
        torch.manual_seed(step)
        loss = loss_of(model, text, batch, schedule)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        val_loss = float(loss_of(model, text, val, schedule, torch.Generator().manual_seed(1)))
    return {
        "attention": attention,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_gflops_per_step": round(per_step, 2),
        "steps": steps,
        "seconds_per_step": round(seconds / steps, 3),
        "clips_per_s": round(steps * args.batch / seconds, 2),
        "val_loss": round(val_loss, 4),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gflops", type=float, default=2000, help="training FLOP budget per model")
    p.add_argument("--frames", type=int, default=8, help="clip length")
    p.add_argument("--batch", type=int, default=8, help="clips per step")
    p.add_argument("--width", type=int, default=64, help="transformer width")
    p.add_argument("--depth", type=int, default=2, help="transformer blocks")
    p.add_argument("--patch", type=int, default=8, help="spatial patch size (32 px frames)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = video_vocabulary(n_scenes=500)
    source = StagedClipSource(
        [Stage(0, (args.frames,))], args.batch, tokenizer, 48, corpus_size=2000
    )
    held_out = StagedClipSource([Stage(0, (args.frames,))], 32, tokenizer, 48, seed=99)
    val = held_out.fetch(torch.arange(32))
    rows = [run(mode, args, tokenizer, source, val) for mode in ("factored", "full")]
    print(json.dumps({"config": vars(args), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
