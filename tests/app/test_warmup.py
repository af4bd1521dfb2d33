"""Start-up work: BLAS threads capped, and the shared caches filled before the first student asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.runtimes.native_threads import blas_threads, cap_native_threads

REPO = Path(__file__).resolve().parents[2]


def test_cap_native_threads_caps_the_loaded_openblas_and_the_environment():
    # In a child process: the cap is process-wide and would slow the rest of the test session.
    code = ("import numpy as np\n"
            "from core.runtimes.native_threads import blas_threads, cap_native_threads\n"
            "before = blas_threads()\n"
            "after = cap_native_threads(1)\n"
            "import os; print(before, after, os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    before, after = eval(out[0]), eval(out[1])  # noqa: S307 (our own printed lists)
    assert before and after == [1] * len(before), out  # numpy's OpenBLAS was found and capped
    assert out[2:] == ["1", "1"]


def test_blas_threads_reads_this_process():
    assert all(n >= 1 for n in blas_threads())
    assert cap_native_threads.__doc__


def test_warm_caches_fill_what_the_pages_read(monkeypatch):
    from app import shipped, warmup
    from app.charts import recap as recap_charts
    from core.attacks.fgsm import FGSM
    from core.runtimes.classifier import accuracy

    warmup.warm_caches()
    root = shipped.pretrained_root()
    images, labels = shipped.sample(root)
    clf = shipped.classifier(root, "f_nd")
    start = FGSM.prepare(clf, images, labels)
    for eps in (0.0, 0.05, 0.3):
        direct = accuracy(FGSM.outcome(clf, start, eps).prediction.probs, labels)
        assert shipped.sample_accuracy(root, "FGSM", "f_nd", eps) == direct
    assert shipped.sample_accuracy(root, "FGSM", "f_n", 0.0) > shipped.sample_accuracy(root, "FGSM", "f_n", 0.3)
    # Filled means no recomputation: the cached functions now answer without calling their body.
    monkeypatch.setattr(shipped, "get_attack", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    for eps in shipped.GALLERY_EPS_GRID:
        shipped.sample_accuracy(root, "FGSM", "f_n", eps)
    # The draw page's shipped digits too: each network's answer, gradient and smallest flipping eps.
    from core.attacks.flip import smallest_flip_eps

    monkeypatch.setattr(shipped, "smallest_flip_eps", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    for i in (0, len(labels) - 1):
        x = shipped.shipped_input(images, i)
        for name in ("f_n", "f_nd"):
            assert shipped.image_prepared(root, "FGSM", name, x).clean.label.shape == (1,)
            assert shipped.image_flip_eps(root, name, x) == float(smallest_flip_eps(shipped.classifier(root, name), x)[0])
    t = recap_charts.talk_defaults()
    spec, frame = recap_charts.double_descent_chart(t["dd_n"], t["dd_noise"], t["dd_seed"])
    assert spec["layer"] and len(frame) > 5


def test_start_runs_once_and_finishes(monkeypatch):
    from app import warmup

    calls = []
    monkeypatch.setattr(warmup, "_thread", None)
    monkeypatch.setattr(warmup, "warm_caches", lambda step: (step(), calls.append(1)))
    monkeypatch.setattr(warmup, "cap_native_threads", lambda n: [n])
    first = warmup.start()
    assert warmup.start() is first
    first.join(timeout=30)
    assert calls == [1] and warmup.STATUS["error"] is None and warmup.STATUS["blas_threads"] == [1]


def test_gallery_grid_is_the_sliders():
    from app import shipped

    grid = np.asarray(shipped.GALLERY_EPS_GRID)
    assert grid[0] == 0.0 and grid[-1] == shipped.GALLERY_EPS_MAX and np.allclose(np.diff(grid), shipped.GALLERY_EPS_STEP)


def test_no_warm_up_thread_under_apptest(monkeypatch):
    from streamlit.testing.v1.util import patch_config_options

    from app import warmup

    monkeypatch.setattr(warmup, "_thread", None)
    with patch_config_options({"global.appTest": True}):
        assert warmup.start() is None


def test_stop_ends_the_warm_up_between_steps(monkeypatch):
    from app import warmup

    steps = []

    def slow(step):
        for _ in range(100):
            step()
            steps.append(1)
            __import__("time").sleep(0.05)

    monkeypatch.setattr(warmup, "_thread", None)
    monkeypatch.setattr(warmup, "_stop", __import__("threading").Event())
    monkeypatch.setattr(warmup, "warm_caches", slow)
    monkeypatch.setattr(warmup, "cap_native_threads", lambda n: [n])
    thread = warmup.start()
    __import__("time").sleep(0.2)
    warmup.stop(timeout=5)
    assert not thread.is_alive() and len(steps) < 100 and warmup.STATUS["error"] == "stopped"
