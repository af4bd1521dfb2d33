"""One way to load any shipped classifier: `load_classifier(name)` for every model of the registry
that the app can show (`core.specs.TALK_MODELS`).

f_n and f_nd come from `pretrained/mnist/` (their files checked against the checksums in their
metadata), their adversarially trained versions f_n_adv and f_nd_adv from `pretrained/capacity/`
(checked against that folder's manifest). Either way the answer is an ONNX Runtime `Classifier`
(no torch), the interface every attack in `core.attacks` runs on; a missing, edited or corrupt
file raises `PretrainedError` naming the fix.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import UnknownModelError
from core.results import capacity, pretrained
from core.runtimes.onnx_runtime import OnnxClassifier
from core.specs import ADVERSARIAL_MODELS, TALK_MODELS


def load_classifier(name: str, root: Path | str | None = None, threads: int | None = None) -> OnnxClassifier:
    """The shipped model `name` ("f_n", "f_nd", "f_n_adv", "f_nd_adv") as a checked `Classifier`.

    root: the pretrained folder (default `core.results.pretrained.PRETRAINED_DIR`); threads: ONNX
    Runtime's intra-op threads (None: its default).
    """
    if name not in TALK_MODELS:
        raise UnknownModelError(f"unknown model {name!r}: choose one of {', '.join(TALK_MODELS)}")
    if name in ADVERSARIAL_MODELS:
        base = name.removesuffix(capacity.ADV_SUFFIX)
        capacity.adversarial_metadata(base, root)
        path = capacity.capacity_dir(root) / ADVERSARIAL_MODELS[name].onnx_file
    else:
        spec, _ = pretrained.verified_model_files(name, Path(root) if root else None)
        path = pretrained.mnist_dir(Path(root) if root else None) / spec.onnx_file
    return OnnxClassifier(path, name=name, threads=threads)
