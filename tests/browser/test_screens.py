"""Every screen fits: each presenter slide on a projector, each page at 1280x720 and on a phone.

Measured in a real browser (tests/browser/layout.py): the page's scrolling, the text the page
shows and the text Vega drew inside each chart (its SVG), and each chart's drawing against its
element's box. Slides are named by their render function and claim, never by their number alone.

Starts `streamlit run` on a free loopback port and drives Debian's Chromium with Playwright.
"""

from __future__ import annotations

import pytest

from app.slides import SLIDES, claim
from tests.browser.layout import (
    canvas_charts,
    chart_overflows,
    chart_texts_cut,
    chart_texts_off_screen,
    measure,
    small_texts,
)
from tests.browser.test_pages import talk_pages
from tests.live_app import ARTIFACTS, running_app, wait_idle

pytestmark = pytest.mark.browser

PROJECTORS = ({"width": 1280, "height": 720}, {"width": 1024, "height": 768}, {"width": 1920, "height": 1080})
SLIDE_MIN_PX = 16  # no text on a slide is smaller, in the page or drawn in a chart
PHONE = {"width": 390, "height": 844}
PHONE_MIN_PX = 12


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(log_path=tmp_path_factory.mktemp("app") / "streamlit.log") as url:
        yield url


def open_slide(page, app_url: str, number: int) -> None:
    page.goto(f"{app_url}/?present=1&slide={number}", wait_until="domcontentloaded")
    page.wait_for_function(f"() => /[?&]slide={number}(&|$)/.test(location.search)", timeout=60_000)
    page.locator(".present-claim").first.wait_for(timeout=60_000)
    wait_idle(page, 90)
    page.wait_for_timeout(800)  # vega-embed draws after the run


def slide_faults(page, name: str) -> list[str]:
    m = measure(page)
    faults = [f"the page scrolls by {m['scroll']} px"] if m["scroll"] > 0 else []
    faults += [f"drawn on a canvas, its text unreadable here: chart {i}" for i in canvas_charts(m)]
    faults += [f"under {SLIDE_MIN_PX} px: {t}" for t in small_texts(m, SLIDE_MIN_PX)]
    faults += [f"off screen: {t}" for t in chart_texts_off_screen(m)]
    faults += [f"cut: {t}" for t in chart_texts_cut(m)]
    return [f"{name}: {f}" for f in faults]


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_every_slide_fits_the_projector(app_url, browser, viewport):
    """No slide scrolls; every chart's axis titles and legend entries are inside the screen and
    uncut; no text, the chart's own included, is under 16 px."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=viewport)
    faults = []
    try:
        for number, slide in enumerate(SLIDES, start=1):
            open_slide(page, app_url, number)
            name = f"{slide.render.__name__} ({claim(slide)[:40]}…)"
            found = slide_faults(page, name)
            if found or viewport["width"] == 1280:
                page.screenshot(path=ARTIFACTS / f"slide_{slide.render.__name__.strip('_')}_"
                                                 f"{viewport['width']}x{viewport['height']}.png")
            faults += found
    finally:
        page.close()
    assert not faults, "\n".join(faults)


def test_the_closing_figure_has_its_legend_and_large_labels(app_url, browser):
    """The capacity slide: its legend (both trainings, every measure) on screen, its in-chart labels
    (p = n, f_n, f_nd, p = nd) at 16 px or more."""
    number = next(i for i, s in enumerate(SLIDES, start=1) if s.render.__name__ == "_capacity")
    page = browser.new_page(viewport=PROJECTORS[0])
    try:
        open_slide(page, app_url, number)
        (chart,) = measure(page)["charts"]
        drawn = {t["text"]: t for t in chart["texts"]}
        for text in ("standard", "adversarial", "test accuracy under PGD", "p = n", "f_n", "f_nd", "p = nd"):
            assert text in drawn, sorted(drawn)
            assert drawn[text]["px"] >= SLIDE_MIN_PX and drawn[text]["box"]["bottom"] <= PROJECTORS[0]["height"]
    finally:
        page.close()


@pytest.mark.parametrize("viewport", ({"width": 1280, "height": 720}, PHONE),
                         ids=lambda v: f"{v['width']}x{v['height']}")
def test_no_chart_draws_over_the_next_element(app_url, browser, viewport):
    """On every page: no chart's drawing extends past its element's box or under what follows it;
    no drawn chart text is cut; on a phone, no visible text under 12 px."""
    page = browser.new_page(viewport=viewport)
    faults = []
    try:
        for path, title in talk_pages():
            page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
            page.wait_for_selector("h1", timeout=90_000)
            wait_idle(page, 120)
            page.wait_for_timeout(1500)  # vega-embed draws after the run
            faults += [f"{title}: {f}" for f in chart_overflows(page)]
            m = measure(page)
            faults += [f"{title}: cut: {t}" for t in chart_texts_cut(m)]
            if viewport is PHONE:
                faults += [f"{title}: under {PHONE_MIN_PX} px: {t}" for t in small_texts(m, PHONE_MIN_PX)]
    finally:
        page.close()
    assert not faults, "\n".join(faults)


def test_the_title_keeps_its_words_whole_on_a_phone(app_url, browser):
    """"overparameterization" on one line of the title page's heading at 390 px, not split."""
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.wait_for_selector("h1", timeout=90_000)
        wait_idle(page, 60)
        lines = page.locator("h1").first.evaluate("""h => {
            const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const i = n.textContent.indexOf("overparameterization");
                if (i < 0) continue;
                const range = document.createRange();
                range.setStart(n, i);
                range.setEnd(n, i + "overparameterization".length);
                return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
            }
            return -1;
        }""")
        assert lines == 1, f"the word spans {lines} lines"
    finally:
        page.close()


def test_slide_metrics_are_large(app_url, browser):
    """The clean-accuracy slide's accuracies at metric size (2.6 rem), not at the text's."""
    number = next(i for i, s in enumerate(SLIDES, start=1) if s.render.__name__ == "_mnist_clean")
    page = browser.new_page(viewport=PROJECTORS[0])
    try:
        open_slide(page, app_url, number)
        values = page.locator("[data-testid='stMetricValue']")
        assert values.count() == 4
        for value in values.all():
            size = value.evaluate("e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize)")
            assert size >= 40, size
    finally:
        page.close()


def test_the_recap_contents_take_a_student_to_a_section(app_url, browser):
    """On a phone, the recap page's contents link scrolls to its section's header."""
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(f"{app_url}/recap", wait_until="domcontentloaded")
        page.wait_for_selector("h1", timeout=90_000)
        wait_idle(page, 120)
        link = page.get_by_role("link", name="5. Measuring the lack of smoothness: FGSM")
        assert link.bounding_box()["y"] < PHONE["height"]  # the contents are on the first screen
        link.click()
        header = page.locator("h2#fgsm")
        page.wait_for_function("() => { const h = document.querySelector('h2#fgsm'); "
                               "const y = h && h.getBoundingClientRect().top; return y >= -5 && y < 300; }",
                               timeout=10_000)
        assert header.is_visible()
    finally:
        page.close()
