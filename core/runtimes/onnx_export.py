"""Export an MNIST MLP to ONNX with its input gradient computed inside the graph.

ONNX Runtime runs inference only, so the backward pass is written out as matrix operations.
For logits z = W2 relu(W1 x + b1) + b2, p = softmax(z) and the per-example cross-entropy
L = -log p_y:

    dL/dz = p - onehot(y)
    dL/dx = W1^T [ (W2^T dL/dz) * 1(W1 x + b1 > 0) ]

which is exactly what autograd computes (ReLU's derivative is taken as 0 at 0, as in PyTorch).
Graph inputs: x float32 [N, 784], y int64 [N]. Outputs: probs [N, 10], loss [N], grad [N, 784],
logits [N, 10].

The weights can live inside the .onnx file or, to ship them once, be referenced in place inside
the model's safetensors file (ONNX external data with offsets): the .onnx file is then a few KB.
Only numpy and onnx are needed; no torch.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from core.errors import InputError, ModelFileError
from core.files import atomic_write_bytes

OPSET = 17
WEIGHT_NAMES = ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
OUTPUT_NAMES = ("probs", "loss", "grad", "logits")


def safetensors_offsets(path: Path) -> dict[str, tuple[int, int, str, list[int]]]:
    """Byte offset, length, dtype and shape of every tensor in a safetensors file.

    The format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
    mapping names to {dtype, shape, data_offsets}, then the raw little-endian data.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            (header_len,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(header_len))
    except (OSError, struct.error, ValueError) as exc:
        raise ModelFileError(f"{path} is not a readable safetensors file ({exc})") from None
    start = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = (start + begin, end - begin, info["dtype"], info["shape"])
    return out


def _check_weights(weights: dict[str, np.ndarray]) -> tuple[int, int, int]:
    missing = [k for k in WEIGHT_NAMES if k not in weights]
    if missing:
        raise InputError(f"weights lack {missing}; expected the tensors {list(WEIGHT_NAMES)}")
    w1, b1, w2, b2 = (np.asarray(weights[k]) for k in WEIGHT_NAMES)
    hidden, input_dim = w1.shape
    classes = w2.shape[0]
    if b1.shape != (hidden,) or w2.shape != (classes, hidden) or b2.shape != (classes,):
        raise InputError(
            "inconsistent MLP weight shapes: "
            f"fc1.weight {w1.shape}, fc1.bias {b1.shape}, fc2.weight {w2.shape}, fc2.bias {b2.shape}"
        )
    return input_dim, hidden, classes


def build_mlp_graph(weights: dict[str, np.ndarray], name: str = "mlp", half: bool = False) -> onnx.ModelProto:
    """The forward-and-backward ONNX model of an MLP, with the weights embedded.

    half: store the weights as float16 (half the bytes); the graph casts them to float32 first, so
    it computes exactly what a float32 model with the float16-rounded weights computes.
    """
    input_dim, hidden, classes = _check_weights(weights)
    stored = np.float16 if half else np.float32
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(weights[k], dtype=stored), k)
        for k in WEIGHT_NAMES
    ]
    # Names the compute nodes read: the weights themselves, or their float32 casts.
    w = {k: (f"{k}.float32" if half else k) for k in WEIGHT_NAMES}
    casts = [helper.make_node("Cast", [k], [w[k]], to=TensorProto.FLOAT) for k in WEIGHT_NAMES] if half else []
    inits += [
        numpy_helper.from_array(np.array([classes], dtype=np.int64), "depth"),
        numpy_helper.from_array(np.array([0.0, 1.0], dtype=np.float32), "onehot_values"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "class_axis"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
    ]
    nodes = casts + [
        helper.make_node("Gemm", ["x", w["fc1.weight"], w["fc1.bias"]], ["pre"], transB=1),
        helper.make_node("Relu", ["pre"], ["act"]),
        helper.make_node("Gemm", ["act", w["fc2.weight"], w["fc2.bias"]], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        helper.make_node("LogSoftmax", ["logits"], ["logp"], axis=1),
        helper.make_node("OneHot", ["y", "depth", "onehot_values"], ["onehot"], axis=1),
        helper.make_node("Mul", ["onehot", "logp"], ["picked"]),
        helper.make_node("ReduceSum", ["picked", "class_axis"], ["neg_loss"], keepdims=0),
        helper.make_node("Neg", ["neg_loss"], ["loss"]),
        # Backward pass, by hand: see the module docstring.
        helper.make_node("Sub", ["probs", "onehot"], ["dlogits"]),
        helper.make_node("MatMul", ["dlogits", w["fc2.weight"]], ["dact"]),
        helper.make_node("Greater", ["pre", "zero"], ["active"]),
        helper.make_node("Where", ["active", "dact", "zero"], ["dpre"]),
        helper.make_node("MatMul", ["dpre", w["fc1.weight"]], ["grad"]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", input_dim]),
            helper.make_tensor_value_info("y", TensorProto.INT64, ["N"]),
        ],
        outputs=[
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", classes]),
            helper.make_tensor_value_info("loss", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("grad", TensorProto.FLOAT, ["N", input_dim]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]),
        ],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="robustness-lecture"
    )
    model.ir_version = 8  # readable by every onnxruntime >= 1.11
    onnx.checker.check_model(model)
    return model


def _point_at_safetensors(model: onnx.ModelProto, onnx_path: Path, weights_path: Path) -> None:
    """Turn the weight initializers into references into the safetensors file beside the model."""
    if weights_path.parent.resolve() != onnx_path.parent.resolve():
        raise InputError("the safetensors file must sit in the same folder as the .onnx file")
    offsets = safetensors_offsets(weights_path)
    for init in model.graph.initializer:
        if init.name not in WEIGHT_NAMES:
            continue
        if init.name not in offsets:
            raise ModelFileError(f"{weights_path} has no tensor {init.name}")
        offset, length, dtype, shape = offsets[init.name]
        needed = "F16" if init.data_type == TensorProto.FLOAT16 else "F32"
        if dtype != needed or list(shape) != list(init.dims):
            raise ModelFileError(
                f"{weights_path}:{init.name} is {dtype}{shape}, the graph needs {needed}{list(init.dims)}"
            )
        init.ClearField("raw_data")
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        for key, value in (("location", weights_path.name), ("offset", str(offset)),
                           ("length", str(length))):
            entry = init.external_data.add()
            entry.key, entry.value = key, value


def export_mlp_onnx(
    weights: dict[str, np.ndarray], path: Path, *, weights_file: Path | None = None, name: str = "mlp",
    half: bool = False,
) -> Path:
    """Write the forward-and-backward ONNX model of an MLP to `path`, atomically.

    Args:
        weights: float32 arrays keyed fc1.weight [h, 784], fc1.bias [h], fc2.weight [10, h],
            fc2.bias [10] (PyTorch's nn.Linear layout).
        path: the .onnx file to write.
        weights_file: if given, a safetensors file in the same folder holding exactly these
            weights; the graph then references its bytes instead of copying them.
        half: the weights are stored as float16 (in the graph, or in a float16 safetensors file)
            and cast to float32 inside the graph.
    """
    path = Path(path)
    model = build_mlp_graph(weights, name=name, half=half)
    if weights_file is not None:
        _point_at_safetensors(model, path, Path(weights_file))
    atomic_write_bytes(path, model.SerializeToString())
    return path
