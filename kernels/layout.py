"""The layout the kernels read scale/offset in: float32 split into lanes (see ``dequant.dequant_span``)."""

from __future__ import annotations

from numba import njit

from .jit import KERNEL_OPTIONS

__all__ = ["split_lanes"]


@njit(**dict(KERNEL_OPTIONS, parallel=False))
def split_lanes(values, lanes_out, square):
    """``lanes_out[l, m] = values[m * lanes + l]`` for 1 or 2 lanes, squared (one float32 rounding) when
    ``square``.

    Once per call, before the kernel: numpy's strided copies take ~6 us per 16k values here, more than half
    of a one-row call; these loops, each with a constant stride, take under 2 us.
    """
    first, last = lanes_out[0], lanes_out[lanes_out.shape[0] - 1]
    if lanes_out.shape[0] == 1:
        for m in range(first.size):
            first[m] = values[m]
    else:
        for m in range(first.size):
            first[m] = values[2 * m]
            last[m] = values[2 * m + 1]
    if square:
        for lane in range(lanes_out.shape[0]):
            row = lanes_out[lane]
            for m in range(row.size):
                row[m] = row[m] * row[m]
