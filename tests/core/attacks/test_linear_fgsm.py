"""core.attacks.linear_fgsm against torch autograd, and the properties of an FGSM step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.attacks.linear_fgsm import (
    attack,
    flip_eps_by_dimension,
    linear_fgsm,
    logistic_loss_grad,
    random_example,
)


@pytest.mark.parametrize("y", [1, -1])
def test_gradient_matches_torch_autograd(rng, y):
    w, x, b = rng.standard_normal(5), rng.standard_normal(5), 0.3
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.softplus(-y * (torch.tensor(w) @ xt + b))
    (grad,) = torch.autograd.grad(loss, xt)
    assert logistic_loss_grad(w, b, x, y) == pytest.approx(grad.numpy())


def test_fgsm_step_properties(rng):
    w, x = rng.standard_normal(10), rng.standard_normal(10)
    for eps in (0.0, 0.01, 0.3):
        x_adv = linear_fgsm(w, 0.1, x, 1, eps)
        assert np.max(np.abs(x_adv - x)) == pytest.approx(eps)
    assert np.array_equal(linear_fgsm(w, 0.1, x, 1, 0.0), x)


@pytest.mark.parametrize("d", [1, 2, 50, 784])
def test_score_moves_by_exactly_eps_times_l1(d):
    ex = random_example(d, eps=0.02, margin=1.0, seed=3)
    assert ex.score == pytest.approx(1.0)
    assert ex.shift == pytest.approx(-0.02 * np.abs(ex.w).sum())
    assert np.linalg.norm(ex.w) == pytest.approx(1.0)


def test_flip_eps_is_the_boundary():
    ex = random_example(100, eps=0.0, seed=1)
    assert not attack(ex.w, 0.0, ex.x, 1, ex.flip_eps * 0.999).flipped
    assert attack(ex.w, 0.0, ex.x, 1, ex.flip_eps * 1.001).flipped


def test_flip_eps_falls_like_one_over_sqrt_d():
    dims = np.array([4, 16, 64, 256, 1024])
    flip = flip_eps_by_dimension(dims, seed=0)
    assert np.all(np.diff(flip) < 0)
    assert flip * np.sqrt(dims) == pytest.approx(np.sqrt(np.pi / 2) * np.ones(5), rel=0.25)


@pytest.mark.parametrize("kwargs", [{"y": 0}, {"eps": -0.1}, {"eps": float("nan")}, {"y": True}])
def test_bad_inputs_raise(kwargs):
    args = {"w": np.ones(3), "b": 0.0, "x": np.zeros(3), "y": 1, "eps": 0.1} | kwargs
    with pytest.raises(ValueError):
        linear_fgsm(**args)
