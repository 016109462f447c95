"""What the denoiser tests (test_dit, test_unet) feed their models: a text encoder's output for a
batch, and a model whose zero-initialised layers are replaced by noise."""

import torch


def text_cond(batch: int, length: int, valid: int, dim: int = 32) -> dict[str, torch.Tensor]:
    """`length` random token vectors per prompt of which the first `valid` are real (the mask),
    and a pooled vector: the dict a TextEncoder returns."""
    mask = torch.zeros(batch, length, dtype=torch.bool)
    mask[:, :valid] = True
    return {
        "tokens": torch.randn(batch, length, dim),
        "mask": mask,
        "pooled": torch.randn(batch, dim),
    }


def randomized(model: torch.nn.Module, std: float) -> torch.nn.Module:
    """`model` with every parameter drawn from N(0, std²) (seeded), so that every path its zero
    init closes (adaLN gates, cross-attention, residual branches) is live."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model
