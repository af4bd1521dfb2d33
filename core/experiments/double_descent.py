"""Double descent, live: test error of minimum-norm random-features regression against p/n.

Belkin, Hsu, Ma and Mandal, "Reconciling modern machine learning practice and the classical
bias-variance trade-off", PNAS 2019: as the number of parameters p grows past the number of
training points n, the test error first follows the classical U, blows up at the interpolation
threshold p = n, then falls again. The random-features model and its ridgeless limit are analysed
exactly by Mei and Montanari, "The generalization error of random features regression: Precise
asymptotics and double descent curve", 2019 (CPAM 2022).

Setup (one trial; `double_descent_curve` repeats it `n_trials` times and takes the median):

- inputs x = z / sqrt(d), z ~ N(0, I_d), so x ~ N(0, I_d / d); n training and 1000 test points.
- target f*(x) = <beta, z> + 0.5 (<gamma, z>^2 - 1) / sqrt(2), beta and gamma random unit
  vectors: a linear signal of variance 1 plus a mild quadratic part of variance 0.25, which random
  ReLU features learn slowly, so that many features end up beating few.
- training labels y = f*(x) + noise * N(0, 1); the test error is measured against f* itself (the
  excess risk; add noise**2 for the error on noisy test labels).
- features phi(x) = relu(W x) / sqrt(p), W [p, d] with N(0, 1) entries, so each W x ~ N(0, 1).
  Features are nested: the p-feature model uses the first p rows of one W per trial, so moving
  along the curve only adds features.
- fit: the minimum-norm least-squares solution a = pinv(Phi) y. For p < n that is ordinary least
  squares; for p >= n it is the interpolant of smallest ||a||, and the training error is 0.

The 1/sqrt(p) scale does not change a ridgeless fit's predictions (a rescales inversely); it is
kept so that the features match the papers. No ridge and no singular-value truncation is applied:
at p = n the feature matrix is square and nearly singular, and its huge min-norm solution is the
spike the demo is about. The fit is solved exactly through the smaller Gram matrix (Phi^T Phi for
p < n, Phi Phi^T for p >= n) with `np.linalg.solve`, falling back to `np.linalg.lstsq` (default
rcond) if that matrix is singular; it agrees with `pinv` and is several times faster. Near p = n
the error of one trial is heavy-tailed (one unlucky draw can be 100 times the typical one), so
the curve reports the median over trials, not the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError

N_MIN, N_MAX = 20, 2000
MAX_FEATURES = 20_000
MAX_TRIALS = 50
N_TEST = 1000
_QUADRATIC_WEIGHT = 0.5


def default_ratios() -> np.ndarray:
    """The default grid of p/n: 17 log-spaced points from 0.1 to 10, refined around p/n = 1.

    Contains 1.0 exactly and 0.8, 0.9, 0.95 and 1.05, 1.1, 1.25 on either side of it, so the peak
    at the interpolation threshold is drawn sharply. Shape [23], sorted ascending.
    """
    ratios = np.concatenate([np.geomspace(0.1, 10.0, 17), [0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25]])
    return np.unique(np.round(ratios, 6))


@dataclass(frozen=True)
class DoubleDescentCurve:
    """Train and test error of min-norm random-features regression at each number of features.

    ratios: p / n as realised (n_features / n), shape [R], ascending. n_features: p, int [R].
    train_error, test_error: mean squared errors [R], median over trials; the test error is against
    the noise-free target. n: training points. noise: label-noise std. seed: the rng seed.
    d: input dimension. n_trials: independent draws of data, target and features.
    """

    ratios: np.ndarray
    n_features: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    n: int
    noise: float
    seed: int
    d: int
    n_trials: int


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise InputError(f"{name} must be in [{low}, {high}], got {value}; pick a value in range")
    return int(value)


def _feature_counts(ratios: np.ndarray | None, n: int) -> np.ndarray:
    """Distinct feature counts p = round(ratio * n) >= 1, ascending, from the requested ratios."""
    if ratios is None:
        ratios = default_ratios()
    try:
        r = np.asarray(ratios, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"ratios must be numbers p/n > 0, got {ratios!r}") from exc
    if r.ndim != 1 or r.size == 0:
        raise InputError(f"ratios must be a non-empty 1-D list of p/n values, got shape {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise InputError("ratios must be finite and > 0 (p/n, e.g. 0.1 to 10); remove the others")
    counts = np.unique(np.maximum(1, np.rint(r * n)).astype(np.int64))
    if counts[-1] > MAX_FEATURES:
        raise InputError(
            f"ratio {r.max():g} at n = {n} asks for {counts[-1]} features, more than "
            f"{MAX_FEATURES}; lower the largest ratio or n"
        )
    return counts


def _target(z: np.ndarray, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    # Centred quadratic (E[(<gamma,z>)^2] = 1), scaled to variance _QUADRATIC_WEIGHT**2.
    return z @ beta + _QUADRATIC_WEIGHT * ((z @ gamma) ** 2 - 1.0) / np.sqrt(2.0)


def _min_norm_fit(gram: np.ndarray, rhs: np.ndarray, features: np.ndarray, y: np.ndarray):
    """Solve gram @ c = rhs exactly; fall back to lstsq on the features if it is singular."""
    try:
        c = np.linalg.solve(gram, rhs)
        if np.all(np.isfinite(c)):
            return c, False
    except np.linalg.LinAlgError:
        pass
    a, *_ = np.linalg.lstsq(features, y, rcond=None)
    return a, True


def _one_trial(
    rng: np.random.Generator, n: int, noise: float, d: int, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    beta = rng.standard_normal(d)
    beta /= np.linalg.norm(beta)
    gamma = rng.standard_normal(d)
    gamma /= np.linalg.norm(gamma)
    z_train = rng.standard_normal((n, d))
    z_test = rng.standard_normal((N_TEST, d))
    y = _target(z_train, beta, gamma) + noise * rng.standard_normal(n)
    y_test = _target(z_test, beta, gamma)
    w = rng.standard_normal((int(counts[-1]), d))
    # Unscaled features; the 1/sqrt(p) factor cancels in ridgeless predictions.
    f_train = (z_train / np.sqrt(d)) @ w.T
    f_test = (z_test / np.sqrt(d)) @ w.T
    np.maximum(f_train, 0.0, out=f_train)
    np.maximum(f_test, 0.0, out=f_test)
    return _errors_along_path(f_train, y, f_test, y_test, counts)


def _errors_along_path(
    f_train: np.ndarray, y: np.ndarray, f_test: np.ndarray, y_test: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test MSE of pinv(f_train[:, :p]) @ y for each p in counts (ascending).

    Shapes: f_train [n, P], y [n], f_test [T, P], y_test [T], counts [R] with counts[-1] <= P.
    """
    n = f_train.shape[0]
    # Work with the smaller Gram matrix: [p, p] below the threshold, [n, n] at and above it,
    # both built once (the kernel incrementally, since features are nested).
    m = int(min(n, counts[-1]))
    gram_small = f_train[:, :m].T @ f_train[:, :m]
    kernel = np.zeros((n, n))
    p_done = 0
    train = np.empty(counts.size)
    test = np.empty(counts.size)
    for i, p in enumerate(counts):
        fp = f_train[:, :p]
        if p < n:
            a, _ = _min_norm_fit(gram_small[:p, :p], fp.T @ y, fp, y)
            pred_train = fp @ a
        else:
            kernel += f_train[:, p_done:p] @ f_train[:, p_done:p].T
            p_done = p
            c, used_lstsq = _min_norm_fit(kernel, y, fp, y)
            # The min-norm interpolant lies in the row space: a = Phi^T c.
            a = c if used_lstsq else fp.T @ c
            pred_train = fp @ a if used_lstsq else kernel @ c
        train[i] = np.mean((pred_train - y) ** 2)
        test[i] = np.mean((f_test[:, :p] @ a - y_test) ** 2)
    return train, test


def double_descent_curve(
    n: int = 200,
    noise: float = 0.5,
    seed: int = 0,
    ratios: np.ndarray | None = None,
    n_trials: int = 5,
    d: int = 20,
) -> DoubleDescentCurve:
    """Train and test error of min-norm random-features regression for a grid of p/n.

    Belkin et al. 2019 (double descent); random features as in Mei & Montanari 2019. See the
    module docstring for the data, target and features.

    Args:
        n: training points, integer in [20, 2000] (200 to 300 suits the app).
        noise: std of the label noise, >= 0 (the target has variance 1.25).
        seed: seed of `np.random.default_rng`; the same arguments give identical arrays.
        ratios: p/n values > 0, shape [R]; None uses `default_ratios()` (0.1 to 10, with 1.0).
            Each becomes p = round(ratio * n) >= 1; repeats are merged, so the curve can have
            fewer points than `ratios`. At most 20,000 features.
        n_trials: independent draws to take the median over, integer in [1, 50].
        d: input dimension, integer in [2, 1000].

    Returns:
        A `DoubleDescentCurve`; the default (n = 200, 23 ratios, 5 trials) takes about 0.2 s.
    """
    n = _check_int("n", n, N_MIN, N_MAX)
    n_trials = _check_int("n_trials", n_trials, 1, MAX_TRIALS)
    d = _check_int("d", d, 2, 1000)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    try:
        noise = float(noise)
    except (TypeError, ValueError) as exc:
        raise InputError(f"noise must be a number >= 0, got {noise!r}") from exc
    if not np.isfinite(noise) or noise < 0:
        raise InputError(f"noise must be finite and >= 0 (a label-noise std), got {noise}")
    counts = _feature_counts(ratios, n)

    rng = np.random.default_rng(seed)
    trials = [_one_trial(rng, n, noise, d, counts) for _ in range(n_trials)]
    train = np.median(np.stack([t[0] for t in trials]), axis=0)
    test = np.median(np.stack([t[1] for t in trials]), axis=0)
    arrays = (counts / n, counts, train, test)
    for arr in arrays:
        arr.flags.writeable = False
    return DoubleDescentCurve(
        ratios=arrays[0],
        n_features=arrays[1],
        train_error=arrays[2],
        test_error=arrays[3],
        n=n,
        noise=noise,
        seed=seed,
        d=d,
        n_trials=n_trials,
    )


def peak_ratio(curve: DoubleDescentCurve) -> float:
    """The p/n at which the curve's test error is largest (1.0 when the threshold spike shows)."""
    return float(curve.ratios[int(np.argmax(curve.test_error))])
