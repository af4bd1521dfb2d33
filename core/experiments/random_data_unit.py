"""One unit of the random-data experiment, and the settings it depends on, declared once.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444): n points x_i ~ N(0, I_d / d) with labels
+-1; for one dimension d and one width rule (core.specs.WIDTH_RULES gives the hidden width k), the
networks of several seeds are trained together as one stack (`core.experiments.random_net`) until
they memorize, then their maximum random gradient and its diagnostics are probed. A unit's rows
depend only on (d, rule, seed), on `UnitSettings` and on the device.

Two callers run this same unit: the shipped sweep (`training.random_data`, whose `SweepConfig`
is a `UnitSettings` plus the grid and folders) and the app's live mini-sweep
(`core.experiments.random_data_live`, whose `MiniSweepConfig` is a `UnitSettings` plus caps).

The settings are torch-free (the app server imports them); `run_unit` imports torch when called.

    settings = UnitSettings(n=300, lr=1e-2)
    rows = run_unit(settings, d=80, rule="f_nd", seeds=[0, 1])   # one row per seed
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data import derived_seed, random_data_of_run
from core.errors import InputError
from core.experiments.probes import random_points
from core.specs import get_width_rule

if TYPE_CHECKING:
    import torch

ACTIVATIONS = ("relu", "abs")


def check_activation(name: str) -> str:
    """The activation's name, if it is one of ACTIVATIONS; a clear InputError otherwise."""
    if name not in ACTIVATIONS:
        raise InputError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return name


@dataclass(frozen=True)
class TrainSettings:
    """Adam on the full-batch squared loss until the memorization rule holds, with a step cap.

    The defaults are a live run's (small runs that finish fast); `training.random_data` gives the
    paper's lr 1e-3 and 20,000 steps.

    Attributes:
        lr: Adam learning rate. lr_decay: multiply the rate by this every `decay_every` steps.
        max_steps: cap on Adam steps. check_every: test the rule every this many steps.
        eps: the rule's MSE threshold (every sign right and training MSE <= eps).
        batchnorm: batch normalization between the first layer and the activation.
        activation: "relu" (the experiment) or "abs" (the even control: f(-x) = f(x), no linear
            part; use with hidden_bias=False, batchnorm=False). hidden_bias: learn hidden biases b_j.
    """

    lr: float = 1e-2
    lr_decay: float = 1.0
    decay_every: int = 1000
    max_steps: int = 2000
    check_every: int = 5
    eps: float = 0.1
    batchnorm: bool = True
    activation: str = "relu"
    hidden_bias: bool = True

    def __post_init__(self):
        if not (math.isfinite(self.lr) and self.lr > 0 and 0 < self.lr_decay <= 1):
            raise InputError(f"need a finite lr > 0 and 0 < lr_decay <= 1, got {self.lr}, {self.lr_decay}")
        check_activation(self.activation)
        if min(self.max_steps, self.check_every, self.decay_every) < 1:
            raise InputError("max_steps, check_every and decay_every must be >= 1")
        if not (self.eps > 0 and math.isfinite(self.eps)):
            raise InputError(f"eps must be a positive number, got {self.eps!r}")


@dataclass(frozen=True)
class UnitSettings(TrainSettings):
    """Everything a unit's rows depend on besides (d, rule, seed) and the device.

    Attributes (besides `TrainSettings`'): n: training points. probe_points: T, the random points
    of the gradient probe. The defaults are a live run's; the paper uses n = 10^4 and T = 1000.
    """

    n: int = 300
    probe_points: int = 500

    def __post_init__(self):
        super().__post_init__()
        if self.n < 2:
            raise InputError(f"n must be at least 2 points, got {self.n}")
        if self.probe_points < 1:
            raise InputError(f"probe_points must be >= 1, got {self.probe_points}")

    def settings(self) -> dict[str, Any]:
        """The record of these settings that progress files and results carry (and are keyed on)."""
        return {
            **{f.name: getattr(self, f.name) for f in fields(UnitSettings)},
            "optimizer": "Adam (full batch, betas 0.9/0.999), squared loss",
            "init": "PyTorch default (nn.Linear, nn.BatchNorm1d)", "dtype": "float32",
        }


def unit_settings(record: dict[str, Any]) -> dict[str, Any]:
    """The `UnitSettings` fields of a settings record (`UnitSettings.settings()`), as keywords."""
    return {f.name: record[f.name] for f in fields(UnitSettings)}


def run_unit(settings: UnitSettings, d: int, rule: str, seeds: Sequence[int],
             device: "torch.device | str" = "cpu",
             progress: Callable[[int, "torch.Tensor", "torch.Tensor"], None] | None = None) -> list[dict]:
    """Train the networks of (d, rule), one per seed, as one stack; probe them; one row per seed.

    Args:
        settings: n, training and probe settings. d: input dimension. rule: a width rule name.
        seeds: each draws its run's data, initialization and probe points (`core.data.derived_seed`).
        device: where the stack trains. progress: optional callable(step, mse [S], done [S]).
    Returns rows with the columns of the shipped sweep (`core.results.random_data.COLUMNS`) except
    the device: d, rule, seed, n, k, p, steps, train_mse, memorized, grad_max, grad_mean, lin_norm,
    nonlin_max, grad_max_init, ls_slope_norm, lin_ls_cos, activation, wall_s (of the whole stack),
    stack_size and gflop (matmul GFLOP spent on each network).
    """
    import torch

    from core.experiments.random_net import (
        MemorizationRule,
        gradient_diagnostics,
        least_squares_slopes,
        matmul_flops_per_step,
        train_stack,
    )

    device = torch.device(device)
    width = get_width_rule(rule)
    k = width(settings.n, d)
    start = time.perf_counter()
    xs, ys = zip(*(random_data_of_run(settings.n, d, s) for s in seeds))
    x = torch.from_numpy(np.stack(xs)).to(device)
    y = torch.from_numpy(np.stack(ys)).to(device)
    # The least-squares slope of each run's own data: the linear part training can fit.
    betas = least_squares_slopes(x, y)
    outcome = train_stack(x, y, k, [derived_seed(s, d, rule, "init") for s in seeds], settings,
                          MemorizationRule(settings.eps), progress=progress)
    z = torch.from_numpy(np.stack([random_points(d, settings.probe_points, derived_seed(s, d, "probe"))
                                   for s in seeds])).to(device)
    with torch.no_grad():
        trained = gradient_diagnostics(outcome.nets, z)
        at_init = gradient_diagnostics(outcome.init_nets, z)
    stats = {name: getattr(trained, name).cpu().numpy().astype(np.float64)
             for name in ("grad_max", "grad_mean", "lin_norm", "nonlin_max")}
    stats["grad_max_init"] = at_init.grad_max.cpu().numpy().astype(np.float64)
    stats["ls_slope_norm"] = betas.norm(dim=1).cpu().numpy()
    stats["lin_ls_cos"] = torch.nn.functional.cosine_similarity(
        trained.mean_gradient.double(), betas, dim=1).cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    gflop = outcome.steps_run * matmul_flops_per_step(settings.n, d, k) / 1e9
    return [
        {"d": int(d), "rule": rule, "seed": int(s), "n": settings.n, "k": int(k),
         "p": int(width.param_count(settings.n, d)), "steps": outcome.steps[j],
         "train_mse": outcome.mse[j], "memorized": outcome.memorized[j],
         **{name: float(values[j]) for name, values in stats.items()},
         "activation": settings.activation,
         "wall_s": round(wall, 3), "stack_size": len(seeds), "gflop": round(gflop, 3)}
        for j, s in enumerate(seeds)
    ]
