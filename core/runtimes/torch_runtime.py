"""The PyTorch backend of `Classifier`, for training-time evaluation and as the reference.

Gradients are taken with `torch.autograd.grad` with respect to the input only: the model's
parameters are never touched (no `.backward()`, no `.grad` fields written).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.runtimes.classifier import LossGrad, as_image_batch, as_labels


class TorchClassifier:
    """A `Classifier` around a torch module that maps [N, 784] images to logits.

    Args:
        model: the network (put in eval mode; not modified).
        name: how the model is called in results.
        device: where to run ("cpu", "cuda"); the model is moved there.
    """

    def __init__(self, model: torch.nn.Module, name: str = "model", device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.name = name

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        dtype = next(self.model.parameters()).dtype  # float64 models serve as exact references
        return torch.from_numpy(as_image_batch(x)).to(self.device, dtype)

    @torch.no_grad()
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.model(self._tensor(x)), dim=1).cpu().numpy()

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> LossGrad:
        xt = self._tensor(x).requires_grad_(True)
        yt = torch.from_numpy(as_labels(y, xt.shape[0])).to(self.device)
        with torch.enable_grad():
            logits = self.model(xt)
            loss = F.cross_entropy(logits, yt, reduction="none")
            # Summing makes each row's gradient the gradient of that example's own loss.
            (grad,) = torch.autograd.grad(loss.sum(), xt)
        probs = torch.softmax(logits.detach(), dim=1)
        return LossGrad(probs.cpu().numpy(), loss.detach().cpu().numpy(), grad.cpu().numpy())
