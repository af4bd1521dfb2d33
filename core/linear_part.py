"""The linear part of a fit to random labels: the least-squares line, and how large its slope is.

A ReLU network has a linear part, relu(u) = u/2 + |u|/2, and gradient training on the squared loss
fits the best linear function of the data among the first things it fits. For random labels
y_i = +-1 independent of x_i ~ N(0, I_d / d), the least-squares fit y ~ X beta + c has a slope
whose size grows with d although there is nothing to learn:

    E ||beta||^2 = d^2 / (n - d - 2)   (for n > d + 2),  so  ||beta|| ~ d / sqrt(n - d).

(With the intercept, the centred X^T X is a Wishart matrix with n - 1 degrees of freedom and
scale I_d / d, whose inverse has expected trace d^2 / (n - d - 2); the labels have variance 1.)
A network whose gradient contains beta at every point has Lip(f) >= ||beta||, however smooth the
rest of it is. numpy only, so the app can use it.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError


def least_squares_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """beta of the least-squares fit y ~ x beta + c (with an intercept c), float64 [d].

    Args:
        x: inputs [n, d]; y: targets [n]. Both finite.
    When the fit is not unique (n - 1 <= d, the data can be interpolated), beta is the
    minimum-norm solution, as `np.linalg.lstsq` gives it. Otherwise the normal equations of the
    centred data are solved by Cholesky (X^T X has condition number about
    ((1 + sqrt(d/n)) / (1 - sqrt(d/n)))^2 for Gaussian X, small enough for float64).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise InputError(f"need x [n, d] and y [n], got {x.shape} and {y.shape}")
    if x.shape[0] < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("need at least two finite points")
    n, d = x.shape
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    if n - 1 > d:
        try:
            factor = np.linalg.cholesky(xc.T @ xc)
        except np.linalg.LinAlgError:
            factor = None  # singular (e.g. duplicated columns): the minimum-norm solution below
        if factor is not None:
            return np.linalg.solve(factor.T, np.linalg.solve(factor, xc.T @ yc))
    beta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return beta


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """cos of the angle between two vectors (NaN if either is zero)."""
    u, v = np.asarray(u, dtype=np.float64).ravel(), np.asarray(v, dtype=np.float64).ravel()
    norms = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norms) if norms > 0 else float("nan")


def ls_slope_norm(x: np.ndarray, y: np.ndarray) -> float:
    """||beta|| of the least-squares fit y ~ x beta + c (see `least_squares_slope`)."""
    return float(np.linalg.norm(least_squares_slope(x, y)))


def expected_ls_slope_norm(n, d) -> np.ndarray:
    """sqrt(E ||beta||^2) = d / sqrt(n - d - 2) for random +-1 labels and x ~ N(0, I_d / d).

    Elementwise over arrays n, d; NaN where n <= d + 2 (there the line interpolates the labels).
    """
    n = np.asarray(n, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    dof = n - d - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dof > 0, d / np.sqrt(np.where(dof > 0, dof, 1.0)), np.nan)
