"""The UB-staged kernel: every tile passes through a per-core scratch laid out as the plan's UB map.

Each core (a ``prange`` iteration) walks its tiles in order: copy-in (MTE2) of x's tile into x slot
``i % buffers`` and, per channel, of the tile's scale/offset columns; compute with ``dequant_span``'s span
from that slot into y slot ``i % buffers``; copy-out (MTE3) to y. The arithmetic is the fused kernel's span,
so the result is bit-identical to it; what this adds is the data movement an Ascend vector core does.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .dequant import SOURCES, decoding, dequant_span
from .jit import generated_kernel

__all__ = ["staged_kernel", "UbLayout"]


class UbLayout(NamedTuple):
    """The staged kernel's ``layout`` argument: byte offsets and slot sizes in one core's scratch.

    Scale/offset offsets are those of their float32 copies; -1 where the plan has no such region
    (per-tensor: read from GM). Numba passes it as a tuple of int64 and reads its fields by name.
    """

    x_offset: int
    x_slot: int
    y_offset: int
    y_slot: int
    scale_offset: int
    offset_offset: int
    buffers: int


@njit(inline="always")
def lane_floats(u, start, lanes, items):
    """The float32 ``[lanes, items]`` at byte ``start`` of a core's scratch ``u``."""
    return u[start:start + lanes * items * 4].view(np.float32).reshape(lanes, items)


@functools.lru_cache(maxsize=None)
def staged_kernel(source: str, bf16: bool, per_channel: bool, has_offset: bool, hw_f16: bool | None = None,
                  per_head: bool = False, lookup: str | None = None, nan_operands: bool = True):
    """The staged specialisation for one combination (``per_head`` as for ``fused_kernel``: row ``r`` of the
    view uses scale/offset element ``r % N`` of their ``[1, N]``, staged per tile into the layout's scale and
    offset regions, which must then hold a tile's rows as float32).

    Call it as ``kernel(x2d, scale, offset, y2d, tiles, core_offsets, ub, layout)``: arguments as for
    ``fused_kernel`` (y2d in ``Source.unit``), plus ``core_offsets`` (core ``c`` runs
    ``tiles[core_offsets[c]:core_offsets[c+1]]``), ``ub`` uint8 ``[cores, ub_bytes]`` scratch and ``layout``
    a ``UbLayout``.
    """
    src = SOURCES[source]
    group, lanes, storage, width = src.group, src.lanes, src.storage.type, src.storage.itemsize
    unit = src.unit.type
    hw, how = decoding(source, hw_f16, lookup)
    span = dequant_span(source, bf16=bf16, per_channel=per_channel, has_offset=has_offset, hw_f16=hw,
                        lookup=how, nan_operands=nan_operands)
    stage_offset = per_channel and has_offset

    def staged(x, scale, offset, y, tiles, core_offsets, ub, layout):
        buffers = layout.buffers
        for c in prange(core_offsets.size - 1):
            u = ub[c]
            s, o = scale, offset
            last_col0, last_ncols = -1, -1
            for t in range(core_offsets[c], core_offsets[c + 1]):
                slot = (t - core_offsets[c]) % buffers
                row0, nrows, col0, ncols = tiles[t].row0, tiles[t].nrows, tiles[t].col0, tiles[t].ncols
                first, words = col0 // group, (col0 + ncols) // group - col0 // group
                items, y_first = ncols // lanes, col0 // lanes
                x_at, y_at = layout.x_offset + slot * layout.x_slot, layout.y_offset + slot * layout.y_slot
                xs = u[x_at:x_at + nrows * words * width].view(storage)
                ys = u[y_at:y_at + nrows * ncols * 2].view(unit)
                for r in range(nrows):                                      # MTE2: x tile -> UB slot
                    xs[r * words:(r + 1) * words] = x[row0 + r, first:first + words]
                if per_channel and (col0 != last_col0 or ncols != last_ncols):   # MTE2: the tile's columns
                    s = lane_floats(u, layout.scale_offset, lanes, items)
                    o = lane_floats(u, layout.offset_offset, lanes, items) if stage_offset else o
                    for lane in range(lanes):   # row by row: contiguous copies (a 2-D slice copy is 3x slower)
                        s[lane][:] = scale[lane][y_first:y_first + items]
                        if stage_offset:
                            o[lane][:] = offset[lane][y_first:y_first + items]
                    last_col0, last_ncols = col0, ncols
                if per_head:                                                # MTE2: the tile's rows' scales
                    s = lane_floats(u, layout.scale_offset, 1, nrows)
                    o = lane_floats(u, layout.offset_offset, 1, nrows) if has_offset else s
                    for r in range(nrows):
                        h = (row0 + r) % scale.shape[1]
                        s[0, r] = scale[0, h]
                        if has_offset:
                            o[0, r] = offset[0, h]
                for r in range(nrows):                                      # vector: UB x slot -> UB y slot
                    s_r, o_r = (s[:, r:r + 1], o[:, r:r + 1]) if per_head else (s, o)
                    span(xs[r * words:(r + 1) * words], ys[r * items:(r + 1) * items], s_r, o_r, 0, items)
                for r in range(nrows):                                      # MTE3: UB y slot -> y
                    y[row0 + r, y_first:y_first + items] = ys[r * items:(r + 1) * items]

    return generated_kernel(staged, (source, bf16, per_channel, has_offset, hw, per_head, how, nan_operands))
