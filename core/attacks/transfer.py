"""Transfer: FGSM computed on one model (the source), shown to another (Szegedy et al. 2014,
arXiv:1312.6199; Papernot, McDaniel and Goodfellow 2016, arXiv:1605.07277).

    x_adv = clip(x + eps * sign(grad_x L_source(x, y)), 0, 1),  answered by the target model

An attack that transfers fools a model it never looked at: an attacker need not see the model it
attacks. Prepared on the source model (`Attack.on_other_model`), answered by any other with one
forward pass.

Distance: Linf. Arguments: source, the `Classifier` whose gradient is used; x, y, eps as
`core.attacks.fgsm`. Returns: adversarial images [N, 784] float32 in [0, 1].
"""

from __future__ import annotations

import numpy as np

import core.attacks.fgsm as _fgsm
from core.attacks.base import DEFAULT_BATCH, Attack, scaled_outcome
from core.runtimes.classifier import Classifier


def transfer(source: Classifier, x: np.ndarray, y: np.ndarray, eps: float,
             batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """The source model's FGSM images at budget eps, for another model to answer."""
    return _fgsm.fgsm(source, x, y, eps, batch_size)


TRANSFER = Attack(name="Transfer", budget="eps", perturb=transfer, prepare=_fgsm.prepare, outcome=scaled_outcome,
                  on_other_model=True)
