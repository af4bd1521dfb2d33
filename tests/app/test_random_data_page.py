"""The random-data page under AppTest, on synthetic sweeps written in the shipped format: both grids'
charts with their fits and the least-squares line, the split figure and the control, readings
computed from the data, URL-driven controls, the reset, the live mini-experiment through the
training worker, and a clear error (with a working page) when a sweep is missing or corrupt."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import core.results.pretrained as pretrained
from core.files import sha256_file
from core.results.pretrained import write_manifest
from core.results.random_data import METADATA_FILE, ROWS_FILE, SHIPPED_GRIDS, rows_to_csv
from core.specs import get_width_rule

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "random_data.py")
D_GRID = (10, 40, 90, 160, 250)
LS_LABEL = "‖β‖: least-squares slope of the data"


def write_sweep(root: Path, grad, memorized=lambda d, rule, seed: True, grid: str = "laptop",
                activation: str = "relu", split: bool = True) -> Path:
    """A sweep in the shipped format in the folder of `grid`: grad(d, rule, seed) -> grad_max; the
    linear part is 0.1 d (split=False: not recorded, as in the paper-scale grid)."""
    n, rows = 400, []
    for d in D_GRID:
        for rule in ("f_nd", "f_n"):
            for seed in (0, 1):
                k = get_width_rule(rule)(n, d)
                g = float(grad(d, rule, seed))
                lin = 0.1 * d if split else float("nan")
                rows.append({"d": d, "rule": rule, "seed": seed, "n": n, "k": k,
                             "p": get_width_rule(rule).param_count(n, d), "steps": 100 + d,
                             "train_mse": 0.05, "memorized": memorized(d, rule, seed),
                             "grad_max": g, "grad_mean": g / 2,
                             "grad_max_init": 2.0 if split else float("nan"), "lin_norm": lin,
                             "nonlin_max": g - lin if split else float("nan"),
                             "ls_slope_norm": d / np.sqrt(n - d), "activation": activation,
                             "lin_ls_cos": 0.9 if split else float("nan"),
                             "wall_s": 1.0, "stack_size": 2, "gflop": 0.1, "device": "cpu: test"})
    folder = SHIPPED_GRIDS[grid].path(root)
    folder.mkdir(parents=True)
    (folder / ROWS_FILE).write_text(rows_to_csv(rows))
    meta = {"n": n, "d_grid": list(D_GRID), "seeds": [0, 1], "devices": ["cpu: test"], "preset": "quick",
            "settings": {"lr": 0.001, "max_steps": 20000, "probe_points": 1000, "eps": 0.1},
            "activation": activation, "batchnorm": activation == "relu", "wall_time_s": 12.0,
            "created": "2026-01-01T00:00:00+00:00", "command": f"python -m training.random_data --test-{grid}",
            "versions": {"python": "3.11", "torch": "test", "numpy": "test"},
            "sources": [{"file": f"{grid}.jsonl", "sha256": "0" * 64}],
            "sha256": {ROWS_FILE: sha256_file(folder / ROWS_FILE)}}
    (folder / METADATA_FILE).write_text(json.dumps(meta))
    write_manifest(folder, "test")
    return folder


def write_all(root: Path, grad, memorized=lambda d, rule, seed: True) -> None:
    """The three shipped grids: the paper's (no split recorded), the laptop's, the even control."""
    write_sweep(root, grad, memorized, grid="paper", split=False)
    write_sweep(root, grad, memorized, grid="laptop")
    write_sweep(root, lambda d, rule, seed: 3.0 + 0.01 * seed, grid="control", activation="abs")


def law_like(d, rule, seed):
    """f_n grows like sqrt(d), f_nd stays flat (the paper's prediction), with a little seed noise."""
    return (2.0 + 0.8 * np.sqrt(d) if rule == "f_n" else 3.0) + 0.01 * seed


def run_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def chart_frames(chart) -> list:
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


@pytest.fixture
def law_sweep(tmp_path, monkeypatch):
    write_all(tmp_path, law_like,
              memorized=lambda d, rule, seed: not (d == 250 and rule == "f_n" and seed == 1))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    return tmp_path



def test_both_grids_are_plotted_against_sqrt_d_and_d_with_fits_and_the_least_squares_line(law_sweep):
    at = run_page()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 6  # paper: 2, laptop: 2, the split, the control
    for chart, x in zip(charts[:4], ("√d", "d", "√d", "d")):
        frames = chart_frames(chart)
        runs = next(f for f in frames if "grad_max" in f.columns)
        fits = next(f for f in frames if "value" in f.columns and "ls_slope_norm" not in f.columns
                    and set(f["series"]) <= {get_width_rule("f_n").label, get_width_rule("f_nd").label})
        ls = next(f for f in frames if "value" in f.columns and set(f["series"]) == {LS_LABEL})
        assert len(runs) == len(D_GRID) * 2 * 2
        assert set(runs["series"]) == {get_width_rule("f_n").label, get_width_rule("f_nd").label}
        assert (runs["run"] != "memorized").sum() == 1  # the one failed run is drawn, marked
        assert json.loads(chart.proto.spec)["layer"][0]["encoding"]["x"]["field"] == x
        flat = fits[fits["series"] == get_width_rule("f_nd").label]["value"]
        assert np.allclose(flat, 3.005, atol=1e-4)  # chart data are rounded to 4 decimals
        assert np.allclose(ls["value"], ls["d"] / np.sqrt(400 - ls["d"]), atol=1e-4)
    grid_text = " ".join(m.value for m in at.markdown)
    assert "d from 10 to 250 (5 values)" in grid_text and "20 runs" in grid_text


def test_the_split_figure_and_the_control_are_drawn_from_their_grids(law_sweep):
    at = run_page()
    split, control = at.get("vega_lite_chart")[4:6]
    frame = pd.concat(chart_frames(split))
    lin = frame[frame["stat"] == "lin_norm"].sort_values("d")
    assert np.allclose(lin["value"], 0.1 * np.array(D_GRID), atol=1e-4)  # the f_nd rows' linear part
    expected = frame[frame["stat"] == "expected"]
    assert np.allclose(expected["value"], expected["d"] / np.sqrt(400 - expected["d"] - 2), atol=1e-3)
    assert {"grad_max", "lin_norm", "nonlin_max", "grad_max_init", "ls_slope_norm"} <= set(frame["stat"])
    runs = next(f for f in chart_frames(control) if "grad_max" in f.columns)
    assert np.allclose(runs["grad_max"], 3.0 + 0.01 * runs["seed"])  # the control's own rows
    text = " ".join(m.value for m in at.markdown)
    assert "its linear part ‖mean gradient‖ by" in text  # the split's sentences
    assert "The control's reading" in text and "As the paper predicts" in text
    title = lambda at: json.loads(at.get("vega_lite_chart")[4].proto.spec)["title"]
    assert title(at) == f"{get_width_rule('f_nd').label}: the split"
    at.segmented_control(key="random_split_rule").set_value("f_n").run()
    assert not at.exception and title(at).startswith(get_width_rule("f_n").label)
    # A shared link opens on the same split; the URL holds the label shown, never "f_n" (a name
    # of the MNIST networks).
    assert [b.label for b in [at.segmented_control(key="random_split_rule")]] == ["Width rule"]
    assert at.segmented_control(key="random_split_rule").options == [get_width_rule(r).label for r in ("f_n", "f_nd")]
    shared = run_page({"random_split_rule": get_width_rule("f_n").label})
    assert title(shared).startswith(get_width_rule("f_n").label)


def test_reading_is_computed_from_the_data(law_sweep):
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "As the paper predicts" in text
    assert "slope 0.800" in text  # f_n's fitted slope, from the data
    table = at.dataframe[0].value
    assert list(table["memorized runs"]) == ["9/10", "10/10"]
    assert table["slope per √d"].iloc[0] == pytest.approx(0.8, abs=1e-3)
    assert table["slope per √d"].iloc[1] == pytest.approx(0.0, abs=1e-3)


def test_a_sweep_that_does_not_separate_the_rules_is_read_as_such(tmp_path, monkeypatch):
    write_all(tmp_path, lambda d, rule, seed: 1.0 + (0.5 if rule == "f_nd" else 0.3) * np.sqrt(d))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "do not show the separation the paper predicts" in text
    assert "As the paper predicts" not in text


@pytest.mark.parametrize("damage", ["missing", "corrupt", "no manifest", "smoke"])
def test_a_damaged_sweep_shows_the_fix_and_the_rest_of_the_page_works(law_sweep, damage):
    folder = SHIPPED_GRIDS["laptop"].path(law_sweep)
    if damage == "missing":
        (folder / METADATA_FILE).unlink()
    elif damage == "corrupt":
        (folder / ROWS_FILE).write_text("d,rule\n1,2\n")
    elif damage == "no manifest":
        (folder / "manifest.json").unlink()
    else:  # the output of a --smoke run put in place of the shipped results, manifest and all
        meta = json.loads((folder / METADATA_FILE).read_text())
        (folder / METADATA_FILE).write_text(json.dumps({**meta, "preset": "smoke"}))
        write_manifest(folder, "training.random_data --smoke")
    at = run_page()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].index("Quick fix") < errors[0].index("Slow fix: regenerate them with "
                                                          "`python -m training.random_data --quick")
    assert len(at.get("vega_lite_chart")) == 3  # the paper's grid and the control are still drawn
    assert at.button(key="random_run") is not None  # the live experiment is still there


def test_no_shipped_sweep_at_all_still_leaves_a_working_page(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    assert not at.exception, at.exception
    assert len(at.error) == 3 and not at.get("vega_lite_chart")
    assert at.button(key="random_run") is not None


def test_query_params_drive_the_controls_and_reset_restores_them(law_sweep):
    at = run_page({"random_live_n": "150", "random_live_dims": ["10", "40"], "random_live_seeds": "2",
                   "random_live_net": "abs", "random_split_rule": get_width_rule("f_n").label})
    assert not at.exception
    dims = lambda at: next(b for b in at.get("button_group") if b.key == "random_live_dims")
    assert at.slider(key="random_live_n").value == 150
    assert at.slider(key="random_live_seeds").value == 2
    assert dims(at).value == [10, 40]
    assert at.radio(key="random_live_net").value == "abs"
    at.button(key="random__reset").click().run()
    assert at.slider(key="random_live_n").value == 300
    assert at.slider(key="random_live_seeds").value == 1
    assert dims(at).value == [20, 80, 320]
    assert at.radio(key="random_live_net").value == "relu"


def test_invalid_query_params_fall_back(law_sweep):
    at = run_page({"random_live_n": "9999", "random_live_seeds": "x", "random_live_dims": ["7"]})
    assert not at.exception, at.exception
    assert at.slider(key="random_live_n").value == 300
    assert at.slider(key="random_live_seeds").value == 1


def run_until_trained(at: AppTest, timeout: float = 240.0) -> AppTest:
    """Rerun the page (as the status fragment's timer does) until the queued run has finished."""
    deadline = time.monotonic() + timeout
    while "random_live_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert "random_live_job" not in at.session_state, "the live run did not finish in time"
    return at


@pytest.mark.parametrize("net", ["relu", "abs"])
def test_live_mini_experiment_runs_in_the_worker(law_sweep, net):
    at = run_page({"random_live_n": "100", "random_live_dims": ["10", "40"], "random_live_net": net})
    at.button(key="random_run").click().run()
    assert not at.exception, at.exception
    assert "random_live_job" in at.session_state  # queued, not run inside the page's script
    run_until_trained(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    rows = at.session_state["random_live_rows"]["rows"]
    assert {(r["d"], r["rule"]) for r in rows} == {(10, "f_n"), (10, "f_nd"), (40, "f_n"), (40, "f_nd")}
    assert all(r["n"] == 100 and r["grad_max"] > 0 and r["activation"] == net for r in rows)
    assert len(at.get("vega_lite_chart")) == 8  # shipped: 6, live: 2
    assert any("Your run" in m.value for m in at.markdown)


def test_pages_do_not_import_torch_until_a_live_run():
    """The app runs on ONNX Runtime and numpy: torch is imported only when a student trains."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"for page in ('recap', 'random_data', 'references'):\n"
        f"    at = AppTest.from_file({str(REPO / 'pages')!r} + f'/{{page}}.py', default_timeout=120).run()\n"
        "    assert not at.exception, (page, at.exception)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_dimension_pills_say_how_many_a_run_takes_and_more_are_refused_before_the_click(law_sweep):
    """Seven pills, five dimensions a run: said before the click, and a sixth pick disables the run."""
    from core.experiments.random_data_live import MAX_DIMS

    at = run_page()
    pills = next(b for b in at.get("button_group") if b.key == "random_live_dims")
    live_dims = [int(o.content) for o in pills.proto.options]
    assert len(live_dims) > MAX_DIMS  # the case this test is about
    at = run_page({"random_live_dims": [str(d) for d in live_dims[:MAX_DIMS]]})
    pills = next(b for b in at.get("button_group") if b.key == "random_live_dims")
    assert f"up to {MAX_DIMS}" in pills.proto.label and f"at most {MAX_DIMS}" in pills.proto.help
    assert any(f"1 to {MAX_DIMS} of the {len(live_dims)}" in c.value for c in at.caption)
    assert not at.button(key="random_run").disabled and not at.warning  # five: allowed
    at = run_page({"random_live_dims": [str(d) for d in live_dims]})
    assert not at.exception, at.exception
    assert at.button(key="random_run").disabled
    warnings = [w.value for w in at.warning]
    assert any(f"{len(live_dims)} dimensions are picked" in w and f"at most {MAX_DIMS}" in w
               for w in warnings)
