"""app.polls: the registry of class polls. Ids unique, choices 2 to 4 and short, each poll placed
before a slide that exists and shows its answer, every answer computed from the shipped files, and
a poll's measured choice flipping when the shipped file says the opposite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app import polls
from app.polls import CHOICE_MAX_CHARS, POLLS, QUESTION_MAX_CHARS, get_poll
from app.slides import SLIDES, TALK_SLIDES, slide_before
from core.errors import RobustnessError, UnknownPollError
from core.results.pretrained import PRETRAINED_DIR, SAMPLE_FILE, SWEEPS_FILE, write_manifest


def test_ids_are_unique_and_stable():
    ids = [p.id for p in POLLS]
    assert len(ids) == len(set(ids)) >= 4
    assert {"fgsm_size", "random_flat", "adversarial_small", "noise_vs_fgsm"} <= set(ids)
    assert all(i.isidentifier() and i == i.lower() for i in ids)  # a database key


@pytest.mark.parametrize("poll", POLLS, ids=lambda p: p.id)
def test_question_and_choices_fit_a_projector(poll):
    assert 0 < len(poll.question) <= QUESTION_MAX_CHARS and "\n" not in poll.question
    assert 2 <= len(poll.choices) <= 4
    assert all(0 < len(c) <= CHOICE_MAX_CHARS for c in poll.choices)
    assert len(set(poll.choices)) == len(poll.choices)


@pytest.mark.parametrize("poll", POLLS, ids=lambda p: p.id)
def test_each_poll_comes_before_a_slide_that_exists(poll):
    target = TALK_SLIDES[slide_before(*poll.before)]
    deck = list(SLIDES)
    mine = next(i for i, s in enumerate(deck) if s.claim == poll.question)
    # Its own slide, on the answer's page, followed (after any other poll) by the slide of the answer.
    assert deck[mine].page == target.page
    after = next(s for s in deck[mine + 1:] if s.claim not in {p.question for p in POLLS})
    assert after is target


def test_polls_sit_at_the_turning_points():
    where = {p.id: TALK_SLIDES[slide_before(*p.before)] for p in POLLS}
    assert where["random_flat"].page == "pages/random_data.py"
    assert where["random_flat"].claim.startswith("Memorizing random labels")
    assert where["fgsm_size"].page == where["noise_vs_fgsm"].page == "pages/mnist.py"
    assert "FGSM" in where["fgsm_size"].claim and "random noise" in where["noise_vs_fgsm"].claim
    assert where["adversarial_small"].page == "pages/capacity.py"
    # In the talk's order, as the slides are.
    at = [slide_before(*p.before) for p in POLLS]
    assert at == sorted(at)


def test_slide_before_finds_a_slide_by_page_and_claim():
    assert slide_before("pages/home.py") == 0
    assert TALK_SLIDES[slide_before("pages/mnist.py", "A change too small")].render.__name__ == "_mnist_digit"
    with pytest.raises(LookupError, match="pages/mnist.py"):
        slide_before("pages/mnist.py", "a claim no slide makes")
    with pytest.raises(LookupError):
        slide_before("pages/gone.py")


def test_get_poll_and_its_error():
    assert get_poll("fgsm_size").id == "fgsm_size"
    with pytest.raises(UnknownPollError) as err:
        get_poll("fgsm_sise")
    assert isinstance(err.value, RobustnessError)
    assert "'fgsm_sise'" in str(err.value) and all(p.id in str(err.value) for p in POLLS)


@pytest.mark.parametrize("poll", POLLS, ids=lambda p: p.id)
def test_every_answer_computes_on_the_shipped_files(poll):
    m = poll.answer(str(PRETRAINED_DIR))
    assert m.choice is None or 0 <= m.choice < len(poll.choices)
    assert m.text and m.source
    assert any(ch.isdigit() for ch in m.text)  # the numbers are in it


def flipped_mnist(tmp_path: Path) -> Path:
    """A pretrained root whose sweeps.json swaps f_n and f_nd (manifest rewritten to match)."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    sweeps = json.loads((PRETRAINED_DIR / "mnist" / SWEEPS_FILE).read_text())
    sweeps["models"]["f_n"], sweeps["models"]["f_nd"] = sweeps["models"]["f_nd"], sweeps["models"]["f_n"]
    (folder / SWEEPS_FILE).write_text(json.dumps(sweeps))
    shutil.copy(PRETRAINED_DIR / "mnist" / SAMPLE_FILE, folder / SAMPLE_FILE)
    write_manifest(folder, "test: f_n and f_nd swapped", [SWEEPS_FILE, SAMPLE_FILE])
    return tmp_path


def test_the_fgsm_poll_flips_with_the_shipped_file(tmp_path):
    poll = get_poll("fgsm_size")
    shipped = poll.answer(str(PRETRAINED_DIR))
    flipped = poll.answer(str(flipped_mnist(tmp_path)))
    assert shipped.choice in (0, 1) and flipped.choice == 1 - shipped.choice
    assert shipped.text != flipped.text


def test_the_noise_poll_flips_when_noise_hurts_more(tmp_path):
    root = flipped_mnist(tmp_path)
    path = root / "mnist" / SWEEPS_FILE
    sweeps = json.loads(path.read_text())
    for model in sweeps["models"].values():
        for row in model["noise"]:
            row["accuracy"] = 0.0 if row["eps"] > 0 else row["accuracy"]
    path.write_text(json.dumps(sweeps))
    write_manifest(root / "mnist", "test: noise flips every digit", [SWEEPS_FILE, SAMPLE_FILE])
    poll = get_poll("noise_vs_fgsm")
    assert poll.answer(str(PRETRAINED_DIR)).choice == polls.measured.NOISE_CHOICES.index("No, it hurts less")
    assert poll.answer(str(root)).choice == polls.measured.NOISE_CHOICES.index("It hurts more")
