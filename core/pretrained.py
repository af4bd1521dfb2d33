"""Reading what `training/` shipped in `pretrained/`, with every file checked against its sha256.

Layout (written by `python -m training.mnist` and `python -m training.random_data`):

    pretrained/mnist/<model>.safetensors   weights (safe format)
    pretrained/mnist/<model>.onnx          forward + in-graph input gradient; weights referenced
                                           in place inside the .safetensors beside it
    pretrained/mnist/<model>.json          metadata: spec, training config, results, sha256 of files
    pretrained/mnist/sweeps.json           FGSM / PGD / noise sweeps, flip eps, gradient statistics
    pretrained/mnist/sample.npz            test images (uint8) and labels for offline galleries
    pretrained/random_data/...             the law-of-robustness sweep

A missing or corrupt file raises `PretrainedError`, whose message names the command that
regenerates it; the app shows that message and keeps its other pages working.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelFileError
from core.files import sha256_file
from core.specs import MLPSpec, get_mnist_spec

PRETRAINED_DIR = Path(os.environ.get("PRETRAINED_DIR", Path(__file__).resolve().parents[1] / "pretrained"))
MNIST_SUBDIR = "mnist"
RANDOM_DATA_SUBDIR = "random_data"
REGENERATE_MNIST = "python -m training.mnist"
REGENERATE_RANDOM_DATA = "python -m training.random_data"
SWEEPS_FILE = "sweeps.json"
SAMPLE_FILE = "sample.npz"
MANIFEST_FILE = "manifest.json"


class PretrainedError(ModelFileError):
    """A shipped artifact is missing, unreadable or does not match its recorded checksum."""


def mnist_dir(root: Path | None = None) -> Path:
    return Path(root or PRETRAINED_DIR) / MNIST_SUBDIR


def read_json(path: Path, regenerate: str = REGENERATE_MNIST) -> Any:
    """Parse a JSON artifact; a missing or garbled file raises `PretrainedError` naming `regenerate`."""
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(f"{path} is missing: regenerate it with `{regenerate}`")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{regenerate}`") from None


def verify_checksums(folder: Path, checksums: dict[str, str], regenerate: str = REGENERATE_MNIST) -> None:
    """Check each file (relative to folder) against its recorded sha256."""
    for name, expected in checksums.items():
        path = Path(folder) / name
        if not path.is_file():
            raise PretrainedError(f"{path} is missing: regenerate it with `{regenerate}`")
        if sha256_file(path) != expected:
            raise PretrainedError(
                f"{path} does not match the checksum in its metadata (corrupt or replaced): "
                f"regenerate it with `{regenerate}`"
            )


def model_metadata(name: str, root: Path | None = None) -> dict:
    """The metadata JSON of an MNIST model (spec, training config, results, checksums)."""
    spec = get_mnist_spec(name)
    return read_json(mnist_dir(root) / spec.metadata_file)


def verified_model_files(name: str, root: Path | None = None) -> tuple[MLPSpec, dict]:
    """Spec and metadata of a model whose weight and ONNX files match their checksums."""
    spec = get_mnist_spec(name)
    meta = model_metadata(name, root)
    checksums = meta.get("sha256")
    if not isinstance(checksums, dict) or spec.onnx_file not in checksums:
        raise PretrainedError(
            f"{mnist_dir(root) / spec.metadata_file} lists no checksums: regenerate it with "
            f"`{REGENERATE_MNIST}`"
        )
    verify_checksums(mnist_dir(root), checksums)
    return spec, meta


def load_onnx_classifier(name: str, root: Path | None = None, threads: int | None = None):
    """The shipped ONNX model of `name` as a `Classifier`, after checking its files."""
    from core.onnx_runtime import OnnxClassifier

    spec, _ = verified_model_files(name, root)
    return OnnxClassifier(mnist_dir(root) / spec.onnx_file, name=spec.name, threads=threads)


def load_sample(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test images as float32 [N, 784] in [0, 1] and their int64 labels [N]."""
    path = mnist_dir(root) / "sample.npz"
    if not path.is_file():
        raise PretrainedError(f"{path} is missing: regenerate it with `{REGENERATE_MNIST}`")
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except Exception as exc:  # zipfile/ValueError/KeyError on a damaged archive
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{REGENERATE_MNIST}`") from None
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)
