"""Print what the class board's measures of one drawing cost, and how exact the bounded PGD search is.

For each of the four shipped networks (f_n, f_nd, f_n_adv, f_nd_adv), on one thread:

* ms per drawing of the clean answer + smallest flipping FGSM eps (`core.attacks.flip.smallest_flip_eps`)
  and of the smallest flipping PGD eps (`core.attacks.pgd_flip.smallest_pgd_flip_eps`, exact and with
  --coarse-every), on shipped test digits and on a few synthetic drawings (blank, a bar, a ring, a
  cross, noise), then the four networks' `core.attacks.board.board_measures` per drawing in total;
* agreement with the brute-force scan (`pgd_flip_scan`: `pgd_linf` on the image alone at each eps
  of the grid in turn) on --images shipped test digits: exact, within one coarse step, and the time
  the scan takes.

Run: .venv/bin/python -m benchmarks.board_flip [--images 50] [--timing 20] [--coarse-every 4] [--no-scan]
"""

from __future__ import annotations

import os

# One core: the board's worker gives each drawing one thread (set before numpy/onnxruntime load).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

NETWORKS = ("f_n", "f_nd", "f_n_adv", "f_nd_adv")


def synthetic_drawings() -> dict[str, np.ndarray]:
    """A few drawings a student could send, [784] float32 in [0, 1]: blank, a bar (a 1), a ring (a 0),
    a cross, and uniform noise."""
    yy, xx = np.mgrid[0:28, 0:28]
    r = np.hypot(yy - 13.5, xx - 13.5)
    shapes = {
        "blank": np.zeros((28, 28)),
        "bar": ((np.abs(xx - 14) <= 1) & (yy >= 4) & (yy <= 23)).astype(float),
        "ring": (np.abs(r - 8) <= 1.5).astype(float),
        "cross": ((np.abs(xx - yy) <= 1) | (np.abs(xx + yy - 27) <= 1)).astype(float) * ((r <= 10)),
        "noise": np.random.default_rng(0).random((28, 28)),
    }
    return {k: v.reshape(784).astype(np.float32) for k, v in shapes.items()}


def _ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _line(label: str, values: list[float]) -> str:
    return (f"{label:<34} median {statistics.median(values):7.1f} ms  mean {statistics.mean(values):7.1f}  "
            f"max {max(values):7.1f}  (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50, help="shipped test digits compared with the scan")
    parser.add_argument("--timing", type=int, default=20, help="shipped test digits timed")
    parser.add_argument("--coarse-every", type=int, default=4, help="the coarse-then-refine setting compared")
    parser.add_argument("--no-scan", action="store_true", help="skip the brute-force comparison")
    args = parser.parse_args()

    from core.attacks.board import board_measures
    from core.attacks.flip import FLIP_GRID, FLIP_GRID_STEP, smallest_flip_eps
    from core.attacks.pgd_flip import pgd_flip_scan, smallest_pgd_flip_eps
    from core.results.classifiers import load_classifier
    from core.results.pretrained import load_sample

    nets = {name: load_classifier(name, threads=1) for name in NETWORKS}
    images, _ = load_sample()
    drawings = {f"test {i}": images[i] for i in range(args.timing)} | synthetic_drawings()
    k = args.coarse_every
    print(f"grid: {len(FLIP_GRID)} budgets, 0..{FLIP_GRID[-1]} step {FLIP_GRID_STEP}; 1 thread; "
          f"{args.timing} shipped test digits + {len(drawings) - args.timing} synthetic drawings")

    for net in nets.values():  # warm-up: first runs allocate and pick kernels
        smallest_pgd_flip_eps(net, images[:1])
    print("\nms per drawing, per network")
    for name, net in nets.items():
        fgsm, exact, coarse = [], [], []
        for x in drawings.values():
            x = x[None]
            fgsm.append(_ms(lambda: (net.predict_proba(x), smallest_flip_eps(net, x))))
            exact.append(_ms(lambda: smallest_pgd_flip_eps(net, x)))
            coarse.append(_ms(lambda: smallest_pgd_flip_eps(net, x, coarse_every=k)))
        print(_line(f"{name} clean + FGSM", fgsm))
        print(_line(f"{name} PGD exact (1 batch)", exact))
        print(_line(f"{name} PGD coarse every {k} + refine", coarse))

    print("\nms per drawing, the four networks' board_measures in total")
    for every in (1, k):
        totals = [_ms(lambda: board_measures(nets, x, pgd_coarse_every=every)) for x in drawings.values()]
        print(_line(f"board_measures, pgd_coarse_every={every}", totals))
    for label, x in synthetic_drawings().items():
        m = board_measures(nets, x)
        print(f"  {label:<6} " + "  ".join(
            f"{n}: {v.label} ({v.confidence:.2f}) fgsm {v.fgsm_eps:g} pgd {v.pgd_eps:g}"
            for n, v in m.items()))

    if args.no_scan:
        return
    print(f"\nagreement with the brute-force scan on {args.images} shipped test digits")
    x = images[:args.images]
    step = FLIP_GRID_STEP * k
    for name, net in nets.items():
        start = time.perf_counter()
        scan = pgd_flip_scan(net, x)
        scan_ms = (time.perf_counter() - start) * 1e3 / len(x)
        fast = {every: smallest_pgd_flip_eps(net, x, coarse_every=every) for every in (1, k)}
        parts = [f"{name:<9} scan {scan_ms:6.0f} ms/image, never flips {int(np.isinf(scan).sum())}/{len(x)}"]
        for every, got in fast.items():
            same = got == scan
            both = np.isfinite(got) & np.isfinite(scan)
            near = same | (both & (np.abs(got - scan) <= step + 1e-9))
            parts.append(f"every={every}: exact {same.mean():.0%}, within {step:g} {near.mean():.0%}, "
                         f"below scan {int((got < scan).sum())}")
        print(";  ".join(parts))


if __name__ == "__main__":
    main()
