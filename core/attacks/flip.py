"""The smallest flipping eps: for each image, the least FGSM budget that changes the model's answer.

A per-image measure of robustness on a grid of budgets (the MNIST page's distribution, the draw
page's "smallest FGSM eps that flips it"). The attack targets the model's own clean prediction, so
it is defined for unlabelled inputs (a drawing) and for images the model already gets wrong.
FGSM's outcome need not be monotone in eps, so the grid is scanned in increasing order rather than
bisected. Returns [N] floats, np.inf where no eps on the grid flips the prediction.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import core.attacks.fgsm as _fgsm
from core.attacks.base import DEFAULT_BATCH, batches, scaled_step
from core.runtimes.classifier import Classifier, as_image_batch, check_eps_list

# 0 to 0.3 in steps of 0.0025 (121 values): the grid of the shipped test-set measurement
# (`training.mnist`) and of a drawing on the page, so the two compare.
FLIP_GRID_STEP = 0.0025
FLIP_GRID_MAX = 0.3
FLIP_GRID: tuple[float, ...] = tuple(
    round(FLIP_GRID_STEP * i, 6) for i in range(int(round(FLIP_GRID_MAX / FLIP_GRID_STEP)) + 1)
)


def min_flip_eps(classifier: Classifier, x: np.ndarray, eps_grid: Sequence[float] = FLIP_GRID,
                 batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """[N] smallest eps on the grid at which FGSM changes the prediction, for a large set.

    Per batch, one gradient, then the grid in increasing order, only over the images not yet flipped.
    """
    x = as_image_batch(x)
    grid = sorted(check_eps_list(eps_grid))
    out = np.full(x.shape[0], np.inf)
    for sl in batches(x.shape[0], batch_size):
        pred = np.argmax(classifier.predict_proba(x[sl]), axis=1)
        field = np.sign(classifier.loss_and_grad(x[sl], pred).grad)
        found = out[sl]
        for eps in grid:
            todo = np.isinf(found)
            if not todo.any():
                break
            flipped = np.argmax(classifier.predict_proba(scaled_step(x[sl][todo], field[todo], eps)), 1)
            idx = np.flatnonzero(todo)[flipped != pred[todo]]
            found[idx] = eps
        out[sl] = found
    return out


def smallest_flip_eps(classifier: Classifier, x: np.ndarray, grid: Sequence[float] = FLIP_GRID) -> np.ndarray:
    """[N] the same answer as `min_flip_eps`, for the few images the app attacks.

    Each image's whole grid goes through the model in one batch: for one drawing, one call of
    len(grid) images beats len(grid) calls of one.
    """
    x = as_image_batch(x)
    values = sorted(check_eps_list(grid))
    eps = np.asarray(values, dtype=np.float32)
    prepared = _fgsm.prepare(classifier, x)
    out = np.full(x.shape[0], np.inf)
    for i in range(x.shape[0]):
        # Row j is x_i + eps_j sign(grad_i), clipped: FGSM with one eps per row.
        x_adv = np.clip(x[i] + eps[:, None] * prepared.field[i][None, :], 0.0, 1.0)
        labels = np.argmax(classifier.predict_proba(x_adv), axis=1)
        flipped = np.flatnonzero(labels != prepared.labels[i])
        if flipped.size:
            out[i] = values[flipped[0]]
    return out
