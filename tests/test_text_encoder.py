"""The world tokenizer and the text encoder: vocabulary, [UNK], truncation reports, the learned
null for classifier-free guidance, padding independence and checkpoint round trips."""

import json

import pytest
import torch

from genlab.errors import InvalidArgument
from genlab.io import load_checkpoint, save_checkpoint
from genlab.text import TEXT_ENCODERS, TextEncoder, TextEncoderConfig, Tokenizer
from genlab.text.tokenizer import PAD_ID, UNK_ID
from genlab.world import spec


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return TextEncoder(**TEXT_ENCODERS["text-tiny"]).eval()


def test_vocab_covers_the_world_and_unknown_words_become_unk():
    tok = Tokenizer()
    for word in [
        *spec.SHAPES,
        *spec.COLORS,
        *spec.SIZES,
        "above",
        "below",
        "left",
        "two",
        "crimson",
    ]:
        assert tok.index[word] > UNK_ID, word
    ids = tok.tokenize("A Crimson ball, LEFT of a zebra!")
    assert tok.decode(ids) == "a crimson ball left of a [UNK]"
    assert ids[-1] == UNK_ID


def test_tokenizer_pads_to_max_length_and_reports_truncated_prompts():
    tok = Tokenizer()
    batch = tok(["red circle", "one two three four five six"], max_length=4)
    assert batch.ids.shape == (2, 4)
    assert batch.mask.tolist() == [[True, True, False, False], [True] * 4]
    assert batch.ids[0, 2:].tolist() == [PAD_ID, PAD_ID]
    assert batch.truncated == [False, True]


def test_tokenizer_from_texts_adds_new_words_after_the_base_vocab():
    tok = Tokenizer.from_texts(["a vermilion blob", "red blob"])
    base = Tokenizer()
    assert tok.vocab[: len(base)] == base.vocab
    assert tok.vocab[len(base) :] == ["vermilion", "blob"]
    assert Tokenizer.from_config(json.loads(json.dumps(tok.to_config()))).vocab == tok.vocab


def test_tokenizer_rejects_vocab_without_specials_and_non_string_prompts():
    with pytest.raises(InvalidArgument, match="vocab"):
        Tokenizer(["red", "blue"])
    with pytest.raises(InvalidArgument, match="prompt"):
        Tokenizer()([3], max_length=4)


def test_encode_gives_tokens_mask_pooled_and_truncation_flags(encoder):
    long_prompt = " ".join(["red"] * 40)
    enc = encoder.encode(["a small red circle above a blue square", long_prompt])
    L, D = encoder.config.max_length, encoder.config.width
    assert enc.tokens.shape == (2, L, D) and enc.pooled.shape == (2, D)
    assert enc.mask.dtype == torch.bool and enc.mask.sum(1).tolist() == [8, L]
    assert enc.truncated == [False, True]
    assert set(enc.cond) == {"tokens", "mask", "pooled"}


def test_empty_prompt_gives_the_learned_null_tokens_and_pooled(encoder):
    enc = encoder.encode(["", "red circle", "  ,.  "])
    null = encoder.null(1)
    n = encoder.config.num_null_tokens
    for row in (0, 2):
        assert enc.mask[row].tolist() == [True] * n + [False] * (encoder.config.max_length - n)
        assert torch.equal(enc.tokens[row, :n], encoder.null_tokens.detach())
        assert torch.equal(enc.pooled[row], encoder.null_pooled.detach())
    assert torch.equal(null.tokens[0], enc.tokens[0]) and torch.equal(null.pooled[0], enc.pooled[0])
    assert not torch.allclose(enc.pooled[1], enc.pooled[0])


def test_null_embedding_is_learned_it_receives_gradients():
    encoder = TextEncoder(**TEXT_ENCODERS["text-tiny"])
    enc = encoder.encode(["", "a red circle"])
    (enc.tokens.square().sum() + enc.pooled.square().sum()).backward()
    assert encoder.null_tokens.grad.abs().sum() > 0
    assert encoder.null_pooled.grad.abs().sum() > 0
    assert encoder.token_embedding.weight.grad.abs().sum() > 0


def test_encoding_of_a_prompt_does_not_depend_on_its_batch_neighbours(encoder):
    alone = encoder.encode(["green star"])
    batched = encoder.encode(["green star", "two large purple diamonds in the top left corner"])
    assert torch.allclose(alone.pooled[0], batched.pooled[0], atol=1e-5)
    assert torch.allclose(alone.tokens[0, :2], batched.tokens[0, :2], atol=1e-5)


def test_checkpoint_round_trip_restores_vocab_and_outputs(encoder, tmp_path):
    custom = TextEncoder(
        TextEncoderConfig(
            vocab=Tokenizer.from_texts(["a vermilion blob"]).vocab,
            width=32,
            depth=1,
            num_heads=2,
            max_length=8,
        )
    ).eval()
    path = save_checkpoint(
        tmp_path / "text.safetensors",
        custom.state_dict(),
        {"text_encoder": custom.config.to_dict()},
    )
    tensors, config = load_checkpoint(path)
    restored = TextEncoder(TextEncoderConfig.from_dict(config["text_encoder"])).eval()
    restored.load_state_dict(tensors)
    assert restored.tokenizer.index["vermilion"] == custom.tokenizer.index["vermilion"]
    a, b = custom.encode(["vermilion blob", ""]), restored.encode(["vermilion blob", ""])
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.pooled, b.pooled)


def test_every_word_the_world_captioner_writes_is_in_the_default_vocab():
    import numpy as np

    from genlab.world.caption import caption
    from genlab.world.sample import sample_scene

    tok, rng = Tokenizer(), np.random.default_rng(0)
    for _ in range(300):
        text = caption(sample_scene(rng), rng)
        assert UNK_ID not in tok.tokenize(text), text
