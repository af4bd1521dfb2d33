"""Print how fast the app answers (numbers, not pass/fail).

1. Cold start: from spawning `streamlit run` to the first fully rendered page in headless Chromium
   (the title page: its title visible, no script running, nothing stale), beside a bare Streamlit
   hello-world page measured the same way in the same run (target: within 2x). Also the first
   visit of the MNIST and draw pages after the start (cold caches: models loaded, gradients computed).
2. One eps change on the draw page, server side: the call path the fragment runs per slider move
   (an FGSM step + a forward pass for both models on one image; the min-flip search is cached per
   drawing, so it is timed separately), with and without building the panel's Altair specs.
   Target: < 50 ms for both models together. Also one eps change of the MNIST page's gallery, and
   the same change end to end in the browser (arrow key on the slider to both panels redrawn).

Run: .venv/bin/python -m benchmarks.app_speed [--starts 3] [--repeats 200]
(PRETRAINED_DIR picks the artifacts, as in the app.) Timings on a shared CPU are noisy: read medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.live_app import (
    REPO,
    free_port,
    launch_chromium,
    running_app,
    start_app,
    stop,
    wait_healthy,
    wait_idle,
)

HELLO = 'import streamlit as st\n\nst.title("Hello, world")\nst.write("A bare Streamlit page.")\n'


def cold_start(browser, script: Path, marker: str, then: list[tuple[str, str]] = ()) -> dict[str, float]:
    """Seconds from spawning the server to `marker` rendered, plus each (link, marker) visited after."""
    port = free_port()
    t0 = time.perf_counter()
    proc = start_app(script, port)
    out = {}
    try:
        wait_healthy(port, proc, poll=0.05)
        out["health"] = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.get_by_text(marker).first.wait_for(timeout=120_000)
        wait_idle(page, timeout_s=120.0, quiet_s=0.3)
        out["first page"] = time.perf_counter() - t0
        for link, page_marker in then:
            t1 = time.perf_counter()
            page.get_by_role("link", name=link).click()
            page.get_by_text(page_marker).first.wait_for(timeout=120_000)
            wait_idle(page, timeout_s=120.0, quiet_s=0.3)
            out[link] = time.perf_counter() - t1
        page.close()
    finally:
        stop(proc)
    return out


def slider_latency(browser, steps: int) -> list[float]:
    """Seconds from an arrow key on the draw page's eps slider to both panels showing the new eps."""
    with running_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("link", name="Draw and attack").click()
        page.get_by_text("Pick a test digit").click()
        page.get_by_text("Smallest FGSM eps").first.wait_for(timeout=120_000)
        wait_idle(page, timeout_s=120.0, quiet_s=0.3)
        thumb = page.locator(".st-key-draw_eps input[type='range']")
        panel = page.locator(".st-key-draw_result_f_nd")
        out = []
        for _ in range(steps):
            value = float(thumb.get_attribute("aria-valuetext"))
            thumb.focus()
            t0 = time.perf_counter()
            page.keyboard.press("ArrowRight")
            # The f_nd panel is drawn last; its colour-bar caption prints the new eps.
            panel.get_by_text(f"+{round(value + 0.0025, 4):.4f} brighter").wait_for(timeout=30_000)
            out.append(time.perf_counter() - t0)
            wait_idle(page, timeout_s=120.0, quiet_s=0.3)
        page.close()
        return out


def bench_starts(n: int) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO)
        browser = launch_chromium(p)
        runs: dict[str, list[dict]] = {"hello": [], "app": []}
        for _ in range(n):  # alternate, so background load hits both alike
            runs["hello"].append(cold_start(browser, hello, "Hello, world"))
            runs["app"].append(cold_start(
                browser, REPO / "streamlit_app.py", "Does overparameterization",
                then=[("MNIST", "See it on test digits"), ("Draw and attack", "Draw a digit on the black square")],
            ))
        latency = slider_latency(browser, 15)
        browser.close()
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    print(f"\nCold start to first fully rendered page (median of {n}, headless Chromium):")
    print(f"  bare hello-world page       health {med['hello']['health']:6.2f} s   rendered {med['hello']['first page']:6.2f} s")
    print(f"  the app (title page)        health {med['app']['health']:6.2f} s   rendered {med['app']['first page']:6.2f} s"
          f"   ratio {med['app']['first page'] / med['hello']['first page']:.2f}x (target <= 2x)")
    print(f"  then first visit of MNIST page        {med['app']['MNIST']:6.2f} s (loads both models, gradients of the sample)")
    print(f"  then first visit of draw page         {med['app']['Draw and attack']:6.2f} s")
    print("  every run: " + "; ".join(f"{k}: " + ", ".join(f"{r['first page']:.2f}" for r in v) for k, v in runs.items()))
    ms = np.array(latency) * 1e3
    print("\nDraw page, end to end in the browser: arrow key on the eps slider -> both panels redrawn")
    print(f"  median {np.median(ms):.0f} ms, min {ms.min():.0f}, max {ms.max():.0f} (n={len(ms)}; includes "
          "the slider's debounce, the websocket round trip and the browser's rendering)")


def _times(fn, repeats: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _line(label: str, times: list[float]) -> None:
    ms = np.array(times) * 1e3
    print(f"  {label:<58} median {np.median(ms):7.2f} ms   p90 {np.percentile(ms, 90):7.2f}   min {ms.min():6.2f}  (n={len(ms)})")


def bench_eps_change(repeats: int) -> None:
    # The page's own image and chart builders (Streamlit imported, not running).
    from app.charts.probabilities import probability_spec
    from app.images import digit_image, perturbation_image, perturbation_legend
    from app.shipped import ONNX_THREADS
    from core.attacks.fgsm import FGSM
    from core.attacks.flip import smallest_flip_eps
    from core.results.classifiers import load_classifier
    from core.results.pretrained import load_sample
    from core.specs import MNIST_MODELS

    images, labels = load_sample()
    clfs = {n: load_classifier(n, threads=ONNX_THREADS) for n in MNIST_MODELS}
    x = images[7:8]
    starts = {n: FGSM.prepare(c, x) for n, c in clfs.items()}
    eps_values = iter(np.tile(np.arange(0.0, 0.3, 0.0025), repeats + 10))

    def core_path():
        eps = float(next(eps_values))
        return {n: FGSM.outcome(clfs[n], starts[n], eps) for n in clfs}

    def with_drawing():
        """What the fragment adds per model: images, colour bar, bar-chart data and spec as Arrow."""
        import pyarrow as pa

        outs = core_path()
        for n, out in outs.items():
            digit_image(out.x)
            perturbation_image(out.delta, 0.1)
            perturbation_legend(0.1)
            data, _ = probability_spec({n: out.prediction.probs})
            pa.Table.from_pandas(data)

    print(f"\nOne eps change on the draw page, server side ({os.cpu_count()} CPUs, ONNX Runtime with "
          f"{ONNX_THREADS} thread(s) per session as in the app, both models):")
    _line("FGSM step + forward, f_n and f_nd, one image", _times(core_path, repeats))
    _line("  ... plus the panel's images and bar-chart data", _times(with_drawing, max(repeats // 4, 20)))
    _line("min-flip search on the 0.0025 grid, both models (per drawing)",
          _times(lambda: [smallest_flip_eps(c, x) for c in clfs.values()], max(repeats // 10, 10)))
    _line("FGSM.prepare (gradient), both models (per drawing)",
          _times(lambda: [FGSM.prepare(c, x) for c in clfs.values()], max(repeats // 4, 20)))

    idx = list(range(5))
    g_starts = {n: FGSM.prepare(c, images[idx], labels[idx]) for n, c in clfs.items()}
    all_starts = {n: FGSM.prepare(c, images, labels) for n, c in clfs.items()}

    def gallery():
        eps = float(next(eps_values))
        for n, c in clfs.items():
            FGSM.outcome(c, g_starts[n], eps)
            FGSM.outcome(c, all_starts[n], eps)

    print(f"\nOne eps change of the MNIST gallery: 5 digits + the whole shipped sample ({len(labels)} images), both models:")
    _line("FGSM step + forward", _times(gallery, max(repeats // 4, 20)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=3, help="cold starts of each app")
    parser.add_argument("--repeats", type=int, default=200, help="eps changes timed")
    parser.add_argument("--skip-browser", action="store_true", help="only the server-side timings")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(other jobs on this machine make every number noisy)")
    bench_eps_change(args.repeats)
    if not args.skip_browser:
        bench_starts(args.starts)


if __name__ == "__main__":
    main()
