"""What every attack of the app shares: the `Attack` record the registry holds, the prepared state
that lets a slider move the budget for one forward pass, the model's answers, and sweep results.

Everything here is numpy against the `Classifier` interface (`core.runtimes.classifier`), so the
same attack runs on a PyTorch model and on an ONNX Runtime session (the server never imports
torch). Images are batches [N, 784] (or [N, 28, 28]) with pixels in [0, 1]; budgets (eps, std) are
in pixel units of [0, 1]: eps = 0.1 moves each pixel by at most 25.5 grey levels.

Two forms of each attack, for two kinds of caller:

* batch (foolbox's shape), for the training scripts' evaluations and the tests:
  `perturb(classifier, x, y, budget) -> x_adv`, and `sweep(classifier, x, y, budgets)`, a list of
  budgets in and one `SweepResult` per budget out;
* prepared, for the app's sliders: `prepare(classifier, x)` does the work that does not depend on
  the budget (FGSM's gradient, white noise's field) once per image and model, then
  `outcome(classifier, prepared, budget)` answers each move of the slider, for FGSM with one forward
  pass. Transfer prepares on one model and answers on another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch, as_labels, check_eps, check_eps_list

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
class Prepared:
    """What an attack needs to answer any budget on a batch: its part that does not depend on it.

    x: [N, 784] float32 images in [0, 1]. labels: [N] the labels whose loss the attack moves (true
    labels, the model's own clean prediction, or the target class). clean: the preparing model's
    clean `Prediction`. field: [N, 784] the direction a budget scales, x_adv = clip(x + budget *
    field): sign(grad_x L) for FGSM, -sign(grad_x L(target)) for targeted FGSM, a Gaussian field for
    white noise; None where the direction changes with the budget (PGD).
    """

    x: np.ndarray
    labels: np.ndarray
    clean: Prediction
    field: np.ndarray | None


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


class Prepare(Protocol):
    def __call__(self, classifier: Classifier, x: np.ndarray, labels: np.ndarray | None = None, *,
                 target: int | None = None, seed: int = 0) -> Prepared: ...


@dataclass(frozen=True)
class Attack:
    """One attack as pages and scripts look it up in `core.attacks.ATTACKS`.

    name: as the app shows it and its URLs carry it ("FGSM"). budget: "eps" (an L-inf radius) or
    "std" (a noise level), both in pixel units of [0, 1]. perturb: the batch form,
    (classifier, x, y, budget) -> x_adv [N, 784]. prepare: the budget-free part,
    (classifier, x, labels=None, *, target=None, seed=0) -> `Prepared` (labels None: the model's own
    clean prediction, for a drawing, which has no label; target: the class of a targeted attack;
    seed: a random start or a noise field). outcome: one budget, (classifier, prepared, budget) ->
    `Outcome`. sweep: the batch form over a list of budgets, or None. on_other_model: prepared on
    one model and answered by another (transfer). steps_per_budget: the gradient passes each budget
    costs after `prepare` (0: one forward pass; PGD: its steps), so a caller knows what to cache.
    options: the keyword options of `prepare` that this attack reads ("target", "seed"), so a page
    knows which controls to show and what an answer depends on.
    """

    name: str
    budget: str
    perturb: Callable[..., np.ndarray]
    prepare: Prepare
    outcome: Callable[[Classifier, Prepared, float], Outcome]
    sweep: Callable[..., list[SweepResult]] | None = None
    on_other_model: bool = False
    steps_per_budget: int = 0
    options: tuple[str, ...] = ()


def batches(n: int, batch_size: int):
    """Slices of at most batch_size rows covering range(n)."""
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def predict(classifier: Classifier, x: np.ndarray) -> Prediction:
    """The classifier's `Prediction` on images x [N, 784] or [N, 28, 28] in [0, 1]."""
    return Prediction(classifier.predict_proba(as_image_batch(x)))


def scaled_step(x: np.ndarray, field: np.ndarray, budget: float, name: str = "eps") -> np.ndarray:
    """clip(x + budget * field, 0, 1) as float32: a step of `budget` along a precomputed field.

    With field = sign(grad) this is FGSM's step, and lets a caller compute the gradient once and
    move eps freely (the app's slider, the sweeps). Shapes: x and field [N, 784] float32.
    """
    budget = check_eps(budget, name=name)
    return np.clip(x + np.float32(budget) * field, 0.0, 1.0).astype(np.float32, copy=False)


def scaled_outcome(classifier: Classifier, prepared: Prepared, budget: float, name: str = "eps") -> Outcome:
    """The `Outcome` of a field attack (FGSM, targeted FGSM, transfer, noise): one forward pass."""
    x_adv = scaled_step(prepared.x, prepared.field, budget, name)
    return Outcome(x=x_adv, delta=x_adv - prepared.x, prediction=predict(classifier, x_adv))


def score(classifier: Classifier, x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """Number correct and summed cross-entropy of a batch."""
    probs, loss, _ = classifier.loss_and_grad(x, y)
    return int(np.sum(np.argmax(probs, axis=1) == y)), float(np.sum(loss, dtype=np.float64))


def evaluate(classifier: Classifier, x_adv: np.ndarray, y: np.ndarray, eps: float,
             batch_size: int = DEFAULT_BATCH) -> SweepResult:
    """Accuracy and mean loss of the classifier on a perturbed set, as the `SweepResult` at eps."""
    correct, total = 0, 0.0
    for sl in batches(x_adv.shape[0], batch_size):
        c, l = score(classifier, x_adv[sl], y[sl])
        correct += c
        total += l
    n = x_adv.shape[0]
    return SweepResult(eps, correct / n, total / n, 0.0, n)


def sweep_by_perturbing(perturb: Callable[..., np.ndarray], classifier: Classifier, x: np.ndarray,
                        y: np.ndarray, eps_list: Sequence[float], batch_size: int = DEFAULT_BATCH,
                        **options) -> list[SweepResult]:
    """One `SweepResult` per eps: the whole set perturbed at each eps, then scored."""
    x = as_image_batch(x)
    y = as_labels(y, x.shape[0])
    return [evaluate(classifier, perturb(classifier, x, y, eps, batch_size=batch_size, **options), y, eps,
                     batch_size) for eps in check_eps_list(eps_list)]
