"""benchmarks/class_load.py: a small class (3 students, a few seconds) against a fresh server, so
the load test cannot rot, and the texts it checks against the pages that print them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from benchmarks import class_load

REPO = Path(__file__).resolve().parents[2]


def test_a_small_class_gets_every_page_and_every_eps_right():
    # Bounded by actions, not time: one round per student (2 MNIST eps moves, 1 draw eps move, a new
    # digit), with 120 s as the outer limit, so a busy machine cannot end the run before the moves.
    summary = class_load.main(["--students", "3", "--duration", "120", "--ramp", "0.5", "--moves", "2",
                               "--rate", "4", "--timeout", "90", "--max-actions", "4", "--table-rows", "3"])
    kinds = summary["kinds"]
    assert summary["errors"] == 0 and summary["wrong"] == 0 and summary["disconnects"] == 0, summary
    assert kinds["first page"]["n"] == 3
    for page in ("recap", "random_data", "mnist", "draw", "references"):
        assert kinds[f"open {page}"]["n"] >= 3, page
    assert kinds["mnist eps"]["n"] >= 3 and kinds["draw eps"]["n"] >= 1
    # The digits come inline (PNG data URLs); anything else the pages show as a file is fetched.
    assert summary["inline_images"] > 0 and summary["image_errors"] == 0
    assert summary["rss_max"] > 0 and summary["cpu_mean"] > 0
    # Every run the students asked for is counted, answered or not; the CPU per run follows.
    asked = sum(v["n"] for k, v in kinds.items() if k not in class_load.REFRESH_KINDS)
    assert summary["runs"] >= asked and summary["cpu_ms_per_interaction"] > 0


def test_a_small_class_sends_drawings_votes_and_sees_them_on_the_projector():
    """--share 1: every action is a drawing sent to the board or a vote; the projector shows each
    drawing sent, then its measures."""
    summary = class_load.main(["--students", "2", "--duration", "120", "--ramp", "0.5", "--moves", "3",
                               "--rate", "2", "--timeout", "90", "--max-actions", "3", "--share", "1",
                               "--table-rows", "3"])
    kinds, board = summary["kinds"], summary["board"]
    assert summary["errors"] == 0 and summary["wrong"] == 0 and summary["disconnects"] == 0, summary
    assert kinds["board send"]["n"] >= 1 and kinds["vote"]["n"] >= 1, kinds
    shown = board["new entry on the projector"]
    assert shown["n"] == kinds["board send"]["n"] and shown["missing"] == 0, board
    assert board["entry measured on the projector"]["missing"] == 0, board
    assert board["board refresh"]["n"] >= 1 and board["board refresh"]["cpu_ms"] > 0


def _page(path: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / path), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_the_mnist_gallery_prints_the_eps_the_benchmark_checks():
    at = _page("mnist.py", {"mnist_eps": "0.035"})
    texts = " ".join(m.value for m in at.markdown)
    assert class_load.eps_shown("mnist eps", 0.035) in texts
    assert class_load.eps_shown("mnist eps", 0.04) not in texts  # the check can fail


def test_the_draw_page_prints_the_eps_the_benchmark_checks():
    at = _page("draw.py", {"draw_source": "Pick a test digit", "draw_eps": "0.0425"})
    # The input, the change and the attacked input go out as one HTML figure grid per model.
    captions = " ".join(h.proto.body for h in at.get("html"))
    assert class_load.eps_shown("draw eps", 0.0425) in captions
    assert class_load.eps_shown("draw eps", 0.045) not in captions


def test_the_draw_page_shows_the_picked_digit_the_benchmark_checks():
    at = _page("draw.py", {"draw_source": "Pick a test digit", "draw_pick": "7"})
    captions = " ".join(c for img in at.get("image") for c in img.captions)
    assert class_load.digit_shown("7") in captions
    assert class_load.digit_shown("8") not in captions  # the check can fail


def test_the_titles_it_checks_are_the_pages_titles():
    for path, title in (("recap.py", class_load.TITLES["recap"]), ("mnist.py", class_load.TITLES["mnist"]),
                        ("references.py", class_load.TITLES["references"])):
        assert title in (REPO / "pages" / path).read_text(), path


@pytest.mark.parametrize("url", ["http://10.0.0.5:8501", "http://example.org", "https://127.0.0.1:8501"])
def test_only_loopback_servers(url):
    with pytest.raises(SystemExit, match="must be http on this machine"):
        class_load.check_loopback(url)
    assert class_load.check_loopback("http://127.0.0.1:8501/") == "http://127.0.0.1:8501"


def test_bounds_are_checked():
    with pytest.raises(SystemExit, match="--students must be >= 1"):
        class_load.main(["--students", "0"])
    with pytest.raises(SystemExit, match="--duration must be a positive number"):
        class_load.main(["--duration", "inf"])


def test_cpu_per_interaction_is_cpu_seconds_over_runs_in_ms():
    import math

    assert class_load.cpu_ms_per_interaction(3.0, 150) == pytest.approx(20.0)
    assert class_load.cpu_ms_per_interaction(3.0, 100) == pytest.approx(30.0)  # fewer runs, more each
    assert math.isnan(class_load.cpu_ms_per_interaction(1.0, 0))
    with pytest.raises(ValueError, match="cpu_s must be >= 0"):
        class_load.cpu_ms_per_interaction(-1.0, 10)


def test_the_board_benchmark_draws_as_the_canvas_and_reads_the_boards_captions():
    """benchmarks/class_board.py: its canvas state is a drawing the draw page accepts, and it reads
    the captions the board draws (app/classroom/board_view.py), measuring or measured."""
    import json

    import numpy as np

    from app.classroom.board_view import gallery_html
    from app.classroom.store import Entry
    from benchmarks.class_board import Board, canvas_state
    from core.digits import decode_canvas_png, png_from_data_url, to_mnist
    from core.results.pretrained import PRETRAINED_DIR, load_sample

    images, _ = load_sample(root=PRETRAINED_DIR)
    state = json.loads(canvas_state(images[0]))
    digit = to_mnist(decode_canvas_png(png_from_data_url(state["drawing"]["data"]), 280))
    assert np.abs(digit.reshape(784) - images[0]).mean() < 0.1
    pixels = np.zeros(784, np.uint8)
    waiting = Entry(7, 0.0, 3, "Ann", pixels, False, "pending", None)
    done = Entry(8, 0.0, 4, "Bo", pixels, False, "done",
                 {"f_nd": {"label": 4, "confidence": 0.9, "fgsm": 0.05, "pgd": 0.04}})
    board = Board(None)
    board.sent = {7: 0.0, 8: 0.0}
    board.saw(gallery_html([waiting, done], "f_nd", names=True, size=48).encode(), 1.0)
    assert board.shown == {7: 1.0, 8: 1.0} and board.measured == {8: 1.0}
    board.saw(gallery_html([waiting], "f_nd", names=False, size=48).replace("measuring", "0.0").encode(), 2.0)
    assert board.measured == {8: 1.0, 7: 2.0}
