"""Quality figures of the video parts: the causal 3D VAE (PSNR per frame, flicker of its
reconstructions), the learned 2× upscaler vs. bicubic (PSNR against frames rendered at 64 px), and
a text-to-video model (motion / attribute accuracy, FVD against its real-vs-real floor).

    .venv/bin/python benchmarks/video_quality.py vae --checkpoint runs/world-vae3d/world-vae3d.safetensors
    .venv/bin/python benchmarks/video_quality.py upscaler --checkpoint world-upscaler
    .venv/bin/python benchmarks/video_quality.py t2v --model world-t2v --n 32 [--keyframe world-t2i]
    .venv/bin/python benchmarks/video_quality.py samples --model world-t2v --n 6 --out grid.png
    .venv/bin/python benchmarks/video_quality.py direction --model world-t2v --n 4 --keyframe world-t2i

`temporal` measures how much a video model's frames listen to each other: the mean change of
its prediction for frames 1..T-1 when only frame 0's noisy input is replaced, next to the change
of frame 0's own prediction (at timesteps 100, 500, 900, over n prompts). A model that denoises
each frame on its own scores 0 (then a kept first frame, as in text → image → video, cannot
carry over).

`direction` measures whether the motion asked reaches the video: for n seeds, the same object
"moving left / right / up / down" (same seed, and the same first frame with --keyframe), the mean
|difference| in 0-255 pixels between the frames after the first of opposite directions, next to
how much a video's frames change from one to the next. A model deaf to the direction draws the
same video for both (a difference near 0 against a frame-to-frame change of several levels).

`samples` draws, for the first n evaluation prompts, the generated clip (seed i) above the real
one, one frame per column, and prints each prompt with what the scene parser found.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def bench_vae(args) -> dict:
    from genlab.io import load_checkpoint
    from genlab.models import create_model
    from genlab.train.video import evaluate_vae3d, labelled_clips

    tensors, config = load_checkpoint(args.checkpoint, dtype=torch.float32)
    vae = create_model(config["model"])
    vae.load_state_dict(tensors)
    clips = labelled_clips(args.n, num_frames=9, seed=12345)["videos"]
    return evaluate_vae3d(vae, clips)


def bench_upscaler(args) -> dict:
    from genlab.pipelines.postprocess import bicubic_upscale, learned_upscale, load_upscaler
    from genlab.world import render, sample_scene

    model = load_upscaler(args.checkpoint)
    rng = np.random.default_rng(4321)
    scenes = [sample_scene(rng) for _ in range(args.n)]
    low = np.stack([render(s, 32) for s in scenes])
    high = np.stack([render(s, 64) for s in scenes])
    return {
        "images": args.n,
        "psnr_bicubic": round(psnr(bicubic_upscale(low, 2), high), 2),
        "psnr_learned": round(psnr(learned_upscale(low, model), high), 2),
    }


def _pipelines(args):
    import genlab

    torch.set_num_threads(args.threads)
    pipe = genlab.load(args.model, device="cpu")
    keyframe = genlab.load(args.keyframe, device="cpu") if args.keyframe else None
    return pipe, keyframe


def bench_t2v(args) -> dict:
    from genlab.eval.video import evaluate_pipeline

    pipe, keyframe = _pipelines(args)
    return evaluate_pipeline(
        pipe,
        args.n,
        num_frames=args.frames,
        steps=args.steps,
        features=args.features,
        keyframe=keyframe,
    )


def bench_temporal(args) -> dict:
    from genlab.eval.video import motion_prompts

    pipe, _ = _pipelines(args)
    prompts, _ = motion_prompts(args.n, 0, num_frames=args.frames)
    cond = pipe.encode(prompts).cond
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 3, args.frames, pipe.image_size, pipe.image_size, generator=g)
    x_other = x.clone()
    x_other[:, :, 0] = torch.randn(x[:, :, 0].shape, generator=g)
    out = {}
    with torch.inference_mode():
        for step in (100, 500, 900):
            t = torch.full((args.n,), step)
            a, b = pipe.denoiser(x, t, cond), pipe.denoiser(x_other, t, cond)
            own = float((a[:, :, 0] - b[:, :, 0]).abs().mean())
            others = float((a[:, :, 1:] - b[:, :, 1:]).abs().mean())
            out[f"t={step}"] = {
                "frame0_change": round(own, 4),
                "later_frames_change": round(others, 4),
                "ratio": round(others / own, 4),
            }
    return out


def bench_direction(args) -> dict:
    pipe, keyframe = _pipelines(args)
    extra = {"keyframe": keyframe} if keyframe is not None else {}
    videos = {}
    for d in ("left", "right", "up", "down"):
        result = pipe(
            f"a red circle moving {d}", num_frames=args.frames, num_inference_steps=args.steps,
            seed=0, num_images=args.n, **extra,
        )  # fmt: skip
        videos[d] = np.stack(
            [np.stack([np.asarray(f, np.float32) for f in v]) for v in result.frames]
        )

    def apart(a, b):
        return round(float(np.abs(videos[a][:, 1:] - videos[b][:, 1:]).mean()), 3)

    return {
        "left_vs_right": apart("left", "right"),
        "up_vs_down": apart("up", "down"),
        "left_vs_up": apart("left", "up"),
        "frame_to_frame": round(float(np.abs(np.diff(videos["left"], axis=1)).mean()), 3),
        "videos_per_direction": args.n,
    }


def bench_samples(args) -> dict:
    from PIL import Image

    from genlab.eval.video import motion_prompts, score_video

    pipe, keyframe = _pipelines(args)
    prompts, real = motion_prompts(args.n, 0, num_frames=args.frames)
    rows, found = [], []
    for i, prompt in enumerate(prompts):
        extra = {"keyframe": keyframe} if keyframe is not None else {}
        video = pipe(
            prompt, num_frames=args.frames, num_inference_steps=args.steps, seed=i, **extra
        )
        clip = np.stack([np.asarray(f) for f in video.frames[0]])
        score = score_video(prompt, clip)
        found.append(
            {
                "prompt": prompt,
                "motion_ok": score.motion_ok,
                "object_ok": score.object_ok,
                "later_frames_seen": f"{score.later_ok}/{score.later_total}",
            }
        )
        rows.append(
            np.concatenate([np.concatenate(list(clip), 1), np.concatenate(list(real[i]), 1)])
        )
    grid = np.concatenate(rows)
    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(
        args.out
    )
    return {"grid": args.out, "rows": "generated above real, per prompt", "videos": found}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "what",
        choices=["vae", "upscaler", "t2v", "temporal", "direction", "samples"],
        help="which part to measure",
    )
    p.add_argument("--checkpoint", default="world-upscaler", help="VAE or upscaler checkpoint")
    p.add_argument("--model", default="world-t2v", help="text-to-video model (t2v)")
    p.add_argument("--n", type=int, default=32, help="clips / images / prompts")
    p.add_argument("--frames", type=int, default=8, help="frames per generated video (t2v)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps (t2v)")
    p.add_argument("--features", default="world-t2v-fvd", help="FVD feature network (t2v)")
    p.add_argument("--keyframe", help="text-to-image model drawing each first frame (t2v, samples)")
    p.add_argument("--out", default="t2v_samples.png", help="grid image (samples)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args()
    benches = {"vae": bench_vae, "upscaler": bench_upscaler, "t2v": bench_t2v}
    benches.update(temporal=bench_temporal, direction=bench_direction, samples=bench_samples)
    result = benches[args.what](args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
