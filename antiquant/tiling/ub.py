"""The UB map: what one vector core allocates in its Unified Buffer for a plan's largest tile.

It counts what the NPU kernel holds (x at 1 byte per element, also for int4, as CANN counts it); the CPU's
staged kernel lays its per-core scratch out the same way.
"""

from __future__ import annotations

from ..core.dtypes import DataType
from .problem import Mode, Problem

__all__ = ["UB_ALIGN", "TEMP_BYTES", "regions", "layout", "peak"]

UB_ALIGN = 32           # UB buffers start on 32-byte boundaries (docs/spec.md section 6)
X_BYTES = 1             # x in UB: int8, and int4 unpacked to one byte per element as CANN counts it
FLOAT32_BYTES = 4       # the kernel's float32 intermediate, and a BF16 scale/offset's float32 copy
HALF_BYTES = 2          # the kernel's half intermediate (int8/int4 -> half -> float)
TEMP_BYTES = FLOAT32_BYTES + HALF_BYTES     # cast intermediates per tile element


def _aligned(nbytes: int) -> int:
    return -(-int(nbytes) // UB_ALIGN) * UB_ALIGN


def regions(p: Problem, mode: int, elems: int, cols: int, buffers: int,
            len_ex: int = 1) -> tuple[tuple[str, int, int, int], ...]:
    """``(name, offset, nbytes, slots)`` for a largest tile of ``elems`` elements and ``cols`` columns.

    ``buffers`` slots of x and y tiles, per-column scale/offset (their float32 copies if BF16) and the cast
    intermediates. NDDMA gathers rows into one tile of ``len_ex`` (CANN's baseLenEx) and broadcasts
    scale/offset to that length.
    """
    if mode == Mode.PER_CHANNEL_NDDMA:
        elems = cols = max(elems, len_ex)
    sizes = [("x", _aligned(elems * X_BYTES), buffers), ("y", _aligned(elems * p.y_bytes), buffers)]
    if mode != Mode.PER_TENSOR:
        vectors = ("scale", "offset") if p.has_offset else ("scale",)
        sizes += [(v, _aligned(cols * p.scale_bytes), 1) for v in vectors]
        if p.scale_dtype == DataType.BF16:
            sizes += [(f"{v}_f32", _aligned(cols * FLOAT32_BYTES), 1) for v in vectors]
    sizes.append(("tmp", _aligned(elems * TEMP_BYTES), 1))
    return layout(sizes)


def layout(sizes) -> tuple[tuple[str, int, int, int], ...]:
    """``(name, offset, nbytes, slots)`` for ``(name, nbytes, slots)`` buffers placed one after another, each
    ``nbytes`` rounded up to ``UB_ALIGN``."""
    out, cursor = [], 0
    for name, nbytes, slots in sizes:
        nbytes = _aligned(nbytes)
        out.append((name, cursor, nbytes, slots))
        cursor += nbytes * slots
    return tuple(out)


def peak(ub_map) -> int:
    """Bytes one core allocates: the end of the last region."""
    return max((offset + nbytes * slots for _, offset, nbytes, slots in ub_map), default=0)
