"""app/classroom/join.py: the address students type (from LECTURE_ADDRESS), its QR code, and the
title and "Your turn" slides that show them (or how to set the address)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import segno
from streamlit.testing.v1 import AppTest

from app.classroom import join
from app.slides import SLIDES
from core.errors import InputError

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
URL = "http://192.168.1.20:8501/class"


def drawn_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (row, column) the SVG draws: segno's dark path is 1-unit-wide strokes along
    each row, `M x y` absolute, `m dx dy` relative, `h n` a run of n modules (y is the row + 0.5)."""
    dark = re.search(r'<path class="qrline" stroke="#000" d="([^"]+)"', svg)
    assert dark, svg[:300]
    cells, x, y = set(), 0.0, 0.0
    for op, a, b in re.findall(r"([Mmh])\s*(-?[\d.]+)(?:\s+(-?[\d.]+))?", dark.group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            cells |= {(int(y - 0.5), int(x) + i) for i in range(int(float(a)))}
            x += float(a)
    return cells


def segno_modules(url: str, border: int = 4) -> set[tuple[int, int]]:
    """The dark modules of segno's own matrix for `url`, shifted by the quiet zone."""
    matrix = segno.make(url, error="m").matrix
    return {(r + border, c + border) for r, row in enumerate(matrix) for c, v in enumerate(row) if v}


@pytest.mark.parametrize("url", [URL, "http://lecture.example.edu/class", "https://[fe80::1]:8443/class"])
def test_the_qr_code_draws_segnos_matrix_for_the_address(url):
    svg = join.qr_svg(url)
    assert drawn_modules(svg) == segno_modules(url)
    assert drawn_modules(svg) != segno_modules(url + "x")  # the comparison can tell addresses apart


def test_the_qr_code_is_dark_on_light_sized_for_a_projector_and_named():
    svg = join.qr_svg(URL)
    size = segno.make(URL, error="m").symbol_size(scale=1)[0]  # 29 modules + 2 x 4 of quiet zone
    assert f'viewBox="0 0 {size} {size}"' in svg
    assert f'width="{size * join.MODULE_PX}"' in svg and size * join.MODULE_PX >= 220
    # Black on a white field covering the whole symbol, in either theme (no currentColor, no CSS var).
    assert f'<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>' in svg
    assert re.findall(r'(?:fill|stroke)="([^"]+)"', svg) == ["#fff", "#000"]
    assert 'role="img"' in svg and f'aria-label="QR code for {URL}"' in svg
    assert f"<title>QR code for {URL}</title>" in svg
    assert "\n" not in svg  # one line: Markdown keeps it as one HTML block
    assert join.qr_svg(URL) is svg  # cached per address


def test_the_label_escapes_an_address_that_holds_quotes():
    svg = join.qr_svg('http://a.b/"><script>')
    assert "<script>" not in svg and "&quot;&gt;&lt;script&gt;" in svg


def test_the_join_address_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(join.ADDRESS_ENV, "http://192.168.1.20:8501/")
    assert join.join_address() == URL
    monkeypatch.setenv(join.ADDRESS_ENV, "https://lecture.example.edu")
    assert join.join_address() == "https://lecture.example.edu/class"
    monkeypatch.setenv(join.ADDRESS_ENV, "  ")
    assert join.join_address() is None
    monkeypatch.delenv(join.ADDRESS_ENV)
    assert join.join_address() is None


@pytest.mark.parametrize("bad", ["192.168.1.20:8501", "ftp://x.y", "http://", "http://a b.c", "http://x.y/?a=1",
                                 "http://user:pw@x.y", "http://x_y.z:8501", "http://x.y:99999"])
def test_a_bad_lecture_address_is_refused_with_the_fix(monkeypatch, bad):
    monkeypatch.setenv(join.ADDRESS_ENV, bad)
    with pytest.raises(InputError, match="LECTURE_ADDRESS=.*PUBLIC_HOST"):
        join.join_address()


@pytest.mark.parametrize("host, port, address", [
    ("192.168.1.20", 8501, "http://192.168.1.20:8501"),
    ("lecture.example.edu", 80, "http://lecture.example.edu"),
    ("my-laptop.local.", 8600, "http://my-laptop.local:8600"),
    ("fe80::1", 8501, "http://[fe80::1]:8501"),
    ("[2001:db8::7]", 8501, "http://[2001:db8::7]:8501"),
])
def test_the_public_address_from_host_and_port(host, port, address):
    assert join.public_address(host, port) == address


@pytest.mark.parametrize("host, says", [
    ("", "empty"), ("192.168.1.20 ", "spaces"), ("http://192.168.1.20", "scheme"), ("host/class", "path"),
    ("192.168.1.20:8501", "port"), ("under_score.edu", "not a host name"), ("999.1.1.1", "not a host name"),
    ("-x.edu", "not a host name"), ("a" * 64 + ".edu", "not a host name"), ("fe80::1%eth0", "spaces"),
])
def test_a_bad_public_host_is_named_with_the_fix(host, says):
    with pytest.raises(InputError, match=says) as error:
        join.check_public_host(host)
    assert "PUBLIC_HOST=192.168.1.20" in str(error.value)


def test_a_port_outside_the_range_is_refused():
    with pytest.raises(InputError, match="outside 1..65535"):
        join.public_address("192.168.1.20", 70000)


def _slide(number: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"], at.query_params["slide"] = "1", str(number)
    return at.run()


JOIN_SLIDES = [i for i, s in enumerate(SLIDES, start=1) if s.render.__name__ in ("_title", "_draw")]


def test_the_title_and_your_turn_slides_are_the_ones_that_show_the_address():
    assert [SLIDES[i - 1].render.__name__ for i in JOIN_SLIDES] == ["_title", "_draw"]


@pytest.mark.parametrize("number", JOIN_SLIDES)
def test_the_slides_show_the_qr_code_and_the_address_in_large_letters(monkeypatch, number):
    monkeypatch.setenv(join.ADDRESS_ENV, "http://192.168.1.20:8501")
    at = _slide(number)
    assert not at.exception, at.exception
    block = [m.value for m in at.markdown if "class-join" in m.value]
    assert len(block) == 1, [m.value[:80] for m in at.markdown]
    assert f">{URL}</div>" in block[0] and f"font-size:{join.ADDRESS_PX}px" in block[0] and join.ADDRESS_PX >= 40
    assert drawn_modules(block[0]) == segno_modules(URL)
    assert not at.info and not at.error


@pytest.mark.parametrize("number", JOIN_SLIDES)
def test_without_an_address_the_slides_say_how_to_set_it(monkeypatch, number):
    monkeypatch.delenv(join.ADDRESS_ENV, raising=False)
    at = _slide(number)
    assert not at.exception, at.exception
    assert not [m for m in at.markdown if "class-join" in m.value]
    [info] = at.info
    assert "make class PUBLIC_HOST=" in info.value and "make app PUBLIC_HOST=" in info.value
    assert "LECTURE_ADDRESS=" in info.value


def test_a_bad_address_shows_the_fix_on_the_slide_not_a_traceback(monkeypatch):
    monkeypatch.setenv(join.ADDRESS_ENV, "192.168.1.20:8501")
    at = _slide(JOIN_SLIDES[0])
    assert not at.exception, at.exception
    [error] = at.error
    assert "LECTURE_ADDRESS='192.168.1.20:8501' is not an http:// or https:// address" in error.value
