"""The bandwidth ceiling: a Numba widening copy int8 -> int16, the least work any dequantizer must do.

It reads one byte and writes two per element, as int8 -> bf16/fp16 does, and nothing else; its GB/s on a
DRAM-sized stream is what "at the memory bandwidth" means in every table. Not a product kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["CHUNK", "widen_copy", "copy_buffers"]

CHUNK = 1 << 18  # elements per parallel chunk: 768 KiB of traffic, many chunks per thread on large streams


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def widen_copy(x, y):
    """``y[i] = x[i]`` for int8 x and int16 y of equal length, chunked over threads."""
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        xs = x[start:stop]  # loops index sliced views from 0: ranges like range(start, stop) vectorize worse
        ys = y[start:stop]
        for i in range(stop - start):
            ys[i] = xs[i]


def copy_buffers(traffic_bytes: int, pool: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(x int8, y int16, bytes moved) for a copy of ``traffic_bytes`` over the given byte pool and output."""
    n = max(1, traffic_bytes // 3)
    return pool[:n].view(np.int8), out[:n].view(np.int16), 3 * n
