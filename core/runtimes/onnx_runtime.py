"""The ONNX Runtime backend of `Classifier`: inference and input gradients without torch.

The app uses this backend: onnxruntime imports in about 0.3 s where torch takes about 2.7 s.
The graph (see `core.runtimes.onnx_export`) computes the input gradient itself.

Telemetry: ONNX Runtime's native library (1.32 on Linux) sends usage events to
mobile.events.data.microsoft.com (DNS queries about 20 s after the first session) and keeps a
device id under ~/.cache/Microsoft/DeveloperTools/.onnxruntime. Only the environment variable
`ORT_DISABLE_TELEMETRY=1`, read when the library loads, stops both: `disable_telemetry_events()`
after the import does not (seen with strace; tests/app/test_no_outside_calls.py). So
onnxruntime is imported only through `import_onnxruntime`, which sets it first.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from core.errors import ModelFileError
from core.runtimes.classifier import LossGrad, as_image_batch, as_labels

# The names the native library reads (`strings libonnxruntime.so`): "0" or "1".
TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1"}


# Whether onnxruntime was loaded before this module, without the variable: its telemetry is on.
_LOADED_WITH_TELEMETRY = "onnxruntime" in sys.modules and any(
    os.environ.get(k) != v for k, v in TELEMETRY_OFF.items())
os.environ.update(TELEMETRY_OFF)  # for whatever this process loads or starts next (the live worker)


def import_onnxruntime():
    """The onnxruntime module, loaded with its telemetry off (no outside call, no device id on disk).

    Warns if onnxruntime had been loaded before this module set the variable: its telemetry is then
    on in this process, whatever is done now.
    """
    if _LOADED_WITH_TELEMETRY:
        warnings.warn("onnxruntime was imported before core.runtimes.onnx_runtime turned its telemetry off: "
                      "import it through core.runtimes.onnx_runtime.import_onnxruntime()", RuntimeWarning,
                      stacklevel=2)
    os.environ.update(TELEMETRY_OFF)
    import onnxruntime

    return onnxruntime


class OnnxClassifier:
    """A `Classifier` backed by an ONNX Runtime session on the CPU.

    Args:
        path: an .onnx file written by `core.runtimes.onnx_export.export_mlp_onnx` (its weights inside it
            or in the safetensors file it references, in the same folder).
        name: how the model is called in results and messages (default: the file's stem).
        threads: intra-op threads (None: onnxruntime's default, one per core).
    """

    def __init__(self, path: Path, name: str | None = None, threads: int | None = None):
        ort = import_onnxruntime()
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
