"""A --smoke run's output in the folders the app reads is refused by every reader of shipped
results, with the fix (restore from git) in the message; outside them (a test's folder) it reads.

`smoke_copy` builds what `python -m training.<script> --smoke --out pretrained` used to leave: the
shipped files with their JSON marked `smoke: true` as a smoke run writes it, and a manifest that
matches (so only the smoke check can catch it). The pages' side: tests/app (mnist, draw, presenter).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import core.results.pretrained as pretrained
from core.results import capacity as cr
from core.results.classifiers import load_classifier
from core.results.pretrained import PretrainedError, SmokeResultError, refuse_smoke, write_manifest
from core.results.recap import load_intrinsic_dim

REPO = Path(__file__).resolve().parents[3]
# Where a smoke run records itself in each shipped JSON: at the top ("smoke", a model's metadata
# and intrinsic_dim.json) or in "provenance" (sweeps.json, capacity's results.json).
SMOKE_FLAGS = {
    "mnist": {"f_n.json": "top", "f_nd.json": "top", "sweeps.json": "provenance"},
    "capacity": {"results.json": "provenance", "f_n_adv.json": "top", "f_nd_adv.json": "top"},
    "recap": {"intrinsic_dim.json": "top"},
}


def smoke_copy(folder: str, root: Path, source: Path = REPO / "pretrained") -> Path:
    """A copy of the shipped `<source>/<folder>` in `<root>/<folder>`, marked as a --smoke run's."""
    dst = Path(root) / folder
    shutil.copytree(Path(source) / folder, dst)
    for name, where in SMOKE_FLAGS[folder].items():
        doc = json.loads((dst / name).read_text())
        (doc.setdefault("provenance", {}) if where == "provenance" else doc)["smoke"] = True
        (dst / name).write_text(json.dumps(doc))
    write_manifest(dst, "a --smoke run")
    return dst


@pytest.fixture()
def smoke_root(tmp_path, monkeypatch) -> Path:
    """The app's pretrained folder, repointed to a copy in which every results folder is a smoke run's."""
    root = tmp_path / "pretrained"
    for folder in SMOKE_FLAGS:
        smoke_copy(folder, root)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", root)
    return root


READERS = {
    "model_metadata": lambda: pretrained.model_metadata("f_n"),
    "verified_model_files": lambda: pretrained.verified_model_files("f_nd"),
    "verify_mnist_artifacts": lambda: pretrained.verify_mnist_artifacts(),
    "load_mnist_sweeps": lambda: pretrained.load_mnist_sweeps(),
    "load_sample": lambda: pretrained.load_sample(),
    "load_sample_indices": lambda: pretrained.load_sample_indices(),
    "load_classifier f_n": lambda: load_classifier("f_n"),
    "load_classifier f_nd": lambda: load_classifier("f_nd"),
    "load_classifier f_n_adv": lambda: load_classifier("f_n_adv"),
    "load_capacity_results": lambda: cr.load_capacity_results(),
    "adversarial_metadata": lambda: cr.adversarial_metadata("f_nd"),
    "load_intrinsic_dim": lambda: load_intrinsic_dim(),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_refuses_a_smoke_result_in_the_shipped_folder(smoke_root, reader):
    with pytest.raises(SmokeResultError, match=r"--smoke run.*Quick fix: .*Slow fix: regenerate") as info:
        READERS[reader]()
    assert str(smoke_root) in str(info.value)  # names the file


def test_a_smoke_run_of_one_model_taints_the_sample(tmp_path, monkeypatch):
    """`--smoke --models f_n --out pretrained` kept f_nd's files but rewrote the sweeps and the
    sample: sample.npz records nothing, so it is refused through the sweeps written with it."""
    root = tmp_path / "pretrained"
    folder = smoke_copy("mnist", root)
    for name in ("f_n.json", "f_nd.json"):  # only the sweeps say smoke
        meta = json.loads((folder / name).read_text())
        meta["smoke"] = False
        (folder / name).write_text(json.dumps(meta))
    write_manifest(folder, "a --smoke run")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", root)
    assert load_classifier("f_nd").name == "f_nd"
    for load in (pretrained.load_sample, pretrained.load_sample_indices):
        with pytest.raises(SmokeResultError, match="sweeps.json comes from a --smoke run"):
            load()
    (folder / "sweeps.json").unlink()  # no sweeps to tell: that is the sweeps' readers' error
    images, labels = pretrained.load_sample()
    assert len(images) == len(labels) > 0


@pytest.mark.parametrize("folder, name", [("mnist", "f_n.json"), ("capacity", "results.json"),
                                          ("recap", "intrinsic_dim.json")])
def test_the_message_restores_the_folder_from_git(folder, name):
    # A pure check on a path in the checkout: nothing is written into pretrained/.
    path = REPO / "pretrained" / folder / name
    with pytest.raises(PretrainedError) as info:
        refuse_smoke({"smoke": True, "provenance": {"smoke": True}}, path, "python -m training.x")
    assert f"git checkout -- pretrained/{folder}/" in str(info.value)
    assert str(path) in str(info.value)
    refuse_smoke({"smoke": False, "provenance": {"smoke": False}}, path, "python -m training.x")  # a full run


def test_outside_the_shipped_folders_a_smoke_result_still_reads(tmp_path):
    """A smoke run's own folder (what the training tests check) is not the app's."""
    for folder in SMOKE_FLAGS:
        smoke_copy(folder, tmp_path)
    assert pretrained.model_metadata("f_n", tmp_path)["smoke"] is True
    assert cr.load_capacity_results(tmp_path)["provenance"]["smoke"] is True
    assert load_classifier("f_nd_adv", tmp_path).name == "f_nd_adv"
    assert load_intrinsic_dim(tmp_path).estimate > 0


def test_the_shipped_results_are_not_smoke_runs():
    for folder, flags in SMOKE_FLAGS.items():
        for name in flags:
            doc = json.loads((REPO / "pretrained" / folder / name).read_text())
            assert not pretrained.is_smoke(doc), f"pretrained/{folder}/{name}"
