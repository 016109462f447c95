"""Text → video by planning a layout per frame and drawing it with a layout-conditioned image
model: `world-t2v-layout`. Training-free: the bundled `world-t2i-layout` draws; nothing is trained.

The prompt is read by the world grammar; the grammar realizes it as a scene whose objects start
where their motions can play, and the world's own motion (genlab.world.video.object_state) gives
each object's center and size in every frame: a trajectory per object, the layout per frame. The
image model's denoiser draws the first frame from its layout. The later frames are made one of
two ways (`animation`):
- "cutout" (default: measured better, the model card): the objects the image model drew are cut
  out of the first frame and moved (scaled, for growing and shrinking) along their trajectories:
  cut-out animation; every later frame shows exactly what was drawn in the first;
- "redraw": every frame is drawn from its own layout, all from one starting noise whose patch
  under each object travels with it (the grounded video generation of LLM-grounded Video
  Diffusion, Lian et al. 2023, with the object-following noise of Text2Video-Zero's motion
  dynamics, Khachatryan et al. 2023).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.diffusion import classifier_free_guidance
from genlab.errors import CheckpointError, InvalidArgument, check_choice
from genlab.io import read_checkpoint_config, to_pil
from genlab.pipelines.base import GenerationResult
from genlab.pipelines.registry import load as load_pipeline
from genlab.pipelines.registry import register_pipeline
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.pipelines.text2video import Text2VideoPipeline, VideoOptions
from genlab.pipelines.text_diffusion import SamplingArgs
from genlab.pipelines.world_prompts import note_readings
from genlab.world.grammar import SceneRequest, canonical_caption, realize, request_of
from genlab.world.layout import LAYOUT_BG_CHANNELS, LAYOUT_CHANNELS, background_indices
from genlab.world.spec import BACKGROUNDS, COLORS, GRID, SHAPES, SIZES, Scene
from genlab.world.video import MAX_FRAMES, MIN_FRAMES, object_state

KIND = "text2video"  # a checkpoint of this kind with an "image_model" is one of these
# The one plan source: the grammar's scene, moved by the world's motions (a name for metadata and
# for callers that pass world-t2v's plan_source).
PLAN_SOURCES = ("layout",)
# How the frames after the first are made: "redraw", each drawn by the image model from its own
# layout; "cutout", the first frame's objects moved along their trajectories (cut-out animation).
ANIMATIONS = ("redraw", "cutout")
_COLORS, _SIZES, _BACKGROUNDS = tuple(COLORS), tuple(SIZES), tuple(BACKGROUNDS)


def frame_states(scene: Scene, num_frames: int) -> list[list[tuple[float, float, float]]]:
    """Per frame, per object of `scene`: (cx, cy, radius) in image units, its planned trajectory
    (the world's motion over the clip: frame k is time k / (num_frames - 1))."""
    motions = scene.motions
    return [
        [object_state(o, m, k / max(num_frames - 1, 1)) for o, m in zip(scene.objects, motions)]
        for k in range(num_frames)
    ]


def placed_layout_features(
    scene: Scene,
    states: list[tuple[float, float, float]],
    height: int,
    width: int,
    channels: int = LAYOUT_CHANNELS,
    background: str | None = None,
) -> torch.Tensor:
    """(channels, height, width) layout features of `scene`'s objects at `states` (cx, cy,
    radius each): the features genlab.world.layout.layout_features gives a grid cell (a one-hot
    "empty", or one-hots of color, shape and size), painted over a cell-sized square centered on
    the object wherever it is, so an object between two cells is planned between them. The size
    one-hot is the world size nearest the radius. With LAYOUT_BG_CHANNELS, `background` everywhere.
    """
    f = torch.zeros(channels, height, width)
    f[0] = 1.0  # empty
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width
    half = 0.5 / GRID
    sizes = list(SIZES.values())
    for obj, (cx, cy, radius) in zip(scene.objects, states):
        inside = ((ys[:, None] - cy).abs() < half) & ((xs[None, :] - cx).abs() < half)
        v = torch.zeros(channels)
        v[1 + _COLORS.index(obj.color)] = 1.0
        v[1 + len(_COLORS) + SHAPES.index(obj.shape)] = 1.0
        nearest = min(range(len(sizes)), key=lambda j: abs(sizes[j] - radius))
        v[1 + len(_COLORS) + len(SHAPES) + nearest] = 1.0
        f[:LAYOUT_CHANNELS, inside] = v[:LAYOUT_CHANNELS, None]
    if channels == LAYOUT_BG_CHANNELS:
        bg = int(background_indices([background], 1)[0])
        if bg >= 0:
            f[LAYOUT_CHANNELS + bg] = 1.0
    return f


def object_following_noise(
    noise: torch.Tensor, trajectory: list[list[tuple[float, float, float]]]
) -> torch.Tensor:
    """(T, C, H, W) starting noise for the T frames of one video from one (C, H, W) draw: every
    frame has the same noise, except that the patch under each object at frame 0 (a square of
    twice its largest radius, one pixel more) is carried to where the object is at frame k, so
    the denoiser finds the object's noise wherever the plan puts it (Text2Video-Zero's warped
    latents, per object instead of one global shift)."""
    C, H, W = noise.shape
    T = len(trajectory)
    out = noise[None].repeat(T, 1, 1, 1)
    for j, (cx0, cy0, _) in enumerate(trajectory[0]):
        largest = max(frame[j][2] for frame in trajectory)
        half = int(math.ceil(largest * max(H, W))) + 1
        x0, y0 = int(round(cx0 * W)), int(round(cy0 * H))
        ya, yb = max(y0 - half, 0), min(y0 + half, H)
        xa, xb = max(x0 - half, 0), min(x0 + half, W)
        patch = noise[:, ya:yb, xa:xb]
        for k in range(1, T):
            cx, cy, _ = trajectory[k][j]
            dx, dy = int(round((cx - cx0) * W)), int(round((cy - cy0) * H))
            # the moved patch, cut where it leaves the frame
            ta, tb = max(ya + dy, 0), min(yb + dy, H)
            la, lb = max(xa + dx, 0), min(xb + dx, W)
            if ta < tb and la < lb:
                out[k, :, ta:tb, la:lb] = patch[
                    :, ta - ya - dy : tb - ya - dy, la - xa - dx : lb - xa - dx
                ]
    return out


def move_drawn_objects(
    first: torch.Tensor, trajectory: list[list[tuple[float, float, float]]]
) -> torch.Tensor:
    """(T, C, H, W) frames in [-1, 1] from a drawn first frame (C, H, W) and the planned
    trajectory: each object is cut out of the first frame where the plan put it (its cell-sized
    square; opacity from its distance to the background color, the median of the pixels outside
    every square) and moved, scaled about its center for growing and shrinking, to its planned
    place in frame k over the first frame with the objects taken out. Cut-out animation: the later
    frames show exactly what the image model drew in the first."""
    C, H, W = first.shape
    T = len(trajectory)
    ys = (torch.arange(H, dtype=torch.float32) + 0.5) / H
    xs = (torch.arange(W, dtype=torch.float32) + 0.5) / W
    half = 0.5 / GRID
    squares = [
        ((ys[:, None] - cy).abs() < half) & ((xs[None, :] - cx).abs() < half)
        for cx, cy, _ in trajectory[0]
    ]
    outside = ~torch.stack(squares).any(0) if squares else torch.ones(H, W, dtype=torch.bool)
    pixels = first[:, outside] if outside.any() else first.reshape(C, -1)
    background = pixels.median(dim=1).values  # (C,)
    distance = (first - background[:, None, None]).norm(dim=0)  # (H, W)
    plate = first.clone()
    sprites = []
    for square in squares:
        d = torch.where(square, distance, torch.zeros_like(distance))
        # opacity 1 at the object's own color (the pixels farthest from the background)
        full = torch.quantile(d[square], 0.9).clamp(min=1e-3)
        alpha = (d / full).clamp(0, 1)
        alpha = torch.where(alpha < 0.1, torch.zeros_like(alpha), alpha)  # sampling noise
        color = (first - (1 - alpha) * background[:, None, None]) / alpha.clamp(min=1e-3)
        sprites.append((color.clamp(-1, 1) * alpha, alpha))  # premultiplied
        plate = torch.where(alpha[None] > 0, background[:, None, None], plate)
    frames = plate[None].repeat(T, 1, 1, 1)
    frames[0] = first
    for k in range(1, T):
        for j, (premultiplied, alpha) in enumerate(sprites):
            cx0, cy0, r0 = trajectory[0][j]
            cx, cy, r = trajectory[k][j]
            scale = r / r0
            # the affine map from frame k's pixels back to the first frame's (normalised coords)
            theta = torch.tensor(
                [
                    [1 / scale, 0.0, (2 * cx0 - 1) - (2 * cx - 1) / scale],
                    [0.0, 1 / scale, (2 * cy0 - 1) - (2 * cy - 1) / scale],
                ]
            )
            grid = torch.nn.functional.affine_grid(
                theta[None], [1, C + 1, H, W], align_corners=False
            )
            rgba = torch.cat([premultiplied, alpha[None]])[None]
            moved = torch.nn.functional.grid_sample(rgba, grid, align_corners=False)[0]
            a = moved[C:]
            frames[k] = frames[k] * (1 - a) + moved[:C]
    return frames


class LayoutVideoPipeline(Text2VideoPipeline):
    """`pipe(prompt, num_frames=8, ...)` -> GenerationResult whose `.frames[i]` is video i (a list
    of PIL frames): a prompt of the built-in world, planned per frame by the grammar and the
    world's motions, each frame drawn by a layout-conditioned image model (`image_pipe`, e.g. the
    bundled world-t2i-layout). Training-free: no weights of its own."""

    def __init__(
        self,
        image_pipe: Text2ImagePipeline,
        *,
        name: str = "layout2video",
        num_frames: int = 8,
        default_animation: str = "cutout",
        info: dict[str, Any] | None = None,
    ):
        check_choice("default_animation", default_animation, ANIMATIONS)
        if not isinstance(image_pipe, Text2ImagePipeline) or isinstance(
            image_pipe, Text2VideoPipeline
        ):
            raise InvalidArgument("image_model", "a genlab text-to-image pipeline", image_pipe)
        if not getattr(image_pipe.denoiser.config, "layout_channels", 0):
            raise InvalidArgument(
                "image_model", "a model whose denoiser reads layouts", image_pipe.name
            )
        if image_pipe.autoencoder is not None:
            raise InvalidArgument("image_model", "a pixel-space layout model", image_pipe.name)
        super().__init__(
            image_pipe.denoiser,
            image_pipe.text_encoder,
            image_pipe.schedule,
            image_pipe.prediction_type,
            name=name,
            image_size=image_pipe.image_size,
            num_frames=num_frames,
            default_guidance_scale=image_pipe.default_guidance_scale,
            info=info,
        )
        self.layout_planner = image_pipe.layout_planner  # counted in describe()'s parameters
        self.image_pipe = image_pipe
        self.default_animation = default_animation
        if not self.reads_world_prompts:
            raise InvalidArgument(
                "image_model", "a model whose tokenizer speaks the built-in world", image_pipe.name
            )

    # ------------------------------------------------------------------ checkpoints

    @classmethod
    def from_checkpoint(cls, path, config=None, *, device=None) -> LayoutVideoPipeline:
        """Its checkpoint holds no tensors: its config names the image model ("image_model": a
        bundled name, or a path, relative to the checkpoint's folder)."""
        config = config or read_checkpoint_config(path)
        image_model = config.get("image_model")
        if config.get("pipeline") != KIND or not isinstance(image_model, str) or not image_model:
            raise CheckpointError(f"{path}: not a text2video checkpoint naming an image_model")
        beside = Path(path).parent / image_model
        source = str(beside) if beside.is_file() else image_model
        image_pipe = load_pipeline(source, **({"device": device} if device else {}))
        return cls(
            image_pipe,
            name=config.get("name", Path(path).stem),
            num_frames=int(config.get("num_frames", 8)),
            default_animation=config.get("default_animation", "cutout"),
            info=config,
        )

    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """No tensors; the config names the image model, and repeats what a reader of configs
        alone (the server's model list) asks: the image size and the tokenizer's vocabulary."""
        config = {
            **{k: v for k, v in self.info.items() if k != "training"},
            "pipeline": KIND,
            "name": self.name,
            "image_model": self.info.get("image_model", self.image_pipe.name),
            "num_frames": self.num_frames,
            "default_animation": self.default_animation,
            "image_size": self.image_size,
            "text_encoder": self.text_encoder.config.to_dict(),
        }
        return {}, config

    # ------------------------------------------------------------------ facts

    @property
    def max_frames(self) -> int:
        return MAX_FRAMES

    @property
    def valid_frames(self) -> list[int]:
        return list(range(MIN_FRAMES, MAX_FRAMES + 1))

    def describe(self) -> dict[str, Any]:
        info = self._facts(["generate", "negative_prompt"], self.layout_planner)
        info.update(
            num_frames=self.num_frames,
            valid_frames=self.valid_frames,
            image_model=self.image_pipe.name,
            plan="per-frame layouts from the grammar's scene and the world's motions",
            first_frame_conditioning=False,
        )
        return info

    # ------------------------------------------------------------------ generation

    def _videos(
        self, args: SamplingArgs, num_frames: int, height, width, options: VideoOptions
    ) -> GenerationResult:
        """The videos of a call (Text2VideoPipeline's): `num_images` per prompt; video i is
        planned and drawn with seed + i. It draws from text only (no `image`, `keyframe` or
        `keyframe_score`); `plan_source` is "layout" (None: the same); `animation` "cutout" or
        "redraw" (None: the model's default, see the module docstring).

        Per video: the grammar realizes what was read as a whole scene (what the prompt leaves
        open drawn with seed + i: cells where each motion can play, sizes a growing or shrinking
        object starts from, the background), each object's trajectory is the world's motion,
        and frame k is drawn by the image model's denoiser from the layout of frame k (its
        objects at their planned places, between grid cells too) and the caption of the objects
        and background (no positions or motions: the layouts carry them). Frame 0 is the image
        the image model draws of that plan with seed + i. The metadata gives the plan ("plan":
        the canonical caption of the realized scene) and the caption drawn ("read_as").
        """
        if options.image is not None:
            raise InvalidArgument(
                "image", f"None: {self.name} draws videos from text only", "an image"
            )
        for name in ("keyframe", "keyframe_score"):
            if getattr(options, name) is not None:
                raise InvalidArgument(
                    name, f"None: {self.name} draws every frame from its own plan",
                    getattr(options, name),
                )  # fmt: skip
        if options.keyframe_candidates != 1:  # (they choose among a keyframe model's first frames)
            raise InvalidArgument(
                "keyframe_candidates",
                f"1 unless a keyframe model is given ({self.name} takes none)",
                options.keyframe_candidates,
            )
        plan_source = "layout" if options.plan_source is None else options.plan_source
        check_choice("plan_source", plan_source, PLAN_SOURCES)
        animation = self.default_animation if options.animation is None else options.animation
        check_choice("animation", animation, ANIMATIONS)
        args = self._checked(args)
        prompts, num_images, negative_prompt = args.prompts, args.num_images, args.negative_prompt
        guidance_scale, seed = args.guidance_scale, args.seed
        T = self.check_num_frames(num_frames)
        H, W = height or self.image_size, width or self.image_size
        self._check_size(H, W)
        expanded, read = self._read_batch(prompts, num_images)
        scenes = [self.plan_scene(r.request, seed + i) for i, r in enumerate(read)]
        texts = [self.frame_caption(r.request, scene) for r, scene in zip(read, scenes)]

        B, C = len(expanded), self.denoiser.config.in_channels
        channels = self.denoiser.config.layout_channels
        x_first = self._initial_noise((C, H, W), seed, B).cpu()  # video i: seed + i
        trajectories = [frame_states(scene, T) for scene in scenes]
        drawn = 1 if animation == "cutout" else T  # frames the image model draws per video
        features, noise = [], []
        for i, (scene, trajectory) in enumerate(zip(scenes, trajectories)):
            for states in trajectory[:drawn]:
                features.append(
                    placed_layout_features(scene, states, H, W, channels, scene.background)
                )
            noise.append(object_following_noise(x_first[i], trajectory[:drawn]))
        features = torch.stack(features).to(self.device)  # (B·drawn, channels, H, W)
        x_T = torch.cat(noise).to(self.device)  # (B·drawn, C, H, W)

        cond, uncond = self._text_conditions(
            [t for t in texts for _ in range(drawn)], negative_prompt
        )
        cond = {**cond, "layout": features}
        uncond = {**uncond, "layout": torch.zeros(1, channels, H, W, device=self.device)}
        denoise = classifier_free_guidance(self.denoiser, cond, uncond, guidance_scale)
        frames_out = self._sample(denoise, (B * drawn, C, H, W), args, x_T).clamp(-1, 1)
        frames_out = frames_out.reshape(B, drawn, C, H, W).cpu()
        if animation == "cutout":
            frames_out = torch.stack(
                [move_drawn_objects(v[0], tr) for v, tr in zip(frames_out, trajectories)]
            ).clamp(-1, 1)
        frames = [[to_pil(f) for f in video] for video in frames_out]
        metadata = self._metadata(expanded, args, height=H, width=W, num_frames=T)
        note_readings(metadata, expanded, texts, read)
        for meta, scene in zip(metadata, scenes):
            meta["plan_source"] = "layout"
            meta["animation"] = animation
            meta["plan"] = canonical_caption(scene)
        return GenerationResult.of_videos(frames, metadata)

    @staticmethod
    def plan_scene(request: SceneRequest, seed: int) -> Scene:
        """The grammar's whole scene of `request` (genlab.world.grammar.realize, related objects
        aligned): cells from which each motion can play, start sizes, a background; drawn from
        `seed`. A request the grid cannot hold is refused (InvalidArgument)."""
        return realize(request, np.random.default_rng(seed), aligned=True)

    @staticmethod
    def frame_caption(request: SceneRequest, scene: Scene) -> str:
        """What every frame's denoiser reads: the asked objects (colors, shapes, counts, sizes
        asked) on the plan's background, without positions, relations or motions, which the
        layouts carry (a frame where an object has moved would contradict them)."""
        objects = tuple(replace(o, row=None, col=None, motion=None) for o in request.objects)
        if not objects:  # nothing read: the plan's objects
            objects = request_of(scene, "objects", with_motion=False).objects
        still = SceneRequest(objects, (), scene.background)
        return canonical_caption(still)

    def animate(self, image, prompt: str, **kwargs):
        raise InvalidArgument(
            "operation", f"generate: {self.name} draws videos from text only", "animate"
        )


@register_pipeline(KIND)
def load_text2video(path, config, **kwargs) -> Text2VideoPipeline:
    """Both kinds of text-to-video checkpoint: one naming an image model draws per-frame layouts
    with it (this module), any other is a video denoiser (genlab.pipelines.text2video). The loader
    lives here because this module knows both."""
    cls = LayoutVideoPipeline if "image_model" in config else Text2VideoPipeline
    return cls.from_checkpoint(path, config, device=kwargs.get("device"))
