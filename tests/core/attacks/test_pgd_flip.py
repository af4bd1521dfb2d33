"""The smallest flipping PGD eps (`core.attacks.pgd_flip`) and the class board's measures
(`core.attacks.board`): the batched search is the page's PGD row for row, agrees with the brute-force
scan on shipped digits, flips where it says and not on the grid point below, answers inf when nothing
flips, and refuses bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.attacks import get_attack
from core.attacks.board import FlipMeasures, board_measures
from core.attacks.flip import FLIP_GRID, FLIP_GRID_STEP, smallest_flip_eps
from core.attacks.pgd import pgd_linf
from core.attacks.pgd_flip import pgd_flip_scan, pgd_rows, smallest_pgd_flip_eps
from core.errors import InputError
from core.results.classifiers import load_classifier
from core.results.pretrained import load_sample
from core.runtimes.classifier import LossGrad


@pytest.fixture(scope="module")
def nets():
    return {name: load_classifier(name, threads=1) for name in ("f_n", "f_nd", "f_n_adv", "f_nd_adv")}


@pytest.fixture(scope="module")
def digits():
    return load_sample()[0]


class _Banded:
    """A fake network that answers 1 where the image's largest pixel lies in (lo, hi), else 0, with a
    gradient of +1 everywhere: from a blank image PGD at eps ends at eps in every pixel, so it flips
    only for eps in (lo, hi) (a non-monotone outcome), and never when lo >= hi."""

    name = "banded"

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def predict_proba(self, x):
        top = np.asarray(x).reshape(len(x), -1).max(axis=1)
        probs = np.full((len(x), 10), 0.01, dtype=np.float32)
        probs[np.arange(len(x)), ((top > self.lo) & (top < self.hi)).astype(int)] = 0.91
        return probs

    def loss_and_grad(self, x, y):
        return LossGrad(self.predict_proba(x), np.zeros(len(x), np.float32), np.ones_like(x))


def _pgd_answer(clf, x: np.ndarray, eps: float) -> int:
    """The draw page's answer: the registered PGD, prepared on one image and run at eps."""
    attack = get_attack("PGD")
    return int(attack.outcome(clf, attack.prepare(clf, x), eps).prediction.label[0])


def test_each_row_is_the_pages_pgd_bit_for_bit(nets, digits):
    x = digits[3]
    eps = np.array([0.0, 0.0025, 0.0375, 0.1, 0.3])
    for name in ("f_n", "f_nd"):
        clf = nets[name]
        label = int(np.argmax(clf.predict_proba(x[None])))
        rows = pgd_rows(clf, x, label, eps)
        for j, e in enumerate(eps):
            np.testing.assert_array_equal(rows[j], pgd_linf(clf, x[None], np.array([label]), float(e))[0])


@pytest.mark.parametrize("name,n", [("f_n", 8), ("f_n_adv", 4), ("f_nd", 2), ("f_nd_adv", 1)])
def test_agrees_with_the_brute_force_scan_on_shipped_digits(nets, digits, name, n):
    x = digits[10:10 + n]
    scan = pgd_flip_scan(nets[name], x)
    np.testing.assert_array_equal(smallest_pgd_flip_eps(nets[name], x), scan)
    coarse = smallest_pgd_flip_eps(nets[name], x, coarse_every=4)
    # Coarse-then-refine never answers below the scan (it returns a budget that flips), and on
    # these digits PGD's outcome is monotone near the flip, so it answers the same.
    assert np.all(coarse >= scan)
    np.testing.assert_array_equal(coarse, scan)


@pytest.mark.parametrize("coarse_every", [1, 4])
def test_the_page_shows_the_flip_at_the_answer_and_not_one_step_below(nets, digits, coarse_every):
    clf = nets["f_n_adv"]
    x = digits[20:23]
    found = smallest_pgd_flip_eps(clf, x, coarse_every=coarse_every)
    clean = np.argmax(clf.predict_proba(x), axis=1)
    assert np.all(np.isfinite(found)) and np.all(np.isin(found, FLIP_GRID))
    for i, eps in enumerate(found):
        assert _pgd_answer(clf, x[i:i + 1], float(eps)) != clean[i]
        assert _pgd_answer(clf, x[i:i + 1], round(float(eps) - FLIP_GRID_STEP, 6)) == clean[i]


def test_nothing_flips_a_network_that_always_gives_the_same_answer():
    blank = np.zeros((2, 784), np.float32)
    never = _Banded(1.0, 0.0)
    for every in (1, 4):
        assert np.all(np.isinf(smallest_pgd_flip_eps(never, blank, coarse_every=every)))
    assert np.all(np.isinf(pgd_flip_scan(never, blank)))
    (m,) = board_measures({"never": never}, blank[0]).values()
    assert m == FlipMeasures(label=0, confidence=pytest.approx(0.91), fgsm_eps=math.inf, pgd_eps=math.inf)


def test_a_non_monotone_flip_is_found_by_the_full_grid_and_can_be_missed_by_the_coarse_one():
    """Only eps = 0.005 flips: the full grid finds it as the scan does; every 4th budget (0.01,
    0.02, ...) flips none, so coarse-then-refine answers inf: the exactness it trades."""
    blank = np.zeros((1, 784), np.float32)
    band = _Banded(0.004, 0.006)
    assert smallest_pgd_flip_eps(band, blank)[0] == pgd_flip_scan(band, blank)[0] == 0.005
    assert np.isinf(smallest_pgd_flip_eps(band, blank, coarse_every=4)[0])
    # Monotone beyond a threshold: the coarse search refines to the same fine budget as the scan.
    assert smallest_pgd_flip_eps(_Banded(0.0126, 2.0), blank, coarse_every=4)[0] == 0.015


def test_board_measures_are_each_networks_answer_and_flips(nets, digits):
    x = digits[5]
    board = board_measures(nets, x[None])
    assert list(board) == list(nets)
    for name, m in board.items():
        clf = nets[name]
        probs = clf.predict_proba(x[None])[0]
        assert (m.label, m.confidence) == (int(np.argmax(probs)), pytest.approx(float(probs.max())))
        assert type(m.label) is int and type(m.confidence) is float
        assert m.fgsm_eps == smallest_flip_eps(clf, x[None])[0]
        assert m.pgd_eps == smallest_pgd_flip_eps(clf, x[None])[0]
        if math.isfinite(m.pgd_eps):
            assert _pgd_answer(clf, x[None], m.pgd_eps) != m.label
    assert board_measures(nets, x) == board, "[784] and [1, 784] are the same drawing"


@pytest.mark.parametrize("bad,fix", [
    (np.full((1, 784), np.nan, np.float32), "NaN"),
    (np.full((1, 784), 2.0, np.float32), "[0, 1]"),
    (np.zeros((2, 784), np.float32), "one drawing at a time"),
    (np.zeros((1, 100), np.float32), "shape"),
    (np.zeros((1, 784), np.uint8), "uint8"),
])
def test_bad_drawings_are_refused_with_the_fix(nets, bad, fix):
    with pytest.raises(InputError, match=fix.replace("[", r"\[").replace("]", r"\]")):
        board_measures({"f_n": nets["f_n"]}, bad)


def test_bad_arguments_are_refused(nets, digits):
    with pytest.raises(InputError, match="at least one"):
        board_measures({}, digits[0])
    with pytest.raises(InputError, match="coarse_every"):
        smallest_pgd_flip_eps(nets["f_n"], digits[:1], coarse_every=0)
    with pytest.raises(InputError, match=">= 0"):
        smallest_pgd_flip_eps(nets["f_n"], digits[:1], grid=[0.1, -0.1])
