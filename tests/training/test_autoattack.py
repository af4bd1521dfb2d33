"""The project's PGD against AutoAttack, live: on the same test images and the four shipped MNIST
networks, the app's own PGD (core.attacks.pgd, on the shipped ONNX models) never reports a robust
accuracy more than `AGREEMENT_POINTS` above AutoAttack's APGD-CE + APGD-T (training.autoattack, ART).

If it did, the app's PGD curves would overstate robustness: a weak attack, not a robust network.
Also checks that `autoattack_accuracy` is a real attack (it flips images a weak attack does not) and
that its images stay in the eps-ball.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.attacks.pgd import PGD_SEED, PGD_STEPS, pgd_linf
from core.errors import InputError
from core.results import capacity as cr
from core.results.classifiers import load_classifier
from core.results.pretrained import PRETRAINED_DIR, mnist_dir
from core.runtimes.models import load_mlp
from core.specs import MNIST_MODELS
from training.autoattack import autoattack_accuracy
from training.mnist import seeded_subset

EPS = 0.1
N_IMAGES = 100


@pytest.fixture(scope="module")
def images(mnist_root):
    from core.data import load_mnist

    x, y = load_mnist(False, mnist_root, download=False)
    idx = seeded_subset(len(x), N_IMAGES, 7)  # not the evaluation's own subset
    return x[idx], y[idx]


def torch_model(name: str) -> torch.nn.Module:
    """The shipped network `name` (f_n, f_nd, f_n_adv, f_nd_adv) in torch, from its safetensors."""
    base = name.removesuffix(cr.ADV_SUFFIX)
    folder = cr.capacity_dir(PRETRAINED_DIR) if name.endswith(cr.ADV_SUFFIX) else mnist_dir(PRETRAINED_DIR)
    model = load_mlp(MNIST_MODELS[base], folder / f"{name}.safetensors")
    return model.float().eval()


@pytest.mark.parametrize("name", ["f_n", "f_nd", "f_n_adv", "f_nd_adv"])
def test_the_projects_pgd_is_never_more_than_two_points_above_autoattack(images, name):
    x, y = images
    torch.set_num_threads(2)
    clf = load_classifier(name)
    x_adv = pgd_linf(clf, x, y, EPS, steps=PGD_STEPS, seed=PGD_SEED)
    pgd_acc = float((clf.predict_proba(x_adv).argmax(1) == y).mean())
    aa = autoattack_accuracy(torch_model(name), x, y, EPS)
    assert aa["n"] == N_IMAGES and aa["accuracy"] <= aa["after_apgd_ce"] <= aa["clean_accuracy"]
    assert pgd_acc - aa["accuracy"] <= cr.AGREEMENT_POINTS / 100, (name, pgd_acc, aa)


def test_autoattack_flips_what_a_weak_attack_leaves(images):
    """One PGD step of a tiny size leaves most images; AutoAttack at the same eps flips more: it is an
    attack, not a copy of the clean accuracy."""
    x, y = images
    model = torch_model("f_n")
    aa = autoattack_accuracy(model, x, y, EPS, iterations=20, targets=1)
    clf = load_classifier("f_n")
    weak = pgd_linf(clf, x, y, EPS, steps=1, step_size=0.001)
    weak_acc = float((clf.predict_proba(weak).argmax(1) == y).mean())
    assert aa["accuracy"] < weak_acc - 0.3, (aa, weak_acc)


def test_bad_inputs_are_refused(images):
    x, y = images
    model = torch_model("f_n")
    with pytest.raises(InputError):
        autoattack_accuracy(model, x[:, :100], y, EPS)
    with pytest.raises(InputError):
        autoattack_accuracy(model, x, y[:3], EPS)
    with pytest.raises(InputError):
        autoattack_accuracy(model, x, y, 0.0)
    with pytest.raises(InputError):
        autoattack_accuracy(model, x, y, EPS, targets=10)
    assert np.isfinite(autoattack_accuracy(model, x[:5], y[:5], EPS, iterations=2, targets=1)["accuracy"])
