"""Print the speed of the core library on this machine (numbers, not pass/fail).

* FGSM throughput (images/s) of both runtimes on f_nd (784-3774-10), batch 256, CPU: one
  forward+backward pass for the gradient and one forward pass for the attacked prediction, as
  `core.attacks.fgsm.fgsm` followed by a prediction does.
* The time of one default double-descent curve (`core.experiments.double_descent.double_descent_curve`).

Run: .venv/bin/python -m benchmarks.core_speed [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _timeit(fn, repeats: int) -> list[float]:
    fn()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _report(label: str, times: list[float], batch: int | None = None) -> None:
    med = statistics.median(times)
    extra = f"  ->  {batch / med:,.0f} images/s" if batch else ""
    print(f"{label:<44} median {med * 1e3:8.2f} ms  (min {min(times) * 1e3:.2f}, n={len(times)}){extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()

    import torch

    from core.attacks.fgsm import fgsm
    from core.experiments.double_descent import double_descent_curve
    from core.runtimes.models import build_mlp, mlp_weights, save_weights
    from core.runtimes.onnx_export import export_mlp_onnx
    from core.runtimes.onnx_runtime import OnnxClassifier
    from core.runtimes.torch_runtime import TorchClassifier
    from core.specs import get_mnist_spec

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch}")
    spec = get_mnist_spec("f_nd")
    model = build_mlp(spec, seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / spec.weights_file
        save_weights(model, weights)
        onnx_path = export_mlp_onnx(mlp_weights(model), Path(tmp) / spec.onnx_file, weights_file=weights)
        runtimes = {"torch": TorchClassifier(model), "onnxruntime": OnnxClassifier(onnx_path)}
        for name, clf in runtimes.items():
            def attack_and_predict(clf=clf):
                clf.predict_proba(fgsm(clf, x, y, 0.05, batch_size=args.batch))

            _report(f"FGSM + prediction, f_nd, {name}", _timeit(attack_and_predict, args.repeats), args.batch)

    times = _timeit(double_descent_curve, max(3, args.repeats // 4))
    _report("double-descent curve (defaults)", times)


if __name__ == "__main__":
    main()
