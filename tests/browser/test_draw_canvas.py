"""The draw page in a real browser: draw a stroke on the canvas, get predictions, move the eps slider.

AppTest cannot draw on the canvas (a custom component), so this starts `streamlit run` on a free
loopback port and drives Debian's Chromium with Playwright. Screenshots go to test-artifacts/.
Chromium missing is a failure, not a skip: CI installs it (`make browser`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.live_app import ARTIFACTS, running_app, wait_idle

# Tall enough that a screenshot holds the whole page (Streamlit scrolls inside its own container).
VIEWPORT = {"width": 1400, "height": 2200}

pytestmark = pytest.mark.browser


def draw_seven(page, box: dict) -> None:
    """A '7' as one freehand stroke: top bar left to right, then the diagonal down to the bottom."""
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    points = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
    page.mouse.move(x0 + points[0][0] * w, y0 + points[0][1] * h)
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for t in [i / 15 for i in range(1, 16)]:
            page.mouse.move(x0 + (ax + t * (bx - ax)) * w, y0 + (ay + t * (by - ay)) * h)
    page.mouse.up()


def wait_for_change(read, old: str, timeout_s: float = 20.0) -> str:
    """Poll read() until it differs from old (the app reruns asynchronously); return the last value."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while value == old and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(log_path=tmp_path_factory.mktemp("app") / "streamlit.log") as url:
        yield url


def test_draw_a_digit_and_attack_it(app_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        # Open the talk at its start and navigate as a lecturer would (deep links as a fresh
        # server's first request are tested in tests/browser/test_pages.py).
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("link", name="Draw and attack").click()
        expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=60_000)
        canvas = page.locator("canvas").last
        expect(canvas).to_be_visible()
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_0_empty.png")

        draw_seven(page, canvas.bounding_box())
        panels = page.locator(".st-key-draw_result_f_n, .st-key-draw_result_f_nd")
        expect(panels).to_have_count(2, timeout=30_000)
        expect(page.get_by_text("What the networks see")).to_be_visible()
        expect(page.get_by_text("Smallest FGSM eps").first).to_be_visible(timeout=30_000)
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_1_drawn.png")
        # The 28x28 input is shown, and no error or exception box.
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0

        before = panels.first.inner_text() + panels.last.inner_text()
        thumb = page.locator(".st-key-draw_eps input[type='range']")
        thumb.focus()
        for _ in range(30):  # 30 steps of 0.0025: eps 0.05 -> 0.125
            page.keyboard.press("ArrowRight")
        expect(thumb).to_have_attribute("aria-valuetext", "0.1250", timeout=10_000)
        after = wait_for_change(lambda: panels.first.inner_text() + panels.last.inner_text(), before)
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_2_attacked.png")
        assert after != before, "moving the eps slider did not change the prediction panels"
        assert "0.1250" in page.locator(".st-key-draw_eps").inner_text()
        # The address bar now shares the setting that differs from the talk's.
        expect(page).to_have_url(re.compile(r"[?&]draw_eps=0\.125\b"), timeout=10_000)
        # The attacked bars download as a PNG, drawn on the click.
        with page.expect_download(timeout=30_000) as download:
            page.locator(".st-key-draw_attacked_bars_f_nd__png button").first.click()
        assert download.value.suggested_filename == "draw-fgsm-eps0.1250-f_nd-probabilities.png"
        assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        page.close()


def test_mnist_page_renders_its_charts(app_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("link", name="MNIST").click()
        expect(page.get_by_role("heading", name="Clean accuracy")).to_be_visible(timeout=60_000)
        # Four Altair charts: FGSM, PGD, noise, and the flip-eps curve.
        expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(4, timeout=30_000)
        expect(page.get_by_text("On all").first).to_be_visible()
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "mnist_page.png")
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
        # Every chart has its PNG, SVG and CSV downloads.
        for fmt in ("png", "svg", "csv"):
            expect(page.locator(f"[class*='st-key-mnist-'][class*='__{fmt}']")).to_have_count(4)
        with page.expect_download(timeout=30_000) as download:
            page.locator(".st-key-mnist-flip-eps__csv button").first.click()
        assert download.value.suggested_filename == "mnist-flip-eps.csv"
        assert Path(download.value.path()).read_text().startswith("model,eps,flipped")

        # A shared link opens the page with its settings; the reset goes back to the talk's.
        page.goto(f"{app_url}/mnist?mnist_eps=0.1&mnist_digits=2", wait_until="domcontentloaded")
        thumb = page.locator(".st-key-mnist_eps input[type='range']")
        expect(thumb).to_have_attribute("aria-valuetext", "0.100", timeout=60_000)
        expect(page.get_by_text("On all").first).to_contain_text("eps = 0.100")
        page.get_by_role("button", name="Reset to the talk's settings").click()
        expect(thumb).to_have_attribute("aria-valuetext", "0.050", timeout=30_000)
        expect(page).not_to_have_url(re.compile(r"mnist_eps|mnist_digits"), timeout=10_000)
    finally:
        page.close()


def _open_draw_page(page, app_url):
    from playwright.sync_api import expect

    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("link", name="Draw and attack").click()
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=60_000)
    canvas = page.locator("canvas").last
    expect(canvas).to_be_visible()
    wait_idle(page)
    return canvas


def test_a_dot_gets_a_hint_not_a_prediction(app_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        canvas = _open_draw_page(page, app_url)
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 2, box["y"] + box["height"] / 2 + 1)
        page.mouse.up()
        expect(page.get_by_text("Not yet a digit").first).to_be_visible(timeout=30_000)
        wait_idle(page)
        page.screenshot(path=ARTIFACTS / "draw_dot_hint.png")
        assert page.get_by_text("What the networks see").count() == 0  # no prediction for a dot
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
    finally:
        page.close()


def test_a_high_density_screen_draws_too(app_url, browser):
    """A device pixel ratio of 2 (a laptop's retina screen) sends a 560x560 canvas: accepted."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1400}, device_scale_factor=2)
    try:
        canvas = _open_draw_page(page, app_url)
        draw_seven(page, canvas.bounding_box())
        expect(page.get_by_text("Smallest FGSM eps").first).to_be_visible(timeout=30_000)
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
    finally:
        page.close()


def test_a_drawing_goes_to_the_class_board_and_is_measured(app_url, browser):
    """Draw a 7, send it to the board as a 7 with a nickname: the page confirms it, the class's
    database holds it, and the worker's measures reach the Class page."""
    import os

    from playwright.sync_api import expect

    from app.classroom.store import ClassStore

    store = ClassStore(os.environ["LECTURE_DB"])
    store.reset_class()
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{app_url}/draw?draw_source=Draw", wait_until="domcontentloaded")
        canvas = page.locator("canvas").last
        expect(canvas).to_be_visible(timeout=60_000)
        wait_idle(page)
        draw_seven(page, canvas.bounding_box())
        expect(page.get_by_text("Send it to the class board")).to_be_visible(timeout=30_000)
        digit = page.get_by_label("The digit you meant")
        digit.scroll_into_view_if_needed()
        digit.click()
        page.keyboard.type("7")
        page.keyboard.press("Enter")
        page.get_by_label("Nickname (optional").fill("Ada")
        page.get_by_role("button", name="Send to the board").click()
        expect(page.get_by_text(re.compile(r"Sent as drawing #\d+"))).to_be_visible(timeout=30_000)
        (entry,) = store.entries()
        assert entry.digit == 7 and entry.nickname == "Ada" and entry.image.max() > 0.5
        page.goto(f"{app_url}/class", wait_until="domcontentloaded")
        # Measured by the worker within seconds; the board refreshes itself (every 5 s on a page).
        expect(page.locator("figure.class-thumb figcaption").first).to_contain_text(
            re.compile(rf"#{entry.id} a 7\s*(> 0\.3|0\.\d{{3}})"), timeout=90_000)
        assert "Ada" not in page.locator(".class-board").first.inner_text()  # names off until shown
        page.screenshot(path=ARTIFACTS / "draw_sent_to_the_board.png")
    finally:
        page.close()
        store.reset_class()
