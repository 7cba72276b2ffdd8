"""The bandwidth ceiling: a Numba widening copy int8 -> int16, the least work any dequantizer must do.

It reads one byte and writes two per element, as int8 -> bf16/fp16 does, and nothing else; its GB/s on a
DRAM-sized stream is what "at the memory bandwidth" means in every table. Its plain stores read each line
of y from memory before writing it; ``streaming_widen_copy`` does the same copy with streaming stores, as
antiquant's kernels do on large outputs, and shows how far that moves the limit. Not product kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from antiquant.kernels.dequant import BURST_BYTES, private_buffer
from antiquant.kernels.vector import LINE, store_fence, stream_lines

__all__ = ["CHUNK", "widen_copy", "streaming_widen_copy", "copy_buffers"]

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


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def streaming_widen_copy(x, y):
    """``widen_copy`` with streaming stores: each burst is widened into a private buffer, then written as
    whole lines; the items before y's first line boundary and after the last whole burst are plain."""
    n = x.shape[0]
    burst = BURST_BYTES // 2
    for c in prange((n + CHUNK - 1) // CHUNK):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        xs = x[start:stop]
        ys = y[start:stop]
        staging = private_buffer(BURST_BYTES).view(np.int16)
        lead = min(stop - start, (-ys.ctypes.data) % LINE // 2)
        whole = lead + (stop - start - lead) // burst * burst
        for i in range(lead):
            ys[i] = xs[i]
        for b in range(lead, whole, burst):
            part = xs[b:b + burst]
            for i in range(burst):
                staging[i] = part[i]
            stream_lines(ys, b, staging, burst)
        rest = xs[whole:]
        tail = ys[whole:]
        for i in range(tail.size):
            tail[i] = rest[i]
        store_fence()


def copy_buffers(traffic_bytes: int, pool: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(x int8, y int16, bytes moved) for a copy of ``traffic_bytes`` over the given byte pool and output."""
    n = max(1, traffic_bytes // 3)
    return pool[:n].view(np.int8), out[:n].view(np.int16), 3 * n
