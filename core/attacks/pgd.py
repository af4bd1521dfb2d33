"""PGD: projected gradient descent in the Linf ball (Madry et al. 2018, arXiv:1706.06083).

From a uniform random start in the eps-ball, `steps` signed-gradient ascent steps of size
`step_size` (default 2.5 eps / steps), each projected back onto the eps-ball around x and onto
[0, 1]. FGSM is its one-step special case; PGD reads the gradient again after each step, so it
follows the loss where it bends, and is the stronger reference. Its direction changes with eps, so
each budget costs `steps` forward and backward passes (about 1 ms per step for f_nd on one image).

Distance: Linf. Arguments: as `core.attacks.fgsm`, plus steps >= 1, step_size >= 0 (pixel units),
random_start, and a seed for the random start. Returns: adversarial images [N, 784] float32 with
||x_adv - x||_inf <= eps, in [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from core.attacks.base import (
    DEFAULT_BATCH,
    Attack,
    Outcome,
    Prediction,
    Prepared,
    SweepResult,
    batches,
    predict,
    sweep_by_perturbing,
)
from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch, as_labels, check_eps

# The app's PGD: Madry et al.'s recipe at a slider's cost, 10 steps of 2.5 eps / 10 from a seeded
# random start in the eps-ball (the same start on every move of the slider).
PGD_STEPS = 10
PGD_SEED = 0


def pgd_linf(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps: float, steps: int = PGD_STEPS,
             step_size: float | None = None, random_start: bool = True, seed: int = PGD_SEED,
             batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """PGD-Linf at budget eps against labels y. Shapes and arguments as the module's."""
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
    for sl in batches(x.shape[0], batch_size):
        xb = x[sl]
        if random_start:
            xb = xb + rng.uniform(-eps, eps, size=xb.shape).astype(np.float32)
        xb = np.clip(xb, lo[sl], hi[sl])
        for _ in range(steps):
            grad = classifier.loss_and_grad(xb, y[sl]).grad
            xb = np.clip(xb + np.float32(alpha) * np.sign(grad), lo[sl], hi[sl])
        out[sl] = xb
    return out


def pgd_sweep(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps_list: Sequence[float],
              steps: int = PGD_STEPS, seed: int = PGD_SEED, batch_size: int = DEFAULT_BATCH) -> list[SweepResult]:
    """Accuracy and loss under PGD-Linf (`pgd_linf`, default step size) at each eps."""
    return sweep_by_perturbing(pgd_linf, classifier, x, y, eps_list, batch_size, steps=steps, seed=seed)


def prepare(classifier: Classifier, x: np.ndarray, labels: np.ndarray | None = None, *,
            target: int | None = None, seed: int = PGD_SEED) -> Prepared:
    """The labels PGD raises the loss of (true labels, or the model's clean prediction when None),
    and the clean answer: one forward pass. PGD's direction depends on eps, so there is no field.

    The seed of the random start is fixed at `PGD_SEED` by `outcome` (target and seed not used).
    """
    x = as_image_batch(x)
    probs = classifier.predict_proba(x)
    labels = np.argmax(probs, axis=1) if labels is None else as_labels(labels, x.shape[0])
    return Prepared(x=x, labels=labels, clean=Prediction(probs), field=None)


def outcome(classifier: Classifier, prepared: Prepared, eps: float) -> Outcome:
    """PGD-Linf at budget eps: `PGD_STEPS` forward and backward passes, then one forward pass."""
    x_adv = pgd_linf(classifier, prepared.x, prepared.labels, eps)
    return Outcome(x=x_adv, delta=x_adv - prepared.x, prediction=predict(classifier, x_adv))


PGD = Attack(name="PGD", budget="eps", perturb=pgd_linf, prepare=prepare, outcome=outcome, sweep=pgd_sweep,
             steps_per_budget=PGD_STEPS)
