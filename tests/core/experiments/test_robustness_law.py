"""core.experiments.robustness_law: the bound sqrt(nd/p), the scale examples, and the data's Lipschitz floor."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from core.data import random_gaussian_data
from core.experiments import robustness_law as law
from core.specs import MNIST_MODELS


def test_bound_matches_the_formula_and_its_landmarks():
    assert law.law_lower_bound(60_000, 784, 3_000_340) == pytest.approx(math.sqrt(47_040_000 / 3_000_340))
    assert law.law_lower_bound(60_000, 784, 3_000_340) == pytest.approx(3.9596, abs=1e-4)
    assert law.law_lower_bound(1000, 50, 1000) == pytest.approx(math.sqrt(50))  # p = n: sqrt(d)
    assert law.law_lower_bound(1000, 50, 50_000) == pytest.approx(1.0)  # p = n d: 1


def test_curve_falls_like_one_over_sqrt_p_and_inverts():
    p = np.geomspace(1e3, 1e9, 13)
    b = law.law_curve(60_000, 784, p)
    assert np.all(np.diff(b) < 0)
    assert b[:-4] / b[4:] == pytest.approx(np.full(9, 10.0))  # 100x the parameters: a tenth
    for lip in (0.5, 1.0, 4.0):
        p = law.parameters_for_lipschitz(60_000, 784, lip)
        assert law.law_lower_bound(60_000, 784, p) == pytest.approx(lip)


def test_scales_are_the_cited_numbers():
    mnist = law.MNIST_SCALE
    assert (mnist.n, mnist.d, mnist.memorize_smoothly) == (60_000, 784, 47_040_000)
    assert (law.IMAGENET_SCALE.n, law.IMAGENET_SCALE.d) == (1_281_167, 150_528)
    assert law.GPT3.params == 175 * 10**9
    # The point of the gauge: the MNIST models lie between n and n d.
    for spec in MNIST_MODELS.values():
        assert law.MNIST_SCALE.memorize < spec.param_count < law.MNIST_SCALE.memorize_smoothly


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "a", None, True])
def test_bad_inputs_raise_with_the_fix(bad):
    with pytest.raises(ValueError, match="positive"):
        law.law_lower_bound(bad, 784, 10)
    with pytest.raises(ValueError, match="positive"):
        law.law_lower_bound(10, 784, bad)


@pytest.mark.parametrize("p", [[], [1.0, 0.0], [[1.0]], [1.0, float("nan")]])
def test_bad_parameter_grids_raise(p):
    with pytest.raises(ValueError, match="positive"):
        law.law_curve(10, 10, np.array(p))


def test_pairwise_distances_match_a_loop(rng):
    x = rng.standard_normal((7, 3))
    expected = [np.linalg.norm(x[i] - x[j]) for i, j in itertools.combinations(range(7), 2)]
    assert law.pairwise_distances(x) == pytest.approx(expected)


def test_lipschitz_floor_is_the_steepest_pair(rng):
    x = rng.standard_normal((6, 2))
    y = rng.choice([-1.0, 1.0], size=6)
    expected = max(abs(y[i] - y[j]) / np.linalg.norm(x[i] - x[j])
                   for i, j in itertools.combinations(range(6), 2))
    assert law.interpolation_lipschitz_floor(x, y) == pytest.approx(expected)
    with pytest.raises(ValueError, match="duplicate"):
        law.interpolation_lipschitz_floor(np.vstack([x, x[:1]]), np.append(y, 1.0))


def test_random_points_in_high_dimension_are_all_about_sqrt2_apart():
    x, y = random_gaussian_data(200, 784, seed=0)
    dist = law.pairwise_distances(x)
    assert np.median(dist) == pytest.approx(math.sqrt(2), rel=0.02)
    assert dist.min() > 1.2
    assert law.interpolation_lipschitz_floor(x, y) < 2 / 1.2  # the data force only an O(1) slope
    x2, y2 = random_gaussian_data(200, 2, seed=0)
    assert law.interpolation_lipschitz_floor(x2, y2) > 5  # in the plane, points crowd


def test_the_law_is_written_as_theorem_3_states_it():
    # Bubeck and Sellke 2021, Theorem 3: proportional to eps (no sigma), with the isoperimetry
    # constant c, the log factor on the weights' size and the confidence term.
    for piece in (r"\frac{\varepsilon}{2^9\sqrt c}", r"n\,d", r"p \log(60\,W J / \varepsilon)",
                  r"\log(4/\delta)", r"\ge"):
        assert piece in law.LAW_LATEX, piece
    assert r"\sigma" not in law.LAW_LATEX
