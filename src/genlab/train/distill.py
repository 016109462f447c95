"""Few-step students of any genlab diffusion text-to-image model (U-Net or DiT, pixels or latents):
latent consistency distillation (Luo et al. 2023, "LCM") with the teacher's guidance folded in.

The student starts as a copy of the teacher's denoiser and learns the consistency function
f(x_t, t) = the end of the teacher's guided probability-flow ODE trajectory through x_t, read as
its x̂_0 prediction (at t → 0, x̂_0 → x_t: the boundary condition holds by construction). One
training step (LCM, Algorithm 1):

1. x_0 from the data, ε ~ N(0, I), a pair of neighbouring timesteps t_{n+1} > t_n on a grid of
   step `skip` (t_n = -1 means clean data: the boundary);
2. x_{t_{n+1}} = a x_0 + b ε;
3. one DDIM step of the teacher *with classifier-free guidance at scale w* from t_{n+1} to t_n
   (the solver Ψ, eq. 8-9 of LCM): x̂_{t_n};
4. loss = d(f_θ(x_{t_{n+1}}), f_θ⁻(x̂_{t_n})), θ⁻ an EMA of θ (the target network, decay μ),
   d the pseudo-Huber distance of Song & Dhariwal 2023 ("Improved consistency training", §3.3).

The guidance scale is fixed when distilling (the student's network is the teacher's, unchanged,
so it starts exactly from it): the student then draws with one network evaluation per step, the
teacher needs two. A two-stage teacher's plan (its grammar or layout planner) is reused as it
is: the student reads the same layouts, and only the denoiser is distilled.

Why consistency distillation and not progressive distillation (Salimans & Ho 2022): progressive
distillation halves the steps per round (20 → 10 → 5 → ...), each round a full training run with
the teacher sampled twice per example; consistency distillation reaches 4, 2 and 1 steps in one
run at the cost of one guided teacher step and one target evaluation per example, which is what
a few CPU hours allow.
"""

from __future__ import annotations

import copy
import logging
import math

import torch
from torch import nn

from genlab.diffusion import Objective, classifier_free_guidance
from genlab.errors import InvalidArgument
from genlab.train.data import TensorSource
from genlab.train.recipes import RecipeOptions, TrainJob, apply_options, register_recipe
from genlab.train.task import Task
from genlab.train.text2image import sample_prompts, world_corpus
from genlab.train.trainer import TrainConfig, resolve_device
from genlab.world.layout import layout_features, null_layout_features

logger = logging.getLogger(__name__)

PAD_ID = 0
DISTILLED_SAMPLER = "lcm"


class _Target(nn.Module):
    """The target network θ⁻ (not trained; an EMA of the student), checkpointed for exact resume.
    `synced` is 0 until it was first set from the student (which `--init-from` may replace after
    the task is built)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.register_buffer("synced", torch.zeros(1))


class ConsistencyDistillTask(Task):
    """Latent consistency distillation of `teacher` (a genlab.pipelines.text2image pipeline).

    Batches hold `images` uint8 (B, H, W, 3), `tokens` (B, K, L) (one of the K captions is
    picked per image) and, for a teacher that reads layouts, `layouts` (B, 9). `skip` is the
    timestep grid's step (t_n = skip·(n+1) - 1, LCM's "skipping-step"); a grid that holds the
    sampling timesteps (with 1000 training steps, skip 50 holds 4, 2 and 1 trailing steps) trains
    the student exactly where it will be asked. `target_decay` is μ of θ⁻; `huber_c` the
    pseudo-Huber constant (None: 0.00054·sqrt(d), iCT's choice for d dimensions).
    """

    def __init__(
        self,
        teacher,
        *,
        guidance_scale: float | None = None,
        skip: int = 50,
        target_decay: float = 0.95,
        huber_c: float | None = None,
        layout_dropout: float = 0.1,
        name: str | None = None,
        teacher_name: str | None = None,
        num_inference_steps: int = 4,
        sample_prompts: list[str] | None = None,
    ):
        schedule = teacher.schedule
        T = schedule.num_train_timesteps
        if isinstance(skip, bool) or not isinstance(skip, int) or not 1 <= skip <= T // 2:
            raise InvalidArgument("skip", f"an integer in 1..{T // 2}", skip)
        if not 0 <= target_decay < 1:
            raise InvalidArgument("target_decay", "a number in [0, 1)", target_decay)
        self.teacher = teacher
        self.guidance_scale = float(
            teacher.default_guidance_scale if guidance_scale is None else guidance_scale
        )
        for module in (teacher.denoiser, teacher.text_encoder, teacher.layout_planner):
            if module is not None:
                module.requires_grad_(False).eval()
        self.student = copy.deepcopy(teacher.denoiser).requires_grad_(True).train()
        self.target = _Target(copy.deepcopy(teacher.denoiser).requires_grad_(False))
        self.objective = Objective(schedule, teacher.prediction_type)
        self.schedule, self.skip = schedule, skip
        # the grid t_n = skip·(n+1) - 1, highest = T - 1 when skip divides T
        self.grid = torch.arange(skip - 1, T, skip)
        self.target_decay, self.huber_c = target_decay, huber_c
        self.layout_dropout = layout_dropout
        self.layout_channels = int(getattr(teacher.denoiser.config, "layout_channels", 0) or 0)
        self.name = name or f"{teacher.name}-turbo"
        self.teacher_name = teacher_name or teacher.name
        self.num_inference_steps = num_inference_steps
        self.sample_prompts = sample_prompts or []
        self._seen_version: int | None = None

    # ------------------------------------------------------------------ Task

    def modules(self):
        return {"denoiser": self.student, "target": self.target}

    def ema_modules(self):
        return ["denoiser"]

    def training_step(self, batch, optimizer_name):
        self._update_target()
        teacher, device = self.teacher, self.device
        for module in (teacher.denoiser, teacher.text_encoder):
            module.to(device)
        self.target.eval()
        x0 = self.clean_sample(batch)
        B = x0.shape[0]
        cond, uncond = self._conditions(batch, B)

        # 1. timesteps t = t_{n+1} on the grid and s = t_n below it (-1: clean data)
        n = torch.randint(0, len(self.grid), (B,))
        t = self.grid[n]
        s = torch.where(n > 0, self.grid[(n - 1).clamp(min=0)], torch.full_like(t, -1))
        # 2. x_t = a_t x_0 + b_t ε, formula (4) of DDPM
        noise = torch.randn_like(x0)
        x_t = self.schedule.add_noise(x0, noise, t)
        t_dev = t.to(device).float()
        with torch.no_grad():
            # 3. the teacher's guided DDIM step x_t -> x̂_s (LCM eq. 9 with Ψ = DDIM, η = 0)
            guided = classifier_free_guidance(teacher.denoiser, cond, uncond, self.guidance_scale)
            x0_teacher, eps_teacher = self.objective.to_x0_and_eps(guided(x_t, t_dev), x_t, t)
            x_s = self._ddim_to(s, x0_teacher, eps_teacher)
            # 4. the target f_θ⁻(x̂_s, s); at s = -1 (clean) f is the identity: x̂_s itself
            target = x_s.clone()
            inner = s >= 0
            if bool(inner.any()):
                idx = inner.nonzero().squeeze(1)
                target[idx] = self._consistency(self.target.net, x_s[idx], s[idx], _take(cond, idx))
        # 5. f_θ(x_t, t) and the pseudo-Huber distance (iCT §3.3)
        pred = self._consistency(self.student, x_t, t, cond)
        loss = pseudo_huber(pred, target, self.huber_c).mean()
        return loss, {"mse": (pred.detach() - target).pow(2).mean()}

    def clean_sample(self, batch) -> torch.Tensor:
        """x₀ the teacher works on: pixels in [-1, 1], or a latent teacher's scaled latents."""
        images = (
            batch["images"].permute(0, 3, 1, 2).float() / 127.5 - 1.0
        )  # (B, H, W, 3) -> (B, 3, H, W)
        if self.teacher.autoencoder is not None:
            with torch.no_grad():
                images = self.teacher.autoencoder.to(self.device).encode_latents(images)
        return images

    def sample_grid(self):
        if not self.sample_prompts:
            return None
        pipe = self.pipeline()
        return pipe(self.sample_prompts, seed=0).images

    def export(self):
        return self.pipeline().checkpoint()

    def model_card(self) -> str:
        return "\n".join(
            [
                f"A few-step student of `{self.teacher_name}`: latent consistency distillation "
                f"(LCM) at guidance {self.guidance_scale:g}, folded in (one network evaluation "
                f"per step); draws with the `lcm` sampler in {self.num_inference_steps} steps.",
                "",
                f"- timestep grid: every {self.skip} of {self.schedule.num_train_timesteps}; "
                f"target network EMA μ = {self.target_decay:g}; pseudo-Huber distance",
                "- the teacher's text encoder and layout planner, unchanged",
                "",
                "```python",
                "import genlab",
                "",
                f'pipe = genlab.load("{self.name}")',
                'pipe("a red circle above a blue square", seed=0).images[0].save("out.png")',
                "```",
            ]
        )

    # ------------------------------------------------------------------ the student as a model

    def pipeline(self):
        """The student as a pipeline: the teacher's with the student's denoiser, drawing by
        default with the lcm sampler in `num_inference_steps` steps at guidance 1 (the distilled
        guidance is inside the network)."""
        return distilled_pipeline(
            self.teacher,
            self.student,
            name=self.name,
            teacher_name=self.teacher_name,
            guidance_scale=self.guidance_scale,
            num_inference_steps=self.num_inference_steps,
            method=f"latent consistency distillation, skip {self.skip}",
        )

    # ------------------------------------------------------------------ parts of a step

    def _conditions(self, batch, B: int):
        """(cond, uncond) dicts: a random caption of each image (and its layout, dropped with
        probability `layout_dropout`) against the teacher's learned null."""
        device, encoder = self.device, self.teacher.text_encoder
        tokens = batch["tokens"]
        K = tokens.shape[1]
        pick = torch.randint(0, K, (B,))
        ids = (
            tokens[torch.arange(B), pick.to(tokens.device)].long().to(device)
        )  # (B, K, L) -> (B, L)
        with torch.no_grad():
            text_tokens, mask, pooled = encoder(ids, ids != PAD_ID)
            uncond = dict(encoder.null(1).cond)
        cond = {"tokens": text_tokens, "mask": mask, "pooled": pooled}
        if self.layout_channels:
            C = self.layout_channels
            keep = torch.rand(B) >= self.layout_dropout
            features = layout_features(batch["layouts"].long().cpu(), None, channels=C)
            cond["layout"] = (features * keep[:, None, None, None]).to(device)
            uncond["layout"] = null_layout_features(1, device, channels=C)
        return cond, uncond

    def _ddim_to(self, s: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_s = sqrt(ᾱ_s) x̂_0 + sqrt(1 - ᾱ_s) ε̂ (DDIM formula (12), η = 0); ᾱ = 1 at s = -1."""
        ac = self.schedule.alphas_cumprod
        a = torch.where(s >= 0, ac[s.clamp(min=0)], torch.ones(s.shape, dtype=ac.dtype))
        a = a.to(x0.device, x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def _consistency(self, net, x_t, t, cond) -> torch.Tensor:
        """f(x_t, t): the network's x̂_0 (whatever it predicts, converted exactly)."""
        pred = net(x_t, t.to(x_t.device).float(), cond)
        x0, _ = self.objective.to_x0_and_eps(pred.float(), x_t, t)
        return x0

    @torch.no_grad()
    def _update_target(self) -> None:
        """θ⁻ ← μ θ⁻ + (1 - μ) θ after each optimizer step (LCM Algorithm 1, last line); the
        first call copies θ. An optimizer step bumps the parameters' version counter, so micro-
        steps of one accumulated step update it once."""
        first = next(self.student.parameters())
        version = first._version
        if not bool(self.target.synced.item()):
            self.target.net.load_state_dict(self.student.state_dict())
            self.target.synced.fill_(1)
        elif self._seen_version is not None and version != self._seen_version:
            target = [p for p in self.target.net.parameters()]
            live = [p.detach() for p in self.student.parameters()]
            torch._foreach_lerp_(target, live, 1 - self.target_decay)
        self._seen_version = version


def pseudo_huber(a: torch.Tensor, b: torch.Tensor, c: float | None = None) -> torch.Tensor:
    """Per-sample d(a, b) = sqrt(‖a - b‖² + c²) - c (iCT, §3.3); c = 0.00054·sqrt(dim) by default."""
    diff = (a - b).reshape(a.shape[0], -1)
    if c is None:
        c = 0.00054 * math.sqrt(diff.shape[1])
    return (diff.pow(2).sum(dim=1) + c * c).sqrt() - c


def _take(cond: dict, idx: torch.Tensor) -> dict:
    """The rows `idx` of every conditioning tensor."""
    return {k: v[idx.to(v.device)] for k, v in cond.items()}


def distilled_pipeline(
    teacher,
    student: nn.Module,
    *,
    name: str,
    teacher_name: str,
    guidance_scale: float,
    num_inference_steps: int,
    method: str,
):
    """A pipeline that is `teacher` with `student` as its denoiser and a distilled model's
    defaults (sampler lcm, `num_inference_steps`, guidance 1: the network has it inside)."""
    pipe = copy.copy(teacher)
    pipe.denoiser = student
    pipe.name = name
    pipe.default_guidance_scale = 1.0
    pipe.default_sampler = DISTILLED_SAMPLER
    pipe.default_num_inference_steps = num_inference_steps
    pipe.info = {
        **{k: v for k, v in teacher.info.items() if k not in ("training", "distilled")},
        "default_sampler": DISTILLED_SAMPLER,
        "default_num_inference_steps": num_inference_steps,
        "distilled": {
            "teacher": teacher_name,
            "guidance_scale": guidance_scale,
            "method": method,
        },
    }
    return pipe


# --------------------------------------------------------------------------- recipe

TURBO_TEACHER = "world-t2i-layout"


@register_recipe("world-t2i-turbo")
def world_t2i_turbo(options: RecipeOptions) -> TrainJob:
    """A 4-step student of world-t2i-layout by consistency distillation, guidance folded in.

    Latent consistency distillation at the teacher's guidance 3 (one network evaluation per step
    instead of two), the teacher's planner and text encoder reused; exports world-t2i-turbo."""
    from genlab.pipelines.registry import load as load_pipeline  # a sibling layer-4 package

    tiny = options.tiny
    device = resolve_device(options.device)
    torch.manual_seed(options.seed)
    teacher = load_pipeline(TURBO_TEACHER, device=str(device))
    encoder = teacher.text_encoder
    n = options.data_size or (32 if tiny else 8000)
    corpus = world_corpus(
        n,
        size=teacher.image_size,
        seed=options.seed,
        tokenizer=encoder.tokenizer,
        max_length=encoder.config.max_length,
        workers=1 if n <= 20_000 else None,
        progress=options.progress,
        scenes=options.scenes or "focus",
        captions="varied",
    )
    task = ConsistencyDistillTask(
        teacher,
        guidance_scale=teacher.default_guidance_scale,
        skip=50,
        name="world-t2i-turbo",
        teacher_name=TURBO_TEACHER,
        sample_prompts=sample_prompts(4 if tiny else 16),
    )
    config = TrainConfig(
        steps=2 if tiny else 3000,  # the time budget normally ends the run first
        batch_size=4 if tiny else 16,
        lr=5e-5,
        warmup_steps=0 if tiny else 20,
        weight_decay=0.0,
        grad_clip=1.0,
        ema_decay=0.99,
        log_every=1 if tiny else 10,
        sample_every=0,
        checkpoint_every_s=0 if tiny else 120,
        export_dtype="float16",
    )
    apply_options(config, options, "world-t2i-turbo")
    config.budget_start = options.started  # --time-budget covers rendering too
    config.extra = {
        "teacher": f"{TURBO_TEACHER} (bundled), guidance {task.guidance_scale:g} folded in",
        "training images": f"{n:,} world scenes ({options.scenes or 'focus'} mix) × "
        f"{corpus['tokens'].shape[1]} captions",
    }
    return TrainJob(task, TensorSource(corpus), config)
