"""The agent's tools on a real history store, with a pipeline that paints the world's own rendering."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from genlab.agent.toolkit import ToolCall, tool
from genlab.agent.tools import TOOLS, ToolContext, make_toolbox
from genlab.io import load_image, read_params, save_checkpoint
from genlab.pipelines.base import GenerationResult
from genlab.pipelines.registry import register_pipeline
from genlab.world import COLORS, SIZES, parse_prompt, realize, render
from genlab.world.parser import parse_image
from genlab.world.video import render_video


class WorldPainter:
    """A stand-in text-to-image model: draws the world's rendering of the prompt (a perfect model),
    except for seeds in `wrong_seeds`, where the first object gets another color (a mistake the
    agent must notice and fix). `edit` inpaints the prompt's rendering inside the mask (with every
    object miscolored if `wrong_edits` is True or holds the edit's seed)."""

    def __init__(self, wrong_seeds=(), size=32, wrong_edits=False):
        self.wrong_seeds, self.size, self.wrong_edits = set(wrong_seeds), size, wrong_edits
        self.calls, self.edits = [], []

    def _paint(self, prompt, seed, negative_prompt=None, miscolor="none"):
        """Render the prompt; miscolor 'first' or 'all' objects (avoiding negative-prompt colors)."""
        scene = realize(parse_prompt(prompt).request, seed)
        avoid = set((negative_prompt or "").replace(",", " ").split())
        objects = list(scene.objects)
        for i in {"none": [], "first": [0], "all": range(len(objects))}[miscolor]:
            wrong = next(c for c in COLORS if c not in avoid | {objects[i].color})
            objects[i] = replace(objects[i], color=wrong)
        return Image.fromarray(render(scene.with_objects(objects), self.size))

    def __call__(
        self,
        prompt,
        negative_prompt=None,
        num_inference_steps=20,
        guidance_scale=4.0,
        sampler="ddim",
        seed=None,
        num_images=1,
        **kw,
    ):
        seed = 0 if seed is None else seed
        self.calls.append(
            {"prompt": prompt, "seed": seed, "negative_prompt": negative_prompt, "n": num_images}
        )
        seeds = range(seed, seed + num_images)
        images = [
            self._paint(prompt, s, negative_prompt, "first" if s in self.wrong_seeds else "none")
            for s in seeds
        ]
        meta = [
            {
                "prompt": prompt,
                "seed": s,
                "num_inference_steps": num_inference_steps,
                "guidance_scale": guidance_scale,
                "model": "world-painter",
            }
            for s in seeds
        ]
        return GenerationResult(images, None, meta)

    def edit(self, image, prompt, mask=None, strength=None, seed=None, num_images=1, **kw):
        seed = 0 if seed is None else seed
        self.edits.append({"prompt": prompt, "seed": seed, "n": num_images, **kw})
        images = []
        for s in range(seed, seed + num_images):
            wrong = self.wrong_edits is True or s in (self.wrong_edits or ())
            painted = np.asarray(self._paint(prompt, s, None, "all" if wrong else "none"))
            if mask is not None:
                keep = np.asarray(mask)[..., None] < 128
                painted = np.where(keep, np.asarray(image), painted)
            images.append(Image.fromarray(painted))
        meta = [{"model": "world-painter", "seed": s} for s in range(seed, seed + num_images)]
        return GenerationResult(images, None, meta)


class WorldVideoPainter:
    """A stand-in text-to-video model: the world's own video of the prompt (motions included)."""

    name = "world-video-painter"

    def __init__(self, vanishing: int = 0):
        self.vanishing = vanishing  # the first this many videos lose their objects at the end

    def __call__(self, prompt, num_frames=8, seed=None, num_images=1, image=None, **kw):
        self.first_frame = image
        scene = realize(parse_prompt(prompt).request, seed or 0)
        clip = render_video(scene, num_frames, 32)
        if self.vanishing > 0:
            self.vanishing -= 1
            clip[-1] = clip[-1, 0, 0]  # the last frame: background only
        frames = [Image.fromarray(f) for f in clip]
        return GenerationResult([], [frames], [{"prompt": prompt, "seed": seed}])


@register_pipeline("test-world-painter")
def _load_painter(path, config, **kwargs):
    return WorldPainter(config.get("wrong_seeds", ()))


def painter_checkpoint(path, wrong_seeds=()):
    """A real checkpoint file whose config makes genlab.load return a WorldPainter."""
    import torch

    config = {"pipeline": "test-world-painter", "wrong_seeds": list(wrong_seeds)}
    return save_checkpoint(path, {"unused": torch.zeros(1)}, config)


def context(store, request="a red circle left of a blue square", wrong_seeds=()):
    run_id = store.add_run("agent", request)
    return ToolContext(
        request=request, model="world-painter", store=store, run_id=run_id,
        pipeline=WorldPainter(wrong_seeds),
    )  # fmt: skip


def call(box, name, **arguments):
    return box.call(ToolCall("c1", name, arguments))


def test_schemas_come_from_signatures_and_docstrings():
    schemas = {t.name: t.schema() for t in TOOLS}
    assert set(schemas) == {
        "refine_prompt", "generate_image", "edit_image", "analyze_image", "generate_video",
    }  # fmt: skip
    gen = schemas["generate_image"]["parameters"]
    assert gen["required"] == ["prompt"] and "ctx" not in gen["properties"]
    assert gen["properties"]["n"] == {
        "type": "integer", "description": "how many images (candidates) to make, 1 to 8.",
        "default": 1,
    }  # fmt: skip
    assert gen["properties"]["guidance"]["type"] == "number"
    assert schemas["analyze_image"]["description"].startswith("Say what is in an image")


def test_a_tool_without_described_parameters_is_refused():
    def bad(x: int) -> dict:
        """Does things."""

    with pytest.raises(TypeError, match="not described"):
        tool(bad)


def test_refine_prompt_resolves_synonyms_and_reports_unsupported_words(store):
    box = make_toolbox(context(store))
    out = call(box, "refine_prompt", description="two crimson balls above a cobalt box, with a hat")
    assert not out.is_error
    assert out.content["prompt"] == parse_prompt("two red circles above a blue square").canonical
    assert out.content["objects"] == 3
    assert "hat" in out.content["unsupported_words"] and "hat" in out.content["note"]


def test_refine_prompt_names_what_the_reading_left_out(store):
    box = make_toolbox(context(store))
    out = call(box, "refine_prompt", description="a circle coloured both red and blue")
    assert out.content["prompt"] == "a red circle"
    assert out.content["reading_note"] == "left out of the reading: blue"


def test_refine_prompt_passes_plain_english_to_a_general_model(store):
    from genlab.pipelines.hosted import OpenAIImages

    ctx = context(store)
    ctx.pipeline = OpenAIImages(api_key="k", base_url="http://127.0.0.1:9/v1")  # never called
    out = call(
        make_toolbox(ctx), "refine_prompt", description="a cat  astronaut", style="watercolor"
    )
    assert not out.is_error and out.content["prompt"] == "a cat astronaut, watercolor"


@pytest.mark.parametrize("text", ["", "   ", "qwzx blorp fnord"])
def test_refine_prompt_on_nothing_drawable_says_what_the_world_can_draw(store, text):
    out = call(make_toolbox(context(store)), "refine_prompt", description=text)
    assert out.is_error
    message = out.content["error"]
    assert "nothing drawable" in message and "circle" in message and "purple" in message


def test_generate_image_stores_each_candidate_with_its_params_and_model(store):
    ctx = context(store)
    out = call(make_toolbox(ctx), "generate_image", prompt="a red circle", n=3, seed=5, steps=7)
    assert not out.is_error and out.content["seeds"] == [5, 6, 7]
    assert len(set(out.content["image_ids"])) == 3 and out.images == out.content["image_ids"]
    rec = store.get_image(out.content["image_ids"][1])
    assert (rec.seed, rec.model, rec.run_id) == (6, "world-painter", ctx.run_id)
    params = read_params(rec.path)
    assert params["prompt"] == "a red circle" and params["num_inference_steps"] == 7


def test_generate_image_without_seed_takes_fresh_seeds(store):
    box = make_toolbox(context(store))
    a = call(box, "generate_image", prompt="a red circle", n=2)
    b = call(box, "generate_image", prompt="a red circle")
    assert a.content["seeds"] == [0, 1] and b.content["seeds"] == [2]


def test_analyze_image_scores_against_the_request(store):
    ctx = context(store, wrong_seeds={1})
    box = make_toolbox(ctx)
    ids = call(box, "generate_image", prompt="a red circle left of a blue square", n=2).images
    good = call(box, "analyze_image", image_id=ids[0]).content
    bad = call(box, "analyze_image", image_id=ids[1]).content
    assert good["satisfied"] and good["score"] == 1.0 and good["problems"] == []
    assert "red circle" in good["description"] and "blue square" in good["description"]
    assert not bad["satisfied"] and bad["score"] < 1.0
    assert any("red circle" in p for p in bad["problems"])
    assert [o["requested"] for o in bad["found"]].count(False) == 1
    assert bad["missing"] == [{"shape": "circle", "color": "red", "size": None}]
    assert store.get_image(ids[1]).score == bad["score"]
    assert ctx.best()[0] == ids[0]


def test_analyze_image_answers_a_question_instead_of_the_request(store):
    box = make_toolbox(context(store))
    (image_id,) = call(box, "generate_image", prompt="a red circle left of a blue square").images
    out = call(box, "analyze_image", image_id=image_id, question="a green star").content
    assert out["compared_with"] == "a green star" and not out["satisfied"]


def test_edit_instruction_repaints_only_the_named_object(store):
    ctx = context(store)
    box = make_toolbox(ctx)
    (image_id,) = call(box, "generate_image", prompt="a red circle left of a blue square").images
    out = call(box, "edit_image", image_id=image_id, instruction="make the circle green")
    assert not out.is_error and out.content["edit"] == "inpaint"
    new = store.get_image(out.content["image_ids"][0])
    assert new.parent_id == image_id
    before = {o.shape: o.color for o in parse_image(load_image(ctx.image(image_id).path)).objects}
    after = {o.shape: o.color for o in parse_image(load_image(new.path)).objects}
    assert before == {"circle": "red", "square": "blue"}
    assert after == {"circle": "green", "square": "blue"}


def test_edit_instruction_on_a_cluttered_image_describes_just_the_object(store):
    from genlab.world.render import blank, draw, to_uint8

    canvas = blank("black", 32)
    cells = [(0, 0), (0, 2), (1, 1), (2, 0), (2, 2)]  # five objects: not a valid world scene
    for (row, col), color in zip(cells, ["red", "blue", "yellow", "pink", "orange"]):
        draw(
            canvas,
            "square" if color == "red" else "star",
            color,
            (col + 0.5) / 3,
            (row + 0.5) / 3,
            SIZES["large"],
        )
    ctx = context(store)
    rec = ctx.save(Image.fromarray(to_uint8(canvas)), {"prompt": "clutter"})
    out = call(
        make_toolbox(ctx), "edit_image", image_id=rec.id, instruction="make the square green"
    )
    assert not out.is_error, out.content
    assert out.content["prompt"] == "a large green square in the top left on a black background"


def test_edit_with_a_prompt_alone_is_img2img_and_with_a_region_inpaints(store):
    box = make_toolbox(context(store))
    (image_id,) = call(box, "generate_image", prompt="a red circle").images
    whole = call(box, "edit_image", image_id=image_id, prompt="a blue star", strength=0.5)
    part = call(box, "edit_image", image_id=image_id, prompt="a blue star", region="top left")
    assert whole.content["edit"] == "img2img" and part.content["edit"] == "inpaint"
    assert part.content["repainted_pixels"] == 10 * 10


def test_edit_with_a_stored_mask_inpaints_its_white_pixels(store):
    ctx = context(store)
    box = make_toolbox(ctx)
    (image_id,) = call(box, "generate_image", prompt="a red circle").images
    white = np.zeros((32, 32), np.uint8)
    white[:16, :8] = 255
    mask = ctx.save(Image.fromarray(white).convert("RGB"), {"prompt": "mask"})
    out = call(box, "edit_image", image_id=image_id, prompt="a blue star", mask_id=mask.id)
    assert not out.is_error and out.content["repainted_pixels"] == 16 * 8
    small = ctx.save(Image.new("RGB", (16, 16), "white"), {"prompt": "mask"})
    black = ctx.save(Image.new("RGB", (32, 32), "black"), {"prompt": "mask"})
    for bad, message in [(small, "16×16"), (black, "all-black")]:
        out = call(box, "edit_image", image_id=image_id, prompt="x", mask_id=bad.id)
        assert (
            out.is_error and message in out.content["error"] and "mask_id" in out.content["error"]
        )


@pytest.mark.parametrize(
    ("arguments", "message"),  # each edit is refused with a message naming what was wrong
    [
        ({"image_id": "nope", "instruction": "make the circle green"}, "no image 'nope'"),
        ({"instruction": "make the star green"}, "no star in the image"),
        ({"instruction": "make it nicer"}, "instruction"),
        ({"prompt": "a red circle", "region": "somewhere"}, "region"),
        ({"prompt": "a red circle", "region": "0.5,0.5,0.2,0.9"}, "region"),
        ({"prompt": "a red circle", "strength": 1.5}, "strength"),
        ({}, "instruction or a prompt"),
    ],
)
def test_bad_edits_are_error_results_naming_the_problem(store, arguments, message):
    box = make_toolbox(context(store))
    (image_id,) = call(box, "generate_image", prompt="a red circle").images
    out = call(box, "edit_image", **{"image_id": image_id, **arguments})
    assert out.is_error and message in out.content["error"]
    assert store.counts()["images"] == 1, "a refused edit adds nothing"


def test_generate_video_is_not_available_without_a_text2video_model(store, no_bundled_models):
    out = call(make_toolbox(context(store)), "generate_video", prompt="a red circle moving right")
    assert out.is_error and "not available" in out.content["error"]
    assert out.error_type == "Unavailable"  # what the offline planner decides on, not the text


def test_video_is_generated_stored_and_analysed_with_its_motion(store):
    ctx = context(store, request="a red circle moving right")
    ctx.video_pipeline = WorldVideoPainter()
    box = make_toolbox(ctx)
    out = call(box, "generate_video", prompt="a red circle moving right", num_frames=8)
    assert not out.is_error, out.content
    rec = store.get_image(out.images[0])
    assert rec.kind == "video" and rec.path.endswith(".webp") and out.content["num_frames"] == 8
    analysis = call(box, "analyze_image", image_id=rec.id).content
    assert analysis["kind"] == "video" and analysis["satisfied"], analysis["problems"]
    assert analysis["found"][0]["motion"] == "right"
    wrong = call(box, "analyze_image", image_id=rec.id, question="a red circle moving up").content
    assert not wrong["satisfied"] and any("up" in p for p in wrong["problems"])
    edit = call(box, "edit_image", image_id=rec.id, instruction="make the circle green")
    assert edit.is_error and "videos cannot be edited" in edit.content["error"]


def test_a_video_is_judged_strictly_over_the_whole_clip(store):
    """analyze_image judges a video as `genlab video-eval` does (genlab.world.video.judge_video):
    an object gone from the last frame fails it, though its track's first frame shows it."""
    ctx = context(store, request="a red circle moving right")
    ctx.video_pipeline = WorldVideoPainter(vanishing=1)
    box = make_toolbox(ctx)
    gone, kept = (call(box, "generate_video", prompt=ctx.request, seed=3).images[0] for _ in "ab")
    analysis = call(box, "analyze_image", image_id=gone).content
    assert not analysis["satisfied"] and analysis["found"][0]["motion"] == "right"
    assert analysis["problems"] == ["last frame: asked for a red circle, found none"]
    kinds = {c["kind"] for c in analysis["checks"]}
    assert {"object", "motion", "speed", "extra", "first frame", "last frame"} <= kinds
    assert call(box, "analyze_image", image_id=kept).content["satisfied"]


def test_generate_video_can_animate_an_earlier_image(store):
    ctx = context(store, request="a red circle moving right")
    ctx.video_pipeline = WorldVideoPainter()
    box = make_toolbox(ctx)
    (image_id,) = call(box, "generate_image", prompt="a red circle").images
    out = call(box, "generate_video", prompt="a red circle moving right", image_id=image_id)
    assert not out.is_error and ctx.video_pipeline.first_frame.size == (32, 32)
    assert store.get_image(out.images[0]).params["animated"] == image_id


def test_still_image_is_not_judged_on_motion(store):
    box = make_toolbox(context(store, request="a red circle moving right"))
    (image_id,) = call(box, "generate_image", prompt="a red circle").images
    out = call(box, "analyze_image", image_id=image_id).content
    assert out["satisfied"] and out["notes"] == ["motion is not checked on a still image"]


def test_painter_checkpoint_loads_through_genlab_load(tmp_path):
    import genlab

    pipe = genlab.load(str(painter_checkpoint(tmp_path / "p.safetensors", [3])))
    assert isinstance(pipe, WorldPainter) and pipe.wrong_seeds == {3}
