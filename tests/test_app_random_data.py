"""The random-data page under AppTest, on synthetic sweeps written in the shipped format: the sweep
charts with their fits, a reading computed from the data, URL-driven controls, the reset, the live
mini-experiment, and a clear error (with a working page) when the sweep is missing or corrupt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import core.pretrained as pretrained
from core.files import sha256_file
from core.random_data_results import METADATA_FILE, ROWS_FILE, rows_to_csv
from core.specs import get_width_rule

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "random_data.py")
D_GRID = (10, 40, 90, 160, 250)


def write_sweep(root: Path, grad, memorized=lambda d, rule, seed: True) -> Path:
    """A sweep in the shipped format under root/random_data: grad(d, rule, seed) -> grad_max."""
    n, rows = 200, []
    for d in D_GRID:
        for rule in ("f_nd", "f_n"):
            for seed in (0, 1):
                k = get_width_rule(rule)(n, d)
                rows.append({"d": d, "rule": rule, "seed": seed, "n": n, "k": k,
                             "p": get_width_rule(rule).param_count(n, d), "steps": 100 + d,
                             "train_mse": 0.05, "memorized": memorized(d, rule, seed),
                             "grad_max": float(grad(d, rule, seed)),
                             "grad_mean": float(grad(d, rule, seed)) / 2,
                             "wall_s": 1.0, "stack_size": 2, "gflop": 0.1, "device": "cpu: test"})
    folder = root / pretrained.RANDOM_DATA_SUBDIR
    folder.mkdir(parents=True)
    (folder / ROWS_FILE).write_text(rows_to_csv(rows))
    meta = {"n": n, "d_grid": list(D_GRID), "seeds": [0, 1], "devices": ["cpu: test"],
            "settings": {"lr": 0.001, "max_steps": 20000, "probe_points": 1000}, "wall_time_s": 12.0,
            "created": "2026-01-01T00:00:00+00:00", "command": "python -m training.random_data --test",
            "sha256": {ROWS_FILE: sha256_file(folder / ROWS_FILE)}}
    (folder / METADATA_FILE).write_text(json.dumps(meta))
    return folder


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
    write_sweep(tmp_path, law_like,
                memorized=lambda d, rule, seed: not (d == 250 and rule == "f_n" and seed == 1))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    return tmp_path


def test_sweep_is_plotted_against_sqrt_d_and_d_with_fits(law_sweep):
    at = run_page()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    for chart, x in zip(charts, ("√d", "d")):
        frames = chart_frames(chart)
        runs = next(f for f in frames if "grad_max" in f.columns)
        fits = next(f for f in frames if "fit" in f.columns)
        assert len(runs) == len(D_GRID) * 2 * 2
        assert set(runs["width rule"]) == {get_width_rule("f_n").label, get_width_rule("f_nd").label}
        assert (runs["run"] != "memorized").sum() == 1  # the one failed run is drawn, marked
        assert x in json.loads(chart.proto.spec)["layer"][0]["encoding"]["x"]["field"]
        flat = fits[fits["width rule"] == get_width_rule("f_nd").label]["fit"]
        assert np.allclose(flat, 3.005, atol=1e-6)
    grid_text = " ".join(m.value for m in at.markdown)
    assert "d ∈ {10, 40, 90, 160, 250}" in grid_text and "20 runs" in grid_text


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
    write_sweep(tmp_path, lambda d, rule, seed: 1.0 + (0.5 if rule == "f_nd" else 0.3) * np.sqrt(d))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "do not show the separation the paper predicts" in text
    assert "As the paper predicts" not in text


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_sweep_shows_the_fix_and_the_page_still_works(tmp_path, monkeypatch, damage):
    if damage == "corrupt":
        folder = write_sweep(tmp_path, law_like)
        (folder / ROWS_FILE).write_text("d,rule\n1,2\n")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "python -m training.random_data" in errors[0], errors
    assert not at.get("vega_lite_chart")
    assert at.button(key="random_run") is not None  # the live experiment is still there


def test_query_params_drive_the_controls_and_reset_restores_them(law_sweep):
    at = run_page({"random_live_n": "150", "random_live_dims": ["10", "40"], "random_live_seeds": "2"})
    assert not at.exception
    assert at.slider(key="random_live_n").value == 150
    assert at.slider(key="random_live_seeds").value == 2
    assert at.get("button_group")[0].value == [10, 40]
    at.button(key="random__reset").click().run()
    assert at.slider(key="random_live_n").value == 300
    assert at.slider(key="random_live_seeds").value == 1
    assert at.get("button_group")[0].value == [20, 80, 320]


def test_invalid_query_params_fall_back(law_sweep):
    at = run_page({"random_live_n": "9999", "random_live_seeds": "x", "random_live_dims": ["7"]})
    assert not at.exception, at.exception
    assert at.slider(key="random_live_n").value == 300
    assert at.slider(key="random_live_seeds").value == 1


def test_live_mini_experiment_runs_from_the_page(law_sweep):
    at = run_page({"random_live_n": "100", "random_live_dims": ["10", "40"]})
    at.button(key="random_run").click().run()
    assert not at.exception, at.exception
    live = at.session_state["random_live_rows"]
    rows = live["rows"]
    assert {(r["d"], r["rule"]) for r in rows} == {(10, "f_n"), (10, "f_nd"), (40, "f_n"), (40, "f_nd")}
    assert all(r["n"] == 100 and r["grad_max"] > 0 for r in rows)
    assert len(at.get("vega_lite_chart")) == 4  # shipped: 2, live: 2
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
