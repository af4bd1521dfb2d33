"""Attacks at the speed of a slider: one backward pass per image, then any budget for a forward pass.

FGSM's direction sign(grad_x L(x, y)) does not depend on eps (Goodfellow, Shlens and Szegedy 2015,
arXiv:1412.6572), so the app computes the input gradient once per image and model (`prepare_fgsm`)
and answers every move of the eps slider with `core.attacks.fgsm_step` and one forward pass
(`fgsm_outcome`). The same holds for targeted FGSM, whose direction is -sign(grad_x L(x, target))
(`prepare_targeted_fgsm`, then `fgsm_outcome`), and for transfer: another model's prepared
gradient, evaluated by this model (`transfer_outcome`). White noise is drawn once per seed and
scaled by the std (`noise_outcome`). PGD depends on eps at every step, so `pgd_outcome` costs
`steps` forward and backward passes per eps (about 1 ms for f_nd on one image per step).

Works on any `Classifier`; the app passes ONNX Runtime sessions (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.attacks import fgsm_step, gaussian_noise, pgd_linf
from core.runtimes.classifier import Classifier, as_image_batch, as_labels, check_eps_list

# Grid for the smallest flipping eps of one drawing: 0 to 0.3 in steps of 0.0025 (121 values), the
# grid `training.mnist` uses for the test set, so a drawing's number compares with the shipped ones.
FLIP_GRID_STEP = 0.0025
FLIP_GRID_MAX = 0.3
FLIP_GRID: tuple[float, ...] = tuple(
    round(FLIP_GRID_STEP * i, 6) for i in range(int(round(FLIP_GRID_MAX / FLIP_GRID_STEP)) + 1)
)
# PGD on the page: Madry et al.'s recipe at a slider's cost: 10 steps of 2.5 eps / 10, from a seeded
# random start in the eps-ball.
PGD_STEPS = 10
PGD_SEED = 0


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of a batch, with the predicted class and its probability.

    probs: [N, 10] softmax probabilities.
    """

    probs: np.ndarray

    @property
    def label(self) -> np.ndarray:
        """[N] the arg-max class."""
        return np.argmax(self.probs, axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """[N] the probability of the arg-max class."""
        return np.max(self.probs, axis=1)


@dataclass(frozen=True)
class FgsmStart:
    """What FGSM needs to answer any eps: the images, the attacked labels and their loss gradient.

    x: [N, 784] float32 in [0, 1]. target: [N] the labels whose cross-entropy the attack raises
    (the true labels, or the model's own clean predictions). clean: the clean `Prediction`.
    grad: [N, 784] grad_x CE(x, target).
    """

    x: np.ndarray
    target: np.ndarray
    clean: Prediction
    grad: np.ndarray
    # The direction an eps moves the pixels in: +sign(grad) raises the loss of `target`
    # (untargeted), -sign(grad) lowers it (targeted: `prepare_targeted_fgsm`).
    toward_target: bool = False


@dataclass(frozen=True)
class Outcome:
    """A perturbed batch and the model's answer to it.

    x: [N, 784] perturbed images in [0, 1]. delta: [N, 784] x - original (after clipping).
    prediction: the model's `Prediction` on x.
    """

    x: np.ndarray
    delta: np.ndarray
    prediction: Prediction

    @property
    def max_change(self) -> np.ndarray:
        """[N] the L-inf size of each perturbation, max_i |delta_i| (pixel units)."""
        return np.max(np.abs(self.delta), axis=1)


def predict(classifier: Classifier, x: np.ndarray) -> Prediction:
    """The classifier's `Prediction` on images x [N, 784] or [N, 28, 28] in [0, 1]."""
    return Prediction(classifier.predict_proba(as_image_batch(x)))


def prepare_fgsm(classifier: Classifier, x: np.ndarray, y: np.ndarray | None = None) -> FgsmStart:
    """One forward and backward pass: the input gradient FGSM steps along, for every eps to come.

    Args:
        classifier: any `Classifier`.
        x: images [N, 784] or [N, 28, 28] in [0, 1].
        y: true labels [N]; None attacks the model's own clean prediction (for a drawing, which
            has no label), as `core.attacks.min_flip_eps` does.
    """
    x = as_image_batch(x)
    if y is None:
        target = np.argmax(classifier.predict_proba(x), axis=1)
    else:
        target = as_labels(y, x.shape[0])
    probs, _, grad = classifier.loss_and_grad(x, target)
    return FgsmStart(x=x, target=target, clean=Prediction(probs), grad=grad)


def prepare_targeted_fgsm(classifier: Classifier, x: np.ndarray, target: int | np.ndarray) -> FgsmStart:
    """One forward and backward pass for targeted FGSM towards class `target` ("make it a 3").

    The step is x - eps sign(grad_x L(x, target)) (`core.attacks.fgsm_targeted`), answered for
    any eps by `fgsm_outcome`. target: one class 0..9 for every image, or [N] classes.
    """
    x = as_image_batch(x)
    target = np.full(x.shape[0], target) if np.ndim(target) == 0 else target
    target = as_labels(target, x.shape[0])
    probs, _, grad = classifier.loss_and_grad(x, target)
    return FgsmStart(x=x, target=target, clean=Prediction(probs), grad=grad, toward_target=True)


def fgsm_outcome(classifier: Classifier, start: FgsmStart, eps: float) -> Outcome:
    """FGSM at budget eps (pixel units of [0, 1]) from a prepared gradient: one forward pass.

    Untargeted or targeted as the start was prepared (`FgsmStart.toward_target`).
    """
    x_adv = fgsm_step(start.x, -start.grad if start.toward_target else start.grad, eps)
    return Outcome(x=x_adv, delta=x_adv - start.x, prediction=predict(classifier, x_adv))


def transfer_outcome(classifier: Classifier, source: FgsmStart, eps: float) -> Outcome:
    """Transfer: the FGSM perturbation computed on another model (its prepared `source`), shown to
    this classifier. One forward pass; the source model's gradient is all it needs.

    An attack that transfers fools a model it never looked at (Szegedy et al. 2014,
    arXiv:1312.6199; Papernot et al. 2016, arXiv:1605.07277).
    """
    return fgsm_outcome(classifier, source, eps)


def pgd_outcome(classifier: Classifier, x: np.ndarray, target: np.ndarray, eps: float,
                steps: int = PGD_STEPS, random_start: bool = True, seed: int = PGD_SEED) -> Outcome:
    """PGD-Linf at budget eps against labels `target` (`core.attacks.pgd_linf`, step 2.5 eps / steps).

    Costs `steps` forward and backward passes (PGD's direction changes with eps), plus one forward
    pass for the answer. x: [N, 784] in [0, 1]; target: [N] (the model's clean prediction for an
    unlabelled drawing, as `prepare_fgsm` does).
    """
    x = as_image_batch(x)
    x_adv = pgd_linf(classifier, x, target, eps, steps=steps, random_start=random_start, seed=seed)
    return Outcome(x=x_adv, delta=x_adv - x, prediction=predict(classifier, x_adv))


def noise_outcome(classifier: Classifier, x: np.ndarray, std: float, seed: int = 0) -> Outcome:
    """White Gaussian noise of standard deviation std (pixel units), clipped to [0, 1].

    The same seed gives the same noise field for every model and every std, so moving the std
    slider scales one field rather than drawing a new one.
    """
    x = as_image_batch(x)
    x_noisy = gaussian_noise(x, std, seed=seed)
    return Outcome(x=x_noisy, delta=x_noisy - x, prediction=predict(classifier, x_noisy))


def smallest_flip_eps(classifier: Classifier, x: np.ndarray, grid: tuple[float, ...] = FLIP_GRID) -> np.ndarray:
    """[N] smallest eps on the grid at which FGSM changes the model's own prediction (inf: none).

    The same answer as `core.attacks.min_flip_eps` (the grid scanned in increasing order, FGSM
    against the clean prediction), but each image's whole grid goes through the model in one batch:
    for the few images the app attacks, one call of len(grid) images beats len(grid) calls of one.
    """
    x = as_image_batch(x)
    values = sorted(check_eps_list(grid))
    eps = np.asarray(values, dtype=np.float32)
    start = prepare_fgsm(classifier, x)
    out = np.full(x.shape[0], np.inf)
    for i in range(x.shape[0]):
        # Row j is x_i + eps_j sign(grad_i), clipped: fgsm_step with one eps per row.
        x_adv = np.clip(x[i] + eps[:, None] * np.sign(start.grad[i])[None, :], 0.0, 1.0)
        labels = np.argmax(classifier.predict_proba(x_adv), axis=1)
        flipped = np.flatnonzero(labels != start.target[i])
        if flipped.size:
            out[i] = values[flipped[0]]
    return out
