"""The smallest flipping eps under the app's PGD, with a bounded cost per image.

For each image, the least budget on `core.attacks.flip.FLIP_GRID` (0..0.3, step 0.0025) at which
the app's PGD (`core.attacks.pgd.pgd_linf` with its defaults: `PGD_STEPS` = 10 steps of 2.5 eps / 10
from the random start seeded `PGD_SEED`, as the draw page runs it through `get_attack("PGD")` on
one image [1, 784]) changes the model's answer. The attack raises the loss of the model's own clean
prediction, so it is defined for an unlabelled drawing. np.inf where no eps on the grid flips it.

The method, and why it is bounded. A scan (`pgd_flip_scan`, the reference) runs PGD once per
budget: up to 121 budgets x 10 gradient steps, each a forward and backward pass of one image, about
1.4 s for f_nd_adv on one core (it stops at the first flip: 0.2 s for f_nd, whose flips come early),
since a pass on one row costs reading the whole weight matrix. Here every budget of the grid is one
row of a single batch that goes through the 10 steps together (row j starts from x + eps_j u, with
the same uniform draw u the app's seeded start uses, and steps by 2.5 eps_j / 10 inside its own
eps_j-ball): 10 batched forward and backward passes and one forward pass, whatever the image. A
batch of 121 rows of f_nd costs about 15 times one row (the weights are read once per pass), so the
whole fine grid costs about 0.12 s for f_nd or f_nd_adv and 8 ms for f_n, on any image.

Exactness. Each row computes the same float32 operations as `pgd_linf` on one image at that eps
(the random start and step size are rebuilt bit for bit), so with the default `coarse_every=1`
the answer is the scan's, provided the runtime's per-row results do not depend on the batch
(ONNX Runtime's CPU kernels on these MLPs: checked on the shipped digits, see
benchmarks/board_flip.py). PGD's outcome need not be monotone in eps (a budget can flip an image
that a larger one leaves, since each budget has its own start and path), so the grid is never
bisected: a bisection would need about 7 PGD runs per image instead of one batch, and could miss the
smallest flip whenever a flipped budget lies below an unflipped one.

`coarse_every=k > 1` trades exactness for a smaller batch: PGD first on every k-th budget, then on
the k-1 budgets between the last unflipped coarse budget and the first flipped one. The answer then
flips, and the fine budget just below it does not; it can be larger than the scan's where PGD flips
the image at a budget below an unflipped coarse budget (a non-monotone outcome). k = 4 halves the
cost (31 rows, then 3) and answered as the scan on all 50 x 4 shipped digit-network pairs measured.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from core.attacks.flip import FLIP_GRID
from core.attacks.pgd import PGD_SEED, PGD_STEPS, pgd_linf
from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch, check_eps_list


def _grid(grid: Sequence[float]) -> np.ndarray:
    """The checked budgets in increasing order, without duplicates, float64 [K]."""
    return np.unique(np.asarray(check_eps_list(grid), dtype=np.float64))


def _clean_labels(classifier: Classifier, x: np.ndarray) -> np.ndarray:
    """[N] the model's answer on each image passed alone, as the draw page passes a drawing [1, 784]."""
    return np.array([int(np.argmax(classifier.predict_proba(x[i:i + 1]), axis=1)[0]) for i in range(len(x))])


def pgd_rows(classifier: Classifier, x: np.ndarray, label: int, eps: np.ndarray, steps: int = PGD_STEPS,
             seed: int = PGD_SEED) -> np.ndarray:
    """One image attacked by PGD at K budgets at once: row j is `pgd_linf(classifier, x[None], label,
    eps[j], steps, seed=seed)`, computed as one batch of K rows per step.

    x: [784] float32 in [0, 1]; label: the class whose loss PGD raises; eps: [K] budgets in [0, 1]
    (pixel units). Returns [K, 784] float32, row j within eps[j] of x (L-inf) and in [0, 1].
    """
    eps = np.asarray(eps, dtype=np.float64)
    eps32 = eps.astype(np.float32)[:, None]
    # pgd_linf's seeded start: rng.uniform(-e, e) computes -e + (e - -e) * u from the same doubles u.
    u = np.random.default_rng(seed).random((1, x.shape[0]))
    start = (-eps[:, None] + (eps[:, None] - -eps[:, None]) * u).astype(np.float32)
    alpha = (2.5 * eps / steps).astype(np.float32)[:, None]
    lo, hi = np.clip(x[None, :] - eps32, 0, 1), np.clip(x[None, :] + eps32, 0, 1)
    xb = np.clip(x[None, :] + start, lo, hi)
    y = np.full(len(eps), label, dtype=np.int64)
    for _ in range(steps):
        grad = classifier.loss_and_grad(xb, y).grad
        xb = np.clip(xb + alpha * np.sign(grad), lo, hi)
    # Budget 0 is the image itself, as pgd_linf returns it.
    xb[eps == 0] = x
    return xb


def _flipped(classifier: Classifier, x: np.ndarray, label: int, eps: np.ndarray) -> np.ndarray:
    """[K] bool: whether PGD at each budget changes the answer `label` (budget 0 never does)."""
    if eps.size == 0:
        return np.zeros(0, dtype=bool)
    answers = np.argmax(classifier.predict_proba(pgd_rows(classifier, x, label, eps)), axis=1)
    return (answers != label) & (eps > 0)


def smallest_pgd_flip_eps(classifier: Classifier, x: np.ndarray, grid: Sequence[float] = FLIP_GRID,
                          coarse_every: int = 1) -> np.ndarray:
    """[N] the smallest budget on `grid` at which the app's PGD flips each image; np.inf if none.

    x: [N, 784] (or [N, 28, 28]) in [0, 1], each image attacked as the draw page attacks a drawing
    alone; grid: budgets in [0, 1] (default `FLIP_GRID`, 0..0.3 step 0.0025). coarse_every: 1 (the
    default) runs the whole grid as one batch, the scan's answer; k > 1 runs every k-th budget, then
    the k-1 between the last unflipped and the first flipped (see the module's docstring for what
    that costs in exactness). Cost per image: 10 batched forward and backward passes of len(grid)
    rows (or len(grid)/k, then k-1) and one forward pass.
    """
    x = as_image_batch(x)
    values = _grid(grid)
    if not isinstance(coarse_every, (int, np.integer)) or coarse_every < 1:
        raise InputError(f"coarse_every must be a positive integer, got {coarse_every!r}")
    labels = _clean_labels(classifier, x)
    out = np.full(x.shape[0], np.inf)
    for i in range(x.shape[0]):
        if coarse_every == 1:
            hits = np.flatnonzero(_flipped(classifier, x[i], labels[i], values))
            if hits.size:
                out[i] = values[hits[0]]
            continue
        coarse = np.unique(np.r_[np.arange(coarse_every, len(values), coarse_every), len(values) - 1])
        hits = np.flatnonzero(_flipped(classifier, x[i], labels[i], values[coarse]))
        if not hits.size:
            continue
        first = coarse[hits[0]]
        below = coarse[hits[0] - 1] if hits[0] > 0 else -1
        between = np.arange(below + 1, first)
        fine = np.flatnonzero(_flipped(classifier, x[i], labels[i], values[between]))
        out[i] = values[between[fine[0]]] if fine.size else values[first]
    return out


def pgd_flip_scan(classifier: Classifier, x: np.ndarray, grid: Sequence[float] = FLIP_GRID) -> np.ndarray:
    """[N] the reference for `smallest_pgd_flip_eps`: `pgd_linf` on each image alone at each budget of
    the grid in increasing order, stopping at the first that flips it; np.inf if none.

    Shapes and ranges as `smallest_pgd_flip_eps`. Cost: up to len(grid) x 10 single-image forward
    and backward passes per image (about 1.4 s for f_nd_adv on one core): for tests and benchmarks.
    """
    x = as_image_batch(x)
    values = _grid(grid)
    labels = _clean_labels(classifier, x)
    out = np.full(x.shape[0], np.inf)
    for i in range(x.shape[0]):
        for eps in values[values > 0]:
            x_adv = pgd_linf(classifier, x[i:i + 1], labels[i:i + 1], float(eps))
            if int(np.argmax(classifier.predict_proba(x_adv), axis=1)[0]) != labels[i]:
                out[i] = eps
                break
    return out
