"""The two runtimes against each other and against finite differences."""

import numpy as np
import pytest
import torch

from core.errors import InputError, ModelFileError
from core.runtimes.classifier import Classifier
from core.runtimes.models import load_mlp, mlp_weights, save_weights
from core.runtimes.onnx_export import export_mlp_onnx
from core.runtimes.onnx_runtime import OnnxClassifier
from core.runtimes.torch_runtime import TorchClassifier
from core.specs import MNIST_MODELS
from tests.conftest import TINY_SPEC


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    weights = folder / "tiny.safetensors"
    save_weights(tiny_model, weights)
    onnx_path = export_mlp_onnx(mlp_weights(tiny_model), folder / "tiny.onnx", weights_file=weights)
    return folder, onnx_path


def test_both_runtimes_implement_the_interface(tiny_model, exported):
    assert isinstance(TorchClassifier(tiny_model), Classifier)
    assert isinstance(OnnxClassifier(exported[1]), Classifier)


def test_onnx_agrees_with_torch(tiny_model, exported, mnist_small):
    _, _, x, y = mnist_small
    ref = TorchClassifier(tiny_model).loss_and_grad(x, y)
    got = OnnxClassifier(exported[1]).loss_and_grad(x, y)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)
    np.testing.assert_allclose(OnnxClassifier(exported[1]).predict_proba(x), ref.probs, atol=1e-5)


@pytest.mark.parametrize("name", list(MNIST_MODELS))
def test_both_talk_models_export_and_agree(name, tmp_path, rng):
    from core.runtimes.models import build_mlp

    spec = MNIST_MODELS[name]
    model = build_mlp(spec, seed=3)
    save_weights(model, tmp_path / spec.weights_file)
    export_mlp_onnx(mlp_weights(model), tmp_path / spec.onnx_file, weights_file=tmp_path / spec.weights_file)
    # The graph references the weights in place: the .onnx itself is tiny.
    assert (tmp_path / spec.onnx_file).stat().st_size < 10_000
    x = rng.random((64, 784), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    ref = TorchClassifier(model).loss_and_grad(x, y)
    got = OnnxClassifier(tmp_path / spec.onnx_file).loss_and_grad(x, y)
    np.testing.assert_allclose(got.probs, ref.probs, atol=1e-4, rtol=0)
    np.testing.assert_allclose(got.loss, ref.loss, atol=1e-4, rtol=0)
    # At a ReLU kink (a pre-activation within float32 rounding of 0) the two runtimes may take
    # different one-sided derivatives; the gradient is only defined away from kinks.
    with torch.no_grad():
        pre = model.fc1(torch.from_numpy(x)).numpy()
    smooth = np.abs(pre).min(axis=1) > 1e-5
    assert smooth.mean() > 0.8
    np.testing.assert_allclose(got.grad[smooth], ref.grad[smooth], atol=1e-4, rtol=0)


def test_embedded_weights_export_agrees(tiny_model, tmp_path, mnist_small):
    _, _, x, y = mnist_small
    path = export_mlp_onnx(mlp_weights(tiny_model), tmp_path / "embedded.onnx")
    np.testing.assert_allclose(
        OnnxClassifier(path).loss_and_grad(x[:50], y[:50]).grad,
        TorchClassifier(tiny_model).loss_and_grad(x[:50], y[:50]).grad,
        atol=1e-5,
    )


@pytest.mark.parametrize("backend,atol", [("torch", 1e-6), ("onnx", 2e-3)])
def test_gradient_matches_finite_differences(backend, atol, tiny_model, exported, mnist_small):
    """Central differences of the loss along random directions against grad . v."""
    import copy

    _, _, x, y = mnist_small
    reference = copy.deepcopy(tiny_model).double()  # float64: differences are exact to ~1e-10
    clf = TorchClassifier(reference) if backend == "torch" else OnnxClassifier(exported[1])
    # Keep pixels inside (0, 1) so that x +- h v is never clipped.
    x0, y0 = (0.5 * x[:4] + 0.25).astype(np.float32), y[:4]
    grad = clf.loss_and_grad(x0, y0).grad.astype(np.float64)
    rng = np.random.default_rng(0)
    h = 1e-3
    for i in range(len(x0)):
        for _ in range(3):
            v = rng.standard_normal(784)
            v /= np.linalg.norm(v)
            xp = (x0[i] + h * v)[None].astype(np.float32)
            xm = (x0[i] - h * v)[None].astype(np.float32)
            dx = (xp - xm)[0].astype(np.float64)  # the step as float32 actually stores it
            lp = float(clf.loss_and_grad(xp, y0[i : i + 1]).loss[0])
            lm = float(clf.loss_and_grad(xm, y0[i : i + 1]).loss[0])
            directional = grad[i] @ dx / (2 * h)
            np.testing.assert_allclose((lp - lm) / (2 * h), directional, atol=atol, rtol=1e-2)


def test_gradient_does_not_touch_the_model(tiny_model, mnist_small):
    _, _, x, y = mnist_small
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    TorchClassifier(tiny_model).loss_and_grad(x[:20], y[:20])
    assert all(p.grad is None for p in tiny_model.parameters())
    for k, v in tiny_model.state_dict().items():
        assert (v == before[k]).all()


def test_safetensors_round_trip_and_errors(tiny_model, tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(tiny_model, path)
    loaded = load_mlp(TINY_SPEC, path)
    for k, v in tiny_model.state_dict().items():
        assert (loaded.state_dict()[k] == v).all()
    with pytest.raises(ModelFileError, match="not found"):
        load_mlp(TINY_SPEC, tmp_path / "missing.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="corrupt"):
        load_mlp(TINY_SPEC, corrupt)
    with pytest.raises(ModelFileError, match="does not hold the weights of f_n"):
        load_mlp(MNIST_MODELS["f_n"], path)


def test_onnx_file_errors(exported, tmp_path):
    folder, onnx_path = exported
    with pytest.raises(ModelFileError, match="not found"):
        OnnxClassifier(tmp_path / "nothing.onnx")
    garbled = tmp_path / "garbled.onnx"
    garbled.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ModelFileError, match="corrupt"):
        OnnxClassifier(garbled)
    # An .onnx whose referenced weights file is gone.
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(onnx_path.read_bytes())
    with pytest.raises(ModelFileError, match="missing or corrupt"):
        OnnxClassifier(lonely)


@pytest.mark.parametrize(
    "x,match",
    [
        (np.zeros((2, 783), np.float32), "shape"),
        (np.zeros((784,), np.float32), "batch axis"),
        (np.zeros((0, 784), np.float32), "empty"),
        (np.full((1, 784), 255, np.uint8), "uint8"),
        (np.full((1, 784), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((1, 784), np.nan, np.float32), "NaN"),
        (np.full((1, 784), 1, np.int64), "floating"),
    ],
)
def test_bad_images_are_refused(exported, x, match):
    with pytest.raises(InputError, match=match):
        OnnxClassifier(exported[1]).predict_proba(x)


def test_bad_labels_are_refused(exported):
    clf = OnnxClassifier(exported[1])
    x = np.zeros((2, 28, 28), np.float32)  # 28x28 images are accepted
    assert clf.predict_proba(x).shape == (2, 10)
    with pytest.raises(InputError, match=r"shape \[2\]"):
        clf.loss_and_grad(x, np.array([1, 2, 3]))
    with pytest.raises(InputError, match="0..9"):
        clf.loss_and_grad(x, np.array([1, 10]))
    with pytest.raises(InputError, match="integers"):
        clf.loss_and_grad(x, np.array([1.0, 2.0]))
