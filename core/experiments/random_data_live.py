"""The random-data experiment, small enough to run live from the page on a laptop CPU.

Same experiment as `training.random_data` (Bubeck, Li and Nagaraj, COLT 2021, arXiv:2009.14444),
same model and training code (`core.experiments.random_net`): n points x_i ~ N(0, I_d / d) with random labels
+-1, a two-layer network per width rule (ReLU with batch normalization, or the even control: |u|, no
hidden biases, no batch normalization), full-batch Adam on the squared loss until it memorizes
(every sign right and training MSE <= eps), then the maximum random gradient over fresh points and
its diagnostics. Sizes are capped (n <= 500, at most 5 dimensions of at most 1000, at most 3 seeds)
so the whole run stays within about 30 seconds.

The config is torch-free; `run_mini_sweep` imports torch when called. The app calls it only in its
live-training worker process (`core.experiments.live_training`), never in the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.data import derived_seed, random_data_of_run
from core.errors import InputError
from core.experiments.probes import random_points
from core.specs import WIDTH_RULES, get_width_rule

N_RANGE = (50, 500)
D_RANGE = (2, 1000)
MAX_DIMS = 5
MAX_SEEDS = 3


@dataclass(frozen=True)
class MiniSweepConfig:
    """A live mini-sweep.

    Attributes:
        n: training points, in [50, 500]. d_values: up to 5 distinct dimensions in [2, 1000].
        rules: width rules (core.specs). seeds: up to 3; each seed draws its own data, init and probe.
        lr: Adam learning rate (higher than the shipped sweep's 1e-3, so that small runs finish
        fast). max_steps: step cap. probe_points: T of the maximum random gradient.
        eps: the memorization rule's MSE threshold. batchnorm, activation, hidden_bias: the network
        (`core.experiments.random_net.TrainSettings`); the even control is activation="abs",
        hidden_bias=False, batchnorm=False.
    """

    n: int = 300
    d_values: tuple[int, ...] = (20, 80, 320)
    rules: tuple[str, ...] = ("f_n", "f_nd")
    seeds: tuple[int, ...] = (0,)
    lr: float = 1e-2
    max_steps: int = 2000
    probe_points: int = 500
    eps: float = 0.1
    batchnorm: bool = True
    activation: str = "relu"
    hidden_bias: bool = True

    def __post_init__(self):
        if not N_RANGE[0] <= self.n <= N_RANGE[1]:
            raise InputError(f"n must be in [{N_RANGE[0]}, {N_RANGE[1]}] for a live run, got {self.n}")
        d = self.d_values
        if not d or len(d) > MAX_DIMS or len(set(d)) != len(d):
            raise InputError(f"pick 1 to {MAX_DIMS} distinct dimensions, got {list(d)}")
        if min(d) < D_RANGE[0] or max(d) > D_RANGE[1]:
            raise InputError(f"dimensions must be in [{D_RANGE[0]}, {D_RANGE[1]}], got {list(d)}")
        if not self.rules:
            raise InputError(f"pick at least one width rule of {', '.join(WIDTH_RULES)}")
        for rule in self.rules:
            get_width_rule(rule)
        if not self.seeds or len(self.seeds) > MAX_SEEDS or min(self.seeds) < 0:
            raise InputError(f"pick 1 to {MAX_SEEDS} non-negative seeds, got {list(self.seeds)}")
        if not (1 <= self.max_steps <= 20_000 and 1 <= self.probe_points <= 5000):
            raise InputError("max_steps must be in [1, 20000] and probe_points in [1, 5000]")
        if self.activation not in ("relu", "abs"):
            raise InputError(f"activation must be relu or abs, got {self.activation!r}")

    def units(self) -> list[tuple[int, str]]:
        """(d, rule) pairs in run order; every seed of a pair trains at once, as one stack."""
        return [(d, rule) for d in sorted(self.d_values) for rule in self.rules]


def run_unit(cfg: MiniSweepConfig, d: int, rule: str) -> list[dict]:
    """Train every seed of (d, rule) as one stack and probe it; one row per seed.

    Rows have the keys of the shipped sweep that the page uses: d, rule, seed, n, k, p, steps,
    train_mse, memorized, grad_max, grad_mean, the diagnostics, activation and wall_s.
    """
    import torch

    from core.experiments.random_net import (
        MemorizationRule, TrainSettings, gradient_diagnostics, least_squares_slopes, train_stack,
    )

    start = time.perf_counter()
    width = get_width_rule(rule)
    k = width(cfg.n, d)
    seeds = list(cfg.seeds)
    data = [random_data_of_run(cfg.n, d, s) for s in seeds]
    x = torch.from_numpy(np.stack([xy[0] for xy in data]))
    y = torch.from_numpy(np.stack([xy[1] for xy in data]))
    settings = TrainSettings(lr=cfg.lr, max_steps=cfg.max_steps, check_every=5, eps=cfg.eps,
                             batchnorm=cfg.batchnorm, activation=cfg.activation,
                             hidden_bias=cfg.hidden_bias)
    outcome = train_stack(x, y, k, [derived_seed(s, d, rule, "init") for s in seeds], settings,
                          MemorizationRule(cfg.eps))
    z = torch.from_numpy(np.stack([random_points(d, cfg.probe_points, derived_seed(s, d, "probe"))
                                   for s in seeds]))
    with torch.no_grad():
        trained = gradient_diagnostics(outcome.nets, z)
        at_init = gradient_diagnostics(outcome.init_nets, z)
    betas = least_squares_slopes(x, y)
    cosines = torch.nn.functional.cosine_similarity(trained.mean_gradient.double(), betas, dim=1)
    wall = time.perf_counter() - start
    return [
        {"d": int(d), "rule": rule, "seed": int(s), "n": cfg.n, "k": int(k),
         "p": int(width.param_count(cfg.n, d)), "steps": outcome.steps[j], "train_mse": outcome.mse[j],
         "memorized": outcome.memorized[j], "grad_max": float(trained.grad_max[j]),
         "grad_mean": float(trained.grad_mean[j]), "grad_max_init": float(at_init.grad_max[j]),
         "lin_norm": float(trained.lin_norm[j]), "nonlin_max": float(trained.nonlin_max[j]),
         "ls_slope_norm": float(betas[j].norm()), "lin_ls_cos": float(cosines[j]),
         "activation": cfg.activation,
         "wall_s": round(wall, 3)}
        for j, s in enumerate(seeds)
    ]


def run_mini_sweep(cfg: MiniSweepConfig,
                   progress: Callable[[int, int, tuple[int, str]], None] | None = None) -> list[dict]:
    """Run every (d, rule) unit of cfg; `progress(done, total, unit)` is called before each unit
    and once at the end (with unit = the last one). Returns the rows, sorted by (d, rule, seed)."""
    import torch

    units = cfg.units()
    rows: list[dict] = []
    # These matmuls are tiny: one thread is fastest, and on a busy CPU torch's thread pool can be
    # a hundred times slower than one thread (measured: 9 s against 0.09 s for one unit).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i, unit in enumerate(units):
            if progress is not None:
                progress(i, len(units), unit)
            rows.extend(run_unit(cfg, *unit))
    finally:
        torch.set_num_threads(threads)
    if progress is not None:
        progress(len(units), len(units), units[-1])
    return sorted(rows, key=lambda r: (r["d"], r["rule"], r["seed"]))
