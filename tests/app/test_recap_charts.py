"""app/charts/recap.py: the recap's figures as cached Vega-Lite specs, with the right numbers."""

from __future__ import annotations

import numpy as np

from app.charts import recap as charts


def _values(spec: dict) -> list[dict]:
    """Every inline row of a spec (Altair puts them under "datasets")."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def test_the_distance_histogram_counts_every_pair_in_bins():
    spec, frame, closest, floor = charts.distances_chart(784)
    n = charts.GEOMETRY_POINTS
    assert len(frame) == n * (n - 1) // 2  # the CSV keeps every distance
    bars = [r for r in _values(spec) if "pairs" in r]
    assert sum(r["pairs"] for r in bars) == len(frame)  # the chart carries bins, not 19,900 points
    assert len(bars) <= 80 and all(np.isclose(r["to"] - r["distance"], 0.05) for r in bars)
    assert closest == frame["distance"].min() and floor > 0


def test_specs_are_built_once_per_input(monkeypatch):
    spec, data = charts.law_chart(60_000, 784, 3_000_340, 12.5)
    monkeypatch.setattr(charts.alt, "Chart", None)  # building again would fail
    again, again_data = charts.law_chart(60_000, 784, 3_000_340, 12.5)
    assert again == spec and again_data.equals(data)


def test_the_law_chart_takes_n_times_d_beyond_int64():
    spec, data = charts.law_chart(10**12, 10**9, 1000, 784.0)
    assert np.isfinite(data["bound"].astype(float)).all()
    assert max(data["p"]) >= 1e21
