"""core.results.capacity on made-up sweeps: the sentences follow the data, whatever it says."""

from __future__ import annotations

import pytest

from core.results import capacity as cr
from core.specs import capacity_spec

GRID = [0.0, 0.05, 0.1]


def net(kind: str, h: int, train: float, test: float, pgd: list[float], overfit=None) -> dict:
    return {
        "name": f"{kind}_h{h}", "kind": kind, "hidden": h, "param_count": capacity_spec(h).param_count,
        "model": capacity_spec(h).name,
        "training": {"epochs": 3, "rule_met": train == 1.0, "catastrophic_overfitting_epoch": overfit},
        "results": {"train_accuracy": train, "train_loss": 0.1, "test_accuracy": test, "test_loss": 0.2,
                    "fgsm": [{"eps": e, "accuracy": max(a, 0.0) + 0.01} for e, a in zip(GRID, pgd)],
                    "pgd": [{"eps": e, "accuracy": a} for e, a in zip(GRID, pgd)],
                    "max_gradient_norm": 1.0},
    }


def doc(nets: list[dict]) -> dict:
    return {"n_train": 60000, "grids": {"eps": GRID}, "networks": nets}


def test_sentences_name_the_memorization_threshold_and_the_trends():
    d = doc([net("standard", 16, 0.97, 0.95, [0.95, 0.2, 0.01]),
             net("standard", 151, 1.0, 0.98, [0.98, 0.3, 0.02]),
             net("adversarial", 16, 0.80, 0.80, [0.80, 0.5, 0.30]),
             net("adversarial", 151, 0.99, 0.98, [0.98, 0.9, 0.85])])
    text = " ".join(cr.findings(d, 0.1))
    assert "from h = 151 (p = 120,055" in text and "narrower net stops short at 97.0%" in text
    assert "adversarial training, PGD accuracy at eps = 0.100 rises with width: 30.0% at h = 16 and 85.0%" in text
    assert "+83.0 points (h = 151)" in text and "+29.0 points (h = 16)" in text
    assert "No adversarial run showed catastrophic overfitting" in text
    assert "47,040,000" in text


def test_sentences_follow_data_that_contradicts_the_expected_story():
    d = doc([net("standard", 16, 0.9, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 3774, 0.95, 0.9, [0.9, 0.3, 0.1]),
             net("adversarial", 16, 0.9, 0.9, [0.9, 0.8, 0.7]),
             net("adversarial", 3774, 0.9, 0.9, [0.9, 0.4, 0.2], overfit=4)])
    text = " ".join(cr.findings(d, 0.1))
    assert "No width up to h = 3,774 fits every training image" in text
    assert "adversarial training, PGD accuracy at eps = 0.100 falls with width" in text
    assert "detected at h = 3774" in text
    assert "At eps = 0 the attacks do nothing" in " ".join(cr.findings(d, 0.0))


def test_rows_pick_the_nearest_grid_eps():
    d = doc([net("standard", 16, 0.9, 0.9, [0.9, 0.5, 0.4]), net("adversarial", 16, 0.9, 0.9, [0.9, 0.8, 0.7])])
    rows = cr.sweep_rows(d, 0.06)
    assert {r["eps"] for r in rows} == {0.05}
    pgd = {r["training"]: r["accuracy"] for r in rows if r["measure"] == cr.MEASURE_LABELS["PGD"]}
    assert pgd == {"standard": 0.5, "adversarial": 0.8}
    assert len(rows) == 2 * len(cr.MEASURES)
    with pytest.raises(Exception):
        cr.eps_index(d, float("nan"))


def test_the_threshold_is_where_every_wider_net_fits():
    d = doc([net("standard", 16, 1.0, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 32, 0.99, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 64, 1.0, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 151, 1.0, 0.9, [0.9, 0.5, 0.4])])
    text = cr.findings(d, 0.1)[0]
    assert text.startswith("Standard training fits every training image from h = 64 (p = 50,890, 0.85 n)")
    assert "(h = 16 also fits it)" in text and "narrower net stops short at 99.0%" in text


def test_a_net_that_learned_nothing_is_named():
    d = doc([net("standard", 16, 0.97, 0.95, [0.95, 0.2, 0.01]),
             net("standard", 151, 1.0, 0.98, [0.98, 0.3, 0.02]),
             net("adversarial", 16, 0.1124, 0.1135, [0.1135, 0.1135, 0.1135]),
             net("adversarial", 151, 0.99, 0.98, [0.98, 0.9, 0.85])])
    text = " ".join(cr.findings(d, 0.1))
    assert "At h = 16 adversarial training did not get off the ground: clean training accuracy 11.2%" in text
    assert "h = 151 adversarial" not in text
