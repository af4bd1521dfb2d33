"""Tests for core.experiments.intrinsic_dim: known manifolds, a brute-force reference, duplicates, errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.experiments.intrinsic_dim import knn_distances, levina_bickel, levina_bickel_range


def _embed(z: np.ndarray, dim: int, rng: np.random.Generator) -> np.ndarray:
    """z [N, m] placed isometrically in R^dim by a random orthonormal frame."""
    q, _ = np.linalg.qr(rng.standard_normal((dim, z.shape[1])))
    return z @ q.T


def _brute_force_lb(x: np.ndarray, k: int, mackay_ghahramani: bool) -> float:
    """Levina & Bickel eq. 8 straight from the full distance matrix."""
    dist = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    t = np.sort(dist, axis=1)[:, :k]
    inv = np.array([np.mean(np.log(row[k - 1] / row[: k - 1])) for row in t])
    return float(1.0 / inv.mean()) if mackay_ghahramani else float(np.mean(1.0 / inv))


@pytest.fixture(scope="module")
def gaussian_5_in_50() -> np.ndarray:
    rng = np.random.default_rng(0)
    return _embed(rng.standard_normal((2000, 5)), 50, rng)


@pytest.mark.parametrize("scale", [1.0, 1e-4])  # 1e-4: close neighbours, the float64 path
def test_knn_distances_match_brute_force(scale):
    rng = np.random.default_rng(1)
    x = scale * rng.standard_normal((150, 12)) + 3.0
    dist = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    expected = np.sort(dist, axis=1)[:, :9]
    got = knn_distances(x, 9, chunk_size=7)  # chunks that do not divide N
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("mackay_ghahramani", [True, False])
def test_estimate_matches_the_formula(mackay_ghahramani):
    rng = np.random.default_rng(2)
    x = _embed(rng.uniform(size=(300, 3)), 8, rng)
    got = levina_bickel(x, k=10, mackay_ghahramani=mackay_ghahramani)
    assert got == pytest.approx(_brute_force_lb(x, 10, mackay_ghahramani), rel=1e-6)


@pytest.mark.parametrize("k", [10, 20])
def test_linear_5d_gaussian_in_50d(gaussian_5_in_50, k):
    assert levina_bickel(gaussian_5_in_50, k=k) == pytest.approx(5.0, rel=0.15)


def test_range_of_k_on_the_gaussian(gaussian_5_in_50):
    assert levina_bickel_range(gaussian_5_in_50, 10, 20) == pytest.approx(5.0, rel=0.15)


def test_circle_in_3d_is_one_dimensional():
    rng = np.random.default_rng(3)
    angle = rng.uniform(0.0, 2 * np.pi, 1500)
    x = _embed(np.c_[np.cos(angle), np.sin(angle)], 3, rng)
    assert levina_bickel(x, k=10) == pytest.approx(1.0, abs=0.15)


def test_swiss_roll_is_two_dimensional():
    rng = np.random.default_rng(4)
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=2000))
    x = np.c_[t * np.cos(t), 21 * rng.uniform(size=2000), t * np.sin(t)]
    assert levina_bickel(x, k=10) == pytest.approx(2.0, abs=0.2)


def test_uniform_10d_cube_reads_about_10_biased_down():
    rng = np.random.default_rng(5)
    est = levina_bickel(rng.uniform(size=(2000, 10)), k=20)
    assert 7.5 < est < 10.5


def test_more_dimensions_read_higher():
    rng = np.random.default_rng(6)
    ests = [levina_bickel(_embed(rng.standard_normal((1500, m)), 30, rng), k=15) for m in (2, 4, 8)]
    assert ests[0] < ests[1] < ests[2]


def test_mackay_ghahramani_is_at_most_the_plain_average(gaussian_5_in_50):
    # Jensen: 1 / mean(u) <= mean(1 / u) for positive u.
    assert levina_bickel(gaussian_5_in_50, mackay_ghahramani=True) <= levina_bickel(
        gaussian_5_in_50, mackay_ghahramani=False
    )


def test_invariant_to_shift_and_scale(gaussian_5_in_50):
    base = levina_bickel(gaussian_5_in_50)
    assert levina_bickel(1e3 * gaussian_5_in_50 + 7.0) == pytest.approx(base, rel=1e-4)


def test_duplicates_are_dropped_not_nan(gaussian_5_in_50):
    x = gaussian_5_in_50[:500]
    heavy = np.vstack([x, x[:100], np.repeat(x[:1], 60, axis=0)])  # one point 61 times
    est = levina_bickel(heavy, k=20)
    assert np.isfinite(est)
    assert est == pytest.approx(levina_bickel(x, k=20), rel=1e-6)
    assert np.isfinite(levina_bickel_range(heavy, 5, 20))


def test_signed_zeros_count_as_duplicates():
    rng = np.random.default_rng(7)
    x = np.vstack([np.zeros((1, 3)), -np.zeros((1, 3)), rng.standard_normal((50, 3))])
    assert np.isfinite(levina_bickel(x, k=5))


def test_returns_a_python_float(gaussian_5_in_50):
    assert type(levina_bickel(gaussian_5_in_50[:200], k=5)) is float


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (np.ones(10), {}, "must be 2-D"),
        (np.ones((3, 4, 5)), {}, "must be 2-D"),
        (np.ones((10, 0)), {}, "no features"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]] * 20), {"k": 3}, "NaN or inf"),
        (np.array([[0.0, 1.0], [np.inf, 2.0]] * 20), {"k": 3}, "NaN or inf"),
        (np.random.default_rng(0).random((30, 4)), {"k": 1}, "k must be >= 2"),
        (np.random.default_rng(0).random((30, 4)), {"k": 2.5}, "k must be an integer"),
        (np.random.default_rng(0).random((20, 4)), {"k": 20}, "more than k = 20 distinct points"),
        (np.ones((100, 4)), {"k": 5}, "distinct points, got 1"),
        ("not an array", {}, "numeric array"),
    ],
)
def test_bad_inputs_raise_with_the_fix(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        levina_bickel(x, **kwargs)


def test_bad_k_range_raises():
    x = np.random.default_rng(0).random((50, 3))
    with pytest.raises(ValueError, match="k1 must be <= k2"):
        levina_bickel_range(x, 20, 10)
    with pytest.raises(ValueError, match="k1 must be >= 2"):
        levina_bickel_range(x, 1, 10)


def test_knn_distances_validates_k_and_chunk():
    x = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, N - 1\]"):
        knn_distances(x, 10)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        knn_distances(x, 3, chunk_size=0)
