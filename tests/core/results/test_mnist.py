"""core.results.mnist: the tables and numbers the MNIST page shows, from a sweeps/metadata dict."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.results.mnist import (
    TALK_CLEAN, accuracy_at, clean_rows, curve_rows, ecdf_rows, flip_distribution, gallery_indices,
    gradient_rows,
)
from core.results.pretrained import PretrainedError
from core.specs import MNIST_MODELS

GRID = [round(0.01 * i, 6) for i in range(31)]


def flip_summary(flip: np.ndarray) -> dict:
    """The shape training.mnist.flip_summary writes."""
    finite = np.isfinite(flip)
    return {"grid": GRID, "counts": [int(np.sum(flip[finite] == g)) for g in GRID],
            "never": int(np.sum(~finite)), "n": int(flip.size)}


@pytest.fixture()
def flips(rng):
    return {"f_n": rng.choice(GRID[:10], size=200), "f_nd": np.r_[rng.choice(GRID[5:], size=195), [np.inf] * 5]}


@pytest.fixture()
def sweeps(flips):
    eps = list(np.linspace(0, 0.1, 5))
    models = {}
    for k, name in enumerate(MNIST_MODELS):
        models[name] = {
            "fgsm": [{"eps": e, "accuracy": 0.9 - (k + 1) * e, "mean_loss": 1.0, "n": 200} for e in eps],
            "pgd": [{"eps": e, "accuracy": 0.9 - 2 * (k + 1) * e, "mean_loss": 1.0, "n": 50} for e in eps],
            "noise": [{"eps": 5 * e, "accuracy": 0.9, "accuracy_std": 0.01, "mean_loss": 1.0, "n": 200} for e in eps],
            "flip_eps": flip_summary(flips[name]),
            "gradient_norms": {"max": 2.0 + k, "mean": 1.0, "median": 0.5, "n": 200},
            "spectral_norm_bound": {"value": 10.0 * (k + 1)},
        }
    return {"grids": {}, "models": models}


def test_clean_rows_put_the_shipped_numbers_beside_the_talks():
    meta = {name: {"results": {"test_accuracy": 0.97 + i / 100, "test_loss": 0.1 * (i + 1), "n_test": 10000}}
            for i, name in enumerate(MNIST_MODELS)}
    rows = {r["model"]: r for r in clean_rows(meta)}
    for i, (name, spec) in enumerate(MNIST_MODELS.items()):
        assert rows[spec.label]["test accuracy"] == 0.97 + i / 100
        assert rows[spec.label]["test loss"] == 0.1 * (i + 1)
        assert (rows[spec.label]["talk accuracy"], rows[spec.label]["talk loss"]) == TALK_CLEAN[name]
    with pytest.raises(PretrainedError, match="python -m training.mnist"):
        clean_rows({"f_n": {"results": {}}})


def test_curves_and_accuracy_at(sweeps):
    rows = curve_rows(sweeps, "fgsm")
    assert len(rows) == 10 and {r["model"] for r in rows} == {s.label for s in MNIST_MODELS.values()}
    assert accuracy_at(sweeps, "f_nd", "fgsm", 0.1) == pytest.approx((0.1, 0.9 - 2 * 0.1))
    assert accuracy_at(sweeps, "f_n", "noise", 0.49) == pytest.approx((0.5, 0.9))
    with pytest.raises(InputError):
        curve_rows(sweeps, "cw")
    with pytest.raises(PretrainedError):
        curve_rows({"models": {}}, "fgsm")


def test_flip_distribution_quantiles_match_the_raw_values(sweeps, flips):
    for name, raw in flips.items():
        dist = flip_distribution(sweeps, name)
        for q in (0.1, 0.5, 0.9):
            assert dist.quantile(q) == np.quantile(raw, q, method="inverted_cdf")
        assert dist.cdf()[-1] == pytest.approx(np.isfinite(raw).mean())
    rows = ecdf_rows(sweeps)
    assert len(rows) == 2 * len(GRID) and all(0 <= r["flipped"] <= 1 for r in rows)


def test_flip_distribution_rejects_inconsistent_counts(sweeps):
    sweeps["models"]["f_n"]["flip_eps"]["never"] += 3
    with pytest.raises(PretrainedError, match="inconsistent"):
        flip_distribution(sweeps, "f_n")


def test_gradient_rows(sweeps):
    rows = {r["name"]: r for r in gradient_rows(sweeps)}
    assert rows["f_nd"]["max / bound"] == pytest.approx(3.0 / 20.0)
    del sweeps["models"]["f_n"]["spectral_norm_bound"]
    with pytest.raises(PretrainedError):
        gradient_rows(sweeps)


def test_gallery_indices_are_distinct_classes_and_seeded():
    labels = np.repeat(np.arange(10), 30)
    a = gallery_indices(labels, 5, seed=0)
    assert len(set(labels[list(a)])) == 5
    assert a == gallery_indices(labels, 5, seed=0)
    assert a != gallery_indices(labels, 5, seed=1)
    assert len(gallery_indices(labels[:60], 5, seed=0)) == 2  # only two classes there
    with pytest.raises(InputError):
        gallery_indices(labels, 0, seed=0)
