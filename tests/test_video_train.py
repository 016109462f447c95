"""Progressive text-to-video training: the staged source gives one clip length per batch that
follows the stage, still images are captioned without motion, and the tiny recipe trains through
the stages in one run and exports a loadable text2video checkpoint."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import genlab
from genlab.text import Tokenizer
from genlab.train import RecipeOptions, run_recipe
from genlab.train.video import Stage, StagedClipSource


def source(**kwargs):
    stages = [Stage(0, (1,)), Stage(3, (4,)), Stage(6, (8, 12))]
    return StagedClipSource(stages, 4, Tokenizer(), 48, size=16, corpus_size=20, **kwargs)


def test_each_batch_has_one_clip_length_chosen_by_its_stage():
    src = source()
    lengths = [src.fetch(torch.arange(s * 4, s * 4 + 4))["videos"].shape[1] for s in range(10)]
    assert lengths[:3] == [1, 1, 1] and lengths[3:6] == [4, 4, 4]
    assert set(lengths[6:]) <= {8, 12} and len(set(lengths[6:])) == 2  # buckets both used
    batch = src.fetch(torch.arange(24, 28))
    assert batch["videos"].dtype == torch.uint8 and batch["videos"].shape[2:] == (16, 16, 3)
    assert batch["tokens"].shape == (4, 48)


def test_the_same_sample_index_gives_the_same_clip_and_caption_after_a_restart():
    a, b = source(), source()
    x, y = a.fetch(torch.arange(28, 32)), b.fetch(torch.arange(28, 32))
    assert torch.equal(x["videos"], y["videos"]) and torch.equal(x["tokens"], y["tokens"])


def test_prerendered_clips_are_the_ones_rendered_on_demand():
    warm = source()
    assert warm.lengths() == [1, 4, 8, 12]
    assert warm.prerender(workers=2, progress=False) == 20 * 4  # a process pool, every length
    cold = source()
    for i in (0, 7, 19):
        for n in (1, 4, 12):
            assert np.array_equal(warm._cache[(i, n)], cold.clip(i, n))
    x, y = warm.fetch(torch.arange(28, 32)), cold.fetch(torch.arange(28, 32))
    assert torch.equal(x["videos"], y["videos"]) and torch.equal(x["tokens"], y["tokens"])
    bounded = source(max_cached=9)
    bounded.prerender(workers=1, progress=False)
    assert len(bounded._cache) <= 9


def test_still_images_are_captioned_without_motion_and_clips_with_it():
    src = source()
    tok = src.tokenizer
    image_text = " ".join(tok.decode(ids) for ids in src.fetch(torch.arange(0, 4))["tokens"])
    clip_text = " ".join(tok.decode(ids) for ids in src.fetch(torch.arange(12, 16))["tokens"])
    motion_words = {"moving", "moves", "growing", "grows", "shrinking", "shrinks", "bounces"}
    motion_words |= {"bouncing", "rising", "sliding", "still", "staying"}
    assert not motion_words & set(image_text.split())
    assert motion_words & set(clip_text.split())


@pytest.fixture(scope="module")
def world_t2v(tmp_path_factory):
    """One tiny world-t2v run (6 steps: through its stages), for the tests that only read what it
    wrote: (summary, its folder)."""
    out = tmp_path_factory.mktemp("world-t2v")
    options = RecipeOptions(tiny=True, steps=6, out_dir=str(out), progress=False)
    return run_recipe("world-t2v", options), out


@pytest.mark.slow
def test_tiny_progressive_recipe_trains_through_its_stages_and_exports_a_video_model(world_t2v):
    summary, out = world_t2v
    assert summary["steps"] == 6 and summary["skipped_steps"] == 0
    import json

    logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert 1 <= logs[0]["frames"] < 4 == logs[-1]["frames"]  # images first, then clips
    pipe = genlab.load(summary["model"], device="cpu")
    video = pipe("a red circle moving right", num_frames=4, num_inference_steps=1, seed=0)
    assert len(video.frames[0]) == 4 and np.asarray(video.frames[0][0]).shape == (16, 16, 3)
    card = (out / "world-t2v.md").read_text()
    assert "progressive stages" in card


@pytest.mark.slow
def test_clip_text_recipe_trains_only_the_words_the_clip_lacks(world_t2v):
    """world-t2v: world-clip's tower stays frozen, the motion words it lacks get embeddings
    of their own that train, and the exported model reads them."""
    from genlab.train.text2image import pretrained_text_encoder

    clip = pretrained_text_encoder("world-clip")
    known = len(clip.tokenizer)
    summary, _ = world_t2v
    pipe = genlab.load(summary["model"], device="cpu")
    text = pipe.text_encoder
    assert text.tokenizer.vocab[:known] == clip.tokenizer.vocab
    assert {"rising", "sliding", "while"} <= set(text.tokenizer.vocab[known:])
    trained = text.token_embedding.weight.float()
    torch.testing.assert_close(trained[:known], clip.token_embedding.weight.half().float())
    mean = clip.token_embedding.weight.mean(0).half().float()
    assert (trained[known:] - mean).abs().amax() > 0  # the new rows moved from their start
    for name, p in clip.state_dict().items():
        if name != "token_embedding.weight" and not name.startswith("null"):
            torch.testing.assert_close(text.state_dict()[name].float(), p.half().float())
    video = pipe("a red circle rising", num_frames=4, num_inference_steps=1, seed=0)
    assert len(video.frames[0]) == 4


@pytest.mark.slow
def test_the_word_residual_recipe_trains_the_residual_and_keeps_the_tower(tmp_path):
    """world-t2v-words: the frozen tower plus a per-word residual (zero at the start, so
    --init-from world-t2v begins as the bundled model) that trains, for known words like "left"
    as well as the motion words; the exported model carries it."""
    from genlab.train.text2image import pretrained_text_encoder

    clip = pretrained_text_encoder("world-clip")
    options = RecipeOptions(tiny=True, steps=4, out_dir=str(tmp_path), progress=False)
    recipe = "world-t2v-words"
    summary = run_recipe(recipe, options)
    text = genlab.load(summary["model"], device="cpu").text_encoder
    assert text.word_residual is not None
    residual = text.word_residual.weight.float()
    assert residual[text.tokenizer.index["left"]].abs().amax() > 0  # a known word's row moved
    for name, p in clip.state_dict().items():
        if name != "token_embedding.weight" and not name.startswith("null"):
            torch.testing.assert_close(text.state_dict()[name].float(), p.half().float())
    card = (tmp_path / "world-t2v-words.md").read_text()
    assert "per-word vector" in card and f"`genlab train --recipe {recipe}`" in card


@pytest.mark.slow
def test_prefetching_the_next_batch_changes_nothing(tmp_path, monkeypatch):
    """The clip source lets the Trainer fetch step s+1 on a thread while step s trains; the run
    must be the same, bit for bit, as one that fetches each batch when it needs it; and a run
    stopped and resumed (a prefetch left in flight) must be the same as one run through."""
    from genlab.io import load_checkpoint

    def run(out, prefetch, stop_at=None):
        monkeypatch.setattr(StagedClipSource, "prefetch", prefetch)
        options = RecipeOptions(tiny=True, steps=8, out_dir=str(tmp_path / out), progress=False)
        from genlab.train import get_recipe
        from genlab.train.trainer import Trainer

        job = get_recipe("world-t2v").build(options)
        trainer = Trainer(job.task, job.data, job.config)
        assert (trainer._fetcher is not None) == prefetch
        trainer.resume()
        trainer.run(stop_at=stop_at)
        return tmp_path / out / "checkpoint.safetensors"

    plain = load_checkpoint(run("plain", False))[0]
    fetched = load_checkpoint(run("fetched", True))[0]
    run("resumed", True, stop_at=5)
    resumed = load_checkpoint(run("resumed", True))[0]
    for name, value in plain.items():
        assert torch.equal(value, fetched[name]), name
        assert torch.equal(value, resumed[name]), name


@pytest.mark.slow
def test_a_frame_conditioned_recipe_trains_the_first_frame_channels_and_refuses_a_plain_model(
    world_t2v,
):
    """world-t2v gives the clean first frame to a share of its clips (never to stills): the
    loss reaches the patch embedding's first-frame weights; a task may not ask it of a denoiser
    without those channels."""

    from genlab.diffusion import NoiseSchedule
    from genlab.errors import InvalidArgument
    from genlab.models import create_model
    from genlab.text import TextEncoder
    from genlab.train.video import TextToVideoTask

    summary, out = world_t2v
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe.denoiser.config.frame_cond and pipe.describe()["first_frame_conditioning"]
    assert "first-frame conditioning" in (out / "world-t2v.md").read_text()

    torch.manual_seed(0)
    text = TextEncoder(width=32, depth=1, num_heads=2, max_length=16)
    schedule = NoiseSchedule.create("cosine")
    denoiser = create_model("video-dit-tiny", frame_cond=True)
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.05)
    task = TextToVideoTask(denoiser, text, schedule, first_frame_prob=1.0)
    tokens = torch.randint(1, 10, (2, 16))
    for frames, reached in ((1, False), (4, True)):
        denoiser.zero_grad()
        videos = torch.randint(0, 256, (2, frames, 16, 16, 3), dtype=torch.uint8)
        loss, _ = task.training_step({"videos": videos, "tokens": tokens}, "main")
        loss.backward()
        grad = denoiser.x_embedder.weight.grad[:, 3:6]  # the first frame's channels
        assert bool(grad.abs().amax() > 0) == reached  # stills: no first frame to copy
    with pytest.raises(InvalidArgument, match="first_frame_prob"):
        TextToVideoTask(create_model("video-dit-tiny"), text, schedule, first_frame_prob=0.5)


@pytest.mark.slow
def test_the_video_unet_recipe_starts_as_world_t2i_frame_by_frame_and_trains(tmp_path):
    """world-t2v-unet inflates the bundled world-t2i: before a step, its denoiser on a clip is
    world-t2i's U-Net on each frame and its encoder reads prompts as world-t2i's does; a tiny
    run trains the temporal layers, exports a video model that loads, and says where it began."""
    from genlab.train import get_recipe

    image = genlab.load("world-t2i", device="cpu")
    options = RecipeOptions(tiny=True, steps=3, out_dir=str(tmp_path), progress=False)
    job = get_recipe("world-t2v-unet").build(options)
    denoiser, text = job.task.denoiser.eval(), job.task.text_encoder.eval()
    prompts = ["a red circle above a blue square", "three green stars"]
    torch.manual_seed(0)
    with torch.no_grad():
        ours, theirs = text.encode(prompts), image.text_encoder.encode(prompts)
        torch.testing.assert_close(ours.tokens, theirs.tokens)
        torch.testing.assert_close(ours.pooled, theirs.pooled)
        cond = {"tokens": ours.tokens, "mask": ours.mask, "pooled": ours.pooled}
        x, t = torch.randn(2, 3, 3, 16, 16), torch.tensor([50.0, 600.0])
        video = denoiser(x, t, dict(cond, first_frame=torch.randn(2, 3, 16, 16)))
        frames = torch.stack([image.denoiser(x[:, :, i], t, cond) for i in range(3)], dim=2)
    torch.testing.assert_close(video, frames, atol=1e-4, rtol=1e-3)
    assert "moving" in text.tokenizer.index  # the motion words were added

    summary = run_recipe("world-t2v-unet", options)
    pipe = genlab.load(summary["model"], device="cpu")
    assert type(pipe.denoiser).__name__ == "VideoUNet"
    state = pipe.denoiser.state_dict()
    assert pipe.denoiser.config.temporal_conv  # a 3-D convolution block before each attention
    for layer, out in (("temporal.", "proj.weight"), ("temporal_conv.", "conv2.weight")):
        assert any((state[k] != 0).any() for k in state if k.startswith(layer) and
                   k.endswith(out)), layer  # zero at the start, trained now  # fmt: skip
    card = (tmp_path / "world-t2v-unet.md").read_text()
    assert "started from" in card and "video-unet" in card and "3-D convolution" in card
    assert len(pipe("a red circle moving left", num_frames=4, seed=0, num_inference_steps=2)
               .frames[0]) == 4  # fmt: skip


UNET3D_TINY = RecipeOptions(tiny=True, steps=1, progress=False)


@pytest.fixture(scope="module")
def unet3d_model(tmp_path_factory):
    """A --tiny world-t2v-unet3d-cpu run (world-t2i inflated, one step), exported and loaded:
    (its summary, the pipeline), read by the tests below."""
    out = tmp_path_factory.mktemp("unet3d")
    summary = run_recipe("world-t2v-unet3d-cpu", replace(UNET3D_TINY, out_dir=str(out)))
    return summary, genlab.load(summary["model"], device="cpu")


@pytest.mark.slow
def test_the_cpu_video_unet_recipe_without_its_3d_convolution_differs_only_there(unet3d_model):
    """world-t2v-unet3d-cpu with temporal_conv=False (the retired world-t2v-unet-cpu, as data)."""
    from genlab.train import get_recipe
    from genlab.train.recipes import derive

    conv_recipe = get_recipe("world-t2v-unet3d-cpu")
    plain = derive(conv_recipe, "world-t2v-unet-cpu", "no 3-D blocks", temporal_conv=False)
    plain, conv = plain.build(UNET3D_TINY), unet3d_model[1]
    assert not plain.task.denoiser.config.temporal_conv and not plain.task.denoiser.temporal_conv
    assert conv.denoiser.config.temporal_conv
    assert set(conv.denoiser.temporal_conv) == set(conv.denoiser.temporal)
    assert conv.info["training"]["recipe"] == "world-t2v-unet3d-cpu"
    assert plain.task.denoiser.config.replace(temporal_conv=True) == conv.denoiser.config


@pytest.mark.slow
def test_a_token_query_recipe_goes_on_from_a_3d_block_model_with_only_the_queries_new(
    tmp_path, unet3d_model
):
    """world-t2v-unet3d-cpu plus the token queries (the retired world-t2v-unet3dq-cpu, as data)
    starts from a world-t2v-unet3d-cpu export (the bundled world-t2v's recipe) with the queries
    as the only new parameters."""
    from genlab.train import get_recipe
    from genlab.train.recipes import derive

    base, conv = unet3d_model
    queries = derive(get_recipe("world-t2v-unet3d-cpu"), "world-t2v-unet3dq-cpu", "token queries",
                     temporal_text=True, model_name="world-t2v-unet3dq")  # fmt: skip
    summary = run_recipe(queries, replace(UNET3D_TINY, out_dir=str(tmp_path / "b")),
                         init_from=base["model"])  # fmt: skip
    new = summary["init_from"]["new"]["denoiser"]
    assert new and all(k.startswith("temporal_text.") for k in new)
    pipe = genlab.load(summary["model"], device="cpu")
    assert pipe.info["training"]["recipe"] == "world-t2v-unet3dq-cpu"
    assert conv.denoiser.config.replace(temporal_text=True) == pipe.denoiser.config
    assert "learned queries" in Path(summary["model"]).with_suffix(".md").read_text()


def test_a_video_recipe_refuses_an_image_model_it_cannot_start_from():

    from genlab.errors import InvalidArgument
    from genlab.train.video import WorldT2VSpec, build_world_t2v, image_model

    with pytest.raises(InvalidArgument, match="U-Net denoiser"):
        image_model("world-t2v")  # a video model, not a text-to-image U-Net
    options = RecipeOptions(tiny=True, steps=1, progress=False)
    bad = WorldT2VSpec(init_image="world-t2i", text_encoder="init-image")  # a DiT denoiser
    with pytest.raises(InvalidArgument, match="init_image"):
        build_world_t2v("bad", bad, options)
    with pytest.raises(InvalidArgument, match="text_encoder"):
        build_world_t2v("bad", WorldT2VSpec(text_encoder="init-image"), options)
