"""The draw page on one projector screen (1280x720), in a real browser: the input, the eps slider and
both networks' verdicts visible together without scrolling; the drawing kept across a page change;
visible Undo / Clear buttons that work. Screenshots go to test-artifacts/ (also one at 390x844).

Like tests/browser/test_draw_canvas.py: `streamlit run` on a free loopback port, Debian's Chromium via Playwright.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_draw_canvas import draw_seven
from tests.live_app import ARTIFACTS, running_app, wait_idle

PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
VERDICTS = (".st-key-draw_verdict_f_n", ".st-key-draw_verdict_f_nd")
NO_ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(log_path=tmp_path_factory.mktemp("app") / "streamlit.log") as url:
        yield url


def open_draw_page(page, app_url: str, query: str = ""):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/draw{query}", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Draw a digit and attack it")).to_be_visible(timeout=60_000)
    wait_idle(page, timeout_s=60.0)


def assert_on_screen(page, selector: str, viewport: dict) -> dict:
    """The element's box lies inside the viewport as it is (nothing scrolled)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    inside = (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
              and box["y"] + box["height"] <= viewport["height"] + 0.5)
    assert inside, f"{selector} at {box} is not inside the {viewport['width']}x{viewport['height']} screen"
    return box


def assert_not_scrolled(page) -> None:
    scrolled = page.evaluate(
        "() => Math.max(window.scrollY, ...[...document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stAppViewContainer\"]')].map(e => e.scrollTop))")
    assert scrolled == 0, f"the page was scrolled by {scrolled} px"


def assert_verdicts_on_screen(page) -> list[str]:
    """Both verdicts on screen, each with the answer, its confidence and the smallest flipping eps."""
    from playwright.sync_api import expect

    texts = []
    for sel in VERDICTS:
        expect(page.locator(sel)).to_contain_text("Smallest FGSM eps that flips it", timeout=30_000)
        assert_on_screen(page, sel, PROJECTOR)
        text = page.locator(sel).inner_text()
        assert "clean" in text and "now" in text and "%" in text, text
        texts.append(text)
    assert_on_screen(page, ".st-key-draw_eps", PROJECTOR)
    assert_not_scrolled(page)
    return texts


def test_a_drawing_its_slider_and_both_verdicts_fit_one_screen(app_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=PROJECTOR)
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("link", name="Draw and attack").click()
        expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=60_000)
        wait_idle(page)
        assert page.title().startswith("Draw and attack")  # the browser tab names the page
        canvas = page.locator("canvas").last
        # Undo and Clear are on screen without hovering (the canvas's own toolbar shows only on hover).
        page.mouse.move(0, 0)
        for name in ("Undo last stroke", "Clear drawing"):
            expect(page.get_by_role("button", name=name)).to_be_visible()
            expect(page.get_by_role("button", name=name)).to_be_disabled()  # nothing to undo yet

        # The canvas's own hover toolbar (its undo, redo, reset) is hidden: ours are the buttons above.
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(300)
        expect(page.locator(".dc-toolbar")).to_be_hidden()
        draw_seven(page, canvas.bounding_box())
        page.mouse.move(0, 0)
        expect(page.locator(VERDICTS[0])).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert_on_screen(page, "canvas >> nth=-1", PROJECTOR)
        drawn = assert_verdicts_on_screen(page)
        for name in ("Undo last stroke", "Clear drawing"):
            assert_on_screen(page, f"button:has-text('{name}')", PROJECTOR)
            expect(page.get_by_role("button", name=name)).to_be_enabled()
        page.screenshot(path=ARTIFACTS / "draw_1280x720_drawn.png")
        assert page.locator(NO_ERRORS).count() == 0

        # To another page and back: the drawing and its verdicts are still there.
        page.get_by_role("link", name="MNIST").click()
        expect(page.get_by_role("heading", name="Clean accuracy")).to_be_visible(timeout=60_000)
        page.get_by_role("link", name="Draw and attack").click()
        expect(page.locator(VERDICTS[0])).to_be_visible(timeout=60_000)
        wait_idle(page)
        assert assert_verdicts_on_screen(page) == drawn
        page.screenshot(path=ARTIFACTS / "draw_1280x720_back.png")

        # Our Undo removes the stroke (the seven is one stroke): the hint is back, no verdict.
        page.get_by_role("button", name="Undo last stroke").click()
        expect(page.get_by_text("The canvas is empty")).to_be_visible(timeout=30_000)
        expect(page.locator(VERDICTS[0])).to_have_count(0)
        # The canvas still draws; Clear empties it again.
        wait_idle(page)
        draw_seven(page, page.locator("canvas").last.bounding_box())
        expect(page.locator(VERDICTS[0])).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert assert_verdicts_on_screen(page) == drawn  # the same seven, the same answers
        page.get_by_role("button", name="Clear drawing").click()
        expect(page.get_by_text("The canvas is empty")).to_be_visible(timeout=30_000)
        expect(page.locator(VERDICTS[0])).to_have_count(0)
        assert page.locator(NO_ERRORS).count() == 0
    finally:
        page.close()


def test_a_picked_digit_its_slider_and_both_verdicts_fit_one_screen(app_url, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=PROJECTOR)
    try:
        open_draw_page(page, app_url, "?draw_source=Pick+a+test+digit&draw_pick=7&draw_attack=PGD")
        expect(page.get_by_text("test digit #7")).to_be_visible(timeout=30_000)
        assert_on_screen(page, "[data-testid='stImage'] >> nth=0", PROJECTOR)  # the picked digit
        assert_verdicts_on_screen(page)
        page.screenshot(path=ARTIFACTS / "draw_1280x720_picked_pgd.png")
        # Per model: the input, the change and the attacked input, side by side and large.
        for name in ("f_n", "f_nd"):
            images = page.locator(f".st-key-draw_result_{name} .talk-result img")
            boxes = [images.nth(i).bounding_box() for i in range(3)]
            assert all(b["width"] >= 120 for b in boxes), boxes  # 80 px before
            assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2, boxes  # one row
        # The sweep stops at the first flip: the slider moves there and the verdicts follow.
        page.get_by_text("FGSM", exact=True).click()
        wait_idle(page)
        before = page.locator(".st-key-draw_eps input[type='range']").get_attribute("aria-valuetext")
        page.get_by_role("button", name="Sweep to flip").click()
        expect(page.get_by_text("Stopped at eps")).to_be_visible(timeout=30_000)
        wait_idle(page)
        after = page.locator(".st-key-draw_eps input[type='range']").get_attribute("aria-valuetext")
        assert after != before
        assert_verdicts_on_screen(page)
        page.screenshot(path=ARTIFACTS / "draw_1280x720_swept.png")
        assert page.locator(NO_ERRORS).count() == 0
        page.set_viewport_size({"width": 1280, "height": 2000})  # the details below the fold, to look at
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_1280_whole_page.png")
        # A link from before the URL held the index ("#7: a 5") opens digit 7, and the address bar
        # then holds the index.
        open_draw_page(page, app_url, "?draw_source=Pick+a+test+digit&draw_pick=%237%3A+a+5")
        expect(page.get_by_text("test digit #7")).to_be_visible(timeout=30_000)
        expect(page).to_have_url(re.compile(r"[?&]draw_pick=7(&|$)"), timeout=10_000)
        page.set_viewport_size(PHONE)
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_390x844_picked.png", full_page=False)
    finally:
        page.close()


def test_on_a_phone_the_verdicts_follow_the_drawing(app_url, browser):
    """At 390x844 the verdicts come right after the canvas: from the canvas's top to the second
    verdict's bottom is at most one screen, and the verdicts' text is the page's size (not the
    MNIST gallery's small captions)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=PHONE)
    try:
        open_draw_page(page, app_url)
        canvas = page.locator("canvas").last
        canvas.scroll_into_view_if_needed()
        draw_seven(page, canvas.bounding_box())
        page.mouse.move(0, 0)
        expect(page.locator(VERDICTS[1])).to_be_visible(timeout=30_000)
        wait_idle(page)
        top = canvas.bounding_box()["y"]
        bottom = max(page.locator(sel).bounding_box()["y"] + page.locator(sel).bounding_box()["height"]
                     for sel in VERDICTS)
        page.set_viewport_size({"width": PHONE["width"], "height": 1400})  # to look at: canvas to verdicts
        page.wait_for_timeout(500)
        page.screenshot(path=ARTIFACTS / "draw_390_canvas_to_verdicts.png")
        page.set_viewport_size(PHONE)
        assert bottom - top <= PHONE["height"], f"the verdicts end {bottom - top:.0f} px below the canvas's top"
        for sel in VERDICTS:
            size = page.locator(f"{sel} p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 14, (sel, size)
        page.locator(VERDICTS[0]).scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "draw_390x844_verdicts.png")
    finally:
        page.close()
