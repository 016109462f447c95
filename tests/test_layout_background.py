"""The background in a layout plan (genlab.world.layout.LAYOUT_BG_CHANNELS): its features, what
the pipeline and the training step put there, and growing a 16-input model into a 19-input one."""

import pytest
import torch

from genlab.diffusion import NoiseSchedule
from genlab.errors import InvalidArgument
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder
from genlab.train.text2image import TextToImageTask, world_vocabulary
from genlab.train.trainer import _widened
from genlab.world.layout import (
    LAYOUT_BG_CHANNELS,
    LAYOUT_CHANNELS,
    layout_features,
    null_layout_features,
)
from genlab.world.spec import BACKGROUNDS

LAYOUTS = torch.tensor([[0, 1, 0, 0, 80, 0, 0, 0, 0], [0, 0, 0, 0, 5, 0, 0, 0, 0]])


def _background_part(features: torch.Tensor) -> torch.Tensor:
    """(B, 3) per image: the background one-hot, checked to be the same in every cell."""
    bg = features[:, LAYOUT_CHANNELS:].flatten(2)  # (B, 3, 9)
    assert torch.equal(bg, bg[..., :1].expand_as(bg))
    return bg[..., 0]


def test_background_features_are_one_hot_in_every_cell_and_zero_when_open():
    f = layout_features(LAYOUTS, ["gray", None], channels=LAYOUT_BG_CHANNELS)
    assert f.shape == (2, LAYOUT_BG_CHANNELS, 3, 3)
    assert torch.equal(f[:, :LAYOUT_CHANNELS], layout_features(LAYOUTS))  # the cells unchanged
    gray = list(BACKGROUNDS).index("gray")
    assert _background_part(f).tolist() == [[float(i == gray) for i in range(3)], [0.0] * 3]
    as_indices = layout_features(LAYOUTS, torch.tensor([gray, -1]), channels=LAYOUT_BG_CHANNELS)
    assert torch.equal(as_indices, f)
    assert torch.equal(  # no backgrounds at all: every one left open
        layout_features(LAYOUTS, None, channels=LAYOUT_BG_CHANNELS)[:, LAYOUT_CHANNELS:],
        torch.zeros(2, 3, 3, 3),
    )
    assert null_layout_features(2, channels=LAYOUT_BG_CHANNELS).shape == f.shape
    with pytest.raises(InvalidArgument, match="background.*black, gray, white"):
        layout_features(LAYOUTS, ["gray", "beige"], channels=LAYOUT_BG_CHANNELS)
    with pytest.raises(InvalidArgument, match="backgrounds"):
        layout_features(LAYOUTS, ["gray"], channels=LAYOUT_BG_CHANNELS)
    with pytest.raises(InvalidArgument, match="layout channels"):
        layout_features(LAYOUTS, channels=17)


def _recording(module: torch.nn.Module) -> list[dict]:
    """The cond dicts `module` is called with, from now on."""
    seen: list[dict] = []
    module.register_forward_pre_hook(lambda _m, args: seen.append(args[2]))
    return seen


def _tiny_two_stage(channels: int):
    torch.manual_seed(0)
    encoder = TextEncoder(vocab=world_vocabulary(n_scenes=200).vocab, width=32, depth=1,
                          num_heads=2, max_length=24)  # fmt: skip
    denoiser = create_model("unet-tiny", context_dim=32, pooled_dim=32, model_channels=8,
                            head_dim=8, layout_channels=channels)  # fmt: skip
    planner = create_model({"arch": "layout-planner"}, vocab_size=len(encoder.tokenizer),
                           max_length=24, width=32, encoder_depth=1, decoder_depth=1,
                           num_heads=2)  # fmt: skip
    return encoder, denoiser, planner


def test_the_pipeline_gives_the_background_the_prompt_names_and_none_it_does_not():
    encoder, denoiser, planner = _tiny_two_stage(LAYOUT_BG_CHANNELS)
    pipe = Text2ImagePipeline(denoiser, encoder, NoiseSchedule.create("cosine"), "v_prediction",
                              image_size=16, layout_planner=planner)  # fmt: skip
    seen = _recording(denoiser)
    prompts = ["a red circle on a grey background", "two blue squares"]
    pipe(prompts, seed=1, num_inference_steps=1, guidance_scale=1.0, plan_layout=True)
    gray = [float(b == "gray") for b in BACKGROUNDS]
    assert _background_part(seen[0]["layout"]).tolist() == [gray, [0.0] * 3]


def test_a_caption_that_names_the_background_puts_it_in_the_training_plan():
    encoder, denoiser, _ = _tiny_two_stage(LAYOUT_BG_CHANNELS)
    task = TextToImageTask(denoiser, encoder, NoiseSchedule.create("cosine"), "v_prediction",
                           cond_dropout=0.0, layout_dropout=0.0, image_size=16)  # fmt: skip
    captions = ["a red circle on a white background", "a red circle"]
    ids = encoder.tokenizer(captions, 24).ids
    batch = {
        "images": torch.zeros(2, 16, 16, 3, dtype=torch.uint8),
        "tokens": ids[:, None],  # K = 1 caption each
        "layouts": LAYOUTS,
        "backgrounds": torch.tensor([2, 2], dtype=torch.int8),  # both scenes are white
    }
    seen = _recording(denoiser)
    task.training_step(batch, "main")
    white = [float(b == "white") for b in BACKGROUNDS]
    assert _background_part(seen[0]["layout"]).tolist() == [white, [0.0] * 3]


def test_init_from_grows_input_channels_with_zeros(tmp_path):
    from genlab.train import RecipeOptions, Trainer, get_recipe

    job = get_recipe("world-t2i-layout-bg").build(
        RecipeOptions(tiny=True, out_dir=str(tmp_path / "run"), progress=False, data_size=8)
    )
    trainer = Trainer(job.task, job.data, job.config)
    den = job.task.denoiser
    assert den.config.layout_channels == LAYOUT_BG_CHANNELS
    # a file whose denoiser reads 16 inputs: take the recipe's own weights, cut the adapters'
    tensors = {f"denoiser.{k}": v.clone() for k, v in den.state_dict().items()}
    for i in range(len(den.layout_adapters)):
        key = f"denoiser.layout_adapters.{i}.0.weight"
        tensors[key] = torch.randn_like(tensors[key][:, :LAYOUT_CHANNELS])
    path = save_checkpoint(tmp_path / "old.safetensors", tensors, {"denoiser": {}})
    new = trainer.init_from(path)
    assert any("inputs 16 -> 19" in k for k in new["denoiser"])
    for i, adapter in enumerate(den.layout_adapters):
        w = adapter[0].weight
        assert torch.equal(
            w[:, :LAYOUT_CHANNELS], tensors[f"denoiser.layout_adapters.{i}.0.weight"]
        )
        assert not w[:, LAYOUT_CHANNELS:].any()
    assert _widened(torch.zeros(4, 16, 1, 1), torch.zeros(4, 19, 1, 1))
    assert not _widened(torch.zeros(4, 19, 1, 1), torch.zeros(4, 16, 1, 1))
    assert not _widened(torch.zeros(5, 16, 1, 1), torch.zeros(4, 19, 1, 1))
