"""The MNIST artifacts shipped in pretrained/mnist: intact, and reproducible from the sample.

These files are committed, so their absence is a failure, not a skip. Regenerate them with
`python -m training.mnist --data-dir ../shared/data`.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.attacks.fgsm import fgsm_sweep
from core.results.classifiers import load_classifier
from core.results.pretrained import (
    PRETRAINED_DIR,
    load_mnist_sweeps,
    load_sample,
    load_sample_indices,
    mnist_dir,
    model_metadata,
    verify_mnist_artifacts,
)
from core.runtimes.models import load_mlp
from core.runtimes.torch_runtime import TorchClassifier
from core.specs import MNIST_MODELS
from training.mnist import FGSM_EPS, NOISE_STD

ROOT = PRETRAINED_DIR
SIZE_LIMIT = 25 * 2**20


@pytest.fixture(scope="module")
def shipped():
    folder = mnist_dir(ROOT)
    if not (folder / "manifest.json").is_file():
        pytest.fail(f"{folder} has no manifest.json: regenerate with "
                    "`python -m training.mnist --data-dir ../shared/data`")
    verify_mnist_artifacts(ROOT)
    return load_mnist_sweeps(ROOT)


@pytest.fixture(scope="module")
def sample():
    return load_sample(ROOT)


def test_checksums_match_and_folder_is_small(shipped):
    checksums = verify_mnist_artifacts(ROOT)
    folder = mnist_dir(ROOT)
    for spec in MNIST_MODELS.values():
        assert {spec.weights_file, spec.onnx_file, spec.metadata_file} <= set(checksums)
        meta = model_metadata(spec.name, ROOT)
        assert shipped["models"][spec.name]["source_sha256"] == meta["sha256"]
    assert {"sweeps.json", "sample.npz"} <= set(checksums)
    assert sum(p.stat().st_size for p in folder.iterdir()) < SIZE_LIMIT


def test_metadata_is_a_full_run(shipped):
    for name, spec in MNIST_MODELS.items():
        meta = model_metadata(name, ROOT)
        assert meta["smoke"] is False
        assert meta["spec"]["hidden"] == spec.hidden and meta["spec"]["param_count"] == spec.param_count
        assert meta["training"]["config"]["train_size"] is None  # all 60,000 images
        assert meta["results"]["n_test"] == 10_000
        assert 0.95 < meta["results"]["test_accuracy"] <= 1.0
        assert meta["training"]["final_train_accuracy"] > 0.99
        assert isinstance(meta["training"]["rule_met"], bool)
        assert meta["results"]["test_accuracy"] == shipped["models"][name]["test_accuracy"]


def test_grids_are_the_talks(shipped):
    assert shipped["grids"]["fgsm_eps"] == list(FGSM_EPS) == list(np.linspace(0, 0.1, 20))
    assert shipped["grids"]["noise_std"] == list(NOISE_STD) == list(np.linspace(0, 0.5, 20))
    assert shipped["settings"]["noise"]["seeds"] == [0, 1, 2]
    for res in shipped["models"].values():
        assert [r["eps"] for r in res["fgsm"]] == list(FGSM_EPS)
        assert [r["eps"] for r in res["noise"]] == list(NOISE_STD)
        assert all(r["n"] == 10_000 for r in res["fgsm"] + res["noise"])
        assert res["fgsm"][0]["accuracy"] == pytest.approx(res["test_accuracy"], abs=1e-9)
        # PGD is at least as strong as FGSM (on its subset, up to sampling noise).
        assert res["pgd"][-1]["accuracy"] <= res["fgsm"][-1]["accuracy"] + 0.02
        assert res["spectral_norm_bound"]["value"] >= res["gradient_norms"]["max"]


def test_sample_is_stratified(sample):
    x, y = sample
    assert x.shape == (300, 784)
    assert np.bincount(y, minlength=10).tolist() == [30] * 10
    assert len(np.unique(load_sample_indices(ROOT))) == 300


@pytest.mark.parametrize("name", sorted(MNIST_MODELS))
def test_sample_numbers_reproduce_with_onnx(shipped, sample, name):
    """Clean and FGSM accuracy re-measured on the shipped sample equal the stored ones."""
    x, y = sample
    stored = shipped["models"][name]["sample"]
    eps = [0.0, *shipped["grids"]["sample_fgsm_eps"]]
    assert eps[1:] == [0.05, 0.1]
    again = fgsm_sweep(load_classifier(name, ROOT), x, y, eps)
    assert again[0].accuracy == pytest.approx(stored["clean"]["accuracy"], abs=1e-6)
    assert again[0].mean_loss == pytest.approx(stored["clean"]["mean_loss"], rel=1e-5, abs=1e-6)
    for now, then in zip(again[1:], stored["fgsm"]):
        assert now.eps == then["eps"]
        assert now.accuracy == pytest.approx(then["accuracy"], abs=1e-6)
        assert now.mean_loss == pytest.approx(then["mean_loss"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(MNIST_MODELS))
def test_onnx_matches_the_torch_weights(shipped, sample, name):
    x, y = sample
    spec = MNIST_MODELS[name]
    torch_clf = TorchClassifier(load_mlp(spec, mnist_dir(ROOT) / spec.weights_file))
    a = load_classifier(name, ROOT).loss_and_grad(x, y)
    b = torch_clf.loss_and_grad(x, y)
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
    np.testing.assert_allclose(a.grad, b.grad, atol=1e-4, rtol=1e-3)
