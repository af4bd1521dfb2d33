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

Every folder the app reads holds a `manifest.json` with the sha256 of each of its files
(`write_manifest`, written last by the training script), and every read goes through
`verified_path` / `read_verified_json`: a file that is missing, edited or not listed, or a folder
without its manifest, raises `PretrainedError`. Its message gives the quick fix first (restore the
shipped files from git) and the slow one second (the command that regenerates them); the app shows
that message and keeps its other pages working.

The output of a `--smoke` run (its JSON records `smoke: true`, in its provenance or at its top) is
a test of the pipeline, not a result: `read_verified_json` refuses it inside the folders the app
reads (`shipped_location`), with the same two fixes; elsewhere (a test's temporary folder) it reads.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelFileError
from core.files import atomic_write_json, is_inside, sha256_file
from core.specs import MLPSpec, get_mnist_spec

PRETRAINED_DIR = Path(os.environ.get("PRETRAINED_DIR", Path(__file__).resolve().parents[2] / "pretrained"))
MNIST_SUBDIR = "mnist"
RANDOM_DATA_SUBDIR = "random_data"
REGENERATE_MNIST = "python -m training.mnist"
REGENERATE_RANDOM_DATA = "python -m training.random_data"
SWEEPS_FILE = "sweeps.json"
SAMPLE_FILE = "sample.npz"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
REPO_ROOT = Path(__file__).resolve().parents[2]


class PretrainedError(ModelFileError):
    """A shipped artifact is missing, unreadable or does not match its recorded checksum."""


class SmokeResultError(PretrainedError):
    """A shipped folder holds the output of a --smoke run (a test of the pipeline), not results."""


def mnist_dir(root: Path | None = None) -> Path:
    return Path(root or PRETRAINED_DIR) / MNIST_SUBDIR


def fixes(folder: Path, regenerate: str) -> str:
    """The two fixes of a bad shipped folder, quick one first: restore from git, else regenerate."""
    folder = Path(folder).resolve()
    try:
        rel = folder.relative_to(REPO_ROOT)
        restore = f"restore the shipped files from git: `git checkout -- {rel.as_posix()}/`"
    except ValueError:  # a folder outside the checkout (PRETRAINED_DIR pointed elsewhere)
        restore = f"copy the shipped files back into {folder}"
    return f"Quick fix: {restore}. Slow fix: regenerate them with `{regenerate}`."


def shipped_location(path: Path | str) -> bool:
    """Whether `path` lies where the app reads shipped results: under `PRETRAINED_DIR` (read at call
    time: tests and deployments repoint it) or under the checkout's own pretrained/."""
    return is_inside(path, PRETRAINED_DIR) or is_inside(path, REPO_ROOT / "pretrained")


def is_smoke(record: Any) -> bool:
    """Whether a results JSON was written by a `--smoke` run: `smoke` at its top (a model's
    metadata, intrinsic_dim.json), `provenance.smoke` (sweeps.json, capacity's results.json), or
    random_data's `preset: smoke`."""
    if not isinstance(record, dict):
        return False
    provenance = record.get("provenance")
    return (bool(record.get("smoke")) or record.get("preset") == "smoke"
            or (isinstance(provenance, dict) and bool(provenance.get("smoke"))))


def refuse_smoke(record: Any, path: Path, regenerate: str) -> None:
    """Raise `SmokeResultError` (a `PretrainedError`) when `record`, read from `path` in a shipped folder, comes from a
    `--smoke` run: its numbers would pass for the talk's results (and its models for the shipped ones)."""
    path = Path(path)
    if is_smoke(record) and shipped_location(path):
        raise SmokeResultError(f"{path} comes from a --smoke run (a tiny test of the pipeline), not the "
                              f"shipped results, and the app will not use it. "
                              f"{fixes(path.parent, regenerate)}")


def write_manifest(folder: Path, description: str, names: list[str] | None = None) -> dict[str, str]:
    """Record the sha256 of every file of a results folder in its manifest.json; write it last.

    Args:
        folder: the results folder (e.g. the staging folder of `core.files.staged_folder`).
        description: what wrote the folder ("training.mnist"), kept in the manifest.
        names: the files to cover (default: every regular, non-hidden file but the manifest).
    Returns: {file name: sha256}.
    """
    folder = Path(folder)
    if names is None:
        names = sorted(p.name for p in folder.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.name != MANIFEST_FILE)
    checksums = {name: sha256_file(folder / name) for name in names}
    atomic_write_json(folder / MANIFEST_FILE, {
        "format": MANIFEST_FORMAT,
        "description": f"sha256 of every file the app reads here ({description})",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sha256": checksums,
    })
    return checksums


def folder_checksums(folder: Path, regenerate: str) -> dict[str, str]:
    """{file name: sha256} from the folder's manifest.json; a missing or garbled one is an error."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise PretrainedError(f"{path} is missing, so the files beside it cannot be checked. "
                              f"{fixes(folder, regenerate)}")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PretrainedError(f"{path} is corrupt ({exc}). {fixes(folder, regenerate)}") from None
    checksums = manifest.get("sha256") if isinstance(manifest, dict) else None
    if (not isinstance(checksums, dict) or not checksums
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in checksums.items())):
        raise PretrainedError(f"{path} lists no checksums. {fixes(folder, regenerate)}")
    return checksums


# Files already checked, by (path, size, mtime, inode) of the file and of its manifest: a slider
# move re-reads nothing, an edited or replaced file (new mtime) is checked again.
_VERIFIED: dict[tuple, str] = {}
_VERIFIED_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def verified_path(folder: Path, name: str, regenerate: str) -> Path:
    """The path of a shipped file after checking it against its folder's manifest.json.

    Raises `PretrainedError` (quick fix, then slow fix) when the manifest is missing, does not
    list the file, or the file is missing or does not match its sha256.
    """
    folder = Path(folder)
    path = folder / name
    manifest = folder / MANIFEST_FILE
    try:
        key = (str(path.resolve()), _stamp(path), _stamp(manifest))
    except OSError:
        key = None
    with _VERIFIED_LOCK:
        if key is not None and key in _VERIFIED:
            return path
    checksums = folder_checksums(folder, regenerate)
    if name not in checksums:
        raise PretrainedError(f"{manifest} does not list {name}, so it cannot be checked. "
                              f"{fixes(folder, regenerate)}")
    if not path.is_file():
        raise PretrainedError(f"{path} is missing. {fixes(folder, regenerate)}")
    if sha256_file(path) != checksums[name]:
        raise PretrainedError(f"{path} does not match its checksum in {MANIFEST_FILE} (edited or "
                              f"corrupt). {fixes(folder, regenerate)}")
    if key is not None:
        with _VERIFIED_LOCK:
            _VERIFIED[key] = checksums[name]
    return path


def read_verified_json(folder: Path, name: str, regenerate: str) -> Any:
    """A shipped JSON file, parsed, after `verified_path` has checked it against the manifest.

    In a shipped folder (`shipped_location`) the output of a --smoke run is refused (`refuse_smoke`).
    """
    path = verified_path(folder, name, regenerate)
    record = read_json(path, regenerate)
    refuse_smoke(record, path, regenerate)
    return record


def verify_folder(folder: Path, regenerate: str) -> dict[str, str]:
    """Check every file the manifest lists; returns its checksums."""
    checksums = folder_checksums(folder, regenerate)
    for name in checksums:
        verified_path(folder, name, regenerate)
    return checksums


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
            raise PretrainedError(f"{path} is missing. {fixes(folder, regenerate)}")
        if sha256_file(path) != expected:
            raise PretrainedError(f"{path} does not match the checksum in its metadata (edited or "
                                  f"corrupt). {fixes(folder, regenerate)}")


def model_metadata(name: str, root: Path | None = None) -> dict:
    """The metadata JSON of an MNIST model (spec, training config, results, checksums)."""
    spec = get_mnist_spec(name)
    return read_verified_json(mnist_dir(root), spec.metadata_file, REGENERATE_MNIST)


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


def _verify_listed(name: str, root: Path | None) -> Path:
    """Check one file against the manifest, which must list it; returns its path."""
    return verified_path(mnist_dir(root), name, REGENERATE_MNIST)


def verify_mnist_artifacts(root: Path | None = None) -> dict[str, str]:
    """Check every file listed in manifest.json, and each model's files against its metadata.

    Returns the manifest's checksums. Raises `PretrainedError` naming the first bad file.
    """
    checksums = verify_folder(mnist_dir(root), REGENERATE_MNIST)
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
    sweeps = read_verified_json(mnist_dir(root), SWEEPS_FILE, REGENERATE_MNIST)
    if not isinstance(sweeps, dict) or not isinstance(sweeps.get("models"), dict) or "grids" not in sweeps:
        raise PretrainedError(
            f"{mnist_dir(root) / SWEEPS_FILE} lacks its grids or models: regenerate it with "
            f"`{REGENERATE_MNIST}`"
        )
    return sweeps


def _refuse_smoke_sample(root: Path | None) -> None:
    """sample.npz records nothing itself: refuse it when the sweeps.json written with it comes from a
    --smoke run. A missing or damaged sweeps.json is reported where the sweeps are read, and the
    sample (the draw page's digits) stays usable."""
    try:
        load_mnist_sweeps(root)
    except SmokeResultError:
        raise
    except PretrainedError:
        pass


def load_sample_indices(root: Path | None = None) -> np.ndarray:
    """Positions in the 10,000-image MNIST test set of the shipped sample images, int64 [N]
    (refused, as `load_sample`, when they come from a --smoke run)."""
    _refuse_smoke_sample(root)
    path = _verify_listed(SAMPLE_FILE, root)
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["indices"].astype(np.int64)
    except Exception as exc:  # zipfile/ValueError/KeyError on a damaged archive
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{REGENERATE_MNIST}`") from None


def load_sample(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test images as float32 [N, 784] in [0, 1] and their int64 labels [N].

    The file is checked against manifest.json first (a missing manifest is an error), and refused
    when the sweeps.json written with it comes from a --smoke run (`_refuse_smoke_sample`).
    """
    _refuse_smoke_sample(root)
    path = _verify_listed(SAMPLE_FILE, root)
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except Exception as exc:  # zipfile/ValueError/KeyError on a damaged archive
        raise PretrainedError(f"{path} is corrupt ({exc}): regenerate it with `{REGENERATE_MNIST}`") from None
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)
