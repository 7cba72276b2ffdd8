"""The layout the kernels read scale/offset in: float32 split into lanes (see ``dequant.dequant_span``)."""

from __future__ import annotations

from numba import njit

from .jit import KERNEL_OPTIONS

__all__ = ["split_lanes"]


@njit(**dict(KERNEL_OPTIONS, parallel=False))
def split_lanes(values, lanes_out, square):
    """``lanes_out[l, m] = values[m * lanes + l]`` for 1 or 2 lanes, squared (one float32 rounding) when
    ``square``; returns whether what it wrote holds a NaN.

    Once per call, before the kernel: numpy's strided copies take ~6 us per 16k values here, more than half
    of a one-row call; these loops, each with a constant stride, take under 3 us. The NaN test rides on the
    same pass (a bool or-reduction, 0.3 us of it), so a call whose operands are prepared here knows whether
    its kernel needs the first-NaN selects (2 of a 1 x 16384 int4 call's 6 kernel microseconds).
    """
    first, last = lanes_out[0], lanes_out[lanes_out.shape[0] - 1]
    nan = False
    if lanes_out.shape[0] == 1:
        for m in range(first.size):
            a = values[m]
            if square:
                a = a * a
            first[m] = a
            nan |= a != a
    else:
        for m in range(first.size):
            a, b = values[2 * m], values[2 * m + 1]
            if square:
                a, b = a * a, b * b
            first[m], last[m] = a, b
            nan |= (a != a) | (b != b)
    return nan
