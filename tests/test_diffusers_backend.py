"""The diffusers backend, offline, on a tiny Stable Diffusion pipeline built from configs."""

import pytest
from PIL import Image

import genlab
from genlab.errors import GenlabError, InvalidArgument
from genlab.pipelines.diffusers_backend import SCHEDULERS, DiffusersPipeline


def test_same_arguments_as_the_world_model_and_reproducible(tiny_sd):
    pipe = genlab.load(str(tiny_sd))  # a directory with model_index.json is claimed by the backend
    assert isinstance(pipe, DiffusersPipeline)
    kw = dict(
        negative_prompt="blue",
        num_inference_steps=2,
        guidance_scale=3.0,
        seed=5,
        height=16,
        width=16,
    )
    a, b = pipe("a red ball", **kw), pipe("a red ball", **kw)
    assert a.images[0].size == (16, 16)
    assert list(a.images[0].getdata()) == list(b.images[0].getdata())
    meta = a.metadata[0]
    assert meta["seed"] == 5 and meta["model"] == str(tiny_sd) and meta["backend"] == "diffusers"


@pytest.mark.parametrize("sampler", sorted(SCHEDULERS))
def test_every_genlab_sampler_maps_onto_a_diffusers_scheduler(tiny_sd, sampler):
    pipe = DiffusersPipeline(str(tiny_sd))
    result = pipe("a ball", num_inference_steps=2, sampler=sampler, seed=0, height=16, width=16)
    assert result.metadata[0]["sampler"] == sampler
    assert type(pipe.pipe.scheduler).__name__ == SCHEDULERS[sampler][0]


def test_inpainting_and_img2img_through_edit(tiny_sd):
    pipe = DiffusersPipeline(str(tiny_sd))
    image = Image.new("RGB", (16, 16), (200, 0, 0))
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (0, 0, 8, 16))
    inpainted = pipe.edit(image, "green", mask=mask, num_inference_steps=2, seed=1)
    assert inpainted.images[0].size == (16, 16) and inpainted.metadata[0]["edit"] == "inpaint"
    img2img = pipe.edit(image, "green", strength=0.5, num_inference_steps=4, seed=1)
    assert img2img.metadata[0]["edit"] == "img2img"
    with pytest.raises(InvalidArgument, match="mask: expected the image's size"):
        pipe.edit(image, "x", mask=Image.new("L", (8, 8)))


def test_bad_arguments_are_named(tiny_sd, tmp_path):
    pipe = DiffusersPipeline(str(tiny_sd))
    with pytest.raises(InvalidArgument, match="height: expected a positive multiple of 2"):
        pipe("x", height=15, width=16)
    with pytest.raises(InvalidArgument, match="sampler: expected one of"):
        pipe("x", sampler="plms")
    with pytest.raises(InvalidArgument, match="num_inference_steps"):
        pipe("x", num_inference_steps=0)
    with pytest.raises(InvalidArgument, match="no model_index.json"):
        DiffusersPipeline(str(tmp_path))
    with pytest.raises(GenlabError, match="cannot load diffusers pipeline"):
        DiffusersPipeline("nobody/no-such-model", local_files_only=True)


def test_memory_options_apply(tiny_sd):
    pipe = DiffusersPipeline(str(tiny_sd), attention_slicing=True, vae_tiling=True, dtype="float32")
    assert pipe.pipe.vae.use_tiling
    with pytest.raises(InvalidArgument, match="cpu_offload"):
        DiffusersPipeline(str(tiny_sd), cpu_offload=True, device="cpu")
    caps = pipe.capabilities()
    assert caps["edit"] is True and caps["video"] is False and caps["negative_prompt"] is True
