"""What the recap page reads from `pretrained/recap/`: the intrinsic dimension of MNIST.

    pretrained/recap/intrinsic_dim.json   written by `python -m training.intrinsic_dim`
    pretrained/recap/manifest.json        its sha256 (checked before every read)

The Levina-Bickel estimate (core.experiments.intrinsic_dim) of MNIST's training images, computed once offline
with its provenance (images used, neighbours k, seed, library versions). json only: the app reads
it without torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import core.results.pretrained as pretrained
from core.results.pretrained import PretrainedError, read_verified_json

RECAP_SUBDIR = "recap"
INTRINSIC_DIM_FILE = "intrinsic_dim.json"
REGENERATE_RECAP = "python -m training.intrinsic_dim --data-dir ../shared/data"
# The calculator's fallback when the estimate is missing: MNIST's pixel count, i.e. no reduction.
FALLBACK_DIM = 784


def recap_dir(root: Path | None = None) -> Path:
    """<root>/recap; the default root is read at call time (tests and deployments repoint it)."""
    return Path(root or pretrained.PRETRAINED_DIR) / RECAP_SUBDIR


@dataclass(frozen=True)
class IntrinsicDimResult:
    """The shipped estimate and how it was made.

    Attributes:
        estimate: Levina-Bickel dimension, averaged over k = k1..k2 (MacKay-Ghahramani pooling).
        n_images: images used (a seeded random subset of the 60,000 training images).
        k1, k2: neighbour range. seed: of the subset. ambient_dim: 784.
        by_k: the estimate at single values of k ({k: value}). paper_average: the estimate with the
        paper's plain average of the local estimates, for comparison. created: ISO date.
        versions: library versions. path: the file it was read from.
    """

    estimate: float
    n_images: int
    k1: int
    k2: int
    seed: int
    ambient_dim: int
    by_k: dict[int, float]
    paper_average: float | None
    created: str
    versions: dict[str, str]
    path: Path


def load_intrinsic_dim(root: Path | None = None) -> IntrinsicDimResult:
    """The shipped MNIST intrinsic-dimension estimate.

    Raises `PretrainedError` (naming `REGENERATE_RECAP`) when the file is missing, does not match
    its manifest, is not JSON, or lacks a positive finite estimate.
    """
    path = recap_dir(root) / INTRINSIC_DIM_FILE
    meta = read_verified_json(recap_dir(root), INTRINSIC_DIM_FILE, REGENERATE_RECAP)
    try:
        estimate = float(meta["estimate"])
        n_images, k1, k2, seed = (int(meta[f]) for f in ("n_images", "k1", "k2", "seed"))
        if not (math.isfinite(estimate) and estimate > 0 and n_images > k2 >= k1 >= 2):
            raise ValueError(f"estimate {estimate}, n_images {n_images}, k {k1}..{k2} out of range")
        by_k = {int(k): float(v) for k, v in dict(meta.get("estimate_by_k", {})).items()}
        paper = meta.get("estimate_paper_average")
        return IntrinsicDimResult(
            estimate=estimate, n_images=n_images, k1=k1, k2=k2, seed=seed,
            ambient_dim=int(meta.get("ambient_dim", FALLBACK_DIM)), by_k=by_k,
            paper_average=None if paper is None else float(paper),
            created=str(meta.get("created", "")), versions=dict(meta.get("versions", {})), path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PretrainedError(
            f"{path} is not a valid intrinsic-dimension result ({exc}): regenerate it with "
            f"`{REGENERATE_RECAP}`"
        ) from None
