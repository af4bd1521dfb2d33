"""Perturbations of images in [0, 1]: FGSM (untargeted and targeted), PGD-Linf and Gaussian white
noise, and their sweeps.

Everything here is numpy against the `Classifier` interface (`core.runtimes.classifier`), so the same code
attacks a PyTorch model and an ONNX Runtime session. Inputs are batches [N, 784] (or [N, 28, 28])
with pixels in [0, 1]; outputs are new arrays of shape [N, 784], clipped to [0, 1]. Budgets (eps,
std) are in pixel units of [0, 1]: eps = 0.1 moves each pixel by at most 25.5 grey levels.

Sweeps follow foolbox's shape: a list of budgets in, one `SweepResult` per budget out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from core.runtimes.classifier import (
    Classifier,
    as_image_batch,
    as_labels,
    check_eps,
    check_eps_list,
)
from core.errors import InputError

DEFAULT_BATCH = 256


@dataclass(frozen=True)
class SweepResult:
    """The model's accuracy and mean cross-entropy at one budget.

    eps: the budget (L-inf radius, or noise std). accuracy: fraction correct in [0, 1].
    mean_loss: mean cross-entropy. accuracy_std: spread of the accuracy across noise seeds (0 for
    deterministic attacks). n: number of images.
    """

    eps: float
    accuracy: float
    mean_loss: float
    accuracy_std: float = 0.0
    n: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _batches(n: int, batch_size: int):
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def fgsm_step(x: np.ndarray, grad: np.ndarray, eps: float) -> np.ndarray:
    """x + eps * sign(grad), clipped to [0, 1]: one FGSM step from a precomputed gradient.

    Lets a caller compute the gradient once and move eps freely (the app's slider, the sweeps).
    Shapes: x and grad [N, 784] float32.
    """
    eps = check_eps(eps)
    return np.clip(x + np.float32(eps) * np.sign(grad), 0.0, 1.0).astype(np.float32, copy=False)


def fgsm(
    classifier: Classifier, x: np.ndarray, y: np.ndarray, eps: float, batch_size: int = DEFAULT_BATCH
) -> np.ndarray:
    """Fast Gradient Sign Method (Goodfellow, Shlens and Szegedy 2015, arXiv:1412.6572).

    x_adv = clip(x + eps * sign(grad_x L(x, y)), 0, 1) with L the cross-entropy.

    Args:
        classifier: any `Classifier`.
        x: images [N, 784] or [N, 28, 28], pixels in [0, 1].
        y: labels [N] (true labels, or the model's own predictions for unlabelled inputs).
        eps: L-inf budget in [0, 1].
    Returns: adversarial images [N, 784] float32 in [0, 1].
    """
    return _signed_steps(classifier, x, y, eps, batch_size, direction=1.0)


def fgsm_targeted(
    classifier: Classifier, x: np.ndarray, target: np.ndarray, eps: float, batch_size: int = DEFAULT_BATCH
) -> np.ndarray:
    """Targeted FGSM: one signed step *down* the loss of a chosen class (Kurakin, Goodfellow and
    Bengio 2017, arXiv:1611.01236, "one-step target class method").

    x_adv = clip(x - eps * sign(grad_x L(x, target)), 0, 1): lowering the cross-entropy of the
    target class raises that class's probability ("make it a 3"), where untargeted FGSM raises
    the loss of the true class.

    Args: as `fgsm`, with target [N] the classes to push each image towards (0..9).
    Returns: adversarial images [N, 784] float32 in [0, 1].
    """
    return _signed_steps(classifier, x, target, eps, batch_size, direction=-1.0)


def _signed_steps(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps: float, batch_size: int,
                  direction: float) -> np.ndarray:
    """One FGSM step per image, up (direction 1) or down (-1) the cross-entropy of labels y."""
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    eps = check_eps(eps)
    out = np.empty_like(x)
    for sl in _batches(x.shape[0], batch_size):
        out[sl] = fgsm_step(x[sl], direction * classifier.loss_and_grad(x[sl], y[sl]).grad, eps)
    return out


def pgd_linf(
    classifier: Classifier,
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH,
) -> np.ndarray:
    """Projected gradient descent in the L-inf ball (Madry et al. 2018, arXiv:1706.06083).

    From a uniform random start in the eps-ball, `steps` signed-gradient ascent steps of size
    `step_size` (default 2.5 eps / steps), each projected back onto the eps-ball around x and
    onto [0, 1]. The stronger reference for FGSM, which is its one-step special case.

    Args: as `fgsm`, plus steps >= 1, step_size > 0 (pixel units), a seed for the random start.
    Returns: adversarial images [N, 784] float32 with ||x_adv - x||_inf <= eps, in [0, 1].
    """
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    eps = check_eps(eps)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    alpha = 2.5 * eps / steps if step_size is None else float(step_size)
    if not np.isfinite(alpha) or alpha < 0:
        raise InputError(f"step_size must be >= 0, got {step_size!r}")
    if eps == 0:
        return x.copy()
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    lo, hi = np.clip(x - eps, 0, 1), np.clip(x + eps, 0, 1)
    for sl in _batches(x.shape[0], batch_size):
        xb = x[sl]
        if random_start:
            xb = xb + rng.uniform(-eps, eps, size=xb.shape).astype(np.float32)
        xb = np.clip(xb, lo[sl], hi[sl])
        for _ in range(steps):
            grad = classifier.loss_and_grad(xb, y[sl]).grad
            xb = np.clip(xb + np.float32(alpha) * np.sign(grad), lo[sl], hi[sl])
        out[sl] = xb
    return out


def gaussian_noise(x: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """White Gaussian noise of standard deviation `std` added to every pixel, clipped to [0, 1].

    Args: x images [N, 784] or [N, 28, 28] in [0, 1]; std >= 0 in pixel units; seed for the
    noise (the same seed gives the same noise). Returns: [N, 784] float32.
    """
    x = as_image_batch(x)
    std = check_eps(std, name="std")
    noise = np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
    return np.clip(x + np.float32(std) * noise, 0.0, 1.0)


# --- sweeps -------------------------------------------------------------------------------


def _score(classifier: Classifier, x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """Number correct and summed cross-entropy of a batch."""
    probs, loss, _ = classifier.loss_and_grad(x, y)
    return int(np.sum(np.argmax(probs, axis=1) == y)), float(np.sum(loss, dtype=np.float64))


def fgsm_sweep(
    classifier: Classifier,
    x: np.ndarray,
    y: np.ndarray,
    eps_list: Sequence[float],
    batch_size: int = DEFAULT_BATCH,
) -> list[SweepResult]:
    """Accuracy and loss under FGSM at each eps; the gradient is computed once per batch.

    Since FGSM's direction sign(grad_x L(x, y)) does not depend on eps, one backward pass per
    batch serves every eps, and only the forward pass is repeated.
    """
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    eps_values = check_eps_list(eps_list)
    correct = np.zeros(len(eps_values), dtype=np.int64)
    loss = np.zeros(len(eps_values))
    for sl in _batches(x.shape[0], batch_size):
        grad = classifier.loss_and_grad(x[sl], y[sl]).grad
        for i, eps in enumerate(eps_values):
            c, l = _score(classifier, fgsm_step(x[sl], grad, eps), y[sl])
            correct[i] += c
            loss[i] += l
    n = x.shape[0]
    return [SweepResult(e, c / n, l / n, 0.0, n) for e, c, l in zip(eps_values, correct, loss)]


def pgd_sweep(
    classifier: Classifier,
    x: np.ndarray,
    y: np.ndarray,
    eps_list: Sequence[float],
    steps: int = 10,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH,
) -> list[SweepResult]:
    """Accuracy and loss under PGD-Linf (`pgd_linf`, default step size) at each eps."""
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    results = []
    for eps in check_eps_list(eps_list):
        x_adv = pgd_linf(classifier, x, y, eps, steps=steps, seed=seed, batch_size=batch_size)
        results.append(_evaluate(classifier, x_adv, y, eps, batch_size))
    return results


def noise_sweep(
    classifier: Classifier,
    x: np.ndarray,
    y: np.ndarray,
    std_list: Sequence[float],
    seeds: Sequence[int] = (0, 1, 2),
    batch_size: int = DEFAULT_BATCH,
) -> list[SweepResult]:
    """Accuracy and loss under Gaussian white noise at each std, averaged over `seeds`.

    Each seed draws one noise field for the whole set and scales it by every std (common random
    numbers: the curve is smooth in std). accuracy_std is the spread across seeds.
    """
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    stds = check_eps_list(std_list, name="std")
    seeds = list(seeds)
    if not seeds:
        raise InputError("seeds is empty: give at least one noise seed")
    acc = np.zeros((len(seeds), len(stds)))
    loss = np.zeros((len(seeds), len(stds)))
    n = x.shape[0]
    for s, seed in enumerate(seeds):
        noise = np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
        for i, std in enumerate(stds):
            for sl in _batches(n, batch_size):
                xb = np.clip(x[sl] + np.float32(std) * noise[sl], 0.0, 1.0)
                c, l = _score(classifier, xb, y[sl])
                acc[s, i] += c / n
                loss[s, i] += l / n
    return [
        SweepResult(std, float(acc[:, i].mean()), float(loss[:, i].mean()), float(acc[:, i].std()), n)
        for i, std in enumerate(stds)
    ]


def _evaluate(classifier, x_adv, y, eps, batch_size) -> SweepResult:
    correct, total = 0, 0.0
    for sl in _batches(x_adv.shape[0], batch_size):
        c, l = _score(classifier, x_adv[sl], y[sl])
        correct += c
        total += l
    n = x_adv.shape[0]
    return SweepResult(eps, correct / n, total / n, 0.0, n)


def min_flip_eps(
    classifier: Classifier,
    x: np.ndarray,
    eps_grid: Sequence[float],
    batch_size: int = DEFAULT_BATCH,
) -> np.ndarray:
    """For each image, the smallest eps on the grid at which FGSM changes the model's prediction.

    The attack targets the model's own clean prediction (so it is defined for unlabelled inputs and
    for images the model already gets wrong). FGSM's outcome need not be monotone in eps, so the
    grid is scanned in increasing order rather than bisected.

    Returns: [N] float array, np.inf where no eps on the grid flips the prediction.
    """
    x = as_image_batch(x)
    grid = sorted(check_eps_list(eps_grid))
    out = np.full(x.shape[0], np.inf)
    for sl in _batches(x.shape[0], batch_size):
        pred = np.argmax(classifier.predict_proba(x[sl]), axis=1)
        grad = classifier.loss_and_grad(x[sl], pred).grad
        found = out[sl]
        for eps in grid:
            todo = np.isinf(found)
            if not todo.any():
                break
            flipped = np.argmax(classifier.predict_proba(fgsm_step(x[sl][todo], grad[todo], eps)), 1)
            idx = np.flatnonzero(todo)[flipped != pred[todo]]
            found[idx] = eps
        out[sl] = found
    return out
