"""The prepared form of each attack (the sliders': `prepare` once, `outcome` per budget) agrees with its
batch form, for FGSM, targeted FGSM, transfer, PGD and white noise; the flip search agrees with its scan."""

from __future__ import annotations

import numpy as np
import pytest

from core.attacks.base import predict
from core.attacks.fgsm import FGSM, fgsm
from core.attacks.flip import FLIP_GRID, min_flip_eps, smallest_flip_eps
from core.attacks.noise import NOISE, gaussian_noise
from core.attacks.pgd import PGD, PGD_STEPS, pgd_linf
from core.attacks.targeted_fgsm import TARGETED_FGSM, fgsm_targeted
from core.attacks.transfer import TRANSFER


@pytest.mark.parametrize("eps", [0.0, 0.03, 0.1, 0.25])
def test_prepared_fgsm_equals_fgsm(clf, batch, eps):
    x, y = batch
    start = FGSM.prepare(clf, x, y)
    out = FGSM.outcome(clf, start, eps)
    np.testing.assert_array_equal(out.x, fgsm(clf, x, y, eps))
    assert np.abs(out.delta).max() <= eps + 1e-6
    np.testing.assert_allclose(out.max_change, np.abs(out.x - x).max(axis=1), atol=1e-6)
    assert out.x.min() >= 0 and out.x.max() <= 1
    np.testing.assert_allclose(out.prediction.probs, clf.predict_proba(out.x), atol=1e-6)


def test_without_labels_fgsm_attacks_the_models_own_prediction(clf, batch):
    x, _ = batch
    start = FGSM.prepare(clf, x)
    np.testing.assert_array_equal(start.labels, predict(clf, x).label)
    np.testing.assert_array_equal(FGSM.outcome(clf, start, 0.1).x, fgsm(clf, x, start.labels, 0.1))


def test_the_attack_lowers_confidence_in_the_attacked_class(clf, batch):
    x, y = batch
    start = FGSM.prepare(clf, x, y)
    p0 = start.clean.probs[np.arange(len(y)), y]
    p1 = FGSM.outcome(clf, start, 0.05).prediction.probs[np.arange(len(y)), y]
    assert np.mean(p1 < p0) > 0.9


def test_noise_outcome_is_gaussian_noise_and_shared_across_models(clf, batch):
    x, _ = batch
    out = NOISE.outcome(clf, NOISE.prepare(clf, x, seed=3), 0.2)
    np.testing.assert_array_equal(out.x, gaussian_noise(x, 0.2, seed=3))
    np.testing.assert_allclose(out.delta, out.x - x)
    assert not np.array_equal(out.x, NOISE.outcome(clf, NOISE.prepare(clf, x, seed=4), 0.2).x)


def test_smallest_flip_eps_matches_the_sequential_scan(clf, batch):
    x, _ = batch
    fast = smallest_flip_eps(clf, x[:15])
    np.testing.assert_array_equal(fast, min_flip_eps(clf, x[:15], FLIP_GRID))
    assert np.isfinite(fast).any()


def test_flip_grid_is_the_training_grid():
    assert FLIP_GRID[0] == 0.0 and FLIP_GRID[-1] == pytest.approx(0.3) and len(FLIP_GRID) == 121
    assert np.allclose(np.diff(FLIP_GRID), 0.0025)


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2])
def test_prepared_targeted_fgsm_equals_targeted_fgsm(clf, batch, eps):
    x, y = batch
    start = TARGETED_FGSM.prepare(clf, x, target=3)
    assert (start.labels == 3).all()
    np.testing.assert_array_equal(start.field, -np.sign(clf.loss_and_grad(x, start.labels).grad))
    out = TARGETED_FGSM.outcome(clf, start, eps)
    np.testing.assert_array_equal(out.x, fgsm_targeted(clf, x, np.full(len(y), 3), eps))
    assert np.abs(out.delta).max() <= eps + 1e-6


def test_targeted_fgsm_raises_the_target_and_untargeted_lowers_it(clf, batch):
    x, _ = batch
    p3 = predict(clf, x).probs[:, 3]
    toward = TARGETED_FGSM.outcome(clf, TARGETED_FGSM.prepare(clf, x, target=3), 0.1).prediction.probs[:, 3]
    away = FGSM.outcome(clf, FGSM.prepare(clf, x, np.full(len(x), 3)), 0.1).prediction.probs[:, 3]
    assert np.mean(toward > p3) > 0.9 and np.mean(away < p3 + 1e-6) > 0.9
    targeted = TARGETED_FGSM.outcome(clf, TARGETED_FGSM.prepare(clf, x, target=3), 0.3)
    assert (predict(clf, targeted.x).label == 3).mean() > 0.5


def test_transfer_is_the_other_models_perturbation(clf, tiny_model, batch):
    """A second, differently behaving model: its FGSM image, judged by the first."""
    import torch

    from core.runtimes.torch_runtime import TorchClassifier

    other_model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    torch.manual_seed(1)
    other = TorchClassifier(other_model.eval(), name="other")
    x, y = batch
    source = TRANSFER.prepare(other, x, y)
    out = TRANSFER.outcome(clf, source, 0.1)
    np.testing.assert_array_equal(out.x, fgsm(other, x, y, 0.1))
    np.testing.assert_allclose(out.prediction.probs, clf.predict_proba(out.x), atol=1e-6)
    assert not np.array_equal(out.x, fgsm(clf, x, y, 0.1))


def test_pgd_outcome_is_pgd_and_at_least_as_strong_as_fgsm(clf, batch):
    x, y = batch
    out = PGD.outcome(clf, PGD.prepare(clf, x, y), 0.05)
    np.testing.assert_array_equal(out.x, pgd_linf(clf, x, y, 0.05, steps=PGD_STEPS, seed=0))
    assert np.abs(out.delta).max() <= 0.05 + 1e-6 and out.x.min() >= 0 and out.x.max() <= 1
    again = PGD.outcome(clf, PGD.prepare(clf, x, y), 0.05)
    np.testing.assert_array_equal(out.x, again.x)  # seeded: the same each move
    by_fgsm = FGSM.outcome(clf, FGSM.prepare(clf, x, y), 0.05)
    assert clf.loss_and_grad(out.x, y).loss.mean() > clf.loss_and_grad(by_fgsm.x, y).loss.mean()
    assert (out.prediction.label == y).mean() <= (by_fgsm.prediction.label == y).mean()
    np.testing.assert_array_equal(PGD.outcome(clf, PGD.prepare(clf, x, y), 0.0).x, x)
