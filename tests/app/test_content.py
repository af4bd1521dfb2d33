"""The words right (issue 11): what the MNIST and Recap pages say, under AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.experiments.robustness_law import LAW_LATEX
from core.specs import MNIST_MODELS

REPO = Path(__file__).resolve().parents[2]


def run(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / page), default_timeout=180)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts)


def test_f_nd_is_never_labelled_p_nd_for_mnist():
    for spec in MNIST_MODELS.values():
        assert "nd)" not in spec.label.replace("nd/16", "") and "p ~" not in spec.label
    ratio = 60_000 * 784 / MNIST_MODELS["f_nd"].param_count
    assert 15 < ratio < 17


def test_mnist_page_explains_pgd_losses_norms_and_the_names():
    at = run("mnist.py")
    assert not at.exception, at.exception
    text = all_text(at)
    assert "PGD" in text and "projection" in text and "random start" in text and "step size" in text
    assert "training length alone does not explain them" in text and "0.587" in text
    assert "‖δ‖₂" in text  # FGSM against noise compared as norms of the perturbation
    assert "47,040,000" in text and "not** p ≈ nd" in text
    assert any("Lip" in x.value for x in at.latex)  # the key bound in display math (st.latex)
    assert "p ~ n·d can be" not in text  # the conclusion claims no more than the law


def test_mnist_noise_gallery_compares_norms_and_its_colour_bar_is_honest():
    at = run("mnist.py", {"mnist_attack": "White noise", "mnist_std": "0.5"})
    assert not at.exception, at.exception
    text = all_text(at)
    assert "L2 size ‖δ‖₂" in text
    # The colour bar's range is the largest change shown (noise is clipped to [0, 1]), not 3 std.
    # The gallery goes out as one HTML grid of <figure>s (app.images.figure_html).
    import re

    html = " ".join(h.proto.body for h in at.get("html"))
    bars = [c for c in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", html) if c.startswith("perturbation:")]
    assert len(bars) == 2
    for bar in bars:
        high = float(bar.split("+")[-1])
        assert 0 < high <= 1.0, bar  # 3 std would be 1.5
    captions = [c for c in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", html) if c.startswith("‖δ‖∞")]
    assert captions and all(float(c.split()[1]) <= high for c in captions)


def test_recap_key_bound_and_definition_are_display_math():
    at = run("recap.py")
    assert not at.exception
    latex = [x.value for x in at.latex]
    assert any("L\\,\\|x - x'\\|_2" in x for x in latex)  # the Lipschitz definition
    assert any(LAW_LATEX in x for x in latex)  # the theorem's bound, as Theorem 3 states it
    assert not any("\\sigma}" in x for x in latex)  # no eps / sigma: the bound is proportional to eps
    text = " ".join(" ".join(m.value for m in at.markdown).split())
    assert "Theorem 3" in text and "every smooth model class" not in text
    assert "smoothly parametrized model class with polynomially bounded weights" in text
    assert "up to constants and a log factor" in text and "lower bound" in text
    assert not any("$$" in m.value for m in at.markdown)  # no display math left inside markdown
