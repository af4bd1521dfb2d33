"""Targeted FGSM: one signed step *down* the loss of a chosen class (Kurakin, Goodfellow and Bengio
2017, arXiv:1611.01236, "one-step target class method").

    x_adv = clip(x - eps * sign(grad_x L(x, target)), 0, 1)

Lowering the cross-entropy of the target class raises that class's probability ("make it a 3"),
where untargeted FGSM raises the loss of the true class. Success is the model saying the target.

Distance: Linf. Arguments as `core.attacks.fgsm`, with target [N] (or one class for every image)
the classes 0..9 to push each image towards. Returns: adversarial images [N, 784] float32 in [0, 1].
"""

from __future__ import annotations

import numpy as np

from core.attacks.base import DEFAULT_BATCH, Attack, Prediction, Prepared, scaled_outcome
from core.attacks.fgsm import signed_steps
from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch, as_labels


def fgsm_targeted(classifier: Classifier, x: np.ndarray, target: np.ndarray, eps: float,
                  batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """Targeted FGSM at budget eps towards classes `target` [N]. Shapes as the module's."""
    return signed_steps(classifier, x, target, eps, batch_size, direction=-1.0)


def _targets(target: int | np.ndarray | None, n: int) -> np.ndarray:
    if target is None:
        raise InputError("targeted FGSM needs a target class (0..9)")
    return as_labels(np.full(n, target) if np.ndim(target) == 0 else target, n)


def prepare(classifier: Classifier, x: np.ndarray, labels: np.ndarray | None = None, *,
            target: int | np.ndarray | None = None, seed: int = 0) -> Prepared:
    """One forward and backward pass towards class `target` (one class for every image, or [N]).

    labels and seed are not used: the attack lowers the loss of the target, whatever the truth.
    """
    x = as_image_batch(x)
    targets = _targets(target, x.shape[0])
    probs, _, grad = classifier.loss_and_grad(x, targets)
    return Prepared(x=x, labels=targets, clean=Prediction(probs), field=-np.sign(grad))


TARGETED_FGSM = Attack(name="Targeted FGSM", budget="eps", perturb=fgsm_targeted, prepare=prepare,
                       outcome=scaled_outcome, options=("target",))
