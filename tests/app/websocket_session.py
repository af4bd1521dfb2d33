"""One browser tab's session with a running app, over Streamlit's websocket (no browser): for tests
that send what a browser would not (forged widget states), as /work/shared/notes/streamlit-websocket.md
describes the protocol and benchmarks/class_load.py speaks it under load."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Run:
    """What one script run sent back."""

    status: str = ""  # FINISHED_SUCCESSFULLY, ...
    exceptions: list[str] = field(default_factory=list)  # "type: message" of each st.exception / uncaught one
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (ERROR / WARNING / INFO / SUCCESS, body)
    markdown: list[str] = field(default_factory=list)
    widgets: dict[str, object] = field(default_factory=dict)  # element id -> the widget's proto

    def widget(self, key: str):
        """(element id, proto) of the widget with user key `key`."""
        for wid, proto in self.widgets.items():
            if wid.endswith(f"-{key}"):
                return wid, proto
        raise KeyError(f"no widget with key {key!r} in this run: {sorted(self.widgets)}")

    def text(self) -> str:
        return "\n".join([*self.exceptions, *(body for _, body in self.alerts), *self.markdown])


class Session:
    """A websocket session on 127.0.0.1:port; `run` sends one rerun and reads until it finishes."""

    def __init__(self, port: int, timeout: float = 120.0):
        from websockets.sync.client import connect

        self.port, self.timeout = port, timeout
        self.pages: dict[str, str] = {}  # url pathname -> page script hash
        self.ws = connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                          origin=f"http://127.0.0.1:{port}", max_size=None, open_timeout=timeout).__enter__()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.ws.close()

    def run(self, page: str = "", query: str = "", widgets=(), fragment: str = "") -> Run:
        """Run `page` (a url pathname; "" for the first page) with these WidgetState protos."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if page and page not in self.pages:
            self.run()  # the first run sends the navigation: the page hashes
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query
        state.page_script_hash = self.pages.get(page, "")
        state.page_name = page
        state.fragment_id = fragment
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"http://127.0.0.1:{self.port}/{page}" + (f"?{query}" if query else "")
        for w in widgets:
            state.widget_states.widgets.append(w)
        self.ws.send(msg.SerializeToString())
        run, deadline = Run(), time.monotonic() + self.timeout
        while not run.status:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no script_finished within {self.timeout} s")
            fwd = ForwardMsg()
            fwd.ParseFromString(self.ws.recv(timeout=left))
            which = fwd.WhichOneof("type")
            if which == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages})
            elif which == "script_finished":
                run.status = fwd.ScriptFinishedStatus.Name(fwd.script_finished)
            elif which == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                kind = el.WhichOneof("type")
                if kind == "exception":
                    run.exceptions.append(f"{el.exception.type}: {el.exception.message}")
                elif kind == "alert":
                    run.alerts.append((Alert.Format.Name(el.alert.format), el.alert.body))
                elif kind == "markdown":
                    run.markdown.append(el.markdown.body)
                elif hasattr(getattr(el, kind), "id") and getattr(el, kind).id:
                    run.widgets[getattr(el, kind).id] = getattr(el, kind)
        return run
