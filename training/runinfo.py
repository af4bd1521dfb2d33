"""What every training script records and sets up: the device, seeds, library versions."""

from __future__ import annotations

import platform
import random
from importlib import metadata

import numpy as np
import torch

from core.errors import InputError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


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
