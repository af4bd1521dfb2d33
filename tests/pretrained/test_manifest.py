"""Every shipped file the app reads is checked against its folder's manifest.json.

Copies of the shipped folders are edited, one file at a time; each edit must be refused with a
message that gives the quick fix (restore from git) before the slow one (retrain).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import core.results.pretrained as pretrained
from core.errors import ModelFileError
from core.results.classifiers import load_classifier
from core.results.mnist import clean_rows
from core.results.pretrained import (
    PretrainedError,
    folder_checksums,
    load_mnist_sweeps,
    load_sample,
    mnist_dir,
    model_metadata,
    read_verified_json,
    verified_path,
    verify_folder,
    write_manifest,
)
from core.results.recap import load_intrinsic_dim, recap_dir

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "pretrained"


def _quick_fix_first(message: str, regenerate: str) -> None:
    assert "git checkout -- " in message or "copy the shipped files back" in message, message
    assert regenerate in message, message
    quick = message.find("Quick fix")
    assert 0 <= quick < message.find("Slow fix") < message.find(regenerate), message


@pytest.fixture()
def root(tmp_path) -> Path:
    for sub in ("mnist", "recap"):
        shutil.copytree(SHIPPED / sub, tmp_path / sub)
    return tmp_path


def test_the_shipped_folders_match_their_manifests():
    for folder in (mnist_dir(SHIPPED), recap_dir(SHIPPED)):
        checksums = verify_folder(folder, "retrain")
        files = {p.name for p in folder.iterdir() if p.is_file()} - {"manifest.json"}
        assert set(checksums) == files, folder  # every file is covered


def _edit_json(path: Path) -> None:
    """A plausible edit: a number changed, the file still valid JSON."""
    doc = json.loads(path.read_text())
    doc["edited"] = 0.999
    path.write_text(json.dumps(doc, indent=2))


READERS = {
    "f_n.json": lambda r: model_metadata("f_n", r),
    "f_nd.json": lambda r: model_metadata("f_nd", r),
    "sweeps.json": load_mnist_sweeps,
    "sample.npz": load_sample,
    "f_n.onnx": lambda r: load_classifier("f_n", r),
    "f_nd.safetensors": lambda r: load_classifier("f_nd", r),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_an_edited_mnist_file_is_refused_with_the_quick_fix_first(root, name):
    READERS[name](root)  # fine before the edit
    path = mnist_dir(root) / name
    if name.endswith(".json"):
        _edit_json(path)
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError) as info:
        READERS[name](root)
    assert name in str(info.value)
    _quick_fix_first(str(info.value), "python -m training.mnist")


def test_an_edited_intrinsic_dimension_is_refused(root):
    assert load_intrinsic_dim(root).estimate > 0
    _edit_json(recap_dir(root) / "intrinsic_dim.json")
    with pytest.raises(ModelFileError) as info:
        load_intrinsic_dim(root)
    _quick_fix_first(str(info.value), "python -m training.intrinsic_dim")


@pytest.mark.parametrize("reader", [load_sample, load_mnist_sweeps, lambda r: model_metadata("f_n", r),
                                    load_intrinsic_dim])
def test_a_deleted_manifest_is_an_error_not_a_skipped_check(root, reader):
    for sub in ("mnist", "recap"):
        (root / sub / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match="manifest.json is missing") as info:
        reader(root)
    assert "Quick fix" in str(info.value)


def test_a_file_the_manifest_does_not_list_is_refused(root):
    manifest = json.loads((mnist_dir(root) / "manifest.json").read_text())
    del manifest["sha256"]["sweeps.json"]
    (mnist_dir(root) / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PretrainedError, match="does not list sweeps.json"):
        load_mnist_sweeps(root)


def test_a_garbled_manifest_is_refused(root):
    (recap_dir(root) / "manifest.json").write_text("{not json")
    with pytest.raises(PretrainedError, match="manifest.json is corrupt"):
        load_intrinsic_dim(root)


def test_the_quick_fix_names_the_folder_in_the_checkout(tmp_path):
    message = pretrained.fixes(SHIPPED / "mnist", "python -m training.mnist")
    assert "`git checkout -- pretrained/mnist/`" in message
    assert "copy the shipped files back" in pretrained.fixes(tmp_path, "x")


def test_write_manifest_covers_every_file_and_an_edit_after_a_check_is_caught(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "sweep.json").write_text('{"a": 1}')
    (folder / "sweep.csv").write_text("a\n1\n")
    (folder / ".hidden.tmp").write_text("ignored")
    checksums = write_manifest(folder, "a test")
    assert set(checksums) == {"sweep.json", "sweep.csv"} == set(folder_checksums(folder, "x"))
    assert read_verified_json(folder, "sweep.json", "x") == {"a": 1}  # checked, then cached
    (folder / "sweep.json").write_text('{"a": 2}')  # an edit after the check: a new mtime
    with pytest.raises(PretrainedError, match="does not match its checksum"):
        verified_path(folder, "sweep.json", "x")


def test_clean_accuracy_table_reads_only_checked_metadata(root):
    meta = {name: model_metadata(name, root) for name in ("f_n", "f_nd")}
    assert len(clean_rows(meta)) == 2
