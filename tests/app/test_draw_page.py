"""The draw page's attacks under AppTest, on a shipped test digit: each verdict against the same
attack computed by `core` on the shipped ONNX models (targeted FGSM, PGD, transfer), the sweep
button's stops against the smallest flipping eps, and the URL's test-digit index.

The canvas itself is driven in tests/browser/test_draw_screen.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core.results.pretrained as pretrained
from core.attacks.fgsm import fgsm
from core.attacks.flip import smallest_flip_eps
from core.attacks.pgd import PGD_STEPS, pgd_linf
from core.attacks.targeted_fgsm import fgsm_targeted
from core.results.classifiers import load_classifier
from core.specs import MNIST_MODELS

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 90
PICK = 7
NAMES = tuple(MNIST_MODELS)  # f_n, f_nd: the verdicts' order


@pytest.fixture(scope="module")
def shipped():
    root = Path(pretrained.PRETRAINED_DIR)
    if not (pretrained.mnist_dir(root) / pretrained.SWEEPS_FILE).is_file():
        pytest.fail(f"no MNIST artifacts in {pretrained.mnist_dir(root)}: "
                    f"run `{pretrained.REGENERATE_MNIST}`")
    images, labels = pretrained.load_sample(root)
    clfs = {n: load_classifier(n, root) for n in NAMES}
    x = images[PICK:PICK + 1]
    own = {n: np.argmax(c.predict_proba(x), axis=1) for n, c in clfs.items()}
    return {"x": x, "labels": labels, "clfs": clfs, "own": own}


def page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/draw.py"), default_timeout=TIMEOUT)
    for k, v in {"draw_source": "Pick a test digit", "draw_pick": str(PICK), **query}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def verdicts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("clean **")]


def now_says(verdict: str) -> int:
    return int(re.search(r"→ now \*\*(\d)\*\*", verdict).group(1))


def answer(clf, x_adv) -> int:
    return int(np.argmax(clf.predict_proba(x_adv), axis=1)[0])


def test_targeted_fgsm_says_whether_each_network_now_says_the_target(shipped):
    x, clfs = shipped["x"], shipped["clfs"]
    target = next(d for d in range(10) if all(d != shipped["own"][n][0] for n in NAMES))
    at = page({"draw_attack": "Targeted FGSM", "draw_target": str(target), "draw_eps": "0.3"})
    assert at.selectbox(key="draw_target").value == target
    said = verdicts(at)
    assert len(said) == 2
    for verdict, name in zip(said, NAMES):
        expected = answer(clfs[name], fgsm_targeted(clfs[name], x, np.array([target]), 0.3))
        assert now_says(verdict) == expected
        assert (f"says the target {target}" in verdict) == (expected == target)
        assert f"probability of {target}:" in verdict
    assert any(f"says the target {target}" in v for v in said)  # at eps 0.3 the push works on one
    at.slider(key="draw_eps").set_value(0.0).run()
    assert all(f"not yet a {target}" in v for v in verdicts(at))  # eps 0 changes nothing
    assert any("Targeted FGSM" in m.value for m in at.markdown)  # explained where it appears


def test_pgd_is_the_core_attack_and_compares_with_fgsm(shipped):
    x, clfs, own = shipped["x"], shipped["clfs"], shipped["own"]
    at = page({"draw_attack": "PGD", "draw_eps": "0.05"})
    for verdict, name in zip(verdicts(at), NAMES):
        x_pgd = pgd_linf(clfs[name], x, own[name], 0.05, steps=PGD_STEPS, seed=0)
        assert now_says(verdict) == answer(clfs[name], x_pgd)
        fgsm_says = answer(clfs[name], fgsm(clfs[name], x, own[name], 0.05))
        assert f"FGSM at this eps: **{fgsm_says}**" in verdict
    notes = " ".join(m.value for m in at.markdown)
    assert "projects" in notes and "random start" in notes and "2.5·eps/10" in notes


def test_transfer_shows_each_network_the_other_ones_perturbation(shipped):
    x, clfs, own = shipped["x"], shipped["clfs"], shipped["own"]
    at = page({"draw_attack": "Transfer", "draw_eps": "0.1"})
    said = verdicts(at)
    for i, name in enumerate(NAMES):
        other = NAMES[1 - i]
        x_other = fgsm(clfs[other], x, own[other], 0.1)  # the other network's FGSM image
        assert now_says(said[i]) == answer(clfs[name], x_other)
        own_says = answer(clfs[name], fgsm(clfs[name], x, own[name], 0.1))
        assert f"its own FGSM at this eps: **{own_says}**" in said[i]


def test_noise_is_compared_with_fgsm_at_the_same_measured_l2_size(shipped):
    """White noise of std s is not FGSM at eps s: the page compares the two at equal L2 norm of the
    change actually applied (after clipping), each FGSM eps found against a direct computation."""
    from core.attacks.fgsm import FGSM, eps_at_l2
    from core.attacks.noise import gaussian_noise

    x, clfs, own = shipped["x"], shipped["clfs"], shipped["own"]
    at = page({"draw_attack": "White noise", "draw_std": "0.3", "draw_noise": "2"})
    (notice,) = [i.value for i in at.info if "‖δ‖₂" in i.value]
    size = float(np.linalg.norm(gaussian_noise(x, 0.3, seed=2) - x))
    assert f"‖δ‖₂ = {size:.2f}" in notice
    assert "compare with FGSM at eps 0.30" not in notice and "barely" not in notice
    for name in NAMES:
        eps = eps_at_l2(FGSM.prepare(clfs[name], x), size)
        change = fgsm(clfs[name], x, own[name], eps) - x
        assert abs(np.linalg.norm(change) - size) < 1e-3 * size  # the same size, measured
        says = answer(clfs[name], x + change)
        assert f"**{says}** under FGSM at eps {eps:.4f}" in notice, (name, notice)


def test_the_sweep_stops_at_each_networks_first_flip_in_turn(shipped):
    x, clfs = shipped["x"], shipped["clfs"]
    flips = sorted(float(smallest_flip_eps(clfs[n], x)[0]) for n in NAMES)
    assert all(np.isfinite(flips)), "this digit must flip both networks for the test to mean something"
    at = page({"draw_eps": "0.0"})
    stops = []
    for _ in range(3):
        at.button(key="draw__sweep").click().run()
        assert not at.exception, at.exception
        stops.append(at.slider(key="draw_eps").value)
        assert at.success and f"Stopped at eps **{stops[-1]:.4f}**" in at.success[0].value
    assert stops == pytest.approx([flips[0], flips[1], flips[0]])  # then from 0 again
    # At the first stop exactly one network (the first to flip) has changed its answer.
    at.button(key="draw__sweep").click().run()
    at.button(key="draw__sweep").click().run()
    changed = ["changed its answer" in v for v in verdicts(at)]
    assert at.slider(key="draw_eps").value == pytest.approx(flips[0]) and sum(changed) >= 1


def test_the_url_holds_the_test_digits_index_and_old_links_still_open(shipped):
    labels = shipped["labels"]
    at = page({})
    assert at.selectbox(key="draw_pick").value == PICK
    captions = [c for img in at.get("image") for c in img.captions]
    assert any(f"test digit #{PICK}, labelled {labels[PICK]}" in c for c in captions)
    # A bound selectbox writes its option's text into the URL: that text is now the index.
    assert at.selectbox(key="draw_pick").options[:13] == [str(i) for i in range(13)]
    assert page({"draw_pick": "12"}).selectbox(key="draw_pick").value == 12
    old = page({"draw_pick": f"#{PICK}: a {labels[PICK]}"})  # a link shared before: still that digit
    assert old.selectbox(key="draw_pick").value == PICK
    assert verdicts(old) == verdicts(at)


def test_the_magnified_change_is_only_drawn_bigger(shipped):
    at = page({"draw_eps": "0.02"})
    before = verdicts(at)
    shown = [c for c in result_captions(at) if c == "attacked input"]
    assert len(shown) == 2
    at.toggle(key="draw_magnify").set_value(True).run()
    assert verdicts(at) == before  # the networks see the real attacked input
    captions = result_captions(at)
    assert captions.count("attacked input, change ×8") == 2 and "attacked input" not in captions


def result_captions(at) -> list[str]:
    """The captions under the attack's images (input, change, attacked input, colour bar) of each
    network: one st.html element per network."""
    import html
    import re

    bodies = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div class='talk-result'>")]
    assert len(bodies) == 2, bodies
    return [html.unescape(c) for b in bodies for c in re.findall(r"<figcaption>(.*?)</figcaption>", b)]


def test_the_attack_images_are_inline_pngs_with_alt_texts_and_captions(shipped):
    import html
    import re

    at = page({"draw_eps": "0.02"})
    bodies = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div class='talk-result'>")]
    images = [re.findall(r"<img src='([^']*)' alt='([^']*)'>", b) for b in bodies]
    assert [len(i) for i in images] == [4, 4]  # input, change, attacked input, colour bar
    for name, found in zip(NAMES, images):
        assert all(src.startswith("data:image/png;base64,") and alt for src, alt in found)
        alts = [html.unescape(alt) for _, alt in found]
        assert name in alts[1] and name in alts[2] and "0.020" in alts[1]
    assert result_captions(at) == ["the input", "the change", "attacked input",
                                   "darker −0.0200 · +0.0200 brighter"] * 2


def test_the_probability_bars_have_titles_and_model_colours(shipped):
    import json

    at = page({})
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    by_title = {s.get("title", {}).get("text"): s for s in specs}
    clean = "Clean input: probability of each digit"
    assert set(by_title) == {clean} | {f"{n} on the attacked input" for n in NAMES}
    colours = {t: s["encoding"]["color"]["scale"]["range"] for t, s in by_title.items()}
    assert colours[clean] == [MNIST_MODELS[n].color for n in NAMES]
    for n in NAMES:
        assert colours[f"{n} on the attacked input"] == [MNIST_MODELS[n].color]
