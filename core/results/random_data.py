"""The law-of-robustness sweeps as shipped in `pretrained/random_data/`, and the sqrt(d) fit.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444) report that two-layer ReLU networks that
memorize random labels on n points in dimension d have a maximum random gradient that grows like
sqrt(d) when k = 10 n / d (p ~ 10 n) and stays roughly flat when k = n (p ~ n d).

Three grids are shipped (`SHIPPED_GRIDS`), each in its own folder under pretrained/random_data/,
written by `python -m training.random_data ... --out <folder>`:

    sweep.csv       one row per (d, width rule, seed), columns `COLUMNS`
    sweep.json      metadata: grid, n, seeds, settings, devices, wall time, versions, command, fits,
                    and the sha256 of sweep.csv
    manifest.json   the sha256 of both, which the app checks (`core.results.pretrained.verified_path`)

numpy and json only, so the app can read them without torch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import InputError
from core.results.pretrained import (
    PRETRAINED_DIR,
    RANDOM_DATA_SUBDIR,
    PretrainedError,
    fixes,
    read_verified_json,
    verified_path,
)

ROWS_FILE = "sweep.csv"
METADATA_FILE = "sweep.json"

# Column name -> type, in file order.
COLUMNS: dict[str, type] = {
    "d": int,
    "rule": str,
    "seed": int,
    "n": int,
    "k": int,
    "p": int,
    "steps": int,
    "train_mse": float,
    "memorized": bool,
    "grad_max": float,
    "grad_mean": float,
    # Diagnostics of the maximum gradient (NaN where a run did not record them): the same probe on
    # the network at initialization; the norm of the mean probe gradient (the linear part) and the
    # largest deviation from it; the least-squares slope norm of the run's own training data, and
    # the cosine between that slope and the linear part.
    "grad_max_init": float,
    "lin_norm": float,
    "nonlin_max": float,
    "ls_slope_norm": float,
    "lin_ls_cos": float,
    "activation": str,
    "wall_s": float,
    "stack_size": int,
    "gflop": float,
    "device": str,
}


DIAGNOSTIC_COLUMNS = ("grad_max_init", "lin_norm", "nonlin_max", "ls_slope_norm", "lin_ls_cos")


@dataclass(frozen=True)
class ShippedGrid:
    """One shipped sweep: its folder under pretrained/random_data/, a title, and how to rebuild it.

    Attributes:
        key: registry key. folder: sub-folder of pretrained/random_data/. title: for the page.
        regenerate: the command that writes the folder again (from the project root).
    """

    key: str
    folder: str
    title: str
    regenerate: str

    def path(self, root: Path | None = None) -> Path:
        return random_data_dir(root) / self.folder

    def fix(self, root: Path | None = None) -> str:
        """What to do when its files are missing or damaged: the quick fix first, then the slow one."""
        return fixes(self.path(root), self.regenerate)


SHIPPED_GRIDS: dict[str, ShippedGrid] = {
    g.key: g
    for g in (
        ShippedGrid("paper", "paper_n10000",
                    "The paper's scale: n = 10,000, d = 10 to 4960, one seed (a GPU run)",
                    "python -m training.random_data --merge "
                    "../shared/results/random_data_gpu/n10000_batchnorm_seed0.jsonl "
                    "--out pretrained/random_data/paper_n10000"),
        ShippedGrid("laptop", "laptop_n2000",
                    "A laptop's scale: n = 2000, d = 20 to 1000, three seeds (a CPU run)",
                    "python -m training.random_data --quick --threads 1 "
                    "--out pretrained/random_data/laptop_n2000"),
        ShippedGrid("control", "control_abs_n2000",
                    "The even control: |u| instead of relu, no hidden biases, no batch norm "
                    "(n = 2000, a CPU run)",
                    "python -m training.random_data --quick --activation abs --no-hidden-bias "
                    "--no-batchnorm --threads 1 --out pretrained/random_data/control_abs_n2000"),
    )
}


def get_shipped_grid(key: str) -> ShippedGrid:
    try:
        return SHIPPED_GRIDS[key]
    except (KeyError, TypeError):
        raise InputError(f"unknown sweep {key!r}: choose one of {', '.join(SHIPPED_GRIDS)}") from None


def random_data_dir(root: Path | None = None) -> Path:
    return Path(root or PRETRAINED_DIR) / RANDOM_DATA_SUBDIR


def _parse(value: str, kind: type) -> Any:
    if kind is bool:
        if value not in ("true", "false"):
            raise ValueError(f"expected true/false, got {value!r}")
        return value == "true"
    return kind(value)


def format_value(value: Any) -> str:
    """How a row value is written to the CSV (booleans as true/false, floats round-trip exactly)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # numpy 2's repr of np.float64 is "np.float64(...)"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def rows_to_csv(rows: Sequence[dict]) -> str:
    """The CSV text of rows (dicts with every column of `COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([format_value(row[c]) for c in COLUMNS])
    return buf.getvalue()


def rows_from_csv(text: str) -> list[dict]:
    """Parse the CSV text written by `rows_to_csv`; raises ValueError on a bad header or value."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != list(COLUMNS):
        raise ValueError(f"unexpected header {header}, expected {list(COLUMNS)}")
    rows = []
    for i, line in enumerate(reader, start=2):
        if len(line) != len(COLUMNS):
            raise ValueError(f"line {i} has {len(line)} fields, expected {len(COLUMNS)}")
        rows.append({c: _parse(v, t) for (c, t), v in zip(COLUMNS.items(), line)})
    return rows


def load_random_data_sweep(root: Path | None = None, grid: str = "laptop") -> tuple[list[dict], dict]:
    """A shipped sweep: rows (one dict per (d, rule, seed), keys as `COLUMNS`) and its metadata.

    Both files are checked against the folder's manifest.json first (`core.results.pretrained`).

    Args:
        root: the pretrained folder (default `PRETRAINED_DIR`).
        grid: which shipped sweep (`SHIPPED_GRIDS`: "paper", "laptop" or "control").
    Raises:
        PretrainedError: a file or the manifest is missing, a file does not match its checksum or
        cannot be parsed, or the folder holds the output of a `--smoke` run; the message gives the
        quick fix (restore from git) and the slow one (the command that regenerates it).
    """
    spec = get_shipped_grid(grid)
    folder = spec.path(root)
    meta = read_verified_json(folder, METADATA_FILE, spec.regenerate)
    if not isinstance(meta, dict):
        raise PretrainedError(f"{folder / METADATA_FILE} is not a sweep's metadata. {spec.fix(root)}")
    if meta.get("preset") == "smoke":
        raise PretrainedError(f"{folder} holds the output of a --smoke run (a tiny pipeline test, not "
                              f"a result). {spec.fix(root)}")
    rows_path = verified_path(folder, ROWS_FILE, spec.regenerate)
    try:
        rows = rows_from_csv(rows_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PretrainedError(f"{rows_path} is corrupt ({exc}). {spec.fix(root)}") from None
    return rows, meta


def fit_sqrt_d(d: Sequence[float], values: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line values ~ slope * sqrt(d) + intercept; returns (slope, intercept, r^2).

    Args:
        d: dimensions (> 0), one per value; at least two distinct. values: same length, finite.
    r^2 = 1 - SS_res / SS_tot (1.0 when the values are all equal, since the line fits exactly).
    """
    d = np.asarray(d, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if d.shape != v.shape:
        raise InputError(f"d and values must have the same length, got {d.size} and {v.size}")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(v))) or np.any(d <= 0):
        raise InputError("d must be positive and finite, and values finite")
    if np.unique(d).size < 2:
        raise InputError(f"need at least two distinct values of d to fit a line, got {np.unique(d)}")
    s = np.sqrt(d)
    design = np.stack([s, np.ones_like(s)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(design, v, rcond=None)
    ss_res = float(np.sum((v - (slope * s + intercept)) ** 2))
    ss_tot = float(np.sum((v - v.mean()) ** 2))
    r2 = 1.0 if ss_tot == 0.0 else 1.0 - ss_res / ss_tot
    return float(slope), float(intercept), float(r2)
