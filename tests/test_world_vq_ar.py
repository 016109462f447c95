"""The layout-conditioned VQ + AR model of the world: the prior (exact cached sampling, CFG against a
negative prompt), its pipeline (the grammar's plan, seeds, n, guidance, negative prompt; no steps)
and `genlab generate --model` on it."""

import numpy as np
import pytest
import torch

import genlab
from genlab.cli import main
from genlab.errors import InvalidArgument
from genlab.io import read_params, save_checkpoint, to_pil
from genlab.models.ar_layout import LAYOUT_AR_MODELS, LayoutARTransformer, cell_overlap
from genlab.models.vqvae import VQVAE, VQVAE_MODELS
from genlab.text.encoder import TextEncoder
from genlab.train.world_families import LayoutARTask, encode_captions, focus_corpus
from genlab.world.layout import layout_objects


def _tiny_prior(text_dim=16):
    torch.manual_seed(0)
    return LayoutARTransformer(dict(LAYOUT_AR_MODELS["ar-layout-tiny"], text_dim=text_dim)).eval()


def _condition(batch=2, length=6, dim=16):
    return dict(
        text=torch.randn(batch, length, dim),
        text_mask=torch.ones(batch, length, dtype=torch.bool),
        layout=torch.tensor([[0, 12, 0, 0, 0, 0, 0, 0, 80]] * batch),
        background=torch.tensor([0, 2])[:batch],
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained tiny model exported the way the recipe exports it."""
    torch.manual_seed(0)
    text_encoder = TextEncoder(width=16, depth=1, num_heads=2, max_length=8)
    prior = _tiny_prior()
    vq = VQVAE(VQVAE_MODELS["vqvae-tiny"])
    with torch.no_grad():  # codes far apart, so that other tokens decode to other pixels
        vq.quantizer.embedding.normal_(0, 3.0)
    defaults = {"sampling_defaults": {"guidance_scale": 2.0, "temperature": 1.0, "top_k": 8}}
    tensors, config = LayoutARTask(prior, vq, text_encoder, defaults).export()
    path = tmp_path_factory.mktemp("vq-ar") / "tiny-vq-ar.safetensors"
    return str(save_checkpoint(path, tensors, {**config, "name": "tiny-vq-ar"}))


def test_each_token_place_is_shared_among_the_cells_it_overlaps():
    w = cell_overlap(8)
    assert torch.allclose(w.sum(1), torch.ones(64))
    assert w[0, 0] == 1  # the top-left token lies in the top-left cell
    assert w[63, 8] == 1  # the bottom-right token in the bottom-right cell
    assert 0 < w[2, 0] < 1 and 0 < w[2, 1] < 1  # the third token straddles two cells


def test_cached_sampling_draws_the_same_tokens_as_recomputing_everything():
    prior, cond = _tiny_prior(), _condition()
    draw = lambda cache: prior.generate(  # noqa: E731
        **cond, guidance_scale=3.0, generator=torch.Generator().manual_seed(4), use_cache=cache
    )
    assert torch.equal(draw(True), draw(False))


def test_at_guidance_zero_only_the_negative_branch_is_heard():
    prior, cond = _tiny_prior(), _condition()
    negative = _condition()
    negative["text"] = torch.randn_like(negative["text"])
    seed = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    guided = prior.generate(**cond, negative=negative, guidance_scale=0.0, generator=seed())
    assert torch.equal(guided, prior.generate(**negative, generator=seed()))


def test_training_loss_falls_on_a_few_scenes():
    corpus = focus_corpus(16, seed=3, size=16)
    text_encoder = TextEncoder(width=16, depth=1, num_heads=2, max_length=8)
    text, mask = encode_captions(text_encoder, corpus["captions"], 4)
    vq = VQVAE(VQVAE_MODELS["vqvae-tiny"])
    tokens = vq.encode_indices(corpus["image"].float() / 127.5 - 1).flatten(1)
    prior = _tiny_prior().train()
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    cond = dict(text=text.float(), text_mask=mask, layout=corpus["layout"])
    losses = []
    for _ in range(20):
        loss = prior.loss(tokens, background=corpus["background"], **cond)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_the_plan_realizes_the_prompt_and_the_same_seed_regenerates(checkpoint):
    pipe = genlab.load(checkpoint)
    out = pipe("two red circles on a white background", seed=11, num_images=3)
    assert len(out.images) == 3 and [m["seed"] for m in out.metadata] == [11, 12, 13]
    for meta in out.metadata:
        objects = layout_objects(meta["layout_cells"])
        assert [(o.color, o.shape) for o in objects] == [("red", "circle")] * 2
    again = pipe("two red circles on a white background", seed=13)
    assert np.array_equal(np.asarray(again.images[0]), np.asarray(out.images[2]))
    assert again.metadata[0]["layout_cells"] == out.metadata[2]["layout_cells"]


def test_guidance_negative_prompt_and_sampling_options_are_honoured(checkpoint):
    pipe = genlab.load(checkpoint)
    meta = pipe("a blue square", seed=0).metadata[0]
    assert (meta["guidance_scale"], meta["top_k"], meta["num_inference_steps"]) == (2.0, 8, None)
    # the negative prompt is the unguided branch: at guidance 0 only it is heard, as its text
    # alone (no plan) would be drawn without guidance
    a = pipe("a blue square", seed=0, guidance_scale=0.0, negative_prompt="a red circle")
    b = pipe("a red circle", seed=0, guidance_scale=1.0, plan_layout=False)
    assert a.metadata[0]["negative_prompt"] == "a red circle"
    assert np.array_equal(np.asarray(a.images[0]), np.asarray(b.images[0]))
    greedy = [pipe("a blue square", seed=s, top_k=1).images[0] for s in (1, 2)]
    assert np.array_equal(np.asarray(greedy[0]), np.asarray(greedy[1]))  # top-1: seed-free
    text_only = pipe("a blue square", seed=0, plan_layout=False).metadata[0]
    assert "layout_cells" not in text_only and text_only["plan_layout"] is False


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(num_inference_steps=20), "num_inference_steps.*one by one"),
        (dict(sampler="ddim"), "sampler.*one way to draw"),
        (dict(temperature=0), "temperature"),
        (dict(top_p=1.5), "top_p"),
        (dict(plan_layout="yes"), "plan_layout"),
        (dict(guidance_scale=-1.0), "guidance_scale"),
    ],
)
def test_arguments_it_cannot_honour_are_refused_by_name(checkpoint, kwargs, name):
    with pytest.raises(InvalidArgument, match=name):
        genlab.load(checkpoint)("a red circle", seed=0, **kwargs)


def test_cli_generate_honours_seed_n_guidance_negative_and_refuses_steps(
    checkpoint, tmp_path, capsys
):
    out = tmp_path / "img.png"
    argv = ["generate", "a red circle", "--model", checkpoint, "--seed", "7", "--n", "2"]
    argv += ["--guidance", "2.5", "--negative", "a blue square", "--out", str(out)]
    assert main(argv) == 0
    params = read_params(tmp_path / "img-1.png")
    assert (params["seed"], params["guidance_scale"], params["negative_prompt"]) == (
        8, 2.5, "a blue square",
    )  # fmt: skip
    assert main(["generate", "a red circle", "--model", checkpoint, "--no-layout",
                 "--out", str(tmp_path / "text.png")]) == 0  # fmt: skip
    assert read_params(tmp_path / "text.png")["plan_layout"] is False
    capsys.readouterr()
    code = main(["generate", "a red circle", "--model", checkpoint, "--steps", "20"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "num_inference_steps" in err and "no denoising steps" in err
    code = main(["generate", "a red circle", "--model", checkpoint, "--sampler", "ddim"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "sampler" in err and "ddim" in err
    # its own sampler's name, as its PNGs record it (--from-png), is accepted
    assert read_params(tmp_path / "img-0.png")["sampler"] == "autoregressive"
    assert main(["generate", "--from-png", str(tmp_path / "img-0.png"),
                 "--out", str(tmp_path / "again.png")]) == 0  # fmt: skip
    first, again = (to_pil_array(tmp_path / f) for f in ("img-0.png", "again.png"))
    assert np.array_equal(first, again)  # the same seed, plan and guidance: the same image


def to_pil_array(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_palette_tokenizer_keeps_colours_exact_and_shapes_readable():
    from genlab.models.palette_vq import PaletteTokenizer
    from genlab.world.parser import parse_image

    corpus = focus_corpus(32, seed=5)
    x, bg = corpus["image"].float() / 127.5 - 1, corpus["drawn_background"]
    tokenizer = PaletteTokenizer(dict(num_masks=128))
    assert tokenizer.fit(x, bg, iters=5) > 0.5  # codes in use
    tokens = tokenizer.encode(x, bg)
    assert tokens.shape == (32, 64) and tokens.max() < tokenizer.config.vocab_size
    recon = tokenizer.decode(tokens, bg)
    assert (recon - x).pow(2).mean() < 0.01
    same = [parse_image(to_pil(a)).describe() == parse_image(to_pil(b)).describe()
            for a, b in zip(x, recon)]  # fmt: skip
    assert sum(same) / len(same) >= 0.9
    flat = torch.full_like(tokens, 0)  # mask 0, colour 0: the background alone
    assert torch.allclose(tokenizer.decode(flat, bg)[:, :, 0, 0], tokenizer.backgrounds[bg])


@pytest.mark.parametrize(
    "recipe",
    [
        "world-vq-ar-plan",
        "world-vae-plan",
        "world-dcgan-plan",
        # the diffusion family's recipe: a U-Net, a planner and a sample grid, tens of seconds
        pytest.param("world-t2i-layout-plan", marks=pytest.mark.slow),
    ],
)
def test_a_tiny_family_recipe_trains_and_its_export_draws_the_plan(recipe, tmp_path):
    out = tmp_path / recipe
    assert main(["train", "--recipe", recipe, "--tiny", "--device", "cpu", "--out", str(out),
                 "--no-progress"]) == 0  # fmt: skip
    (path,) = [p for p in out.glob("world-*.safetensors")]
    meta = genlab.load(str(path))("two green stars", seed=4).metadata[0]
    assert [o.shape for o in layout_objects(meta["layout_cells"])] == ["star", "star"]
    if recipe == "world-vq-ar-plan":  # the export samples as the bundled world-vq-ar does
        assert (meta["guidance_scale"], meta["temperature"], meta["top_k"]) == (1.5, 0.7, None)
