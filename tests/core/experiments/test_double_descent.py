"""Tests for core.experiments.double_descent: the peak at p = n, interpolation past it, a pinv reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.experiments.double_descent import (
    DoubleDescentCurve,
    _errors_along_path,
    default_ratios,
    double_descent_curve,
    peak_ratio,
)


def _error_at(curve: DoubleDescentCurve, ratio: float) -> float:
    return float(curve.test_error[int(np.argmin(np.abs(curve.ratios - ratio)))])


@pytest.fixture(scope="module")
def default_curve() -> DoubleDescentCurve:
    return double_descent_curve()


def test_default_grid_spans_and_brackets_the_threshold():
    r = default_ratios()
    assert r[0] == pytest.approx(0.1) and r[-1] == pytest.approx(10.0)
    assert 1.0 in r
    assert np.all(np.diff(r) > 0)
    assert np.any((r > 0.9) & (r < 1.0)) and np.any((r > 1.0) & (r < 1.1))


@pytest.mark.parametrize("n", [200, 250, 300])
@pytest.mark.parametrize("seed", [0, 1])
def test_peak_sits_at_the_interpolation_threshold(n, seed):
    curve = double_descent_curve(n=n, seed=seed)
    assert peak_ratio(curve) == 1.0
    peak = curve.test_error.max()
    assert peak > 3 * _error_at(curve, 0.5)
    assert peak > 3 * _error_at(curve, 10.0)


def test_test_error_falls_again_past_the_peak(default_curve):
    c = default_curve
    at = [_error_at(c, r) for r in (1.0, 1.05, 1.25)]
    assert at[0] > at[1] > at[2]
    assert c.test_error[c.ratios >= 2.0].max() < at[2]
    # Many features beat the best small model: the "modern" side of the curve.
    assert _error_at(c, 10.0) < c.test_error[c.ratios < 1.0].min()


def test_train_error_is_zero_past_the_threshold_and_not_before(default_curve):
    c = default_curve
    assert np.all(c.train_error[c.ratios >= 1.0] < 1e-10)
    below = c.train_error[c.ratios < 1.0]
    assert np.all(below > 1e-3)
    assert np.all(np.diff(below) < 0)  # nested features: more of them never fit worse


def test_outputs_are_finite_and_shaped(default_curve):
    c = default_curve
    size = default_ratios().size
    for arr in (c.ratios, c.n_features, c.train_error, c.test_error):
        assert arr.shape == (size,)
        assert np.all(np.isfinite(arr))
    assert np.array_equal(c.ratios, c.n_features / c.n)
    assert c.n_features.dtype.kind == "i"
    assert (c.n, c.noise, c.seed) == (200, 0.5, 0)


def test_same_seed_reproduces_and_another_differs():
    a = double_descent_curve(n=60, seed=3, n_trials=2)
    b = double_descent_curve(n=60, seed=3, n_trials=2)
    other = double_descent_curve(n=60, seed=4, n_trials=2)
    assert np.array_equal(a.test_error, b.test_error)
    assert np.array_equal(a.train_error, b.train_error)
    assert not np.array_equal(a.test_error, other.test_error)


def test_custom_ratios_merge_repeats():
    c = double_descent_curve(n=50, ratios=np.array([0.5, 0.501, 1.0, 2.0]), n_trials=1)
    assert np.array_equal(c.n_features, [25, 50, 100])


def test_curve_is_immutable(default_curve):
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_curve.n = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        default_curve.test_error[0] = 0.0


def test_peak_ratio_picks_the_largest_test_error():
    curve = DoubleDescentCurve(
        ratios=np.array([0.5, 1.0, 2.0]),
        n_features=np.array([5, 10, 20]),
        train_error=np.zeros(3),
        test_error=np.array([1.0, 0.5, 3.0]),
        n=10,
        noise=0.1,
        seed=0,
        d=2,
        n_trials=1,
    )
    assert peak_ratio(curve) == 2.0


def test_errors_match_a_pinv_reference():
    rng = np.random.default_rng(0)
    n, big_p, t = 30, 90, 50
    f_train = np.maximum(rng.standard_normal((n, big_p)), 0.0)
    f_test = np.maximum(rng.standard_normal((t, big_p)), 0.0)
    y, y_test = rng.standard_normal(n), rng.standard_normal(t)
    counts = np.array([3, 15, 29, 30, 31, 60, 90])
    train, test = _errors_along_path(f_train, y, f_test, y_test, counts)
    for i, p in enumerate(counts):
        a = np.linalg.pinv(f_train[:, :p]) @ y
        assert train[i] == pytest.approx(np.mean((f_train[:, :p] @ a - y) ** 2), rel=1e-6, abs=1e-12)
        assert test[i] == pytest.approx(np.mean((f_test[:, :p] @ a - y_test) ** 2), rel=1e-6)


def test_singular_features_fall_back_to_lstsq():
    rng = np.random.default_rng(1)
    n = 10
    col = rng.standard_normal((n, 1))
    f_train = np.hstack([col, col, rng.standard_normal((n, 3))])  # two equal columns
    f_test = rng.standard_normal((7, 5))
    f_test[:, 1] = f_test[:, 0]
    y, y_test = rng.standard_normal(n), rng.standard_normal(7)
    train, test = _errors_along_path(f_train, y, f_test, y_test, np.array([2, 5]))
    a = np.linalg.pinv(f_train[:, :2]) @ y
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(test))
    assert test[0] == pytest.approx(np.mean((f_test[:, :2] @ a - y_test) ** 2), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 5}, r"n must be in \[20, 2000\]"),
        ({"n": 5000}, r"n must be in \[20, 2000\]"),
        ({"n": 200.0}, "n must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"noise": -0.1}, "noise must be finite and >= 0"),
        ({"noise": float("nan")}, "noise must be finite and >= 0"),
        ({"noise": "loud"}, "noise must be a number"),
        ({"ratios": np.array([0.5, 0.0])}, "ratios must be finite and > 0"),
        ({"ratios": np.array([-1.0])}, "ratios must be finite and > 0"),
        ({"ratios": np.array([])}, "non-empty 1-D"),
        ({"ratios": np.ones((2, 2))}, "non-empty 1-D"),
        ({"ratios": np.array([200.0])}, "lower the largest ratio"),
        ({"n_trials": 0}, r"n_trials must be in \[1, 50\]"),
        ({"d": 1}, r"d must be in \[2, 1000\]"),
        ({"seed": -1}, "seed must be in"),
    ],
)
def test_bad_inputs_raise_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        double_descent_curve(**kwargs)
