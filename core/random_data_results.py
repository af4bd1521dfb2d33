"""The law-of-robustness sweep as shipped in `pretrained/random_data/`, and the sqrt(d) fit.

Bubeck, Li and Nagaraj (2020, arXiv:2009.14444, sec. 5): on n random points in dimension d,
two-layer ReLU networks that memorize random labels have a maximum random gradient that grows like
sqrt(d) when k = 10 n / d (p ~ 10 n) and stays roughly flat when k = n (p ~ n d).

Files (written by `python -m training.random_data`):

    pretrained/random_data/sweep.csv    one row per (d, width rule, seed)
    pretrained/random_data/sweep.json   metadata: grid, n, seeds, settings, device, wall time,
                                        versions, fits, and the sha256 of sweep.csv

numpy and json only, so the app can read it without torch.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import InputError
from core.pretrained import (
    PRETRAINED_DIR, RANDOM_DATA_SUBDIR, REGENERATE_RANDOM_DATA, PretrainedError, read_json,
    verify_checksums,
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
    "wall_s": float,
    "stack_size": int,
    "gflop": float,
    "device": str,
}


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
    if isinstance(value, float):
        return repr(value)
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


def load_random_data_sweep(root: Path | None = None) -> tuple[list[dict], dict]:
    """The shipped sweep: rows (one dict per (d, rule, seed), keys as `COLUMNS`) and its metadata.

    Args:
        root: the pretrained folder (default `PRETRAINED_DIR`); the files are in root/random_data.
    Raises:
        PretrainedError: a file is missing, does not match its checksum or cannot be parsed; the
        message names the command that regenerates it.
    """
    folder = random_data_dir(root)
    meta = read_json(folder / METADATA_FILE, regenerate=REGENERATE_RANDOM_DATA)
    checksums = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(checksums, dict) or ROWS_FILE not in checksums:
        raise PretrainedError(
            f"{folder / METADATA_FILE} lists no checksum for {ROWS_FILE}: regenerate it with "
            f"`{REGENERATE_RANDOM_DATA}`"
        )
    verify_checksums(folder, {ROWS_FILE: checksums[ROWS_FILE]}, regenerate=REGENERATE_RANDOM_DATA)
    try:
        rows = rows_from_csv((folder / ROWS_FILE).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PretrainedError(
            f"{folder / ROWS_FILE} is corrupt ({exc}): regenerate it with `{REGENERATE_RANDOM_DATA}`"
        ) from None
    return rows, meta


def rule_series(rows: Sequence[dict], rule: str, memorized_only: bool = True) -> dict[str, np.ndarray]:
    """Columns of one width rule's rows as arrays sorted by d (memorized runs only by default).

    Returns: {"d", "seed", "k", "grad_max", "grad_mean", "train_mse", "steps"} -> arrays.
    """
    picked = sorted((r for r in rows if r["rule"] == rule and (r["memorized"] or not memorized_only)),
                    key=lambda r: (r["d"], r["seed"]))
    return {c: np.array([r[c] for r in picked])
            for c in ("d", "seed", "k", "grad_max", "grad_mean", "train_mse", "steps")}


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
