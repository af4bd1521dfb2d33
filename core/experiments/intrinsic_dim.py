"""Intrinsic dimension of a point cloud: the Levina-Bickel maximum-likelihood estimator.

Levina and Bickel, "Maximum Likelihood Estimation of Intrinsic Dimension", NIPS 2004. With
T_j(x) the distance from x to its j-th nearest neighbour, the local estimate at x from k
neighbours is

    m_k(x) = [ 1/(k-1) * sum_{j=1}^{k-1} log(T_k(x) / T_j(x)) ]^{-1}

and the paper averages m_k(x) over the N points. By default we follow MacKay and Ghahramani's
comment on the paper (2005, "Comments on 'Maximum Likelihood Estimation of Intrinsic Dimension'
by E. Levina and P. Bickel"): average the inverses 1/m_k(x) (means of log-ratios) over points,
then invert. That is what maximising the likelihood pooled over all points gives, and it is not
dragged up by the few points whose local estimate is huge. `mackay_ghahramani=False` gives the
paper's plain average, which reads higher (by Jensen's inequality, never lower).
Over a range of k (`levina_bickel_range`) the estimates for k1..k2 are averaged, as in the paper.

Like every k-NN estimator it is biased down when the dimension is high for the sample size: a
uniform 10-dimensional cube with 2000 points reads about 8.3 (k = 10) to 9.3 (k = 20). For the
talk: the first 10,000 MNIST training digits (pixels in [0, 1]) read about 12 for k = 10 to 20,
far below their 784 pixels.

Duplicate rows are removed before the estimate: a duplicate is the same point, and its zero
distance would make log(T_k / T_j) infinite. Distances are floored at the smallest positive
float64 as a last guard, so the result is always finite.

Neighbours are found by brute force in row chunks of bounded memory (about 64 MB): a float32
pass with ||a||^2 + ||b||^2 - 2 a.b (negatives clipped to 0) picks k + 8 candidates; for points
whose neighbours are close compared with their norms, where float32 cancellation would matter,
the candidates' distances are recomputed exactly in float64. N = 10,000 points in D = 784 takes
about 2 to 4 seconds on two cores.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError

_CHUNK_BYTES = 64 * 2**20
_EXTRA_CANDIDATES = 8
_REFINE_BELOW = 1e-2


def _check_k(name: str, k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"{name} must be an integer >= 2, got {k!r}")
    if k < 2:
        raise InputError(f"{name} must be >= 2 (the estimate needs at least two neighbours), got {k}")
    return int(k)


def _as_points(x: object) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"x must be a numeric array of shape [N, D], got {type(x).__name__}") from exc
    if arr.ndim != 2:
        raise InputError(
            f"x must be 2-D [N points, D features], got shape {arr.shape}; "
            "flatten images with x.reshape(len(x), -1)"
        )
    if arr.shape[1] == 0:
        raise InputError("x has no features (D = 0); pass an array of shape [N, D] with D >= 1")
    if not np.all(np.isfinite(arr)):
        raise InputError("x contains NaN or inf; remove or impute those rows first")
    return arr


def knn_distances(x: np.ndarray, k: int, chunk_size: int | None = None) -> np.ndarray:
    """Euclidean distances from each point to its k nearest other points, ascending.

    The point itself is excluded by index, so an exact duplicate shows up as a distance of 0.

    Args:
        x: points, shape [N, D], finite.
        k: neighbours per point, integer in [1, N - 1].
        chunk_size: rows per block of the distance matrix; None keeps a block near 64 MB.

    Returns:
        float64 array [N, k], row i sorted ascending.
    """
    x = _as_points(x)
    n = x.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise InputError(f"k must be an integer in [1, N - 1] = [1, {n - 1}], got {k!r}")
    k = int(k)
    if chunk_size is None:
        # A block holds float32 squared distances and int64 argpartition indices: 12 bytes each.
        chunk_size = max(1, _CHUNK_BYTES // (12 * n))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")

    # Centring shrinks the norms, hence the cancellation in ||a||^2 + ||b||^2 - 2 a.b.
    x = x - x.mean(axis=0)
    x32 = x.astype(np.float32)
    sq32 = np.einsum("ij,ij->i", x32, x32)
    sq_max = float(sq32.max())
    n_cand = min(k + _EXTRA_CANDIDATES, n - 1)
    out = np.empty((n, k))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        rows = np.arange(start, stop)
        d2 = x32[start:stop] @ x32.T
        d2 *= -2.0
        d2 += sq32[start:stop, None]
        d2 += sq32[None, :]
        d2[rows - start, rows] = np.inf
        cand = np.argpartition(d2, n_cand - 1, axis=1)[:, :n_cand]
        d2_cand = np.take_along_axis(d2, cand, axis=1).astype(np.float64)
        del d2
        out[start:stop] = np.sqrt(np.maximum(np.sort(d2_cand, axis=1)[:, :k], 0.0))
        # float32 rounding is about 1e-7 of ||a||^2 + ||b||^2 (times sqrt(D) in the product): harmless
        # for far neighbours, not for close ones, whose distances are recomputed in float64.
        close = d2_cand.min(axis=1) < _REFINE_BELOW * (sq32[start:stop] + sq_max)
        if np.any(close):
            out[rows[close]] = _exact_nearest(x, rows[close], cand[close], k)
    return out


def _exact_nearest(x: np.ndarray, rows: np.ndarray, cand: np.ndarray, k: int) -> np.ndarray:
    """The k smallest float64 distances from x[rows] to x[cand] (cand [len(rows), c]), sorted."""
    # Sub-blocks keep the gathered [rows, c, D] differences near the memory budget.
    step = max(1, _CHUNK_BYTES // (8 * cand.shape[1] * x.shape[1]))
    out = np.empty((rows.size, k))
    for s in range(0, rows.size, step):
        diff = x[cand[s : s + step]] - x[rows[s : s + step], None, :]
        exact = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        out[s : s + step] = np.sort(exact, axis=1)[:, :k]
    return out


def _unique_rows(x: np.ndarray) -> np.ndarray:
    # + 0.0 turns -0.0 into 0.0, so signed zeros are one value however np.unique compares rows.
    return np.unique(x + 0.0, axis=0)


def _estimates(dist: np.ndarray, ks: range, mackay_ghahramani: bool) -> np.ndarray:
    """The global estimate for each k in ks, from sorted neighbour distances [N, >= max(ks)]."""
    log_d = np.log(np.maximum(dist, np.finfo(np.float64).tiny))
    cum = np.cumsum(log_d, axis=1)
    result = []
    for k in ks:
        # 1/m_k(x) = log T_k - mean_{j<k} log T_j
        inv_local = log_d[:, k - 1] - cum[:, k - 2] / (k - 1)
        inv_local = np.maximum(inv_local, np.finfo(np.float64).tiny)
        if mackay_ghahramani:
            result.append(1.0 / np.mean(inv_local))
        else:
            result.append(np.mean(1.0 / inv_local))
    return np.asarray(result)


def _prepared(x: object, k_max: int) -> np.ndarray:
    """Neighbour distances [N', k_max] of the distinct rows of x."""
    points = _as_points(x)
    if points.shape[0] > k_max:
        dist = knn_distances(points, k_max)
        if np.all(dist[:, 0] > 0):
            return dist
    # Duplicates (a zero distance) are rare: only then pay for np.unique and a second pass.
    points = _unique_rows(points)
    if points.shape[0] <= k_max:
        raise InputError(
            f"need more than k = {k_max} distinct points, got {points.shape[0]}; "
            "pass more points or lower k"
        )
    return knn_distances(points, k_max)


def levina_bickel(x: np.ndarray, k: int = 20, mackay_ghahramani: bool = True) -> float:
    """Maximum-likelihood intrinsic dimension from k nearest neighbours (Levina & Bickel 2004).

    Args:
        x: points, shape [N, D], finite (e.g. MNIST images flattened to [N, 784] in [0, 1]).
            Duplicate rows are dropped first; N distinct points must exceed k.
        k: neighbours per point, integer >= 2. The paper suggests 10 to 20.
        mackay_ghahramani: True (default) averages the inverse local estimates, then inverts
            (MacKay & Ghahramani 2005); False averages the local estimates (the paper's choice).

    Returns:
        The estimated dimension, a positive float.
    """
    k = _check_k("k", k)
    dist = _prepared(x, k)
    return float(_estimates(dist, range(k, k + 1), mackay_ghahramani)[0])


def levina_bickel_range(
    x: np.ndarray, k1: int = 10, k2: int = 20, mackay_ghahramani: bool = True
) -> float:
    """Levina-Bickel estimate averaged over k = k1..k2, as in the paper.

    Neighbours are computed once, for k2. Args as `levina_bickel`, with 2 <= k1 <= k2.
    Returns the mean of the estimates for k1, ..., k2.
    """
    k1 = _check_k("k1", k1)
    k2 = _check_k("k2", k2)
    if k1 > k2:
        raise InputError(f"k1 must be <= k2, got k1 = {k1}, k2 = {k2}; swap them")
    dist = _prepared(x, k2)
    return float(np.mean(_estimates(dist, range(k1, k2 + 1), mackay_ghahramani)))
