"""CANN's host tiling for Ascend 950 (arch35, "regbase"), function by function (docs/spec.md section 8.6).

Mirrors ``AscendAntiQuantV2Regbase`` in hicann/ops-nn ``quant/ascend_anti_quant_v2/op_host/arch35/
ascend_anti_quant_v2_regbase_tiling.cpp`` (master e5c3fa93): each member function that shapes the plan is a pure
function here, under its CANN name in the docstring, taking what the C++ reads from the object and returning
what it writes. ``regbase_tiling`` runs them as ``DoAscendAntiQuantV2Tiling`` does and adds what the five
arch35 kernels (``op_kernel/arch35/ascend_anti_quant_v2_*_regbase.h``) derive from the tiling data: each
core's tiles (``kernel_grids``), the scale element a view element uses (``scale_use``) and the UB buffers
(``kernel_ub_map``). ``host_tiling`` and the functions after ``kernel_ub_map`` are the pieces
``strategies.HostTiling`` runs for a ``Problem`` on an arch35 platform.

For every non-empty shape, core count and UB size the upstream plan covers the tensor exactly (GetCoreNum
makes every tail at least 1, so CANN's "tail 0 -> blockFactor" never fires) and fits its UB
(tests/tiling/test_arch35.py checks both as properties). ``corrections`` makes the one change the kernels
need: an even baseLen for int4 x, which CANN's plan misses only under 4,842 bytes of UB. Unlike arch22 the
cann plan takes no ``buffers``: the kernels' queues are fixed at ``bufferNum_ = 2`` (our experiments may vary
it, ``kernel_ub_map``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import struct
from typing import NamedTuple

import numpy as np

from ..core.dtypes import DataType
from . import tiles, ub
from .arch22 import ceil_align, ceil_div, floor_align
from .problem import Problem, RegbaseMode, ScaleUse

__all__ = ["TILING_FIELDS", "BUFF_NUM", "BROADCAST_MODES", "RegbaseTiling", "regbase_tiling", "host_tiling",
           "empty_tiling", "select_mode", "merge_input_shape", "calc_tiling", "calc_tiling_key", "tiling_key",
           "get_core_num", "get_core_num_double_cut", "calc_max_base_len", "kernel_grids", "kernel_ub_map",
           "to_bytes", "tile_view", "scale_use", "corrections", "tiling_data", "write_tiling_data", "sizes",
           "plan_view", "plan_scale", "plan_ub_map", "launch_block_dim", "workspace_size", "tile_capacity",
           "experiment_shape", "with_tile_shape"]

# -- Constants, each from ascend_anti_quant_v2_regbase_tiling.cpp / .h unless it says otherwise ---------------
X_DTYPE_SIZE = 1        # ge::GetSizeByDataType(DT_INT8): x is sized as int8 for every x dtype (int4, HiF8, FP8)
CACHE_LINE = 128 // X_DTYPE_SIZE    # CACHE_SIZE_950 (cacheLine_) / dtypeSize: x elements per cache line
RESERVE_UB = 2048       # reserveUb_: UB bytes kept back
BUFF_NUM = 2            # BUFF_NUM: the UB formulas count every buffer twice (double buffering)
HALF_FACTOR = 2         # HALF_FACTOR: "at least two rows fit" in the UB factors
LAST_DIM_NUM = 128      # LAST_DIM_NUM: a last axis shorter than this takes the NDDMA kernel
BLOCK_SIZE = 32         # BLOCK_SIZE: per head, the last axis must be longer to split it over cores (blockAxis 2)
QUANT_PARAM_COUNT_WITH_OFFSET = 2   # CalcMaxBaseLen's baseInput: scale and offset vectors
QUANT_PARAM_COUNT_NO_OFFSET = 1     # ... scale only
DEFAULT_BASE_LEN = 128  # DEFAULT_BASE_LEN: CalcMaxBaseLen's answer for zero bytes per element (unreachable)
SYNC_WORKSPACE_SIZE = 16777216      # SYNC_WORKSPACE_SIZE: the one workspace entry WriteTilingData requests
Y_DTYPE_SIZES = {DataType.FLOAT16: 2, DataType.BF16: 2}     # GetSizeByDataType(yDtype_); CheckAttrs allows these
# CalcTilingKey: GET_TPL_TILING_KEY(perMode, zeroPointsType, sqrtMode), ascend_anti_quant_v2_struct.h declares
# widths 3, 1, 1; asc-devkit template_argument.cpp packs each value's index in its list, LSB first (spec 8.6.7).
OFFSET_KEY_SHIFT = 3
SQRT_KEY_SHIFT = 4
# The kernels (op_kernel/arch35/*_regbase.h, Init): queue depth and the 32-byte UB block.
KERNEL_BUFFERS = 2      # bufferNum_ / bufferNum of every TQue
UB_BLOCK = 32           # this->BLOCK_SIZE: per-tensor scale/offset buffers, NDDMA buffers rounded up to it
# The NDDMA kernels replicate the scale row baseN times in UB (ND-DMA, source stride 0): whole-tile vectors.
BROADCAST_MODES = frozenset({RegbaseMode.PER_CHANNEL_NDDMA, RegbaseMode.PER_HEAD_NDDMA})
# INT4 x (and INT32's INT4 view) is copied as packed bytes (int4x2_t, DIST_UNPACK4_B8 at half the address step,
# docs/spec.md 8.3): a tile starts and ends on a whole byte, an even column.
PACKED_X = (DataType.INT4, DataType.INT32)
PACKED_PAIR = 2

# AscendAntiQuantV2TilingData (op_kernel/arch35/ascend_anti_quant_v2_tilingdata.h): 12 int64, in this order.
TILING_FIELDS = ("numCore", "blockAxis", "dim0", "dim1", "dim2", "blockUnion", "blockFactor", "blockTailFactor",
                 "baseN", "baseLen", "hasOffset", "sqrtMode")
# The member initialisers of AscendAntiQuantV2Regbase (.h), what WriteTilingData writes for fields never computed.
INITIAL_FIELDS = dict(numCore=0, blockAxis=-1, blockUnion=1, blockFactor=-1, blockTailFactor=-1, baseN=1, baseLen=1)


class Sizes(NamedTuple):
    """What the UB formulas read from the call: y's and scale's element bytes, and whether offset exists."""

    y_bytes: int
    scale_bytes: int
    has_offset: bool


def to_bytes(fields) -> bytes:
    """The tiling data as CANN's struct: the 12 fields as little-endian int64, in ``TILING_FIELDS`` order."""
    return struct.pack(f"<{len(TILING_FIELDS)}q", *(fields[k] for k in TILING_FIELDS))


# -- CANN's functions ----------------------------------------------------------------------------------------

def ensure_not_scalar(shape) -> tuple[int, ...]:
    """EnsureXAndScaleNotScalar: a 0-d x or scale is read as ``[1]``."""
    return tuple(int(d) for d in shape) or (1,)


def select_mode(x_shape: tuple[int, ...], scale_shape: tuple[int, ...]) -> int:
    """GetOpParam's ``mode_`` ("check excute mode"): one scale element is PER_TENSOR; a vector scale is
    PER_HEAD when it matches x's second-last axis and that differs from the last, else PER_CHANNEL; a
    multi-dimensional scale is PER_HEAD when its second-last axis is not 1."""
    if math.prod(scale_shape) == 1:
        return RegbaseMode.PER_TENSOR
    if len(scale_shape) == 1:
        per_head = len(x_shape) > 1 and x_shape[-1] != x_shape[-2] and scale_shape[0] == x_shape[-2]
        return RegbaseMode.PER_HEAD if per_head else RegbaseMode.PER_CHANNEL
    return RegbaseMode.PER_HEAD if scale_shape[-2] != 1 else RegbaseMode.PER_CHANNEL


def merge_input_shape(x_shape: tuple[int, ...], mode: int) -> tuple[int, tuple[int, int, int]]:
    """MergeInputShape: (mode, (dim0, dim1, dim2)). PER_TENSOR ``[1, numel, 1]``; PER_HEAD ``[prod(x[:-2]),
    x[-2], x[-1]]``, demoted to PER_CHANNEL (the merged shape kept) when ``x[-1] == 1``; PER_CHANNEL
    ``[prod(x[:-1]), x[-1], 1]``."""
    if mode == RegbaseMode.PER_TENSOR:
        return mode, (1, math.prod(x_shape), 1)
    if mode == RegbaseMode.PER_HEAD:
        dims = (math.prod(x_shape[:-2]), x_shape[-2], x_shape[-1])
        return (RegbaseMode.PER_CHANNEL if dims[2] == 1 else mode), dims
    return mode, (math.prod(x_shape[:-1]), x_shape[-1], 1)


def get_core_num(factor: int, core_num: int) -> int:
    """GetCoreNum: cores used when ``factor`` units are split over ``core_num``, ``ceil(factor / per-core)``."""
    return ceil_div(factor, ceil_div(factor, core_num))


def get_core_num_double_cut(shape0: int, shape1: int, core_num: int) -> int:
    """GetCoreNumDoubleCut: ``shape0`` times the cores one ``shape0`` unit's ``shape1`` gets from
    ``core_num // shape0``; 0 where that is no core."""
    if shape0 == 0 or core_num // shape0 == 0:
        return 0
    return shape0 * get_core_num(shape1, core_num // shape0)


def calc_max_base_len(ub_size: int, s: Sizes, per_tensor: bool, buffers: int = BUFF_NUM) -> int:
    """CalcMaxBaseLen: elements of a one-row tile that fit ``ub_size`` bytes (x, y and, except per tensor,
    scale and offset vectors of the same length, all double-buffered; ``buffers`` in BUFF_NUM's place for our
    experiments)."""
    inputs = QUANT_PARAM_COUNT_WITH_OFFSET if s.has_offset else QUANT_PARAM_COUNT_NO_OFFSET
    total = (X_DTYPE_SIZE + s.scale_bytes * (0 if per_tensor else inputs) + s.y_bytes) * buffers
    return ub_size // total if total else DEFAULT_BASE_LEN


def calc_max_n(ub_size: int, base: int, s: Sizes) -> int:
    """CalcMaxN: rows of ``base`` elements that fit after the scale (and offset) vectors; 1 where none is left."""
    left = ub_size - base * s.scale_bytes * BUFF_NUM * (2 if s.has_offset else 1)
    if left <= 0:
        return 1
    return left // (X_DTYPE_SIZE + s.y_bytes) // base // BUFF_NUM


def calc_per_channel_nddma_max_n(ub_size: int, base: int, s: Sizes) -> int:
    """CalcPerChannelNddmaMaxN: rows of ``base`` elements beyond the first (x, y, and scale/offset replicated
    per row); 1 where none is left."""
    row = base * (X_DTYPE_SIZE + s.y_bytes + s.scale_bytes + (s.scale_bytes if s.has_offset else 0)) * BUFF_NUM
    left = ub_size - row
    return 1 if left <= 0 else left // row


def _tail(extent: int, block_factor: int, cores: int) -> int:
    """``extent - blockFactor * (cores - 1)``, a tail of 0 written as blockFactor (all Calc*BlockFactor)."""
    return extent - block_factor * (cores - 1) or block_factor


def calc_per_tensor_block_factor(size: int, act_core_num: int, shape: int) -> tuple[int, int]:
    """CalcPerTensorBlockFactor: (blockFactor, blockTailFactor) in elements for ``size`` cache lines."""
    block_factor = ceil_div(size, act_core_num) * CACHE_LINE
    return block_factor, _tail(shape, block_factor, act_core_num)


def calc_per_channel_block_factor(size: int, act_core_num: int, block_axis: int, dim1: int) -> tuple[int, int]:
    """CalcPerChannelBlockFactor: (blockFactor, blockTailFactor), rows of ``size`` (blockAxis 0) or columns in
    whole cache lines of ``size`` lines (blockAxis 1)."""
    block_factor = ceil_div(size, act_core_num)
    if block_axis == 0:
        return block_factor, _tail(size, block_factor, act_core_num)
    block_factor *= CACHE_LINE
    return block_factor, _tail(dim1, block_factor, act_core_num)


def calc_per_tensor_ub_factor(block_factor: int, ub_size: int, s: Sizes) -> tuple[int, int]:
    """CalcPerTensorUBFactor(cache line): (baseN, baseLen), one row of whole cache lines."""
    max_base = floor_align(calc_max_base_len(ub_size - RESERVE_UB, s, per_tensor=True), CACHE_LINE)
    return 1, min(ceil_align(block_factor, CACHE_LINE), max_base)


def calc_per_channel_ub_factor(dims, block_axis: int, block_factor: int, ub_size: int,
                               s: Sizes) -> tuple[int, int]:
    """CalcPerChannelUBFactor(cache line): (baseN, baseLen). A core's columns (all of a row on blockAxis 0) in
    one cache-aligned piece and CalcMaxN rows when two such rows fit, else one row in pieces of the UB's
    cache-aligned CalcMaxBaseLen."""
    available = ub_size - RESERVE_UB
    max_base = floor_align(calc_max_base_len(available, s, per_tensor=False), CACHE_LINE)
    block_base = ceil_align(dims[1] if block_axis == 0 else block_factor, CACHE_LINE)
    if block_base <= max_base // HALF_FACTOR:
        rows = block_factor if block_axis == 0 else dims[0]
        return min(calc_max_n(available, block_base, s), rows), block_base
    return 1, min(block_base, max_base)


def calc_per_channel_nddma_ub_factor(dims, block_axis: int, block_factor: int, ub_size: int,
                                     s: Sizes) -> tuple[int, int]:
    """CalcPerChannelNddmaUBFactor: (baseN, baseLen), whole rows (not cache-aligned) gathered into one tile
    when two fit, else one row of at most CalcMaxBaseLen."""
    available = ub_size - RESERVE_UB
    max_base = calc_max_base_len(available, s, per_tensor=False)
    block_base = dims[1] if block_axis == 0 else block_factor
    if block_base <= max_base // HALF_FACTOR:
        rows = block_factor if block_axis == 0 else dims[0]
        return min(calc_per_channel_nddma_max_n(available, block_base, s), rows), block_base
    return 1, min(block_base, max_base)


def calc_per_head_block_factor(dims, block_axis: int, act_core_num: int) -> tuple[int, int, int]:
    """CalcPerHeadBlockFactor: (blockUnion, blockFactor, blockTailFactor). blockAxis 0 splits dim0; 1 gives
    each dim0 index ``blockUnion`` cores over dim1; 2 gives each (dim0, dim1) row ``blockUnion`` cores over
    dim2 in whole cache lines."""
    dim0, dim1, dim2 = dims
    if block_axis == 0:
        block_factor = ceil_div(dim0, act_core_num)
        return 1, block_factor, _tail(dim0, block_factor, act_core_num)
    if block_axis == 1:
        union = act_core_num // dim0
        block_factor = ceil_div(dim1, union)
        return union, block_factor, _tail(dim1, block_factor, union)
    union = act_core_num // dim0 // dim1
    block_factor = ceil_div(ceil_div(dim2, CACHE_LINE), union) * CACHE_LINE
    return union, block_factor, _tail(dim2, block_factor, union)


def _per_head_base(dim1: int, length: int, block_axis: int, block_factor: int, max_base: int) -> tuple[int, int]:
    """The branch CalcPerHeadUBFactor and CalcPerHeadNddmaUBFactor share: (baseN, baseLen) for rows of
    ``length`` under ``max_base`` elements per tile, all ``dim1`` rows of a dim0 index (blockAxis 0) or at most
    a core's ``block_factor`` (blockAxis 1); a row longer than ``max_base`` in pieces of it."""
    if block_axis == 0 and dim1 * length <= max_base:
        return dim1, length
    if length <= max_base:
        return (max_base // length if block_axis == 0 else min(block_factor, max_base // length)), length
    return 1, max_base


def calc_per_head_nddma_ub_factor(dims, block_axis: int, block_factor: int, ub_size: int,
                                  s: Sizes) -> tuple[int, int]:
    """CalcPerHeadNddmaUBFactor (blockAxis 0 or 1): (baseN, baseLen) of whole rows, CalcMaxBaseLen not aligned."""
    max_base = calc_max_base_len(ub_size - RESERVE_UB, s, per_tensor=False)
    return _per_head_base(dims[1], dims[2], block_axis, block_factor, max_base)


def calc_per_head_ub_factor(dims, block_axis: int, block_factor: int, ub_size: int, s: Sizes) -> tuple[int, int]:
    """CalcPerHeadUBFactor(cache line): (baseN, baseLen) with rows padded to whole cache lines; blockAxis 2 one
    row piece of the core's cache-aligned blockFactor, at most the aligned CalcMaxBaseLen."""
    max_base = floor_align(calc_max_base_len(ub_size - RESERVE_UB, s, per_tensor=False), CACHE_LINE)
    if block_axis == 2:
        return 1, min(ceil_align(block_factor, CACHE_LINE), max_base)
    return _per_head_base(dims[1], ceil_align(dims[2], CACHE_LINE), block_axis, block_factor, max_base)


def select_per_head_axis(dims, core_num: int) -> tuple[int, int]:
    """CalcPerHeadTiling's split: (blockAxis, actCoreNum), the axis that uses the most cores, dim0 first; dim2
    only when it is longer than BLOCK_SIZE."""
    dim0, dim1, dim2 = dims
    axis, act = 0, get_core_num(dim0, core_num)
    by_dim1 = get_core_num_double_cut(dim0, dim1, core_num)
    if by_dim1 > act:
        axis, act = 1, by_dim1
    by_dim2 = get_core_num_double_cut(dim0 * dim1, ceil_div(dim2, CACHE_LINE), core_num)
    if by_dim2 > act and dim2 > BLOCK_SIZE:
        axis, act = 2, by_dim2
    return axis, act


def write_tiling_data(dims, s: Sizes, sqrt_mode: bool, **values) -> dict:
    """WriteTilingData: the 12 fields in CANN's order, those not computed at the object's initial values."""
    fields = dict(INITIAL_FIELDS, dim0=dims[0], dim1=dims[1], dim2=dims[2], hasOffset=int(s.has_offset),
                  sqrtMode=int(sqrt_mode), **values)
    return {k: fields[k] for k in TILING_FIELDS}


def calc_per_tensor_tiling(dims, s: Sizes, sqrt_mode: bool, ub_size: int, core_num: int) -> dict:
    """CalcTiling's PER_TENSOR branch: the flattened x split over cores in cache lines."""
    shape = dims[1]
    lines = ceil_div(shape, CACHE_LINE)
    act = get_core_num(lines, core_num)
    block_factor, tail = calc_per_tensor_block_factor(lines, act, shape)
    base_n, base_len = calc_per_tensor_ub_factor(block_factor, ub_size, s)
    return write_tiling_data(dims, s, sqrt_mode, numCore=act, blockAxis=1, blockFactor=block_factor,
                             blockTailFactor=tail, baseN=base_n, baseLen=base_len)


def calc_per_channel_tiling(dims, s: Sizes, sqrt_mode: bool, ub_size: int, core_num: int) -> tuple[int, dict]:
    """CalcTiling's PER_CHANNEL branch: rows (blockAxis 0) or cache lines of columns (1), whichever uses more
    cores, rows on a tie; a row shorter than LAST_DIM_NUM split by rows takes PER_CHANNEL_NDDMA."""
    dim0, dim1 = dims[0], dims[1]
    lines = ceil_div(dim1, CACHE_LINE)
    by_rows, by_lines = get_core_num(dim0, core_num), get_core_num(lines, core_num)
    axis = 0 if by_rows >= by_lines else 1
    act = max(by_rows, by_lines)
    block_factor, tail = calc_per_channel_block_factor(dim0 if axis == 0 else lines, act, axis, dim1)
    if dim1 < LAST_DIM_NUM and axis == 0:
        mode, factor = RegbaseMode.PER_CHANNEL_NDDMA, calc_per_channel_nddma_ub_factor
    else:
        mode, factor = RegbaseMode.PER_CHANNEL, calc_per_channel_ub_factor
    base_n, base_len = factor(dims, axis, block_factor, ub_size, s)
    return mode, write_tiling_data(dims, s, sqrt_mode, numCore=act, blockAxis=axis, blockFactor=block_factor,
                                   blockTailFactor=tail, baseN=base_n, baseLen=base_len)


def calc_per_head_tiling(dims, s: Sizes, sqrt_mode: bool, ub_size: int, core_num: int) -> tuple[int, dict]:
    """CalcPerHeadTiling: split dim0, dim1 or dim2 (``select_per_head_axis``); a last axis shorter than
    LAST_DIM_NUM split on dim0 or dim1 takes PER_HEAD_NDDMA."""
    axis, act = select_per_head_axis(dims, core_num)
    union, block_factor, tail = calc_per_head_block_factor(dims, axis, act)
    if dims[2] < LAST_DIM_NUM and axis in (0, 1):
        mode, factor = RegbaseMode.PER_HEAD_NDDMA, calc_per_head_nddma_ub_factor
    else:
        mode, factor = RegbaseMode.PER_HEAD, calc_per_head_ub_factor
    base_n, base_len = factor(dims, axis, block_factor, ub_size, s)
    return mode, write_tiling_data(dims, s, sqrt_mode, numCore=act, blockAxis=axis, blockUnion=union,
                                   blockFactor=block_factor, blockTailFactor=tail, baseN=base_n,
                                   baseLen=base_len)


def calc_tiling(mode: int, dims, s: Sizes, sqrt_mode: bool, ub_size: int, core_num: int) -> tuple[int, dict]:
    """CalcTiling: (the mode it ends in, tiling data) for the merged ``dims`` of ``mode``."""
    if mode == RegbaseMode.PER_TENSOR:
        return mode, calc_per_tensor_tiling(dims, s, sqrt_mode, ub_size, core_num)
    if mode == RegbaseMode.PER_CHANNEL:
        return calc_per_channel_tiling(dims, s, sqrt_mode, ub_size, core_num)
    return calc_per_head_tiling(dims, s, sqrt_mode, ub_size, core_num)


def tiling_key(mode: int, has_offset: bool, sqrt_mode: bool) -> int:
    """CalcTilingKey: ``mode + 8 * hasOffset + 16 * sqrtMode``."""
    return mode | int(has_offset) << OFFSET_KEY_SHIFT | int(sqrt_mode) << SQRT_KEY_SHIFT


def calc_tiling_key(mode: int, p: Problem) -> int:
    """``tiling_key`` of a ``Problem``, as ``strategies.HostTiling`` calls it."""
    return tiling_key(mode, p.has_offset, p.sqrt_mode)


# -- What the kernels derive from the tiling data ---------------------------------------------------------------

def _per_head(mode: int) -> bool:
    return mode in (RegbaseMode.PER_HEAD, RegbaseMode.PER_HEAD_NDDMA)


def tile_view(mode: int, dims) -> tuple[int, int]:
    """The ``[rows, columns]`` view tiles are cut from: per head ``[dim0 * dim1, dim2]``, else ``[dim0, dim1]``."""
    return (dims[0] * dims[1], dims[2]) if _per_head(mode) else (dims[0], dims[1])


def scale_use(mode: int, dims) -> ScaleUse:
    """The scale element of each view element (``ScaleUse``)."""
    if mode == RegbaseMode.PER_TENSOR:
        return ScaleUse("none", 1)
    return ScaleUse("rows", dims[1]) if _per_head(mode) else ScaleUse("columns", dims[1])


def _column_outer(core: int, r0: int, r1: int, c0: int, c1: int, base_n: int, base_len: int) -> list[tuple]:
    """A core's rectangle as the per-channel kernels walk it: column pieces of ``base_len`` outside (scale and
    offset loaded once per piece), row bands of ``base_n`` inside; one grid where either loop runs once."""
    if r1 - r0 <= base_n or c1 - c0 <= base_len:
        return [tiles.grid(core, r0, r1, c0, c1, base_n, base_len)]
    return [tiles.grid(core, r0, r1, c, min(c + base_len, c1), base_n, base_len) for c in range(c0, c1, base_len)]


def _block_lengths(f, per_head: bool) -> list[int]:
    """Each core's share of the split axis: blockFactor, the last core (of each blockUnion group on per-head
    blockAxis 1 and 2) blockTailFactor."""
    group = f["blockUnion"] if per_head and f["blockAxis"] in (1, 2) else f["numCore"]
    return [f["blockTailFactor"] if c % group == group - 1 else f["blockFactor"] for c in range(f["numCore"])]


def _per_head_grids(f) -> list[tuple]:
    """The per-head kernels' split of the ``[dim0 * dim1, dim2]`` view (ParseCoreBlocks, Process). Row bands of
    baseN never cross a dim0 index (their scale values are contiguous), so on blockAxis 0 a core's grid restarts
    its bands at every dim0 index (a repeat per index) unless baseN divides dim1."""
    dim1, dim2, bf, union = f["dim1"], f["dim2"], f["blockFactor"], f["blockUnion"]
    base_n, base_len = f["baseN"], f["baseLen"]
    out = []
    for core, length in enumerate(_block_lengths(f, True)):
        if f["blockAxis"] == 0:
            r0 = core * bf * dim1
            if dim1 % base_n == 0:
                out.append(tiles.grid(core, r0, r0 + length * dim1, 0, dim2, base_n, base_len))
            else:
                out.append(tiles.grid(core, r0, r0 + dim1, 0, dim2, base_n, base_len, reps=length, stride=dim1))
        elif f["blockAxis"] == 1:
            r0 = core // union * dim1 + core % union * bf
            out.append(tiles.grid(core, r0, r0 + length, 0, dim2, base_n, base_len))
        else:
            d0 = core % union * bf
            out.append(tiles.grid(core, core // union, core // union + 1, d0, d0 + length, 1, base_len))
    return out


def kernel_grids(mode: int, f) -> np.ndarray:
    """Each core's tiles as the arch35 kernel for ``mode`` walks them, as grids (``tiles``) of ``tile_view``.

    PER_TENSOR: core ``c`` runs elements ``[c * blockFactor, +len)`` of the single row in pieces of baseLen.
    PER_CHANNEL(_NDDMA): rows (blockAxis 0) or columns (1) ``[c * blockFactor, +len)``, column pieces outside,
    row bands inside. PER_HEAD(_NDDMA): see ``_per_head_grids``. ``len`` is blockTailFactor on the last core.
    """
    base_n, base_len, bf = f["baseN"], f["baseLen"], f["blockFactor"]
    if _per_head(mode):
        return tiles.grids(_per_head_grids(f))
    out = []
    for core, length in enumerate(_block_lengths(f, False)):
        if mode == RegbaseMode.PER_TENSOR:
            out.append(tiles.grid(core, 0, 1, core * bf, core * bf + length, 1, base_len))
        elif f["blockAxis"] == 0:
            out += _column_outer(core, core * bf, core * bf + length, 0, f["dim1"], base_n, base_len)
        else:
            out += _column_outer(core, 0, f["dim0"], core * bf, core * bf + length, base_n, base_len)
    return tiles.grids(out)


def kernel_ub_map(mode: int, f, s: Sizes,
                  buffers: int = KERNEL_BUFFERS) -> tuple[tuple[str, int, int, int], ...]:
    """``(name, offset, nbytes, slots)`` of each kernel's Init, in its order: x, scale, offset, y, each a queue of
    KERNEL_BUFFERS slots (``buffers`` for our experiments). x is ``baseN * baseLen`` bytes (int4 too: its copy type is uint8), y ``baseN * baseLen``
    of y; scale/offset one UB block per tensor, baseLen per channel, baseN per head, and ``baseN * baseLen``
    (replicated by ND-DMA) in the NDDMA kernels. Buffers start on 32-byte boundaries (TPipe's placement,
    INFERRED; the NDDMA kernels round their sizes up to it themselves)."""
    tile = f["baseN"] * f["baseLen"]
    vector = {RegbaseMode.PER_TENSOR: UB_BLOCK, RegbaseMode.PER_CHANNEL: f["baseLen"] * s.scale_bytes,
              RegbaseMode.PER_HEAD: f["baseN"] * s.scale_bytes}.get(mode, tile * s.scale_bytes)
    names = ("scale", "offset") if s.has_offset else ("scale",)
    sizes = [("x", tile * X_DTYPE_SIZE, buffers)]
    sizes += [(name, vector, buffers) for name in names]
    sizes.append(("y", tile * s.y_bytes, buffers))
    return ub.layout(sizes)


# -- The whole tiling ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class RegbaseTiling:
    """One arch35 host tiling: CANN's mode, tiling data (``TILING_FIELDS`` order), key, launch and workspace, and
    what the kernel makes of it: its tiles (``grids`` over ``view``; ``tile_table``), ``scale`` (which scale
    element a view element uses) and ``ub_map``. ``dims``, ``tile_table`` and ``block_dim`` are those of a
    ``TilePlan`` (build one with ``view=`` and ``scale=``), so tile checks walk either."""

    mode: int
    tiling_data: dict
    tiling_key: int
    block_dim: int
    workspace_size: int
    view: tuple[int, int]
    scale: ScaleUse
    ub_map: tuple[tuple[str, int, int, int], ...]
    grids: np.ndarray = dataclasses.field(repr=False)

    def to_bytes(self) -> bytes:
        return to_bytes(self.tiling_data)

    @property
    def dims(self) -> tuple[int, int]:
        return self.view

    @property
    def ub_bytes(self) -> int:
        return ub.peak(self.ub_map)

    @functools.cached_property
    def tile_table(self) -> np.ndarray:
        return tiles.table(self.grids)


def _calc(x_shape, scale_shape, s: Sizes, sqrt_mode: bool, core_num: int, ub_size: int) -> tuple[int, dict]:
    """GetCompileInfo's and GetOpParam's refusals, then MergeInputShape and CalcTiling: (mode, tiling data)."""
    if core_num <= 0 or ub_size <= 0:
        raise ValueError(f"platform: expected vector cores and UB bytes above 0, got {core_num} and {ub_size}")
    x_shape, scale_shape = ensure_not_scalar(x_shape), ensure_not_scalar(scale_shape)
    if math.prod(x_shape) == 0:
        raise ValueError("x_shape: CANN's arch35 tiling does not plan an empty tensor (the op returns before it)")
    mode, dims = merge_input_shape(x_shape, select_mode(x_shape, scale_shape))
    return calc_tiling(mode, dims, s, sqrt_mode, ub_size, core_num)


def regbase_tiling(x_shape, scale_shape, scale_bytes: int, has_offset: bool, sqrt_mode: bool, y_dtype,
                   core_num: int, ub_size: int) -> RegbaseTiling:
    """DoAscendAntiQuantV2Tiling for a call validation has accepted: the tiling's ``x_shape`` (the INT4 view of
    an INT32 x), ``scale_shape`` (offset has the same), scale's element bytes (FLOAT 4, BF16 2), y's dtype
    (FLOAT16 or BF16), and the platform's vector cores and UB bytes.

    The launch takes every vector core (``SetBlockDim(coreNum_)``); cores from numCore on return at once.
    Raises ValueError where CANN's tiling fails before planning: no cores or UB (GetCompileInfo), an empty x
    (GetOpParam).
    """
    s = Sizes(Y_DTYPE_SIZES[DataType(y_dtype)], int(scale_bytes), bool(has_offset))
    mode, fields = _calc(x_shape, scale_shape, s, sqrt_mode, core_num, ub_size)
    return RegbaseTiling(mode, fields, tiling_key(mode, s.has_offset, sqrt_mode), core_num, SYNC_WORKSPACE_SIZE,
                         plan_view(mode, fields), plan_scale(mode, fields), kernel_ub_map(mode, fields, s),
                         kernel_grids(mode, fields))


def empty_tiling(p: Problem) -> tuple[int, dict]:
    """An empty x, which the op returns for before tiling (no kernel): the mode GetOpParam's rules give and
    tiling data of the object's initial values on the merged shape."""
    x_shape = ensure_not_scalar(p.shape)
    mode, dims = merge_input_shape(x_shape, select_mode(x_shape, ensure_not_scalar(p.scale_dims)))
    return mode, write_tiling_data(dims, sizes(p), p.sqrt_mode)


# -- For a Problem: the pieces strategies.HostTiling runs on an arch35 platform ------------------------------------

def sizes(p: Problem) -> Sizes:
    """What the UB formulas read from a ``Problem`` (y is 2 bytes: CheckAttrs allows FLOAT16 and BF16 only)."""
    return Sizes(p.y_bytes, p.scale_bytes, p.has_offset)


def host_tiling(p: Problem, ub_size: int, core_num: int, buffers: int = BUFF_NUM) -> tuple[int, dict, tuple]:
    """``regbase_tiling``'s mode and tiling data for a ``Problem`` (its ``scale_dims``), then ``corrections``:
    (mode, tiling data, notes). Raises ValueError for ``buffers`` other than the kernels' 2, and where
    ``ub_size`` leaves no room for a tile."""
    if buffers != BUFF_NUM:
        raise ValueError(f"buffers: the arch35 kernels' queues hold {BUFF_NUM} buffers, got {buffers}")
    mode, fields = _calc(p.shape, p.scale_dims, sizes(p), p.sqrt_mode, core_num, ub_size)
    fields, notes = corrections(fields, p)
    if fields["baseLen"] < 1:
        raise ValueError(f"ub_budget: {ub_size} bytes leave no room for a cann tile of this problem "
                         f"(baseLen comes to {fields['baseLen']}); raise ub_budget")
    return mode, fields, notes


def corrections(fields: dict, p: Problem) -> tuple[dict, tuple[str, ...]]:
    """The one change the kernels need, with a note saying what CANN computed.

    - Half a byte: an int4 x (INT32's INT4 view too) is copied in packed pairs (``PACKED_X``), so its tiles
      must start and end on even columns. CANN's baseLen is a multiple of CACHE_LINE or the (even) last axis,
      except where it is the unaligned CalcMaxBaseLen (an NDDMA row longer than that, baseN 1): odd only when
      that is below 127 (the row is shorter than LAST_DIM_NUM), under 4,842 bytes of UB (ubSize - 2048 < 127 *
      22, 22 the largest bytes per element). We round it down to even.
    """
    fields, notes = dict(fields), []
    if p.x_dtype in PACKED_X and fields["baseLen"] % PACKED_PAIR:
        even = floor_align(fields["baseLen"], PACKED_PAIR)
        notes.append(f"CANN's plan gives baseLen {fields['baseLen']}, which would split a packed int4 byte; "
                     f"corrected to {even}")
        fields["baseLen"] = even
    return fields, tuple(notes)


def tiling_data(p: Problem, dims, **values) -> dict:
    """WriteTilingData for a ``Problem`` and merged ``dims`` (our experiments' fields in CANN's order)."""
    return write_tiling_data(dims, sizes(p), p.sqrt_mode, **values)


def _dims(fields) -> tuple[int, int, int]:
    return fields["dim0"], fields["dim1"], fields["dim2"]


def plan_view(mode: int, fields) -> tuple[int, int]:
    """``tile_view`` of the tiling data's merged shape."""
    return tile_view(mode, _dims(fields))


def plan_scale(mode: int, fields) -> ScaleUse:
    """``scale_use`` of the tiling data's merged shape."""
    return scale_use(mode, _dims(fields))


def plan_ub_map(p: Problem, mode: int, fields, grids: np.ndarray, buffers: int) -> tuple:
    """``kernel_ub_map``: the kernels allocate their queues from baseN and baseLen, whatever the tiles."""
    return kernel_ub_map(mode, fields, sizes(p), buffers)


def launch_block_dim(fields, core_num: int) -> int:
    """The launch's block dim: every vector core (``SetBlockDim(coreNum_)``); cores from numCore on return at
    once, so they have no tiles."""
    return core_num


def workspace_size(platform) -> int:
    """The workspace the tiling requests: its one entry, SYNC_WORKSPACE_SIZE."""
    return SYNC_WORKSPACE_SIZE


def tile_capacity(p: Problem, ub_size: int, mode: int, buffers: int) -> int:
    """CalcMaxBaseLen of what is left after reserveUb: elements of a one-row tile (our experiments' tile size)."""
    return calc_max_base_len(ub_size - RESERVE_UB, sizes(p), mode == RegbaseMode.PER_TENSOR, buffers)


def experiment_shape(p: Problem, flat: bool) -> tuple[int, tuple[int, int, int], tuple[int, int]]:
    """(mode, merged dims, view) of the kernels our experiments run: GetOpParam's mode on MergeInputShape's
    dims (a per-head candidate with ``x[-1] == 1`` demoted), never NDDMA; per tensor y as rows of its last axis
    (as PER_CHANNEL merges) unless ``flat``."""
    x_shape = ensure_not_scalar(p.shape)
    mode = select_mode(x_shape, ensure_not_scalar(p.scale_dims))
    if mode == RegbaseMode.PER_TENSOR and not flat:
        dims = merge_input_shape(x_shape, RegbaseMode.PER_CHANNEL)[1]
    else:
        mode, dims = merge_input_shape(x_shape, mode)
    return mode, dims, tile_view(mode, dims)


def _band_rows(mode: int, f) -> int | None:
    """The most rows one of the kernel's row bands takes, as CANN caps baseN: a core's rows (blockFactor), all
    rows (per channel on blockAxis 1) or a head group's dim1 (per head on blockAxis 0); None where tiles are
    single rows (per tensor, per head on blockAxis 2)."""
    axis = f["blockAxis"]
    if mode == RegbaseMode.PER_TENSOR or (_per_head(mode) and axis == 2):
        return None
    if _per_head(mode):
        return f["dim1"] if axis == 0 else f["blockFactor"]
    return f["blockFactor"] if axis == 0 else f["dim0"]


def with_tile_shape(mode: int, fields: dict, base_n: int | None,
                    base_len: int | None) -> tuple[dict, tuple[str, ...]]:
    """A user's baseN / baseLen (None: CANN's) in CANN's fields, baseN at most ``_band_rows``; single-row tiles
    take no baseN."""
    fields, notes = dict(fields), []
    if base_n is not None:
        rows = _band_rows(mode, fields)
        if rows is None:
            notes.append("base_n ignored: this plan's tiles are single rows")
        else:
            fields["baseN"] = min(base_n, rows)
    if base_len is not None:
        fields["baseLen"] = base_len
    return fields, tuple(notes)
