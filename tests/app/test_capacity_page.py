"""The capacity page ("Robustness against size") under AppTest, on the shipped `pretrained/capacity/`.

Checks that the numbers shown are the shipped ones (table and chart against results.json), that the
eps slider (and the URL) changes them, that a bad URL value falls back to the talk's eps, that
every chart can be downloaded, that orange and blue stay f_n's and f_nd's, that a broken folder
gives an `st.error` naming the command, and that the page never imports torch or ART.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import core.results.pretrained as pretrained
from core.results import capacity as cr
from core.results.classifiers import load_classifier
from core.specs import MNIST_MODELS

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 90
PAGE = "pages/capacity.py"


@pytest.fixture(scope="module")
def shipped() -> Path:
    root = Path(pretrained.PRETRAINED_DIR)
    if not (cr.capacity_dir(root) / cr.RESULTS_FILE).is_file():
        pytest.fail(f"no capacity results in {cr.capacity_dir(root)}: run `{cr.REGENERATE_CAPACITY}`")
    return root


@pytest.fixture(scope="module")
def doc(shipped) -> dict:
    return json.loads((cr.capacity_dir(shipped) / cr.RESULTS_FILE).read_text())


def run_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / PAGE), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def notices(at: AppTest) -> list[str]:
    return [i.value for i in at.info if i.value.startswith("**What to notice.**")]


def figure_rows(at: AppTest) -> list[dict]:
    """The rows the accuracy-against-size chart plots (the layer that holds the measures)."""
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    for layer in spec["layer"]:
        values = (layer.get("data") or {}).get("values") or []
        if values and "measure" in values[0]:
            return values
    raise AssertionError("no layer of the figure plots the measures")


def table_with(at: AppTest, column: str):
    """The page's table that has this column (the tables sit in expanders, in page order)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table on the page has a column {column!r}")


def seed_of(net: dict) -> int:
    return net.get("seed", 0)


def test_the_page_is_in_the_talk_right_after_mnist():
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Robustness against size"
    # The TALK order, read from the entry point's source: importing it would run the app outside a
    # server (its navigation returns no current page there).
    import ast

    tree = ast.parse((REPO / "streamlit_app.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "TALK")
    talk = [p for p, _, _ in ast.literal_eval(node.value)]
    assert talk.index(PAGE) == talk.index("pages/mnist.py") + 1


def test_the_figure_shows_the_shipped_numbers(doc):
    at = run_page()
    assert not at.error, [e.value for e in at.error]
    eps = cr.eps_grid(doc)[-1]
    assert at.select_slider(key="capacity_eps").value == pytest.approx(0.1)
    # The table: every network, its numbers straight from results.json.
    table = table_with(at, "dead hidden units")
    nets = [n for n in doc["networks"] if n["kind"] in cr.TRAINING_KINDS]
    assert len(table) == len(nets)
    for net in nets:
        row = table[(table["training"] == net["kind"]) & (table["hidden"] == net["hidden"])
                    & (table["seed"] == seed_of(net))].iloc[0]
        r = net["results"]
        assert row["test accuracy"] == r["test_accuracy"] and row["train accuracy"] == r["train_accuracy"]
        assert row["FGSM accuracy"] == r["fgsm"][-1]["accuracy"] and row["PGD accuracy"] == r["pgd"][-1]["accuracy"]
        assert row["parameters"] == net["param_count"] and row["eps"] == eps
        assert row["dead hidden units"] == r["dead_units"]
        assert row["AutoAttack accuracy"] == r["autoattack"]["accuracy"]
    # The chart: the same numbers, the mean over a width's seeds, on a log axis of parameters.
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert '"type": "log"' in json.dumps(spec)
    groups: dict = {}
    for n in nets:
        groups.setdefault((n["kind"], n["hidden"]), []).append(n)
    for measure, value in (("PGD", lambda n: n["results"]["pgd"][-1]["accuracy"]),
                           ("AutoAttack", lambda n: n["results"]["autoattack"]["accuracy"])):
        plotted = {(r["training"], r["hidden"]): r for r in figure_rows(at) if r["measure"] == cr.MEASURE_LABELS[measure]}
        assert set(plotted) == set(groups), measure
        for key, group in groups.items():
            values = [value(n) for n in group]
            assert plotted[key]["accuracy"] == pytest.approx(sum(values) / len(values))
            assert (plotted[key]["low"], plotted[key]["high"], plotted[key]["seeds"]) == (
                min(values), max(values), len(group))
    # Every adversarial width was trained with at least 3 seeds (the spread on the figure).
    assert min(len(g) for (kind, _), g in groups.items() if kind == "adversarial") >= 3
    # The sentences quote the data: the widest adversarial width's mean PGD accuracy.
    h = max(k[1] for k in groups if k[0] == "adversarial")
    widest = [n["results"]["pgd"][-1]["accuracy"] for n in groups["adversarial", h]]
    assert f"{100 * sum(widest) / len(widest):.1f}%" in notices(at)[0]
    # Orange and blue are f_n's and f_nd's only: the measures use other colours.
    from tests.conftest import chart_data

    marks = chart_data(at.get("vega_lite_chart")[0].proto)
    colors = dict(zip(marks["label"], marks["color"]))
    assert {colors["f_n"], colors["f_nd"]} == {MNIST_MODELS["f_n"].color, MNIST_MODELS["f_nd"].color}
    assert colors["f_n"] == MNIST_MODELS["f_n"].color
    assert sorted(marks["p"]) == sorted([cr.N_TRAIN, MNIST_MODELS["f_n"].param_count,
                                         MNIST_MODELS["f_nd"].param_count, cr.N_TRAIN * cr.INPUT_DIM])
    from app.charts.capacity import MEASURE_COLORS

    assert not {m.color for m in MNIST_MODELS.values()} & set(MEASURE_COLORS.values())
    # Every chart can be downloaded: PNG, SVG and CSV.
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("PNG") == labels.count("SVG") == labels.count("CSV") == len(at.get("vega_lite_chart"))


def test_the_slider_and_the_url_choose_eps(doc):
    grid = [round(e, 4) for e in cr.eps_grid(doc)]
    at = run_page({"capacity_eps": f"{grid[5]:.3f}"})  # a bound select_slider's URL holds its label
    assert at.select_slider(key="capacity_eps").value == grid[5]
    table = table_with(at, "dead hidden units")
    net = next(n for n in doc["networks"] if n["kind"] == "adversarial")
    row = table[(table["training"] == "adversarial") & (table["hidden"] == net["hidden"])
                & (table["seed"] == seed_of(net))].iloc[0]
    assert row["PGD accuracy"] == net["results"]["pgd"][5]["accuracy"]
    at.select_slider(key="capacity_eps").set_value(grid[0]).run()
    assert "At eps = 0 the attacks do nothing" in notices(at)[0]
    # A value that is not on the grid falls back to the talk's eps.
    bad = run_page({"capacity_eps": "banana"})
    assert bad.select_slider(key="capacity_eps").value == pytest.approx(0.1)
    assert not bad.error


def test_the_zero_loss_section_compares_training_lengths(doc):
    at = run_page()
    table = table_with(at, "training length")
    by = {n["name"]: n for n in doc["networks"]}
    for name in MNIST_MODELS:
        if f"zero_loss_{name}" not in by or f"standard_h{MNIST_MODELS[name].hidden}" not in by:
            continue
        rows = table[table["model"] == name]
        assert set(rows["test loss"]) == {by[f"zero_loss_{name}"]["results"]["test_loss"],
                                          by[f"standard_h{MNIST_MODELS[name].hidden}"]["results"]["test_loss"]}
    assert any("0.211" in n and "0.587" in n for n in notices(at))


def test_the_page_says_what_pgd_is_and_keys_its_solid_and_dashed_lines(doc):
    """PGD is explained where the figure uses it, without promising it beats FGSM on every image;
    the zero-loss charts key their line styles and name the models short ("f_n")."""
    import json

    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "projected gradient descent" in text and "not on every image" in text
    assert "at least as strong" not in text
    for chart in at.get("vega_lite_chart")[1:]:
        spec = json.dumps(json.loads(chart.proto.spec))
        assert "split(datum.label, ':')[0]" in spec and '"orient": "top"' in spec


def test_a_broken_folder_shows_an_error_naming_the_command(shipped, tmp_path, monkeypatch):
    shutil.copytree(cr.capacity_dir(shipped), cr.capacity_dir(tmp_path))
    (cr.capacity_dir(tmp_path) / cr.RESULTS_FILE).write_text("{}")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    assert at.error and all("training.capacity" in e.value for e in at.error)


def test_the_page_never_imports_torch(shipped):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(REPO / "streamlit_app.py")!r}, default_timeout={TIMEOUT}).run()
        at.switch_page({PAGE!r}).run()
        assert not at.exception and not at.error, (at.exception, at.error)
        print("TORCH_LOADED" if "torch" in sys.modules else "NO_TORCH")
        print("ART_LOADED" if "art" in sys.modules or "training.autoattack" in sys.modules else "NO_ART")
        """
    )
    env = {**os.environ, "PRETRAINED_DIR": str(shipped)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "NO_TORCH" in proc.stdout
    assert "NO_ART" in proc.stdout  # AutoAttack is evaluation only: the server never loads it


# --- the adversarially trained f_n and f_nd on the draw page and in the MNIST gallery -------------


def test_the_draw_page_attacks_the_adversarially_trained_models(shipped):
    import numpy as np

    from core.results.pretrained import load_sample
    from core.specs import ADVERSARIAL_MODELS

    images, labels = load_sample(shipped)
    pick = 0  # the talk's digit
    at = AppTest.from_file(str(REPO / "pages/draw.py"), default_timeout=TIMEOUT)
    for k, v in {"draw_source": "Pick a test digit", "draw_training": "adversarial"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert at.radio(key="draw_training").value == "adversarial"
    said = " ".join(m.value for m in at.markdown)
    for spec in ADVERSARIAL_MODELS.values():
        clf = load_classifier(spec.name, shipped)
        pred = int(np.argmax(clf.predict_proba(images[pick:pick + 1])[0]))
        assert spec.label in said and f"clean **{pred}**" in said
    # Back to the talk's networks: their labels, not the robust ones.
    at.radio(key="draw_training").set_value("standard").run()
    said = " ".join(m.value for m in at.markdown)
    assert MNIST_MODELS["f_n"].label in said and ADVERSARIAL_MODELS["f_n_adv"].label not in said


def test_the_mnist_gallery_shows_the_adversarially_trained_models(shipped):
    from core.attacks.fgsm import fgsm_sweep
    from core.results.pretrained import load_sample
    from core.specs import ADVERSARIAL_MODELS

    images, labels = load_sample(shipped)
    at = AppTest.from_file(str(REPO / "pages/mnist.py"), default_timeout=TIMEOUT)
    at.query_params["mnist_training"] = "adversarial"
    at.query_params["mnist_eps"] = "0.1"
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    line = next(m.value for m in at.markdown if m.value.startswith("On all"))
    for spec in ADVERSARIAL_MODELS.values():
        acc = fgsm_sweep(load_classifier(spec.name, shipped), images, labels, [0.1])[0].accuracy
        assert spec.label in line and f"**{100 * acc:.1f}%** correct" in line
