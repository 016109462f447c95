"""Text → video with genlab's video diffusion transformer: prompt → text encoder → sampler ⇄ video
DiT over (C, T, H, W) clips → frames; image → video keeps a given first frame (inpainting in time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genlab.diffusion import classifier_free_guidance
from genlab.errors import InvalidArgument, check_choice
from genlab.io import to_pil
from genlab.pipelines.base import GenerationResult, diffusers_call
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.pipelines.text_diffusion import (
    DEFAULT_SAMPLER,
    SamplingArgs,
    TextDiffusionPipeline,
    image_tensor,
)
from genlab.pipelines.world_prompts import model_texts, note_readings
from genlab.world.grammar import canonical_caption, realize, request_of
from genlab.world.video import keyframe_fit

KIND = "text2video"
# Who writes the text the model draws from a prompt of the world: "reading", the canonical
# caption of what was read, nothing added; "grammar", a whole scene of what was read (sizes and
# cells where each asked motion can play, as its training captions say; measured no better: the
# model card, "Video prompts as people write them").
PLAN_SOURCES = ("reading", "grammar")


@dataclass(frozen=True)
class VideoOptions:
    """A video call's own arguments, as given (see Text2VideoPipeline.__call__); each video
    pipeline refuses those it cannot honour."""

    image: Any = None
    keyframe: Any = None
    keyframe_candidates: int = 1
    keyframe_score: Any = None
    plan_source: str | None = None
    animation: str | None = None


class Text2VideoPipeline(TextDiffusionPipeline):
    """`pipe(prompt, num_frames=8, ...)` -> GenerationResult whose `.frames[i]` is video i (a list
    of PIL frames) and `.images[i]` its first frame; `pipe.animate(image, prompt)` starts from an
    image. Text encoding, prompt reading, seeds and size checks are those every genlab diffusion
    pipeline shares (genlab.pipelines.text_diffusion); it draws no still images and edits none."""

    kind = KIND

    def __init__(self, *args, num_frames: int = 8, **kwargs):
        """TextDiffusionPipeline's arguments (denoiser, text_encoder, schedule, prediction_type,
        name, image_size, default_guidance_scale, info), and the default clip length."""
        super().__init__(*args, **kwargs)
        self.num_frames = num_frames

    # ------------------------------------------------------------------ checkpoints

    @classmethod
    def _parts_from_checkpoint(cls, tensors, config, device) -> dict[str, Any]:
        return {"num_frames": int(config.get("num_frames", 8))}

    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, config = super().checkpoint()
        config["num_frames"] = self.num_frames
        return tensors, config

    # ------------------------------------------------------------------ facts

    @property
    def max_frames(self) -> int:
        return int(self.denoiser.config.max_frames)

    @property
    def valid_frames(self) -> list[int]:
        """Clip lengths the model produces: multiples of its temporal patch up to max_frames."""
        pt = int(self.denoiser.config.patch_size_t)
        return list(range(pt, self.max_frames + 1, pt))

    def check_num_frames(self, num_frames) -> int:
        valid = self.valid_frames
        if (
            isinstance(num_frames, bool)
            or not isinstance(num_frames, int)
            or num_frames not in valid
        ):
            step = f" in steps of {valid[0]}" if valid[0] > 1 else ""
            raise InvalidArgument(
                "num_frames", f"an integer from {valid[0]} to {valid[-1]}{step}", num_frames
            )
        return num_frames

    def describe(self) -> dict[str, Any]:
        facts = self._facts(["generate", "negative_prompt", "image_to_video"])
        facts.update(
            num_frames=self.num_frames,
            valid_frames=self.valid_frames,
            attention=self.denoiser.config.attention,
            first_frame_conditioning=bool(getattr(self.denoiser.config, "frame_cond", False)),
        )
        return facts

    # ------------------------------------------------------------------ generation

    @diffusers_call
    @torch.inference_mode()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float | None = None,
        sampler: str = DEFAULT_SAMPLER,
        seed: int | None = None,
        num_images: int = 1,
        height: int | None = None,
        width: int | None = None,
        num_frames: int | None = None,
        *,
        image=None,
        keyframe=None,
        keyframe_candidates: int = 1,
        keyframe_score=None,
        plan_source: str | None = None,
        animation: str | None = None,
        eta: float | None = None,
        callback=None,
    ) -> GenerationResult:
        """Generate `num_images` videos per prompt; video i starts from noise seeded seed + i.
        The layout-planned video pipeline (genlab.pipelines.layout_video) answers the same call
        and says there what it draws and which of these arguments it takes.

        image: a first frame to keep (path, PIL, uint8 array or tensor): image → video.
        keyframe: a text-to-image pipeline that draws each video's first frame from its prompt
            (same seed, steps and negative prompt, the image model's own guidance), which this
            model then animates: text → image → video, the factorisation of Emu Video (Girdhar
            et al. 2023). The image model fixes what the objects look like; the video model only
            has to move them.
        keyframe_candidates: first frames the keyframe model draws per video (round j seeded
            seed + j·B for the B videos); the one `keyframe_score(prompt, image)` rates highest is
            animated (ties: the earliest). Default score: `genlab.world.video.keyframe_fit`, which
            needs prompts of the built-in world (a frame the asked motion can start from, with
            the asked objects); pass your own for other prompts.
        plan_source: for a prompt of the built-in world drawn from text (no image or keyframe),
            "reading" (None: the default) gives the model the canonical caption of what was read, nothing
            added; "grammar" has the grammar write a whole scene of what was read, video i's
            drawn with seed + i (`write_plans`: the sizes a motion starts from, cells where each
            motion can play, as the training captions say), and the model draws its caption.
            The metadata says which ("plan_source") and the text drawn ("read_as").
        animation: how the layout-planned pipeline moves its objects; None here (every frame is
            drawn by the video denoiser).
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        num_frames = self.num_frames if num_frames is None else num_frames
        args = SamplingArgs(
            prompts, negative_prompt, num_inference_steps, guidance_scale, sampler, seed,
            num_images, eta, callback,
        )  # fmt: skip
        options = VideoOptions(
            image, keyframe, keyframe_candidates, keyframe_score, plan_source, animation
        )
        return self._videos(args, num_frames, height, width, options)

    def _videos(
        self, args: SamplingArgs, num_frames: int, height, width, options: VideoOptions
    ) -> GenerationResult:
        """The videos of a call (see __call__), every frame drawn by the video denoiser."""
        if options.animation is not None:
            raise InvalidArgument(
                "animation", f"None: {self.name} draws every frame with its video denoiser",
                options.animation,
            )  # fmt: skip
        image, keyframe = options.image, options.keyframe
        keyframe_candidates, keyframe_score = options.keyframe_candidates, options.keyframe_score
        plan_source = "reading" if options.plan_source is None else options.plan_source
        args = self._checked(args)
        prompts, num_images, negative_prompt = args.prompts, args.num_images, args.negative_prompt
        seed = args.seed
        T = self.check_num_frames(num_frames)
        expanded, read = self._read_batch(prompts, num_images)
        check_choice("plan_source", plan_source, PLAN_SOURCES)
        texts = model_texts(expanded, read)
        sources = None
        if read is not None and image is None and keyframe is None:
            texts, sources = self.write_plans(texts, seed, read, plan_source)
        B, C = len(expanded), self.denoiser.config.in_channels
        first, extra, keyframe_seeds = None, {}, None
        if image is not None and keyframe is not None:
            raise InvalidArgument("keyframe", "None when a first frame (image) is given", keyframe)
        if image is not None:
            first = image_tensor(image)[None].expand(B, -1, -1, -1)  # (B, C, H, W)
            extra = {"edit": "image_to_video"}
        elif keyframe is not None:
            first, extra, keyframe_seeds = self._keyframes(
                keyframe, args, height, width, keyframe_candidates, keyframe_score
            )
        elif keyframe_candidates != 1 or keyframe_score is not None:
            raise InvalidArgument(
                "keyframe_candidates", "1 unless a keyframe model is given (and no keyframe_score)",
                keyframe_candidates,
            )  # fmt: skip
        H = first.shape[2] if first is not None else (height or self.image_size)
        W = first.shape[3] if first is not None else (width or self.image_size)
        self._check_size(H, W)
        device = self.device

        model = None
        if first is not None and getattr(self.denoiser.config, "frame_cond", False):
            # the model was trained to see the first frame in its input channels as well
            given = first.to(device)

            def model(x, t, cond):  # x is (B, ...) or (2B, ...) under guidance: tile the frame
                frames = given.repeat(x.shape[0] // B, 1, 1, 1)
                return self.denoiser(x, t, {**cond, "first_frame": frames})

        cond, uncond = self._text_conditions(texts, negative_prompt)
        denoise = classifier_free_guidance(
            model or self.denoiser, cond, uncond, args.guidance_scale
        )
        kwargs: dict[str, Any] = {}
        if first is not None:
            # Image → video as inpainting in time: frame 0 is known, frames 1.. are generated.
            known = first.to(device)[:, :, None].expand(B, C, T, H, W)
            mask = torch.ones(B, C, T, H, W, device=device)
            mask[:, :, 0] = 0
            kwargs.update(mask=mask, known=known)
        # video i's own generator (seed + i) draws all its noise: regenerated alone from its seed
        videos = self._sample(denoise, (B, C, T, H, W), args, **kwargs).clamp(-1, 1)
        frames = [[to_pil(f) for f in v.transpose(0, 1).cpu()] for v in videos]  # (C,T,H,W)
        metadata = self._metadata(expanded, args, height=H, width=W, num_frames=T, **extra)
        note_readings(metadata, expanded, texts, read)
        for meta, source in zip(metadata, sources or []):
            if source is not None:
                meta["plan_source"] = source
        if keyframe_seeds is not None:  # the chosen still: keyframe(prompt, seed=keyframe_seed)
            for meta, kf_seed in zip(metadata, keyframe_seeds):
                meta["keyframe_seed"] = kf_seed
        return GenerationResult.of_videos(frames, metadata)

    @staticmethod
    def write_plans(
        texts: list[str], seed: int, readings, source: str = "grammar"
    ) -> tuple[list[str], list[str | None]]:
        """The text video i is drawn from, and who wrote it: where reading i read objects and
        `source` is "grammar", the canonical caption of a whole scene realizing exactly its
        request, drawn with seed + i (`genlab.world.grammar.realize`; related objects aligned):
        every object's size (a growing one starts small, a shrinking one large) and cell (one
        from which its motion can play), as in the captions the model was trained on, the
        background only when asked; else `texts[i]` ("reading"; None where nothing was read)."""

        out, sources = list(texts), [None] * len(texts)
        for i, reading in enumerate(readings):
            if not reading.request.objects:
                continue
            sources[i] = "reading"
            if source != "grammar":
                continue
            try:
                scene = realize(reading.request, np.random.default_rng(seed + i), aligned=True)
            except InvalidArgument:  # asks what no scene of the world shows: drawn as read
                continue
            asked_background = reading.request.background is not None
            out[i] = canonical_caption(request_of(scene, with_background=asked_background))
            sources[i] = "grammar"
        return out, sources

    def _keyframes(
        self, keyframe, args: SamplingArgs, height, width, candidates=1, score=None
    ) -> tuple[torch.Tensor, dict[str, Any], list[int] | None]:
        """(B, C, H, W) first frames drawn by the text-to-image pipeline `keyframe`, in the order
        of the videos (prompt-major, seed + i), and the metadata that regenerates them; with
        `candidates` > 1, per video the best of that many by `score` (see __call__), and each
        chosen still's seed (None with one candidate: video i's still is seeded seed + i)."""
        if not is_image_pipeline(keyframe):
            raise InvalidArgument("keyframe", "a text-to-image pipeline", type(keyframe).__name__)
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
            raise InvalidArgument("keyframe_candidates", "an integer ≥ 1", candidates)
        if score is not None and not callable(score):
            raise InvalidArgument("keyframe_score", "a function (prompt, image) -> float", score)
        size = (height or self.image_size, width or self.image_size)
        prompts, seed, num_images = args.prompts, args.seed, args.num_images
        expanded = [p for p in prompts for _ in range(num_images)]
        B = len(expanded)
        rounds = []
        for j in range(candidates):
            stills = keyframe(
                prompts,
                negative_prompt=args.negative_prompt,
                num_inference_steps=args.num_inference_steps,
                seed=seed + j * B,
                num_images=num_images,
                height=size[0],
                width=size[1],
            )
            rounds.append(stills.images)
        chosen = [0] * B
        if candidates > 1:
            score = score or keyframe_fit
            for i, prompt in enumerate(expanded):
                fits = [float(score(prompt, rounds[j][i])) for j in range(candidates)]
                chosen[i] = max(range(candidates), key=lambda j: (fits[j], -j))
        first = torch.stack([image_tensor(rounds[chosen[i]][i]) for i in range(B)])
        meta = stills.metadata[0]
        extra = {
            "edit": "keyframe_to_video",
            "keyframe_model": meta.get("model"),
            "keyframe_guidance_scale": meta.get("guidance_scale"),
            "keyframe_sampler": meta.get("sampler"),
        }
        if candidates == 1:
            return first, extra, None
        extra["keyframe_candidates"] = candidates
        return first, extra, [seed + chosen[i] * B + i for i in range(B)]

    def animate(self, image, prompt: str, **kwargs) -> GenerationResult:
        """Image → video: `image` is kept as the first frame, the rest follows `prompt`."""
        return self(prompt, image=image, **kwargs)


def is_image_pipeline(pipe) -> bool:
    """Whether `pipe` draws still images from text (what a keyframe model must do): a genlab
    text-to-image pipeline, or a diffusers or hosted one whose capabilities say "image"."""
    if isinstance(pipe, Text2ImagePipeline):
        return True
    describe = getattr(pipe, "describe", None)  # a wrapped genlab pipeline (the server's, locked)
    if callable(describe) and describe().get("kind") == "text2image":
        return True
    return callable(getattr(pipe, "capabilities", None)) and bool(pipe.capabilities().get("image"))


# Its checkpoints load through genlab.pipelines.layout_video.load_text2video, which tells them
# from those of the layout-planned video pipeline.
