"""core.live_attack: the slider's FGSM (one gradient, any eps) agrees with core.attacks."""

from __future__ import annotations

import numpy as np
import pytest

from core.attacks import fgsm, gaussian_noise, min_flip_eps
from core.live_attack import (
    FLIP_GRID, fgsm_outcome, noise_outcome, predict, prepare_fgsm, smallest_flip_eps,
)
from core.torch_runtime import TorchClassifier


@pytest.fixture(scope="module")
def clf(tiny_model):
    return TorchClassifier(tiny_model, name="tiny")


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, _, x_test, y_test = mnist_small
    return x_test[:40], y_test[:40]


@pytest.mark.parametrize("eps", [0.0, 0.03, 0.1, 0.25])
def test_prepared_fgsm_equals_fgsm(clf, batch, eps):
    x, y = batch
    start = prepare_fgsm(clf, x, y)
    out = fgsm_outcome(clf, start, eps)
    np.testing.assert_array_equal(out.x, fgsm(clf, x, y, eps))
    assert np.abs(out.delta).max() <= eps + 1e-6
    np.testing.assert_allclose(out.max_change, np.abs(out.x - x).max(axis=1), atol=1e-6)
    assert out.x.min() >= 0 and out.x.max() <= 1
    np.testing.assert_allclose(out.prediction.probs, clf.predict_proba(out.x), atol=1e-6)


def test_without_labels_fgsm_attacks_the_models_own_prediction(clf, batch):
    x, _ = batch
    start = prepare_fgsm(clf, x)
    np.testing.assert_array_equal(start.target, predict(clf, x).label)
    np.testing.assert_array_equal(fgsm_outcome(clf, start, 0.1).x, fgsm(clf, x, start.target, 0.1))


def test_the_attack_lowers_confidence_in_the_attacked_class(clf, batch):
    x, y = batch
    start = prepare_fgsm(clf, x, y)
    p0 = start.clean.probs[np.arange(len(y)), y]
    p1 = fgsm_outcome(clf, start, 0.05).prediction.probs[np.arange(len(y)), y]
    assert np.mean(p1 < p0) > 0.9


def test_noise_outcome_is_gaussian_noise_and_shared_across_models(clf, batch):
    x, _ = batch
    out = noise_outcome(clf, x, 0.2, seed=3)
    np.testing.assert_array_equal(out.x, gaussian_noise(x, 0.2, seed=3))
    np.testing.assert_allclose(out.delta, out.x - x)
    assert not np.array_equal(out.x, noise_outcome(clf, x, 0.2, seed=4).x)


def test_smallest_flip_eps_matches_the_sequential_scan(clf, batch):
    x, _ = batch
    fast = smallest_flip_eps(clf, x[:15])
    np.testing.assert_array_equal(fast, min_flip_eps(clf, x[:15], FLIP_GRID))
    assert np.isfinite(fast).any()


def test_flip_grid_is_the_training_grid():
    assert FLIP_GRID[0] == 0.0 and FLIP_GRID[-1] == pytest.approx(0.3) and len(FLIP_GRID) == 121
    assert np.allclose(np.diff(FLIP_GRID), 0.0025)
