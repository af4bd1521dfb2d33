"""WCAG 2.1 A and AA on every page and every presenter slide, audited with axe-core 4 in Chromium.

Each page of the navigation is opened once in a light and once in a dark browser
(`prefers-color-scheme`, which Streamlit follows) and audited at a projector's 1280x720 and then, in
the same tab, at a phone's 390x844, after the script run is over, every chart has drawn and the
theme mark is set; then at 320 CSS px wide nothing may scroll sideways (reflow, WCAG 1.4.10). The
slides of `app.slides.SLIDES` are stepped through with Next in one tab per theme, each found by its
claim (a slide added is a slide audited), and audited at both sizes. The rules
run are axe's tags wcag2a, wcag2aa, wcag21a and wcag21aa; any rule or element left out is listed in
`EXCLUDED` below with its reason. A summary of every audit goes to test-artifacts/accessibility.json.

axe-core is vendored (tests/browser/vendor/axe.min.js, MPL-2.0, its licence header kept), so the
audit runs offline; update it with `npm install axe-core@4` and copy node_modules/axe-core/axe.min.js.

One app server and one Chromium for the whole module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.slides import SLIDES, claim
from tests.browser.test_pages import talk_pages
from tests.live_app import ARTIFACTS, running_app, wait_idle

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
THEMES = ("light", "dark")

# Rules or elements left out of the audit, each with its reason. Empty is the goal.
EXCLUDED: dict[str, str] = {}


def slide_id(index: int) -> str:
    """A slide's name in the report, from its claim (stable when slides are inserted before it)."""
    words = re.findall(r"[a-z0-9]+", SLIDES[index].claim.lower())
    return "slide-" + "-".join(words[:5])


def page_url(page_file: str) -> str:
    """The URL path of a page file ("pages/recap.py" -> "recap"; the first page is the root)."""
    first = talk_pages()[0][0]
    stem = Path(page_file).stem
    return first if stem == "home" else stem


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(log_path=tmp_path_factory.mktemp("app") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def report():
    results: dict[str, dict] = {}
    yield results
    ARTIFACTS.mkdir(exist_ok=True)
    old = {}
    path = ARTIFACTS / "accessibility.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    path.write_text(json.dumps({**old, **results}, indent=1, sort_keys=True))


def settle(page, theme: str) -> None:
    """The run is over, every chart has drawn, the theme mark is set."""
    page.wait_for_selector("[data-testid='stMain'] h1, [data-testid='stMain'] h2", timeout=90_000)
    page.wait_for_timeout(500)  # the run starts: its running indicator, the elements' skeletons
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=120_000)
    wait_idle(page, 120)
    page.wait_for_function(f"() => document.documentElement.dataset.talkTheme === '{theme}'", timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stVegaLiteChart']\")]"
        ".every(c => c.querySelector('canvas, svg'))", timeout=60_000)
    page.wait_for_timeout(300)


def audit(page) -> list[dict]:
    """axe's violations of WCAG 2.1 A/AA on the page as it is: rule, impact, offending nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"],
               "rules": {rule: {"enabled": False} for rule in EXCLUDED}}
    violations = page.evaluate("async (options) => (await axe.run(document, options)).violations", options)
    return [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [{"target": n["target"], "html": n["html"][:200], "summary": n.get("failureSummary", "")[:300]}
                       for n in v["nodes"]]} for v in violations]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['rule']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        lines += [f"    {n['target']} {n['html'][:120]}" for n in v["nodes"][:4]]
    return "\n".join(lines)


def audit_both_sizes(page, theme: str, name: str, report: dict) -> list[str]:
    """Audit the page as it is at 1280x720, then at 390x844 (the same tab), then back to 1280x720."""
    failures = []
    for size, viewport in (("1280x720", PROJECTOR), ("390x844", PHONE)):
        page.set_viewport_size(viewport)
        settle(page, theme)
        found = audit(page)
        report[f"{name} {theme} {size}"] = {
            "violations": sum(len(v["nodes"]) for v in found),
            "rules": {v["rule"]: len(v["nodes"]) for v in found}}
        if found:
            failures.append(f"--- {name}, {theme} theme, {size}:\n{describe(found)}")
    page.set_viewport_size(PROJECTOR)
    return failures


def horizontal_overflow(page) -> int:
    """CSS px by which the page (or Streamlit's scrolling main area) is wider than the viewport."""
    return page.evaluate(
        "() => Math.max(0, ...[document.documentElement, document.body, "
        "...document.querySelectorAll(\"[data-testid='stMain'], [data-testid='stAppViewContainer']\")]"
        ".map(e => e.scrollWidth - e.clientWidth))")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("url_path,title", talk_pages())
def test_page_meets_wcag_21_aa(app_url, browser, report, url_path, title, theme):
    """Every page: no axe violation at 1280x720 and 390x844 in this theme; and at 320 CSS px wide
    nothing scrolls sideways (reflow, WCAG 1.4.10)."""
    context = browser.new_context(viewport=PROJECTOR, color_scheme=theme)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{url_path}", wait_until="domcontentloaded")
        failures = audit_both_sizes(page, theme, f"page-{url_path or 'home'}", report)
        page.set_viewport_size({"width": 320, "height": 720})
        settle(page, theme)
        overflow = horizontal_overflow(page)
        report[f"page-{url_path or 'home'} {theme} 320 reflow"] = {"overflow_px": overflow}
        if overflow > 1:
            failures.append(f"--- {title}, {theme} theme: {overflow} px of horizontal scrolling at 320 px wide")
    finally:
        context.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("theme", THEMES)
def test_every_slide_meets_wcag_21_aa(app_url, browser, report, theme):
    """Every presenter slide, found by its claim, stepped with Next in one tab (a rerun, not a
    page load): no axe violation at 1280x720 or 390x844 in this theme."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PROJECTOR, color_scheme=theme)
    page = context.new_page()
    failures = []
    try:
        page.goto(f"{app_url}/{page_url(SLIDES[0].page)}?present=1&slide=1", wait_until="domcontentloaded")
        for i, slide in enumerate(SLIDES):
            if i:
                page.locator(".st-key-present_next button").first.click()
            expect(page.locator(".present-claim")).to_have_text(claim(slide), timeout=90_000)
            failures += audit_both_sizes(page, theme, slide_id(i), report)
    finally:
        context.close()
    assert not failures, "\n".join(failures)


# --- keyboard ------------------------------------------------------------------------------------

FOCUSED = """() => { const a = document.activeElement; if (!a || a === document.body) return null;
  const label = a.getAttribute('aria-label') || (a.labels && a.labels[0] && a.labels[0].innerText) ||
    (a.closest('label') && a.closest('label').innerText) || a.innerText || '';
  return {tag: a.tagName.toLowerCase(), role: a.getAttribute('role') || '', type: a.type || '',
          label: label.trim().slice(0, 120), value: a.getAttribute('aria-valuenow') || a.value || '',
          checked: !!a.checked}; }"""


def tab_to(page, matches, limit: int = 60, backwards: bool = False) -> dict:
    """Press Tab (Shift+Tab) until the focused element satisfies `matches`; returns its description."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED)
        seen.append(focused)
        if focused and matches(focused):
            return focused
    raise AssertionError(f"never reached by Tab; the focus went through: {seen}")


def focus_is_visible(page) -> bool:
    """The focused control looks different from the same control without the focus (pixels of its
    box and a margin around it, where a focus ring is drawn)."""
    box = page.evaluate("""() => { const a = document.activeElement;
      const r = (a.type === 'radio' || a.type === 'checkbox' ? a.closest('label') || a : a).getBoundingClientRect();
      return {x: r.x, y: r.y, width: r.width, height: r.height}; }""")
    pad = 8
    clip = {"x": max(0, box["x"] - pad), "y": max(0, box["y"] - pad),
            "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad}
    focused = page.screenshot(clip=clip)
    page.evaluate("() => { window.__talkFocused = document.activeElement; document.activeElement.blur(); }")
    page.wait_for_timeout(150)
    plain = page.screenshot(clip=clip)
    page.evaluate("() => window.__talkFocused.focus({focusVisible: true})")
    page.wait_for_timeout(150)
    return focused != plain


def test_draw_page_works_with_the_keyboard_alone(app_url, browser):
    """Tab to the input, pick a test digit, move eps and change the attack with keys only; each of
    those controls shows its focus; a change of verdict goes to a live region."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/draw", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Draw a digit and attack it")).to_be_visible(timeout=90_000)
        wait_idle(page, 90)
        # The drawing surface is named once (the top canvas) and points to its alternative.
        expect(page.get_by_role("img", name=re.compile("^Drawing area.*Pick a test digit"))).to_have_count(1, timeout=30_000)

        tab_to(page, lambda f: f["type"] == "radio" and f["label"] == "Draw")
        assert focus_is_visible(page), "the Input radio's focus is not visible"
        page.keyboard.press("ArrowRight")  # "Pick a test digit"
        expect(page.get_by_role("radio", name="Pick a test digit")).to_be_checked()
        # The rerun shows its elements a moment later: wait for the test digit box itself.
        expect(page.get_by_role("combobox", name=re.compile("Test digit"))).to_be_visible(timeout=60_000)
        wait_idle(page, 90)
        combo = tab_to(page, lambda f: f["role"] == "combobox" and "Test digit" in f["label"])
        assert combo
        assert focus_is_visible(page), "the test digit box's focus is not visible"
        page.keyboard.type("7")
        page.keyboard.press("Enter")
        wait_idle(page, 90)
        expect(page.get_by_text("test digit #7,")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("img", name=re.compile(r"^Test digit number 7, labelled \d\.$"))).to_have_count(1)

        live = page.locator(".st-key-talk_live_draw_verdicts")
        expect(live).to_have_attribute("aria-live", "polite", timeout=30_000)
        before = live.inner_text()
        assert re.search(r"f_n (now|still) answers \d", before), before

        tab_to(page, lambda f: f["type"] == "radio" and f["label"] == "FGSM")
        assert focus_is_visible(page), "the Attack radio's focus is not visible"
        page.keyboard.press("ArrowRight")  # PGD
        expect(page.get_by_role("radio", name="PGD", exact=True)).to_be_checked()
        expect(page.get_by_role("img", name=re.compile("after PGD at eps"))).to_have_count(2, timeout=60_000)
        wait_idle(page, 90)

        slider = tab_to(page, lambda f: f["role"] == "slider" or f["type"] == "range")
        assert focus_is_visible(page), "the eps slider's focus is not visible"
        for _ in range(20):
            page.keyboard.press("ArrowRight")
        wait_idle(page, 90)
        moved = page.evaluate(FOCUSED)
        assert float(moved["value"]) > float(slider["value"]), (slider, moved)
        expect(page.get_by_role("img", name=re.compile(rf"after PGD at eps {float(moved['value']):.3f}"))).to_have_count(2)
        page.screenshot(path=ARTIFACTS / "keyboard_draw.png")
    finally:
        context.close()


def test_presenter_keys_never_trap_the_focus(app_url, browser):
    """In presenter mode Tab and Shift+Tab still move the focus through every control (the keys
    script takes only the arrows and Page Up / Down, and leaves a focused slider its arrows)."""
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    try:
        index = next(i for i, s in enumerate(SLIDES) if s.render.__name__ == "_mnist_digit")
        page.goto(f"{app_url}/{page_url(SLIDES[index].page)}?present=1&slide={index + 1}",
                  wait_until="domcontentloaded")
        page.locator(".present-claim").first.wait_for(timeout=90_000)
        wait_idle(page, 90)
        tab_to(page, lambda f: f["label"] == "Next")
        slider = tab_to(page, lambda f: f["role"] == "slider" or f["type"] == "range")
        page.keyboard.press("ArrowRight")  # the slider moves; the slide stays
        wait_idle(page, 90)
        assert f"slide={index + 1}" in page.url
        assert float(page.evaluate(FOCUSED)["value"]) > float(slider["value"])
        after = tab_to(page, lambda f: f["role"] != "slider" and f["type"] != "range")  # and on, out of it
        assert after
        tab_to(page, lambda f: f["label"] == "Previous", backwards=True)
    finally:
        context.close()


# --- motion --------------------------------------------------------------------------------------

COUNT_SWEEP_FRAMES = """() => { window.__sweepFrames = 0;
  new MutationObserver(() => { if (document.body.innerText.includes('sweeping…')) window.__sweepFrames++; })
    .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_sweep_to_flip_respects_reduced_motion(app_url, browser, motion):
    """"Sweep to flip" animates its way up to the flip, except under prefers-reduced-motion, where
    it jumps straight to the end state (the same stop)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PROJECTOR, reduced_motion=motion)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/draw?draw_source=Pick+a+test+digit&draw_pick=7", wait_until="domcontentloaded")
        if motion == "reduce":  # the browser tells the server by a cookie, then reloads once
            page.wait_for_function("() => document.cookie.includes('talk_reduced_motion=1') && "
                                   "performance.getEntriesByType('navigation')[0].type === 'reload'", timeout=60_000)
        expect(page.get_by_role("heading", name="Draw a digit and attack it")).to_be_visible(timeout=90_000)
        wait_idle(page, 90)
        page.evaluate(COUNT_SWEEP_FRAMES)
        page.get_by_role("button", name=re.compile("Sweep to flip")).first.click()
        expect(page.get_by_text(re.compile(r"Stopped at eps \d"))).to_be_visible(timeout=60_000)
        frames = page.evaluate("() => window.__sweepFrames")
        if motion == "reduce":
            assert frames == 0, f"{frames} animation frames under prefers-reduced-motion"
        else:
            assert frames > 0, "the sweep no longer animates: this test would then prove nothing"
    finally:
        context.close()


# --- the class together, with drawings, votes and a revealed poll -------------------------------


def _fill_the_class():
    """Measured drawings (nicknames shown), a revealed poll with votes: what a lecture's board holds.
    Returns the store (the test empties it again)."""
    import os

    import numpy as np

    from app.classroom.measure import NETWORKS
    from app.classroom.store import ClassStore
    from app.polls import POLLS
    from core.results.pretrained import PRETRAINED_DIR, load_sample

    store = ClassStore(os.environ["LECTURE_DB"])
    store.reset_class()
    images, labels = load_sample(root=PRETRAINED_DIR)
    rng = np.random.default_rng(0)
    for i in range(14):
        entry = store.add_entry(f"s{i}", int(labels[i]), images[i], ["Ann", "<b>x</b>", ""][i % 3])
        if i < 12:
            store.finish(entry, {n: {"label": int(labels[i]), "confidence": 0.9,
                                     "fgsm": round(float(rng.uniform(0, 0.2)), 4),
                                     "pgd": None if i == 3 else round(float(rng.uniform(0, 0.2)), 4)}
                                 for n in NETWORKS})
    store.set_setting("show_nicknames", "1")
    poll = POLLS[1]
    store.set_poll_state(poll.id, "open")
    for i in range(9):
        store.vote(poll.id, f"v{i}", i % len(poll.choices), len(poll.choices))
    store.set_poll_state(poll.id, "revealed")
    return store


@pytest.mark.parametrize("theme", THEMES)
def test_the_class_with_drawings_and_a_revealed_poll_meets_wcag_21_aa(app_url, browser, report, theme):
    """The Class page, the board slide and a revealed poll's slide, full of a class's data."""
    from app.polls import POLLS

    store = _fill_the_class()
    board = next(i for i, s in enumerate(SLIDES, 1) if s.page == "pages/class.py")
    poll = next(i for i, s in enumerate(SLIDES, 1) if s.claim == POLLS[1].question)
    context = browser.new_context(viewport=PROJECTOR, color_scheme=theme)
    page = context.new_page()
    failures = []
    try:
        for name, url in (("class-full", "class"), ("board-slide-full", f"class?present=1&slide={board}"),
                          ("poll-revealed", f"{page_url(SLIDES[poll - 1].page)}?present=1&slide={poll}")):
            page.goto(f"{app_url}/{url}", wait_until="domcontentloaded")
            page.wait_for_selector("figure.class-thumb" if name != "poll-revealed" else "text=The shipped results say",
                                   timeout=90_000)
            failures += audit_both_sizes(page, theme, name, report)
    finally:
        context.close()
        store.reset_class()
    assert not failures, "\n".join(failures)
