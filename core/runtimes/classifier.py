"""The interface every runtime implements, and the checks on what goes into it.

A `Classifier` maps a batch of flattened 28x28 images with pixels in [0, 1] to class
probabilities, and gives the per-example cross-entropy loss and its gradient with respect to
the input. The attacks and probes in `core/` are written against this interface only, so they
run the same on PyTorch (`core.runtimes.torch_runtime`) and on ONNX Runtime (`core.runtimes.onnx_runtime`, which
the app uses without importing torch).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from core.errors import InputError
from core.specs import MNIST_CLASSES, MNIST_INPUT_DIM

# float32 rounding of a value computed in [0, 1] can land a hair outside it.
_PIXEL_TOLERANCE = 1e-6


class LossGrad(NamedTuple):
    """One forward and backward pass over a batch of N images.

    probs: [N, 10] softmax probabilities. loss: [N] cross-entropy of each example.
    grad: [N, 784] d loss_i / d x_i (the gradient of each example's own loss).
    """

    probs: np.ndarray
    loss: np.ndarray
    grad: np.ndarray


@runtime_checkable
class Classifier(Protocol):
    """What the attacks need from a model: probabilities, and loss gradients w.r.t. the input."""

    name: str

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities [N, 10] for images x [N, 784] in [0, 1]."""
        ...

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> LossGrad:
        """Probabilities, per-example cross-entropy and its input gradient for labels y [N]."""
        ...


def as_image_batch(x: np.ndarray, *, name: str = "x") -> np.ndarray:
    """Check a batch of images and return it as a C-contiguous float32 array [N, 784].

    Accepts [N, 784], [N, 28, 28] or [N, 1, 28, 28] with pixels in [0, 1]; a single image must
    be given with a leading batch axis (x[None]). uint8 images (0..255) are refused rather than
    silently rescaled: divide by 255 first.
    """
    arr = np.asarray(x)
    if arr.dtype == np.uint8:
        raise InputError(f"{name} is uint8 (0..255): scale pixels to [0, 1] first (x / 255.0)")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{name} must hold floating-point pixels in [0, 1], got dtype {arr.dtype}")
    if arr.ndim >= 2 and arr.shape[1:] in ((28, 28), (1, 28, 28)):
        arr = arr.reshape(arr.shape[0], MNIST_INPUT_DIM)
    if arr.ndim != 2 or arr.shape[1] != MNIST_INPUT_DIM:
        raise InputError(
            f"{name} must have shape [N, 784], [N, 28, 28] or [N, 1, 28, 28], got {arr.shape}; "
            "add a batch axis for a single image (x[None])"
        )
    if arr.shape[0] == 0:
        raise InputError(f"{name} is an empty batch: pass at least one image")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or infinite pixels")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -_PIXEL_TOLERANCE or hi > 1 + _PIXEL_TOLERANCE:
        raise InputError(
            f"{name} pixels must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
            "scale 0..255 images by 1/255 and do not standardise them"
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def as_labels(y: np.ndarray, n: int, *, classes: int = MNIST_CLASSES) -> np.ndarray:
    """Check integer class labels for a batch of n images and return them as int64 [n]."""
    arr = np.asarray(y)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise InputError(f"labels must have shape [{n}] to match the images, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"labels must be integers 0..{classes - 1}, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= classes):
        raise InputError(f"labels must lie in 0..{classes - 1}, got [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def check_eps(eps: float, *, name: str = "eps", upper: float = 1.0) -> float:
    """An attack budget (L-inf radius or noise std, in pixel units of [0, 1]) as a float."""
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {eps!r}") from None
    if not np.isfinite(value) or value < 0:
        raise InputError(f"{name} must be >= 0 (a budget in pixel units of [0, 1]), got {eps!r}")
    if value > upper:
        raise InputError(f"{name} must be <= {upper} (pixels live in [0, 1]), got {eps!r}")
    return value


def check_eps_list(eps_list, *, name: str = "eps", upper: float = 1.0) -> list[float]:
    """A non-empty list of budgets, each checked with `check_eps`."""
    values = np.atleast_1d(np.asarray(eps_list, dtype=object)).tolist()
    if not values:
        raise InputError(f"{name} list is empty: give at least one value")
    return [check_eps(e, name=name, upper=upper) for e in values]


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose arg-max class equals the label."""
    return float(np.mean(np.argmax(probs, axis=1) == y))
