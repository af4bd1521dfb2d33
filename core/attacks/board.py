"""The class board's measures of one drawing: each network's clean answer, and the smallest FGSM and
PGD budgets that change it.

For a worker process that scores students' drawings: one image in, per network name a
`FlipMeasures` out. Budgets are L-inf radii in pixel units of [0, 1] on `core.attacks.flip.FLIP_GRID`
(0..0.3, step 0.0025), the grid of the draw page's slider, so that the draw page at the reported
budget shows the flip. FGSM's is `core.attacks.flip.smallest_flip_eps` (one gradient, the grid in one
forward batch); PGD's is `core.attacks.pgd_flip.smallest_pgd_flip_eps` (the grid as rows of one
batch through the app's 10 PGD steps). Both attack the network's own clean answer (a drawing has no
label).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

from core.attacks.flip import FLIP_GRID, smallest_flip_eps
from core.attacks.pgd_flip import smallest_pgd_flip_eps
from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch
from core.specs import MNIST_INPUT_DIM


@dataclass(frozen=True)
class FlipMeasures:
    """One network's answer to one drawing.

    label: its clean answer, 0..9. confidence: the probability it gives that answer, in (0, 1].
    fgsm_eps, pgd_eps: the smallest budget on `FLIP_GRID` (0..0.3) at which FGSM, and the app's
    PGD, change that answer; inf when none up to 0.3 does.
    """

    label: int
    confidence: float
    fgsm_eps: float
    pgd_eps: float

    def to_dict(self) -> dict:
        """The measures as plain Python numbers (inf stays float('inf'): JSON writers need a choice)."""
        return asdict(self)


def as_one_image(x: np.ndarray) -> np.ndarray:
    """One image, [784], [28, 28], [1, 784] or [1, 28, 28], in [0, 1], as float32 [1, 784].

    Raises `InputError` (with the fix) on another shape, a batch of several, non-finite pixels or
    pixels outside [0, 1] (`as_image_batch`'s checks).
    """
    arr = np.asarray(x)
    if arr.shape in ((MNIST_INPUT_DIM,), (28, 28)):
        arr = arr[None]
    batch = as_image_batch(arr, name="drawing")
    if batch.shape[0] != 1:
        raise InputError(f"the board measures one drawing at a time, got a batch of {batch.shape[0]}: "
                         "pass one image [784] or [1, 784]")
    return batch


def board_measures(classifiers: Mapping[str, Classifier], x: np.ndarray,
                   pgd_coarse_every: int = 1) -> dict[str, FlipMeasures]:
    """Per network name, its clean answer to the drawing x and the smallest flipping FGSM and PGD eps.

    classifiers: name -> `Classifier` (e.g. the four shipped networks from
    `core.results.classifiers.load_classifier`); x: one image, [784] or [1, 784] (or 28x28), pixels
    in [0, 1]. pgd_coarse_every: as `smallest_pgd_flip_eps`'s coarse_every (1: exact). Cost per
    network: FGSM one forward and backward pass and one forward batch of 121 rows; PGD 10 forward
    and backward batches of 121 rows and one forward batch (measured: benchmarks/board_flip.py).
    """
    x = as_one_image(x)
    if not classifiers:
        raise InputError("no networks to measure: pass at least one name -> classifier")
    out = {}
    for name, classifier in classifiers.items():
        probs = classifier.predict_proba(x)[0]
        out[name] = FlipMeasures(
            label=int(np.argmax(probs)),
            confidence=float(np.max(probs)),
            fgsm_eps=float(smallest_flip_eps(classifier, x, FLIP_GRID)[0]),
            pgd_eps=float(smallest_pgd_flip_eps(classifier, x, FLIP_GRID, coarse_every=pgd_coarse_every)[0]),
        )
    return out
