"""A page's settings bound to the URL, the reset to the talk's values, and the prompt before a result.

Not a page (the navigation lists only the files in streamlit_app.TALK). Three tools:

* `TalkSettings`: a page's widgets bound to the URL. Each widget is created with the talk's value
  as its default and `bind="query-params"` (Streamlit >= 1.67), so the URL holds every setting that
  differs from the talk's: opening a shared link restores the view, moving a widget updates the
  address bar, and a URL value that is invalid (not a number, out of range, not an option) is
  dropped and the talk's value used instead; a number that is not finite, not whole or out of
  range (`bind(..., low=, high=)`) also gets a visible warning (`url_value_problem`).
* `TalkSettings.reset_button`: puts every bound widget back to the talk's value (which also
  clears the URL).
* `what_to_notice`: the short prompt shown before a result, for students.

Applying it to a page (e.g. pages/mnist.py; chart downloads: app/chart_export.py):

    from app.url_settings import TalkSettings, what_to_notice

    TALK = TalkSettings("mnist", {"eps": 0.1, "model": "f_nd"})   # page id, the talk's values
    TALK.reset_button()
    eps = st.slider("FGSM eps", 0.0, 0.3, step=0.01, **TALK.bind("eps"))        # value=, key=, bind=
    model = st.segmented_control("Model", ["f_n", "f_nd"], **TALK.bind("model", arg="default"))
    name = st.selectbox("Model", OPTIONS, **TALK.bind("model", options=OPTIONS))  # index=
    what_to_notice("The big model keeps its accuracy for larger eps.")

Keys are "<page>_<name>", so they are unique across pages and readable in the URL
(`?mnist_eps=0.2`). The widget's own `key=` must not be passed again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from app import posture

BIND = "query-params"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Every URL-bound setting a page has declared in this process: key -> the talk's value. A shared
# link can set any of them, so tests check each (tests/app/test_hostile_input.py).
REGISTRY: dict[str, Any] = {}


class TalkSettings:
    """The URL-bound widgets of one page and the talk's value of each.

    Args:
        page: short page id, the prefix of every key ("recap").
        defaults: widget name -> the talk's value (the widget's default).
    """

    def __init__(self, page: str, defaults: Mapping[str, Any]):
        if not _NAME.match(page):
            raise ValueError(f"page id must be lower-case letters, digits and _, got {page!r}")
        for name in defaults:
            if not _NAME.match(name):
                raise ValueError(f"widget name must be lower-case letters, digits and _, got {name!r}")
        self.page = page
        self.defaults = dict(defaults)
        posture.refuse_forged_widget_values()  # idempotent: installed by the first page with settings
        for name, default in self.defaults.items():
            REGISTRY.setdefault(f"{page}_{name}", default)

    def key(self, name: str) -> str:
        """The widget's key, which is also its query parameter: "<page>_<name>"."""
        if name not in self.defaults:
            raise KeyError(f"{name!r} is not a setting of page {self.page!r}: add it to its defaults")
        return f"{self.page}_{name}"

    def bind(self, name: str, arg: str = "value", options: Sequence[Any] | None = None,
             low: float | None = None, high: float | None = None) -> dict[str, Any]:
        """Keyword arguments that bind a widget to the URL with the talk's value as its default.

        The URL's value is checked first (`url_value_problem`): one that is not a finite number
        where the talk's value is a number, not whole where it is whole, or outside [low, high],
        is removed from the URL before the widget reads it, and a warning says so; the widget
        then shows the talk's value. (Streamlit would otherwise raise on `?x=1e309`.)

        Args:
            name: the setting's name (a key of `defaults`).
            arg: the widget's default-value parameter: "value" (slider, number_input, toggle,
                checkbox, select_slider, text_input) or "default" (segmented_control, pills,
                multiselect).
            options: for selectbox and radio, their options: the default is passed as `index=`.
            low, high: the widget's range, for a numeric setting (optional).
        Returns: {"key": ..., "bind": "query-params", arg: default} (or "index": i).
        """
        default = self.defaults[name]
        if options is None:  # a choice widget's URL holds its option's text: Streamlit checks it
            self._drop_invalid_url_value(name, low, high)
            self._drop_forged_widget_value(name, low, high)
        kwargs: dict[str, Any] = {"key": self.key(name), "bind": BIND}
        if options is not None:
            kwargs["index"] = list(options).index(default)
        else:
            kwargs[arg] = default
        return kwargs

    def _drop_invalid_url_value(self, name: str, low: float | None, high: float | None) -> None:
        """Remove a URL value the widget cannot take before the widget reads it, and say so.

        Streamlit seeds a bound widget from the URL as it registers it, and raises on some values
        (OverflowError for an integer input given 1e309), so the value is removed first: from
        the query string the widget seeds from, and from the browser's address bar.
        """
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        key, default = self.key(name), self.defaults[name]
        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is None:  # outside a running app: no URL
            return
        with ctx.session_state.query_params() as params:
            raw = params.get_initial_value(key)
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            problem = None if raw is None else url_value_problem(raw, default, low, high)
            if problem:
                params._initial_query_params.pop(key, None)  # streamlit 1.67 (pinned): the seed source
                params.remove_param(key)
        if problem:
            st.warning(f"The link's value of **{key}** ({literal(raw)}) {problem}: showing the talk's "
                       f"value, {default}.", icon=":material/link_off:")

    def _drop_forged_widget_value(self, name: str, low: float | None, high: float | None) -> None:
        """Put a widget back to the talk's value when its state from the browser is one it cannot take.

        A browser only sends values its widget allows, but anyone can send a forged `rerun_script`
        (inf or nan for an integer input makes Streamlit's own `int()` raise as the widget is
        drawn, on every later run of that session). The value is checked before the widget reads it
        and, if bad, deleted (the widget then starts again from the talk's value) with a warning.
        """
        key, default = self.key(name), self.defaults[name]
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            return
        state = st.session_state
        problem = posture.refused_value(key)  # dropped as it arrived (app/posture.py)
        try:
            if not problem and key in state:
                problem = value_problem(state[key], default, low, high)
        except (ValueError, TypeError, OverflowError, IndexError):  # Streamlit's deserializer, forged value
            problem = "cannot be read"
        if problem:
            if key in state:
                try:
                    del state[key]
                except (KeyError, ValueError, TypeError, OverflowError, IndexError):
                    pass
            st.warning(f"The value received for **{key}** {problem}: back to the talk's value, {default}.",
                       icon=":material/error:")

    def upgrade_url_value(self, name: str, old: re.Pattern) -> None:
        """Read an old link's value in today's form, before the widget reads the URL.

        A URL value of setting `name` that matches `old` (an older link's format) is replaced by
        the match's first group, in the query string the widget seeds from and in the address bar.
        """
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is None:  # outside a running app: no URL
            return
        key = self.key(name)
        with ctx.session_state.query_params() as params:
            raw = params.get_initial_value(key)
            raw = raw[-1] if isinstance(raw, list) and raw else raw
            match = old.match(raw) if isinstance(raw, str) else None
            if match:  # streamlit 1.67 (pinned): the seed source, then the address bar
                params._initial_query_params[key] = [match.group(1)]
                params._set_item_internal(key, match.group(1))
                params._send_query_param_msg()

    def value(self, name: str) -> Any:
        """The widget's current value (the talk's value before the widget has been drawn)."""
        return st.session_state.get(self.key(name), self.defaults[name])

    def reset(self) -> None:
        """Set every widget of the page back to the talk's value (a widget callback)."""
        for name, default in self.defaults.items():
            st.session_state[self.key(name)] = default

    def reset_button(self, label: str = "Reset to the talk's settings", container=None) -> bool:
        """A button that calls `reset`, with a note that the URL shares the current settings."""
        where = container if container is not None else st
        clicked = where.button(label, key=f"{self.page}__reset", icon=":material/restart_alt:",
                               on_click=self.reset,
                               help="Every slider back to the value used in the talk.")
        where.caption("The address bar holds the settings that differ from the talk's: copy it to "
                      "share exactly this view.")
        return clicked


def literal(raw: str, limit: int = 40) -> str:
    """A value from a client as inert Markdown: shown as typed, never rendered.

    A shared link is written by anyone: `?mnist_eps=![x](https://evil.example/t.png)` put in a
    message as Markdown makes every student's browser fetch that image, and a `[link](...)`
    becomes clickable. The value (its first `limit` characters, quoted by `repr`, so no line
    break) goes in a code span, whose content Markdown shows literally (no image, link, emphasis,
    math, emoji or colour), fenced by more backticks than it holds.
    """
    shown = repr(str(raw)[:limit])
    fence = "`" * (max(map(len, re.findall(r"`+", shown)), default=0) + 1)
    return f"{fence}{shown}{fence}"  # repr starts and ends with a quote, never with a backtick


WHOLE_MAX = 2**53  # the largest whole number a URL (a JavaScript double) carries exactly


def url_value_problem(raw: str, default: Any, low: float | None = None, high: float | None = None) -> str | None:
    """Why a URL value cannot be a setting whose talk's value is `default` (None: it can).

    Numbers only (where Streamlit itself raises, e.g. OverflowError on 1e309); the choice
    widgets fall back to the talk's value on their own.
    """
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return "is not a number"
    return value_problem(value, default, low, high)


def value_problem(value: Any, default: Any, low: float | None = None, high: float | None = None) -> str | None:
    """Why a widget's value, as received, cannot be a setting whose talk's value is `default` (None: it can)."""
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number"
    value = float(value)
    if not math.isfinite(value):
        return "is not a finite number"
    if isinstance(default, int):
        if not value.is_integer():
            return "is not a whole number"
        if abs(value) > WHOLE_MAX:
            return f"is larger than {WHOLE_MAX:.0e}"
    if (low is not None and value < low) or (high is not None and value > high):
        return f"is outside {low:g} to {high:g}" if low is not None and high is not None else "is out of range"
    return None


def what_to_notice(text: str) -> None:
    """The prompt before a result: what students should look for in it."""
    st.info(f"**What to notice.** {text}", icon=":material/visibility:")
