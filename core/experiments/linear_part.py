"""The linear part of a fit to random labels: the least-squares line, and how large its slope is.

A ReLU network has a linear part, relu(u) = u/2 + |u|/2, and gradient training on the squared loss
fits the best linear function of the data among the first things it fits. For random labels
y_i = +-1 independent of x_i ~ N(0, I_d / d), the least-squares fit y ~ X beta + c has a slope
whose size grows with d although there is nothing to learn:

    E ||beta||^2 = d^2 / (n - d - 2)   (for n > d + 2),  so  ||beta|| ~ d / sqrt(n - d).

(With the intercept, the centred X^T X is a Wishart matrix with n - 1 degrees of freedom and
scale I_d / d, whose inverse has expected trace d^2 / (n - d - 2); the labels have variance 1.)
A network whose gradient contains beta at every point has Lip(f) >= ||beta||, however smooth the
rest of it is. The slope itself is computed where the data are, on the training device
(`core.experiments.random_net.least_squares_slopes`); this module is numpy only, so the app can use it.
"""

from __future__ import annotations

import numpy as np


def expected_ls_slope_norm(n, d) -> np.ndarray:
    """sqrt(E ||beta||^2) = d / sqrt(n - d - 2) for random +-1 labels and x ~ N(0, I_d / d).

    Elementwise over arrays n, d; NaN where n <= d + 2 (there the line interpolates the labels).
    """
    n = np.asarray(n, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    dof = n - d - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dof > 0, d / np.sqrt(np.where(dof > 0, dof, 1.0)), np.nan)
