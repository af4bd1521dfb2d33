"""White noise: Gaussian noise of standard deviation std added to every pixel, clipped to [0, 1].

    x_noisy = clip(x + std * z, 0, 1),  z ~ N(0, I) drawn from a seed

The baseline an adversarial perturbation is compared with: a random direction of the same kind of
size, where FGSM picks the most harmful one. The same seed gives the same field z for every model
and every std, so a slider scales one field rather than drawing a new one, and a sweep's curve is
smooth in std (common random numbers).

Arguments: x, images [N, 784] or [N, 28, 28] in [0, 1]; std >= 0 in pixel units; seed. Returns:
noisy images [N, 784] float32 in [0, 1].
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.attacks.base import (
    DEFAULT_BATCH,
    Attack,
    Outcome,
    Prepared,
    SweepResult,
    batches,
    predict,
    scaled_outcome,
    scaled_step,
    score,
)
from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch, as_labels, check_eps_list


def noise_field(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The seeded standard normal field z (float32) that every std scales."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def gaussian_noise(x: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """x plus std times the seeded field, clipped to [0, 1]. Shapes as the module's."""
    x = as_image_batch(x)
    return scaled_step(x, noise_field(x.shape, seed), std, name="std")


def _normal_cdf(t: np.ndarray) -> np.ndarray:
    return np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in t.ravel()]).reshape(t.shape)


def _normal_pdf(t: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)


def clipped_noise_l2(x: np.ndarray, std: float) -> np.ndarray:
    """The size of white noise after clipping: sqrt(E ||clip(x + std z, 0, 1) - x||_2^2) per image.

    Clipping shrinks the noise (on MNIST's black background half of every draw is cut away), so
    std * sqrt(784) overstates its L2 size; this is the exact expectation over z ~ N(0, I), from
    the normal distribution's cdf and pdf, per pixel value x_i in [0, 1]:

        E delta_i^2 = x_i^2 Phi(a) + (1 - x_i)^2 (1 - Phi(b)) + std^2 [Phi(b) - Phi(a) - b phi(b) + a phi(a)]

    with a = -x_i / std, b = (1 - x_i) / std. Arguments: x, images [N, 784] or [N, 28, 28] in
    [0, 1]; std >= 0 in pixel units. Returns: [N] float64, the root of the expected squared L2 norm
    of each image's change (within a fraction of a percent of the expected norm for 784 pixels).
    """
    x = as_image_batch(x).astype(np.float64)
    if not np.isfinite(std) or std < 0:
        raise InputError(f"std must be a number >= 0, got {std!r}")
    if std == 0:
        return np.zeros(x.shape[0])
    values, index = np.unique(x, return_inverse=True)  # 256 grey levels at most: erf on those only
    a, b = -values / std, (1 - values) / std
    ca, cb = _normal_cdf(a), _normal_cdf(b)
    per_value = (values ** 2 * ca + (1 - values) ** 2 * (1 - cb)
                 + std ** 2 * (cb - ca - b * _normal_pdf(b) + a * _normal_pdf(a)))
    return np.sqrt(per_value[index.reshape(x.shape)].sum(axis=1))


def _perturb(classifier: Classifier, x: np.ndarray, y: np.ndarray, std: float, seed: int = 0,
             batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """The batch form the registry holds: the classifier and labels play no part in white noise."""
    return gaussian_noise(x, std, seed)


def noise_sweep(classifier: Classifier, x: np.ndarray, y: np.ndarray, std_list: Sequence[float],
                seeds: Sequence[int] = (0, 1, 2), batch_size: int = DEFAULT_BATCH) -> list[SweepResult]:
    """Accuracy and loss under white noise at each std, averaged over `seeds`.

    Each seed draws one noise field for the whole set and scales it by every std. accuracy_std is
    the spread of the accuracy across seeds.
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
        field = noise_field(x.shape, seed)
        for i, std in enumerate(stds):
            for sl in batches(n, batch_size):
                c, l = score(classifier, scaled_step(x[sl], field[sl], std, name="std"), y[sl])
                acc[s, i] += c / n
                loss[s, i] += l / n
    return [
        SweepResult(std, float(acc[:, i].mean()), float(loss[:, i].mean()), float(acc[:, i].std()), n)
        for i, std in enumerate(stds)
    ]


def prepare(classifier: Classifier, x: np.ndarray, labels: np.ndarray | None = None, *,
            target: int | None = None, seed: int = 0) -> Prepared:
    """The seeded noise field and the clean answer: one forward pass (labels and target not used)."""
    x = as_image_batch(x)
    clean = predict(classifier, x)
    return Prepared(x=x, labels=clean.label, clean=clean, field=noise_field(x.shape, seed))


def outcome(classifier: Classifier, prepared: Prepared, std: float) -> Outcome:
    """The prepared field scaled by std, and the model's answer: one forward pass."""
    return scaled_outcome(classifier, prepared, std, name="std")


NOISE = Attack(name="White noise", budget="std", perturb=_perturb, prepare=prepare, outcome=outcome,
               sweep=noise_sweep, options=("seed",))
