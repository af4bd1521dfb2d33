"""The class polls ("predict, then see"): `POLLS`, a registry of questions asked at the talk's turning
points, each placed before the slide (app/slides.py) that shows its answer.

The projector shows `Poll.question` and its `choices`, students vote from their phones, then the
lecturer reveals the class's answers beside `Poll.answer(root)`: the choice the shipped results in
pretrained/ support and the sentences to repeat (`core.results.polls.Measured`), computed from the
files, never written here. The choices are `core.results.polls`' own tuples, so a measured choice
index and its text cannot drift apart.

`Poll.before` names the slide the poll comes before: its page and a part of its claim as written in
app/slides.py. The slides insert each poll's own slide there (`app.slides.with_polls`): robust to
slides added or moved, and an error at import (a test catches it) when no slide matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import UnknownPollError
from core.results import polls as measured
from core.results.mnist import TALK_EPS
from core.results.polls import Measured
from core.specs import MNIST_MODELS

QUESTION_MAX_CHARS = 90  # one line on a 1280 px projector at the slides' claim size
CHOICE_MAX_CHARS = 40


@dataclass(frozen=True)
class Poll:
    """One question of the talk.

    id: stable key stored in the database ("fgsm_size"). question: one line for the projector
    (<= `QUESTION_MAX_CHARS`). choices: 2 to 4 short answers (<= `CHOICE_MAX_CHARS` each), in display
    order. before: (page, part of its claim) of the slide the poll comes before ("" : the page's
    first slide).
    answer: root of pretrained/ (a str) -> the measured answer; reads files, raises
    `core.results.pretrained.PretrainedError` (a `RobustnessError`, with the fix) when they are bad.
    """

    id: str
    question: str
    choices: tuple[str, ...]
    before: tuple[str, str]
    answer: Callable[[str], Measured]


def _size(params: int) -> str:
    return f"{params / 1e6:.0f}M" if params >= 1_000_000 else f"{params / 1e3:.0f}k"


_SMALL, _BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]

POLLS: tuple[Poll, ...] = (
    Poll("random_flat",
         "Memorizing random labels: does the k = n curve (p ≈ nd) stay flat as d grows?",
         measured.RANDOM_FLAT_CHOICES,
         ("pages/random_data.py", "Memorizing random labels"),
         measured.answer_random_flat),
    Poll("fgsm_size",
         f"FGSM at eps = {TALK_EPS:g}: which survives better, {_SMALL.name} ({_size(_SMALL.param_count)} "
         f"parameters) or {_BIG.name} ({_size(_BIG.param_count)})?",
         measured.FGSM_SIZE_CHOICES,
         ("pages/mnist.py", "Attacks choose their direction"),
         measured.answer_fgsm_size),
    Poll("noise_vs_fgsm",
         "Does random noise of the same size hurt as much as FGSM?",
         measured.NOISE_CHOICES,
         ("pages/mnist.py", "Attacks choose their direction"),
         measured.answer_noise),
    Poll("adversarial_small",
         f"Does adversarial training work for a small network (h = {measured.SMALL_WIDTH})?",
         measured.ADVERSARIAL_SMALL_CHOICES,
         ("pages/capacity.py", ""),
         measured.answer_adversarial_small),
)


def get_poll(poll_id: str) -> Poll:
    """The poll with this id; `UnknownPollError` (a `RobustnessError`) naming the known ids if none."""
    for poll in POLLS:
        if poll.id == poll_id:
            return poll
    raise UnknownPollError(f"unknown poll {poll_id!r}: choose one of {', '.join(p.id for p in POLLS)}")
