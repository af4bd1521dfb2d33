"""What a screen really shows, measured in the page: scrolling, text sizes (the page's own text and
the text Vega draws inside each chart), and charts whose drawing leaves their element's box.

Shared by tests/browser/test_screens.py (every page and every presenter slide) and by the
presenter and draw-screen tests. Charts are read from what Vega drew: Streamlit draws a chart as
SVG (a `text` element per label, title and legend entry), and presenter slides always ask for SVG
(app.slides.projector_spec), so the sizes below are those of the drawn text, scaled as drawn.
"""

from __future__ import annotations

# One pass over the page; returns plain data for Python to judge.
MEASURE_JS = r"""
() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const visible = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none" || +s.opacity === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const shown = (el) => {  // visible and not inside a closed expander, hidden tab or tooltip
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden") return false;
      if (e.tagName === "DETAILS" && !e.open && !e.contains(el.closest("summary"))) return false;
    }
    return visible(el);
  };
  const rect = (r) => ({x: r.x, y: r.y, width: r.width, height: r.height, bottom: r.bottom, right: r.right});
  const scrollers = [...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')];
  const scroll = Math.max(0, ...scrollers.map(e => e.scrollHeight - e.clientHeight),
                          document.documentElement.scrollHeight - vh);
  // The page's own text: every visible element with a direct, non-blank text node, outside charts.
  const texts = [];
  const walker = document.createTreeWalker(document.querySelector('[data-testid="stMain"]') || document.body,
                                           NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || el.closest("svg, script, style, .katex-mathml, [aria-hidden='true']"))
      continue;
    if (!shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    texts.push({text: n.textContent.trim().slice(0, 60), px: parseFloat(getComputedStyle(el).fontSize),
                box: rect(r)});
  }
  // Each chart: its element's box, the drawing's box, and every text Vega drew in it.
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(shown).map((el, i) => {
    const box = el.getBoundingClientRect();
    const svg = el.querySelector("svg.marks") || el.querySelector("svg");
    const canvas = el.querySelector("canvas");
    const drawing = svg || canvas;
    const out = {index: i, box: rect(box), renderer: svg ? "svg" : (canvas ? "canvas" : "none"),
                 drawing: drawing ? rect(drawing.getBoundingClientRect()) : null, texts: []};
    if (svg) {
      const scale = svg.getBoundingClientRect().width / (svg.width.baseVal.value || 1);
      for (const t of svg.querySelectorAll("text")) {
        if (!t.textContent.trim()) continue;
        const r = t.getBoundingClientRect();
        if (r.width === 0) continue;
        const px = parseFloat(t.getAttribute("font-size") || getComputedStyle(t).fontSize) * scale;
        const role = (t.closest("[class*='role-']") || {}).className;
        out.texts.push({text: t.textContent.trim().slice(0, 60), px, box: rect(r),
                        role: role && role.baseVal !== undefined ? role.baseVal : String(role || "")});
      }
    }
    return out;
  });
  return {viewport: {width: vw, height: vh}, scroll, texts, charts};
}
"""

# For each chart, the elements after it in the same vertical block whose box its drawing reaches.
OVERLAP_JS = r"""
() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    const drawing = el.querySelector("svg.marks") || el.querySelector("svg") || el.querySelector("canvas");
    if (!drawing) continue;
    const d = drawing.getBoundingClientRect(), box = el.getBoundingClientRect();
    if (d.width === 0 || box.width === 0) continue;
    // The chart's own element in its vertical block (Streamlit wraps each element once or twice).
    let item = el;
    while (item.parentElement && item.parentElement.getAttribute("data-testid") !== "stVerticalBlock")
      item = item.parentElement;
    const followers = [];
    for (let s = item.nextElementSibling; s; s = s.nextElementSibling) {
      const r = s.getBoundingClientRect();
      if (r.height === 0 || r.width === 0) continue;
      followers.push({top: r.top, left: r.left, right: r.right, text: (s.innerText || "").trim().slice(0, 50)});
    }
    out.push({box: {top: box.top, bottom: box.bottom, left: box.left, right: box.right},
              drawing: {top: d.top, bottom: d.bottom, left: d.left, right: d.right},
              next: followers.length ? followers[0] : null});
  }
  return out;
}
"""


def measure(page) -> dict:
    """Scrolling, the page's text and each chart's drawn text, as the page shows them now."""
    return page.evaluate(MEASURE_JS)


def chart_overflows(page, slack: float = 1.0) -> list[str]:
    """Charts whose drawing reaches past the bottom (or sides) of their element's box, or into the
    next element below them: one line per fault."""
    faults = []
    for i, c in enumerate(page.evaluate(OVERLAP_JS)):
        d, b = c["drawing"], c["box"]
        if d["bottom"] > b["bottom"] + slack or d["right"] > b["right"] + slack or d["left"] < b["left"] - slack:
            faults.append(f"chart {i}: drawing {d} leaves its box {b}")
        nxt = c["next"]
        if nxt and d["bottom"] > nxt["top"] + slack:
            faults.append(f"chart {i}: drawing ends at {d['bottom']:.0f}, under the next element "
                          f"({nxt['text']!r}) from {nxt['top']:.0f}")
    return faults


def small_texts(measured: dict, min_px: float, charts: bool = True) -> list[str]:
    """Visible text under min_px: the page's and (charts=True) what Vega drew."""
    out = [f"{t['px']:.1f}px {t['text']!r}" for t in measured["texts"] if t["px"] < min_px - 0.05]
    if charts:
        for c in measured["charts"]:
            out += [f"chart {c['index']}: {t['px']:.1f}px {t['text']!r}" for t in c["texts"]
                    if t["px"] < min_px - 0.05]
    return out


def chart_texts_off_screen(measured: dict, slack: float = 1.0) -> list[str]:
    """Drawn chart text (axis titles, legend entries, labels) outside the viewport."""
    vw, vh = measured["viewport"]["width"], measured["viewport"]["height"]
    out = []
    for c in measured["charts"]:
        for t in c["texts"]:
            b = t["box"]
            if b["x"] < -slack or b["y"] < -slack or b["right"] > vw + slack or b["bottom"] > vh + slack:
                out.append(f"chart {c['index']}: {t['text']!r} at {b['x']:.0f},{b['y']:.0f}-"
                           f"{b['right']:.0f},{b['bottom']:.0f}")
    return out


def chart_texts_cut(measured: dict, slack: float = 4.0) -> list[str]:
    """Drawn chart text cut short: truncated by Vega ("not memori…") or reaching past the edge of
    its chart's element (where the page clips it)."""
    out = []
    for c in measured["charts"]:
        box = c["box"]
        for t in c["texts"]:
            b = t["box"]
            if t["text"].endswith("…"):
                out.append(f"chart {c['index']}: {t['text']!r} truncated")
            elif b["x"] < box["x"] - slack or b["right"] > box["right"] + slack:
                out.append(f"chart {c['index']}: {t['text']!r} at x {b['x']:.0f}-{b['right']:.0f} leaves the "
                           f"chart's box {box['x']:.0f}-{box['right']:.0f}")
    return out


def canvas_charts(measured: dict) -> list[int]:
    """Charts drawn on a canvas: their text cannot be read from the page."""
    return [c["index"] for c in measured["charts"] if c["renderer"] != "svg"]
