"""Can genlab's video DiT learn a direction of motion at all? A toy probe on the CPU.

Clips of 8 frames, 32×32, one channel: a white 4×4 square on black that moves 1 pixel per frame,
left or right, from a start drawn so that either direction fits (the first frame says nothing
about the direction). The direction is a class label (0 left, 1 right; no text tower in the way).
The model is `VideoDiT` with the world models' tokenization (4×4 patches, factored attention by
default) and first-frame conditioning on half of the training clips, as `world-t2v` trains
(v-prediction on a cosine schedule, AdamW with warm-up and a cosine decay, samples from an EMA).
After training it samples 64 clips per direction, with the first frame given (image → video)
and without (text → video), and reads the square's horizontal centroid in each frame:

    direction accuracy   the sign of (last − first centroid) matches the label, with a shift of at
                         least 3 of the 7 pixels
    shift                mean signed shift toward the label's direction (7 = exact)
    whole frames         frames whose bright mass is that of one square (16 ± 6 pixels)

    python benchmarks/video_direction_probe.py --steps 1500 --out probe.json
    python benchmarks/video_direction_probe.py --attention full    # 3D attention instead
    python benchmarks/video_direction_probe.py --model unet --width 16 --temporal-conv

It tells whether the bundled world-t2v's motion at chance (issue #9) is the architecture and
objective failing or the world model's scale: here the direction is the only thing to learn.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from genlab.diffusion import NoiseSchedule, Objective, classifier_free_guidance, sample
from genlab.models.video_dit import ATTENTION_MODES, TIME_EMBEDDINGS, VideoDiT
from genlab.models.video_unet import VideoUNet
from genlab.train.trainer import EMA

SIZE, FRAMES, SIDE, SPEED = 32, 8, 4, 1


def clips(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 1, T, 32, 32) in [-1, 1]: a square moving left (label 0) or right (label 1)."""
    B = labels.shape[0]
    travel = SPEED * (FRAMES - 1)
    x0 = torch.randint(travel, SIZE - SIDE - travel + 1, (B,), generator=generator)
    y0 = torch.randint(0, SIZE - SIDE + 1, (B,), generator=generator)
    step = torch.where(labels == 1, SPEED, -SPEED)
    t = torch.arange(FRAMES)
    xs = x0[:, None] + step[:, None] * t[None]  # (B, T) left edge per frame
    col = torch.arange(SIZE)
    in_x = (col[None, None] >= xs[..., None]) & (col[None, None] < xs[..., None] + SIDE)  # B,T,W
    in_y = (col[None] >= y0[:, None]) & (col[None] < y0[:, None] + SIDE)  # (B, H)
    video = in_y[:, None, :, None] & in_x[:, :, None, :]  # (B, T, H, W)
    return video.float().mul(2).sub(1)[:, None]


def centroids(video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal centroid (B, T) of the bright pixels, and their count (B, T)."""
    bright = (video[:, 0] > 0).float()  # (B, T, H, W)
    mass = bright.sum(dim=(2, 3))
    col = torch.arange(SIZE, dtype=torch.float32)
    x = (bright.sum(dim=2) * col).sum(dim=-1) / mass.clamp(min=1)
    return x, mass


def score(video: torch.Tensor, labels: torch.Tensor) -> dict:
    x, mass = centroids(video)
    sign = torch.where(labels == 1, 1.0, -1.0)
    shift = (x[:, -1] - x[:, 0]) * sign
    found = (mass[:, 0] > 0) & (mass[:, -1] > 0)
    correct = found & (shift >= 3)
    whole = ((mass - SIDE * SIDE).abs() <= 6).float().mean()
    return {
        "direction_accuracy": float(correct.float().mean()),
        "mean_shift_px": float(shift[found].mean()) if found.any() else None,
        "whole_frames": float(whole),
    }


def save_grid(video: torch.Tensor, path: Path, scale: int = 4) -> None:
    """Clips (B, 1, T, H, W) in [-1, 1] as one PNG: a row per clip, a column per frame."""
    from PIL import Image

    B, _, T, H, W = video.shape
    pixels = ((video[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (B, T, H, W)
    grid = torch.full((B * (H + 2), T * (W + 2)), 128, dtype=torch.uint8)
    for b in range(B):
        for t in range(T):
            grid[b * (H + 2) : b * (H + 2) + H, t * (W + 2) : t * (W + 2) + W] = pixels[b, t]
    image = Image.fromarray(grid.numpy(), mode="L")
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(path)


def build_model(args) -> torch.nn.Module:
    """The denoiser under test, label-conditioned (2 classes and the null), first frame given."""
    if args.model == "unet":
        # The image U-Net of the world models frame by frame, temporal attention after each
        # stage; `--width` is its base channels, `--depth` is ignored.
        return VideoUNet(
            in_channels=1, model_channels=args.width, channel_mult=(1, 2, 2), num_res_blocks=1,
            attention_levels=(2,), head_dim=args.width, temporal_head_dim=args.width,
            num_classes=2, context_dim=None, pooled_dim=None, frame_cond=True,
            max_frames=FRAMES, temporal_conv=args.temporal_conv,
        )  # fmt: skip
    return VideoDiT(
        depth=args.depth, hidden_size=args.width, num_heads=4, patch_size=args.patch,
        in_channels=1, input_size=SIZE, num_classes=2, context_dim=None, pooled_dim=None,
        attention=args.attention, frame_cond=True, max_frames=FRAMES,
        time_embedding=args.time_embedding,
    )  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=1500, help="training steps (default %(default)s)")
    p.add_argument("--batch", type=int, default=32, help="clips per step (default %(default)s)")
    p.add_argument("--lr", type=float, default=5e-4, help="AdamW rate (default %(default)s)")
    p.add_argument(
        "--model",
        choices=("dit", "unet"),
        default="dit",
        help="the video DiT (default) or the video U-Net (genlab.models.video_unet)",
    )
    p.add_argument(
        "--temporal-conv",
        action="store_true",
        help="U-Net: a 3-D convolution block before each temporal attention "
        "(VideoUNetConfig.temporal_conv)",
    )
    p.add_argument("--attention", choices=ATTENTION_MODES, default="factored", help="DiT")
    p.add_argument("--patch", type=int, default=4, help="DiT patch side (default %(default)s)")
    p.add_argument(
        "--time-embedding",
        choices=TIME_EMBEDDINGS,
        default="sum",
        help="how tokens know their frame (VideoDiTConfig.time_embedding; default %(default)s)",
    )
    p.add_argument(
        "--width",
        type=int,
        default=96,
        help="DiT hidden size, U-Net base channels (default %(default)s)",
    )
    p.add_argument("--depth", type=int, default=4, help="blocks (default %(default)s)")
    p.add_argument("--samples", type=int, default=64, help="clips per direction and mode")
    p.add_argument("--guidance", type=float, default=3.0, help="CFG scale (default %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument(
        "--grid",
        default=None,
        help="write 4 sampled clips per direction as PNG here (one per sampling mode: "
        "NAME.first_frame.png, NAME.label_only.png; rows: left, left, ..., right; columns: frames)",
    )
    args = p.parse_args(argv)
    for name in ("steps", "batch", "samples", "width", "depth", "threads", "patch"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: expected a positive integer, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)

    model = build_model(args)
    schedule = NoiseSchedule.create("cosine")  # with v-prediction, as world-t2v trains
    objective = Objective(schedule, "v_prediction")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0)
    ema = EMA({"model": model}, decay=0.999, warmup=True)  # genlab's Trainer's: what is sampled
    n_params = sum(q.numel() for q in model.parameters())
    kind = ("video U-Net, " + ("3-D conv + " if args.temporal_conv else "") +
            "temporal attention after each stage" if args.model == "unet" else
            f"VideoDiT, {args.attention} attention, {args.time_embedding} time embedding, "
            f"{args.patch}x{args.patch} patches")  # fmt: skip
    print(f"{kind}, {n_params / 1e6:.2f}M params, {args.steps} steps of {args.batch} clips",
          flush=True)  # fmt: skip
    start = time.perf_counter()
    losses = []
    bar = tqdm(range(args.steps), desc="train", unit="step")
    for step in bar:
        # 100 warm-up steps, then a cosine from lr down to lr/10 at the last step
        done = max(0.0, (step - 100) / max(1, args.steps - 100))
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.55 + 0.45 * math.cos(math.pi * done))
        for group in opt.param_groups:
            group["lr"] = lr
        labels = torch.randint(0, 2, (args.batch,), generator=g)
        x0 = clips(labels, g)
        noise = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, schedule.num_train_timesteps, (args.batch,), generator=g)
        given = (torch.rand(args.batch, generator=g) < 0.5).float()
        cond = {"labels": labels, "first_frame": x0[:, :, 0], "first_frame_given": given}
        pred = model(schedule.add_noise(x0, noise, t), t.float(), cond)
        loss = F.mse_loss(pred, objective.training_target(x0, noise, t))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update()
        losses.append(float(loss.detach()))
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
    train_s = time.perf_counter() - start

    model.eval()
    results = {"model": args.model, "temporal_conv": args.temporal_conv, "patch": args.patch, "attention": args.attention, "time_embedding": args.time_embedding,
               "params_m": n_params / 1e6, "steps": args.steps, "batch": args.batch,
               "lr": args.lr, "train_s": train_s,
               "final_loss": sum(losses[-100:]) / len(losses[-100:])}  # fmt: skip
    labels = torch.arange(2).repeat_interleave(args.samples)
    first = clips(labels, g)[:, :, 0]
    for mode in ("first_frame", "label_only"):
        given = torch.full((labels.shape[0],), 1.0 if mode == "first_frame" else 0.0)
        cond = {"labels": labels, "first_frame": first, "first_frame_given": given}
        uncond = dict(cond, labels=torch.full_like(labels, 2))  # the learned null class
        denoise = classifier_free_guidance(model, cond, uncond, args.guidance)
        with ema.swapped_in(), torch.inference_mode():  # sample the EMA weights
            video = sample(denoise, (labels.shape[0], 1, FRAMES, SIZE, SIZE), schedule=schedule,
                           prediction_type="v_prediction", sampler="ddim",
                           num_inference_steps=20, generator=args.seed)  # fmt: skip
        results[mode] = score(video, labels)
        if args.grid:
            picks = torch.cat(
                [video[:4], video[args.samples : args.samples + 4]]
            )  # 4 left, 4 right
            save_grid(picks, Path(args.grid).with_suffix(f".{mode}.png"))
        print(f"{mode:12s} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in results[mode].items()), flush=True)  # fmt: skip
    real = clips(labels, g)
    results["real_clips"] = score(real, labels)
    print(f"train {train_s:.0f} s, final loss {results['final_loss']:.4f}; real clips: "
          f"{results['real_clips']}")  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
