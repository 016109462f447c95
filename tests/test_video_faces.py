"""A video prompt as people write it is read the same way by every face: Python and `genlab video`
here, the REST API (test_video_serve.py) and the playground (test_browser_playground.py) give the
model the same text, the canonical caption of what was read; asked to, Python and the CLI give it
the grammar's plan of a whole scene instead (`planned`)."""

import pytest
import torch

import genlab
from genlab.cli import main
from genlab.diffusion import NoiseSchedule
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.postprocess import read_video_params
from genlab.pipelines.text2video import Text2VideoPipeline
from genlab.text import TextEncoder
from genlab.world import parse_prompt

PROMPT = "Please make a crimson ball drifting leftward and a navy box going up!"
SEED = 4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    denoiser = create_model("video-dit-tiny", max_frames=8)
    for p in denoiser.parameters():  # untrained but not trivial: the text changes the video
        torch.nn.init.normal_(p, std=0.05)
    pipe = Text2VideoPipeline(
        denoiser.eval(), TextEncoder(width=32, depth=1, num_heads=2, max_length=24).eval(),
        NoiseSchedule.create("cosine"), "v_prediction", name="tiny-t2v", image_size=16,
        num_frames=4,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("model") / "tiny-t2v.safetensors"
    save_checkpoint(path, *pipe.checkpoint())
    return path


def planned(prompt: str, seed: int) -> str:
    reading = parse_prompt(prompt)
    return Text2VideoPipeline.write_plans([reading.canonical], seed, [reading])[0][0]


def test_the_grammar_plans_a_whole_scene_of_what_was_read_and_reading_gives_it_as_read():
    text = planned(PROMPT, SEED)
    assert text != parse_prompt(PROMPT).canonical
    plan = parse_prompt(text).request
    assert [(o.color, o.shape, o.motion) for o in plan.objects] == [
        ("red", "circle", "left"), ("blue", "square", "up")]  # fmt: skip
    assert all(o.size and o.row is not None and o.col is not None for o in plan.objects)
    assert plan.objects[0].col > 0 and plan.objects[1].row > 0  # room to move left and up
    grow = parse_prompt(planned("a green star getting bigger", 0)).request.objects[0]
    assert grow.size == "small" and grow.motion == "grow"
    reading = parse_prompt(PROMPT)
    texts, sources = Text2VideoPipeline.write_plans([reading.canonical], 0, [reading], "reading")
    assert texts == [reading.canonical] and sources == ["reading"]


def test_python_and_the_cli_give_the_model_the_same_text(checkpoint, tmp_path):
    pipe = genlab.load(str(checkpoint), device="cpu")
    common = dict(num_inference_steps=2, num_frames=4, seed=SEED)
    meta = pipe(PROMPT, **common).metadata[0]
    assert meta["read_as"] == parse_prompt(PROMPT).canonical and meta["plan_source"] == "reading"
    plan = pipe(PROMPT, plan_source="grammar", **common).metadata[0]
    assert plan["read_as"] == planned(PROMPT, SEED) and plan["plan_source"] == "grammar"

    args = ["video", PROMPT, "--model", str(checkpoint), "--steps", "2", "--frames", "4"]
    args += ["--seed", str(SEED), "--no-history"]
    for source, expected in (("reading", meta), ("grammar", plan)):
        out = tmp_path / f"{source}.mp4"
        assert main([*args, "--plan-source", source, "--out", str(out)]) == 0
        params = read_video_params(out)
        assert (params["read_as"], params["plan_source"]) == (expected["read_as"], source)
    assert main([*args, "--plan-source", "llm"]) == 2
