"""The dequantization kernel: one body, specialisations generated per source, destination and scale mode.

``dequant_span`` generates the whole arithmetic (docs/spec.md section 1) for one case, applied to a run of
consecutive elements of one row. ``fused_kernel`` walks a tile table in parallel and applies it in place;
every flag is a closure constant, so each specialisation compiles to straight-line vector code, and Numba
caches it on disk.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
from numba import njit, prange

from .bits import bf16_bits, bf16_bits_quiet, f16_bits_hw, f16_bits_sw, f16_f32_hw, signed_nibble, target_has_f16c
from .decoders import CODE_DECODERS, F16C_BITS, F16C_DECODERS
from .jit import generated_kernel
from .lookup import LOOKUPS, blocked_span, default_lookup, lacking_for
from .tabulated import tabulated_span, target_has_tabulation
from .vector import LINE, prefer_512bit_vectors, store_fence, stream_lines, uint16_halves

__all__ = ["SOURCES", "Source", "dequant_span", "fused_kernel"]


class Source:
    """How x is stored: ``group`` int4 (or int8) values per storage element; ``nibbles`` if 4-bit.

    ``lanes`` results per item of y: 2 for sources holding nibble pairs, whose two results fill one uint32
    (low half first, so little-endian only), each lane computed from its own scale/offset row; 1 otherwise.
    ``unit`` is the dtype y is viewed as for the kernels.
    """

    def __init__(self, name: str, storage: np.dtype, group: int, nibbles: bool):
        self.name, self.storage, self.group, self.nibbles = name, np.dtype(storage), group, nibbles
        self.lanes = 2 if nibbles and group % 2 == 0 and sys.byteorder == "little" else 1
        self.unit = np.dtype(np.uint32 if self.lanes == 2 else np.uint16)

    def __repr__(self):
        return f"Source({self.name})"


SOURCES = {
    "int8": Source("int8", np.int8, 1, False),
    "int4": Source("int4", np.uint8, 2, True),              # packed, two per byte, low nibble first
    "int4_unpacked": Source("int4_unpacked", np.uint8, 1, True),  # ml_dtypes.int4: one per byte, low nibble
    # Eight per int32 word, low nibble first: on a little-endian CPU that is exactly packed int4 bytes,
    # which vectorise better than 8-nibble words.
    "int32": Source("int32", np.uint8, 2, True) if sys.byteorder == "little" else Source("int32", np.int32, 8, True),
    # The 8-bit floats of Ascend 950, one code per byte, decoded straight to float32 (docs/spec.md 8.3).
    **{name: Source(name, np.uint8, 1, False) for name in CODE_DECODERS},
}


@njit(inline="always")
def whole(word, i):
    """Value ``i`` of an int8 storage element: the int8 itself."""
    return np.int32(word)


def code_value(decoder):
    """The decode step of a one-code-per-byte source: ``decoder(code)``, a float32, exact."""
    @njit(inline="always")
    def value(word, i):
        return decoder(word)
    return value


@njit(inline="always")
def nan_first(a, result):
    """``result`` of an operation whose first operand is ``a``, or ``a`` itself if it is a NaN: when both
    operands are NaN the first one's payload survives (docs/spec.md section 1), whichever order LLVM and
    the CPU put them in. A float compare and a select; LLVM drops both where ``a`` cannot be a NaN (an
    integer x converted)."""
    return a if a != a else result


@njit(inline="always")
def plain_result(a, result):
    """``result``: ``nan_first`` where no step can have two NaN operands."""
    return result


def decode_step(source: str, hw_f16: bool):
    """``decode(word, i)``: value ``i`` of one storage element of ``source``, exact in float32; by F16C where
    ``hw_f16`` and the source has such a decoder."""
    if source in CODE_DECODERS:
        return code_value((F16C_DECODERS if hw_f16 else CODE_DECODERS)[source])
    return signed_nibble if SOURCES[source].nibbles else whole


@functools.lru_cache(maxsize=None)
def widened(factor: float):
    """The value of binary16 bits (codes already looked up by ``kernels.lookup``), widened by F16C, times
    the exact ``factor`` they are of it (a power of two; 1 for table lookups, which hold the value itself)."""
    if factor == 1.0:
        @njit(inline="always")
        def value(word, i):
            return f16_f32_hw(word)
    else:
        scale = np.float32(factor)

        @njit(inline="always")
        def value(word, i):
            return f16_f32_hw(word) * scale
    return value


@functools.lru_cache(maxsize=None)
def dequant_span(source: str, *, bf16: bool, per_channel: bool, has_offset: bool, hw_f16: bool,
                 lookup: str = "none", nan_operands: bool = True, column_order: bool = False):
    """The arithmetic of one case, as ``span(xs, ys, scale, offset, first, items)``.

    ``span`` computes ``y_c = round((x_c + offset) * scale)`` into ``ys[:items]`` (``lanes`` results per
    item, ``Source.unit``) from the storage elements ``xs``. ``scale``/``offset`` are float32 with sqrt
    mode already applied: per-channel ``[lanes, columns / lanes]``, lane-major (``[l, m]`` is column
    ``m * lanes + l``, so each lane reads consecutive values), with the span's items starting at column
    item ``first``; per-tensor ``[1, 1]``. One rounding per step, no fused multiply-add (fastmath is off),
    and of two NaN operands the first one's (``nan_first``); ``nan_operands=False`` leaves that test out, for
    calls whose scale and offset hold no NaN (then no step can have two NaN operands).
    ``lookup`` ("vector", "shuffle", "scalar" or "compose", ``kernels.lookup``; all need F16C): an 8-bit float
    source's codes are looked up in a table, or their bits composed, a block ahead of the arithmetic, instead of
    decoded inside it.
    ``column_order``: per-channel scale/offset are ``[1, columns]`` as the caller gave them, each lane
    reading every other value: no split before the kernel (for one-row calls, where splitting costs more
    than the kernel's strided reads).
    """
    if lookup != "none" and source in CODE_DECODERS:
        factor = F16C_BITS[source][1] if lookup == "compose" else 1.0
        on_halves = _span(widened(factor), 1, 1, bf16, per_channel, has_offset, hw_f16, nan_operands, False)
        return blocked_span(source, on_halves, lookup)
    src = SOURCES[source]
    return _span(decode_step(source, hw_f16), src.lanes, src.group // src.lanes, bf16, per_channel, has_offset,
                 hw_f16, nan_operands, column_order and src.lanes == 2)


def lane_reader(lanes: int, column_order: bool):
    """``read(lo, hi, k, lane)``: item ``k``'s per-channel value for ``lane``, from its lane's row (``lo`` for
    lane 0, ``hi`` for the last) or, in column order, from ``lo`` holding every lane's (unsigned index: no
    wraparound test)."""
    if column_order:
        @njit(inline="always")
        def read(lo, hi, k, lane):
            return lo[np.uintp(lanes * k + lane)]
    else:
        @njit(inline="always")
        def read(lo, hi, k, lane):
            return lo[k] if lane == 0 else hi[k]
    return read


@functools.lru_cache(maxsize=None)
def _span(decode, lanes: int, units: int, bf16: bool, per_channel: bool, has_offset: bool, hw_f16: bool,
          nan_operands: bool, column_order: bool):
    """``dequant_span``'s span for storage elements of ``units`` items of ``lanes`` values, each value
    ``decode(word, i)``. The flags are closure constants: Numba drops the branches a case does not take
    before compiling it."""
    # Without NaN operands every NaN a step sees is quiet and payload-free (``bf16_bits_quiet``)
    to_bits = (bf16_bits if nan_operands else bf16_bits_quiet) if bf16 else f16_bits_hw if hw_f16 else f16_bits_sw
    first_nan = nan_first if nan_operands else plain_result
    # float16 pairs are stored as two 16-bit halves (unsigned indices: Numba's test for negative ones kept
    # the loop scalar), which LLVM interleaves with two unpacks; packed into one uint32 it widened both,
    # shifted one and blended (int4 -> fp16 per channel + offset, Zen 2, streaming DRAM: 9.3 -> 11.3 GB/s
    # on 1 thread, 17.4 -> 21.8 on 2). bfloat16's rounded words hold their halves in place: a shift, a blend.
    halves_apart = lanes == 2 and not bf16
    read = lane_reader(lanes, column_order)

    @njit(inline="always")
    def span(xs, ys, scale, offset, first, items):
        # Per channel, each lane's values as a view starting at the span (loops indexed from 0 vectorise;
        # base + i does not); per tensor these views go unread.
        cols = slice(lanes * first, lanes * (first + items)) if column_order else slice(first, first + items)
        scale_lo, scale_hi = scale[0][cols], scale[scale.shape[0] - 1][cols]
        offset_lo, offset_hi = offset[0][cols], offset[offset.shape[0] - 1][cols]
        # Per-tensor values are read once, before any store to ys: loads inside the loop would each need a
        # run-time check that ys does not overlap them (measured: a quarter of a streaming int4->bf16
        # kernel's time).
        scale_1, offset_1 = scale[0, 0], offset[0, 0]
        if halves_apart:
            halves = uint16_halves(ys)
        for j in range(items // units):
            word = xs[j]
            for u in range(units):
                item = j * units + u
                k = item if per_channel else 0
                packed = np.uint32(0)
                for lane in range(lanes):
                    v = np.float32(decode(word, u * lanes + lane))
                    if has_offset:
                        v = first_nan(v, v + (read(offset_lo, offset_hi, k, lane) if per_channel else offset_1))
                    v = first_nan(v, v * (read(scale_lo, scale_hi, k, lane) if per_channel else scale_1))
                    if halves_apart:
                        halves[np.uintp(2 * item + lane)] = to_bits(v)   # unsigned: no wraparound test
                    else:
                        packed |= np.uint32(to_bits(v)) << np.uint32(16 * lane)
                if not halves_apart:
                    ys[item] = packed

    return span


def decoding(source: str, hw_f16: bool | None, lookup: str | None) -> tuple[bool, str]:
    """The instruction paths a kernel for ``source`` uses, each the target's own where None: F16C
    (``hw_f16``) and, for 8-bit float codes, block decoding (``lookup``, one of ``kernels.lookup.LOOKUPS``;
    they need F16C); "none" for other sources. A forced path the target lacks is refused here: compiled, it
    would stop the process on an illegal instruction (or fail to link F16C's runtime helper)."""
    if hw_f16 and not target_has_f16c():
        raise ValueError("hw_f16: this CPU (Numba's target) has no F16C; pass False or None")
    hw = target_has_f16c() if hw_f16 is None else hw_f16
    chosen = default_lookup(source, hw) if lookup is None else lookup
    if chosen not in LOOKUPS:
        raise ValueError(f"lookup: expected one of {LOOKUPS} or None, got {lookup!r}")
    if source not in CODE_DECODERS:
        return hw, "none"
    if chosen != "none" and not hw:
        raise ValueError("lookup: the table lookups widen binary16 by F16C; hw_f16=False excludes them")
    lacking = lacking_for(chosen)
    if lacking:
        raise ValueError(f"lookup: {chosen!r} needs {lacking}, which this CPU (Numba's target) lacks; pass None "
                         f"for its fastest path")
    return hw, chosen


def tabulating(source: str, along: bool, tabulate: bool | None) -> bool:
    """Whether a kernel looks its results up (``kernels.tabulated``): for a 4-bit source stored a byte at a
    time and one scale (not ``along`` rows or columns), where the target has AVX2 (None) or where forced
    (True; refused on a target without AVX2, where it would stop the process on an illegal instruction)."""
    src = SOURCES[source]
    fits = src.nibbles and src.storage == np.uint8 and not along
    if tabulate and not target_has_tabulation():
        raise ValueError("tabulate: the result lookup needs AVX2, which this CPU (Numba's target) lacks; pass None")
    return fits and (target_has_tabulation() if tabulate is None else tabulate)


# Each parallel task of the fused kernel is TASK_TILES consecutive tiles, which share one scratch buffer. It
# walks each row of a tile start to end: two streams (x and y) per core. Walking bands of 8 rows 2 KiB at a
# time, to keep per-channel scale/offset in L1, ran 16 streams per core, more than the hardware prefetchers
# follow (Zen 2, 8192 x 16384 int8 -> bf16 per channel + offset, streaming: 10.7 against 12.6 GB/s at 1
# thread; 4096 x 4096 with plain stores, 2 threads: 14.0 against 20.0); scale/offset rows of LLM widths stay
# in L2.
TASK_TILES = 8
# Streaming kernels compute BURST_BYTES of y at a time into an L1 buffer and store them as whole lines that
# bypass the caches. Short bursts let the core compute the next one while the last drains to memory (2 KiB
# bursts stalled it, single lines cost their loop overhead): measured best at 512 on DRAM streams.
BURST_BYTES = 512


@njit(inline="always")
def line_lead(ys, units):
    """How many items of ``ys`` come before its first cache-line boundary, rounded up to whole storage
    elements of ``units`` items (at most all of them): the rest of the row then starts a line, so its vector
    stores never split one and its streaming stores can start at once."""
    lead = (-ys.ctypes.data) % LINE // ys.itemsize
    return min(ys.size, (lead + units - 1) // units * units)


@njit(inline="always")
def private_buffer(nbytes):
    """``nbytes`` of scratch whose cache lines, and the lines either side, hold nothing else.

    A thread's small scratch from the allocator can share a line, or an adjacent-line prefetch pair, with
    another thread's: each write then steals the line from the other core (measured: a quarter of the
    bandwidth of a streaming kernel, depending on where the allocator put the buffers).
    """
    pair = 2 * LINE
    raw = np.empty(nbytes + 3 * pair, np.uint8)
    start = pair + (-raw.ctypes.data) % pair
    return raw[start:start + nbytes]


@functools.lru_cache(maxsize=None)
def streamed(span, units: int, burst: int):
    """``span`` as ``write(xs, ys, staging, scale, offset, first)``: if ``ys`` starts a line, its
    whole bursts of ``burst`` items are computed into ``staging`` and written with streaming stores; the
    rest by plain stores. ``units``: items per storage element of xs."""

    @njit(inline="always")
    def write(xs, ys, staging, scale, offset, first):
        done = ys.size // burst * burst if ys.ctypes.data % LINE == 0 else 0
        for i in range(0, done, burst):
            span(xs[i // units:(i + burst) // units], staging, scale, offset, first + i, burst)
            stream_lines(ys, i, staging, burst)
        span(xs[done // units:], ys[done:], scale, offset, first + done, ys.size - done)

    return write


@functools.lru_cache(maxsize=None)
def fused_kernel(source: str, bf16: bool, per_channel: bool, has_offset: bool, parallel: bool = True,
                 hw_f16: bool | None = None, streaming: bool = False, per_head: bool = False,
                 lookup: str | None = None, nan_operands: bool = True, column_order: bool = False,
                 tabulate: bool | None = None):
    """The specialisation for one combination; compiled (or loaded from cache) on its first call.

    Call it as ``kernel(x2d, scale, offset, y2d, tiles)``: x2d the storage of the ``[dim0, dim1]`` view,
    y2d its ``[dim0, dim1]`` output bits viewed as ``Source.unit``, scale/offset 2-D as ``dequant_span``'s
    span reads them, all C-contiguous; tiles a tile table (``antiquant.tiling.TILE_DTYPE`` records core,
    row0, nrows, col0, ncols) with col0 and ncols multiples of the source's group. ``parallel=False`` runs
    on the calling thread (for work too small to pay for waking the thread team). ``streaming`` writes y
    with streaming stores (``streamed``) from each row's first line boundary: for outputs too large to stay in
    cache, whose plain stores would read every line of y from memory before writing it.

    ``per_head`` (with ``per_channel`` False): scale/offset are float32 ``[1, N]`` and row ``r`` of the view
    uses element ``r % N`` for every column (docs/spec.md 8.3.3), handed to the per-tensor span as a ``[1, 1]``
    slice: per head runs at per-tensor speed. ``lookup``: how 8-bit float codes are decoded (``decoding``).
    ``nan_operands=False``: the caller has checked that scale and offset hold no NaN, so the first-NaN
    select (``nan_first``) is left out (measured: up to 40% of a DRAM stream, docs/kernels.md).
    ``column_order``: per-channel scale/offset of a two-lane source are float32 ``[1, dim1]`` in column order
    (``dequant_span``); it changes nothing for other cases.
    ``tabulate``: per-tensor int4 calls look their 16 results up (``kernels.tabulated``); None: where the
    target has AVX2.
    """
    if per_head and per_channel:
        raise ValueError("per_head: a scale runs along rows (per head) or columns (per channel), not both")
    src = SOURCES[source]
    lanes = src.lanes
    units = src.group // lanes                  # items per storage word: spans hold whole words
    unit_bytes = src.unit.itemsize
    unit = src.unit.type
    hw, how = decoding(source, hw_f16, lookup)
    column_order = column_order and lanes == 2 and per_channel
    span = dequant_span(source, bf16=bf16, per_channel=per_channel, has_offset=has_offset, hw_f16=hw,
                        lookup=how, nan_operands=nan_operands, column_order=column_order)
    tabulated = tabulating(source, per_channel or per_head, tabulate)
    tabulate_results = None
    if tabulated:
        tabulate_results, span = tabulated_span(span, lanes)
    write = streamed(span, units, BURST_BYTES // unit_bytes)

    def fused(x, scale, offset, y, tiles):
        for task in prange((tiles.shape[0] + TASK_TILES - 1) // TASK_TILES):
            prefer_512bit_vectors()
            # ``if streaming`` tests a closure constant: Numba prunes the branch not taken before compiling,
            # so plain kernels compile none of the streaming code (0.4 s of a cold first call)
            if streaming:
                staging = private_buffer(BURST_BYTES).view(unit)
            else:
                staging = y[0][:0]
            # per tensor, a 4-bit source's 16 results stand in for the scale (``kernels.tabulated``)
            if tabulated:
                table = tabulate_results(scale, offset)
            else:
                table = scale
            for t in range(task * TASK_TILES, min(tiles.shape[0], (task + 1) * TASK_TILES)):
                row0, nrows, col0, ncols = tiles[t].row0, tiles[t].nrows, tiles[t].col0, tiles[t].ncols
                first, items = col0 // lanes, ncols // lanes
                for r in range(row0, row0 + nrows):
                    if per_head:
                        h = r % scale.shape[1]
                        s_r, o_r = scale[:, h:h + 1], offset[:, h:h + 1]
                    else:
                        s_r, o_r = table, offset
                    yr = y[r][first:first + items]
                    xr = x[r][first // units:(first + items) // units]
                    lead = line_lead(yr, units)
                    span(xr[:lead // units], yr[:lead], s_r, o_r, first, lead)
                    if streaming:
                        write(xr[lead // units:], yr[lead:], staging, s_r, o_r, first + lead)
                    else:
                        span(xr[lead // units:], yr[lead:], s_r, o_r, first + lead, items - lead)
            if streaming:
                store_fence()  # the streamed lines reach memory before the caller reads y

    return generated_kernel(fused, (source, bf16, per_channel, has_offset, parallel, hw, streaming, per_head,
                                    how, nan_operands, column_order, tabulated), parallel=parallel)
