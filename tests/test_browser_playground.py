"""The playground page in headless Chromium against a real server: type a prompt and get an image,
reuse a history entry (same seed, same image), inpaint under a painted mask, run the agent."""

import io
import os

import httpx
import numpy as np
import pytest
from PIL import Image
from test_layout import make_two_stage_checkpoint

from genlab.paths import DEFAULT_IMAGE_MODEL
from genlab.pipelines.registry import bundled_models
from genlab.serve.launch import LocalServer

CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-token"
# GENLAB_UPDATE_SCREENSHOT=1 refreshes the README's pictures (test_browser_playground_ux.py),
# drawn by the best bundled model.
UPDATE_SCREENSHOT = bool(os.environ.get("GENLAB_UPDATE_SCREENSHOT"))
SHOWCASE = next(
    (m for m in (DEFAULT_IMAGE_MODEL, "world-t2i", "world-vq-ar") if m in bundled_models()), None
)

PAGE_MARKS = [  # test_browser_playground_ux.py's too
    pytest.mark.browser,
    pytest.mark.slow,  # a server and Chromium to start, then seconds a page
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"headless Chromium not installed at {CHROMIUM}"
    ),
]
pytestmark = PAGE_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    folder = tmp_path_factory.mktemp("model")
    models = {
        "world-tiny": str(tiny_models["t2i"]),
        "video-tiny": str(tiny_models["video"]),
        "layout-tiny": str(make_two_stage_checkpoint(folder / "layout-tiny.safetensors")),
    }
    if UPDATE_SCREENSHOT and SHOWCASE:  # pictures worth looking at
        models[SHOWCASE] = str(bundled_models()[SHOWCASE])
    extra = ["--default-model", "world-tiny"]
    with LocalServer(tmp_path_factory.mktemp("home"), models, extra, token=TOKEN) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors, foreign = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:")) else foreign.append(r.url),
    )
    page.goto(f"{server.url}/?token={TOKEN}")  # the link sets the token cookie
    page.wait_for_selector("#model option[value='world-tiny']", state="attached")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not foreign, f"assets fetched from elsewhere than genlab: {foreign}"


def pixels(server, url):
    r = httpx.get(server.url + url, headers={"Authorization": f"Bearer {TOKEN}"})
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))


def generate_from_form(page):
    page.click("#generate-btn")
    page.wait_for_function(
        "() => { const img = document.querySelector('#results .result img');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )
    return page.get_attribute("#results .result img", "src")


def test_typing_a_prompt_shows_progress_then_the_image(page, server):
    page.fill("#prompt", "a red circle above a blue square")
    page.fill("#num_inference_steps", "4")
    page.fill("#seed", "42")
    src = generate_from_form(page)
    assert src.startswith("/api/images/")
    assert page.locator("#progress").is_visible()
    assert page.text_content("#progress-text") == "done"
    assert page.text_content("#results .meta").startswith("seed 42")
    # The gallery lists the new image with its parameters.
    page.wait_for_selector(".card .prompt:text('a red circle above a blue square')")
    assert "seed 42" in page.text_content(".card .params")


def test_a_video_model_offers_an_image_model_for_the_first_frame(page, server):
    """Choosing a video model shows Frames and First frame (the server's image models); with
    world-tiny drawing it, the result is a video whose stored parameters name it."""
    assert page.locator("#keyframe-field").is_hidden()  # an image model is selected
    page.select_option("#model", "video-tiny")
    assert (
        page.locator("#frames-field").is_visible() and page.locator("#keyframe-field").is_visible()
    )
    options = page.eval_on_selector_all("#keyframe_model option", "os => os.map(o => o.value)")
    showcase = [SHOWCASE] if UPDATE_SCREENSHOT and SHOWCASE else []  # offered when refreshing
    assert options == ["", "world-tiny", "layout-tiny", *showcase]  # the image models
    assert page.locator("#keyframe-candidates-field").is_hidden()  # no image model chosen yet
    page.select_option("#keyframe_model", "world-tiny")
    assert page.locator("#keyframe-candidates-field").is_visible()
    page.fill("#keyframe_candidates", "2")
    page.fill("#prompt", "a red circle moving right")
    page.fill("#num_inference_steps", "2")
    page.fill("#num_frames", "4")
    page.fill("#seed", "9")
    generate_from_form(page)
    assert page.text_content("#results .meta .badge") == "video"
    items = httpx.get(
        server.url + "/api/history",
        params={"q": "moving right"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["items"]
    params = items[0]["params"]
    assert items[0]["kind"] == "video" and params["keyframe_model"] == "world-tiny"
    assert params["keyframe_candidates"] == 2 and params["keyframe_seed"] in (9, 10)
    page.select_option("#model", "world-tiny")  # back to the image model for the other tests
    assert page.locator("#keyframe-field").is_hidden()
    assert page.locator("#keyframe-candidates-field").is_hidden()


def test_a_video_prompt_as_people_write_it_is_read_as_in_python(page, server):
    """The playground's video is drawn from the text Python, the CLI and REST give the model
    for the same prompt (test_video_faces.py): the canonical caption of what was read."""
    from test_video_faces import PROMPT

    from genlab.world import parse_prompt

    page.select_option("#model", "video-tiny")
    page.select_option("#keyframe_model", "")  # from the video model: text alone
    page.fill("#prompt", PROMPT)
    page.fill("#num_inference_steps", "2")
    page.fill("#num_frames", "4")
    page.fill("#seed", "12")
    generate_from_form(page)
    items = httpx.get(
        server.url + "/api/history",
        params={"q": "drifting leftward"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["items"]
    params = items[0]["params"]
    assert items[0]["kind"] == "video" and params["seed"] == 12
    assert params["read_as"] == parse_prompt(PROMPT).canonical
    assert params["plan_source"] == "reading"
    page.select_option("#model", "world-tiny")  # back to the image model for the other tests


def test_a_two_stage_model_shows_its_plan_and_can_draw_from_text_alone(page, server):
    """A model with a layout planner offers Layout; each result shows the plan it was drawn
    from, and "text only" draws without one (stored as plan_layout false)."""
    assert page.locator("#layout-field").is_hidden()  # world-tiny has no planner
    page.select_option("#model", "layout-tiny")
    assert page.locator("#layout-field").is_visible()
    assert page.locator("#layout-temperature-field").is_visible()
    assert page.get_attribute("#layout_temperature", "placeholder") == "1"  # the model's own
    page.fill("#prompt", "a red circle left of a blue star")
    page.fill("#num_inference_steps", "2")
    page.fill("#seed", "3")
    page.fill("#layout_temperature", "0.5")
    page.click("#generate-btn")
    page.wait_for_selector("#results .result .plan")
    assert page.text_content("#results .result .plan").startswith("plan: ")
    page.select_option("#plan_layout", "false")
    assert page.locator("#layout-temperature-field").is_hidden()  # nothing is planned
    page.fill("#prompt", "a green square right of a pink circle")
    page.click("#generate-btn")
    page.wait_for_function(
        "() => { const r = document.querySelector('#results .result');"
        " return r && !r.querySelector('.plan') && r.querySelector('img').complete }"
    )
    items = httpx.get(
        server.url + "/api/history",
        params={"q": "green square right of"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["items"]
    assert items[0]["params"]["plan_layout"] is False and "layout" not in items[0]["params"]
    planned = httpx.get(
        server.url + "/api/history",
        params={"q": "red circle left of"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["items"]
    assert planned[0]["params"]["layout_temperature"] == 0.5
    page.select_option("#plan_layout", "")
    page.fill("#layout_temperature", "")
    page.select_option("#model", "world-tiny")  # back to the plain image model
    assert page.locator("#layout-field").is_hidden()


def test_reusing_a_history_entry_regenerates_the_same_image(page, server):
    page.fill("#prompt", "something else entirely")
    page.fill("#seed", "")
    first = page.locator(".card", has_text="a red circle above a blue square").first
    first_src = first.locator("img").get_attribute("src")
    first.locator("button.reuse").click()
    assert page.input_value("#prompt") == "a red circle above a blue square"
    assert page.input_value("#seed") == "42"
    assert page.input_value("#num_inference_steps") == "4"
    page.evaluate("document.querySelector('#results').replaceChildren()")
    second_src = generate_from_form(page)
    assert second_src != first_src
    assert np.array_equal(pixels(server, first_src), pixels(server, second_src))


def test_gallery_search_filters_by_prompt(page):
    page.fill("#prompt", "a purple star")
    generate_from_form(page)
    page.wait_for_selector(".card .prompt:text('a purple star')")
    page.fill("#gallery-search", "purple")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card .prompt')].every(p => p.textContent.includes('purple'))"
    )
    page.fill("#gallery-search", "")
    page.wait_for_function("() => document.querySelectorAll('.card').length >= 3")


def test_painting_a_mask_and_applying_an_edit_makes_a_new_image(page):
    page.locator(".card", has_text="a red circle above a blue square").first.locator(
        "button.edit"
    ).click()
    assert page.locator("#view-edit").is_visible()
    box = page.locator("#edit-mask").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 160, steps=8)
    page.mouse.up()
    page.fill("#edit-prompt", "a green circle")
    page.click("#edit-btn")
    page.wait_for_function(
        "() => { const img = document.querySelector('#edit-results img');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )
    assert page.text_content("#edit-error") == ""


def test_an_uploaded_image_opens_in_the_editor_for_img2img(page, tmp_path):
    upload = tmp_path / "mine.png"
    Image.new("RGB", (32, 32), (240, 220, 30)).save(upload)
    page.set_input_files("#edit-upload", str(upload))
    page.wait_for_function(
        "() => document.querySelector('#edit-hint').textContent.startsWith('Editing')"
    )
    page.wait_for_selector(".card .prompt:text('mine.png')")  # in the gallery, by file name
    page.click("#mask-clear")
    page.fill("#edit-prompt", "a blue square")
    page.evaluate("document.querySelector('#edit-results').replaceChildren()")
    page.click("#edit-btn")
    page.wait_for_function(
        "() => { const img = document.querySelector('#edit-results img');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )


def test_agent_chat_shows_steps_and_images_as_they_come(page):
    page.click(".tab[data-tab='agent']")
    page.fill("#agent-rounds", "1")
    page.fill("#agent-input", "a red circle left of a blue square")
    page.select_option("#agent-backend", "offline")
    page.click("#agent-send")
    page.wait_for_selector(".bubble.final", timeout=120_000)
    assert page.locator(".bubble.user").first.text_content() == "a red circle left of a blue square"
    assert page.locator(".bubble.tool .name", has_text="generate_image").count() >= 1
    page.wait_for_function(
        "() => [...document.querySelectorAll('.bubble.tool img')].some(i => i.complete && i.naturalWidth > 0)"
    )


def test_api_reference_page_is_drawn_from_the_schema_without_a_cdn(page, server):
    page.goto(f"{server.url}/docs")
    page.wait_for_selector("section.op")
    paths = page.locator(".op-head code").all_text_contents()
    assert "/api/generate" in paths and "/v1/images/generations" in paths
    generate = page.locator("section.op", has_text="/api/generate").first
    assert "num_inference_steps" in generate.text_content()
    page.goto(server.url + "/")
    page.wait_for_selector("#model option[value='world-tiny']", state="attached")
