"""The text-to-video pipeline and `genlab video`: clips of the asked length, reproducible by seed,
image → video keeps the given first frame, checkpoints load with genlab.load, the CLI writes MP4 /
GIF files carrying their parameters, and bad input is one error line with no file left behind."""

import numpy as np
import pytest
import torch

import genlab
from genlab.cli import main
from genlab.diffusion import NoiseSchedule
from genlab.errors import InvalidArgument
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.postprocess import read_video, read_video_params
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.text import TextEncoder


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    text_encoder = TextEncoder(width=32, depth=1, num_heads=2, max_length=16)
    denoiser = create_model("video-dit-tiny", max_frames=8)
    for p in denoiser.parameters():  # an untrained but non-trivial model: every branch active
        torch.nn.init.normal_(p, std=0.05)
    schedule = NoiseSchedule.create("cosine")
    return Text2VideoPipeline(
        denoiser.eval(), text_encoder.eval(), schedule, "v_prediction", name="tiny-t2v",
        image_size=16, num_frames=4,
    )  # fmt: skip


@pytest.fixture(scope="module")
def checkpoint(pipe, tmp_path_factory):
    path = tmp_path_factory.mktemp("t2v") / "tiny-t2v.safetensors"
    tensors, config = pipe.checkpoint()
    save_checkpoint(path, tensors, config)
    return path


def test_a_video_has_the_asked_number_of_frames_and_its_parameters(pipe):
    result = pipe("a red circle moving right", num_frames=3, num_inference_steps=2, seed=5)
    assert len(result.frames) == 1 and len(result.frames[0]) == 3
    assert result.frames[0][0].size == (16, 16)
    meta = result.metadata[0]
    assert meta["num_frames"] == 3 and meta["seed"] == 5 and meta["model"] == "tiny-t2v"
    assert result.images[0].tobytes() == result.frames[0][0].tobytes()


def test_the_same_seed_gives_the_same_video_and_video_i_of_a_batch_uses_seed_plus_i(pipe):
    batch = pipe("a blue square moving up", num_images=2, num_inference_steps=2, seed=7)
    alone = pipe("a blue square moving up", num_inference_steps=2, seed=8)
    assert [f.tobytes() for f in batch.frames[1]] == [f.tobytes() for f in alone.frames[0]]
    assert batch.frames[0][1].tobytes() != batch.frames[1][1].tobytes()


def test_frame_counts_the_model_cannot_produce_are_refused_naming_the_valid_range(pipe):
    assert pipe.valid_frames == [1, 2, 3, 4, 5, 6, 7, 8]
    for bad in (0, 9, 2.5, True):
        with pytest.raises(InvalidArgument, match="num_frames: expected an integer from 1 to 8"):
            pipe("a red circle", num_frames=bad, num_inference_steps=1)


def test_an_animation_is_refused_as_the_layout_planned_pipelines_alone(pipe):
    with pytest.raises(InvalidArgument, match="animation: expected None: .* video denoiser"):
        pipe("a red circle", num_inference_steps=1, animation="cutout")


def test_image_to_video_keeps_the_given_first_frame(pipe):
    first = np.zeros((16, 16, 3), np.uint8)
    first[4:10, 4:10] = (255, 0, 0)
    result = pipe.animate(first, "a red square moving right", num_frames=4, num_inference_steps=2)
    assert np.array_equal(np.asarray(result.frames[0][0]), first)
    assert result.metadata[0]["edit"] == "image_to_video"
    assert not np.array_equal(np.asarray(result.frames[0][2]), first)


@pytest.fixture(scope="module")
def image_pipe(tmp_path_factory):
    """A tiny random text-to-image model drawing 16×16 images, saved as a checkpoint."""
    from genlab.pipelines.text2image import Text2ImagePipeline
    from genlab.text import TEXT_ENCODERS, TextEncoderConfig

    torch.manual_seed(1)
    denoiser = create_model("dit-tiny")
    for p in denoiser.parameters():  # untrained but not the zero-initialised identity
        torch.nn.init.normal_(p, std=0.05)
    image = Text2ImagePipeline(
        denoiser.eval(),
        TextEncoder(TextEncoderConfig(**TEXT_ENCODERS["text-tiny"])).eval(),
        NoiseSchedule.create("cosine"), "v_prediction", name="tiny-t2i", image_size=16,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("t2i") / "tiny-t2i.safetensors"
    save_checkpoint(path, *image.checkpoint())
    return image, path


def test_a_keyframe_model_draws_each_first_frame_and_the_video_model_animates_it(pipe, image_pipe):
    """text → image → video: video i's first frame is exactly what the image model draws for its
    prompt with seed + i, and the metadata says which model drew it."""
    image, _ = image_pipe
    prompts = ["a red circle moving right", "a blue square moving up"]
    result = pipe(
        prompts, num_images=2, num_frames=4, num_inference_steps=2, seed=3, keyframe=image
    )
    stills = image(prompts, num_images=2, num_inference_steps=2, seed=3)
    assert len(result.frames) == 4 and stills.images[0].tobytes() != stills.images[1].tobytes()
    for video, still, meta in zip(result.frames, stills.images, result.metadata, strict=True):
        assert np.array_equal(np.asarray(video[0]), np.asarray(still))
        assert not np.array_equal(np.asarray(video[3]), np.asarray(still))
        assert meta["edit"] == "keyframe_to_video" and meta["keyframe_model"] == "tiny-t2i"
    with pytest.raises(InvalidArgument, match="keyframe: expected a text-to-image pipeline"):
        pipe("a red circle", num_inference_steps=1, keyframe=pipe)
    with pytest.raises(InvalidArgument, match="keyframe: expected None when a first frame"):
        pipe("a red circle", num_inference_steps=1, image=np.zeros((16, 16, 3), np.uint8),
             keyframe=image)  # fmt: skip


def test_keyframe_candidates_animate_the_best_still_and_record_its_seed(pipe, image_pipe):
    """With N candidates the image model draws N rounds of stills (round j seeded seed + j·B);
    each video animates the still its score rates highest, and `keyframe_seed` regenerates it."""
    image, _ = image_pipe
    prompts = ["a red circle moving right", "a blue square moving up"]
    B = len(prompts)
    rounds = [image(prompts, num_inference_steps=2, seed=3 + j * B).images for j in range(3)]
    want = {prompts[0]: 2, prompts[1]: 1}  # which round the score below prefers per prompt

    def score(prompt, still):
        ranks = [r[prompts.index(prompt)].tobytes() for r in rounds]
        return 1.0 if ranks.index(still.tobytes()) == want[prompt] else 0.0

    result = pipe(prompts, num_frames=2, num_inference_steps=2, seed=3, keyframe=image,
                  keyframe_candidates=3, keyframe_score=score)  # fmt: skip
    for i, (video, meta) in enumerate(zip(result.frames, result.metadata, strict=True)):
        best = rounds[want[prompts[i]]][i]
        assert np.array_equal(np.asarray(video[0]), np.asarray(best))
        assert (
            meta["keyframe_candidates"] == 3
            and meta["keyframe_seed"] == 3 + want[prompts[i]] * B + i
        )
        alone = image(prompts[i], num_inference_steps=2, seed=meta["keyframe_seed"]).images[0]
        assert np.array_equal(np.asarray(alone), np.asarray(best))
    # the default score is the world's keyframe fit: it runs on world prompts
    default = pipe(prompts[0], num_frames=2, num_inference_steps=1, seed=0, keyframe=image,
                   keyframe_candidates=2)  # fmt: skip
    assert default.metadata[0]["keyframe_seed"] in (0, 1)
    with pytest.raises(InvalidArgument, match="keyframe_candidates: expected an integer ≥ 1"):
        pipe(prompts[0], num_inference_steps=1, keyframe=image, keyframe_candidates=0)
    with pytest.raises(InvalidArgument, match="keyframe_candidates: expected 1"):
        pipe(prompts[0], num_inference_steps=1, keyframe_candidates=2)
    with pytest.raises(InvalidArgument, match="keyframe_score"):
        pipe(prompts[0], num_inference_steps=1, keyframe=image, keyframe_candidates=2,
             keyframe_score="clip")  # fmt: skip


def test_cli_keyframe_writes_the_video_and_refuses_a_video_model_as_keyframe(
    checkpoint, image_pipe, tmp_path, capsys
):
    _, image_checkpoint = image_pipe
    out = tmp_path / "k.gif"
    argv = ["video", "a red circle moving right", "--model", str(checkpoint), "--steps", "1"]
    assert main([*argv, "--keyframe", str(image_checkpoint), "--seed", "2", "--out", str(out)]) == 0
    params = read_video_params(out)
    assert params["keyframe_model"] == "tiny-t2i" and params["seed"] == 2
    bad = tmp_path / "bad.gif"
    assert main([*argv, "--keyframe", str(checkpoint), "--out", str(bad)]) == 2
    assert "--keyframe: expected a text-to-image model" in capsys.readouterr().err
    assert not bad.exists()
    four = tmp_path / "k4.gif"
    argv4 = [*argv, "--keyframe", str(image_checkpoint), "--keyframe-candidates", "2"]
    assert main([*argv4, "--seed", "2", "--out", str(four)]) == 0
    assert read_video_params(four)["keyframe_candidates"] == 2
    assert main([*argv, "--keyframe-candidates", "2", "--out", str(bad)]) == 2
    assert "--keyframe-candidates: expected 1 unless --keyframe is given" in capsys.readouterr().err
    assert not bad.exists()


def test_a_text2video_checkpoint_loads_with_genlab_load_and_reproduces_the_video(pipe, checkpoint):
    loaded = genlab.load(str(checkpoint), device="cpu")
    assert isinstance(loaded, Text2VideoPipeline) and loaded.num_frames == 4
    a = pipe("a green star", num_inference_steps=2, seed=3).frames[0]
    b = loaded("a green star", num_inference_steps=2, seed=3).frames[0]
    diff = np.stack(a).astype(int) - np.stack(b).astype(int)
    assert np.abs(diff).max() <= 1


def test_cli_writes_an_mp4_with_its_generation_parameters(checkpoint, tmp_path):
    out = tmp_path / "clip.mp4"
    argv = ["video", "a red circle moving right", "--model", str(checkpoint), "--frames", "4"]
    assert main([*argv, "--steps", "2", "--seed", "11", "--out", str(out)]) == 0
    frames, fps = read_video(out)
    assert frames.shape == (4, 16, 16, 3) and fps == 8
    params = read_video_params(out)
    assert params["prompt"] == "a red circle moving right" and params["seed"] == 11


def test_cli_gif_with_interpolation_and_upscaling_records_them(checkpoint, tmp_path):
    out = tmp_path / "clip.gif"
    argv = ["video", "a red circle", "--model", str(checkpoint), "--frames", "3", "--steps", "1"]
    assert main([*argv, "--interpolate", "2", "--upscale", "bicubic", "--out", str(out)]) == 0
    frames, _ = read_video(out)
    assert frames.shape == (5, 32, 32, 3)  # (3 - 1)·2 + 1 frames, 2× the side
    assert read_video_params(out)["interpolate"] == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--frames", "40"], "num_frames: expected an integer from 1 to 8, got 40"),
        (["--fps", "0"], "fps: expected a number of frames per second in (0, 240]"),
        (["--fps", "-3"], "fps: expected a number of frames per second in (0, 240]"),
        (["--out", "x.avi"], "out: expected a path ending in .mp4 or .gif"),
    ],
)
def test_cli_bad_input_is_one_error_line_exit_2_and_no_file(
    checkpoint, tmp_path, capsys, monkeypatch, extra, message
):
    monkeypatch.chdir(tmp_path)
    argv = ["video", "a red circle", "--model", str(checkpoint), "--steps", "1"]
    if "--out" not in extra:
        extra = [*extra, "--out", "v.mp4"]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genlab: error: ") and message in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_agent_generate_video_tool_works_with_a_text2video_pipeline(pipe, tmp_path):
    from genlab.agent.tools import ToolContext, generate_video
    from genlab.history import HistoryStore

    store = HistoryStore(tmp_path / "history.sqlite")
    ctx = ToolContext(request="a red circle moving right", store=store, num_inference_steps=2)
    ctx.video_pipeline = pipe
    out = generate_video(ctx, "a red circle moving right", num_frames=8, seed=1)
    assert out["num_frames"] == 8 and len(out["image_ids"]) == 1


def test_agent_animates_an_earlier_image_through_the_image_to_video_path(pipe, tmp_path):
    from PIL import Image

    from genlab.agent.tools import ToolContext, generate_video, load_frames
    from genlab.history import HistoryStore

    store = HistoryStore(tmp_path / "history.sqlite")
    first = np.zeros((16, 16, 3), np.uint8)
    first[2:8, 2:8] = (0, 0, 255)
    Image.fromarray(first).save(tmp_path / "made.png")
    rec = store.add_file(tmp_path / "made.png", {"prompt": "a blue square"}, kind="image")
    ctx = ToolContext(request="animate it", store=store, num_inference_steps=2)
    ctx.video_pipeline = pipe
    out = generate_video(ctx, "a blue square moving right", num_frames=8, image_id=rec.id)
    frames = load_frames(out["paths"][0])
    assert len(frames) == 8 and np.array_equal(np.asarray(frames[0]), first)


def test_cli_animates_an_image_given_as_the_first_frame(checkpoint, tmp_path):
    from PIL import Image

    first = np.zeros((16, 16, 3), np.uint8)
    first[8:14, 2:8] = (0, 255, 0)
    Image.fromarray(first).save(tmp_path / "first.png")
    out = tmp_path / "animated.gif"
    argv = ["video", "a green square moving right", "--model", str(checkpoint), "--steps", "1"]
    assert main([*argv, "--image", str(tmp_path / "first.png"), "--out", str(out)]) == 0
    frames, _ = read_video(out)
    assert np.array_equal(frames[0], first)
    assert read_video_params(out)["edit"] == "image_to_video"


def test_a_frame_conditioned_model_is_given_the_first_frame_in_both_guidance_halves():
    torch.manual_seed(0)
    text_encoder = TextEncoder(width=32, depth=1, num_heads=2, max_length=16)
    denoiser = create_model("video-dit-tiny", max_frames=8, frame_cond=True)
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.05)
    pipe = Text2VideoPipeline(
        denoiser.eval(), text_encoder.eval(), NoiseSchedule.create("cosine"), "v_prediction",
        name="tiny-i2v", image_size=16, num_frames=4,
    )  # fmt: skip
    seen = []
    denoiser.register_forward_pre_hook(lambda m, args: seen.append(args[2].get("first_frame")))
    firsts = [np.full((16, 16, 3), v, np.uint8) for v in (0, 255)]
    result = pipe.animate(firsts[1], "a red square moving right", num_frames=4,
                          num_inference_steps=2, num_images=2, guidance_scale=3.0)  # fmt: skip
    assert len(result.frames) == 2 and pipe.describe()["first_frame_conditioning"]
    assert seen and all(f is not None and f.shape == (4, 3, 16, 16) for f in seen)  # 2 × (u, c)
    assert torch.all(seen[0] == 1.0)  # the white frame, in [-1, 1], in every row
    seen.clear()
    pipe("a red square moving right", num_frames=4, num_inference_steps=1)
    assert seen == [None]  # text only: no first frame, the model's zeros


def test_the_agent_draws_the_first_frame_with_its_image_model_for_a_frame_conditioned_video_model(
    image_pipe, tmp_path
):
    """generate_video without an image: a video model trained on first frames gets one from the
    agent's image model (text → image → video), recorded in the history; a plain one does not."""
    from genlab.agent.tools import ToolContext, generate_video, load_frames
    from genlab.history import HistoryStore

    image, _ = image_pipe
    torch.manual_seed(0)
    denoiser = create_model("video-dit-tiny", max_frames=8, frame_cond=True)
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.05)
    video = Text2VideoPipeline(
        denoiser.eval(), TextEncoder(width=32, depth=1, num_heads=2, max_length=16).eval(),
        NoiseSchedule.create("cosine"), "v_prediction", name="tiny-i2v", image_size=16,
    )  # fmt: skip
    store = HistoryStore(tmp_path / "history.sqlite")
    ctx = ToolContext(request="a red circle moving right", store=store, num_inference_steps=2)
    ctx.video_pipeline, ctx.pipeline = video, image
    out = generate_video(ctx, "a red circle moving right", num_frames=8, seed=4)
    still = image("a red circle moving right", num_inference_steps=2, seed=4).images[0]
    frames = load_frames(out["paths"][0])
    assert np.array_equal(np.asarray(frames[0]), np.asarray(still))
    assert out["first_frame_model"] == "tiny-t2i"
    assert store.get_image(out["image_ids"][0]).params["keyframe_model"] == "tiny-t2i"
