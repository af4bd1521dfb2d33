"""core.results.polls: each poll's measured answer follows the data. Each is computed on the shipped
files, then on made-up data that tells each story in turn: flip the data and the choice flips, the
sentence with it."""

from __future__ import annotations

import numpy as np
import pytest

from core.attacks.noise import clipped_noise_l2
from core.errors import InputError
from core.results import polls
from core.results.pretrained import PRETRAINED_DIR, PretrainedError
from core.specs import capacity_spec

EPS = [0.0, 0.05, 0.1]
STDS = [0.0, 0.05, 0.1, 0.15, 0.2]


# --- made-up MNIST sweeps -----------------------------------------------------------------------


def sweeps(fgsm=(0.1, 0.3), pgd=(0.01, 0.12), noise=(0.9, 0.95), n=10000, n_pgd=2000, stds=STDS) -> dict:
    """sweeps.json's shape: (f_n, f_nd) accuracies at eps 0.1 (FGSM, PGD) and at every noise std > 0."""
    models = {}
    for k, name in enumerate(("f_n", "f_nd")):
        models[name] = {
            "fgsm": [{"eps": e, "accuracy": 0.98 if e == 0 else fgsm[k], "n": n} for e in EPS],
            "pgd": [{"eps": e, "accuracy": 0.98 if e == 0 else pgd[k], "n": n_pgd} for e in EPS],
            "noise": [{"eps": s, "accuracy": 0.98 if s == 0 else noise[k], "n": n} for s in stds],
        }
    return {"models": models, "grids": {}, "test_set": {"n": n}}


def capacity_aa(pgd_same=(0.009, 0.116), aa=(0.002, 0.108), eps=0.1) -> dict:
    """A capacity results.json holding the talk models' AutoAttack records (and PGD on the same images)."""
    nets = [{"name": f"standard_h{h}", "kind": "standard", "hidden": h,
             "results": {"autoattack": {"accuracy": a, "pgd_accuracy": p, "eps": eps, "n": 1000}}}
            for h, a, p in zip((151, 3774), aa, pgd_same)]
    return {"networks": nets}


def test_same_within_is_two_points_or_two_standard_errors():
    assert polls.same_within(0.5, 10000, 0.5, 10000) == pytest.approx(0.02)  # 2 SE = 1.4 points
    assert polls.same_within(0.5, 100, 0.5, 100) == pytest.approx(2 * np.sqrt(0.005))  # 14 points
    assert polls.same_within(0.5, 0, 0.5, 0) == pytest.approx(0.02)
    assert polls.compare(0.30, 10000, 0.31, 10000) == 0
    assert polls.compare(0.30, 10000, 0.33, 10000) == 1
    assert polls.compare(0.33, 10000, 0.30, 10000) == -1
    assert polls.compare(0.30, 100, 0.40, 100) == 0  # 10 points on 100 images: within the noise


@pytest.mark.parametrize("fgsm,choice,phrase", [
    ((0.10, 0.30), 1, "f_nd survives better, by 20.0 points"),
    ((0.30, 0.10), 0, "f_n survives better, by 20.0 points"),
    ((0.30, 0.31), 2, "about the same (within 2.0 points)"),
])
def test_fgsm_size_choice_follows_the_fgsm_numbers(fgsm, choice, phrase):
    m = polls.fgsm_size_answer(sweeps(fgsm=fgsm))
    assert m.choice == choice and polls.FGSM_SIZE_CHOICES[choice]
    assert phrase in m.text
    assert f"leaves f_n {100 * fgsm[0]:.1f}% and f_nd {100 * fgsm[1]:.1f}% of 10,000 test digits" in m.text
    assert "FGSM on 10,000 test images, PGD on 2,000" in m.source


@pytest.mark.parametrize("pgd,phrase", [
    ((0.01, 0.12), "the same order."),
    ((0.12, 0.01), "f_n ahead by 11.0 points."),
    ((0.05, 0.06), "about the same."),
])
def test_fgsm_size_says_what_pgd_says(pgd, phrase):
    m = polls.fgsm_size_answer(sweeps(fgsm=(0.1, 0.3), pgd=pgd))
    assert m.choice == 1  # the question is FGSM's: PGD does not change the choice
    pgd_says = f"PGD, the stronger attack, leaves {100 * pgd[0]:.1f}% and {100 * pgd[1]:.1f}% (2,000 digits)"
    assert pgd_says in m.text
    assert m.text.endswith(phrase)


def test_fgsm_size_quotes_autoattack_as_the_capacity_page_reads_it():
    close = polls.fgsm_size_answer(sweeps(), capacity_aa())
    assert "AutoAttack is at most 0.8 points lower" in close.text
    assert "AutoAttack: pretrained/capacity/results.json, 1,000 images" in close.source
    far = polls.fgsm_size_answer(sweeps(), capacity_aa(pgd_same=(0.05, 0.116), aa=(0.002, 0.108)))
    assert "upper bounds: AutoAttack leaves 0.2% and 10.8%" in far.text
    for missing in (None, capacity_aa(eps=0.05), {"networks": []}):
        m = polls.fgsm_size_answer(sweeps(), missing)
        assert "AutoAttack" not in m.text and "AutoAttack" not in m.source


# --- made-up random-data sweeps -----------------------------------------------------------------

DIMS = (10, 40, 90, 250, 490)


def rd_rows(f_nd, f_n=lambda d: 1 + 0.8 * np.sqrt(d), n=2000, lin_share=0.8, cos=0.9) -> list[dict]:
    """Sweep rows (`core.results.random_data.COLUMNS`' keys that the readers use) of both rules."""
    out = []
    for d in DIMS:
        for rule, g in (("f_n", f_n), ("f_nd", f_nd)):
            out.append({"d": d, "rule": rule, "seed": 0, "n": n, "memorized": True, "grad_max": g(d),
                        "lin_norm": lin_share * g(d), "nonlin_max": (1 - lin_share) * g(d),
                        "grad_max_init": 1.0, "ls_slope_norm": g(d), "lin_ls_cos": cos})
    return out


@pytest.mark.parametrize("f_nd,choice,phrase", [
    (lambda d: 3.0, 0, "stays flat, from 3.0 at d = 10 to 3.0 at d = 490 (+0%: within 25%)"),
    (lambda d: 1 + 0.5 * np.sqrt(d), 1, "grows from 2.6 at d = 10 to 12.1 at d = 490"),
    (lambda d: 20 - 0.5 * np.sqrt(d), 2, "falls from 18.4 at d = 10 to 8.9 at d = 490"),
])
def test_random_flat_choice_follows_the_k_n_curve(f_nd, choice, phrase):
    m = polls.random_flat_answer(rd_rows(f_nd, n=10000))
    assert m.choice == choice
    assert f"At n = 10,000 the k = n networks' largest gradient {phrase}" in m.text
    assert "f_nd" not in m.text  # a width rule is named by its rule, f_nd names an MNIST network


def test_random_flat_says_why_from_the_linear_part_and_the_control():
    grows = rd_rows(lambda d: 1 + 0.5 * np.sqrt(d), n=10000)
    split = rd_rows(lambda d: 1 + 0.5 * np.sqrt(d), lin_share=0.83)
    falls = rd_rows(lambda d: 5 - 0.1 * np.sqrt(d))
    m = polls.random_flat_answer(grows, split, falls)
    assert ("Its linear part, the least-squares line of the random labels, is 83% of it at d = 490 "
            "(n = 2,000); with an even activation (none) it falls, 4.7 to 2.8.") in m.text
    other = polls.random_flat_answer(grows, rd_rows(lambda d: 1 + 0.5 * np.sqrt(d), cos=0.1),
                                     rd_rows(lambda d: 1 + 0.5 * np.sqrt(d)))
    assert "a direction all points share" in other.text and "it grows, 2.6 to 12.1" in other.text
    flat = polls.random_flat_answer(rd_rows(lambda d: 3.0), split, falls)
    assert flat.choice == 0 and "linear part" not in flat.text  # nothing to explain


def test_random_flat_decides_nothing_without_memorized_runs():
    rows = rd_rows(lambda d: 3.0)
    for r in rows:
        r["memorized"] = r["rule"] != "f_nd"
    m = polls.random_flat_answer(rows)
    assert m.choice is None and "Too few memorized k = n runs" in m.text


# --- a made-up capacity sweep -------------------------------------------------------------------


def cap_net(kind: str, seed: int, train: float, test: float, pgd: float, aa: float | None) -> dict:
    results = {"train_accuracy": train, "test_accuracy": test,
               "pgd": [{"eps": e, "accuracy": test if e == 0 else pgd} for e in EPS]}
    if aa is not None:
        results["autoattack"] = {"accuracy": aa, "eps": 0.1, "n": 1000, "pgd_accuracy": pgd}
    return {"name": f"{kind}_h16_seed{seed}", "kind": kind, "hidden": 16, "seed": seed,
            "param_count": capacity_spec(16).param_count, "results": results}


def cap_doc(adv_train=0.9, adv_test=0.9, adv_pgd=0.7, adv_aa=(0.63, 0.64, 0.63), std_aa=0.0) -> dict:
    nets = [cap_net("standard", 0, 0.97, 0.95, 0.002, std_aa)]
    nets += [cap_net("adversarial", s, adv_train, adv_test, adv_pgd, a) for s, a in enumerate(adv_aa)]
    return {"grids": {"eps": EPS}, "networks": nets, "settings": {"pgd": {"subset_size": 2000}}}


@pytest.mark.parametrize("kwargs,choice,phrase", [
    ({}, 0, "keeps 63.3% (mean of 3 seeds) of 1,000 test digits under AutoAttack at eps = 0.1, "
            "standard training 0.0%. The price: 90.0% clean test accuracy instead of 95.0%."),
    ({"adv_aa": (0.01, 0.0, 0.02)}, 1, "keeps 1.0% (mean of 3 seeds)"),
    ({"adv_train": 0.11, "adv_test": 0.11, "adv_aa": (0.1, 0.1, 0.1)}, 2,
     "It did not learn: 11.0% clean training accuracy."),
    ({"adv_aa": (0.63, None, 0.63)}, 0, "keeps 70.0% (mean of 3 seeds) of 2,000 test digits under PGD"),
])
def test_adversarial_small_choice_follows_the_sweep(kwargs, choice, phrase):
    m = polls.adversarial_small_answer(cap_doc(**kwargs))
    assert m.choice == choice and phrase in m.text
    assert m.text.startswith(f"At h = 16 ({capacity_spec(16).param_count:,} parameters) adversarial training")


def test_adversarial_small_needs_the_width_in_both_halves():
    d = cap_doc()
    d["networks"] = [n for n in d["networks"] if n["kind"] == "adversarial"]
    with pytest.raises(PretrainedError, match="h = 16"):
        polls.adversarial_small_answer(d)


# --- noise against FGSM -------------------------------------------------------------------------


def test_clipped_noise_l2_matches_monte_carlo(rng):
    x = rng.random((6, 784)) * (rng.random((6, 784)) > 0.7)  # mostly black, as digits are
    for std in (0.05, 0.3, 1.0):
        draws = [np.linalg.norm(np.clip(x + std * rng.standard_normal(x.shape), 0, 1) - x, axis=1) ** 2
                 for _ in range(400)]
        assert clipped_noise_l2(x, std) == pytest.approx(np.sqrt(np.mean(draws, axis=0)), rel=0.01)
    assert np.all(clipped_noise_l2(x, 0.0) == 0)
    mid = np.full((1, 784), 0.5)  # no clipping at a small std: std * sqrt(784)
    assert clipped_noise_l2(mid, 0.01) == pytest.approx([0.28], rel=1e-6)
    with pytest.raises(InputError):
        clipped_noise_l2(x, -0.1)


BLACK = np.zeros((4, 784))  # clipping keeps the positive half of each draw: ‖δ‖₂ ≈ std·√392


def matched_std(x: np.ndarray, bound: float) -> float:
    return next(s for s in STDS if clipped_noise_l2(x, s).mean() >= bound)


@pytest.mark.parametrize("noise,choice,phrase", [
    ((0.90, 0.95), 1, "Noise at least as large hurts less: the attack's harm is its direction."),
    ((0.11, 0.30), 0, "At equal size they hurt about as much."),
    ((0.02, 0.05), 2, "Here noise at least as large hurts more."),
    ((0.90, 0.05), None, "The two networks disagree."),
])
def test_noise_choice_follows_the_sweeps(noise, choice, phrase):
    x = np.full((4, 784), 0.5)
    std = matched_std(x, 0.1 * 28)
    m = polls.noise_answer(sweeps(fgsm=(0.1, 0.3), noise=noise), x)
    assert m.choice == choice and m.text.endswith(phrase)
    assert m.text.startswith("At eps = 0.10 FGSM changes a digit by ‖δ‖₂ ≤ 2.8 and leaves f_n 10.0% and "
                             "f_nd 30.0%")
    assert (f"Gaussian noise of std {std:.2f}, ‖δ‖₂ ≈ {clipped_noise_l2(x, std).mean():.1f} after clipping, "
            f"leaves {100 * noise[0]:.1f}% and {100 * noise[1]:.1f}%") in m.text


def test_noise_is_matched_after_clipping():
    # On a black digit clipping removes the negative half of each draw: std 0.1 is too small, 0.15 is not.
    bound = 0.1 * 28
    assert clipped_noise_l2(BLACK, 0.1).mean() < bound <= clipped_noise_l2(BLACK, 0.15).mean()
    m = polls.noise_answer(sweeps(), BLACK)
    assert matched_std(BLACK, bound) == 0.15 and "noise of std 0.15" in m.text


def test_noise_too_small_to_compare_decides_nothing():
    m = polls.noise_answer(sweeps(stds=[0.0, 0.02, 0.05]), BLACK)
    assert m.choice is None
    assert "The shipped noise stops at std 0.05" in m.text and "too small to compare at equal size" in m.text


# --- the shipped files --------------------------------------------------------------------------


@pytest.mark.parametrize("answer,choices", [
    (polls.answer_fgsm_size, polls.FGSM_SIZE_CHOICES),
    (polls.answer_random_flat, polls.RANDOM_FLAT_CHOICES),
    (polls.answer_adversarial_small, polls.ADVERSARIAL_SMALL_CHOICES),
    (polls.answer_noise, polls.NOISE_CHOICES),
])
def test_every_answer_computes_on_the_shipped_files(answer, choices):
    m = answer(str(PRETRAINED_DIR))
    assert m.choice is None or 0 <= m.choice < len(choices)
    assert m.text and m.source.startswith("pretrained/")
    assert "nan" not in m.text and "{" not in m.text
    assert m.text.count(". ") <= 2  # one or two sentences


def test_shipped_fgsm_answer_quotes_the_sweeps():
    from core.results.mnist import accuracy_at
    from core.results.pretrained import load_mnist_sweeps

    s = load_mnist_sweeps()
    m = polls.answer_fgsm_size(str(PRETRAINED_DIR))
    for name in ("f_n", "f_nd"):
        for kind in ("fgsm", "pgd"):
            assert f"{100 * accuracy_at(s, name, kind, 0.1)[1]:.1f}%" in m.text


def test_a_missing_folder_raises_with_the_fix(tmp_path):
    for answer in (polls.answer_fgsm_size, polls.answer_random_flat, polls.answer_adversarial_small,
                   polls.answer_noise):
        with pytest.raises(PretrainedError, match="regenerate|Slow fix"):
            answer(str(tmp_path))
