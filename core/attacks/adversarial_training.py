"""Adversarial training in torch: FGSM with a random start, PGD-Linf, and a robust-accuracy check.

Training needs attacks inside the autograd graph of the training step, on the training device, so
these are torch functions (the numpy `core.attacks` serve evaluation and the app). Inputs are
batches [N, 784] (or [N, 28, 28]) with pixels in [0, 1]; budgets are in pixel units of [0, 1].
Perturbations are computed with `torch.autograd.grad` with respect to the input only, so the model's
parameter gradients are never touched by an attack.

* FGSM with a random start ("fast is better than free", Wong, Rice and Kolter 2020,
  arXiv:2001.03994): delta ~ U(-eps, eps), one signed-gradient step of size alpha = 1.25 eps,
  projected onto the eps-ball and [0, 1].
* PGD-Linf (Madry et al. 2018, arXiv:1706.06083) from a uniform random start, step 2.5 eps / steps.
* Catastrophic overfitting (Wong et al. 2020, section 5): FGSM training can suddenly lose all
  robustness to PGD within an epoch while FGSM accuracy rises. `catastrophic_overfitting` flags an
  epoch whose PGD accuracy fell far below the best seen so far.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from core.errors import InputError

FGSM_RS_ALPHA = 1.25  # step of FGSM-RS in units of eps (Wong et al. 2020, Table 1)
PGD_ALPHA = 2.5  # PGD step in units of eps / steps, as core.attacks.pgd_linf


def _check(eps: float, steps: int = 1) -> float:
    eps = float(eps)
    if not math.isfinite(eps) or not 0.0 <= eps <= 1.0:
        raise InputError(f"eps must lie in [0, 1] (pixel units), got {eps!r}")
    if not isinstance(steps, int) or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    return eps


def _input_grad(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """grad_x of the summed cross-entropy (each row: the gradient of its own example's loss)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def _uniform(x: torch.Tensor, eps: float, generator: torch.Generator | None) -> torch.Tensor:
    # Drawn on the CPU so a seeded generator gives the same start on every device.
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype)
    return ((2 * u - 1) * eps).to(x.device)


def _project(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp_(0.0, 1.0)


def fgsm_rs(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
            alpha: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """FGSM from a uniform random start (Wong, Rice and Kolter 2020, arXiv:2001.03994, Alg. 3).

    Args:
        model: maps [N, 784] images to logits; not modified.
        x: images [N, 784] in [0, 1]; y: labels [N] (int64).
        eps: L-inf budget in [0, 1]. alpha: step size (default 1.25 eps).
        generator: CPU generator of the random start (seeded: reproducible).
    Returns: detached adversarial images, same shape, with ||x_adv - x||_inf <= eps, in [0, 1].
    """
    eps = _check(eps)
    x = x.flatten(1).detach()
    if eps == 0:
        return x.clone()
    alpha = FGSM_RS_ALPHA * eps if alpha is None else float(alpha)
    start = (x + _uniform(x, eps, generator)).clamp_(0.0, 1.0)
    return _project(start + alpha * _input_grad(model, start, y).sign(), x, eps).detach()


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 10,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """PGD-Linf from a uniform random start (Madry et al. 2018), step 2.5 eps / steps.

    The torch twin of `core.attacks.pgd_linf`, for use on the training device.
    Returns: detached adversarial images [N, 784] with ||x_adv - x||_inf <= eps, in [0, 1].
    """
    eps = _check(eps, steps)
    x = x.flatten(1).detach()
    if eps == 0:
        return x.clone()
    alpha = PGD_ALPHA * eps / steps
    x_adv = (x + _uniform(x, eps, generator)).clamp_(0.0, 1.0)
    for _ in range(steps):
        x_adv = _project(x_adv + alpha * _input_grad(model, x_adv, y).sign(), x, eps)
    return x_adv.detach()


@torch.no_grad()
def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return int((model(x).argmax(1) == y).sum())


def robust_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                    steps: int = 10, seed: int = 0, batch_size: int = 1000) -> float:
    """Accuracy under `pgd` at eps on (x, y), seeded; the per-epoch check of adversarial training."""
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        correct += _correct(model, pgd(model, xb, yb, eps, steps, gen), yb)
    return correct / max(len(x), 1)


def catastrophic_overfitting(pgd_history: list[float], drop: float = 0.2) -> bool:
    """True when the last PGD accuracy fell more than `drop` below the best earlier one.

    Wong et al. (2020) see robust accuracy collapse from ~40-90% to near 0 within one epoch; a
    drop of 20 points is far beyond the epoch-to-epoch noise of a 1,000-image check.
    """
    if len(pgd_history) < 2:
        return False
    return max(pgd_history[:-1]) - pgd_history[-1] > drop


def adversarial_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                     y: torch.Tensor, eps: float, method: str = "fgsm_rs", pgd_steps: int = 10,
                     generator: torch.Generator | None = None) -> float:
    """One optimizer step on the cross-entropy of adversarial examples of the batch (x, y).

    Args: method "fgsm_rs" (Wong et al. 2020) or "pgd" (Madry et al. 2018, `pgd_steps` steps).
    Returns: the batch's mean adversarial loss before the step.
    """
    if method == "fgsm_rs":
        x_adv = fgsm_rs(model, x, y, eps, generator=generator)
    elif method == "pgd":
        x_adv = pgd(model, x, y, eps, pgd_steps, generator=generator)
    else:
        raise InputError(f"unknown adversarial training method {method!r}: use fgsm_rs or pgd")
    loss = F.cross_entropy(model(x_adv), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())
