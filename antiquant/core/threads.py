"""Parallel kernel launches from many Python threads at once, whichever threading layer Numba picked.

Numba's ``tbb`` and ``omp`` layers run parallel regions launched from several threads at once; ``workqueue``,
its fallback where neither TBB nor OpenMP loads, cannot: a second concurrent launch aborts the whole process
("Concurrent access has been detected", Numba's docs, "The Threading Layers"). So while the active layer is
one of those, every parallel launch in the process takes one lock. Kernels that run on the calling thread
(``parallel=False``) never touch the layer and never wait.
"""

from __future__ import annotations

import contextlib
import threading

import numba

__all__ = ["THREADSAFE_LAYERS", "launching", "serialised"]

# The layers whose parallel regions may be launched from several threads at once (Numba's docs, "The
# Threading Layers": tbb and omp are thread-safe, workqueue is not).
THREADSAFE_LAYERS = frozenset({"tbb", "omp"})

_LOCK = threading.Lock()
_UNLOCKED = contextlib.nullcontext()
_serialised: bool | None = None     # decided on the first parallel launch, when Numba picks its layer


def serialised() -> bool:
    """Whether parallel launches take the process-wide lock: the active layer is not thread-safe.

    Numba picks its layer (``NUMBA_THREADING_LAYER``) on the first parallel launch and only then can name it;
    ``numba.get_num_threads()`` makes it pick now.
    """
    global _serialised
    if _serialised is None:
        numba.get_num_threads()
        _serialised = numba.threading_layer() not in THREADSAFE_LAYERS
    return _serialised


def launching(parallel: bool):
    """The context a kernel launch runs in: the process-wide lock for a parallel kernel on a layer that is
    not thread-safe, else nothing."""
    if parallel and (_serialised if _serialised is not None else serialised()):
        return _LOCK
    return _UNLOCKED
