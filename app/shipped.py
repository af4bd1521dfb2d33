"""The shipped MNIST models and digits, cached: one classifier per model, its metadata, the sweeps,
the test sample, and the attack results the pages reuse (per model and image, or per model and eps).

Not a page (the navigation lists only the files in streamlit_app.TALK). Loaders are cached at module
level and keyed on (pretrained folder, model name), so a session, a test that points
`PRETRAINED_DIR` elsewhere and a fresh file all get the right entry. The attack caches answer a
slider move with a lookup: what does not depend on eps (a gradient, the smallest flipping eps) is
computed once per image and model; the gallery's accuracy over every shipped digit once per eps
of its slider's grid (`GALLERY_EPS_GRID`, warmed at start-up: app/warmup.py).

Every cache here is an `st.cache_resource`: one shared object per key, handed out as it is. An
`st.cache_data` hands every call a copy (it unpickles the stored value): the test sample alone is
a megabyte, unpickled on every slider move of every student. The shared values are never changed
by their users; the sample's arrays are read-only, so a change would raise, not spread.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import core.results.pretrained as pretrained
from core.attacks import get_attack
from core.attacks.base import Outcome, Prepared
from core.attacks.flip import smallest_flip_eps
from core.results.capacity import load_capacity_results
from core.results.classifiers import load_classifier
from core.runtimes.classifier import accuracy
from core.specs import MLPSpec, talk_models

# ONNX Runtime threads per session. One: the app's calls are small (one image, or a few hundred),
# several sessions may run at once, and a spinning thread pool on a busy 2-core machine made one
# eps change 7x slower (benchmarks/app_speed.py).
ONNX_THREADS = 1
# The MNIST page's gallery: digits shown, and its eps slider's grid (the summary line over all
# shipped digits is cached per grid value, and warmed at start-up: app/warmup.py).
GALLERY_SIZE = 5
GALLERY_EPS_STEP = 0.005
GALLERY_EPS_MAX = 0.3
GALLERY_EPS_GRID = tuple(round(GALLERY_EPS_STEP * i, 6)
                         for i in range(int(round(GALLERY_EPS_MAX / GALLERY_EPS_STEP)) + 1))


def pretrained_root() -> str:
    """The folder the app reads, as a hashable cache key (read at call time: tests may repoint it)."""
    return str(pretrained.PRETRAINED_DIR)


# --- the shipped models and digits ---------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model...")
def classifier(root: str, name: str):
    """The ONNX Runtime classifier of one model, its files checked against their sha256 once.

    f_n and f_nd come from pretrained/mnist, their adversarially trained versions (f_n_adv,
    f_nd_adv) from pretrained/capacity (`python -m training.capacity`)."""
    return load_classifier(name, root=root, threads=ONNX_THREADS)


@st.cache_resource(show_spinner=False)
def metadata(root: str, name: str) -> dict:
    return pretrained.model_metadata(name, root=root)


@st.cache_resource(show_spinner=False)
def sweeps(root: str) -> dict:
    return pretrained.load_mnist_sweeps(root=root)


@st.cache_resource(show_spinner=False)
def capacity_results(root: str) -> dict:
    """pretrained/capacity/results.json (checked against its manifest): the MNIST page quotes its
    reruns of f_n and f_nd towards zero loss."""
    return load_capacity_results(root)


@st.cache_resource(show_spinner=False)
def sample(root: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test digits: images float32 [N, 784] in [0, 1], labels int64 [N] (read-only:
    shared by every session)."""
    images, labels = pretrained.load_sample(root=root)
    for arr in (images, labels):
        arr.flags.writeable = False
    return images, labels


def shipped_input(images: np.ndarray, i: int) -> np.ndarray:
    """Shipped test digit i as the draw page's input: float32 [1, 784], contiguous (the same bytes,
    so the same cache entries, whether the page or the start-up warm-up asks)."""
    return np.ascontiguousarray(np.asarray(images[i]).reshape(1, 784), dtype=np.float32)


# --- attacks, looked up in the registry (core.attacks.ATTACKS) by name ----------------------------


@st.cache_resource(show_spinner=False, max_entries=256)
def sample_prepared(root: str, attack: str, name: str, indices: tuple[int, ...], **options) -> Prepared:
    """What `attack` needs of some shipped test digits, against their true labels, for any budget
    (FGSM: one backward pass; white noise: its seeded field). options: the attack's `options`."""
    images, labels = sample(root)
    idx = list(indices)
    return get_attack(attack).prepare(classifier(root, name), images[idx], labels[idx], **options)


def sample_outcome(root: str, attack: str, name: str, indices: tuple[int, ...], budget: float,
                   **options) -> Outcome:
    """Some shipped test digits attacked at `budget`: one forward pass from the cached preparation."""
    prepared = sample_prepared(root, attack, name, indices, **options)
    return get_attack(attack).outcome(classifier(root, name), prepared, budget)


@st.cache_resource(show_spinner=False, max_entries=8)
def whole_sample_prepared(root: str, attack: str, name: str, **options) -> Prepared:
    """`sample_prepared` of every shipped digit, in a cache of its own: few entries of ~1 MB each."""
    images, labels = sample(root)
    return get_attack(attack).prepare(classifier(root, name), images, labels, **options)


@st.cache_resource(show_spinner=False, max_entries=1024)
def sample_accuracy(root: str, attack: str, name: str, budget: float, **options) -> float:
    """Accuracy of one model on all shipped test digits under `attack` at `budget` (true labels).

    Depends only on (model, attack, budget, options): computed once for the whole class, not on
    every slider move (`app.warmup` fills it for FGSM on the gallery's grid at start-up).
    """
    _, labels = sample(root)
    prepared = whole_sample_prepared(root, attack, name, **options)
    out = get_attack(attack).outcome(classifier(root, name), prepared, budget)
    return accuracy(out.prediction.probs, labels)


# 1024: every shipped test digit for both talk models (warmed at start-up), and the drawings.
@st.cache_resource(show_spinner=False, max_entries=1024)
def image_prepared(root: str, attack: str, name: str, x: np.ndarray, **options) -> Prepared:
    """What `attack` needs of one unlabelled image [1, 784] against the model's own answer (cached)."""
    return get_attack(attack).prepare(classifier(root, name), x, **options)


@st.cache_resource(show_spinner=False, max_entries=1024)
def image_outcome(root: str, attack: str, name: str, x: np.ndarray, budget: float) -> Outcome:
    """One image attacked at `budget` by an attack whose every budget costs gradient steps (PGD: 10),
    cached per budget: the slider's grid holds 121 values, so a revisited eps costs nothing."""
    return get_attack(attack).outcome(classifier(root, name), image_prepared(root, attack, name, x), budget)


@st.cache_resource(show_spinner=False, max_entries=1024)
def image_flip_eps(root: str, name: str, x: np.ndarray) -> float:
    """Smallest eps on `core.attacks.flip.FLIP_GRID` at which FGSM flips the model on image x [1, 784]."""
    return float(smallest_flip_eps(classifier(root, name), x)[0])


# --- normally or adversarially trained ----------------------------------------------------------

TRAININGS = ("standard", "adversarial")  # also the URL's values (`?draw_training=adversarial`)


def training_choice(talk, container=None) -> tuple[MLPSpec, ...]:
    """A URL-bound choice between the talk's models as trained normally and their adversarially
    trained versions (training.capacity); returns the chosen (f_n, f_nd) specs.

    talk: the page's `TalkSettings`, with a "training" setting ("standard" in the talk).
    """
    where = container if container is not None else st
    # No format_func: a bound radio keeps its option's text in the URL, kept short this way.
    training = where.radio(
        "Training of f_n and f_nd", TRAININGS, horizontal=True,
        help="standard: trained on the clean images, as in the talk. adversarial: trained on FGSM "
             "examples with a random start at eps = 0.1 (the Robustness against size page).",
        **talk.bind("training", options=TRAININGS),
    )
    return talk_models(training)
