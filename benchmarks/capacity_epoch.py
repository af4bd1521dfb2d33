"""Print the throughput of one training epoch per width of the capacity sweep on this machine.

For every width h of `training.capacity` (784 -> h -> 10), the images/s of a standard Adam step and
of an adversarial one (FGSM with a random start at eps = 0.1, `core.attacks.adversarial_training`), at
batch 128 on MNIST-shaped random data, and the seconds one epoch of 60,000 images would take;
with `--pgd`, also one 10-step PGD evaluation pass. The numbers depend on the machine's load: the
load average and the thread count are printed with them.

Run: .venv/bin/python -m benchmarks.capacity_epoch [--steps 40] [--threads 2] [--pgd]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per width (default: 40)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--widths", type=int, nargs="+", default=None, help="default: the sweep's widths")
    parser.add_argument("--pgd", action="store_true", help="also time a 10-step PGD pass (evaluation)")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from core.attacks.adversarial_training import adversarial_step, pgd
    from core.runtimes.models import build_mlp
    from training.capacity import BATCH_SIZE, WIDTHS, width_spec

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH_SIZE, 784, generator=gen)
    y = torch.randint(0, 10, (BATCH_SIZE,), generator=gen)
    print(f"threads {args.threads}, batch {BATCH_SIZE}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'h':>6} {'params':>10} {'standard img/s':>15} {'epoch s':>8} {'FGSM-RS img/s':>14} {'epoch s':>8}"
          + (f" {'PGD-10 img/s':>13}" if args.pgd else ""))
    for h in args.widths or WIDTHS:
        spec = width_spec(h)
        model = build_mlp(spec, seed=0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def standard():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def timed(fn) -> float:
            fn()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                fn()
            return args.steps * BATCH_SIZE / (time.perf_counter() - t0)

        std = timed(standard)
        adv = timed(lambda: adversarial_step(model, opt, x, y, 0.1, generator=gen))
        row = f"{h:>6} {spec.param_count:>10,} {std:>15,.0f} {60000 / std:>8.1f} {adv:>14,.0f} {60000 / adv:>8.1f}"
        if args.pgd:
            row += f" {timed(lambda: pgd(model, x, y, 0.1, 10, gen)):>13,.0f}"
        print(row, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
