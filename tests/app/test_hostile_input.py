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


def url_bound_settings() -> dict[str, str]:
    """Every URL-bound key of the talk's pages -> its page file, from the registry the pages fill."""
    owner = {}
    for page in talk_files():
        before = set(url_settings.REGISTRY)
        at = AppTest.from_file(str(REPO / page), default_timeout=180).run()
        assert not at.exception, (page, at.exception)
        owner.update({key: page for key in set(url_settings.REGISTRY) - before})
    return owner


def bind_everything(keys: list[str]):
    """A page that binds every key given (app.url_settings.TalkSettings.bind checks the URL first)."""
    from app.url_settings import REGISTRY, TalkSettings

    for key in keys:
        page, name = key.split("_", 1)
        TalkSettings(page, {name: REGISTRY[key]}).bind(name)


def test_no_url_value_renders_as_markdown_on_any_page():
    owner = url_bound_settings()
    numeric = sorted(k for k, v in url_settings.REGISTRY.items() if k in owner
                     and isinstance(v, (int, float)) and not isinstance(v, bool))
    assert len(numeric) >= 20, numeric  # the pages of the talk bind 20 numbers to the URL today
    payload = PAYLOADS[0]

    # Every key, each bound as its page binds it (branches included: white noise's std, ...).
    at = AppTest.from_function(bind_everything, args=(sorted(owner),), default_timeout=60)
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
