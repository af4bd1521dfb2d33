"""core.results.classifiers: one loader for every shipped model the app shows, checked before use."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.errors import UnknownModelError
from core.results.classifiers import load_classifier
from core.results.pretrained import PRETRAINED_DIR, PretrainedError, load_sample
from core.specs import TALK_MODELS


@pytest.mark.parametrize("name", list(TALK_MODELS))
def test_every_talk_model_loads_and_classifies_the_shipped_digits(name):
    clf = load_classifier(name, threads=1)
    images, labels = load_sample()
    accuracy = np.mean(np.argmax(clf.predict_proba(images[:100]), axis=1) == labels[:100])
    assert clf.name == name and accuracy > 0.9


@pytest.mark.parametrize("name", ["f_x", "", "f_n_adv_adv", None])
def test_an_unknown_name_lists_the_models(name):
    with pytest.raises(UnknownModelError, match="choose one of f_n, f_nd, f_n_adv, f_nd_adv"):
        load_classifier(name)


@pytest.mark.parametrize("name, folder", [("f_nd", "mnist"), ("f_n_adv", "capacity")])
def test_an_edited_onnx_file_is_refused_in_either_folder(tmp_path, name, folder):
    root = tmp_path / "pretrained"
    shutil.copytree(PRETRAINED_DIR / folder, root / folder)
    path = root / folder / f"{name}.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match=rf"{name}\.onnx.*Quick fix: copy the shipped files back"):
        load_classifier(name, root)
