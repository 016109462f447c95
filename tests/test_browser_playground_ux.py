"""The playground as people use it, in headless Chromium against a real server, on a phone
(390×844, also 360 wide) and a desktop (1280×800): no sideways scrolling, results that can be
downloaded (with their parameters inside), reused, edited and opened, a model picker per tab,
errors beside their field in plain words, a warning for words the model does not know, Cancel,
the header's pushed status, the agent's pick shown and kept across a reload, touch drawing on the
mask, keyboard use, and an axe-core check with no serious violations."""

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from test_browser_playground import PAGE_MARKS, SHOWCASE, UPDATE_SCREENSHOT

from genlab.pipelines.registry import bundled_models
from genlab.serve.launch import LocalServer

ROOT = Path(__file__).resolve().parents[1]
# axe-core comes from npm (`npm ci --prefix tests/a11y`); it is loaded into the page by the test.
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TABS = ("generate", "agent", "edit")

pytestmark = PAGE_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    models = {"world-tiny": str(tiny_models["t2i"]), "video-tiny": str(tiny_models["video"])}
    if UPDATE_SCREENSHOT and SHOWCASE:  # pictures worth looking at for docs/
        models[SHOWCASE] = str(bundled_models()[SHOWCASE])
    home = tmp_path_factory.mktemp("home")
    with LocalServer(home, models, ["--default-model", "world-tiny"]) as srv:
        yield srv


def open_page(browser, server, viewport, touch=False):
    context = browser.new_context(viewport=viewport, has_touch=touch, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url + "/")
    page.wait_for_selector("#model option[value='world-tiny']", state="attached")
    return page


@pytest.fixture
def phone(browser, server):
    page = open_page(browser, server, PHONE, touch=True)
    yield page
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    page.context.close()


@pytest.fixture
def desktop(browser, server):
    page = open_page(browser, server, DESKTOP)
    yield page
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    page.context.close()


def generate(page, prompt="a red circle above a blue square", steps="2", seed="42"):
    page.click(".tab[data-tab='generate']")
    page.fill("#prompt", prompt)
    page.fill("#num_inference_steps", steps)
    page.fill("#seed", seed)
    page.click("#generate-btn")
    page.wait_for_function(
        "() => { const img = document.querySelector('#results .result img');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )


def overflow(page):
    """How many CSS pixels the page is wider than the screen (0: no sideways scrolling)."""
    return page.evaluate("document.scrollingElement.scrollWidth - innerWidth")


def test_no_tab_scrolls_sideways_from_360_px_to_desktop(browser, server):
    for viewport in ({"width": 360, "height": 740}, PHONE, DESKTOP):
        page = open_page(browser, server, viewport)
        generate(page)  # a result and history cards on the page too
        for tab in TABS:
            page.click(f".tab[data-tab='{tab}']")
            assert overflow(page) <= 0, f"{tab} at {viewport['width']} px scrolls sideways"
            # The header wraps rather than pushing tabs, links or the status off screen.
            for selector in (".tab", ".navlink", ".status"):
                for box in [e.bounding_box() for e in page.locator(selector).all()]:
                    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        if viewport["width"] < 600:
            # One column of fields, and the agent's request box as wide as its panel.
            page.click(".tab[data-tab='generate']")
            lefts = {
                round(page.locator(f"#{f}").bounding_box()["x"])
                for f in ("model", "num_inference_steps", "seed", "num_images")
            }
            assert len(lefts) == 1
            page.click(".tab[data-tab='agent']")
            box = page.locator("#agent-input").bounding_box()
            panel = page.locator("#view-agent").bounding_box()
            assert box["width"] >= 0.95 * panel["width"]
        page.click("a.navlink:text('API')")  # the API reference fits too
        page.wait_for_selector("section.op")
        assert overflow(page) <= 0, f"/docs at {viewport['width']} px scrolls sideways"
        assert not page.errors
        page.context.close()


def test_a_result_downloads_with_its_name_and_parameters_and_can_be_reused_edited_opened(
    phone, tmp_path
):
    generate(phone, seed="77")
    card = phone.locator("#results .result").first
    image_id = card.get_attribute("data-image-id")
    with phone.expect_download() as info:
        card.locator("a.download").click()
    download = info.value
    assert download.suggested_filename == f"genlab-world-tiny-seed77-{image_id}.png"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    params = json.loads(Image.open(saved).text["genlab"])
    assert params["seed"] == 77 and params["prompt"] == "a red circle above a blue square"
    opened = card.locator("a.open-full")
    assert opened.get_attribute("target") == "_blank"
    assert opened.get_attribute("href") == f"/api/images/{image_id}.png"
    phone.fill("#prompt", "something else")
    card.locator("button.reuse").click()
    assert phone.input_value("#prompt") == "a red circle above a blue square"
    assert phone.input_value("#seed") == "77"
    card.locator("button.edit").click()
    assert phone.locator("#view-edit").is_visible()
    assert phone.input_value("#edit-prompt") == "a red circle above a blue square"


def test_unknown_words_warn_before_generating_and_errors_sit_beside_their_field(desktop):
    page = desktop
    page.fill("#prompt", "a cozy cabin in the snow")
    note = page.locator("#prompt-note")
    assert note.get_attribute("role") == "status"
    page.wait_for_function(
        "() => document.querySelector('#prompt-note').textContent.includes('cozy')"
    )
    assert "cabin" in note.text_content() and "snow" in note.text_content()
    page.fill("#prompt", "a red circle left of a blue square")
    page.wait_for_function("() => document.querySelector('#prompt-note').textContent === ''")
    # A paste longer than the server takes is said, not cut.
    page.fill("#prompt", "a red circle " * 400)
    error = page.locator("#prompt-error")
    assert error.get_attribute("role") == "alert"
    assert "5,200 characters: the limit is 1,000" in error.text_content()
    page.click("#generate-btn")
    assert page.locator("#results .result").count() == 0
    page.fill("#prompt", "a red circle")
    assert error.text_content() == ""  # cleared as the input changed
    # The server's refusal lands beside the field, in plain words, and goes when it is fixed.
    page.fill("#num_inference_steps", "500")
    page.click("#generate-btn")
    steps_error = page.locator("#num_inference_steps-error")
    page.wait_for_function("() => document.querySelector('#num_inference_steps-error').textContent")
    assert steps_error.text_content() == "Use a value of at most 200."
    assert page.text_content("#form-error") == ""  # nothing repeated elsewhere, no API words
    assert page.get_attribute("#num_inference_steps", "aria-invalid") == "true"
    page.fill("#num_inference_steps", "2")
    assert steps_error.text_content() == ""
    page.fill("#prompt", "")
    page.click("#generate-btn")
    assert page.text_content("#prompt-error") == "Write what to draw."
    page.fill("#prompt", "a red circle")
    assert page.text_content("#prompt-error") == ""


def test_each_tab_offers_only_models_that_can_do_its_task_and_failures_keep_the_request(
    desktop,
):
    page = desktop
    options = lambda sel: page.eval_on_selector_all(f"{sel} option", "os => os.map(o => o.value)")  # noqa: E731
    assert "video-tiny" in options("#model")
    assert "video-tiny" not in options("#agent-model") and "world-tiny" in options("#agent-model")
    assert "video-tiny" not in options("#edit-model")
    page.click(".tab[data-tab='agent']")
    page.select_option("#agent-backend", "anthropic")
    assert page.locator("#agent-key").count() == 0, "keys are the operator's, never a page's"
    page.fill("#agent-input", "a red circle left of a blue square")
    page.click("#agent-send")
    page.wait_for_function("() => document.querySelector('#agent-error').textContent")
    message = page.text_content("#agent-error")
    assert message.startswith("The anthropic planner needs an API key")
    assert "--api-key" not in message
    assert page.get_attribute("#agent-error", "role") == "alert"
    assert page.input_value("#agent-input") == "a red circle left of a blue square"  # kept
    page.fill("#agent-input", "a red circle")
    assert page.text_content("#agent-error") == ""


def test_a_running_generation_can_be_cancelled_and_the_header_status_is_pushed(desktop):
    page = desktop
    page.wait_for_function(
        "() => document.querySelector('#health-text').textContent.includes('0 running')"
    )
    page.fill("#prompt", "a blue star")
    page.fill("#num_inference_steps", "200")
    page.fill("#num_images", "8")
    page.click("#generate-btn")
    # No polling left in the page: the running job shows in the header through /api/events.
    page.wait_for_function(
        "() => document.querySelector('#health-text').textContent.includes('1 running')"
    )
    page.wait_for_function(
        "() => document.querySelector('#progress-text').textContent.startsWith('step')"
    )
    assert page.locator("#generate-cancel").is_visible()
    page.click("#generate-cancel")
    page.wait_for_function(
        "() => document.querySelector('#progress-text').textContent === 'cancelled'"
    )
    assert page.locator("#results .result").count() == 0
    assert page.locator("#generate-cancel").is_hidden()
    assert not page.locator("#generate-btn").is_disabled()
    page.wait_for_function(
        "() => document.querySelector('#health-text').textContent.includes('0 running')"
    )


def test_the_agents_answer_shows_its_pick_and_the_chat_survives_reloads(phone):
    page = phone
    page.click(".tab[data-tab='agent']")
    page.fill("#agent-rounds", "1")
    page.fill("#agent-input", "a red circle")
    page.click("#agent-send")
    page.wait_for_selector(".bubble.tool")
    page.reload()  # mid-run: the page picks the run up again and follows it to its end
    page.click(".tab[data-tab='agent']")
    answer = page.locator(".bubble.final .answer")
    answer.wait_for(timeout=120_000)
    pick = answer.locator(".result").get_attribute("data-image-id")
    assert "score" in answer.text_content()
    page.wait_for_function(
        "() => { const img = document.querySelector('.bubble.final .answer img');"
        " return img.complete && img.naturalWidth > 0 }"
    )
    winners = page.locator(".thumb.winner")
    assert winners.count() == 1 and winners.first.get_attribute("data-image-id") == pick
    assert page.locator(".thumb").count() > 1  # the other candidates are not marked
    page.wait_for_selector(f".card.winner[data-image-id='{pick}']")  # and history marks it
    assert page.input_value("#agent-input") == ""
    page.reload()
    page.click(".tab[data-tab='agent']")
    page.wait_for_selector(".bubble.final .answer .result")
    assert page.locator(".bubble.user").first.text_content() == "a red circle"
    assert page.locator(".bubble.final .answer .result").get_attribute("data-image-id") == pick
    page.click("#agent-new")
    assert page.locator(".bubble.user").count() == 0
    page.click("#agent-runs summary")  # the earlier runs, from the server's history
    page.locator("#agent-runs-list button", has_text="a red circle").first.click()
    page.wait_for_selector(".bubble.final .answer .result")
    assert page.locator(".bubble.user").first.text_content() == "a red circle"


def touch_stroke(page, points):
    """A finger stroke through `points` (page pixels), sent as real touch input (CDP)."""
    cdp = page.context.new_cdp_session(page)
    x, y = points[0]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in points[1:]:
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_an_upload_keeps_its_shape_and_a_quick_touch_stroke_paints_a_line(phone, tmp_path):
    page = phone
    upload = tmp_path / "wide.png"  # 2:1, small: the tiny model edits at the image's own size
    Image.new("RGB", (48, 24), (20, 120, 220)).save(upload)
    page.click(".tab[data-tab='edit']")
    page.set_input_files("#edit-upload", str(upload))
    page.wait_for_function("() => document.querySelector('#edit-image').width === 512")
    size = page.evaluate(
        "[document.querySelector('#edit-mask').width, document.querySelector('#edit-mask').height]"
    )
    assert size == [512, 256]
    box = page.locator("#edit-mask").bounding_box()
    assert abs(box["width"] / box["height"] - 2) < 0.02  # on screen too: not stretched
    assert overflow(page) <= 0
    page.evaluate(
        "window.pointerTypes = new Set();"
        " document.querySelector('#edit-mask').addEventListener('pointermove',"
        " e => window.pointerTypes.add(e.pointerType))"
    )
    y = box["y"] + box["height"] / 2
    # Two far-apart moves: a brush of dots would leave a gap between them.
    touch_stroke(
        page,
        [(box["x"] + 20, y), (box["x"] + box["width"] / 2, y), (box["x"] + box["width"] - 20, y)],
    )
    assert page.evaluate("[...window.pointerTypes]") == ["touch"]
    painted = page.evaluate(
        """() => { const c = document.querySelector('#edit-mask'), ctx = c.getContext('2d');
          const out = [];
          for (let i = 1; i < 20; i++) {
            const x = Math.round(c.width * (0.06 + 0.88 * i / 20));
            out.push(ctx.getImageData(x, Math.round(c.height / 2), 1, 1).data[3] > 0);
          }
          return out; }"""
    )
    assert all(painted), f"gaps in the stroke: {painted}"
    page.fill("#edit-prompt", "a green circle")
    page.click("#edit-btn")
    page.wait_for_function(
        "() => { const img = document.querySelector('#edit-results img');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )
    # A new upload clears the old result.
    page.set_input_files("#edit-upload", str(upload))
    page.wait_for_function("() => !document.querySelector('#edit-results .result')")
    page.set_input_files(
        "#edit-upload", {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}
    )
    page.wait_for_function("() => document.querySelector('#upload-error').textContent")
    message = page.text_content("#upload-error")
    assert message.startswith("notes.png: That file cannot be used: it should be a readable image")
    assert "Error" not in message and "file:" not in message


def test_tabs_upload_and_generate_work_from_the_keyboard(desktop):
    page = desktop
    page.focus("#tab-generate")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-agent"
    assert page.get_attribute("#tab-agent", "aria-selected") == "true"
    assert page.locator("#view-agent").is_visible() and page.locator("#view-generate").is_hidden()
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "tab-edit"
    # Tab from the tab list reaches the upload control.
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        if reached[-1] == "edit-upload":
            break
    assert reached[-1] == "edit-upload", reached
    page.focus("#tab-edit")
    page.keyboard.press("Home")
    assert page.get_attribute("#tab-generate", "aria-selected") == "true"
    page.fill("#prompt", "a yellow square")
    page.fill("#num_inference_steps", "2")
    page.focus("#prompt")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results .result img")


def contrast(fg, bg):
    def luminance(rgb):
        def channel(c):
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css):
    return tuple(int(float(v)) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: npm ci --prefix tests/a11y")
def test_axe_core_finds_no_serious_violations_on_any_tab_at_either_size(browser, server):
    for viewport in (PHONE, DESKTOP):
        page = open_page(browser, server, viewport)
        generate(page)
        page.add_script_tag(path=str(AXE))
        for tab in TABS:
            page.click(f".tab[data-tab='{tab}']")
            violations = page.evaluate(
                """async () => (await axe.run(document)).violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => ({id: v.id, help: v.help,
                               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
            )
            assert violations == [], f"{tab} at {viewport['width']} px: {violations}"
        # Placeholders are text too (axe does not check them): at least 4.5:1 on their field.
        colors = page.evaluate(
            """() => { const i = document.querySelector('#prompt');
              return [getComputedStyle(i, '::placeholder').color, getComputedStyle(i).backgroundColor]; }"""
        )
        assert contrast(rgb(colors[0]), rgb(colors[1])) >= 4.5
        page.context.close()


def test_screenshots_of_the_playground_on_a_desktop_and_a_phone(browser, server, tmp_path):
    """docs/playground.png (desktop) and docs/playground-phone.png; refreshed, drawn by the best
    bundled model, with GENLAB_UPDATE_SCREENSHOT=1."""
    for viewport, name in ((DESKTOP, "playground.png"), (PHONE, "playground-phone.png")):
        page = open_page(browser, server, viewport)
        if UPDATE_SCREENSHOT and SHOWCASE:
            page.select_option("#model", SHOWCASE)
        page.fill("#prompt", "a red circle above a blue square")
        page.fill("#num_inference_steps", "16" if UPDATE_SCREENSHOT else "2")
        page.fill("#num_images", "4")
        page.fill("#seed", "7")
        page.click("#generate-btn")
        page.wait_for_function("() => document.querySelectorAll('#results img').length === 4")
        page.wait_for_function(
            "() => [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        if viewport is PHONE:  # the results, below the form on a phone
            page.evaluate(
                "window.scrollBy(0, document.querySelector('#generate-btn').getBoundingClientRect()"
                ".top - document.querySelector('.topbar').offsetHeight - 12)"
            )
        shot = tmp_path / name
        page.screenshot(path=str(shot))
        assert Image.open(shot).size == (viewport["width"], viewport["height"])
        assert overflow(page) <= 0
        if UPDATE_SCREENSHOT:
            shutil.copyfile(shot, ROOT / "docs" / name)
        page.context.close()


def test_image_files_open_full_size_from_history(desktop, server):
    generate(desktop, prompt="a green triangle")
    card = desktop.locator(".card", has_text="a green triangle").first
    href = card.locator("a.open").get_attribute("href")
    assert href.endswith(".png")
    r = desktop.request.get(server.url + href)
    assert r.ok and Image.open(io.BytesIO(r.body())).size == (32, 32)


def test_compare_with_nothing_to_compare_says_so_and_links_back(browser, server):
    page = open_page(browser, server, PHONE)
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.click("a.navlink:text('Compare')")
    page.wait_for_function("() => document.querySelector('#msg').textContent")
    assert page.text_content("#msg").startswith("Nothing to compare yet")
    assert page.locator("#pair").is_hidden() and page.locator("button[data-w='tie']").is_hidden()
    page.wait_for_selector("#no-ratings", state="visible")
    assert page.locator("#ratings").is_hidden()
    assert overflow(page) <= 0
    if AXE.exists():
        page.add_script_tag(path=str(AXE))
        serious = page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)"
        )
        assert serious == []
    page.click("a:text('← playground')")
    page.wait_for_selector("#model option[value='world-tiny']", state="attached")
    assert failed == [], f"requests that failed: {failed}"
    assert not page.errors
    page.context.close()
