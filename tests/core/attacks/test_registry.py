"""The attack registry: every attack the app offers, looked up by name, keeps the properties an attack
must have (foolbox-style) in its prepared form, and its prepared form agrees with its batch form."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.attacks import ATTACKS, get_attack
from core.errors import UnknownAttackError

NAMES = list(ATTACKS)


def test_the_registry_holds_the_draw_pages_attacks_in_order():
    assert NAMES == ["FGSM", "PGD", "Targeted FGSM", "Transfer", "White noise"]
    assert all(ATTACKS[n].name == n for n in NAMES)
    assert {a.budget for a in ATTACKS.values()} == {"eps", "std"} and ATTACKS["White noise"].budget == "std"
    assert [n for n in NAMES if ATTACKS[n].on_other_model] == ["Transfer"]
    assert [n for n in NAMES if ATTACKS[n].steps_per_budget] == ["PGD"]


@pytest.mark.parametrize("name", ["fgsm", "", None, "PGD "])
def test_an_unknown_name_is_refused_with_the_choices(name):
    with pytest.raises(UnknownAttackError, match="choose one of FGSM, PGD, Targeted FGSM, Transfer, White noise"):
        get_attack(name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("budget", [0.0, 0.02, 0.1])
def test_every_attack_stays_in_the_ball_and_the_box(clf, batch, name, budget):
    attack = get_attack(name)
    x, y = batch
    prepared = attack.prepare(clf, x, y, target=3, seed=1)
    out = attack.outcome(clf, prepared, budget)
    assert out.x.shape == (len(x), 784) and out.x.dtype == np.float32
    assert out.x.min() >= 0 and out.x.max() <= 1
    np.testing.assert_allclose(out.delta, out.x - x.reshape(len(x), -1), atol=1e-7)
    np.testing.assert_allclose(out.prediction.probs, clf.predict_proba(out.x), atol=1e-6)
    if attack.budget == "eps":
        assert np.abs(out.delta).max() <= budget + 1e-6
    if budget == 0:
        np.testing.assert_array_equal(out.x, x.reshape(len(x), -1))


@pytest.mark.parametrize("name", NAMES)
def test_the_prepared_form_is_the_batch_form(clf, batch, name):
    attack = get_attack(name)
    x, y = batch
    labels = np.full(len(y), 3) if name == "Targeted FGSM" else y
    prepared = attack.prepare(clf, x, y, target=3, seed=0)
    np.testing.assert_array_equal(prepared.labels, labels if name != "White noise" else prepared.clean.label)
    np.testing.assert_array_equal(attack.outcome(clf, prepared, 0.07).x, attack.perturb(clf, x, labels, 0.07))


@pytest.mark.parametrize("name", [n for n in NAMES if ATTACKS[n].sweep])
def test_a_sweep_gives_one_result_per_budget_and_budget_zero_is_clean(clf, batch, name):
    x, y = batch
    results = get_attack(name).sweep(clf, x, y, [0.0, 0.1, 0.3])
    assert [r.eps for r in results] == [0.0, 0.1, 0.3] and all(r.n == len(x) for r in results)
    clean = float(np.mean(np.argmax(clf.predict_proba(x), axis=1) == y))
    assert results[0].accuracy == pytest.approx(clean)
    if name != "White noise":
        assert results[2].accuracy <= clean


def test_the_registry_imports_neither_torch_nor_streamlit():
    code = ("import sys, core.attacks; import core.attacks.flip; "
            "assert 'torch' not in sys.modules and 'streamlit' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
