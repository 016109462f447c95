"""Specification of text-to-image training: the world corpus, condition dropout to the learned null,
and the world-t2i / world-t2i-dit recipes end to end at tiny size."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

import genlab
from genlab.data.world import prerender
from genlab.diffusion import NoiseSchedule
from genlab.models import create_model
from genlab.text import TextEncoder
from genlab.train import RecipeOptions, run_recipe
from genlab.train.text2image import TextToImageTask, world_corpus, world_vocabulary


def test_corpus_depends_on_the_seed_only_not_on_chunking():
    tok = world_vocabulary()
    a = world_corpus(12, size=16, seed=3, tokenizer=tok, max_length=48, chunk=5, workers=1,
                     progress=False)  # fmt: skip
    b = world_corpus(12, size=16, seed=3, tokenizer=tok, max_length=48, chunk=12, workers=1,
                     progress=False)  # fmt: skip
    assert a["images"].shape == (12, 16, 16, 3) and a["images"].dtype == torch.uint8
    assert a["tokens"].shape == (12, 4, 48)
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["tokens"], b["tokens"])
    # The images are genlab.data.world's training stream, the same that prerender gives.
    assert torch.equal(a["images"], prerender(12, size=16, seed=3, workers=1)["images"])
    # The vocabulary covers every caption word (no [UNK]), and the 4 captions differ.
    assert not (a["tokens"] == 1).any()
    assert any(len({tuple(c.tolist()) for c in row}) > 1 for row in a["tokens"])


def test_condition_dropout_trains_the_learned_null_instead_of_the_caption():
    tok = world_vocabulary()
    corpus = world_corpus(4, size=16, tokenizer=tok, max_length=48, workers=1, progress=False)

    def grads(cond_dropout):
        torch.manual_seed(0)
        encoder = TextEncoder(vocab=tok.vocab, width=32, depth=1, num_heads=2, max_length=48)
        denoiser = create_model("unet-tiny")
        with torch.no_grad():  # leave the zero init, so gradients reach the text at step one
            for p in denoiser.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        task = TextToImageTask(denoiser, encoder, NoiseSchedule.create("cosine"),
                               cond_dropout=cond_dropout)  # fmt: skip
        loss, _ = task.training_step(corpus, "main")
        loss.backward()
        return encoder.null_pooled.grad, encoder.token_embedding.weight.grad

    null_grad, word_grad = grads(1.0)
    assert null_grad.abs().sum() > 0 and word_grad.abs().sum() == 0
    null_grad, word_grad = grads(0.0)
    assert null_grad.abs().sum() == 0 and word_grad.abs().sum() > 0


@pytest.mark.slow
def test_world_t2i_tiny_recipe_trains_exports_a_loadable_model_and_card(tmp_path):
    summary = run_recipe(
        "world-t2i", RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False, device="cpu")
    )
    assert summary["steps"] == 20 and summary["skipped_steps"] == 0
    assert math.isfinite(summary["last_logs"]["loss"])
    assert (tmp_path / "samples" / "step_0000020.png").is_file()
    pipe = genlab.load(summary["model"], device="cpu")
    result = pipe("a red circle above a blue square", seed=0, num_inference_steps=2)
    assert result.images[0].size == (16, 16)
    assert pipe.info["training"]["recipe"] == "world-t2i"
    tensors, _ = genlab.io.load_checkpoint(summary["model"])
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    card = (tmp_path / "world-t2i.md").read_text()
    for fact in ("| steps | 20 |", "| images seen | 160 |", "| hardware |", "| wall time |",
                 "v_prediction"):  # fmt: skip
        assert fact in card, fact


def test_world_t2i_dit_recipe_trains_a_dit(tmp_path):
    options = RecipeOptions(tiny=True, steps=4, out_dir=str(tmp_path), progress=False)
    summary = run_recipe("world-t2i-dit", options)
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe.denoiser.config.arch == "dit"
    image = np.asarray(pipe("a star", seed=1, num_inference_steps=2).images[0])
    assert image.shape == (16, 16, 3)


def test_balanced_corpus_with_varied_captions_is_deterministic_and_checks_its_options():
    from genlab.errors import InvalidArgument

    tok = world_vocabulary()
    kw = dict(size=16, seed=1, tokenizer=tok, max_length=48, workers=1, progress=False)
    a = world_corpus(10, scenes="balanced", captions="varied", chunk=4, **kw)
    b = world_corpus(10, scenes="balanced", captions="varied", chunk=10, **kw)
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["tokens"], b["tokens"])
    assert not (a["tokens"] == 1).any()  # varied captions stay within the vocabulary
    plain = world_corpus(10, **kw)
    assert not torch.equal(a["images"], plain["images"])
    for key, value in (("scenes", "odd"), ("captions", "short")):
        with pytest.raises(InvalidArgument, match=key):
            world_corpus(2, **{key: value}, **kw)


def _corpus_captions(n: int, seed: int, scenes: str) -> list[list[str]]:
    """The K captions of each of the first n images of a varied world corpus, decoded."""
    tok = world_vocabulary()
    corpus = world_corpus(
        n, size=16, seed=seed, tokenizer=tok, max_length=48, workers=1, progress=False,
        scenes=scenes, captions="varied",
    )  # fmt: skip
    words = {i: w for i, w in enumerate(tok.vocab)}
    return [
        [" ".join(words[int(t)] for t in ids if t) for ids in corpus["tokens"][i]] for i in range(n)
    ]


def test_focus_corpus_states_each_scene_at_its_detail_in_every_caption():
    """scenes="focus": all K captions of a relation scene state its one relation (the same one),
    and those of an alike scene count; every caption is true of its image."""
    from genlab.data.world import focus_item
    from genlab.world import match, parse_prompt

    seen = set()
    for i, texts in enumerate(_corpus_captions(24, 3, "focus")):
        scene, _, detail, relation = focus_item(3, i)
        seen.add(detail)
        for text in texts:
            parsed = parse_prompt(text)
            assert match(parsed.request, scene).score == 1.0, text
            if detail == "relation":
                assert [r.relation for r in parsed.request.relations] == [relation], text
    assert {"relation", "counts", "objects"} <= seen


def test_varied_corpus_ends_each_caption_set_with_a_canonical_request():
    """The last caption of each image is written as refine_prompt writes prompts: canonical words,
    no opening; it must still be true of the image (the grammar reads it back and it matches)."""
    from genlab.data.world import balanced_item
    from genlab.text import split_words
    from genlab.world import canonical_caption, match, parse_prompt

    count_first = 0
    for i, texts in enumerate(_corpus_captions(40, 2, "balanced")):
        text = texts[-1]
        scene, _ = balanced_item(2, i)
        parsed = parse_prompt(text)
        assert parsed.unknown_words == [], text
        assert split_words(canonical_caption(parsed.request)) == split_words(text), text
        assert match(parsed.request, scene).score == 1.0, text  # true of its image
        count_first += text.split()[0] in ("two", "three", "four")
    assert count_first > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe, arch, export", [("world-t2i-cpu", "unet", "world-t2i"),
                             ("world-t2i-cpu-dit", "dit", "world-t2i-dit"),
                             ("world-t2i-cpu-joint", "unet", "world-t2i-joint"),
                             ("world-t2i-64-cpu", "unet", "world-t2i-64"),
                             ("world-t2i-latent-64-cpu", "unet", "world-t2i-latent-64")]
)  # fmt: skip
def test_cpu_recipes_export_their_denoiser_under_their_names(tmp_path, recipe, arch, export):
    options = RecipeOptions(tiny=True, steps=3, out_dir=str(tmp_path), progress=False)
    summary = run_recipe(recipe, options)
    assert summary["model"].endswith(f"{export}.safetensors")
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe.denoiser.config.arch == arch and pipe.info["training"]["recipe"] == recipe
    latent = "latent" in recipe
    assert (pipe.autoencoder is not None) == latent
    assert pipe.denoiser.config.in_channels == (4 if latent else 3)
    image = pipe("a red circle", num_inference_steps=2, seed=0).images[0]
    assert image.size == (16, 16)  # --tiny renders 16 px scenes in every recipe
    card = (tmp_path / f"{export}.md").read_text()
    assert f"`{recipe}`" in card and f'genlab.load("{export}")' in card
    assert ("world-clip's text tower, frozen" in card) == ("joint" not in recipe)
    assert "Generates 16×16 images" in card


@pytest.mark.slow
def test_bundled_recipe_keeps_the_pretrained_text_tower_frozen_and_learns_only_its_null(tmp_path):
    from genlab.eval.features import bundled_path
    from genlab.text.clip import DomainCLIP

    clip = DomainCLIP.load(bundled_path("world-clip")).text_encoder
    options = RecipeOptions(tiny=True, steps=4, out_dir=str(tmp_path), progress=False)
    summary = run_recipe("world-t2i-cpu", options)
    pipe = genlab.load(summary["model"], device="cpu")
    text = pipe.text_encoder
    assert text.tokenizer.vocab == clip.tokenizer.vocab
    assert pipe.denoiser.config.context_dim == clip.width
    trained = dict(text.named_parameters())
    for name, p in clip.named_parameters():
        if name in ("null_tokens", "null_pooled"):  # CFG's "no text": learned here
            assert not torch.allclose(trained[name], p.half().float()), name
        else:  # exported in fp16: equal to the pretrained weights up to that rounding
            assert torch.equal(trained[name], p.half().float()), name
    assert "world-clip's text tower, frozen" in (tmp_path / "world-t2i.md").read_text()


def test_a_word_residual_starts_as_the_plain_tower_and_tells_relation_words_apart_once_trained():
    """world-clip's tower hardly separates "above" from "below" (its contrastive training did
    not need it); the word residual starts at zero (same outputs), is the only new trainable
    table, survives with_words, and once it moves the two prompts come apart."""
    from genlab.train.text2image import pretrained_text_encoder

    plain = pretrained_text_encoder("world-clip").eval()
    words = pretrained_text_encoder("world-clip", word_residual=True).eval()
    prompts = ["a red circle above a blue square", "a red circle below a blue square"]
    a, b = plain.encode(prompts), words.encode(prompts)
    torch.testing.assert_close(a.tokens, b.tokens)
    torch.testing.assert_close(a.pooled, b.pooled)

    def closest_tokens(enc):  # the least alike pair of output tokens of the two prompts
        return torch.nn.functional.cosine_similarity(enc.tokens[0], enc.tokens[1], dim=-1).min()

    assert torch.nn.functional.cosine_similarity(a.pooled[0], a.pooled[1], dim=0) > 0.99
    assert closest_tokens(a) > 0.95  # the blind spot the residual is for
    trainable = {n for n, p in words.named_parameters() if p.requires_grad}
    assert trainable == {"null_tokens", "null_pooled", "word_residual.weight"}
    with torch.no_grad():
        words.word_residual.weight[words.tokenizer.index["above"]] = 1.0
    assert closest_tokens(words.encode(prompts)) < 0.8
    bigger = words.with_words(["zooming"])
    assert bigger.word_residual.weight.shape[0] == len(words.tokenizer) + 1
    assert torch.equal(bigger.word_residual.weight[:-1], words.word_residual.weight)
    assert torch.count_nonzero(bigger.word_residual.weight[-1]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["world-t2i-words", "world-t2v-words"])
def test_word_residual_recipes_train_the_residual_ten_times_faster(tmp_path, recipe):
    """A fine-tune moves pretrained weights gently; the residual starts at zero and must travel:
    the words recipes give it 10× the learning rate (in the same schedule), and say so."""
    from genlab.train import get_recipe
    from genlab.train.trainer import Trainer

    job = get_recipe(recipe).build(RecipeOptions(tiny=True, out_dir=str(tmp_path), progress=False))
    trainer = Trainer(job.task, job.data, job.config)
    residual = job.task.text_encoder.word_residual.weight
    lr_of = {id(p): g["initial_lr"] for g in trainer.optimizers["main"].param_groups
             for p in g["params"]}  # fmt: skip
    assert lr_of[id(residual)] == pytest.approx(10 * job.config.lr)
    assert sorted(set(lr_of.values())) == pytest.approx([job.config.lr, 10 * job.config.lr])
    assert "× 10 for the word residual" in job.config.extra["word residual"]


@pytest.mark.slow
def test_a_recipe_can_start_from_an_exported_model_and_keep_its_new_parameters(
    tmp_path, capsys, caplog, tiny_models
):
    """--init-from: world-t2i-words starts from a world-t2i export: every tensor the export has
    is loaded (the EMA too), only the word residual is new; a file that fits nothing, or an
    unknown name, is a clear error with exit code 2."""
    caplog.set_level(logging.INFO, logger="genlab")
    from genlab.cli import main
    from genlab.io import load_checkpoint
    from genlab.train import get_recipe
    from genlab.train.trainer import Trainer

    base = run_recipe("world-t2i", RecipeOptions(tiny=True, steps=3, out_dir=str(tmp_path / "a"),
                                                 progress=False))  # fmt: skip
    job = get_recipe("world-t2i-words").build(
        RecipeOptions(tiny=True, steps=2, out_dir=str(tmp_path / "b"), progress=False)
    )
    trainer = Trainer(job.task, job.data, job.config)
    new = trainer.init_from(base["model"])
    assert new == {"denoiser": [], "text_encoder": ["word_residual.weight"]}
    exported, _ = load_checkpoint(base["model"])
    for key, value in trainer.modules["denoiser"].state_dict().items():
        assert torch.equal(value, exported[f"denoiser.{key}"].to(value.dtype)), key
    for key, value in trainer.ema.shadow.items():
        torch.testing.assert_close(value, trainer.ema.params[key].detach())
    summary = run_recipe("world-t2i-words", RecipeOptions(tiny=True, steps=2, progress=False,
                         out_dir=str(tmp_path / "c")), init_from=base["model"])  # fmt: skip
    assert summary["init_from"]["new"]["text_encoder"] == ["word_residual.weight"]
    # the library logs (logging); the CLI shows genlab's log records on stderr
    assert "new, at their initialisation: text_encoder.word_residual.weight" in caplog.text
    assert "started from" in (tmp_path / "c" / "world-t2i-words.md").read_text()
    assert trainer.init_unused == []
    # the other way round: a plain recipe from a model with a residual says what it leaves out
    run_recipe("world-t2i", RecipeOptions(tiny=True, steps=1, progress=False,
               out_dir=str(tmp_path / "e")), init_from=summary["model"])  # fmt: skip
    assert "left out: text_encoder.word_residual.weight" in caplog.text
    args = ["train", "--recipe", "world-t2i-words", "--tiny", "--out", str(tmp_path / "d")]
    assert main([*args, "--init-from", "no-such-model"]) == 2
    assert "--init-from" in capsys.readouterr().err
    assert main([*args, "--init-from", str(tiny_models["video"])]) == 2  # a text-to-video model
    assert "not a model this recipe can start from" in capsys.readouterr().err


def test_a_tower_recipe_trains_the_towers_last_block_and_leaves_the_first_as_it_was(tmp_path):
    """world-t2i-words with tower_layers_trained=1 (the retired world-t2i-tower, as data): the
    last block of world-clip's tower (its output norm and pooled projection too) trains at 2.5×
    the rate beside the 10× residual; the first block and the token table stay exactly as
    world-clip has them; a count of blocks the tower lacks is refused."""
    from genlab.train import get_recipe
    from genlab.train.recipes import derive
    from genlab.train.text2image import unfreeze_tower
    from genlab.train.trainer import Trainer

    options = RecipeOptions(tiny=True, steps=4, out_dir=str(tmp_path), progress=False)
    tower = derive(get_recipe("world-t2i-words"), "world-t2i-tower", "the tower trains too",
                   tower_layers_trained=1, tower_lr_scale=2.5)  # fmt: skip
    job = tower.build(options)
    encoder = job.task.text_encoder
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    trainer = Trainer(job.task, job.data, job.config)
    lr_of = {id(p): g["initial_lr"] for g in trainer.optimizers["main"].param_groups
             for p in g["params"]}  # fmt: skip
    lr = job.config.lr
    assert lr_of[id(encoder.blocks[1].attn.qkv.weight)] == pytest.approx(2.5 * lr)
    assert lr_of[id(encoder.pool_proj.weight)] == pytest.approx(2.5 * lr)
    assert lr_of[id(encoder.word_residual.weight)] == pytest.approx(10 * lr)
    assert id(encoder.blocks[0].attn.qkv.weight) not in lr_of
    trainer.run()
    after = encoder.state_dict()
    assert not torch.equal(after["blocks.1.attn.qkv.weight"], before["blocks.1.attn.qkv.weight"])
    for key in ("blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight", "token_embedding.weight"):
        assert torch.equal(after[key], before[key]), key
    assert "last 1 of 2 blocks" in job.config.extra["text tower"]
    from genlab.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="tower_layers_trained"):
        unfreeze_tower(job.task, 3, 1.0, job.config)
