"""The intrinsic dimension of MNIST, once, offline: the default of the recap page's d_eff slider.

Levina and Bickel (NIPS 2004) maximum-likelihood estimate from k nearest neighbours, pooled over
points as MacKay and Ghahramani (2005) suggest and averaged over k = k1..k2 as in the paper
(core.experiments.intrinsic_dim). Runs on a seeded random subset of the 60,000 training images, pixels in
[0, 1] flattened to 784 numbers, and writes pretrained/recap/intrinsic_dim.json atomically with
its provenance (images used, k, seed, the estimate at single k, the paper's plain average, wall
time, versions).

    python -m training.intrinsic_dim --data-dir ../shared/data        # 10,000 images, about 20 s
    python -m training.intrinsic_dim --smoke --out /tmp/recap          # 600 images, seconds

A --smoke run records `smoke: true` and never writes into pretrained/ (by default it goes to
runs/smoke/recap); the app refuses a smoke result found there.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.data import load_mnist
from core.errors import InputError
from core.experiments.intrinsic_dim import levina_bickel, levina_bickel_range
from core.files import atomic_write_json, staged_folder
from core.results.pretrained import write_manifest
from core.results.recap import INTRINSIC_DIM_FILE, recap_dir
from core.specs import MNIST_INPUT_DIM
from training import cli
from training.runinfo import provenance_record

MNIST_TRAIN_SIZE = 60_000
SMOKE_OUT = Path("runs/smoke/recap")


@dataclass(frozen=True)
class IntrinsicDimConfig:
    """Everything the estimate depends on.

    Attributes:
        n_images: size of the random subset of training images (k2 < n_images <= 60,000).
        k1, k2: neighbour range of the Levina-Bickel estimate (2 <= k1 <= k2).
        seed: seed of the subset. data_dir: folder holding MNIST/raw (None: $MNIST_ROOT or ./data).
        out: folder for intrinsic_dim.json. smoke: a --smoke run (recorded; never into pretrained/).
    """

    n_images: int = 10_000
    k1: int = 10
    k2: int = 20
    seed: int = 0
    data_dir: Path | None = None
    out: Path = recap_dir()
    smoke: bool = False

    def __post_init__(self):
        if not 2 <= self.k1 <= self.k2:
            raise InputError(f"need 2 <= --k1 <= --k2, got {self.k1} and {self.k2}")
        if not self.k2 < self.n_images <= MNIST_TRAIN_SIZE:
            raise InputError(f"--n-images must be in ({self.k2}, {MNIST_TRAIN_SIZE}], got {self.n_images}")
        if self.seed < 0:
            raise InputError(f"--seed must be >= 0, got {self.seed}")
        cli.refuse_smoke_into_shipped(self.out, self.smoke)

    def command_line(self) -> str:
        return (f"python -m training.intrinsic_dim --n-images {self.n_images} --k1 {self.k1} "
                f"--k2 {self.k2} --seed {self.seed}")


def mnist_subset(cfg: IntrinsicDimConfig) -> np.ndarray:
    """The seeded subset of training images, float64 [n_images, 784] in [0, 1], in index order."""
    x, _ = load_mnist(True, cfg.data_dir, download=False)
    idx = np.sort(np.random.default_rng(cfg.seed).choice(len(x), size=cfg.n_images, replace=False))
    return x[idx].astype(np.float64)


def estimate(cfg: IntrinsicDimConfig, log=print) -> dict:
    """Compute the estimate and its provenance; returns the JSON record (does not write it)."""
    start = time.perf_counter()
    x = mnist_subset(cfg)
    log(f"MNIST subset: {x.shape[0]} images (seed {cfg.seed}); Levina-Bickel k = {cfg.k1}..{cfg.k2}")
    value = levina_bickel_range(x, cfg.k1, cfg.k2)
    by_k = {str(k): levina_bickel(x, k) for k in sorted({cfg.k1, cfg.k2})}
    paper = levina_bickel_range(x, cfg.k1, cfg.k2, mackay_ghahramani=False)
    return {
        "quantity": "intrinsic dimension of MNIST training images (pixels in [0, 1], 784 numbers)",
        "estimator": "Levina and Bickel 2004 maximum-likelihood estimate, local inverses pooled over "
                     "points (MacKay and Ghahramani 2005), averaged over k = k1..k2 "
                     "(core.experiments.intrinsic_dim.levina_bickel_range)",
        "estimate": value,
        "estimate_by_k": by_k,
        "estimate_paper_average": paper,
        "n_images": cfg.n_images,
        "distinct_images": int(np.unique(x, axis=0).shape[0]),
        "subset": f"numpy default_rng({cfg.seed}).choice(60000, {cfg.n_images}, replace=False)",
        "k1": cfg.k1,
        "k2": cfg.k2,
        "seed": cfg.seed,
        "ambient_dim": MNIST_INPUT_DIM,
        **provenance_record(cfg.command_line(), smoke=cfg.smoke, started=start, wall_key="wall_time_s"),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()
                   if k not in ("data_dir", "out", "smoke")},
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.intrinsic_dim", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes OUT/intrinsic_dim.json atomically; the recap page reads it.")
    cli.add_data_dir(p)
    p.add_argument("--n-images", type=cli.positive_int(MNIST_TRAIN_SIZE),
                   help="random training images to use (default 10000; 600 with --smoke)")
    p.add_argument("--k1", type=cli.positive_int(MNIST_TRAIN_SIZE), default=IntrinsicDimConfig.k1,
                   help="smallest neighbour count")
    p.add_argument("--k2", type=cli.positive_int(MNIST_TRAIN_SIZE), default=IntrinsicDimConfig.k2,
                   help="largest neighbour count")
    cli.add_seed(p, "seed of the subset")
    cli.add_out(p, f"output folder (default: pretrained/recap; {SMOKE_OUT} with --smoke)")
    cli.add_smoke(p, "600 images (unless --n-images is given): the whole pipeline in seconds (tests); "
                     "never into pretrained/")
    return p


def write_results(out: Path, record: dict) -> Path:
    """Write intrinsic_dim.json and the folder's manifest, swapping the folder in whole."""
    with staged_folder(Path(out)) as stage:
        atomic_write_json(stage / INTRINSIC_DIM_FILE, record)
        write_manifest(stage, "training.intrinsic_dim")
    return Path(out) / INTRINSIC_DIM_FILE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        n_images = args.n_images or (600 if args.smoke else IntrinsicDimConfig.n_images)
        out = cli.or_default(args.out, SMOKE_OUT if args.smoke else IntrinsicDimConfig.out)
        cfg = IntrinsicDimConfig(n_images=n_images, k1=args.k1, k2=args.k2, seed=args.seed,
                                 data_dir=args.data_dir, out=out, smoke=args.smoke)
        # The training set (float32), the subset (float64, and a copy) and the distance blocks
        # of core.experiments.intrinsic_dim (about 64 MB each).
        cli.check_memory(4.0 * MNIST_TRAIN_SIZE * MNIST_INPUT_DIM + 16.0 * n_images * MNIST_INPUT_DIM
                         + 2**28, "the estimate (--n-images)", hint="use a smaller --n-images")
        record = estimate(cfg, log=lambda m: print(m, file=sys.stderr))
        path = write_results(cfg.out, record)
        print(f"wrote {path}: intrinsic dimension {record['estimate']:.2f} "
              f"({record['n_images']} images, k = {cfg.k1}..{cfg.k2}, {record['wall_time_s']} s)")
        return 0

    return cli.run_main(body)


if __name__ == "__main__":
    sys.exit(main())
