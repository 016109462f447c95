"""Consistency distillation (genlab.train.distill) and the lcm sampler: on a toy whose exact answers
are known, a 4-step student beats its teacher sampled in 4 steps; the sampler reproduces data
with the exact consistency function in 1, 2 and 4 steps; a distilled model keeps its defaults."""

from dataclasses import asdict, dataclass

import pytest
import torch
from torch import nn

from genlab.diffusion import NoiseSchedule, classifier_free_guidance, sample
from genlab.io import load_checkpoint, save_checkpoint
from genlab.models import create_model
from genlab.pipelines.registry import load
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder, Tokenizer
from genlab.train.data import TensorSource
from genlab.train.distill import ConsistencyDistillTask, distilled_pipeline
from genlab.train.trainer import TrainConfig, Trainer

MU = torch.tensor([0.5, -1.0, 0.0])
S = torch.tensor([0.3, 1.5, 1.0])


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def exact_consistency(schedule: NoiseSchedule, mu=MU, s=S):
    """x̂_0 = the end of the probability-flow ODE through x_t for data N(μ, s²), per dimension:
    the ODE keeps a point's standardized position, so x_0 = μ + s (x_t - a μ) / sqrt(a² s² + b²)."""

    def denoise(x, t):
        a, b = schedule.alpha_sigma(t, x)
        return mu + s * (x - a * mu) / (a**2 * s**2 + b**2).sqrt()  # an x_0 ("sample") prediction

    return denoise


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_lcm_sampler_reproduces_the_data_with_the_exact_consistency_function(steps):
    schedule = NoiseSchedule.create("cosine")
    x = sample(
        exact_consistency(schedule), (10_000, 3), schedule=schedule, prediction_type="sample",
        sampler="lcm", num_inference_steps=steps, generator=0,
    )  # fmt: skip
    assert (x.mean(0) - MU).abs().max() < 0.05
    assert (x.std(0) / S - 1).abs().max() < 0.04


# --------------------------------------------------------------------------- a toy teacher


@dataclass
class ToyConfig:
    arch: str = "toy-gaussian"
    in_channels: int = 3
    pooled_dim: int = 8
    layout_channels: int = 0

    def to_dict(self):
        return asdict(self)


class ToyDenoiser(nn.Module):
    """x̂_0 = μ(c) + g(t) (x_t - a_t μ(c)), μ a linear map of the caption's pooled embedding and
    g one number per timestep. With g(t) = a s² / (a² s² + b²) it is the exact denoiser of
    N(μ(c), s²): guidance w then gives the exact denoiser of N(μ_w, s²), whose ODE ends are
    μ_w + s (x_t - a μ_w) / sqrt(a² s² + b²), a function of the same form: the student can
    represent its target exactly, and the toy measures how close distillation gets."""

    def __init__(self, schedule: NoiseSchedule, s: float = 0.5):
        super().__init__()
        self.config = ToyConfig()
        self.mu = nn.Linear(self.config.pooled_dim, self.config.in_channels)
        ac = schedule.alphas_cumprod.float()
        self.register_buffer("a", ac.sqrt())
        self.g = nn.Parameter(ac.sqrt() * s**2 / (ac * s**2 + 1 - ac))

    def forward(self, x, t, cond):
        idx = t.round().long()
        mu = self.mu(cond["pooled"])[:, :, None, None]  # (B, D) -> (B, C, 1, 1)
        a, g = self.a[idx][:, None, None, None], self.g[idx][:, None, None, None]
        return mu + g * (x - a * mu)


def toy_teacher() -> Text2ImagePipeline:
    torch.manual_seed(0)
    schedule = NoiseSchedule.create("cosine")
    words = ["red", "blue", "green", "circle", "square"]
    encoder = TextEncoder(
        vocab=Tokenizer.from_texts(words).vocab, max_length=4, width=8, depth=1, num_heads=2
    )
    with torch.no_grad():  # spread the captions' embeddings apart
        encoder.token_embedding.weight.mul_(4)
    return Text2ImagePipeline(
        ToyDenoiser(schedule), encoder.eval(), schedule, "sample", name="toy",
        image_size=2, default_guidance_scale=3.0,
    )  # fmt: skip


def toy_data(teacher, n: int = 256) -> TensorSource:
    gen = torch.Generator().manual_seed(1)
    captions = ["red circle", "blue square", "green circle", "red square"]
    ids = teacher.text_encoder.tokenizer(captions, 4).ids
    pick = torch.randint(0, len(captions), (n,), generator=gen)
    images = torch.randint(0, 256, (n, 2, 2, 3), generator=gen, dtype=torch.uint8)
    return TensorSource({"images": images, "tokens": ids[pick][:, None, :]})


def test_a_4_step_student_beats_its_teacher_sampled_in_4_steps():
    teacher = toy_teacher()
    task = ConsistencyDistillTask(teacher, skip=50, target_decay=0.9)
    data = toy_data(teacher)
    optimizer = torch.optim.Adam(task.student.parameters(), lr=5e-2)
    gen = torch.Generator().manual_seed(2)
    for _ in range(60):  # the Trainer's step, without its files (test below)
        loss, _ = task.training_step(data.fetch(torch.randint(0, 256, (32,), generator=gen)), "")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    cond = teacher.encode(["red circle"] * 1024).cond
    uncond = teacher.text_encoder.null(1).cond
    x_T = torch.randn(1024, 3, 2, 2, generator=torch.Generator().manual_seed(5))
    guided = classifier_free_guidance(teacher.denoiser, cond, uncond, 3.0)
    student = task.student

    def draw(denoise, sampler, steps):
        return sample(
            denoise, x_T.shape, schedule=teacher.schedule, prediction_type="sample",
            sampler=sampler, num_inference_steps=steps, x_T=x_T, generator=6,
        )  # fmt: skip

    with torch.no_grad():
        reference = draw(guided, "dpmpp_2m", 100)  # the teacher's own samples, many steps
        teacher_4 = draw(guided, "dpmpp_2m", 4)
        student_4 = draw(lambda x, t: student(x, t, cond), "lcm", 4)
    # Fréchet distance of per-dimension Gaussians: (Δ mean)² + (Δ std)², summed
    teacher_error, student_error = (
        gaussian_distance(
            x.transpose(0, 1).reshape(3, -1), reference.transpose(0, 1).reshape(3, -1)
        )
        for x in (teacher_4, student_4)
    )
    print(
        f"distance to the 100-step samples: teacher {teacher_error:.4f}, student {student_error:.4f}"
    )
    assert student_error < teacher_error / 2, (student_error, teacher_error)


def gaussian_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """(C, N) samples: Σ_c (mean_c(x) - mean_c(y))² + (std_c(x) - std_c(y))²."""
    return float(((x.mean(1) - y.mean(1)) ** 2 + (x.std(1) - y.std(1)) ** 2).sum())


def test_the_task_distills_a_dit_teacher_with_one_guided_teacher_step_per_example():
    dit = create_model(
        "dit-world-s", hidden_size=32, depth=1, num_heads=2, patch_size=4, in_channels=3,
        input_size=8, context_dim=8, pooled_dim=8,
    )  # fmt: skip
    toy = toy_teacher()
    teacher = Text2ImagePipeline(
        dit, toy.text_encoder, toy.schedule, "v_prediction", name="dit", image_size=8
    )
    task = ConsistencyDistillTask(teacher, skip=100)
    calls = []
    teacher.denoiser.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    data = toy_data(teacher, 8).tensors
    batch = {"images": torch.zeros(8, 8, 8, 3, dtype=torch.uint8), "tokens": data["tokens"]}
    loss, logs = task.training_step(batch, "main")
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert calls == [16]  # the conditional and unconditional halves in one batched call
    assert task.target.synced.item() == 1
    assert all(p.grad is not None for p in task.student.parameters() if p.requires_grad)
    assert all(p.grad is None for p in teacher.denoiser.parameters())


def test_a_distilled_model_saves_and_loads_its_sampler_steps_and_folded_guidance(tmp_path):
    unet = create_model(
        "unet-world-s", model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
        attention_levels=(1,), head_dim=16, context_dim=8, pooled_dim=8,
    )  # fmt: skip
    toy = toy_teacher()
    teacher = Text2ImagePipeline(
        unet, toy.text_encoder, toy.schedule, "v_prediction", name="tiny", image_size=8
    )
    pipe = distilled_pipeline(
        teacher, unet, name="tiny-turbo", teacher_name="tiny", guidance_scale=3.0,
        num_inference_steps=4, method="test",
    )  # fmt: skip
    tensors, config = pipe.checkpoint()
    path = tmp_path / "tiny-turbo.safetensors"
    save_checkpoint(path, tensors, config)
    loaded = load(str(path), device="cpu")
    calls = []
    loaded.denoiser.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    result = loaded("red circle", seed=0, num_images=2)
    meta = result.metadata[0]
    assert (meta["sampler"], meta["num_inference_steps"], meta["guidance_scale"]) == (
        "lcm", 4, 1.0,
    )  # fmt: skip
    assert calls == [2, 2, 2, 2]  # one evaluation of the batch per step: no unconditional half
    assert loaded.info["distilled"] == {"teacher": "tiny", "guidance_scale": 3.0, "method": "test"}
    assert teacher.default_sampler == "dpmpp_2m"  # the teacher is left as it was


def test_the_trainer_runs_distillation_and_exports_a_few_step_model(tmp_path):
    teacher = toy_teacher()
    task = ConsistencyDistillTask(teacher, name="toy-turbo")
    config = TrainConfig(
        steps=2, batch_size=8, lr=1e-3, checkpoint_every=1, checkpoint_every_s=0,
        out_dir=str(tmp_path), device="cpu", progress=False, export_name="toy-turbo",
    )  # fmt: skip
    trainer = Trainer(task, toy_data(teacher, 16), config)
    try:
        trainer.run()
    finally:
        trainer.close()
    tensors, config = load_checkpoint(tmp_path / "toy-turbo.safetensors")
    assert config["default_sampler"] == "lcm" and config["default_num_inference_steps"] == 4
    assert config["default_guidance_scale"] == 1.0 and config["distilled"]["teacher"] == "toy"
    assert not any(k.startswith("target.") for k in tensors)  # the target network is not exported
    state, _ = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert any("target" in k for k in state)  # ... but is in the training state, for resume
