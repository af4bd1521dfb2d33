"""Capping the thread pools of numpy's BLAS and of OpenMP in a server process.

On a small machine that serves a class, every script run is one Python thread; a BLAS call that
spreads itself over every core competes with the other students' runs and with its own threads
(the double-descent slider took 2-13 s on a busy 2-core machine, 0.9-1.5 s with one BLAS thread).
Environment variables only work before a library is loaded, and `streamlit run` imports numpy
before the app's script runs, so `cap_native_threads` does both: it sets the variables for
libraries not loaded yet and calls OpenBLAS's own setter for the one numpy has already loaded
(found in this process's memory map, as threadpoolctl does).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# OpenBLAS builds name their setter with the build's symbol prefix/suffix (numpy's wheels:
# scipy_openblas_set_num_threads64_).
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux; [] elsewhere)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and "/" in line}
    return sorted(p for p in paths if ".so" in p)


def _call(names: tuple[str, ...], *args) -> list[int]:
    out = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle, nothing new is initialised
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                out.append(fn(*args) if args else int(fn()))
                break
    return out


def blas_threads() -> list[int]:
    """The thread count of each loaded OpenBLAS ([] when none is loaded or it cannot be asked)."""
    return _call(_GETTERS)


def cap_native_threads(n: int = 1) -> list[int]:
    """Limit BLAS / OpenMP pools to n threads, for loaded and not-yet-loaded libraries.

    Returns the thread counts of the loaded OpenBLAS libraries afterwards.
    """
    n = max(1, int(n))
    for var in ENV_VARS:
        os.environ[var] = str(n)
    import numpy  # noqa: F401  (make sure numpy's OpenBLAS is the one capped)

    _call(_SETTERS, ctypes.c_int(n))
    return blas_threads()
