"""The training scripts' command line: the options they share, declared once, and the checks that
refuse a user's mistake before any work starts, with one line naming the option and the fix.

The shared options (`add_data_dir`, `add_out`, `add_run_dir`, `add_seed`, `add_device`,
`add_resume`, `add_smoke`) keep one name, meaning and help text in every script; a script passes
only what differs (its default folder, what --smoke shrinks).

argparse types (`seed`, `positive_int`, `finite_float`, `out_dir`) reject a bad value as argparse
does (usage, the message, exit status 2); `check_memory` refuses a run whose arrays cannot fit;
`refuse_smoke_into_shipped` refuses a --smoke run that would write where the app reads shipped
results; `run_main` turns the errors a user can still cause once the run has started
(`RobustnessError`, any `OSError` of a folder or file) into "error: ..." and exit status 2. No torch
import: a typo costs nothing.

    cli.add_out(p, "root of the artifacts (default: pretrained)", default=Path("pretrained"))
    cli.add_device(p, threads=2)
    p.add_argument("--lr", type=cli.finite_float(low=0), default=1e-3)
    p.add_argument("--n", type=cli.positive_int(10**7), default=1000)
    ...
    cli.check_memory(4 * n * d, "the data matrix (--n x --d float32)")
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import InputError, RobustnessError

SEED_MAX = 2**32 - 1  # numpy's legacy seeding and torch.manual_seed both take this range
GiB = 1024**3
DEVICE_CHOICES = ("auto", "cpu", "cuda")
THREADS_MAX = 1024


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _integer(text: str) -> int:
    """An integer, also written as 1e5 or 100000.0; anything fractional or not finite is refused."""
    text = str(text).strip()
    try:
        return int(text)
    except ValueError:
        pass
    value = _number(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


def seed(text: str) -> int:
    """argparse type: a seed, a whole number in [0, 2**32 - 1]."""
    value = _integer(text)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"a seed must be a whole number from 0 to {SEED_MAX}, got {text}")
    return value


def positive_int(maximum: int, minimum: int = 1) -> Callable[[str], int]:
    """argparse type: a whole number in [minimum, maximum] (sizes, counts, epochs)."""

    def parse(text: str) -> int:
        value = _integer(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a whole number from {minimum:,} to {maximum:,}, got {text}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def finite_float(low: float | None = None, high: float | None = None, low_open: bool = True,
                 high_open: bool = False) -> Callable[[str], float]:
    """argparse type: a finite number in the interval (low, high] (open or closed ends as asked).

    Rejects nan and inf, which `type=float` accepts (`--lr inf` used to train and then fail).
    """

    def parse(text: str) -> float:
        value = _number(text)
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            left = "-inf" if low is None else f"{low:g}"
            right = "inf" if high is None else f"{high:g}"
            interval = f"{'(' if low_open or low is None else '['}{left}, {right}{')' if high_open or high is None else ']'}"
            raise argparse.ArgumentTypeError(f"must be a finite number in {interval}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def out_dir(text: str) -> Path:
    """argparse type: a folder that exists or can be created (no file in the way, writable)."""
    path = Path(text).expanduser()
    if str(text).strip() == "":
        raise argparse.ArgumentTypeError("an empty path")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == path else f"lies under {probe}, which is a file"
        raise argparse.ArgumentTypeError(f"{text} {where}: give a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{probe} is not writable: give a folder you can write to")
    if probe.is_dir():
        # os.access says yes to root everywhere, even in /proc or on a read-only mount: try it.
        try:
            os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".write-test-"))
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot create a folder in {probe} ({exc.strerror or exc}): "
                                             "give a folder you can write to") from None
    return path


# --- the options every training script shares -------------------------------------------------


def add_data_dir(p: argparse.ArgumentParser) -> None:
    """--data-dir: where MNIST is (core.data.mnist_root resolves the default)."""
    p.add_argument("--data-dir", default=None, help="folder holding MNIST/raw (default: $MNIST_ROOT, else ./data)")


def add_out(p: argparse.ArgumentParser, help: str, default: Path | None = None) -> None:
    """--out: the folder the results go to; `help` says the script's layout and default."""
    p.add_argument("--out", type=out_dir, default=default, help=help)


def add_run_dir(p: argparse.ArgumentParser, help: str) -> None:
    """--run-dir: checkpoints (and cached work) of a resumable run; `help` says the default."""
    p.add_argument("--run-dir", type=out_dir, default=None, help=help)


def add_seed(p: argparse.ArgumentParser, help: str) -> None:
    """--seed: a whole number in [0, 2**32 - 1], default 0; `help` says what it seeds."""
    p.add_argument("--seed", type=seed, default=0, help=f"{help} (default: 0)")


def add_device(p: argparse.ArgumentParser, threads: int | None) -> None:
    """--device auto|cpu|cuda and --threads (torch CPU threads; default `threads`, None: torch's)."""
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                   help="auto: CUDA when available (default: auto)")
    p.add_argument("--threads", type=positive_int(THREADS_MAX), default=threads,
                   help=f"torch CPU threads (default: {threads})" if threads is not None else
                   "torch CPU threads (default: torch's choice; use 1 on a CPU shared with other jobs)")


def add_resume(p: argparse.ArgumentParser, saved: str) -> None:
    """--resume/--no-resume (default on) and --fresh, the same as --no-resume: whether a run
    continues from what an earlier, killed run of the same settings saved (`saved` names it)."""
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help=f"continue from {saved} (default: on)")
    p.add_argument("--fresh", dest="resume", action="store_false",
                   help=f"start over, discarding {saved} (the same as --no-resume)")


def add_smoke(p: argparse.ArgumentParser, help: str, group: Any = None) -> None:
    """--smoke: the whole pipeline, tiny, on the CPU in seconds (tests use it); `help` says how.
    `group`: a mutually exclusive group of p to put it in (random_data's --smoke or --quick)."""
    (group if group is not None else p).add_argument("--smoke", action="store_true", help=help)


# --- checks --------------------------------------------------------------------------------------


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def check_memory(nbytes: float, what: str, hint: str = "use smaller sizes",
                 available: int | None = None, fraction: float = 0.8) -> None:
    """Refuse a run whose arrays need more than `fraction` of the available memory.

    Args:
        nbytes: the estimated peak bytes. what: what needs them, with its options
            ("the data, --n x --d float32"). hint: the fix. available: bytes (default: measured).
    Raises InputError naming the sizes, before anything is allocated.
    """
    have = available_memory() if available is None else available
    if not math.isfinite(nbytes) or nbytes > fraction * have:
        raise InputError(f"{what} needs {nbytes / GiB:,.1f} GiB, and this machine has "
                         f"{have / GiB:,.1f} GiB available: {hint}")


def or_default(value: Any, default: Any) -> Any:
    """An option's value when it was given (argparse default None), else the script's default for
    this run (its --smoke size or its full one): a size given with --smoke is used, not ignored."""
    return default if value is None else value


def given(argv: list[str], option: str) -> bool:
    """Whether `option` ("--pgd-steps") was typed on the command line (as `--opt v` or `--opt=v`)."""
    return any(a == option or a.startswith(option + "=") for a in argv)


def refuse_smoke_into_shipped(target: Path | str | None, smoke: bool, option: str = "--out") -> None:
    """Refuse a --smoke run whose results would land where the app reads shipped results.

    target: the folder the run writes (`<out>/mnist`, `<out>/capacity`, ...); None: nothing is
    written. The app refuses a smoke result found there too (`core.results.pretrained.refuse_smoke`).
    """
    from core.results.pretrained import shipped_location

    if smoke and target is not None and shipped_location(target):
        raise InputError(f"{option}: a --smoke run is a test of the pipeline, not results: it never "
                         f"writes into pretrained/, where the app reads the shipped results (it would "
                         f"write {target}). Drop {option}, or give a folder outside pretrained/")


def run_main(body: Callable[[], int | None]) -> int:
    """Run a script's body; a user's mistake prints "error: ..." and returns 2, without a traceback."""
    try:
        return body() or 0
    except RobustnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:  # a folder that cannot be made or written (/proc, read-only, full disk)
        print(f"error: cannot write {exc.filename or ''}: {exc.strerror or exc}; check --out", file=sys.stderr)
    except MemoryError:
        print("error: out of memory: use smaller sizes", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: the results folder is unchanged (a checkpointed run resumes)", file=sys.stderr)
        return 130
    return 2
