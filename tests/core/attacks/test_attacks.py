"""Properties of the attacks (foolbox-style), on a small trained model, for both runtimes."""

import numpy as np
import pytest

from core.attacks.base import scaled_step
from core.attacks.fgsm import fgsm, fgsm_sweep
from core.attacks.flip import min_flip_eps
from core.attacks.noise import gaussian_noise, noise_sweep
from core.attacks.pgd import pgd_linf, pgd_sweep
from core.attacks.targeted_fgsm import fgsm_targeted
from core.errors import InputError
from core.runtimes.classifier import accuracy
from core.runtimes.models import mlp_weights
from core.runtimes.onnx_export import export_mlp_onnx
from core.runtimes.onnx_runtime import OnnxClassifier
from core.runtimes.torch_runtime import TorchClassifier


@pytest.fixture(scope="module", params=["torch", "onnx"])
def clf(request, tiny_model, tmp_path_factory):
    if request.param == "torch":
        return TorchClassifier(tiny_model, name="tiny")
    path = tmp_path_factory.mktemp("attacks") / "tiny.onnx"
    return OnnxClassifier(export_mlp_onnx(mlp_weights(tiny_model), path))


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, _, x, y = mnist_small
    return x[:200], y[:200]


@pytest.mark.parametrize("eps", [0.01, 0.05, 0.1, 0.3])
def test_fgsm_stays_in_the_ball_and_the_box(clf, batch, eps):
    x, y = batch
    x_adv = fgsm(clf, x, y, eps)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.abs(x_adv - x).max() <= eps + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    # Unclipped pixels move by exactly eps (sign of a non-zero gradient).
    moved = np.abs(x_adv - x)
    assert np.isclose(moved.max(), eps, atol=1e-6)


def test_fgsm_with_zero_eps_returns_x(clf, batch):
    x, y = batch
    np.testing.assert_array_equal(fgsm(clf, x, y, 0.0), x)
    np.testing.assert_array_equal(pgd_linf(clf, x, y, 0.0), x)
    np.testing.assert_array_equal(gaussian_noise(x, 0.0), x)


def test_fgsm_does_not_mutate_its_input(clf, batch):
    x, y = batch
    before = x.copy()
    fgsm(clf, x, y, 0.1)
    pgd_linf(clf, x, y, 0.1, steps=2)
    np.testing.assert_array_equal(x, before)


def test_attacks_lower_accuracy_and_pgd_is_stronger(clf, batch):
    x, y = batch
    clean = accuracy(clf.predict_proba(x), y)
    assert clean > 0.8  # a real model, so the comparison means something
    acc_fgsm = accuracy(clf.predict_proba(fgsm(clf, x, y, 0.1)), y)
    acc_pgd = accuracy(clf.predict_proba(pgd_linf(clf, x, y, 0.1, steps=10)), y)
    assert acc_fgsm < clean - 0.2
    assert acc_pgd <= acc_fgsm + 0.01


def test_pgd_stays_in_the_ball(clf, batch):
    x, y = batch
    x_adv = pgd_linf(clf, x, y, 0.05, steps=5, seed=3)
    assert np.abs(x_adv - x).max() <= 0.05 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    np.testing.assert_array_equal(x_adv, pgd_linf(clf, x, y, 0.05, steps=5, seed=3))


def test_targeted_fgsm_moves_toward_the_target(clf, batch):
    x, y = batch
    target = (y + 3) % 10  # never the true class
    rows = np.arange(len(y))
    p0 = clf.predict_proba(x)[rows, target]
    x_adv = fgsm_targeted(clf, x, target, 0.1)
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    p1 = clf.predict_proba(x_adv)[rows, target]
    assert np.mean(p1 > p0) > 0.9  # the target class gains probability
    assert np.mean(np.argmax(clf.predict_proba(x_adv), 1) == target) > 0.1  # and sometimes wins
    # It is the step down the target's loss: the opposite sign of an (untargeted) FGSM on it.
    grad = clf.loss_and_grad(x, target).grad
    np.testing.assert_array_equal(x_adv, scaled_step(x, np.sign(-grad), 0.1))
    np.testing.assert_array_equal(fgsm_targeted(clf, x, target, 0.0), x)


def test_pgd_loss_is_at_least_fgsm_loss(clf, batch):
    """At the same eps, 10 PGD steps find a loss at least as high as FGSM's one step (on average,
    and for nearly every image), with and without the random start."""
    x, y = batch
    loss_fgsm = clf.loss_and_grad(fgsm(clf, x, y, 0.05), y).loss
    for random_start in (False, True):
        x_adv = pgd_linf(clf, x, y, 0.05, steps=10, random_start=random_start, seed=0)
        assert np.abs(x_adv - x).max() <= 0.05 + 1e-6  # projection onto the ball
        assert x_adv.min() >= 0 and x_adv.max() <= 1  # and onto the box
        loss_pgd = clf.loss_and_grad(x_adv, y).loss
        assert loss_pgd.mean() > loss_fgsm.mean()
        assert np.mean(loss_pgd >= loss_fgsm - 1e-4) > 0.9


def test_noise_is_seeded_and_clipped(batch):
    x, _ = batch
    a, b, c = gaussian_noise(x, 0.3, seed=1), gaussian_noise(x, 0.3, seed=1), gaussian_noise(x, 0.3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    # Away from the clip, the noise has the requested std.
    interior = (x > 0.3) & (x < 0.7)
    assert np.std((a - x)[interior]) == pytest.approx(0.3, rel=0.1)


def test_fgsm_sweep_matches_single_attacks(clf, batch):
    x, y = batch
    eps_list = [0.0, 0.05, 0.1]
    results = fgsm_sweep(clf, x, y, eps_list, batch_size=64)
    assert [r.eps for r in results] == eps_list
    for r in results:
        x_adv = fgsm(clf, x, y, r.eps)
        assert r.accuracy == pytest.approx(accuracy(clf.predict_proba(x_adv), y))
        assert r.n == len(x)
    assert results[0].accuracy >= results[1].accuracy >= results[2].accuracy
    assert results[0].mean_loss < results[2].mean_loss


def test_fgsm_sweep_reuses_one_gradient_per_batch(tiny_model, batch):
    x, y = batch

    class Counting(TorchClassifier):
        grads = 0

        def loss_and_grad(self, xb, yb):
            Counting.grads += 1
            return super().loss_and_grad(xb, yb)

    fgsm_sweep(Counting(tiny_model), x, y, np.linspace(0, 0.1, 20), batch_size=100)
    # 2 batches: 1 gradient + 20 evaluations each (evaluation uses the same call for the loss).
    assert Counting.grads == 2 * (1 + 20)


def test_pgd_and_noise_sweeps(clf, batch):
    x, y = batch
    pgd = pgd_sweep(clf, x[:64], y[:64], [0.0, 0.1], steps=3)
    assert pgd[0].accuracy >= pgd[1].accuracy
    noise = noise_sweep(clf, x, y, [0.0, 0.5], seeds=(0, 1))
    assert noise[0].accuracy_std == 0
    assert noise[0].accuracy > noise[1].accuracy


def test_min_flip_eps(clf, batch):
    x, _ = batch
    grid = np.linspace(0, 0.3, 61)
    flips = min_flip_eps(clf, x[:50], grid)
    assert flips.shape == (50,)
    finite = np.isfinite(flips)
    assert finite.mean() > 0.5
    assert (flips[finite] > 0).all()  # eps = 0 never flips
    # The recorded eps does flip the prediction, and the grid point before it does not.
    pred = np.argmax(clf.predict_proba(x[:50]), 1)
    grad = clf.loss_and_grad(x[:50], pred).grad
    for i in np.flatnonzero(finite)[:10]:
        flipped = np.argmax(clf.predict_proba(scaled_step(x[i : i + 1], np.sign(grad[i : i + 1]), flips[i])), 1)
        assert flipped[0] != pred[i]
        before = grid[np.searchsorted(grid, flips[i]) - 1]
        kept = np.argmax(clf.predict_proba(scaled_step(x[i : i + 1], np.sign(grad[i : i + 1]), before)), 1)
        assert kept[0] == pred[i]


@pytest.mark.parametrize("eps,match", [(-0.1, ">= 0"), (float("nan"), ">= 0"), (1.5, "<= 1"), ("a", "number")])
def test_bad_eps_is_refused(clf, batch, eps, match):
    x, y = batch
    with pytest.raises(InputError, match=match):
        fgsm(clf, x[:2], y[:2], eps)
    with pytest.raises(InputError, match=match):
        fgsm_sweep(clf, x[:2], y[:2], [0.0, eps])


def test_bad_sweep_arguments(clf, batch):
    x, y = batch
    with pytest.raises(InputError, match="empty"):
        fgsm_sweep(clf, x[:2], y[:2], [])
    with pytest.raises(InputError, match="seeds is empty"):
        noise_sweep(clf, x[:2], y[:2], [0.1], seeds=())
    with pytest.raises(InputError, match="steps"):
        pgd_linf(clf, x[:2], y[:2], 0.1, steps=0)
    with pytest.raises(InputError, match="batch_size"):
        fgsm(clf, x[:2], y[:2], 0.1, batch_size=0)


def test_eps_at_l2_matches_the_size_of_the_clipped_change(clf, batch):
    """FGSM at the eps found changes the image (after clipping to [0, 1]) by the L2 size asked for:
    against a direct computation of the clipped change, for the size of a noise field's change."""
    from core.attacks.fgsm import FGSM, eps_at_l2

    x, _ = batch
    prepared = FGSM.prepare(clf, x[:1])
    noisy = gaussian_noise(x[:1], 0.3, seed=4)
    size = float(np.linalg.norm(noisy - x[:1]))
    eps = eps_at_l2(prepared, size)
    change = np.clip(x[:1] + eps * prepared.field, 0, 1) - x[:1]
    assert 0 < eps < 0.3  # the noise's std is not the eps of equal size
    assert abs(np.linalg.norm(change) - size) < 1e-3 * size
    assert eps_at_l2(prepared, 0.0) == 0.0
    assert eps_at_l2(prepared, 1e6) == 1.0  # more than any clipped change: the largest eps
