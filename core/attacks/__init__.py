"""The attacks, one per module, and the registry that pages and scripts look them up in.

    fgsm.py            FGSM (Goodfellow et al. 2015)                      budget eps
    targeted_fgsm.py   targeted FGSM, "make it a 3" (Kurakin et al. 2017)  budget eps
    pgd.py             PGD-Linf (Madry et al. 2018)                       budget eps
    noise.py           white Gaussian noise, the random baseline          budget std
    transfer.py        one model's FGSM shown to another                  budget eps
    flip.py            the smallest FGSM eps that flips each image
    pgd_flip.py        the smallest PGD eps that flips each image (the grid as one batch of rows)
    board.py           the class board's measures of one drawing per network (answer, FGSM and PGD flip eps)
    base.py            what they share: `Attack`, `Prepared`, `Outcome`, `SweepResult`
    linear_fgsm.py     FGSM on a linear model in closed form (the recap's example; points of R^d)
    adversarial_training.py   torch FGSM-RS and PGD for training (imports torch: the server never
                       imports it; nothing here imports it either)

Every attack in `ATTACKS` runs on the `Classifier` interface (numpy; ONNX Runtime in the app), in
two forms (`core.attacks.base`): batch, `perturb(classifier, x, y, budget)` and `sweep`; and
prepared, `prepare(classifier, x)` once per image and model, then `outcome(classifier, prepared,
budget)` per move of a slider.

    from core.attacks import get_attack
    attack = get_attack("PGD")
    x_adv = attack.perturb(classifier, x, y, 0.1)
"""

from __future__ import annotations

from core.attacks.base import Attack
from core.attacks.fgsm import FGSM
from core.attacks.noise import NOISE
from core.attacks.pgd import PGD
from core.attacks.targeted_fgsm import TARGETED_FGSM
from core.attacks.transfer import TRANSFER
from core.errors import UnknownAttackError

# In the order the draw page offers them.
ATTACKS: dict[str, Attack] = {a.name: a for a in (FGSM, PGD, TARGETED_FGSM, TRANSFER, NOISE)}


def get_attack(name: str) -> Attack:
    """The registered attack called `name` ("FGSM", "PGD", "Targeted FGSM", "Transfer", "White noise")."""
    try:
        return ATTACKS[name]
    except (KeyError, TypeError):
        raise UnknownAttackError(f"unknown attack {name!r}: choose one of {', '.join(ATTACKS)}") from None
