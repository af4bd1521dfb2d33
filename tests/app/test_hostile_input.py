"""A hostile student's input: Markdown injected through a shared link's values, on every URL-bound
setting of every page (app.url_settings.REGISTRY, filled by running the pages of the talk)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import url_settings
from app.url_settings import TalkSettings, literal
from tests.app.test_every_page import talk_files

REPO = Path(__file__).resolve().parents[2]
EVIL = "evil.example"
PAYLOADS = [
    f"![x](https://{EVIL}/t.png)",  # an image the browser fetches from outside
    f"[click](https://{EVIL}/)",  # a clickable link
    f"<https://{EVIL}/>",  # an autolink
    f"`` ![x](https://{EVIL}/t.png) ``",  # closes a code span of the wrong length
]
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)


def outside_code_spans(markdown: str) -> str:
    """The Markdown with its code spans (CommonMark: equal backtick runs) cut out: what renders."""
    return _CODE_SPAN.sub("", markdown)


def inert(markdown: str) -> bool:
    return EVIL not in outside_code_spans(markdown)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_literal_shows_the_value_but_renders_nothing(payload):
    shown = literal(payload, limit=200)
    assert inert(f"before {shown} after") and payload.replace("\\", "\\\\") in shown
    if not payload.startswith("`"):
        assert not inert(f"before {payload} after")  # the check itself can fail


def url_bound_settings() -> dict[str, tuple[str, object]]:
    """Every URL-bound key of the talk's pages -> (its page file, the talk's value), from the registry
    each page fills as it runs (emptied first: other tests register keys of their own)."""
    found = {}
    for page in talk_files():
        url_settings.REGISTRY.clear()
        at = AppTest.from_file(str(REPO / page), default_timeout=180).run()
        assert not at.exception, (page, at.exception)
        found.update({key: (page, default) for key, default in url_settings.REGISTRY.items()})
    return found


def bind_everything(settings: dict):
    """A page that binds every key given (app.url_settings.TalkSettings.bind checks the URL first)."""
    from app.url_settings import TalkSettings

    for key, default in settings.items():
        page, name = key.split("_", 1)
        TalkSettings(page, {name: default}).bind(name)


def test_no_url_value_renders_as_markdown_on_any_page(monkeypatch):
    monkeypatch.setattr(url_settings, "REGISTRY", {})
    settings = url_bound_settings()
    owner = {key: page for key, (page, _) in settings.items()}
    numeric = sorted(k for k, (_, v) in settings.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool))
    assert len(numeric) >= 20, numeric  # the pages of the talk bind 20 numbers to the URL today
    payload = PAYLOADS[0]

    # Every key, each bound as its page binds it (branches included: white noise's std, ...).
    at = AppTest.from_function(bind_everything, args=({k: v for k, (_, v) in settings.items()},),
                               default_timeout=60)
    for key in owner:
        at.query_params[key] = payload
    at.run()
    assert not at.exception, at.exception
    bodies = [w.value for w in at.warning]
    for key in numeric:
        mine = [b for b in bodies if f"**{key}**" in b]
        assert len(mine) == 1 and inert(mine[0]) and payload in mine[0], (key, mine)
    assert all(inert(b) for b in bodies), [b for b in bodies if not inert(b)]

    # And the real pages, every key of each at once: what a student opening the link sees.
    for page in sorted(set(owner.values())):
        at = AppTest.from_file(str(REPO / page), default_timeout=180)
        for key, where in owner.items():
            if where == page:
                at.query_params[key] = payload
        at.run()
        assert not at.exception, (page, at.exception)
        shown = [*(e.value for e in at.warning), *(e.value for e in at.error), *(e.value for e in at.info),
                 *(e.value for e in at.markdown), *(e.value for e in at.caption)]
        assert all(inert(text) for text in shown), (page, [t for t in shown if not inert(t)])
        if page == "pages/mnist.py":  # the reported attack: ?mnist_eps=![x](...) showed the image
            assert any("**mnist_eps**" in w.value and payload in w.value for w in at.warning)


def test_a_new_setting_is_in_the_registry():
    TalkSettings("zz", {"eps": 0.1})
    assert url_settings.REGISTRY["zz_eps"] == 0.1


# --- forged widget values over the websocket, and the next honest run of the same session ----------

LEAKS = re.compile(r"0x[0-9a-f]{6,}|<[\w.]+ object at|/work/|/home/|/tmp/|/usr/|site-packages|Traceback")


def forged_png_with_broken_header() -> str:
    """A canvas-sized PNG whose IHDR chunk is corrupt: PIL refuses it, naming its BytesIO object."""
    import base64
    import io
    import zlib

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (280, 280)).save(buf, format="PNG")
    png = bytearray(buf.getvalue())
    png[29:33] = (zlib.crc32(b"wrong") & 0xFFFFFFFF).to_bytes(4, "big")  # IHDR's CRC
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode()


def canvas_state(drawing) -> str:
    import json

    return json.dumps({"drawing": drawing})


FORGED_CANVAS = {
    "drawing not a mapping": canvas_state("x"),
    "strokes not objects": canvas_state({"raw": ["x"], "data": None}),
    "data not base64": canvas_state({"raw": {"objects": []}, "data": "data:image/png;base64,@@not base64@@"}),
    "data not a string": canvas_state({"raw": {"objects": []}, "data": 5}),
    "a broken PNG": canvas_state({"raw": {"objects": []}, "data": forged_png_with_broken_header()}),
}


def clean(run) -> list[str]:
    """What is wrong with a run a student sees: an exception, a traceback, an object repr, a server path."""
    problems = [f"exception: {e}" for e in run.exceptions]
    problems += [f"leak: {t[:200]}" for t in (body for _, body in run.alerts) if LEAKS.search(t)]
    if run.status != "FINISHED_SUCCESSFULLY":
        problems.append(f"status {run.status}")
    return problems


@pytest.fixture(scope="module")
def live_port():
    from tests.live_app import free_port, start_app, stop, wait_healthy

    port = free_port()
    proc = start_app(REPO / "streamlit_app.py", port)
    try:
        wait_healthy(port, proc, timeout=180)
        yield port
    finally:
        stop(proc)


@pytest.mark.parametrize("what", sorted(FORGED_CANVAS))
def test_a_forged_canvas_state_gets_a_message_and_the_session_carries_on(live_port, what):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from tests.app.websocket_session import Session

    with Session(live_port, timeout=180) as tab:
        first = tab.run("draw")
        assert clean(first) == []
        canvas_id, _ = first.widget("draw_canvas")
        forged = tab.run("draw", widgets=[WidgetState(id=canvas_id, json_value=FORGED_CANVAS[what])])
        assert clean(forged) == [], forged.text()
        assert any(kind == "WARNING" and "canvas" in body for kind, body in forged.alerts), forged.alerts
        honest = tab.run("draw")  # the same session, as a browser's next run (no drawing yet)
        assert clean(honest) == [], honest.text()
        assert not any("cannot read" in body for _, body in honest.alerts), honest.alerts


@pytest.mark.parametrize("page, key, value", [
    ("mnist", "mnist_digits", float("inf")),
    ("mnist", "mnist_digits", float("nan")),
    ("recap", "recap_law_n", float("inf")),
    ("recap", "recap_dd_seed", float("nan")),
    ("mnist", "mnist_eps", float("nan")),
])
def test_a_forged_number_gets_a_message_and_the_session_carries_on(live_port, page, key, value):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from tests.app.websocket_session import Session

    with Session(live_port, timeout=180) as tab:
        first = tab.run(page)
        assert clean(first) == []
        wid, proto = first.widget(key)
        state = WidgetState(id=wid)
        if type(proto).__name__ == "Slider":
            state.double_array_value.data.append(value)
        else:
            state.double_value = value
        forged = tab.run(page, widgets=[state])
        assert clean(forged) == [], forged.text()
        assert any(kind == "WARNING" and f"**{key}**" in body for kind, body in forged.alerts), forged.alerts
        honest = tab.run(page)
        assert clean(honest) == [], honest.text()


def test_the_guard_keeps_streamlits_method_name():
    from streamlit.runtime.state.session_state import SessionState

    from app.posture import refuse_forged_widget_values

    assert hasattr(SessionState, "set_widgets_from_proto")  # Streamlit moved it: update app/posture.py
    assert refuse_forged_widget_values() and refuse_forged_widget_values()  # idempotent
    assert SessionState.set_widgets_from_proto._lecture_guard


# --- what students read: no object repr, no memory address, no path on the server --------------------

def test_student_message_keeps_the_fix_but_not_the_servers_paths_or_objects():
    from app.errors import student_message
    from core.errors import ModelFileError
    from core.runtimes.onnx_runtime import OnnxClassifier

    with pytest.raises(ModelFileError) as missing:
        OnnxClassifier(REPO / "pretrained" / "mnist" / "nope.onnx")
    assert str(REPO) in str(missing.value)  # the lecturer's message names the file in full
    shown = student_message(missing.value)
    assert "pretrained/mnist/nope.onnx" in shown and "python -m training.mnist" in shown
    assert not LEAKS.search(shown) and str(REPO) not in shown, shown
    pil = "cannot be read (cannot identify image file <_io.BytesIO object at 0x7fc3eff77b00>)"
    assert not LEAKS.search(student_message(pil)), student_message(pil)
    assert student_message("see /srv/app/secret/run.json (or /tmp/x)") == "see run.json (or x)"
    kept = "p/n = 1/2, eps 8/255, `python -m training.mnist`, https://github.com/x/y and 0.1 / 0.3"
    assert student_message(kept) == kept


@pytest.mark.parametrize("page", ["mnist.py", "capacity.py", "recap.py", "random_data.py", "draw.py"])
def test_an_error_from_missing_files_names_no_server_path(page, tmp_path, monkeypatch):
    """Every shipped file missing (the folder repointed): the pages' errors name the files, not where."""
    import core.results.pretrained as pretrained

    empty = tmp_path / "pretrained"
    empty.mkdir()
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", empty)
    at = AppTest.from_file(str(REPO / "pages" / page), default_timeout=120)
    if page == "draw.py":
        at.query_params["draw_source"] = "Pick a test digit"
    at.run()
    assert not at.exception, at.exception
    shown = [e.value for e in (*at.error, *at.warning, *at.info, *at.markdown, *at.caption)]
    assert any(e.value for e in at.error), f"{page} showed no error with its files missing"
    leaks = [t for t in shown if LEAKS.search(t) or str(tmp_path) in t]
    assert not leaks, leaks


def test_canvas_drawing_reads_an_honest_state_and_refuses_forged_ones():
    import base64
    import json

    from app.canvas import canvas_drawing
    from core.errors import InputError

    png = base64.b64decode(forged_png_with_broken_header().split(",", 1)[1])
    honest = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": "data:image/png;base64,"
                          + base64.b64encode(png).decode()}}
    assert canvas_drawing(honest) == ({"objects": [{"type": "path"}]}, png)
    assert canvas_drawing(None) == (None, None) and canvas_drawing({"drawing": None}) == (None, None)
    for what, state in FORGED_CANVAS.items():
        if what != "a broken PNG":  # base64 of a PNG: refused later, by the decoder
            with pytest.raises(InputError):
                canvas_drawing(json.loads(state))
    with pytest.raises(InputError, match="larger than"):
        canvas_drawing({"drawing": {"raw": None, "data": "data:image/png;base64," + "A" * 3_000_000}})
