"""The MNIST and draw-and-attack pages under Streamlit's AppTest, on the shipped `pretrained/` files.

Checks what a lecturer relies on: the numbers shown are the shipped ones, the charts are there in
the models' colours with their downloads, the sliders change what is shown, the URL sets them (and
a bad URL value falls back to the talk's), the reset restores the talk's settings, broken artifacts
give an `st.error` naming the command that regenerates them (and the rest of the page still works),
and the pages never import torch. The canvas itself is driven in tests/browser/test_draw_canvas.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core.results.pretrained as pretrained
from core.results import mnist as mnist_results
from core.results.classifiers import load_classifier
from core.specs import MNIST_MODELS

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 90
REGENERATE = pretrained.REGENERATE_MNIST


@pytest.fixture(scope="module")
def shipped() -> Path:
    """The pretrained root the app reads (PRETRAINED_DIR or ./pretrained); fail if MNIST is not there."""
    root = Path(pretrained.PRETRAINED_DIR)
    if not (pretrained.mnist_dir(root) / pretrained.SWEEPS_FILE).is_file():
        pytest.fail(f"no MNIST artifacts in {pretrained.mnist_dir(root)}: run `{REGENERATE}` "
                    "(or point PRETRAINED_DIR at a folder that holds mnist/)")
    return root


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def run_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """One page file on its own, the URL's query parameters set first (as when a link is opened)."""
    at = AppTest.from_file(str(REPO / page), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def notices(at: AppTest) -> list[str]:
    """The "What to notice" prompts, in page order."""
    return [i for i in texts(at.info) if i.startswith("**What to notice.**")]


def download_labels(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def chart_frame(at: AppTest, i: int):
    """The data behind the i-th chart (Streamlit ships it as Arrow beside the Vega-Lite spec)."""
    from tests.conftest import chart_data

    return chart_data(at.get("vega_lite_chart")[i].proto)


# --- the MNIST page ------------------------------------------------------------------------------


def test_mnist_page_shows_the_shipped_numbers_and_curves(shipped):
    at = open_page("pages/mnist.py")
    assert not at.error, texts(at.error)

    table = at.dataframe[0].value
    for name, spec in MNIST_MODELS.items():
        meta = pretrained.model_metadata(name, shipped)["results"]
        row = table[table["model"] == spec.label].iloc[0]
        assert row["test accuracy"] == pytest.approx(meta["test_accuracy"], abs=0)
        assert row["test loss"] == pytest.approx(meta["test_loss"], abs=0)
        assert row["parameters"] == spec.param_count
    # The talk's numbers sit beside them.
    assert table.set_index("model").loc[MNIST_MODELS["f_nd"].label, "talk accuracy"] == 0.985
    assert table.set_index("model").loc[MNIST_MODELS["f_n"].label, "talk loss"] == 0.211

    specs = charts(at)
    assert len(specs) == 4, "FGSM, PGD, noise and flip-eps charts"
    sweeps = pretrained.load_mnist_sweeps(shipped)
    for spec in specs:
        dumped = json.dumps(spec, ensure_ascii=False)
        for model in MNIST_MODELS.values():  # one colour per model, in every chart
            assert model.color in dumped and model.label in dumped
    fgsm = chart_frame(at, 0)
    f_nd = sorted(zip(fgsm[fgsm["name"] == "f_nd"]["eps"], fgsm[fgsm["name"] == "f_nd"]["accuracy"]))
    assert f_nd == sorted((r["eps"], r["accuracy"]) for r in sweeps["models"]["f_nd"]["fgsm"])

    # Every chart can be downloaded: PNG, SVG and the CSV of its data.
    labels = download_labels(at)
    assert labels.count("PNG") == labels.count("SVG") == labels.count("CSV") == len(specs), labels

    # A prompt before each result (clean table, curves, gallery, flip-eps curve, gradient table), and
    # the prompts quote the data: the median flipping eps, the largest gradient.
    prompts = notices(at)
    assert len(prompts) == 5, prompts
    assert "median eps" in prompts[3]
    grads = sweeps["models"]["f_n"]["gradient_norms"]
    assert f"{grads['max']:.3f}" in prompts[4]
    meta = pretrained.model_metadata("f_nd", shipped)["results"]
    assert f"{100 * meta['test_accuracy']:.1f}%" in prompts[0]

    # The reruns towards zero loss (pretrained/capacity/) speak to the talk's losses and to FGSM.
    from core.results.capacity import load_capacity_results, zero_loss_curves, zero_loss_rows

    doc = load_capacity_results(shipped)
    note = mnist_results.training_length_note(
        {name: pretrained.model_metadata(name, shipped) for name in MNIST_MODELS}, zero_loss_rows(doc))
    assert note in texts(at.caption)
    lesson = mnist_results.fgsm_pgd_lesson(zero_loss_rows(doc), zero_loss_curves(doc))
    assert lesson and lesson in texts(at.markdown)


def gallery_html(at: AppTest) -> str:
    """The gallery's grid: one st.html element (headings, images, captions)."""
    (body,) = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div class='talk-gallery'>")]
    return body


def gallery_captions(at: AppTest) -> list[str]:
    """The captions under the gallery's images, in page order, as the page shows them (unescaped)."""
    import html

    return [html.unescape(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", gallery_html(at))]


def gallery_images(at: AppTest) -> list[tuple[str, str]]:
    """(src, alt) of every image of the gallery, in page order."""
    import html

    return [(html.unescape(src), html.unescape(alt))
            for src, alt in re.findall(r"<img src='([^']*)' alt='([^']*)'>", gallery_html(at))]


def digit_captions(at: AppTest) -> list[str]:
    """The captions of the test digits shown ("label 7 · clean: ...")."""
    return [c for c in gallery_captions(at) if c.startswith("label ")]


def gallery_state(at: AppTest) -> list[str]:
    """What the gallery says: every model's prediction caption and the whole-sample score line."""
    preds = [c for c in gallery_captions(at) if re.match(r"f_nd?: [✓✗]", c)]
    score = [m for m in texts(at.markdown) if m.startswith("On all")]
    return preds + score


def test_mnist_gallery_follows_the_eps_and_noise_sliders(shipped):
    at = open_page("pages/mnist.py")
    before = gallery_state(at)
    assert len(before) == 2 * 5 + 1, before
    at.slider(key="mnist_eps").set_value(0.3).run()
    assert not at.exception, at.exception
    after = gallery_state(at)
    assert after != before
    # At eps = 0.3 FGSM flips (almost) everything: more crosses than at the default eps.
    assert sum("✗" in c for c in after) > sum("✗" in c for c in before)

    at.radio(key="mnist_attack").set_value("White noise").run()
    noisy_small = gallery_state(at)
    at.slider(key="mnist_std").set_value(0.5).run()
    assert not at.exception, at.exception
    assert gallery_state(at) != noisy_small

    # The gallery's images go inline, as PNG data URLs (no media-file bookkeeping per image), each
    # with its alt text: 5 per digit and the two colour bars, in ONE element.
    images = gallery_images(at)
    assert len(images) == 5 * 5 + 2, len(images)
    assert all(u.startswith("data:image/png;base64,") and alt for u, alt in images), images[:2]
    assert len(gallery_captions(at)) == 5 * 5 + 2

    shown = digit_captions(at)
    assert len(shown) == 5
    at.number_input(key="mnist_digits").increment().run()
    assert digit_captions(at) != shown
    # The shuffle button picks another digit set, and the gallery shows it.
    shown, digit_set = digit_captions(at), at.number_input(key="mnist_digits").value
    at.button(key="mnist_shuffle").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="mnist_digits").value != digit_set
    assert digit_captions(at) != shown


def test_mnist_query_params_drive_the_gallery():
    at = run_page("pages/mnist.py", {"mnist_eps": "0.07", "mnist_digits": "3"})
    assert at.slider(key="mnist_eps").value == pytest.approx(0.07)
    assert at.number_input(key="mnist_digits").value == 3
    assert any(m.startswith("On all") and "eps = 0.070" in m for m in texts(at.markdown))
    default = run_page("pages/mnist.py")
    assert digit_captions(at) != digit_captions(default)  # digit set 3 shows other digits than set 0

    noisy = run_page("pages/mnist.py", {"mnist_attack": "White noise", "mnist_std": "0.3"})
    assert noisy.radio(key="mnist_attack").value == "White noise"
    assert noisy.slider(key="mnist_std").value == pytest.approx(0.3)
    assert any(m.startswith("On all") and "noise std 0.30" in m for m in texts(noisy.markdown))


@pytest.mark.parametrize("query", [
    {"mnist_eps": "lots", "mnist_digits": "-1", "mnist_attack": "PGD"},
    {"mnist_eps": "0.9", "mnist_digits": "1000", "mnist_attack": ""},
])
def test_mnist_invalid_query_params_fall_back_to_the_talk_settings(query):
    at = run_page("pages/mnist.py", query)
    assert not at.error, texts(at.error)
    assert at.radio(key="mnist_attack").value == "FGSM"
    assert at.slider(key="mnist_eps").value == pytest.approx(0.05)
    assert at.number_input(key="mnist_digits").value == 0


def test_mnist_reset_restores_the_talk_settings():
    at = run_page("pages/mnist.py", {"mnist_eps": "0.2", "mnist_digits": "4"})
    at.radio(key="mnist_attack").set_value("White noise").run()
    at.slider(key="mnist_std").set_value(0.4).run()
    at.button(key="mnist__reset").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="mnist_attack").value == "FGSM"
    assert at.slider(key="mnist_eps").value == pytest.approx(0.05)
    assert at.number_input(key="mnist_digits").value == 0
    at.radio(key="mnist_attack").set_value("White noise").run()
    assert at.slider(key="mnist_std").value == pytest.approx(0.1)  # the hidden slider was reset too


# --- the draw page -------------------------------------------------------------------------------


def test_draw_page_starts_with_a_hint_not_an_error():
    at = open_page("pages/draw.py")
    assert not at.error, texts(at.error)
    assert any("Draw a digit" in i for i in texts(at.info))


def test_draw_page_classifies_a_picked_digit_and_attacks_it(shipped):
    at = open_page("pages/draw.py")
    at.radio(key="draw_source").set_value("Pick a test digit").run()
    at.selectbox(key="draw_pick").set_value(7).run()
    assert not at.exception and not at.error, (at.exception, texts(at.error))

    def attacked() -> list[str]:
        return [m for m in texts(at.markdown) if m.startswith("clean **")]

    images, _ = pretrained.load_sample(shipped)
    before = attacked()
    assert len(before) == 2  # one verdict per model, in the models' order
    for verdict, (name, spec) in zip(before, MNIST_MODELS.items()):
        probs = load_classifier(name, shipped).predict_proba(images[7:8])[0]
        assert verdict.startswith(f"clean **{int(np.argmax(probs))}** ({100 * probs.max():.1f}%) → now **")
    assert len(charts(at)) == 1 + len(MNIST_MODELS)  # clean bars, and the attacked bars per model
    labels = download_labels(at)
    assert labels.count("PNG") == labels.count("SVG") == labels.count("CSV") == len(charts(at)), labels
    assert len(notices(at)) == 2  # beside the clean bars and after the verdicts
    at.slider(key="draw_eps").set_value(0.3).run()
    assert not at.exception, at.exception
    after = attacked()
    assert after != before
    flips = [m for m in texts(at.markdown) if "FGSM eps" in m]
    assert len(flips) == 2

    at.radio(key="draw_attack").set_value("White noise").run()
    at.slider(key="draw_std").set_value(0.5).run()
    assert not at.exception, at.exception
    noisy = attacked()
    assert noisy != after
    at.number_input(key="draw_noise").increment().run()
    assert attacked() != noisy  # another noise field


def test_draw_query_params_pick_the_digit_and_the_attack(shipped):
    _, labels = pretrained.load_sample(shipped)
    at = run_page("pages/draw.py", {"draw_source": "Pick a test digit", "draw_pick": f"#7: a {labels[7]}",
                                    "draw_eps": "0.125"})
    assert not at.error, texts(at.error)
    assert at.selectbox(key="draw_pick").value == 7
    assert at.slider(key="draw_eps").value == pytest.approx(0.125)
    default = run_page("pages/draw.py", {"draw_source": "Pick a test digit", "draw_pick": f"#7: a {labels[7]}"})
    assert default.slider(key="draw_eps").value == pytest.approx(0.05)

    def attacked(a: AppTest) -> list[str]:
        return [m for m in texts(a.markdown) if m.startswith("clean **")]

    assert len(attacked(at)) == 2 and attacked(at) != attacked(default)  # the URL's eps is the one used


def test_draw_invalid_query_params_fall_back_and_reset_restores(shipped):
    at = run_page("pages/draw.py", {"draw_source": "Pick a test digit", "draw_pick": "#100000: a 3",
                                    "draw_eps": "-1", "draw_attack": "Carlini-Wagner"})
    assert not at.error, texts(at.error)
    assert at.selectbox(key="draw_pick").value == 0
    assert at.radio(key="draw_attack").value == "FGSM"
    assert at.slider(key="draw_eps").value == pytest.approx(0.05)
    at.slider(key="draw_eps").set_value(0.2).run()
    at.button(key="draw__reset").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="draw_source").value == "Draw"  # back to the canvas: no attack panel yet
    assert not at.slider
    assert any("Draw a digit" in i for i in texts(at.info))


# --- broken artifacts ----------------------------------------------------------------------------


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# name -> (how to break the copy, the pages that read that file).
CORRUPTIONS = {
    "weights": (lambda d: _flip_bytes(d / "f_nd.safetensors"), {"pages/mnist.py", "pages/draw.py"}),
    "sweeps-missing": (lambda d: (d / pretrained.SWEEPS_FILE).unlink(), {"pages/mnist.py"}),
    "sample-garbled": (lambda d: (d / pretrained.SAMPLE_FILE).write_bytes(b"not a zip file"),
                       {"pages/mnist.py", "pages/draw.py"}),
}


@pytest.fixture(scope="module", params=sorted(CORRUPTIONS))
def broken(request, shipped, tmp_path_factory) -> tuple[Path, set[str]]:
    root = tmp_path_factory.mktemp(f"pretrained-{request.param}")
    shutil.copytree(pretrained.mnist_dir(shipped), pretrained.mnist_dir(root))
    corrupt, readers = CORRUPTIONS[request.param]
    corrupt(pretrained.mnist_dir(root))
    return root, readers


@pytest.mark.parametrize("page", ["pages/mnist.py", "pages/draw.py"])
def test_a_broken_artifact_gives_an_error_naming_the_fix(broken, page, monkeypatch):
    root, readers = broken
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", root)
    at = open_page(page)
    if page == "pages/draw.py":
        at.radio(key="draw_source").set_value("Pick a test digit").run()
        assert not at.exception, at.exception
    errors = texts(at.error)
    if page not in readers:
        assert not errors, errors  # a page that does not read the broken file is unaffected
        assert any(m.startswith("clean **") for m in texts(at.markdown))
        return
    assert errors, "a broken artifact must show an st.error"
    assert all(REGENERATE in e for e in errors), errors
    if page == "pages/mnist.py":
        # The sections that do not need the broken file still render.
        assert at.dataframe, "the clean table reads only the metadata"
        assert len(errors) < 4


@pytest.mark.parametrize("page", ["pages/mnist.py", "pages/draw.py"])
def test_a_smoke_run_put_in_pretrained_is_an_error_not_the_models(page, shipped, tmp_path, monkeypatch):
    """`training.mnist --smoke --out pretrained` used to replace the shipped models: the MNIST page
    warned, the draw page used the 2-epoch models silently. Both now show the refusal and its fix."""
    from tests.core.results.test_smoke_refusal import smoke_copy

    smoke_copy("mnist", tmp_path, source=shipped)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = open_page(page)
    if page == "pages/draw.py":
        at.radio(key="draw_source").set_value("Pick a test digit").run()
    assert not at.exception, at.exception
    errors = texts(at.error)
    assert errors and all("--smoke run" in e and REGENERATE in e for e in errors), errors
    assert not any("smoke" in w for w in texts(at.warning))
    assert not at.dataframe and not at.get("vega_lite_chart")  # nothing drawn from the smoke files
    assert not any(m.startswith("clean **") for m in texts(at.markdown))  # no verdict from its models


def test_the_other_pages_keep_working_with_broken_mnist_artifacts(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)  # no mnist/ at all
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    at = open_page("pages/mnist.py")
    assert at.error and all(REGENERATE in e for e in texts(at.error))
    assert at.title[0].value.startswith("MNIST")


# --- no torch ------------------------------------------------------------------------------------


def test_the_pages_never_import_torch(shipped):
    """Run both pages, sliders included, in a fresh interpreter and look at sys.modules."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(REPO / "streamlit_app.py")!r}, default_timeout={TIMEOUT}).run()
        at.switch_page("pages/mnist.py").run()
        at.slider(key="mnist_eps").set_value(0.1).run()
        assert not at.exception and not at.error, (at.exception, at.error)
        at.switch_page("pages/draw.py").run()
        at.radio(key="draw_source").set_value("Pick a test digit").run()
        at.slider(key="draw_eps").set_value(0.1).run()
        assert not at.exception and not at.error, (at.exception, at.error)
        print("TORCH_LOADED" if "torch" in sys.modules else "NO_TORCH")
        print("ORT_LOADED" if "onnxruntime" in sys.modules else "NO_ORT")
        """
    )
    env = {**__import__("os").environ, "PRETRAINED_DIR": str(shipped)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "NO_TORCH" in proc.stdout, "a page imported torch"
    assert "ORT_LOADED" in proc.stdout  # the check ran the models


def test_figure_html_escapes_its_texts():
    from app.images import figure_html

    got = figure_html("data:image/png;base64,AAAA", "a <b> & 'c'", "x < y & z", css_class="talk-legend")
    assert got == ("<figure class='talk-legend'><img src='data:image/png;base64,AAAA' "
                   "alt='a &lt;b&gt; &amp; &#x27;c&#x27;'><figcaption>x &lt; y &amp; z</figcaption></figure>")


def test_png_url_round_trips_the_image_and_refuses_other_arrays():
    import base64
    import io

    import numpy as np
    from PIL import Image

    from app.images import png_url

    rng = np.random.default_rng(0)
    for img in (rng.integers(0, 256, (112, 112), dtype=np.uint8), rng.integers(0, 256, (10, 112, 3), dtype=np.uint8),
                rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)):
        url = png_url(img)
        assert url.startswith("data:image/png;base64,")
        back = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
        assert np.array_equal(back, img)
    for bad in (np.zeros((4, 4), dtype=np.float32), np.zeros((4, 4, 2), dtype=np.uint8), np.zeros(4, dtype=np.uint8)):
        with pytest.raises(ValueError, match="uint8"):
            png_url(bad)


def test_the_gallery_images_are_28x28_pngs_cached_by_their_pixels():
    import base64
    import io

    import numpy as np
    from PIL import Image

    from app import images

    x = np.random.default_rng(1).random(784).astype(np.float32)
    url = images.digit_url(x)
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert back.shape == (28, 28) and np.array_equal(back, images.digit_image(x, zoom=1))
    assert images.digit_url(x.copy()) is url  # the same pixels: the cached URL, not a new encoding
    assert images.digit_url(np.clip(x + 0.1, 0, 1)) != url
    heat = images.perturbation_url(x - 0.5, 0.5)
    assert np.asarray(Image.open(io.BytesIO(base64.b64decode(heat.split(",", 1)[1])))).shape == (28, 28, 3)
    # Bounded: the least recently used URL goes first.
    cache = images._UrlCache(max_entries=2)
    for k in (b"a", b"b", b"c"):
        cache.put(k, k.decode())
    assert len(cache) == 2 and cache.get(b"a") is None and cache.get(b"c") == "c"


def marker_points(spec: dict) -> dict[str, tuple[float, float]]:
    """The curve marker's points in a drawn chart spec: {model label: (x, accuracy)}."""
    return {v["model"]: (v["eps"], v["accuracy"]) for layer in spec["layer"] if layer["mark"]["type"] == "point"
            and "values" in layer.get("data", {}) for v in layer["data"]["values"]}


def test_the_curve_marker_follows_its_slider_and_the_play_button_sweeps(shipped, monkeypatch):
    from app.charts import mnist as mnist_charts

    sweeps = pretrained.load_mnist_sweeps(shipped)
    fgsm = {name: sweeps["models"][name]["fgsm"] for name in MNIST_MODELS}
    at = run_page("pages/mnist.py", {"mnist_sweep": "5"})
    assert at.slider(key="mnist_sweep").value == 5
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")[:3]]
    # The marker sits at the sweep's 6th value, on each model's FGSM curve, with its accuracy.
    points = marker_points(specs[0])
    assert {label: p for label, p in points.items()} == {
        spec.label: (fgsm[name][5]["eps"], fgsm[name][5]["accuracy"]) for name, spec in MNIST_MODELS.items()}
    line = [m.value for m in at.markdown if m.value.startswith("FGSM at eps")][0]
    assert f"FGSM at eps = {fgsm['f_n'][5]['eps']:.3f}" in line
    assert f"{100 * fgsm['f_nd'][5]['accuracy']:.1f}%" in line
    noise = marker_points(specs[2])
    assert {x for x, _ in noise.values()} == {sweeps["models"]["f_n"]["noise"][5]["eps"]}

    # Play: every position drawn in turn (a frame a chart), ending at the last, where the slider goes.
    monkeypatch.setattr(mnist_charts, "PLAY_FRAME_S", 0.0)
    drawn = []
    real = mnist_charts.marked_curve
    monkeypatch.setattr(mnist_charts, "marked_curve", lambda *a, **k: drawn.append(a[2]) or real(*a, **k))
    at.button(key="mnist_play").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="mnist_sweep").value == 19
    assert sorted(set(drawn)) == list(range(20)) and drawn[-3:] == [19, 19, 19]
    final = marker_points(json.loads(at.get("vega_lite_chart")[0].proto.spec))
    assert {x for x, _ in final.values()} == {fgsm["f_n"][-1]["eps"]}
    # Each chart keeps its downloads after the sweep.
    assert download_labels(at).count("PNG") == 4
