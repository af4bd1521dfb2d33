"""core.results.mnist: the tables, numbers and sentences the MNIST page shows, from a sweeps/metadata dict.

The sentences follow the data, whatever it says: each reading is checked on made-up data that tells
the expected story and on data that tells the opposite one."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.results.mnist import (
    TALK_CLEAN,
    accuracy_at,
    clean_reading,
    clean_rows,
    curve_rows,
    curves_reading,
    ecdf_rows,
    fgsm_pgd_lesson,
    fgsm_reading,
    flip_distribution,
    flip_reading,
    gallery_indices,
    gradient_reading,
    gradient_rows,
    noise_reading,
    pgd_description,
    training_length_note,
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


# --- the sentences ---------------------------------------------------------------------------------


def metadata(acc: dict[str, float], epochs: dict[str, int] | None = None) -> dict[str, dict]:
    return {name: {"results": {"test_accuracy": a, "test_loss": 0.05 + a / 10, "n_test": 10000},
                   **({"training": {"epochs": epochs[name]}} if epochs else {})} for name, a in acc.items()}


def test_clean_reading_names_the_more_accurate_model_whichever_it_is():
    text = clean_reading(clean_rows(metadata({"f_n": 0.97, "f_nd": 0.99})))
    assert text.startswith("On 10,000 test images f_n scores 97.0% and f_nd 99.0%: f_nd is the more accurate by 2.0 points.")
    assert f"(the talk's: {TALK_CLEAN['f_n'][1]:.3f} and {TALK_CLEAN['f_nd'][1]:.3f}" in text
    assert "f_n is the more accurate by 3.0 points" in clean_reading(clean_rows(metadata({"f_n": 0.98, "f_nd": 0.95})))
    assert "clean accuracy barely separates them" in clean_reading(clean_rows(metadata({"f_n": 0.981, "f_nd": 0.985})))


def test_training_length_note_quotes_each_models_epochs():
    assert "7 epochs for f_n, 12 for f_nd" in training_length_note(metadata({"f_n": 0.9, "f_nd": 0.9}, {"f_n": 7, "f_nd": 12}))
    assert "? epochs for f_n, ? for f_nd" in training_length_note(metadata({"f_n": 0.9, "f_nd": 0.9}))


def test_pgd_description_follows_the_sweeps_settings(sweeps):
    sweeps["settings"] = {"pgd": {"steps": 40, "step_size": 0.01, "random_start": True}}
    text = pgd_description(sweeps)
    assert "(random start), 40 steps" in text and "step size α = 0.01," in text
    assert "(no random start), ? steps" in pgd_description({"models": {}})


def test_curves_reading_says_whether_noise_hurts_less_than_the_attacks(sweeps):
    sweeps["settings"] = {"pgd": {"subset_size": 50}, "noise": {"seeds": [0, 1, 2]}}
    sweeps["test_set"] = {"n": 200}
    text = curves_reading(sweeps, eps=0.1, std=0.5)
    # f_n: 0.9 - e under FGSM, 0.9 - 2e under PGD; f_nd twice as steep; noise leaves 0.9.
    assert "FGSM leaves f_n 80.0% and f_nd 70.0% accuracy; PGD at eps = 0.10 leaves 70.0% and 50.0%" in text
    assert "noise larger in both norms hurts less" in text and "‖δ‖₂ ≤ 0.10·√784 = 2.8" in text
    assert text.endswith("FGSM and noise on 200 test images (noise averaged over 3 draws), PGD on 50 of them.")
    for entry in sweeps["models"].values():
        for r in entry["noise"]:
            r["accuracy"] = 0.1
    assert "here noise hurts at least as much as the attacks." in curves_reading(sweeps, eps=0.1, std=0.5)


def test_fgsm_reading_counts_moved_pixels_and_agreement():
    clean = np.zeros((2, 4))
    clean[:, 2:] = 1.0  # half of each digit is background
    deltas = {"f_n": np.array([[0.1, 0.1, -0.1, 0.0], [0.1, 0.1, -0.1, 0.0]]),
              "f_nd": np.array([[0.1, -0.1, -0.1, 0.1], [0.1, -0.1, -0.1, 0.1]])}
    text = fgsm_reading(deltas, clean)
    assert text.startswith("On these 2 digits FGSM moves 75.0% of the pixels for f_n (100.0% of the black "
                           "background) and 100.0% of the pixels for f_nd (100.0% of the black background).")
    # Both move pixels 0, 1 and 2 of each digit: the same way on 0 and 2, opposite ways on 1.
    assert "of the pixels both move, 66.7% are pushed the same way by the two models and 33.3% opposite ways" in text
    apart = fgsm_reading({"f_n": np.array([[0.1, 0, 0, 0]]), "f_nd": np.array([[0, 0.1, 0, 0]])}, clean[:1])
    assert "Each follows" not in apart  # no pixel moved by both: nothing to compare


def test_noise_reading_quotes_the_mean_l2_size():
    deltas = {"f_n": np.full((3, 4), 0.5), "f_nd": np.full((3, 4), 0.5)}  # ||delta||_2 = 1 per digit
    assert noise_reading(deltas).startswith("Both models see the same noise field, of L2 size ‖δ‖₂ = 1.00 on average")
    assert "‖δ‖₂ = 2.00" in noise_reading({"f_n": np.full((1, 4), 1.0), "f_nd": np.full((1, 4), 1.0)})


def test_flip_reading_names_the_model_that_needs_the_larger_eps(sweeps, flips):
    text = flip_reading(sweeps)
    med = {name: np.quantile(raw, 0.5, method="inverted_cdf") for name, raw in flips.items()}
    assert med["f_nd"] > med["f_n"]
    assert f"f_nd needs a larger median eps to flip: {med['f_nd']:.4f} against {med['f_n']:.4f}" in text
    assert text.endswith("Not flipped by any eps up to 0.30: 0 of 200 digits for f_n, 5 of 200 for f_nd.")
    sweeps["models"]["f_n"]["flip_eps"], sweeps["models"]["f_nd"]["flip_eps"] = (
        sweeps["models"]["f_nd"]["flip_eps"], sweeps["models"]["f_n"]["flip_eps"])
    assert "f_n needs a larger median eps to flip" in flip_reading(sweeps)
    sweeps["models"]["f_nd"]["flip_eps"] = sweeps["models"]["f_n"]["flip_eps"]
    assert "Both models flip at the same median eps" in flip_reading(sweeps)


def test_gradient_reading_follows_which_network_is_steeper(sweeps):
    text = gradient_reading(sweeps)  # f_n max 2, f_nd max 3: here the big one is the steeper
    assert "By its largest gradient, f_nd is the steeper network: max 3.000 against 2.000 (1.5 times)" in text
    assert "20.0% (f_n) and 15.0% (f_nd) of the spectral bounds" in text
    assert "it does not force f_nd to be smooth, and here it is not the smoother one." in text
    sweeps["models"]["f_n"]["gradient_norms"]["max"] = 6.0
    text = gradient_reading(sweeps)
    assert "f_n is the steeper network: max 6.000 against 3.000 (2.0 times)" in text
    assert "These measurements agree with the law's direction; they do not test it." in text


# --- the reruns towards zero loss (pretrained/capacity/results.json) -----------------------------


@pytest.fixture
def reruns():
    """The shipped capacity results: the talk models' rows and curves, shipped and rerun."""
    from core.results.capacity import load_capacity_results, zero_loss_curves, zero_loss_rows

    doc = load_capacity_results()
    return zero_loss_rows(doc), zero_loss_curves(doc)


def with_rerun(rows, name, **values):
    """rows with the rerun of `name` changed (a flip of the data)."""
    from core.results.capacity import LONG_LABEL

    return [dict(r, **values) if r["model"] == name and r["training length"] == LONG_LABEL else r for r in rows]


def test_training_length_note_quotes_the_reruns_and_the_talk(reruns):
    from core.results.capacity import LONG_LABEL

    rows, _ = reruns
    meta = metadata({"f_n": 0.9, "f_nd": 0.9}, {"f_n": 36, "f_nd": 11})
    note = training_length_note(meta, rows)
    long = {r["model"]: r for r in rows if r["training length"] == LONG_LABEL}
    assert (f"only to {long['f_n']['test loss']:.3f} and {long['f_nd']['test loss']:.3f}, against the talk's "
            f"{TALK_CLEAN['f_n'][1]:.3f} and {TALK_CLEAN['f_nd'][1]:.3f}") in note
    assert f"{long['f_nd']['train loss']:.1e} in {long['f_nd']['epochs']}" in note
    assert "training length alone does not explain them" in note and "likely reason" not in note
    assert "f_nd's stays the lower where the talk's is the higher" in note
    # Flipped: reruns as lossy as the talk's would explain them.
    both = with_rerun(with_rerun(rows, "f_n", **{"test loss": 0.3}), "f_nd", **{"test loss": 0.7})
    assert "training length alone can explain the talk's losses" in training_length_note(meta, both)
    one = with_rerun(rows, "f_nd", **{"test loss": 0.7})
    assert "can explain f_nd's, not the other's" in training_length_note(meta, one)
    assert "could not be read" in training_length_note(meta, None)


def test_fgsm_pgd_lesson_is_computed_from_the_reruns(reruns):
    from core.results.capacity import LONG_LABEL, SHORT_LABEL

    rows, curves = reruns
    lesson = fgsm_pgd_lesson(rows, curves)

    def acc(attack, length):
        points = [c for c in curves if c["name"] == "f_nd" and c["attack"] == attack
                  and c["training length"] == length]
        return min(points, key=lambda c: abs(c["eps"] - 0.1))["accuracy"]

    fgsm, pgd = (acc("FGSM", SHORT_LABEL), acc("FGSM", LONG_LABEL)), (acc("PGD", SHORT_LABEL), acc("PGD", LONG_LABEL))
    assert fgsm[1] > fgsm[0] and pgd[1] < pgd[0]  # the shipped data show the lesson on f_nd
    train = {r["training length"]: r["train loss"] for r in rows if r["model"] == "f_nd"}
    assert (f"from loss {train[SHORT_LABEL]:.1e} to {train[LONG_LABEL]:.1e}, f_nd's FGSM accuracy at eps = 0.10 "
            f"rose from {100 * fgsm[0]:.1f}% to {100 * fgsm[1]:.1f}% while its PGD accuracy fell from "
            f"{100 * pgd[0]:.1f}% to {100 * pgd[1]:.1f}%") in lesson
    assert "weaker" in lesson and "not get more robust" in lesson
    # Flipped: PGD rising with FGSM is no such lesson; nothing is said.
    flipped = [dict(c, accuracy=1 - c["accuracy"]) if c["attack"] == "PGD" else c for c in curves]
    assert fgsm_pgd_lesson(rows, flipped) == ""
    assert fgsm_pgd_lesson(None, curves) == ""
