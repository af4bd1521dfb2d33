"""FGSM on a linear classifier: the whole attack in closed form, for the lecture's tiny example.

Goodfellow, Shlens and Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015
(arXiv:1412.6572), sec. 3: for a linear score f(x) = w . x + b, the FGSM step
x' = x + eps * sign(grad_x L) moves every coordinate by eps against the label, so the score moves
by exactly eps * ||w||_1. With ||w||_2 fixed, ||w||_1 grows like sqrt(d): in high dimension a
perturbation that is tiny in every coordinate moves the score a lot.

Binary labels y in {+1, -1}, logistic loss L = log(1 + exp(-y f(x))), whose input gradient is
-y sigmoid(-y f(x)) w, so sign(grad_x L) = -y sign(w). No clipping: the inputs are points of R^d,
not images. numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import InputError


def _vector(name: str, v: object) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be a finite 1-D vector, got shape {arr.shape}")
    return arr


def _label(y: object) -> int:
    if y not in (1, -1) or isinstance(y, bool):
        raise InputError(f"y must be +1 or -1, got {y!r}")
    return int(y)  # type: ignore[arg-type]


def logistic_loss_grad(w: np.ndarray, b: float, x: np.ndarray, y: int) -> np.ndarray:
    """grad_x log(1 + exp(-y (w . x + b))) = -y sigmoid(-y f(x)) w. Shapes: w, x [d] -> [d]."""
    w, x, y = _vector("w", w), _vector("x", x), _label(y)
    margin = y * (float(w @ x) + float(b))
    # sigmoid(-margin), written to stay finite for large |margin|
    s = math.exp(-margin) / (1.0 + math.exp(-margin)) if margin > 0 else 1.0 / (1.0 + math.exp(margin))
    return -y * s * w


def linear_fgsm(w: np.ndarray, b: float, x: np.ndarray, y: int, eps: float) -> np.ndarray:
    """FGSM on f(x) = w . x + b with the logistic loss: x + eps * sign(grad_x L). Shapes [d] -> [d].

    Args: w weights [d]; b bias; x point [d]; y label +1/-1; eps >= 0, the L-inf budget.
    """
    try:
        eps_value = float(eps)
    except (TypeError, ValueError):
        raise InputError(f"eps must be a finite number >= 0, got {eps!r}") from None
    if isinstance(eps, bool) or not math.isfinite(eps_value) or eps_value < 0:
        raise InputError(f"eps must be a finite number >= 0, got {eps!r}")
    eps = eps_value
    return _vector("x", x) + eps * np.sign(logistic_loss_grad(w, b, x, y))


@dataclass(frozen=True)
class LinearFgsmExample:
    """One attacked point: the score before and after, and the eps that flips the decision.

    Attributes:
        w [d], b, x [d], y: the classifier and the point (y f(x) > 0: correctly classified).
        eps: the budget. x_adv [d]: the attacked point.
        score, score_adv: f(x) and f(x_adv). shift: f(x_adv) - f(x) = -y eps ||w||_1.
        flip_eps: the smallest eps that reaches the decision boundary, y f(x) / ||w||_1.
    """

    w: np.ndarray
    b: float
    x: np.ndarray
    y: int
    eps: float
    x_adv: np.ndarray
    score: float
    score_adv: float
    shift: float
    flip_eps: float

    @property
    def d(self) -> int:
        return int(self.w.size)

    @property
    def l1(self) -> float:
        return float(np.abs(self.w).sum())

    @property
    def flipped(self) -> bool:
        return self.y * self.score_adv < 0


def random_example(d: int, eps: float, margin: float = 1.0, seed: int = 0) -> LinearFgsmExample:
    """A random unit-norm w in R^d (b = 0) and the point x = margin * w, label +1, attacked by FGSM.

    The clean score is exactly `margin`; the attacked score is margin - eps * ||w||_1.

    Args: d >= 1; eps >= 0; margin > 0; seed of the draw of w.
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise InputError(f"d must be an integer >= 1, got {d!r}")
    if not (math.isfinite(margin) and margin > 0):
        raise InputError(f"margin must be a positive number, got {margin!r}")
    w = np.random.default_rng(seed).standard_normal(int(d))
    w /= np.linalg.norm(w)
    return attack(w, 0.0, margin * w, 1, eps)


def attack(w: np.ndarray, b: float, x: np.ndarray, y: int, eps: float) -> LinearFgsmExample:
    """FGSM on one point, with every quantity the lecture shows."""
    w, x, y = _vector("w", w), _vector("x", x), _label(y)
    if w.shape != x.shape:
        raise InputError(f"w and x must have the same length, got {w.size} and {x.size}")
    x_adv = linear_fgsm(w, b, x, y, eps)
    score, score_adv = float(w @ x + b), float(w @ x_adv + b)
    l1 = float(np.abs(w).sum())
    flip = y * score / l1 if l1 > 0 else math.inf
    return LinearFgsmExample(w=w, b=float(b), x=x, y=y, eps=float(eps), x_adv=x_adv, score=score,
                             score_adv=score_adv, shift=score_adv - score, flip_eps=max(flip, 0.0))


def flip_eps_by_dimension(dims: np.ndarray, margin: float = 1.0, seed: int = 0) -> np.ndarray:
    """The flipping eps, margin / ||w||_1, for a random unit w in each dimension of `dims`.

    For w uniform on the sphere ||w||_1 is about sqrt(2 d / pi), so this falls like 1 / sqrt(d).
    Shapes: dims [D] (integers >= 1) -> float64 [D].
    """
    dims = np.asarray(dims)
    if dims.ndim != 1 or dims.size == 0 or dims.dtype.kind not in "iu" or np.any(dims < 1):
        raise InputError("dims must be a non-empty 1-D array of integers >= 1")
    return np.array([random_example(int(d), 0.0, margin, seed).flip_eps for d in dims])
