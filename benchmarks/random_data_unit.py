"""Where the time of one random-data unit goes: data, initialization, training, probe, least squares.

One (d, width rule) unit of `training.random_data` is timed in its parts, as
`core.experiments.random_data_unit.run_unit` does them:
drawing the data (numpy on the CPU) and moving it to the device; building the initial networks
(drawn on the CPU, per seed); training to memorization (full-batch Adam, with the checks); the
probe with its diagnostics (trained and initial networks); and the least-squares slope of the data
(float64, on the device).
Training's rate is its matmul FLOPs (`core.experiments.random_net.matmul_flops_per_step`) over its time.

    python -m benchmarks.random_data_unit                    # n=10^4, d=4960 on CUDA; n=2000, d=1000 on CPU
    python -m benchmarks.random_data_unit --n 2000 --d 1000 --stack 3 --device cpu --threads 1

Prints measured numbers; the machines are shared, so read them with the load average printed.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from core.data import derived_seed, random_data_of_run
from core.experiments.probes import random_points
from core.experiments.random_data_unit import TrainSettings
from core.experiments.random_net import (
    MemorizationRule,
    StackedTwoLayer,
    gradient_diagnostics,
    least_squares_slopes,
    matmul_flops_per_step,
    train_stack,
)
from core.specs import get_width_rule
from training.cli import DEVICE_CHOICES
from training.random_data import PAPER_D_GRID, PAPER_LR, PAPER_MAX_STEPS, PAPER_PROBE_POINTS
from training.runinfo import device_description, resolve_device


def timed(fn, device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.random_data_unit", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, help="points (default 10000 on CUDA, 2000 on CPU)")
    p.add_argument("--d", type=int, help=f"dimension (default {max(PAPER_D_GRID)} on CUDA, 1000 on CPU)")
    p.add_argument("--rule", default="f_nd", help="width rule giving k (default f_nd: k = n)")
    p.add_argument("--stack", type=int, default=1, help="networks trained at once (seeds 0..stack-1)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    cuda = device.type == "cuda"
    n = args.n or (10_000 if cuda else 2000)
    d = args.d or (max(PAPER_D_GRID) if cuda else 1000)
    k = get_width_rule(args.rule)(n, d)
    seeds = list(range(args.stack))
    settings = TrainSettings(lr=PAPER_LR, max_steps=PAPER_MAX_STEPS, check_every=5, eps=0.1)

    def data():
        xs, ys = zip(*(random_data_of_run(n, d, s) for s in seeds))
        return torch.from_numpy(np.stack(xs)).to(device), torch.from_numpy(np.stack(ys)).to(device)

    (x, y), t_data = timed(data, device)
    init_seeds = [derived_seed(s, d, args.rule, "init") for s in seeds]
    _, t_init = timed(lambda: StackedTwoLayer(d, k, init_seeds, True).to(device), device)
    outcome, t_train_total = timed(lambda: train_stack(x, y, k, init_seeds, settings,
                                                       MemorizationRule(0.1)), device)
    t_train = max(t_train_total - t_init, 1e-9)  # train_stack builds the same networks first

    def probe():
        z = torch.from_numpy(np.stack([random_points(d, PAPER_PROBE_POINTS, derived_seed(s, d, "probe"))
                                       for s in seeds])).to(device)
        with torch.no_grad():
            return gradient_diagnostics(outcome.nets, z), gradient_diagnostics(outcome.init_nets, z)

    _, t_probe = timed(probe, device)
    _, t_ls = timed(lambda: least_squares_slopes(x, y), device)
    flops = outcome.steps_run * args.stack * matmul_flops_per_step(n, d, k)
    total = t_data + t_train_total + t_probe + t_ls
    print(f"device: {device_description(device)}" + (f", {'tf32' if args.tf32 else 'fp32'}" if cuda else "")
          + f"; load average {os.getloadavg()[0]:.2f}")
    print(f"unit: n={n}, d={d}, k={k} ({args.rule}), stack={args.stack}; {outcome.steps_run} Adam steps, "
          f"memorized {sum(outcome.memorized)}/{args.stack}")
    for name, sec in (("data (draw + move)", t_data), ("initialization", t_init),
                      ("training (steps + checks)", t_train), ("probe + diagnostics", t_probe),
                      ("least-squares slope", t_ls)):
        print(f"  {name:28s} {sec:8.3f} s  {sec / total:6.1%}")
    print(f"  {'whole unit':28s} {total:8.3f} s")
    print(f"training rate: {flops / t_train / 1e12:.3f} TFLOP/s of matmuls ({flops / 1e12:.3f} TFLOP); "
          f"over the whole unit: {flops / total / 1e12:.3f} TFLOP/s")


if __name__ == "__main__":
    main()
