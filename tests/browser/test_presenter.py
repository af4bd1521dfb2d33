"""Presenter mode in a real browser at a projector's 1280x720: opened by `?present=1`, stepped
with the keys a clicker sends (PageDown / PageUp) and the arrow keys, the slide in the URL, the
sidebar hidden, charts and digits at projector size, live widgets working; and each page's own
browser-tab title.

Starts `streamlit run` on a free loopback port and drives Debian's Chromium with Playwright.
"""

from __future__ import annotations

import re

import pytest

from app.slides import SLIDES
from tests.browser.test_pages import talk_pages
from tests.live_app import ARTIFACTS, REPO, running_app, wait_idle

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1280, "height": 720}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(log_path=tmp_path_factory.mktemp("app") / "streamlit.log") as url:
        yield url


def slide_number(page) -> int:
    match = re.search(r"[?&]slide=(\d+)", page.url)
    return int(match.group(1)) if match else 0


def wait_slide(page, number: int, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(f"() => /[?&]slide={number}(&|$)/.test(location.search)", timeout=timeout_ms)
    page.locator(".present-claim").first.wait_for(timeout=timeout_ms)
    wait_idle(page, 90)


def test_presenter_mode_steps_with_the_keyboard(app_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{app_url}/recap?present=1", wait_until="domcontentloaded")
        first = next(i for i, s in enumerate(SLIDES) if s.page == "pages/recap.py") + 1
        wait_slide(page, first)  # the page's first slide, written into the URL
        expect(page.locator(".present-claim")).to_have_text(SLIDES[first - 1].claim)
        assert page.locator("[data-testid='stSidebar']").first.is_hidden() or \
            page.locator("[data-testid='stSidebar']").count() == 0
        # Axis labels at projector size (>= 16 px), measured in the drawn chart.
        page.locator(".present-claim").first.click()  # focus the page, not a slider
        page.wait_for_selector("[data-testid='stVegaLiteChart'] svg text, [data-testid='stVegaLiteChart'] canvas",
                               timeout=60_000)
        page.screenshot(path=ARTIFACTS / "presenter_slide_recap.png")

        page.keyboard.press("PageDown")
        wait_slide(page, first + 1)
        # The click focused the main area: no focus frame round the slide, even after a key press ...
        # (Streamlit draws the focused main area's frame as an inset shadow on its ::before.)
        frame = "() => { const a = document.activeElement, s = getComputedStyle(a, '::before'); " \
                "return {testid: a.getAttribute('data-testid'), visible: a.matches(':focus-visible'), ring: s.boxShadow}; }"
        assert page.evaluate(frame) == {"testid": "stMain", "visible": True, "ring": "none"}
        focus = "() => { const s = getComputedStyle(document.activeElement); " \
                "return {outline: s.outlineStyle, ring: s.boxShadow}; }"
        # ... and the keyboard's focus is visible: Tab to the next control, which shows its ring.
        page.keyboard.press("Tab")
        ring = page.evaluate(focus)
        assert ring["outline"] != "none" or ring["ring"] != "none", ring
        page.locator(".present-claim").first.click()
        expect(page.locator(".present-claim")).to_have_text(SLIDES[first].claim)
        page.keyboard.press("ArrowRight")
        wait_slide(page, first + 2)
        page.keyboard.press("PageUp")
        wait_slide(page, first + 1)
        page.keyboard.press("ArrowLeft")
        wait_slide(page, first)
        assert "/recap" in page.url
        # Leaving presenter mode gives the page back, with its sidebar and its own title.
        page.get_by_role("button", name="Leave presenter mode").click()
        expect(page.locator("h1").first).to_contain_text("Recap", timeout=60_000)
        page.wait_for_function("() => !location.search.includes('present=')", timeout=30_000)
        expect(page.locator("[data-testid='stSidebarNav']")).to_be_visible(timeout=30_000)
    finally:
        page.close()


def test_a_link_opens_the_talk_at_a_slide_on_its_page(app_url, browser):
    """`?present=1&slide=N` on any page: that slide, on its own page's URL path; the digit images
    are projector-sized and the eps slider still attacks live."""
    from playwright.sync_api import expect

    number = next(i for i, s in enumerate(SLIDES) if s.render.__name__ == "_mnist_digit") + 1
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{app_url}/?present=1&slide={number}", wait_until="domcontentloaded")
        page.wait_for_url(re.compile(r"/mnist\?"), timeout=60_000)
        wait_slide(page, number)
        images = page.locator("[data-testid='stImage'] img")
        expect(images).to_have_count(3, timeout=60_000)
        for img in images.all():
            box = img.bounding_box()
            assert box["width"] >= 200 and box["y"] + box["height"] <= VIEWPORT["height"], box
        verdicts = page.locator(".present-big").all_inner_texts()
        slider = page.locator(".st-key-mnist_eps input[type='range']")
        slider.focus()
        page.keyboard.press("ArrowRight")  # a focused slider keeps its arrow keys: no slide step
        page.keyboard.press("End")  # the largest eps: a live attack, then every verdict changes
        page.wait_for_function("() => location.search.includes('mnist_eps=')", timeout=30_000)
        wait_idle(page, 90)
        assert page.locator(".present-big").all_inner_texts() != verdicts
        assert slide_number(page) == number  # the slider's End key did not step the slides
        page.screenshot(path=ARTIFACTS / "presenter_slide_digit.png")
        # The last slide cannot step further; the first cannot step back.
        page.goto(f"{app_url}/references?present=1&slide={len(SLIDES)}", wait_until="domcontentloaded")
        wait_slide(page, len(SLIDES))
        expect(page.get_by_role("button", name="Next")).to_be_disabled()
    finally:
        page.close()


def test_every_page_has_its_own_tab_title_and_talk_links(app_url, browser):
    from playwright.sync_api import expect

    pages = talk_pages()
    page = browser.new_page(viewport=VIEWPORT)
    try:
        titles = []
        for i, (path, title) in enumerate(pages):
            page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
            page.wait_for_selector("h1", timeout=90_000)
            page.wait_for_function(f"() => document.title.startsWith({title!r})", timeout=60_000)
            titles.append(page.title())
            links = page.locator(".st-key-talk_links a")
            expect(links).to_have_count(int(i > 0) + int(i + 1 < len(pages)), timeout=90_000)
            names = [a.inner_text().strip() for a in links.all()]
            expected = ([f"← Previous: {pages[i - 1][1]}"] if i else []) + \
                       ([f"Next: {pages[i + 1][1]} →"] if i + 1 < len(pages) else [])
            assert names == expected, (path, names)
            # A navigation link's accessible name is its title, not "help The question".
            expect(page.get_by_role("link", name=title, exact=True)).to_have_count(1, timeout=30_000)
        assert len(set(titles)) == len(pages), titles
    finally:
        page.close()


def test_phone_layout_keeps_gallery_headings_with_their_images(app_url, browser):
    """At 390x844 the gallery's rows stay rows: each "input it sees" heading sits above its own
    column of digits; no formula is wider than the screen."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{app_url}/mnist", wait_until="domcontentloaded")
        page.wait_for_selector("h1", timeout=90_000)
        headings = page.get_by_text("input it sees")
        expect(headings).to_have_count(2, timeout=90_000)
        wait_idle(page, 120)
        images = page.locator(".talk-gallery img")  # the gallery: one HTML grid (pages/mnist.py)
        expect(images.nth(6)).to_be_visible(timeout=60_000)
        wait_idle(page, 120)
        rows: dict[int, list] = {}
        for box in (img.bounding_box() for img in images.all()):
            if box and box["height"] > 40:  # digits and perturbations, not the colour bars
                rows.setdefault(round(box["y"]), []).append(box)
        full = [row for _, row in sorted(rows.items()) if len(row) == 5]
        assert full, rows  # five images side by side (stacked columns give rows of one)
        first_row = full[0]
        for heading in headings.all():
            hb = heading.bounding_box()
            below = [b for b in first_row if b["y"] > hb["y"] and abs(b["x"] - hb["x"]) < 30]
            assert below, (hb, first_row)  # an image right under the heading, same column
        assert all(b["x"] + b["width"] <= 390 + 1 for b in first_row)
        for formula in page.locator(".katex-display").all():
            box = formula.bounding_box()
            assert box is None or box["x"] + box["width"] <= 390 + 1, box
        page.screenshot(path=ARTIFACTS / "phone_mnist_gallery.png", full_page=False)
    finally:
        page.close()


def test_dark_theme_model_names_keep_their_contrast(browser, tmp_path):
    """On a dark theme, from the session's first run, f_nd's name is drawn in its dark variant
    and both model colours keep at least 4.5:1 against the app's background."""
    from playwright.sync_api import expect

    from core.specs import MNIST_MODELS
    from tests.app.test_chart_exports import contrast
    from tests.live_app import free_port, start_app, stop, wait_healthy

    port = free_port()
    proc = start_app(REPO / "streamlit_app.py", port, tmp_path / "streamlit.log", ["--theme.base", "dark"])
    page = browser.new_page(viewport=VIEWPORT)
    try:
        wait_healthy(port, proc)
        page.goto(f"http://127.0.0.1:{port}/mnist", wait_until="domcontentloaded")
        page.wait_for_selector("h1", timeout=90_000)
        page.wait_for_function("() => document.documentElement.dataset.talkTheme === 'dark'", timeout=30_000)
        to_hex = "e => '#' + getComputedStyle(e).color.match(/\\d+/g).slice(0, 3).map(v => (+v).toString(16).padStart(2, '0')).join('')"
        background = page.evaluate("() => '#' + getComputedStyle(document.querySelector('.stApp')).backgroundColor"
                                   ".match(/\\d+/g).slice(0, 3).map(v => (+v).toString(16).padStart(2, '0')).join('')")
        for spec in MNIST_MODELS.values():
            name = page.locator(f".talk-model-{spec.name}").first
            expect(name).to_be_visible(timeout=60_000)
            color = name.evaluate(to_hex)
            assert color.upper() == spec.color_on_dark.upper(), (spec.name, color)
            assert contrast(color.upper(), background.upper()) >= 4.5, (spec.name, color, background)
    finally:
        page.close()
        stop(proc)
