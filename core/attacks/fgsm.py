"""FGSM: the Fast Gradient Sign Method (Goodfellow, Shlens and Szegedy 2015, arXiv:1412.6572).

    x_adv = clip(x + eps * sign(grad_x L(x, y)), 0, 1),  L the cross-entropy.

FGSM's direction does not depend on eps, so one backward pass per image serves every eps: the
sweep computes one gradient per batch, and the app's slider answers each move with one forward
pass from a prepared gradient (`prepare`, then `outcome`).

Distance: Linf. Arguments: classifier, any `Classifier`; x, images [N, 784] or [N, 28, 28] in
[0, 1]; y, labels [N] (true labels, or the model's own predictions for unlabelled inputs); eps, the
budget in [0, 1]. Returns: adversarial images [N, 784] float32 in [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from core.attacks.base import (
    DEFAULT_BATCH,
    Attack,
    Prediction,
    Prepared,
    SweepResult,
    batches,
    scaled_outcome,
    scaled_step,
    score,
)
from core.runtimes.classifier import Classifier, as_image_batch, as_labels, check_eps, check_eps_list


def signed_steps(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps: float, batch_size: int,
                 direction: float) -> np.ndarray:
    """One signed-gradient step per image, up (direction 1) or down (-1) the cross-entropy of y."""
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    eps = check_eps(eps)
    out = np.empty_like(x)
    for sl in batches(x.shape[0], batch_size):
        out[sl] = scaled_step(x[sl], np.sign(direction * classifier.loss_and_grad(x[sl], y[sl]).grad), eps)
    return out


def fgsm(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps: float,
         batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """FGSM at budget eps: x + eps * sign(grad_x L(x, y)), clipped to [0, 1]. Shapes as the module's."""
    return signed_steps(classifier, x, y, eps, batch_size, direction=1.0)


def fgsm_sweep(classifier: Classifier, x: np.ndarray, y: np.ndarray, eps_list: Sequence[float],
               batch_size: int = DEFAULT_BATCH) -> list[SweepResult]:
    """Accuracy and loss under FGSM at each eps; the gradient is computed once per batch.

    Since FGSM's direction sign(grad_x L(x, y)) does not depend on eps, one backward pass per
    batch serves every eps, and only the forward pass is repeated.
    """
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    eps_values = check_eps_list(eps_list)
    correct = np.zeros(len(eps_values), dtype=np.int64)
    loss = np.zeros(len(eps_values))
    for sl in batches(x.shape[0], batch_size):
        field = np.sign(classifier.loss_and_grad(x[sl], y[sl]).grad)
        for i, eps in enumerate(eps_values):
            c, l = score(classifier, scaled_step(x[sl], field, eps), y[sl])
            correct[i] += c
            loss[i] += l
    n = x.shape[0]
    return [SweepResult(e, c / n, l / n, 0.0, n) for e, c, l in zip(eps_values, correct, loss)]


def prepare(classifier: Classifier, x: np.ndarray, labels: np.ndarray | None = None, *,
            target: int | None = None, seed: int = 0) -> Prepared:
    """One forward and backward pass: the direction FGSM steps along, for every eps to come.

    labels: true labels [N]; None attacks the model's own clean prediction (for a drawing, which
    has no label), as `core.attacks.flip.min_flip_eps` does. target and seed are not used.
    """
    x = as_image_batch(x)
    if labels is None:
        labels = np.argmax(classifier.predict_proba(x), axis=1)
    else:
        labels = as_labels(labels, x.shape[0])
    probs, _, grad = classifier.loss_and_grad(x, labels)
    return Prepared(x=x, labels=labels, clean=Prediction(probs), field=np.sign(grad))


def eps_at_l2(prepared: Prepared, size: float, tol: float = 1e-6) -> float:
    """The FGSM eps whose change, after clipping to [0, 1], has L2 norm `size` (one image).

    How a perturbation of another kind (white noise of a given std) compares with FGSM at equal
    measured size: an L-inf eps and a noise std are not comparable, the L2 norm of the change
    actually applied is. The clipped change grows monotonically with eps, so bisection finds it.

    prepared: FGSM's `Prepared` of one image (its sign field); size: the L2 norm to match, >= 0.
    Returns eps in [0, 1]; 1.0 if even eps = 1 changes the image by less than `size`.
    """
    x, field = prepared.x[:1], prepared.field[:1]

    def l2(eps: float) -> float:
        return float(np.linalg.norm(scaled_step(x, field, eps)[0] - x[0]))

    if size <= 0:
        return 0.0
    if l2(1.0) <= size:
        return 1.0
    low, high = 0.0, 1.0
    while high - low > tol:
        mid = 0.5 * (low + high)
        low, high = (mid, high) if l2(mid) < size else (low, mid)
    return high


FGSM = Attack(name="FGSM", budget="eps", perturb=fgsm, prepare=prepare, outcome=scaled_outcome,
              sweep=fgsm_sweep)
