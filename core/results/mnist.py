"""The shipped MNIST results as tables and the few numbers the app's text quotes.

Reads the dicts `core.results.pretrained` loads (a model's metadata JSON, `sweeps.json`; schema in
`training.mnist`) and turns them into tidy rows for Altair and into summary numbers (accuracy at a
budget, median flipping eps, gradient-norm ratios), so the pages only draw and every sentence they
show is computed from the shipped data. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.results.pretrained import REGENERATE_MNIST, PretrainedError
from core.specs import MNIST_MODELS

# The talk's clean test numbers (slides), shown beside the shipped ones: (accuracy, loss).
TALK_CLEAN: dict[str, tuple[float, float]] = {"f_nd": (0.985, 0.587), "f_n": (0.980, 0.211)}

SWEEP_KINDS = ("fgsm", "pgd", "noise")


def _model_entry(sweeps: dict, name: str) -> dict:
    try:
        return sweeps["models"][name]
    except (KeyError, TypeError):
        raise PretrainedError(
            f"sweeps.json has no results for model {name!r}: regenerate it with `{REGENERATE_MNIST}`"
        ) from None


def _number(value) -> float:
    """A metadata number, NaN where it is absent (older files lack some training fields)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def clean_rows(metadata: dict[str, dict]) -> list[dict]:
    """One row per model: how well it fits its training set, its test accuracy and loss, the talk's.

    Args: metadata maps a model name to its metadata JSON (`core.results.pretrained.model_metadata`).
    """
    rows = []
    for name, meta in metadata.items():
        spec = MNIST_MODELS[name]
        try:
            res = meta["results"]
            acc, loss, n = float(res["test_accuracy"]), float(res["test_loss"]), int(res["n_test"])
        except (KeyError, TypeError, ValueError):
            raise PretrainedError(
                f"the metadata of {name} lacks its test results: regenerate it with `{REGENERATE_MNIST}`"
            ) from None
        talk_acc, talk_loss = TALK_CLEAN.get(name, (float("nan"), float("nan")))
        training = meta.get("training") or {}
        rows.append({
            "model": spec.label, "parameters": spec.param_count,
            "train accuracy": _number(training.get("final_train_accuracy")),
            "train loss": _number(training.get("final_train_loss")),
            "test accuracy": acc, "test loss": loss, "talk accuracy": talk_acc, "talk loss": talk_loss,
            "test images": n,
        })
    return rows


def curve_rows(sweeps: dict, kind: str) -> list[dict]:
    """Tidy rows {model, name, eps, accuracy, accuracy_std, n} of one sweep for every model.

    kind: "fgsm", "pgd" (eps = L-inf budget) or "noise" (eps = noise std).
    """
    if kind not in SWEEP_KINDS:
        raise InputError(f"kind must be one of {SWEEP_KINDS}, got {kind!r}")
    rows = []
    for name, spec in MNIST_MODELS.items():
        entry = _model_entry(sweeps, name)
        for r in entry.get(kind, []):
            rows.append({"model": spec.label, "name": name, "eps": float(r["eps"]),
                         "accuracy": float(r["accuracy"]), "accuracy_std": float(r.get("accuracy_std", 0.0)),
                         "n": int(r.get("n", 0))})
    if not rows:
        raise PretrainedError(f"sweeps.json holds no {kind} sweep: regenerate it with `{REGENERATE_MNIST}`")
    return rows


def accuracy_at(sweeps: dict, name: str, kind: str, eps: float) -> tuple[float, float]:
    """(grid eps nearest to eps, accuracy there) of one model's sweep."""
    results = _model_entry(sweeps, name).get(kind) or []
    if not results:
        raise PretrainedError(f"sweeps.json holds no {kind} sweep for {name}: regenerate it with `{REGENERATE_MNIST}`")
    best = min(results, key=lambda r: abs(float(r["eps"]) - eps))
    return float(best["eps"]), float(best["accuracy"])


@dataclass(frozen=True)
class FlipDistribution:
    """The smallest flipping FGSM eps over the evaluated test images of one model.

    grid: eps values scanned. counts: images first flipped at each. never: images no eps on the
    grid flips. n: images in all.
    """

    grid: np.ndarray
    counts: np.ndarray
    never: int
    n: int

    def cdf(self) -> np.ndarray:
        """Fraction of all n images flipped at eps <= grid[i] (ends at 1 - never / n)."""
        return np.cumsum(self.counts) / self.n

    def quantile(self, q: float) -> float:
        """The smallest grid eps flipping at least a fraction q of the images (inf if none on the grid)."""
        hit = np.flatnonzero(self.cdf() >= q - 1e-12)
        return float(self.grid[hit[0]]) if hit.size else float("inf")


def flip_distribution(sweeps: dict, name: str) -> FlipDistribution:
    """The shipped `flip_eps` summary of one model as a `FlipDistribution`."""
    flip = _model_entry(sweeps, name).get("flip_eps")
    try:
        grid = np.asarray(flip["grid"], dtype=np.float64)
        counts = np.asarray(flip["counts"], dtype=np.int64)
        never, n = int(flip["never"]), int(flip["n"])
    except (KeyError, TypeError, ValueError):
        raise PretrainedError(
            f"sweeps.json lacks the flip-eps data of {name}: regenerate it with `{REGENERATE_MNIST}`"
        ) from None
    if grid.shape != counts.shape or n < 1 or counts.sum() + never != n:
        raise PretrainedError(
            f"the flip-eps data of {name} in sweeps.json is inconsistent: regenerate it with `{REGENERATE_MNIST}`"
        )
    return FlipDistribution(grid=grid, counts=counts, never=never, n=n)


def ecdf_rows(sweeps: dict) -> list[dict]:
    """Tidy rows {model, eps, flipped} of every model's flip CDF, for a step chart."""
    rows = []
    for name, spec in MNIST_MODELS.items():
        dist = flip_distribution(sweeps, name)
        rows += [{"model": spec.label, "eps": float(e), "flipped": float(c)}
                 for e, c in zip(dist.grid, dist.cdf())]
    return rows


def gradient_rows(sweeps: dict) -> list[dict]:
    """One row per model: max / mean / median ||grad_x p_c||_2 and the spectral-norm upper bound."""
    rows = []
    for name, spec in MNIST_MODELS.items():
        entry = _model_entry(sweeps, name)
        try:
            g, bound = entry["gradient_norms"], float(entry["spectral_norm_bound"]["value"])
            rows.append({"model": spec.label, "name": name, "max": float(g["max"]),
                         "mean": float(g["mean"]), "median": float(g["median"]),
                         "spectral bound": bound, "max / bound": float(g["max"]) / bound,
                         "images": int(g["n"])})
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise PretrainedError(
                f"sweeps.json lacks the gradient statistics of {name}: regenerate it with `{REGENERATE_MNIST}`"
            ) from None
    return rows


def gallery_indices(labels: np.ndarray, k: int, seed: int) -> tuple[int, ...]:
    """Positions of k shipped test digits of k different classes (as many as exist), seeded.

    Args: labels [N] of the shipped sample; k >= 1; seed (the app's "other digits" button bumps it).
    Returns: a sorted-by-class tuple of ints, hashable for caching.
    """
    labels = np.asarray(labels)
    if k < 1 or labels.size == 0:
        raise InputError(f"need k >= 1 and a non-empty sample, got k={k}, {labels.size} labels")
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(labels))[:k]
    picks = [int(rng.choice(np.flatnonzero(labels == c))) for c in sorted(classes)]
    return tuple(picks)
