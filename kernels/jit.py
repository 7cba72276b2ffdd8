"""How the kernels are compiled and cached: one set of Numba options, a disk cache keyed on the case.

Numba keys a function's disk cache on its bytecode and a pickle of its closure, and checks only the source
file it is defined in. Neither fits a generated kernel: its closure holds the case's specialised span, a
dispatcher whose pickle carries a random id (a key that would never hit in another process), and the
arithmetic it inlines lives in the other files here. ``generated_kernel`` keys it on the case that the
factory generated it for and on ``SOURCE_DIGEST`` instead.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba import njit
from numba.core.caching import FunctionCache

__all__ = ["KERNEL_OPTIONS", "SOURCE_DIGEST", "generated_kernel"]

KERNEL_OPTIONS = dict(parallel=True, nogil=True, fastmath=False, cache=True, error_model="numpy",
                      boundscheck=False)

# Editing or upgrading any kernel source must not load stale machine code.
SOURCE_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
                               ).hexdigest()


class _CaseCache(FunctionCache):
    """Numba's disk cache for one generated kernel, keyed on its bytecode, case and ``SOURCE_DIGEST``.

    Numba has no public hook for the key, so this overrides ``FunctionCache._index_key``: should a release
    rename it, nothing would hit the cache again, and tests/kernels/test_kernel_cache.py says so.
    """

    def __init__(self, py_func, case: tuple):
        super().__init__(py_func)
        self._case = hashlib.sha256(repr((case, SOURCE_DIGEST)).encode()).hexdigest()

    def _index_key(self, sig, codegen):
        code = hashlib.sha256(self._py_func.__code__.co_code).hexdigest()
        return sig, codegen.magic_tuple(), (code, self._case)


def generated_kernel(py_func, case: tuple, **options):
    """``py_func`` compiled with ``KERNEL_OPTIONS`` (``options`` override them), its disk cache keyed on
    ``case``: every value its closure was built from (a factory's arguments, defaults resolved)."""
    kernel = njit(**dict(KERNEL_OPTIONS, **options, cache=False))(py_func)
    kernel._cache = _CaseCache(py_func, case)   # what cache=True sets up, with the key above
    return kernel
