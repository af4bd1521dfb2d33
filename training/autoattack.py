"""AutoAttack's two gradient attacks (Croce and Hein 2020, arXiv:2003.01690), an independent check
of the project's own PGD, through the Adversarial Robustness Toolbox (ART, a maintained library).

A robust accuracy is only as good as the attack behind it: a weak attack (a saturated softmax, a
badly sized step, a gradient that vanishes) reports robustness that is not there. AutoAttack was
made to catch that. Here, as in its standard version, two attacks run one after the other, each
on the images that no earlier attack has flipped:

* APGD-CE: untargeted APGD on the cross-entropy, `iterations` steps with its own step-size
  schedule (no step to tune), from a random start;
* APGD-T: targeted APGD on the DLR loss (a ratio of logit differences, blind to the softmax's
  saturation), one run per target class, for the `targets` classes with the highest logits after
  the true one.

The standard version also runs FAB-T and Square; they are left out here (the issue asked for the
two APGD attacks at least, and they cost most of the time on a CPU). Implementation:
`art.attacks.evasion.AutoProjectedGradientDescent` of ART, with the torch model wrapped in ART's
`PyTorchClassifier`. Training and evaluation only: the app never imports this module or ART.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from core.errors import InputError

ITERATIONS = 100  # AutoAttack's standard number of APGD iterations
TARGETS = 9  # every other class of MNIST, as AutoAttack's standard APGD-T
IMPLEMENTATION = "ART 1.20 art.attacks.evasion.AutoProjectedGradientDescent"


def _art_classifier(model: torch.nn.Module, device: torch.device):
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(784,),
                             nb_classes=10, clip_values=(0.0, 1.0),
                             device_type="gpu" if device.type == "cuda" else "cpu")


def _apgd(classifier, eps: float, iterations: int, loss: str, targeted: bool, batch_size: int):
    from art.attacks.evasion import AutoProjectedGradientDescent

    # eps_step is APGD's first step (2 eps, as Croce and Hein); its schedule adapts it from there.
    return AutoProjectedGradientDescent(estimator=classifier, norm=np.inf, eps=eps, eps_step=2 * eps,
                                        max_iter=iterations, targeted=targeted, nb_random_init=1,
                                        batch_size=batch_size, loss_type=loss, verbose=False)


@torch.no_grad()
def _logits(model: torch.nn.Module, x: np.ndarray, device: torch.device) -> np.ndarray:
    return model(torch.from_numpy(x).to(device)).float().cpu().numpy()


def autoattack_accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, eps: float,
                        iterations: int = ITERATIONS, targets: int = TARGETS, seed: int = 0,
                        batch_size: int = 500, device: torch.device | str = "cpu") -> dict:
    """Robust accuracy of `model` at L-inf budget eps under APGD-CE then APGD-T.

    Args:
        model: maps [N, 784] images in [0, 1] to logits; put in eval mode, not modified.
        x: float32 [N, 784] images in [0, 1]; y: int labels [N].
        eps: budget in pixel units, in (0, 1]. iterations: APGD steps per run. targets: APGD-T's
        target classes (1-9). seed: numpy's and torch's seeds for the random starts.
    Returns: {"accuracy", "clean_accuracy", "after_apgd_ce", "n", "eps", "iterations", "targets",
        "seconds", "implementation"}; accuracies are fractions of the N images, an image counts as
        robust when it is classified correctly and no attack flipped it. Every adversarial image
        is checked here (inside the eps-ball and [0, 1], flipped by the model itself), not taken on
        the library's word.
    """
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)
    y = np.asarray(y).astype(np.int64)
    if x.shape[1] != 784 or len(y) != len(x) or len(x) == 0:
        raise InputError(f"expected images [N, 784] and N labels, got {x.shape} and {y.shape}")
    if not 0 < eps <= 1 or not 1 <= targets <= 9:
        raise InputError(f"eps must lie in (0, 1] and targets in 1..9, got {eps} and {targets}")
    device = torch.device(device)
    model = model.eval().to(device)
    t0 = time.perf_counter()
    np.random.seed(seed)  # ART draws APGD's random starts from numpy's global generator
    torch.manual_seed(seed)
    classifier = _art_classifier(model, device)
    logits = _logits(model, x, device)
    robust = logits.argmax(1) == y
    clean = float(robust.mean())
    onehot = np.eye(10, dtype=np.float32)

    def attack(apgd, labels: np.ndarray) -> None:
        idx = np.flatnonzero(robust)
        if not len(idx):
            return
        adv = apgd.generate(x=x[idx], y=onehot[labels[idx]]).astype(np.float32)
        inside = (np.abs(adv - x[idx]).max(1) <= eps + 1e-6) & (adv.min(1) >= 0) & (adv.max(1) <= 1)
        flipped = (_logits(model, adv, device).argmax(1) != y[idx]) & inside
        robust[idx[flipped]] = False

    attack(_apgd(classifier, eps, iterations, "cross_entropy", False, batch_size), y)
    after_ce = float(robust.mean())
    # Target classes ranked by the clean logits, the true class excluded (AutoAttack's choice).
    masked = np.where(np.eye(10, dtype=bool)[y], -np.inf, logits)
    ranked = np.argsort(-masked, axis=1)
    targeted = _apgd(classifier, eps, iterations, "difference_logits_ratio", True, batch_size)
    for k in range(targets):
        attack(targeted, ranked[:, k])
    return {"accuracy": float(robust.mean()), "clean_accuracy": clean, "after_apgd_ce": after_ce,
            "n": int(len(x)), "eps": float(eps), "iterations": iterations, "targets": targets,
            "seconds": round(time.perf_counter() - t0, 1), "implementation": IMPLEMENTATION}
