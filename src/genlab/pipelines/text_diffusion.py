"""What genlab's own text-conditioned diffusion pipelines share (text → image, text → video): the
denoiser, text encoder and schedule they hold, prompt encoding and reading, the sampling run,
seeds, sizes, metadata and checkpoints. Each pipeline adds only the calls it honours.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from genlab.diffusion import PREDICTION_TYPES, SAMPLERS, NoiseSchedule, sample
from genlab.diffusion.samplers import takes_eta
from genlab.errors import CheckpointError, InvalidArgument, check_choice
from genlab.io import load_checkpoint, load_image, to_tensor
from genlab.models import create_model
from genlab.nn.utils import CPU_MICRO_BATCH, compile_for_inference, run_with_compile_fallback
from genlab.pipelines.base import (  # SamplingArgs: the pipelines import it from here too
    SamplingArgs,
    check_prompt,
    move_modules,
)
from genlab.pipelines.request import negative_prompt_note
from genlab.pipelines.world_prompts import read_world_prompt, speaks_world
from genlab.text import split_words
from genlab.text.pretrained import text_encoder_from_config

DEFAULT_SAMPLER = "dpmpp_2m"
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
# Image-steps (images × denoising steps, at one batch shape) after which compiling the denoiser
# on a CPU has paid for its warm-up, measured by `benchmarks/cpu_sampling.py --vs-diffusers
# --compile` (world-t2i, batch 32, 1 thread, the 2-core CPU at load 11-13, inductor's cache
# empty, 2026-12-07): 497 s of compiling, 0.0357 s saved per image-step (eager 2.71, compiled 3.36
# images/s at 2 steps), so 13,900. A warm cache (a later process) costs far less: this is the
# cautious figure (docs/experiments/2026-12-07-compiled-cpu-sampling-2.md).
COMPILE_PAYS_AFTER_IMAGE_STEPS = 13_900


def compile_pays(pipe, images: int, steps: int | None) -> bool:
    """Whether compiling `pipe` (a genlab diffusion pipeline on a CPU) saves more time than it
    costs over `images` images of `steps` steps each (None: the model's own)."""
    if not isinstance(pipe, TextDiffusionPipeline) or pipe.device.type != "cpu":
        return False
    if steps is None:
        steps = getattr(pipe, "default_num_inference_steps", 20)  # (a video pipeline's: 20)
    return images * steps >= COMPILE_PAYS_AFTER_IMAGE_STEPS


class PromptTruncated(UserWarning):
    """A prompt had more words than the text encoder takes; the rest was dropped."""


class NegativePromptIgnored(UserWarning):
    """A negative prompt given to a distilled model at its folded guidance (scale 1): no effect."""


class TextDiffusionPipeline:
    """The common part of Text2ImagePipeline and Text2VideoPipeline (not a pipeline of its own).

    Holds a denoiser `model(x_t, t, cond)`, a text encoder (with its tokenizer and learned null),
    the noise schedule and the prediction type the denoiser was trained for. A subclass names its
    checkpoint `kind`, and defines `__call__` and whatever else it honours.
    """

    kind = ""  # the checkpoint's config["pipeline"]

    def __init__(
        self,
        denoiser: torch.nn.Module,
        text_encoder: torch.nn.Module,
        schedule: NoiseSchedule,
        prediction_type: str = "epsilon",
        *,
        name: str | None = None,
        image_size: int = 32,
        default_guidance_scale: float = 3.0,
        info: dict[str, Any] | None = None,
    ):
        check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
        self.denoiser, self.text_encoder = denoiser, text_encoder
        self.schedule, self.prediction_type = schedule, prediction_type
        self.name, self.image_size = name or self.kind, image_size
        self.default_guidance_scale = default_guidance_scale
        self.info = dict(info or {})

    # ------------------------------------------------------------------ checkpoints

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, config: dict | None = None, *, device: str | None = None
    ):
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors, config = load_checkpoint(path, device="cpu", dtype=torch.float32)
        if config.get("pipeline") != cls.kind:
            raise CheckpointError(f"{path}: not a {cls.kind} checkpoint")
        try:
            arch = dict(config["denoiser"])
            if "channels_last" in arch:  # a training-speed choice: keep it only on CUDA
                arch["channels_last"] = str(device).startswith("cuda")
            denoiser = create_model(arch)
            text_encoder = text_encoder_from_config(config["text_encoder"])
            load_prefixed(denoiser, tensors, "denoiser.")
            load_prefixed(text_encoder, tensors, "text_encoder.")
            schedule = NoiseSchedule.from_config(config["schedule"])
            parts = cls._parts_from_checkpoint(tensors, config, device)
        except (KeyError, RuntimeError, TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: {cls.kind} checkpoint does not load ({e})") from None
        return cls(
            denoiser.to(device).eval(),
            text_encoder.to(device).eval(),
            schedule,
            config.get("prediction_type", "epsilon"),
            name=config.get("name", Path(path).stem),
            image_size=int(config.get("image_size", 32)),
            default_guidance_scale=float(config.get("default_guidance_scale", 3.0)),
            info=config,
            **parts,
        )

    @classmethod
    def _parts_from_checkpoint(cls, tensors, config, device) -> dict[str, Any]:
        """The subclass's own constructor arguments, read from a checkpoint."""
        return {}

    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, config) of this pipeline, as `genlab.io.save_checkpoint` writes them."""
        tensors = {f"denoiser.{k}": v for k, v in self.denoiser.state_dict().items()}
        tensors.update({f"text_encoder.{k}": v for k, v in self.text_encoder.state_dict().items()})
        config = {
            **{k: v for k, v in self.info.items() if k != "training"},
            "pipeline": self.kind,
            "name": self.name,
            "denoiser": self.denoiser.config.to_dict(),
            "text_encoder": self.text_encoder.config.to_dict(),  # holds the tokenizer's vocab
            "schedule": self.schedule.to_config(),
            "prediction_type": self.prediction_type,
            "image_size": self.image_size,
            "default_guidance_scale": self.default_guidance_scale,
        }
        return tensors, config

    # ------------------------------------------------------------------ facts

    @property
    def device(self) -> torch.device:
        return next(self.denoiser.parameters()).device

    def to(self, device: str | torch.device):
        """Move every model of the pipeline to `device` (as diffusers' `pipe.to`); returns self.
        Starting noise is drawn on the CPU, so a seed gives the same images on every device."""
        move_modules(self, torch.device(device))
        return self

    @property
    def max_prompt_tokens(self) -> int:
        return int(self.text_encoder.config.max_length)

    @property
    def samplers(self) -> list[str]:
        return sorted(SAMPLERS)

    def _facts(self, supports: list[str], *more_modules) -> dict[str, Any]:
        """What every `describe()` says: name, kind, parameters (the denoiser's, the text
        encoder's and those of `more_modules`), native size, what it supports, its samplers."""
        modules = [self.denoiser, self.text_encoder, *more_modules]
        n = sum(p.numel() for m in modules if m is not None for p in m.parameters())
        return {
            "name": self.name,
            "kind": self.kind,
            "parameters": n,
            "image_size": self.image_size,
            "supports": supports,
            "samplers": self.samplers,
        }

    @property
    def folded_guidance(self) -> float | None:
        """The classifier-free guidance scale a distilled model has folded into its network
        (genlab.train.distill; None for a model that applies guidance at sampling)."""
        distilled = self.info.get("distilled")
        if isinstance(distilled, dict) and distilled.get("guidance_scale") is not None:
            return float(distilled["guidance_scale"])
        return None

    def _note_guidance(self, metadata: list[dict], args: SamplingArgs) -> None:
        """Say, in each output's "warnings" and as a NegativePromptIgnored warning, that a
        negative prompt had no effect (a distilled model at its folded guidance)."""
        note = args.negative_prompt and negative_prompt_note(
            self.name, self.folded_guidance, args.guidance_scale
        )
        if not note:
            return
        warnings.warn(note, NegativePromptIgnored, stacklevel=4)
        for meta in metadata:
            meta["warnings"] = [*meta.get("warnings", []), note]

    def _latent_factor(self) -> int:
        """How many pixels one cell of the denoiser's grid is across (1: it works on pixels)."""
        return 1

    @property
    def size_multiple(self) -> int:
        """Heights and widths this pipeline draws are multiples of this (its denoiser's
        downsampling or patch size, times the autoencoder's factor for a latent model)."""
        f = getattr(self.denoiser, "downsample_factor", None) or getattr(
            self.denoiser.config, "patch_size", 1
        )
        return int(f) * self._latent_factor()

    def _check_size(self, H, W) -> None:
        f = self.size_multiple
        for name, v in (("height", H), ("width", W)):
            if isinstance(v, bool) or not isinstance(v, int) or v < f or v % f or v > 1024:
                raise InvalidArgument(name, f"a multiple of {f} between {f} and 1024", v)

    # ------------------------------------------------------------------ text

    def truncated_words(self, prompt: str) -> list[str]:
        """The words of `prompt` the encoder would drop (empty if it fits)."""
        return split_words(prompt)[self.max_prompt_tokens :]

    def encode(self, prompts: list[str]):
        encoding = self.text_encoder.encode(prompts)
        for prompt, cut in zip(prompts, encoding.truncated):
            if cut:
                dropped = " ".join(self.truncated_words(prompt))
                warnings.warn(
                    f"prompt truncated to {self.max_prompt_tokens} words; dropped: {dropped!r}",
                    PromptTruncated,
                    stacklevel=3,
                )
        return encoding

    @property
    def reads_world_prompts(self) -> bool:
        """Whether the model speaks the built-in world's words, so that its prompts are read
        with the world grammar."""
        return speaks_world(getattr(self.text_encoder.tokenizer, "index", {}))

    def read_prompts(self, prompts: list[str]):
        """Each prompt's PromptParse for a model of the world (None for any other model), or
        InvalidArgument for a prompt it cannot draw (see read_world_prompt)."""
        if not self.reads_world_prompts:
            return None
        return [read_world_prompt(p) for p in prompts]

    def _read_batch(self, prompts: list[str], num_images: int):
        """(prompts, readings) per output, prompt-major (readings None for a model that does not
        speak the world)."""
        readings = self.read_prompts(prompts)
        expanded = [p for p in prompts for _ in range(num_images)]
        read = None if readings is None else [r for r in readings for _ in range(num_images)]
        return expanded, read

    def _text_conditions(self, prompts: list[str], negative_prompt) -> tuple[dict, dict]:
        """(cond, uncond) of classifier-free guidance: the prompts, and the negative prompt (or
        the learned null)."""
        cond = self.encode(prompts).cond
        uncond = (
            self.text_encoder.encode([negative_prompt]).cond
            if negative_prompt
            else self.text_encoder.null(1).cond
        )
        return cond, uncond

    # ------------------------------------------------------------------ generation

    def compile(
        self, mode: str | None = None, regional: bool | None = None, **compile_kwargs
    ) -> bool:
        """torch.compile the denoiser for sampling (static shapes: a batch and image size
        compiles once, at its first call, and is reused after; inductor keeps what it built on
        disk, so a later process mostly loads it).

        On a CPU (no `mode`): the whole denoiser as one inference graph
        (`genlab.nn.utils.compile_for_inference`: fusion across blocks, channels-last
        convolutions; freeze=True also freezes the weights), called at 1 torch thread on at
        most `micro_batch` rows at a time (default `CPU_MICRO_BATCH`: faster, the activations
        stay in the caches; 0: the whole batch in one call). Elsewhere, or with regional=True:
        its repeated blocks (regional; `mode` is torch.compile's: "reduce-overhead" also captures
        CUDA graphs on a GPU). Returns False, staying eager, when torch.compile is unavailable
        or the denoiser has no block compilation (regional). If compilation fails at a call, the
        pipeline warns, goes back to eager for good and draws the images again (same seeds, same
        images); `compile_error` keeps why. Other torch.compile arguments (e.g. `backend`) pass
        through."""
        if mode is not None:
            check_choice("mode", mode, COMPILE_MODES)
        if regional is None:
            regional = mode is not None or self.device.type != "cpu"
        if not regional:
            fullgraph = getattr(self.denoiser, "fullgraph_compile", False)
            compile_kwargs.setdefault("micro_batch", CPU_MICRO_BATCH)
            return compile_for_inference(self.denoiser, fullgraph=fullgraph, **compile_kwargs)
        if type(self.denoiser).compile is torch.nn.Module.compile:
            warnings.warn(
                f"{type(self.denoiser).__name__} has no block compilation; sampling stays eager",
                stacklevel=2,
            )
            return False
        if mode is not None:
            compile_kwargs["mode"] = mode
        return bool(self.denoiser.compile(**compile_kwargs))

    @property
    def compile_error(self) -> str | None:
        """Why compilation failed and the pipeline went back to eager (None if it did not)."""
        return getattr(self.denoiser, "compile_error", None)

    def _checked(self, args: SamplingArgs) -> SamplingArgs:
        """`args` validated, with the model's guidance scale and a random seed where not given."""
        if args.guidance_scale is None:
            args = replace(args, guidance_scale=self.default_guidance_scale)
        args.check()
        check_choice("sampler", args.sampler, sorted(SAMPLERS))
        prompts = args.prompts
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise InvalidArgument("prompt", "a string or a non-empty list of strings", prompts)
        for prompt in prompts:
            check_prompt(prompt)
        if args.negative_prompt is not None and not isinstance(args.negative_prompt, str):
            raise InvalidArgument("negative_prompt", "a string or None", args.negative_prompt)
        seed = args.seed
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        return replace(args, seed=seed)

    def _initial_noise(self, item_shape: tuple[int, ...], seed: int, batch: int) -> torch.Tensor:
        """Per-item starting noise drawn on the CPU (the same on every device), seed + i for item i."""
        return torch.stack(
            [
                torch.randn(item_shape, generator=torch.Generator().manual_seed(seed + i))
                for i in range(batch)
            ]
        ).to(self.device)

    def _sample(self, denoise, shape, args: SamplingArgs, x_T=None, **kwargs):
        """Run the sampler; if the compiled denoiser fails to compile, the same draw again
        eagerly (fresh generators each time: the retry gives the same images).

        x_T None: item i of the batch has its own generator, seeded seed + i, that draws its
        starting noise (as `_initial_noise` does) and then every noise a stochastic sampler adds
        between steps (lcm, ddpm, euler_a, ddim with eta > 0), so each image is regenerated alone
        from its own seed whatever the sampler. With x_T given (a caller's own starting noise),
        one generator seeded `seed` serves the whole batch."""

        def draw():
            if x_T is None:
                generator = [torch.Generator().manual_seed(args.seed + i) for i in range(shape[0])]
            else:
                generator = torch.Generator().manual_seed(args.seed)
            return sample(
                denoise,
                shape,
                schedule=self.schedule,
                prediction_type=self.prediction_type,
                sampler=args.sampler,
                num_inference_steps=args.num_inference_steps,
                generator=generator,
                eta=args.eta,
                x_T=x_T,
                device=self.device,
                callback=args.callback,
                **kwargs,
            )

        return run_with_compile_fallback(self.denoiser, draw)

    def _metadata(self, prompts, args: SamplingArgs, **extra) -> list[dict[str, Any]]:
        """One dict per output (`prompts`, one per output) with everything needed to regenerate
        it alone."""
        seed, sampler, eta = args.seed, args.sampler, args.eta
        truncated = self.text_encoder.tokenizer(prompts, self.max_prompt_tokens).truncated
        metadata = []
        for i, p in enumerate(prompts):
            meta = {
                "prompt": p,
                "negative_prompt": args.negative_prompt,
                "seed": seed + i,
                "batch_seed": seed,
                "num_inference_steps": args.num_inference_steps,
                "guidance_scale": float(args.guidance_scale),
                "sampler": sampler,
                "model": self.name,
                **{k: v for k, v in extra.items() if k in ("height", "width", "num_frames")},
            }
            if eta is not None and takes_eta(sampler):  # other samplers ignore it
                meta["eta"] = eta
            meta.update({k: v for k, v in extra.items() if k not in meta})
            if truncated[i]:
                meta["truncated"] = True
            metadata.append(meta)
        return metadata


def load_prefixed(module: torch.nn.Module, tensors: dict, prefix: str) -> None:
    """Load into `module` the tensors of a checkpoint whose names start with `prefix`."""
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state)


def image_tensor(image) -> torch.Tensor:
    """(3, H, W) float in [-1, 1] from a path, PIL image, uint8 array or tensor."""
    if isinstance(image, str | Path):
        image = load_image(image)
    if isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        if t.ndim != 3 or t.shape[0] != 3:
            raise InvalidArgument("image", "a (3, H, W) tensor in [-1, 1]", tuple(t.shape))
        return t
    if isinstance(image, Image.Image):
        return to_tensor(image)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InvalidArgument("image", "an (H, W, 3) uint8 array", (arr.shape, str(arr.dtype)))
    return to_tensor(arr)
