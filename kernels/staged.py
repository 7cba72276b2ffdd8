"""The UB-staged kernel: every tile passes through a per-core scratch laid out as the plan's UB map.

Each core (a ``prange`` iteration) walks its tiles in order: copy-in (MTE2) of x's tile into x slot
``i % buffers`` and, per channel, of the tile's scale/offset columns; compute with ``dequant_span``'s span
from that slot into y slot ``i % buffers``; copy-out (MTE3) to y. The arithmetic is the fused kernel's span,
so the result is bit-identical to it; what this adds is the data movement an Ascend vector core does.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import prange

from .bits import target_has_f16c
from .dequant import SOURCES, dequant_span
from .jit import generated_kernel

__all__ = ["staged_kernel", "LAYOUT_FIELDS"]

# The int64 ``layout`` argument: byte offsets and slot sizes in one core's scratch. Scale/offset offsets are
# those of their float32 copies; -1 where the plan has no such region (per-tensor: read from GM).
LAYOUT_FIELDS = ("x_offset", "x_slot", "y_offset", "y_slot", "scale_offset", "offset_offset", "buffers")


@functools.lru_cache(maxsize=None)
def staged_kernel(source: str, bf16: bool, per_channel: bool, has_offset: bool, hw_f16: bool | None = None):
    """The staged specialisation for one combination.

    Call it as ``kernel(x2d, scale, offset, y2d, tiles, core_offsets, ub, layout)``: arguments as for
    ``fused_kernel`` (y2d in ``Source.unit``), plus ``core_offsets`` (core ``c`` runs
    ``tiles[core_offsets[c]:core_offsets[c+1]]``), ``ub`` uint8 ``[cores, ub_bytes]`` scratch and ``layout``
    int64 per ``LAYOUT_FIELDS``.
    """
    src = SOURCES[source]
    group, lanes, storage, width = src.group, src.lanes, src.storage.type, src.storage.itemsize
    unit = src.unit.type
    hw = target_has_f16c() if hw_f16 is None else hw_f16
    span = dequant_span(source, bf16=bf16, per_channel=per_channel, has_offset=has_offset, hw_f16=hw)
    stage_offset = per_channel and has_offset

    def staged(x, scale, offset, y, tiles, core_offsets, ub, layout):
        x_off, x_slot, y_off, y_slot = layout[0], layout[1], layout[2], layout[3]
        s_off, o_off, buffers = layout[4], layout[5], layout[6]
        for c in prange(core_offsets.size - 1):
            u = ub[c]
            s, o = scale, offset
            last_col0, last_ncols = -1, -1
            for t in range(core_offsets[c], core_offsets[c + 1]):
                slot = (t - core_offsets[c]) % buffers
                row0, nrows, col0, ncols = tiles[t, 1], tiles[t, 2], tiles[t, 3], tiles[t, 4]
                first, words = col0 // group, (col0 + ncols) // group - col0 // group
                items, y_first = ncols // lanes, col0 // lanes
                xs = u[x_off + slot * x_slot:x_off + slot * x_slot + nrows * words * width].view(storage)
                ys = u[y_off + slot * y_slot:y_off + slot * y_slot + nrows * ncols * 2].view(unit)
                for r in range(nrows):                                      # MTE2: x tile -> UB slot
                    xs[r * words:(r + 1) * words] = x[row0 + r, first:first + words]
                if per_channel and (col0 != last_col0 or ncols != last_ncols):   # MTE2: the tile's columns
                    s = u[s_off:s_off + ncols * 4].view(np.float32).reshape(lanes, items)
                    o = u[o_off:o_off + ncols * 4].view(np.float32).reshape(lanes, items) if stage_offset else o
                    for lane in range(lanes):   # row by row: contiguous copies (a 2-D slice copy is 3x slower)
                        s[lane][:] = scale[lane][y_first:y_first + items]
                        if stage_offset:
                            o[lane][:] = offset[lane][y_first:y_first + items]
                    last_col0, last_ncols = col0, ncols
                for r in range(nrows):                                      # vector: UB x slot -> UB y slot
                    span(xs[r * words:(r + 1) * words], ys[r * items:(r + 1) * items], s, o, 0, items)
                for r in range(nrows):                                      # MTE3: UB y slot -> y
                    y[row0 + r, y_first:y_first + items] = ys[r * items:(r + 1) * items]

    return generated_kernel(staged, (source, bf16, per_channel, has_offset, hw))
