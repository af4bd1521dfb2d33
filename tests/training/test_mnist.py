"""`python -m training.mnist --smoke`: the whole pipeline, tiny, and what it writes.

One smoke run (both models, 2,000 training images, 2 epochs, 500 test images) feeds most tests;
the resume test continues a 1-epoch run and compares it with that run's uninterrupted 2 epochs.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core.attacks.fgsm import fgsm_sweep
from core.errors import InputError
from core.results.classifiers import load_classifier
from core.results.pretrained import (
    PretrainedError,
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
from training.loop import CHECKPOINT_FILE, load_checkpoint
from training.mnist import (
    FGSM_EPS,
    NOISE_STD,
    build_parser,
    config_from_args,
    main,
    stratified_sample,
)


def _smoke_args(mnist_root, out, *extra):
    return ["--smoke", "--data-dir", str(mnist_root), "--out", str(out), "--run-dir", str(out / "run"), *extra]


@pytest.fixture(scope="module")
def smoke(mnist_root, tmp_path_factory):
    """Root of a finished smoke run's artifacts (the folder holding mnist/)."""
    out = tmp_path_factory.mktemp("smoke")
    assert main(_smoke_args(mnist_root, out)) == 0
    return out


def test_smoke_writes_every_artifact(smoke):
    folder = mnist_dir(smoke)
    names = {p.name for p in folder.iterdir()}
    for spec in MNIST_MODELS.values():
        assert {spec.weights_file, spec.onnx_file, spec.metadata_file} <= names
        # The graph references the safetensors file instead of copying 12 MB of weights.
        assert (folder / spec.onnx_file).stat().st_size < 10_000
    assert {"sweeps.json", "sample.npz", "manifest.json"} <= names
    checksums = verify_mnist_artifacts(smoke)
    assert set(checksums) == names - {"manifest.json"}


def test_metadata_describes_the_model(smoke):
    for name, spec in MNIST_MODELS.items():
        meta = model_metadata(name, smoke)
        assert meta["spec"]["hidden"] == spec.hidden
        assert meta["spec"]["param_count"] == spec.param_count
        training = meta["training"]
        assert training["epochs"] == len(training["history"]) == 2
        assert training["rule_met"] is False  # 2 epochs on 2,000 images cannot reach zero loss
        assert training["config"]["train_size"] == 2000
        assert training["final_train_loss"] == training["history"][-1]["train_loss"]
        assert 0 < meta["results"]["test_accuracy"] <= 1 and meta["results"]["n_test"] == 500
        assert meta["smoke"] is True and meta["device"].startswith("cpu")
        assert set(meta["sha256"]) == {spec.weights_file, spec.onnx_file}
        assert "torch" in meta["versions"]


def test_sweeps_have_the_talks_grids_and_consistent_curves(smoke):
    sweeps = load_mnist_sweeps(smoke)
    assert sweeps["grids"]["fgsm_eps"] == list(FGSM_EPS) and len(FGSM_EPS) == 20
    assert sweeps["grids"]["noise_std"] == list(NOISE_STD[::4])  # coarser in a smoke run
    assert NOISE_STD[-1] == 0.5 and len(NOISE_STD) == 20
    for name in MNIST_MODELS:
        res = sweeps["models"][name]
        fgsm, noise, pgd = res["fgsm"], res["noise"], res["pgd"]
        assert [r["eps"] for r in fgsm] == list(FGSM_EPS)
        assert [r["eps"] for r in noise] == list(NOISE_STD[::4])
        # eps = 0 and std = 0 leave the images alone: the clean accuracy and loss.
        assert fgsm[0]["accuracy"] == pytest.approx(res["test_accuracy"], abs=1e-9)
        assert noise[0]["accuracy"] == pytest.approx(res["test_accuracy"], abs=1e-9)
        assert fgsm[0]["mean_loss"] == pytest.approx(res["test_loss"], rel=1e-4)
        assert all(r["accuracy"] <= fgsm[0]["accuracy"] + 1e-12 for r in fgsm)
        assert fgsm[-1]["accuracy"] < fgsm[0]["accuracy"]
        assert all(r["n"] == 100 for r in pgd)  # the smoke PGD subset
        flip = res["flip_eps"]
        assert sum(flip["counts"]) + flip["never"] == flip["n"] == 500
        assert res["gradient_norms"]["max"] >= res["gradient_norms"]["mean"] > 0
        # The spectral bound on the logits is an upper bound on every gradient of p_c.
        assert res["spectral_norm_bound"]["value"] >= res["gradient_norms"]["max"]
        assert res["source_sha256"] == model_metadata(name, smoke)["sha256"]


def test_sample_is_stratified_and_its_numbers_reproduce(smoke):
    x, y = load_sample(smoke)
    assert x.shape == (50, 784) and x.dtype == np.float32
    assert np.bincount(y, minlength=10).tolist() == [5] * 10
    indices = load_sample_indices(smoke)
    assert len(np.unique(indices)) == 50 and indices.max() < 10_000
    sweeps = load_mnist_sweeps(smoke)
    for name in MNIST_MODELS:
        stored = sweeps["models"][name]["sample"]
        again = fgsm_sweep(load_classifier(name, smoke), x, y, [0.0, *sweeps["grids"]["sample_fgsm_eps"]])
        assert again[0].accuracy == stored["clean"]["accuracy"]
        assert [r.accuracy for r in again[1:]] == [r["accuracy"] for r in stored["fgsm"]]


def test_onnx_export_agrees_with_torch(smoke):
    x, y = load_sample(smoke)
    for name, spec in MNIST_MODELS.items():
        onnx_clf = load_classifier(name, smoke)
        torch_clf = TorchClassifier(load_mlp(spec, mnist_dir(smoke) / spec.weights_file))
        a, b = onnx_clf.loss_and_grad(x, y), torch_clf.loss_and_grad(x, y)
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
        np.testing.assert_allclose(a.loss, b.loss, atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(a.grad, b.grad, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize(
    "victim, load",
    [
        ("f_n.safetensors", lambda root: load_classifier("f_n", root)),
        ("f_nd.onnx", lambda root: load_classifier("f_nd", root)),
        ("sweeps.json", load_mnist_sweeps),
        ("sample.npz", load_sample),
        ("f_n.json", verify_mnist_artifacts),
    ],
)
def test_a_corrupted_file_is_detected(smoke, tmp_path, victim, load):
    shutil.copytree(mnist_dir(smoke), mnist_dir(tmp_path))
    load(tmp_path)  # intact copy loads
    path = mnist_dir(tmp_path) / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: still parses, but is not what was shipped
    path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="checksum|corrupt") as err:
        load(tmp_path)
    assert "python -m training.mnist" in str(err.value)


def test_a_missing_manifest_is_reported(smoke, tmp_path):
    shutil.copytree(mnist_dir(smoke), mnist_dir(tmp_path))
    (mnist_dir(tmp_path) / "manifest.json").unlink()
    with pytest.raises(PretrainedError, match="manifest.json is missing"):
        load_mnist_sweeps(tmp_path)


def test_resume_continues_exactly(smoke, mnist_root, tmp_path):
    """1 epoch, killed, then resumed to 2 epochs == the smoke run's uninterrupted 2 epochs."""
    args = ["--models", "f_n", "--no-evaluate"]
    assert main(_smoke_args(mnist_root, tmp_path, *args, "--max-epochs", "1")) == 0
    first = load_checkpoint(tmp_path / "run" / "f_n" / CHECKPOINT_FILE)
    assert first["epoch"] == 1
    assert main(_smoke_args(mnist_root, tmp_path, *args, "--max-epochs", "2")) == 0
    resumed = load_checkpoint(tmp_path / "run" / "f_n" / CHECKPOINT_FILE)
    straight = load_checkpoint(smoke / "run" / "f_n" / CHECKPOINT_FILE)
    assert resumed["epoch"] == straight["epoch"] == 2
    for key, value in straight["model"].items():
        assert torch.equal(resumed["model"][key], value), key
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])
    assert not (mnist_dir(tmp_path)).exists()  # --no-evaluate writes no artifacts


def test_resume_refuses_other_settings(smoke, mnist_root, capsys):
    args = _smoke_args(mnist_root, smoke, "--models", "f_n", "--no-evaluate", "--lr", "0.01")
    assert main(args) == 2
    assert "--no-resume" in capsys.readouterr().err


def test_stopping_rule_stops_and_is_recorded(mnist_root, tmp_path):
    # A rule any model meets after one epoch: training stops although the cap is 5.
    rule = ["--target-loss", "10", "--target-accuracy", "0.5", "--max-epochs", "5", "--models", "f_n"]
    assert main(_smoke_args(mnist_root, tmp_path, *rule, "--no-evaluate")) == 0
    ckpt = load_checkpoint(tmp_path / "run" / "f_n" / CHECKPOINT_FILE)
    assert ckpt["epoch"] == 1 and ckpt["rule_met"] is True


def test_missing_mnist_is_a_clear_error(tmp_path, capsys):
    assert main(_smoke_args(tmp_path / "nowhere", tmp_path)) == 2
    err = capsys.readouterr().err
    assert "MNIST not found" in err and "--data-dir" in err
    assert not mnist_dir(tmp_path).exists()


def test_smoke_never_defaults_to_the_shipped_folder():
    cfg = config_from_args(build_parser().parse_args(["--smoke"]))
    assert cfg.out.as_posix() == "runs/smoke" and cfg.train["f_nd"].train_size == 2000
    full = config_from_args(build_parser().parse_args([]))
    assert full.out.as_posix() == "pretrained" and full.train["f_nd"].train_size is None


def test_per_model_options():
    cfg = config_from_args(build_parser().parse_args(["--max-epochs", "7", "f_nd=3", "--lr-decay", "1"]))
    assert cfg.train["f_n"].max_epochs == 7 and cfg.train["f_nd"].max_epochs == 3
    assert cfg.train["f_n"].lr_decay == cfg.train["f_nd"].lr_decay == 1.0
    with pytest.raises(InputError, match="unknown model"):
        config_from_args(build_parser().parse_args(["--max-epochs", "f_x=3"]))
    with pytest.raises(InputError, match="lr-decay"):
        config_from_args(build_parser().parse_args(["--lr-decay", "0"]))


def test_stratified_sample():
    labels = np.repeat(np.arange(10), 50)
    idx = stratified_sample(labels, 25, seed=3)
    assert np.bincount(labels[idx], minlength=10).tolist() == [3] * 5 + [2] * 5
    assert np.array_equal(idx, stratified_sample(labels, 25, seed=3))
    assert np.all(np.diff(idx) > 0)


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for option in ("--smoke", "--resume", "--max-epochs", "--device", "--seed", "--data-dir", "--out"):
        assert option in text
