"""The random-data experiment, small enough to run live from the page on a laptop CPU.

Same experiment as `training.random_data` (Bubeck, Li and Nagaraj, COLT 2021, arXiv:2009.14444),
same unit (`core.experiments.random_data_unit.run_unit`): n points x_i ~ N(0, I_d / d) with random
labels +-1, a two-layer network per width rule (ReLU with batch normalization, or the even control:
|u|, no hidden biases, no batch normalization), full-batch Adam on the squared loss until it
memorizes (every sign right and training MSE <= eps), then the maximum random gradient over fresh
points and its diagnostics. Sizes are capped (n <= 500, at most 5 dimensions of at most 1000, at
most 3 seeds) so the whole run stays within about 30 seconds.

The config is torch-free; `run_mini_sweep` imports torch when called. The app calls it only in its
live-training worker process (`core.experiments.live_training`), never in the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core.errors import InputError
from core.experiments.random_data_unit import UnitSettings
from core.specs import WIDTH_RULES, get_width_rule

N_RANGE = (50, 500)
D_RANGE = (2, 1000)
MAX_DIMS = 5
MAX_SEEDS = 3
MAX_STEPS = 20_000
MAX_PROBE_POINTS = 5000


@dataclass(frozen=True)
class MiniSweepConfig(UnitSettings):
    """A live mini-sweep: the unit's settings (`UnitSettings`, whose defaults are a live run's:
    n = 300, lr 1e-2, at most 2,000 steps, 500 probe points) and which units to run.

    Attributes (besides `UnitSettings`'): d_values: up to 5 distinct dimensions in [2, 1000].
    rules: width rules (core.specs). seeds: up to 3; each seed draws its own data, init and probe.
    n is capped to [50, 500], max_steps to 20,000 and probe_points to 5,000.
    """

    d_values: tuple[int, ...] = (20, 80, 320)
    rules: tuple[str, ...] = ("f_n", "f_nd")
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self):
        super().__post_init__()
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
        if not (self.max_steps <= MAX_STEPS and self.probe_points <= MAX_PROBE_POINTS):
            raise InputError(f"max_steps must be in [1, {MAX_STEPS}] and probe_points in "
                             f"[1, {MAX_PROBE_POINTS}]")

    def units(self) -> list[tuple[int, str]]:
        """(d, rule) pairs in run order; every seed of a pair trains at once, as one stack."""
        return [(d, rule) for d in sorted(self.d_values) for rule in self.rules]


def run_mini_sweep(cfg: MiniSweepConfig,
                   progress: Callable[[int, int, tuple[int, str]], None] | None = None) -> list[dict]:
    """Run every (d, rule) unit of cfg on the CPU; `progress(done, total, unit)` is called before
    each unit and once at the end (with unit = the last one). Returns the rows (those of
    `run_unit`), sorted by (d, rule, seed)."""
    import torch

    from core.experiments.random_data_unit import run_unit

    units = cfg.units()
    rows: list[dict] = []
    # These matmuls are tiny: one thread is fastest, and on a busy CPU torch's thread pool can be
    # a hundred times slower than one thread (measured: 9 s against 0.09 s for one unit).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i, (d, rule) in enumerate(units):
            if progress is not None:
                progress(i, len(units), (d, rule))
            rows.extend(run_unit(cfg, d, rule, cfg.seeds))
    finally:
        torch.set_num_threads(threads)
    if progress is not None:
        progress(len(units), len(units), units[-1])
    return sorted(rows, key=lambda r: (r["d"], r["rule"], r["seed"]))
