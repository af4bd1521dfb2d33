"""Start-up work, once per server process and in the background: the first student should not
pay for everyone.

`start()` is called by `streamlit_app.py` on every run and does its work only the first time:
it caps the BLAS / OpenMP thread pools (`core.runtimes.native_threads`) and starts one daemon thread that
imports the heavy libraries and fills the caches every student shares (models, the shipped
digits, their gradients, the gallery's accuracy at every eps of its slider, the recap's default
curve). The page that triggered it is not kept waiting; a student who needs a cache entry before
the thread has reached it computes it as before (Streamlit's cache lets one of them compute).

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time

from core.runtimes.native_threads import cap_native_threads

_LOGGER = logging.getLogger(__name__)
THREAD_NAME = "warm-caches"
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()
STATUS: dict[str, object] = {"started": None, "finished": None, "error": None, "blas_threads": None}


class _QuietWarmThread(logging.Filter):
    """Drop Streamlit's "missing ScriptRunContext" warning for the warm-up thread: it runs cached
    functions outside any session on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (threading.current_thread().name == THREAD_NAME and "ScriptRunContext" in record.getMessage())


def start() -> threading.Thread | None:
    """Cap native threads and start the warm-up thread, the first time only; returns the thread.

    Not under `streamlit.testing` (AppTest): a test's interpreter would exit while the thread is
    inside ONNX Runtime. tests/app/test_warmup.py runs `warm_caches` directly.
    """
    global _thread
    from streamlit import config

    if config.get_option("global.appTest"):
        return None
    with _lock:
        if _thread is None:
            atexit.register(stop)
            logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_QuietWarmThread())
            STATUS["blas_threads"] = cap_native_threads(1)
            STATUS["started"] = time.time()
            _say_the_lecture_key()
            _thread = threading.Thread(target=_warm, name=THREAD_NAME, daemon=True)
            _thread.start()
        return _thread


def _say_the_lecture_key() -> None:
    """A plain `streamlit run` without LECTURE_KEY makes its key now and prints it on the console
    (app/classroom/key.py), before the lecturer needs it; a bad LECTURE_KEY is said there too."""
    from app.classroom.key import lecture_key
    from core.errors import RobustnessError

    try:
        lecture_key()
    except RobustnessError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)


def stop(timeout: float = 10.0) -> None:
    """Ask the warm-up to stop after its current step and wait for it (at exit: a daemon thread
    killed inside ONNX Runtime aborts the interpreter)."""
    _stop.set()
    if _thread is not None and _thread.is_alive():
        _thread.join(timeout)


class _Stopped(Exception):
    """Raised inside the warm-up to end it early (the server is shutting down)."""


def _step() -> None:
    if _stop.is_set():
        raise _Stopped


def _warm() -> None:
    try:
        warm_caches(_step)
    except _Stopped:
        STATUS["error"] = "stopped"
    except Exception as exc:  # a broken artifact: the pages show it with its fix, nothing to do here
        STATUS["error"] = f"{type(exc).__name__}: {exc}"
        _LOGGER.info("cache warm-up stopped: %s", STATUS["error"])
    finally:
        STATUS["finished"] = time.time()


def warm_caches(step=lambda: None) -> None:
    """Fill the shared caches in the order of the talk: the recap's figures, the random-data
    sweeps' figures, then the MNIST models, digits and gradients, then the gallery's summary at
    every eps of its slider, then the draw page's answers on every shipped test digit."""
    import altair  # noqa: F401  (imported once here rather than by the first page that draws a chart)
    import pandas  # noqa: F401

    from app import shipped
    from app.charts import capacity as capacity_charts
    from app.charts import mnist as mnist_charts
    from app.charts import random_data as random_data_charts
    from app.charts import recap as recap_charts
    from core.attacks.fgsm import FGSM
    from core.results import mnist as mnist_results
    from core.specs import MNIST_MODELS

    root = shipped.pretrained_root()
    step()
    recap_charts.warm()  # the page students open right after the title
    step()
    random_data_charts.warm()  # then the random-data sweeps
    step()
    capacity_charts.warm()  # and the closing figure, at the talk's eps
    step()
    images, labels = shipped.sample(root)
    shipped.sweeps(root)
    first_gallery = mnist_results.gallery_indices(labels, shipped.GALLERY_SIZE, 0)
    for name in MNIST_MODELS:
        step()
        shipped.metadata(root, name)
        shipped.classifier(root, name)
        shipped.sample_prepared(root, FGSM.name, name, first_gallery)
        shipped.whole_sample_prepared(root, FGSM.name, name)
    for kind in mnist_charts.CURVE_KINDS:
        step()
        mnist_charts.curve_chart(root, kind)
    mnist_charts.flip_chart(root)
    for eps in shipped.GALLERY_EPS_GRID:
        step()
        for name in MNIST_MODELS:
            shipped.sample_accuracy(root, FGSM.name, name, eps)
    # The draw page's shipped test digits (a shared link, "Pick a test digit"): each network's
    # answer and gradient, and its smallest flipping eps (121 forward passes: the page's largest
    # cost on a new digit), about 20 ms a digit, once for the whole class.
    for i in range(len(labels)):
        step()
        x = shipped.shipped_input(images, i)
        for name in MNIST_MODELS:
            shipped.image_prepared(root, FGSM.name, name, x)
            shipped.image_flip_eps(root, name, x)
