"""PyTorch models: the MNIST MLPs and the random-data two-layer network, with safe weight files.

Weights are stored as safetensors (never pickle). Loading checks the file against the spec and
raises `ModelFileError` naming the fix when the file is missing, truncated or of another model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.errors import ModelFileError
from core.files import atomic_write_bytes
from core.specs import MLPSpec


class MLP(nn.Module):
    """784 -> h -> 10 ReLU network; `forward` returns logits (softmax is applied by the loss)."""

    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        self.fc1 = nn.Linear(spec.input_dim, spec.hidden)
        self.fc2 = nn.Linear(spec.hidden, spec.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def build_mlp(spec: MLPSpec, seed: int | None = None) -> MLP:
    """A freshly initialised MLP (PyTorch's default init), seeded when seed is given."""
    if seed is None:
        return MLP(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(spec)


class TwoLayerReLU(nn.Module):
    """f(x) = sum_j a_j relu(w_j . x + b_j) + c, the network of Bubeck, Li and Nagaraj (COLT 2021).

    A reference, not a product path: the training runs stacks of these in one batched module
    (`core.experiments.random_net`), and tests check that module (its folded weights, its parameter
    count, its closed-form gradients) against this plain nn.Module and torch's autograd.

    Args:
        d: input dimension. k: number of hidden units.
    Shapes: x [N, d] -> f(x) [N].
    """

    def __init__(self, d: int, k: int):
        super().__init__()
        self.hidden = nn.Linear(d, k)
        self.out = nn.Linear(k, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)


def mlp_weights(model: MLP) -> dict[str, np.ndarray]:
    """The model's parameters as float32 numpy arrays, keyed like its state_dict."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def save_weights(model: nn.Module, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Save a model's parameters as safetensors, atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file into CPU tensors, turning every failure into `ModelFileError`."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} not found: train it with `python -m training.mnist`")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises several types for truncated or garbled files
        raise ModelFileError(
            f"model file {path} is corrupt or not a safetensors file ({exc}); "
            "delete it and regenerate it with `python -m training.mnist`"
        ) from None


def load_mlp(spec: MLPSpec, path: Path) -> MLP:
    """Build the MLP of `spec` and load its weights from a safetensors file."""
    state = load_state(path)
    model = MLP(spec)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        raise ModelFileError(
            f"{path} does not hold the weights of {spec.name} (hidden={spec.hidden}): "
            f"expected tensors {expected}, found {found}"
        )
    model.load_state_dict(state)
    return model.eval()
