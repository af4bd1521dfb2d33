"""The universal law of robustness, as numbers: parameter counts against n and n*d, and the bound.

Bubeck and Sellke, "A Universal Law of Robustness via Isoperimetry", NeurIPS 2021
(arXiv:2105.12806), Theorem 3: for labels in [-1, 1], a function class {f_w : w in W}, W in R^p of
diameter at most W, with ||f_w1 - f_w2||_inf <= J ||w1 - w2||, covariates whose distribution is a
mixture of c-isoperimetric ones, and labels with noise level sigma^2 = E[Var(y | x)] > 0, with
probability at least 1 - delta every f in the class that fits the data below the noise level,
(1/n) sum_i (f(x_i) - y_i)^2 <= sigma^2 - eps, has

    Lip(f) >= eps / (2^9 sqrt(c)) * sqrt(n d / (p log(60 W J / eps) + log(4 / delta))).

With weights of polynomial size (W, J = poly(n, d)) the log is a log of n d.

`law_lower_bound` returns sqrt(n d / p): the bound without its constants and logarithmic factors,
in the units in which the data have norm about 1 (x ~ N(0, I_d / d)).

Memorization needs far less: Baum (1988) shows that ceil(n / d) threshold units, about n weights,
fit any binary labels on n points in general position in R^d. The scale examples put the two
counts, n (to memorize) and n*d (to memorize smoothly), next to real parameter counts.

numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import InputError

# The law as Theorem 3 states it (LaTeX, for the recap page and the presenter): eps is how far below
# the noise level the fit is, c the isoperimetry constant, W the weights' diameter, J the Lipschitz
# constant of w -> f_w, 1 - delta the probability over the data.
LAW_LATEX = (r"\mathrm{Lip}(f) \;\ge\; \frac{\varepsilon}{2^9\sqrt c}"
             r"\sqrt{\frac{n\,d}{p \log(60\,W J / \varepsilon) + \log(4/\delta)}}")

def _positive(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return v


def law_lower_bound(n: float, d: float, p: float) -> float:
    """sqrt(n d / p): the law of robustness's lower bound on Lip(f), constants and logs dropped.

    Bubeck and Sellke 2021 (arXiv:2105.12806), Theorem 3. Any f of a smoothly parametrized class
    with p parameters of polynomial size that fits n noisy labels in dimension d below the noise
    level has Lip(f) >= C * sqrt(n d / (p log(...))) (C depends on the fit's margin eps below the
    noise level and the isoperimetry constant; the log on the weights' size is dropped here too).

    Args:
        n: training points, > 0. d: (effective) input dimension, > 0. p: parameters, > 0.
    Returns: sqrt(n d / p) as a float; 1.0 at p = n d, sqrt(d) at p = n.
    """
    n, d, p = _positive("n", n), _positive("d", d), _positive("p", p)
    return math.sqrt(n * d / p)


def law_curve(n: float, d: float, p_values: np.ndarray) -> np.ndarray:
    """`law_lower_bound` for every p in p_values (shape [P], all > 0); returns float64 [P]."""
    n, d = _positive("n", n), _positive("d", d)
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise InputError("p_values must be a non-empty 1-D array of positive numbers")
    return np.sqrt(n * d / p)


def parameters_for_lipschitz(n: float, d: float, lipschitz: float) -> float:
    """The p at which the bound sqrt(n d / p) equals `lipschitz`: n d / L^2 (constants dropped)."""
    n, d, lip = _positive("n", n), _positive("d", d), _positive("lipschitz", lipschitz)
    return n * d / lip**2


@dataclass(frozen=True)
class DatasetScale:
    """A data set's size for the memorization gauge.

    Attributes:
        name: as the talk says it. n: training points. d: input dimension (pixels x channels).
        source: where the numbers come from.
    """

    name: str
    n: int
    d: int
    source: str

    @property
    def memorize(self) -> int:
        """About n parameters suffice to memorize (Baum 1988)."""
        return self.n

    @property
    def memorize_smoothly(self) -> int:
        """About n d parameters are needed to memorize with Lip(f) = O(1) (Bubeck and Sellke 2021)."""
        return self.n * self.d


@dataclass(frozen=True)
class ModelScale:
    """A real model's parameter count, placed on the gauge.

    Attributes:
        name: the model. params: its parameter count. dataset: the row of the gauge it sits on
        (a `DatasetScale.name`), or "" for a model shown for scale only. source: the citation.
    """

    name: str
    params: int
    dataset: str
    source: str


MNIST_SCALE = DatasetScale(
    "MNIST", 60_000, 28 * 28,
    "LeCun, Bottou, Bengio and Haffner 1998: 60,000 training images of 28 x 28 grey pixels",
)
IMAGENET_SCALE = DatasetScale(
    "ImageNet", 1_281_167, 224 * 224 * 3,
    "Russakovsky et al. 2015 (ILSVRC-2012): 1,281,167 training images (the talk rounds to 10^6), "
    "fed to networks as 224 x 224 x 3 = 150,528 numbers",
)
DATASET_SCALES: tuple[DatasetScale, ...] = (MNIST_SCALE, IMAGENET_SCALE)

GPT3 = ModelScale(
    "GPT-3", 175_000_000_000, "", "Brown et al. 2020 (arXiv:2005.14165): 175 billion parameters"
)
RESNET50 = ModelScale(
    "ResNet-50", 25_557_032, "ImageNet",
    "He, Zhang, Ren and Sun 2016 (arXiv:1512.03385); the count of torchvision's resnet50",
)


# --- what the data alone force ------------------------------------------------------------


def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """All distances ||x_i - x_j||_2 for i < j: x [n, d] -> float64 [n (n - 1) / 2]."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InputError(f"x must have shape [n >= 2, d], got {x.shape}")
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    iu = np.triu_indices(x.shape[0], k=1)
    return np.sqrt(np.maximum(d2[iu], 0.0))


def interpolation_lipschitz_floor(x: np.ndarray, y: np.ndarray) -> float:
    """The least Lipschitz constant of any f with f(x_i) = y_i: max |y_i - y_j| / ||x_i - x_j||.

    The data alone force no more than this; for n random points in high dimension it is of order 1
    (the points are all about sqrt(2) apart), whatever the number of parameters. Any larger
    Lipschitz constant a fit has comes from how it is built, which is what the law is about.

    Args: x [n, d] distinct points, y [n] real labels. Returns a float >= 0.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] < 2:
        raise InputError(f"need x [n >= 2, d] and y [n]; got {x.shape} and {y.shape}")
    dist = pairwise_distances(x)
    if np.any(dist == 0):
        raise InputError("x has duplicate points: an interpolant needs distinct points")
    iu = np.triu_indices(x.shape[0], k=1)
    return float(np.max(np.abs(y[iu[0]] - y[iu[1]]) / dist))
