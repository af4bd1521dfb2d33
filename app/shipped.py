"""The shipped MNIST models and digits, cached: one classifier per model, its metadata, the sweeps,
the test sample, and the attack results the pages reuse (per model and image, or per model and eps).

Not a page (the navigation lists only the files in streamlit_app.TALK). Loaders are cached at module
level and keyed on (pretrained folder, model name), so a session, a test that points
`PRETRAINED_DIR` elsewhere and a fresh file all get the right entry. The attack caches answer a
slider move with a lookup: what does not depend on eps (a gradient, the smallest flipping eps) is
computed once per image and model; the gallery's accuracy over every shipped digit once per eps
of its slider's grid (`GALLERY_EPS_GRID`, warmed at start-up: app/warmup.py).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import core.results.pretrained as pretrained
from core.attacks import live as live_attack
from core.results import capacity as capacity_results
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
    return capacity_results.load_classifier(name, root=root, threads=ONNX_THREADS)


@st.cache_data(show_spinner=False)
def metadata(root: str, name: str) -> dict:
    return pretrained.model_metadata(name, root=root)


@st.cache_data(show_spinner=False)
def sweeps(root: str) -> dict:
    return pretrained.load_mnist_sweeps(root=root)


@st.cache_data(show_spinner=False)
def sample(root: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test digits: images float32 [N, 784] in [0, 1], labels int64 [N]."""
    return pretrained.load_sample(root=root)


@st.cache_data(show_spinner=False, max_entries=256)
def sample_fgsm_start(root: str, name: str, indices: tuple[int, ...]) -> live_attack.FgsmStart:
    """Gradients of the true-label loss of some shipped test digits (one backward pass, cached)."""
    images, labels = sample(root)
    idx = list(indices)
    return live_attack.prepare_fgsm(classifier(root, name), images[idx], labels[idx])


@st.cache_data(show_spinner=False, max_entries=512)
def sample_fgsm_accuracy(root: str, name: str, eps: float) -> float:
    """Accuracy of one model on all shipped test digits under FGSM at eps (true-label attack).

    Depends only on (model, eps): computed once for the whole class, not on every slider move
    (`warm_up` fills it for the gallery's grid at start-up).
    """
    images, labels = sample(root)
    start = sample_fgsm_start(root, name, tuple(range(len(labels))))
    out = live_attack.fgsm_outcome(classifier(root, name), start, eps)
    return accuracy(out.prediction.probs, labels)


@st.cache_data(show_spinner=False, max_entries=512)
def sample_noise_accuracy(root: str, name: str, std: float, seed: int) -> float:
    """Accuracy of one model on all shipped test digits under white noise (std, seed)."""
    images, labels = sample(root)
    out = live_attack.noise_outcome(classifier(root, name), images, std, seed=seed)
    return accuracy(out.prediction.probs, labels)


@st.cache_data(show_spinner=False, max_entries=256)
def image_fgsm_start(root: str, name: str, x: np.ndarray) -> live_attack.FgsmStart:
    """Gradient of the loss of a model's own prediction on one unlabelled image [1, 784]."""
    return live_attack.prepare_fgsm(classifier(root, name), x)


@st.cache_data(show_spinner=False, max_entries=256)
def image_flip_eps(root: str, name: str, x: np.ndarray) -> float:
    """Smallest eps on `live_attack.FLIP_GRID` at which FGSM flips the model on image x [1, 784]."""
    return float(live_attack.smallest_flip_eps(classifier(root, name), x)[0])


@st.cache_data(show_spinner=False, max_entries=256)
def image_targeted_start(root: str, name: str, x: np.ndarray, target: int) -> live_attack.FgsmStart:
    """Gradient of the loss of class `target` on one image [1, 784], for targeted FGSM (cached)."""
    return live_attack.prepare_targeted_fgsm(classifier(root, name), x, target)


@st.cache_data(show_spinner=False, max_entries=1024)
def image_pgd_outcome(root: str, name: str, x: np.ndarray, eps: float) -> live_attack.Outcome:
    """PGD against the model's own prediction on one image [1, 784] at eps (10 gradient steps;
    cached per eps: the slider's grid holds 121 values, so a revisited eps costs nothing)."""
    start = image_fgsm_start(root, name, x)
    return live_attack.pgd_outcome(classifier(root, name), x, start.target, eps)


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
