import numpy as np
import pytest

from core.data import load_mnist, mnist_root, random_gaussian_data
from core.errors import DataError, InputError


def test_mnist_is_scaled_and_complete(mnist_root):
    x, y = load_mnist(False, mnist_root, download=False)
    assert x.shape == (10_000, 784) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


def test_mnist_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    assert mnist_root(None) == tmp_path
    assert str(mnist_root("elsewhere")) == "elsewhere"
    monkeypatch.delenv("MNIST_ROOT")
    assert str(mnist_root(None)) == "data"


def test_missing_mnist_folder_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        load_mnist(True, tmp_path / "nowhere", download=False)


def test_corrupt_mnist_is_a_clear_error(tmp_path, mnist_root):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f).write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DataError, match="could not load MNIST"):
        load_mnist(False, tmp_path, download=False)


def test_random_data_is_seeded_and_scaled():
    x, y = random_gaussian_data(2000, 400, seed=7)
    x2, y2 = random_gaussian_data(2000, 400, seed=7)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, random_gaussian_data(2000, 400, seed=8)[0])
    assert x.shape == (2000, 400) and x.dtype == np.float32
    assert np.mean(np.sum(x.astype(np.float64) ** 2, 1)) == pytest.approx(1.0, rel=0.02)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert abs(y.mean()) < 0.1
    with pytest.raises(InputError, match="positive integers"):
        random_gaussian_data(0, 10, seed=0)
