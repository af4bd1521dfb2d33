"""core.experiments.random_data_live: the page's mini-sweep, validated and small."""

from __future__ import annotations

import pytest

from core.experiments.random_data_live import MiniSweepConfig, run_mini_sweep
from core.specs import get_width_rule


def test_a_tiny_sweep_memorizes_and_reports_every_unit():
    cfg = MiniSweepConfig(n=60, d_values=(8, 30), seeds=(0, 1), probe_points=100)
    calls = []
    rows = run_mini_sweep(cfg, lambda done, total, unit: calls.append((done, total, unit)))
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4] and all(c[1] == 4 for c in calls)
    assert len(rows) == 2 * 2 * 2
    for r in rows:
        assert r["k"] == get_width_rule(r["rule"])(60, r["d"])
        assert r["memorized"] and r["train_mse"] <= 0.1
        assert r["grad_max"] >= r["grad_mean"] > 0
        assert r["grad_max"] <= r["lin_norm"] + r["nonlin_max"] + 1e-4 and r["grad_max_init"] > 0
        assert r["activation"] == "relu" and -1 <= r["lin_ls_cos"] <= 1
    again = run_mini_sweep(cfg)
    assert [r["grad_max"] for r in again] == pytest.approx([r["grad_max"] for r in rows], rel=1e-4)


def test_the_control_trains_live_and_has_almost_no_linear_part():
    cfg = MiniSweepConfig(n=60, d_values=(8, 30), probe_points=200, activation="abs", hidden_bias=False,
                          batchnorm=False)
    rows = run_mini_sweep(cfg)
    assert {r["activation"] for r in rows} == {"abs"}
    relu = run_mini_sweep(MiniSweepConfig(n=60, d_values=(8, 30), probe_points=200))
    # An even network's mean gradient over random points is only sampling noise.
    assert max(r["lin_norm"] / r["grad_max"] for r in rows) < min(r["lin_norm"] / r["grad_max"] for r in relu)


@pytest.mark.parametrize("kwargs,message", [
    ({"n": 10_000}, "n must be in"), ({"d_values": ()}, "distinct dimensions"),
    ({"d_values": (1, 2, 3, 4, 5, 6)}, "distinct dimensions"), ({"d_values": (5000,)}, "dimensions must be"),
    ({"seeds": (0, 1, 2, 3)}, "seeds"), ({"rules": ("f_x",)}, "unknown width rule"),
    ({"activation": "tanh"}, "activation"),
])
def test_sizes_are_capped(kwargs, message):
    with pytest.raises((ValueError, KeyError), match=message):
        MiniSweepConfig(**kwargs)
