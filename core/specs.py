"""The registry of model specs: every model the talk uses, as frozen data.

Two families:

* MNIST classifiers `f_n` and `f_nd`: one-hidden-layer ReLU MLPs 784 -> h -> 10 with a softmax
  output. The talk's "120k" and "3M" parameter models; `p(h) = 784 h + h + 10 h + 10 = 795 h + 10`.
* The random-data network of Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444):
  f(x) = sum_j a_j relu(w_j . x + b_j) + c with k units, `p = k (d + 2) + 1`, under two width rules,
  k = n (p ~ nd) and k = ceil(10 n / d) (p ~ 10 n).

Nothing else in the code base branches on a model's name: look the spec up here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from core.errors import InputError, UnknownModelError

MNIST_INPUT_DIM = 28 * 28
MNIST_CLASSES = 10


def mlp_param_count(input_dim: int, hidden: int, classes: int) -> int:
    """Parameters of a dense input_dim -> hidden -> classes network with biases."""
    return input_dim * hidden + hidden + hidden * classes + classes


@dataclass(frozen=True)
class MLPSpec:
    """A one-hidden-layer ReLU classifier for 28x28 images.

    Attributes:
        name: registry key, also the stem of every file of the model in `pretrained/mnist/`.
        hidden: width h of the hidden layer.
        label: how the talk calls it ("120k parameters").
        color: the model's colour everywhere in the app (orange and blue: told apart with any
            colour vision), on a light background: at least 4.5:1 against white, so it passes
            as text (WCAG 1.4.3) and as a chart mark (1.4.11: 3:1). Colour is never the only cue:
            the model's name goes with it.
        dark_color: the same colour for a dark background (at least 4.5:1 contrast against
            Streamlit's dark theme, #0E1117); empty: `color` already passes.
        input_dim, classes: 784 and 10 for MNIST.
    """

    name: str
    hidden: int
    label: str
    color: str
    input_dim: int = MNIST_INPUT_DIM
    classes: int = MNIST_CLASSES
    dark_color: str = ""

    @property
    def color_on_dark(self) -> str:
        return self.dark_color or self.color

    @property
    def param_count(self) -> int:
        return mlp_param_count(self.input_dim, self.hidden, self.classes)

    @property
    def weights_file(self) -> str:
        return f"{self.name}.safetensors"

    @property
    def onnx_file(self) -> str:
        return f"{self.name}.onnx"

    @property
    def metadata_file(self) -> str:
        return f"{self.name}.json"


# Okabe & Ito (2008) palette: orange for the small model, blue for the big one (its sky blue on a
# dark background, where #0072B2 has only 3.7:1 contrast).
# The names come from the talk (and the random-data experiment): f_n has p of the order of n
# parameters, f_nd "more". For MNIST (n = 60,000, d = 784) n·d = 47,040,000, so f_nd's 3,000,340
# parameters are about 50 n, or n·d / 16: never label it p ~ nd.
MNIST_MODELS: dict[str, MLPSpec] = {
    spec.name: spec
    for spec in (
        MLPSpec(name="f_n", hidden=151, label="f_n: 120k parameters (p ≈ 2n)", color="#A35200",
                dark_color="#E69F00"),  # Okabe-Ito orange, darkened: #E69F00 has 2.25:1 on white
        MLPSpec(name="f_nd", hidden=3774, label="f_nd: 3M parameters (p ≈ 50n ≈ nd/16)", color="#0072B2",
                dark_color="#56B4E9"),
    )
}
# Colours on a dark background, for every colour that means a model (charts are swapped by
# app.chart_export.themed_spec).
DARK_MODE_COLORS: dict[str, str] = {s.color: s.color_on_dark for s in MNIST_MODELS.values() if s.dark_color}


def get_mnist_spec(name: str) -> MLPSpec:
    """The spec of an MNIST model by name; raises `UnknownModelError` listing the known names."""
    try:
        return MNIST_MODELS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(MNIST_MODELS))
        raise UnknownModelError(f"unknown model {name!r}: choose one of {known}") from None


# --- the random-data network -------------------------------------------------------------


def two_layer_param_count(d: int, k: int) -> int:
    """Parameters of f(x) = sum_j a_j relu(w_j . x + b_j) + c: k d weights, k biases, k outputs, c."""
    return k * d + k + k + 1


@dataclass(frozen=True)
class WidthRule:
    """How many hidden units k the random-data network gets for n points in dimension d.

    Attributes:
        name: registry key ("f_nd" or "f_n", matching the MNIST models' naming in the talk).
        label: the regime, for plots.
        short: the rule in a sentence ("k = n"); the page never calls a width rule by its key, since
            f_n and f_nd name the MNIST networks everywhere else.
        color: same colour as the MNIST model of the same regime.
        width: k(n, d).
    """

    name: str
    label: str
    short: str
    color: str
    width: Callable[[int, int], int]

    def __call__(self, n: int, d: int) -> int:
        if not (isinstance(n, int) and isinstance(d, int)) or n < 1 or d < 1:
            raise InputError(f"n and d must be positive integers, got n={n!r}, d={d!r}")
        return self.width(n, d)

    def param_count(self, n: int, d: int) -> int:
        return two_layer_param_count(d, self(n, d))


WIDTH_RULES: dict[str, WidthRule] = {
    rule.name: rule
    for rule in (
        WidthRule(name="f_nd", label="k = n (p ~ nd)", short="k = n", color=MNIST_MODELS["f_nd"].color,
                  width=lambda n, d: n),
        WidthRule(name="f_n", label="k = ceil(10n/d) (p ~ 10n)", short="k = 10n/d", color=MNIST_MODELS["f_n"].color,
                  width=lambda n, d: math.ceil(10 * n / d)),
    )
}


def get_width_rule(name: str) -> WidthRule:
    """A width rule by name; raises `UnknownModelError` listing the known names."""
    try:
        return WIDTH_RULES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(WIDTH_RULES))
        raise UnknownModelError(f"unknown width rule {name!r}: choose one of {known}") from None


# --- the capacity sweep (training.capacity) -----------------------------------------------

# Widths h of the sweep: 151 and 3774 are f_n and f_nd, the others spread evenly in log h.
CAPACITY_WIDTHS: tuple[int, ...] = (16, 32, 64, 151, 300, 600, 1200, 3774)
# Curves of widths that are neither f_n nor f_nd are drawn in neutral grey.
NEUTRAL_COLOR = "#555555"


def capacity_spec(hidden: int) -> MLPSpec:
    """The spec of the width-h MLP of the sweep: f_n or f_nd when h is theirs, else `mlp_h<h>`."""
    if not isinstance(hidden, int) or hidden < 1:
        raise InputError(f"hidden width must be a positive integer, got {hidden!r}")
    for spec in MNIST_MODELS.values():
        if spec.hidden == hidden:
            return spec
    return MLPSpec(name=f"mlp_h{hidden}", hidden=hidden, label=f"h = {hidden}", color=NEUTRAL_COLOR)


# --- the adversarially trained talk models (training.capacity, pretrained/capacity/) ---------

# Same architecture and colour as the talk model they are trained from: orange is f_n, blue f_nd.
ADVERSARIAL_MODELS: dict[str, MLPSpec] = {
    f"{spec.name}_adv": MLPSpec(name=f"{spec.name}_adv", hidden=spec.hidden,
                                label=f"{spec.name}, adversarially trained (eps 0.1)", color=spec.color)
    for spec in MNIST_MODELS.values()
}
# Which version of the talk models a page shows: {training: {talk model name: spec}}.
TALK_TRAININGS: dict[str, dict[str, MLPSpec]] = {
    "standard": dict(MNIST_MODELS),
    "adversarial": {base: ADVERSARIAL_MODELS[f"{base}_adv"] for base in MNIST_MODELS},
}


# Every talk model by name, normally and adversarially trained: what the app's pages can show.
TALK_MODELS: dict[str, MLPSpec] = {**MNIST_MODELS, **ADVERSARIAL_MODELS}


def talk_models(training: str) -> tuple[MLPSpec, ...]:
    """f_n and f_nd as trained normally ("standard") or adversarially ("adversarial")."""
    try:
        return tuple(TALK_TRAININGS[training].values())
    except (KeyError, TypeError):
        raise UnknownModelError(f"unknown training {training!r}: choose one of "
                                f"{', '.join(TALK_TRAININGS)}") from None
