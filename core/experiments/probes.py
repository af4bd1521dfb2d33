"""Probes of smoothness: input-gradient norms (Lipschitz lower bounds) and a spectral upper bound.

* The talk's "maximum random gradient" (Bubeck, Li and Nagaraj, COLT 2021, arXiv:2009.14444):
  max_j ||grad f(z_j)||_2 over T fresh points z_j ~ N(0, I_d / d). For any f it is a lower bound
  on Lip(f) on the region where the z_j live.
* The same statistic over a set of images for an MNIST classifier, taking f to be the probability
  the model gives its own predicted class: grad p_c = -p_c grad L(x, c) for L the cross-entropy,
  so it comes from the `Classifier` interface alone.
* The product of the layers' spectral norms, an upper bound on the Lipschitz constant of the
  logits map (ReLU is 1-Lipschitz; softmax is 1-Lipschitz in l2, so it bounds the probabilities too).

numpy only; a backend supplies gradients as a function from points [T, d] to gradients [T, d].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.errors import InputError
from core.runtimes.classifier import Classifier, as_image_batch

GradientFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class GradientStats:
    """Summary of input-gradient norms over a set of points: max, mean and every norm."""

    max: float
    mean: float
    norms: np.ndarray

    @classmethod
    def of(cls, norms: np.ndarray) -> "GradientStats":
        norms = np.asarray(norms, dtype=np.float64)
        return cls(float(norms.max()), float(norms.mean()), norms)


def random_points(d: int, n_points: int, seed: int) -> np.ndarray:
    """n_points samples of N(0, I_d / d) as float32 [n_points, d] (so ||z||_2 is about 1)."""
    if int(d) < 1 or int(n_points) < 1:
        raise InputError(f"d and n_points must be >= 1, got d={d}, n_points={n_points}")
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((int(n_points), int(d))) / np.sqrt(d)).astype(np.float32)


def max_random_gradient(
    grad_fn: GradientFn, d: int, n_points: int = 1000, seed: int = 0, batch_size: int = 1000
) -> GradientStats:
    """The maximum random gradient: max_j ||grad f(z_j)||_2 over z_j ~ N(0, I_d / d).

    The talk's Lipschitz proxy written plainly, for any gradient function. A reference: the sweep and
    the live runs compute it batched over stacks of networks (`core.experiments.random_net.
    gradient_diagnostics`), and a test checks that against this definition.

    Args:
        grad_fn: maps points [B, d] to the gradients of f at them [B, d].
        d: input dimension. n_points: T, the number of random points (the talk uses 1000).
        seed: seed of the random points.
    """
    z = random_points(d, n_points, seed)
    norms = np.concatenate(
        [np.linalg.norm(np.asarray(grad_fn(z[i : i + batch_size])), axis=1)
         for i in range(0, len(z), batch_size)]
    )
    return GradientStats.of(norms)


def two_layer_input_gradients(
    w: np.ndarray, b: np.ndarray, a: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """grad_x f for f(x) = sum_j a_j relu(w_j . x + b_j) + c, in closed form.

    grad f(x) = sum_j a_j 1(w_j . x + b_j > 0) w_j. Shapes: w [k, d], b [k], a [k], x [T, d] -> [T, d].
    A reference in numpy float64: tests check the batched torch gradients of the training against it.
    """
    w, b, a, x = (np.asarray(t, dtype=np.float64) for t in (w, b, a, x))
    if w.ndim != 2 or b.shape != (w.shape[0],) or a.shape != (w.shape[0],):
        raise InputError(f"need w [k, d], b [k], a [k]; got {w.shape}, {b.shape}, {a.shape}")
    if x.ndim != 2 or x.shape[1] != w.shape[1]:
        raise InputError(f"x must have shape [T, {w.shape[1]}], got {x.shape}")
    active = (x @ w.T + b) > 0
    return (active * a) @ w


def probability_gradient_norms(
    classifier: Classifier, x: np.ndarray, batch_size: int = 256
) -> GradientStats:
    """||grad_x p_c(x)||_2 for each image, c the model's predicted class (a Lipschitz lower bound).

    Args: classifier; images x [N, 784] in [0, 1].
    """
    x = as_image_batch(x)
    norms = []
    for i in range(0, x.shape[0], batch_size):
        xb = x[i : i + batch_size]
        pred = np.argmax(classifier.predict_proba(xb), axis=1)
        probs, _, grad = classifier.loss_and_grad(xb, pred)
        p_c = probs[np.arange(len(pred)), pred]
        norms.append(p_c * np.linalg.norm(grad, axis=1))
    return GradientStats.of(np.concatenate(norms))


def spectral_norm_bound(weights: Sequence[np.ndarray]) -> float:
    """prod_l ||W_l||_2, an upper bound on the Lipschitz constant (l2 to l2) of a ReLU network.

    Args: the weight matrices of the linear layers, in any order (biases do not matter).
    """
    if not weights:
        raise InputError("weights is empty: pass the weight matrices of the layers")
    bound = 1.0
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2:
            raise InputError(f"each weight must be a matrix, got shape {w.shape}")
        bound *= float(np.linalg.norm(w, 2))
    return bound
