"""The attack tests' model and images: the small MLP trained on a slice of MNIST (tests/conftest.py),
as a torch `Classifier`, and 40 test images. test_attacks.py runs its own over both runtimes."""

import pytest

from core.runtimes.torch_runtime import TorchClassifier


@pytest.fixture(scope="module")
def clf(tiny_model):
    return TorchClassifier(tiny_model, name="tiny")


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, _, x_test, y_test = mnist_small
    return x_test[:40], y_test[:40]
