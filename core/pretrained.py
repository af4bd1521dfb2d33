"""Reading what `training/` shipped in `pretrained/`, with every file checked against its sha256.

Layout (written by `python -m training.mnist` and `python -m training.random_data`):

    pretrained/mnist/<model>.safetensors   weights (safe format)
    pretrained/mnist/<model>.onnx          forward + in-graph input gradient; weights referenced
                                           in place inside the .safetensors beside it
    pretrained/mnist/<model>.json          metadata: spec, training config, results, sha256 of files
    pretrained/mnist/sweeps.json           FGSM / PGD / noise sweeps, flip eps, gradient statistics
    pretrained/mnist/sample.npz            test images (uint8) and labels for offline galleries
    pretrained/mnist/manifest.json         sha256 of every file above, written last
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


def load_mnist_manifest(root: Path | None = None) -> dict[str, str]:
    """The checksums {file name: sha256} of every MNIST artifact, from manifest.json."""
    path = mnist_dir(root) / MANIFEST_FILE
    manifest = read_json(path)
    checksums = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(checksums, dict) or not checksums:
        raise PretrainedError(f"{path} lists no checksums: regenerate it with `{REGENERATE_MNIST}`")
    return checksums


def _verify_listed(name: str, root: Path | None) -> None:
    """Check one file against the manifest, which must list it."""
    checksums = load_mnist_manifest(root)
    if name not in checksums:
        raise PretrainedError(
            f"{mnist_dir(root) / MANIFEST_FILE} does not list {name}: regenerate with `{REGENERATE_MNIST}`"
        )
    verify_checksums(mnist_dir(root), {name: checksums[name]})


def verify_mnist_artifacts(root: Path | None = None) -> dict[str, str]:
    """Check every file listed in manifest.json, and each model's files against its metadata.

    Returns the manifest's checksums. Raises `PretrainedError` naming the first bad file.
    """
    checksums = load_mnist_manifest(root)
    verify_checksums(mnist_dir(root), checksums)
    for name in checksums:
        if name.endswith(".json") and name not in (SWEEPS_FILE, MANIFEST_FILE):
            verified_model_files(Path(name).stem, root)
    return checksums


def load_mnist_sweeps(root: Path | None = None) -> dict:
    """The MNIST robustness curves (sweeps.json), after checking it against manifest.json.

    Keys (written by `training.mnist`): "grids" (fgsm_eps, noise_std, pgd_eps, flip_eps,
    sample_fgsm_eps), "settings", "test_set", "provenance", and "models": per model name
    test_accuracy, test_loss, "fgsm" / "noise" / "pgd" (lists of `SweepResult.to_dict()`, one per
    grid value), "flip_eps" (counts per flip grid value, never-flipped count, quantiles),
    "gradient_norms" (max, mean, median), "spectral_norm_bound" (value), "sample" (clean and FGSM
    results and per-image flip eps on sample.npz, measured with ONNX Runtime), "source_sha256".
    """
    _verify_listed(SWEEPS_FILE, root)
    sweeps = read_json(mnist_dir(root) / SWEEPS_FILE)
    if not isinstance(sweeps, dict) or not isinstance(sweeps.get("models"), dict) or "grids" not in sweeps:
        raise PretrainedError(
            f"{mnist_dir(root) / SWEEPS_FILE} lacks its grids or models: regenerate it with "
            f"`{REGENERATE_MNIST}`"
        )
    return sweeps


def load_sample_indices(root: Path | None = None) -> np.ndarray:
    """Positions in the 10,000-image MNIST test set of the shipped sample images, int64 [N]."""
    path = mnist_dir(root) / SAMPLE_FILE
    _verify_listed(SAMPLE_FILE, root)
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["indices"].astype(np.int64)
    except Exception as exc:  # zipfile/ValueError/KeyError on a damaged archive
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{REGENERATE_MNIST}`") from None


def load_sample(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test images as float32 [N, 784] in [0, 1] and their int64 labels [N].

    When manifest.json is present the file is checked against it first.
    """
    path = mnist_dir(root) / SAMPLE_FILE
    if not path.is_file():
        raise PretrainedError(f"{path} is missing: regenerate it with `{REGENERATE_MNIST}`")
    if (mnist_dir(root) / MANIFEST_FILE).is_file():
        _verify_listed(SAMPLE_FILE, root)
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except Exception as exc:  # zipfile/ValueError/KeyError on a damaged archive
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{REGENERATE_MNIST}`") from None
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)
