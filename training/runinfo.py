"""What every training script records and sets up: the device, seeds, and the provenance record
(command, time, device, library versions) written beside every result."""

from __future__ import annotations

import platform
import random
import time
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import numpy as np
import torch

from core.errors import InputError
from training.cli import DEVICE_CHOICES


def resolve_device(choice: str) -> torch.device:
    """`auto` picks CUDA when available; asking for `cuda` on a machine without it is an error."""
    if choice not in DEVICE_CHOICES:
        raise InputError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def device_description(device: torch.device) -> str:
    """A human-readable name of the device, for metadata and closing notes."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries whose behaviour the results depend on."""
    versions = {"python": platform.python_version()}
    for pkg in ("torch", "torchvision", "numpy", "onnx", "onnxruntime", "safetensors"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def utc_now() -> str:
    """The current time, ISO 8601 in UTC to the second, as every record writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance_record(command: str, device: torch.device | None = None, *, threads: int | None = None,
               smoke: bool | None = None, started: float | None = None, wall_key: str = "wall_s",
               versions: dict[str, str] | None = None) -> dict[str, Any]:
    """The provenance record every training script writes beside its results.

    Args:
        command: the command line that reproduces the results.
        device: where they were computed (recorded as `device_description`); None: not recorded.
        threads: torch CPU threads asked for, when the script has the option. smoke: whether this
            was a --smoke run (recorded when given). started: `time.perf_counter()` at the start:
            records the wall time since then, in seconds, under `wall_key`. versions: the library
            versions of the process that computed the results when another one did (a merge of
            progress files); default: this process's.
    Returns {"device", "threads", "command", "smoke", "created", "versions", wall_key}, each key
    present only when it applies.
    """
    record: dict[str, Any] = {}
    if device is not None:
        record["device"] = device_description(device)
    if threads is not None:
        record["threads"] = threads
    record["command"] = command
    if smoke is not None:
        record["smoke"] = smoke
    record["created"] = utc_now()
    record["versions"] = library_versions() if versions is None else versions
    if started is not None:
        record[wall_key] = round(time.perf_counter() - started, 1)
    return record
