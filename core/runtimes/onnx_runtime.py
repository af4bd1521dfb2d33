"""The ONNX Runtime backend of `Classifier`: inference and input gradients without torch.

The app uses this backend: onnxruntime imports in about 0.3 s where torch takes about 2.7 s.
The graph (see `core.runtimes.onnx_export`) computes the input gradient itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import ModelFileError
from core.runtimes.classifier import LossGrad, as_image_batch, as_labels


class OnnxClassifier:
    """A `Classifier` backed by an ONNX Runtime session on the CPU.

    Args:
        path: an .onnx file written by `core.runtimes.onnx_export.export_mlp_onnx` (its weights inside it
            or in the safetensors file it references, in the same folder).
        name: how the model is called in results and messages (default: the file's stem).
        threads: intra-op threads (None: onnxruntime's default, one per core).
    """

    def __init__(self, path: Path, name: str | None = None, threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        self.name = name or path.stem
        self.path = path
        if not path.is_file():
            raise ModelFileError(
                f"ONNX model {path} not found: regenerate it with `python -m training.mnist`"
            )
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise ModelFileError(
                f"ONNX model {path} (or the weights file it references) is missing or corrupt "
                f"({str(exc).splitlines()[0][:200]}); regenerate it with `python -m training.mnist`"
            ) from None
        names = {o.name for o in self._session.get_outputs()}
        if not {"probs", "loss", "grad"} <= names:
            raise ModelFileError(
                f"{path} has outputs {sorted(names)}, not probs/loss/grad: it was not written by "
                "core.runtimes.onnx_export; regenerate it with `python -m training.mnist`"
            )
        self._zeros = np.zeros(0, dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = as_image_batch(x)
        # A local reference: one classifier serves every session's thread, and another thread may
        # swap self._zeros for its own batch size between the check and the run.
        zeros = self._zeros
        if zeros.shape[0] != x.shape[0]:
            zeros = np.zeros(x.shape[0], dtype=np.int64)
            self._zeros = zeros
        (probs,) = self._session.run(["probs"], {"x": x, "y": zeros})
        return probs

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> LossGrad:
        x = as_image_batch(x)
        y = as_labels(y, x.shape[0])
        probs, loss, grad = self._session.run(["probs", "loss", "grad"], {"x": x, "y": y})
        return LossGrad(probs, loss, grad)
