"""The law-of-robustness sweep: the maximum random gradient of networks that memorize random labels.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444; the talk's experiment with n = 10^4): n points
x_i ~ N(0, I_d / d) with labels y_i uniform in {+1, -1}; for each d in the grid and each width rule
(k = n, "f_nd", p ~ n d; k = ceil(10 n / d), "f_n", p ~ 10 n) a two-layer ReLU network (by our
choice with batch norm between the first layer and the ReLU) is trained with full-batch Adam on the
squared loss until it memorizes: sign(f(x_i)) = y_i for all i and training MSE <= eps. Its maximum
random gradient max_j ||grad f(z_j)||_2 over fresh z_j ~ N(0, I_d / d) is the Lipschitz proxy.

Each row also records diagnostics of that maximum (see `core.results.random_data.COLUMNS`): the
same probe at initialization, the linear part ||mean_j grad f(z_j)|| and the largest deviation from
it, and the least-squares slope norm of the run's own data. `--activation abs --no-hidden-bias
--no-batchnorm` trains the even control (f(-x) = f(x): no linear part).

    python -m training.random_data                 # the paper's grid: n = 10^4, d = 10, 60, ..., 4960
    python -m training.random_data --quick         # a CPU-sized grid (n = 2000, d = 20..1000)
    python -m training.random_data --smoke         # the whole pipeline, tiny, in seconds
    python -m training.random_data --shard 1/4     # a quarter of the d-grid (one machine of four)
    python -m training.random_data --merge runs/random_data/rows-*.shard-*.jsonl --out DIR

Every seed of a (d, rule) pair is trained at once as one stack of networks (batched matmuls), by
the unit the app's live run uses too (`core.experiments.random_data_unit`).
Finished rows are appended to a JSONL progress file in --work-dir (one full line per row, fsync'd),
so a killed run resumes where it stopped; a truncated last line is dropped. When every row of the
grid is there, the sweep is written as sweep.csv and sweep.json (metadata, fits of the maximum
gradient against sqrt(d), sha256) to --out, or without --out to a folder under --work-dir: the
shipped results in pretrained/ change only when --out names them, and never with --smoke.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from core.data import random_data_of_run
from core.errors import InputError
from core.experiments.random_data_unit import ACTIVATIONS, UnitSettings, run_unit, unit_settings
from core.experiments.random_net import least_squares_slopes, matmul_flops_per_step
from core.files import atomic_write_bytes, atomic_write_json, sha256_file, staged_folder
from core.results.pretrained import write_manifest
from core.results.random_data import (
    COLUMNS,
    DIAGNOSTIC_COLUMNS,
    METADATA_FILE,
    ROWS_FILE,
    fit_sqrt_d,
    rows_to_csv,
)
from core.specs import get_width_rule
from training import cli
from training.runinfo import (
    device_description,
    library_versions,
    provenance_record,
    resolve_device,
    seed_everything,
)

PAPER_D_GRID = tuple(range(10, 5001, 50))  # 10, 60, ..., 4960: 100 values
# The paper's unit settings where they differ from a live unit's (the defaults of UnitSettings).
PAPER_LR, PAPER_MAX_STEPS, PAPER_PROBE_POINTS = 1e-3, 20_000, 1000
PRESETS = {
    "full": dict(n=10_000, d_grid=PAPER_D_GRID, seeds=(0,), max_steps=PAPER_MAX_STEPS,
                 probe_points=PAPER_PROBE_POINTS),
    # n = 2000 and d up to n / 2, as the paper's d up to 5000 for n = 10^4; d = 10 is left out
    # because at d = 10 both rules give k = n and it is the slowest point on a CPU by far.
    "quick": dict(n=2000, d_grid=(20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 600, 700, 800, 1000),
                  seeds=(0, 1, 2), max_steps=PAPER_MAX_STEPS, probe_points=PAPER_PROBE_POINTS),
    "smoke": dict(n=100, d_grid=(10, 40), seeds=(0, 1), max_steps=2000, probe_points=200),
}
DEFAULT_WORK_DIR = Path("runs") / "random_data"
# Version 2 rows carry the diagnostics and the activation; version 1 rows (no diagnostics, relu
# only) are still merged, with ls_slope_norm recomputed from the data and the rest left NaN.
PROGRESS_VERSION = 2


@dataclass(frozen=True)
class SweepConfig(UnitSettings):
    """Everything a sweep depends on: the unit's settings (`UnitSettings`: what a row's numbers
    depend on besides (d, rule, seed) and the device, recorded by `settings()`), the grid, the
    seeds, the device and the folders. Runs with the same settings share a progress file, so
    growing the grid or the seeds reuses every finished row.

    Attributes (besides `UnitSettings`'):
        d_grid: input dimensions. rules: width rule names (core.specs).
        seeds: one network per seed and (d, rule); the seed draws the data, the init and the probe.
        device: auto|cpu|cuda. tf32: allow TF32 matmuls on CUDA. threads: torch CPU threads.
        shard: (i, N), 1-based: this run does d_grid[i-1::N].
        out: where sweep.csv/json go (None: a folder under work_dir, see `out_dir`).
        work_dir: where progress files go. preset: full, quick or smoke (recorded in the results).
    """

    d_grid: tuple[int, ...] = PAPER_D_GRID
    rules: tuple[str, ...] = ("f_nd", "f_n")
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    tf32: bool = True
    threads: int | None = None
    shard: tuple[int, int] = (1, 1)
    out: Path | None = None
    work_dir: Path = DEFAULT_WORK_DIR
    preset: str = "full"

    def __post_init__(self):
        super().__post_init__()  # n, lr, steps, eps, activation, probe points
        if not self.d_grid or min(self.d_grid) < 1 or len(set(self.d_grid)) != len(self.d_grid):
            raise InputError(f"--d must list distinct positive integers, got {self.d_grid}")
        if not self.rules or len(set(self.rules)) != len(self.rules):
            raise InputError(f"--rules must list distinct width rules, got {self.rules}")
        for rule in self.rules:
            get_width_rule(rule)  # raises UnknownModelError naming the known rules
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise InputError(f"--seeds must list distinct non-negative integers, got {self.seeds}")
        i, count = self.shard
        if not (count >= 1 and 1 <= i <= count):
            raise InputError(f"--shard must be i/N with 1 <= i <= N, got {i}/{count}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"--threads must be >= 1, got {self.threads}")
        cli.refuse_smoke_into_shipped(self.out, self.preset == "smoke")

    def out_dir(self) -> Path:
        """--out, or by default work_dir/sweep-<settings hash>[-smoke]: never pretrained/."""
        if self.out is not None:
            return Path(self.out)
        suffix = "-smoke" if self.preset == "smoke" else ""
        return Path(self.work_dir) / f"sweep-{self.settings_hash()}{suffix}"

    def settings_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()[:10]

    def shard_grid(self) -> tuple[int, ...]:
        """The d values this shard does: every N-th value, so each shard gets small and large d."""
        i, count = self.shard
        return tuple(self.d_grid[i - 1 :: count])

    def progress_path(self) -> Path:
        i, count = self.shard
        tag = "" if count == 1 else f".shard-{i}-of-{count}"
        return Path(self.work_dir) / f"rows-{self.settings_hash()}{tag}.jsonl"

    def command_line(self) -> str:
        """The command that reproduces this sweep (without shard and folder options)."""
        parts = ["python -m training.random_data", f"--n {self.n}",
                 "--d " + ",".join(map(str, self.d_grid)), "--rules " + ",".join(self.rules),
                 "--seeds " + ",".join(map(str, self.seeds)),
                 "--batchnorm" if self.batchnorm else "--no-batchnorm", f"--lr {self.lr:g}"]
        if self.activation != "relu":
            parts.append(f"--activation {self.activation}")
        if not self.hidden_bias:
            parts.append("--no-hidden-bias")
        if self.lr_decay != 1.0:
            parts += [f"--lr-decay {self.lr_decay:g}", f"--decay-every {self.decay_every}"]
        parts += [f"--max-steps {self.max_steps}", f"--check-every {self.check_every}",
                  f"--eps {self.eps:g}", f"--probe-points {self.probe_points}"]
        return " ".join(parts)


# --- progress file --------------------------------------------------------------------------


def read_progress(path: Path, repair: bool = False) -> tuple[dict | None, list[dict]]:
    """Header and rows of a JSONL progress file; a truncated last line (a killed write) is dropped.

    With repair=True the file is rewritten without that line, so appending can continue. A bad
    line anywhere else raises InputError: the file is not one this script wrote.
    """
    path = Path(path)
    if not path.is_file():
        return None, []
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # tail is b"" when the file ends with a newline
    records = []
    for i, line in enumerate(complete):
        try:
            records.append(json.loads(line))
        except ValueError:
            if i == len(complete) - 1 and not tail:
                tail = line  # a garbled last line: treat like a truncated one
                complete = complete[:-1]
                break
            raise InputError(f"{path} line {i + 1} is not valid JSON: delete the file (or pass "
                             "--fresh) to start that sweep over") from None
    if tail and repair:
        atomic_write_bytes(path, b"".join(l + b"\n" for l in complete))
    if not records:
        return None, []
    header, rows = records[0], records[1:]
    if header.get("kind") != "header" or any(r.get("kind") != "row" for r in rows):
        raise InputError(f"{path} is not a progress file of training.random_data: delete it or "
                         "pass another --work-dir")
    return header, rows


def append_lines(path: Path, records: list[dict]) -> None:
    """Append records as full JSON lines in one write, then fsync (a kill leaves at most a torn tail)."""
    blob = "".join(json.dumps(r) + "\n" for r in records).encode()
    with open(path, "ab") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())


# --- memory ----------------------------------------------------------------------------------


def memory_estimate_bytes(n: int, d: int, k: int, stack: int) -> int:
    """A rough peak of one unit's float32 tensors: data (and Adam's copies of W), activations."""
    weights = 4 * k * (d + 3)  # W, its gradient and Adam's two moments
    activations = 4 * n * k  # preactivations, batch norm, relu, their gradients
    return 4 * stack * (2 * n * d + weights + activations)


def check_memory(cfg: SweepConfig, device: torch.device) -> None:
    """Refuse, before anything is allocated, a grid whose largest unit cannot fit the device."""
    need = max(memory_estimate_bytes(cfg.n, d, get_width_rule(rule)(cfg.n, d), len(cfg.seeds))
               for d in cfg.shard_grid() for rule in cfg.rules)
    available = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else None
    cli.check_memory(need, f"the largest unit of this grid (--n x the largest --d, per seed, on "
                           f"{device.type})", hint="lower --n or the largest --d, or use fewer --seeds",
                     available=available)


# --- the sweep ------------------------------------------------------------------------------


def header_record(cfg: SweepConfig) -> dict:
    return {"kind": "header", "version": PROGRESS_VERSION, "settings": cfg.settings(),
            "rules": list(cfg.rules), "d_grid": list(cfg.d_grid), "seeds": list(cfg.seeds),
            "shard": list(cfg.shard),
            "versions": library_versions()}


def run_sweep(cfg: SweepConfig, fresh: bool = False, show_progress: bool = True) -> list[dict]:
    """Run (or resume) this shard of the sweep; returns the rows of the shard's grid.

    When the run is unsharded and complete, also writes sweep.csv and sweep.json to cfg.out_dir().
    """
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    check_memory(cfg, device)
    torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    seed_everything(0)  # every random draw below is explicitly seeded; this pins anything else
    path = cfg.progress_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        path.unlink(missing_ok=True)
    header, rows = read_progress(path, repair=True)
    if header is None:
        atomic_write_bytes(path, (json.dumps(header_record(cfg)) + "\n").encode())
    elif header["settings"] != cfg.settings():
        raise InputError(f"{path} was written with other settings: pass --fresh to start over")
    elif header.get("version", 1) != PROGRESS_VERSION:
        raise InputError(f"{path} was written by an older version of this script (its rows lack the "
                         "diagnostics): pass --fresh to start over, or --merge it as it is")
    done = {(r["d"], r["rule"], r["seed"]) for r in rows}
    todo = [(d, rule, [s for s in cfg.seeds if (d, rule, s) not in done])
            for d in cfg.shard_grid() for rule in cfg.rules]
    todo = [t for t in todo if t[2]]
    # Largest work first, so the bar's rate settles early and a time limit cuts small units.
    todo.sort(key=lambda t: -matmul_flops_per_step(cfg.n, t[0], get_width_rule(t[1])(cfg.n, t[0])))
    where = device_description(device)
    if device.type == "cuda":
        where += ", tf32" if torch.backends.cuda.matmul.allow_tf32 else ", fp32"
    bar = tqdm(todo, desc="random-data sweep", unit="unit", disable=not show_progress)
    for d, rule, seeds in bar:
        bar.set_postfix_str(f"d={d} {rule}")

        def progress(step, mse, finished, d=d, rule=rule):
            bar.set_postfix_str(f"d={d} {rule} step={step} mse={mse.max().item():.3f} "
                                f"done={int(finished.sum())}/{len(finished)}", refresh=False)

        new_rows = [{"kind": "row", **row, "device": where}
                    for row in run_unit(cfg, d, rule, seeds, device, progress=progress)]
        append_lines(path, new_rows)
        rows.extend(new_rows)
    bar.close()
    grid = set(cfg.shard_grid())
    mine = [r for r in rows if r["d"] in grid and r["rule"] in cfg.rules and r["seed"] in cfg.seeds]
    if cfg.shard[1] == 1:
        write_results([path], cfg.out_dir(), list(cfg.d_grid), list(cfg.rules), list(cfg.seeds),
                      preset=cfg.preset)
    else:
        print(f"shard {cfg.shard[0]}/{cfg.shard[1]} done: {path}. When every shard is done, run\n"
              f"  python -m training.random_data --merge {cfg.work_dir}/rows-{cfg.settings_hash()}"
              f".shard-*-of-{cfg.shard[1]}.jsonl --out {cfg.out_dir()}", file=sys.stderr)
    return sorted(mine, key=row_key)


def row_key(row: dict) -> tuple:
    return (row["d"], row["rule"], row["seed"])


def fits_by_rule(rows: list[dict], rules: list[str]) -> dict:
    """Least-squares fits against sqrt(d) of grad_max, grad_mean and (where every memorized row has
    them) the diagnostics lin_norm, nonlin_max and grad_max_init, over memorized rows only."""
    fits = {}
    for rule in rules:
        mem = [r for r in rows if r["rule"] == rule and r["memorized"]]
        entry = {"memorized_rows": len(mem), "rows": sum(r["rule"] == rule for r in rows)}
        if len({r["d"] for r in mem}) >= 2:
            for stat in ("grad_max", "grad_mean", "lin_norm", "nonlin_max", "grad_max_init"):
                values = [r[stat] for r in mem]
                if all(np.isfinite(values)):
                    slope, intercept, r2 = fit_sqrt_d([r["d"] for r in mem], values)
                    entry[stat] = {"slope": slope, "intercept": intercept, "r2": r2}
        fits[rule] = entry
    return fits


def complete_rows(rows: list[dict], settings: dict, show_progress: bool = False) -> list[dict]:
    """Rows in the current format. Rows of version-1 progress files (relu only, no diagnostics) get
    their activation from the settings, NaN for the diagnostics of networks that were not kept, and
    ls_slope_norm recomputed from the run's data, which its (n, d, seed) determine."""
    out, ls_cache = [], {}
    todo = sorted({(r["n"], r["d"], r["seed"]) for r in rows if "ls_slope_norm" not in r})
    for n, d, seed in tqdm(todo, desc="least-squares slopes", disable=not show_progress or not todo):
        x, y = (torch.from_numpy(a)[None] for a in random_data_of_run(n, d, seed))
        ls_cache[(n, d, seed)] = float(least_squares_slopes(x, y).norm())
    for r in rows:
        r = dict(r)
        r.setdefault("activation", settings.get("activation", "relu"))
        if "ls_slope_norm" not in r:
            r["ls_slope_norm"] = ls_cache[(r["n"], r["d"], r["seed"])]
        for name in DIAGNOSTIC_COLUMNS:
            r.setdefault(name, float("nan"))
        out.append(r)
    return out


def write_results(progress_files: list[Path], out: Path, grid: list[int] | None = None,
                  rules: list[str] | None = None, seeds: list[int] | None = None,
                  preset: str | None = None, show_progress: bool = False) -> tuple[list[dict], dict]:
    """Merge progress files (shards of one sweep) into out/sweep.csv and out/sweep.json.

    The grid, rules and seeds default to those in the files' headers (a resumed run passes its
    own, since a progress file may hold rows of a smaller or larger earlier grid). Raises
    InputError when the files come from different sweeps, overlap, or miss rows of the grid.
    """
    headers, rows, seen = [], [], {}
    for path in progress_files:
        header, file_rows = read_progress(Path(path))
        if header is None:
            raise InputError(f"{path} is missing or empty: run its shard first")
        ident = (header["settings"], header["rules"], header["d_grid"], header["seeds"])
        if headers and ident != (headers[0]["settings"], headers[0]["rules"], headers[0]["d_grid"],
                                 headers[0]["seeds"]):
            raise InputError(f"{path} belongs to another sweep than {progress_files[0]}")
        headers.append(header)
        for r in file_rows:
            key = row_key(r)
            if key in seen and seen[key] != str(path):
                raise InputError(f"row {key} is in both {seen[key]} and {path}: merge each shard once")
            if key not in seen:
                seen[key] = str(path)
                rows.append(r)
    head = headers[0]
    settings = {"activation": "relu", "hidden_bias": True, **head["settings"]}
    grid = list(grid if grid is not None else head["d_grid"])
    rules = list(rules if rules is not None else head["rules"])
    seeds = list(seeds if seeds is not None else head["seeds"])
    rows = sorted((r for r in rows if r["d"] in set(grid) and r["rule"] in rules
                   and r["seed"] in seeds), key=row_key)
    have = {row_key(r) for r in rows}
    missing = [(d, rule, s) for d in grid for rule in rules for s in seeds if (d, rule, s) not in have]
    if missing:
        raise InputError(f"{len(missing)} rows of the grid are missing (first: {missing[:3]}): "
                         "run the missing shards (or resume this run) before merging")
    rows = complete_rows(rows, settings, show_progress)
    out = Path(out)
    csv_text = rows_to_csv([{c: r[c] for c in COLUMNS} for r in rows])
    cfg = SweepConfig(d_grid=tuple(grid), rules=tuple(rules), seeds=tuple(seeds), **unit_settings(settings))
    # Every row of a stack carries the stack's wall time: count each stack once.
    wall_time = sum(r["wall_s"] / r["stack_size"] for r in rows)
    act = settings["activation"]
    unit = f"{'relu' if act == 'relu' else '|.|'}(w_j . x{' + b_j' if settings['hidden_bias'] else ''})"
    meta = {
        "experiment": "law of robustness on random data (Bubeck, Li and Nagaraj, COLT 2021, "
                      "arXiv:2009.14444)" + ("" if act == "relu" else
                                             ": the even control, which has no linear part"),
        "data": "x_i ~ N(0, I_d / d), y_i uniform in {+1, -1}; probe z_j ~ N(0, I_d / d), fresh",
        "network": f"f(x) = sum_j a_j {unit} + c" + (
            ", trained with batch normalization before the activation, stored with it folded into w, b"
            if settings["batchnorm"] else ", no batch normalization"),
        "paper_grid": f"n = 10000, d = {PAPER_D_GRID[0]}, {PAPER_D_GRID[1]}, ..., {PAPER_D_GRID[-1]} "
                      f"({len(PAPER_D_GRID)} values), eps = 0.1 (`--n 10000 --d 10:5001:50`)",
        "preset": preset or "custom",
        "n": settings["n"], "d_grid": list(grid), "rules": {
            r: {"label": get_width_rule(r).label} for r in rules},
        "seeds": seeds, "settings": settings, "batchnorm": settings["batchnorm"],
        "activation": act, "hidden_bias": settings["hidden_bias"], "lr": settings["lr"],
        "stopping_rule": (f"stop at the first check (every {settings['check_every']} Adam steps) "
                          f"where sign(f(x_i)) = y_i for all i and training MSE <= "
                          f"{settings['eps']}; cap {settings['max_steps']} steps; rows that hit the "
                          "cap without memorizing have memorized = false and are left out of fits"),
        "probe": f"max and mean of ||grad f(z_j)||_2 over {settings['probe_points']} points",
        "devices": sorted({r["device"] for r in rows}),
        "wall_time_s": round(wall_time, 1),
        "shards": len(progress_files),
        "sources": [{"file": Path(p).name, "sha256": sha256_file(Path(p)),
                     "format_version": h.get("version", 1)} for p, h in zip(progress_files, headers)],
        # The command reproduces the sweep; the versions are those of the process that trained it.
        **provenance_record(cfg.command_line(), versions=head["versions"]),
        "fits": fits_by_rule(rows, rules),
        "fit": "least squares stat ~ slope * sqrt(d) + intercept over memorized rows (every seed)",
        "columns": {
            "d, rule, seed": "the run: input dimension, width rule (core.specs.WIDTH_RULES), seed",
            "n, k, p": "training points, hidden units, parameters k (d + 2) + 1",
            "steps": "Adam steps taken when the rule was met (max_steps if it never was)",
            "train_mse": "training MSE of the stored (folded) network",
            "memorized": "the rule holds for the stored network",
            "grad_max, grad_mean": "max and mean of ||grad f(z_j)||_2 over the probe points",
            "grad_max_init": "grad_max of the network at initialization (batch norm folded with the "
                             "training data's statistics, as for the trained network)",
            "lin_norm": "||mean_j grad f(z_j)||: the linear part of the gradient",
            "nonlin_max": "max_j ||grad f(z_j) - mean_j grad f(z_j)||",
            "ls_slope_norm": "||beta|| of the least-squares fit y ~ X beta + c on the run's own "
                             "training data (computed from the data, also for runs whose networks "
                             "were not kept)",
            "lin_ls_cos": "cosine between mean_j grad f(z_j) and that beta: 1 when the linear part "
                          "is the least-squares line of the labels",
            "activation": "relu, or abs for the even control",
            "wall_s": "wall time of the stack the run was trained in (data, training, probe)",
            "stack_size": "networks trained together in that stack (seeds of the same d and rule)",
            "gflop": "matmul GFLOP of forward + backward spent on this network (the stack trains "
                     "every network until the last one has memorized)",
            "device": "where it ran",
            "NaN": "a diagnostic that the run did not record (progress files of format version 1)",
        },
        "sha256": {ROWS_FILE: hashlib.sha256(csv_text.encode()).hexdigest()},
    }
    # The folder is written whole: a killed merge leaves the old results as they were.
    with staged_folder(out, keep_existing=False) as stage:
        atomic_write_bytes(stage / ROWS_FILE, csv_text.encode())
        atomic_write_json(stage / METADATA_FILE, meta)
        write_manifest(stage, "training.random_data")
    return rows, meta


# --- CLI ------------------------------------------------------------------------------------


def _int_list(text: str) -> tuple[int, ...]:
    """`10,25,50` or a range `start:stop:step` (stop exclusive, like Python's range)."""
    try:
        if ":" in text:
            start, stop, step = (int(v) for v in text.split(":"))
            return tuple(range(start, stop, step))
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 10,25,50 or start:stop:step, got {text!r}") from None


def _shard(text: str) -> tuple[int, int]:
    try:
        i, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/N such as 1/4, got {text!r}") from None
    return i, count


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.random_data",
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults are the paper's grid (n = 10^4, d = 10:5001:50, seed 0); --quick and "
               "--smoke change the defaults of --n, --d and --seeds (and --smoke of --max-steps "
               "and --probe-points), explicit options still win.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CPU-sized grid: n=2000, d=20..1000, seeds 0,1,2")
    cli.add_smoke(p, "tiny grid on CPU in seconds (tests)", group=size)
    p.add_argument("--n", type=cli.positive_int(10**8, minimum=2), help="training points (default 10000)")
    p.add_argument("--d", type=_int_list, help="dimensions, 10,25,50 or start:stop:step")
    p.add_argument("--rules", type=lambda s: tuple(s.split(",")), default=("f_nd", "f_n"),
                   help="width rules (default f_nd,f_n)")
    p.add_argument("--seeds", type=_int_list, help="seeds, one network each per (d, rule) (default 0)")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=True,
                   help="batch normalization before the ReLU, as in the paper (default on)")
    p.add_argument("--lr", type=cli.finite_float(low=0, high=10), default=PAPER_LR,
                   help=f"Adam learning rate (default {PAPER_LR:g})")
    p.add_argument("--lr-decay", type=cli.finite_float(low=0, high=1), default=1.0,
                   help="multiply lr by this every --decay-every steps")
    p.add_argument("--decay-every", type=cli.positive_int(10**7), default=1000)
    p.add_argument("--max-steps", type=cli.positive_int(10**7), help=f"step cap (default {PAPER_MAX_STEPS})")
    p.add_argument("--check-every", type=cli.positive_int(10**6), default=UnitSettings.check_every,
                   help="test the memorization rule every this many steps")
    p.add_argument("--eps", type=cli.finite_float(low=0), default=0.1, help="training MSE threshold of the rule")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="relu (the experiment) or abs (the even control: no linear part; use with "
                        "--no-hidden-bias --no-batchnorm)")
    p.add_argument("--hidden-bias", action=argparse.BooleanOptionalAction, default=True,
                   help="learn hidden biases b_j (default on; off for the even control)")
    p.add_argument("--probe-points", type=cli.positive_int(10**6),
                   help=f"random points of the gradient probe (default {PAPER_PROBE_POINTS})")
    cli.add_device(p, threads=None)
    p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True,
                   help="allow TF32 matmuls on CUDA (default on)")
    p.add_argument("--shard", type=_shard, default=(1, 1), help="do part i of N of the d-grid, e.g. 2/4")
    cli.add_out(p, "folder for sweep.csv/json (default: a folder under --work-dir; pretrained/ changes "
                   "only when named here)")
    p.add_argument("--work-dir", type=cli.out_dir, default=DEFAULT_WORK_DIR, help="folder for progress files")
    cli.add_resume(p, "this sweep's progress file in --work-dir")
    p.add_argument("--merge", type=Path, nargs="+", metavar="JSONL",
                   help="merge finished shard progress files into --out instead of training")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    preset_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    preset = dict(PRESETS[preset_name])
    for name, value in (("n", args.n), ("d_grid", args.d), ("seeds", args.seeds),
                        ("max_steps", args.max_steps), ("probe_points", args.probe_points)):
        if value is not None:
            preset[name] = value
    return SweepConfig(
        rules=args.rules, batchnorm=args.batchnorm, lr=args.lr, lr_decay=args.lr_decay,
        decay_every=args.decay_every, check_every=args.check_every, eps=args.eps,
        activation=args.activation, hidden_bias=args.hidden_bias,
        device="cpu" if args.smoke and args.device == "auto" else args.device, tf32=args.tf32,
        threads=args.threads, shard=args.shard, out=args.out, work_dir=args.work_dir,
        preset=preset_name, **preset)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.merge:
            if args.out is None:
                raise InputError("--merge needs --out: the folder to write sweep.csv/json to")
            out = args.out
            rows, meta = write_results(args.merge, out, show_progress=not args.no_progress)
        else:
            cfg = config_from_args(args)
            print(f"{cfg.command_line()}\nprogress file: {cfg.progress_path()}", file=sys.stderr)
            run_sweep(cfg, fresh=not args.resume, show_progress=not args.no_progress)
            if cfg.shard[1] > 1:
                return 0
            out = cfg.out_dir()
            meta = json.loads((out / METADATA_FILE).read_text())
        print(f"wrote {out / ROWS_FILE} and {METADATA_FILE}: {meta['command']}")
        for rule, fit in meta["fits"].items():
            gm = fit.get("grad_max")
            line = (f"slope {gm['slope']:.3f}, intercept {gm['intercept']:.3f}, r^2 {gm['r2']:.3f}"
                    if gm else "too few memorized d values to fit")
            print(f"  {rule}: {fit['memorized_rows']}/{fit['rows']} memorized; max gradient ~ sqrt(d): {line}")
        return 0

    return cli.run_main(body)


if __name__ == "__main__":
    sys.exit(main())
