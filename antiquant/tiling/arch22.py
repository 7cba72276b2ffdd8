"""CANN's host tiling for Atlas A2 (arch22), function by function (docs/spec.md section 7).

Mirrors ``AscendAntiQuantV2Base`` in hicann/ops-nn
``experimental/quant/ascend_anti_quant_v2/op_host/ascend_anti_quant_v2_base_tiling.cpp``: each member function
that shapes the plan is a pure function here, under its CANN name in the docstring, taking what the C++ reads
from the object and returning what it writes. ``host_tiling`` runs them as ``DoAscendAntiQuantV2Tiling`` does;
the functions after it say what the arch22 kernels derive from the tiling data (tiles, view, scale use, UB map,
launch), as ``strategies.HostTiling`` names them.

Our parameters enter CANN's formulas where CANN has constants: ``ub_size`` is the UB budget (CANN: the
platform's UB) and ``buffers`` replaces BUFF_NUM in every formula that uses it (CalcMaxBaseLen, CalcMaxN).
Where that leaves a plan CANN never makes, an adaptation (marked "Adaptation") keeps it valid and notes it.
Where CANN's own plan is wrong, ``corrections`` repairs it: that is the only place that changes CANN's fields.
"""

from __future__ import annotations

import math

import numpy as np

from . import tiles, ub
from .problem import Mode, Problem, ScaleUse

__all__ = ["TILING_FIELDS", "BUFF_NUM", "BROADCAST_MODES", "host_tiling", "empty_tiling", "select_mode", "calc_tiling",
           "calc_tiling_key", "corrections", "calc_max_base_len", "tiling_data", "ceil_div", "ceil_align",
           "floor_align", "kernel_grids", "plan_view", "plan_scale", "plan_ub_map", "launch_block_dim",
           "workspace_size", "tile_capacity", "experiment_shape", "with_tile_shape"]

# -- Constants, each from ascend_anti_quant_v2_base_tiling.cpp / .h unless it says otherwise -----------------
GM_BLOCK_SIZE = 512     # GM_BLOCK_SIZE_910B (gmBlockSize_): PER_TENSOR splits x in GM blocks of 512 B
X_DTYPE_SIZE = 1        # ge::GetSizeByDataType(DT_INT8): CANN sizes x as int8 everywhere, int4 included
GM_BLOCK_ELEMS = GM_BLOCK_SIZE // X_DTYPE_SIZE      # "gmBlockSize_ / dtypeSize": x elements per GM block
RESERVE_UB = 2048       # reserveUb_: UB bytes CANN keeps back
PER_TENSOR_UB = 1024    # CalcTiling, CalcPerTensorUBFactor: "ubSize_ - reserveUb_ - 1024; // scale,offset"
CACHE_LINE = 64 // X_DTYPE_SIZE     # CalcPerChannelBlockFactor: numPerCache = 64 / dtypeSize
REPEAT_SIZE = 64        # repeatSize_: CalcPerChannelUBFactor aligns rows to this many elements
ROW_NDDMA_TH = 1024     # rowNdDmaTh: a row this long or shorter, with an offset, takes the NDDMA path
NDDMA_ELEMS = 4096      # CalcTiling: "baseN_ = 4096 / shape1", elements one NDDMA tile gathers
BUFF_NUM = 2            # BUFF_NUM: x and y tiles are double-buffered
FLOAT_SIZE = 4          # sizeof(float): the float32 intermediate, and BF16 scale/offset's float32 copies
HALF_SIZE = 2           # sizeof(int16_t): the half intermediate of int8/int4 -> float
MIN_FACTOR_STEP = 2     # CalcTiling: "minFactor = minFactor / 2 * 2", an even number of GM blocks per core
# CalcMaxN reserves per row element, "for the mode that needs the most UB" (its comment), NDDMA's buffers:
NDDMA_TMP_FLOATS = 2    # "2 * base * sizeof(float)": tmpBuf when scale and offset are BF16
NDDMA_FP32_FLOATS = 3   # "3 * base * sizeof(float)": fp32Buf (floatX, floats_b, floato_b)
NDDMA_FP16_HALVES = 1   # "base * sizeof(int16_t)": fp16Buf (int8/int4 -> half)
MAX_N_DIVISOR = 2       # CalcMaxN's last "/ 2" (uncommented in CANN)
# CalcTilingKey, GET_TPL_TILING_KEY(mode_, zeroPointType, sqrtMode): the mode in bits 0-1, then the flags
OFFSET_KEY_BIT = 2
SQRT_KEY_BIT = 3

# The NDDMA kernel gathers baseN rows into one run of baseLenEx and broadcasts scale/offset to its length.
BROADCAST_MODES = frozenset({Mode.PER_CHANNEL_NDDMA})

# AscendAntiQuantV2TilingData (op_kernel/arch22/ascend_anti_quant_v2_tilingdata.h): 14 int64, in this order.
TILING_FIELDS = ("numCore", "blockAxis", "dim0", "dim1", "dim2", "blockUnion", "blockFactor", "blockTailFactor",
                 "baseN", "lcmN", "baseLen", "baseLenEx", "hasOffset", "sqrtMode")


def ceil_div(a: int, b: int) -> int:
    """Ops::Base::CeilDiv."""
    return -(-a // b)


def ceil_align(a: int, b: int) -> int:
    """Ops::Base::CeilAlign."""
    return ceil_div(a, b) * b


def floor_align(a: int, b: int) -> int:
    """Ops::Base::FloorAlign."""
    return a // b * b


# -- CANN's functions ----------------------------------------------------------------------------------------

def select_mode(p: Problem) -> int:
    """GetOpParam's ``mode_`` (a scale of one element: PER_TENSOR), then CalcTiling's switch to
    PER_CHANNEL_NDDMA for rows of at most ``rowNdDmaTh`` with an offset (before its fallback)."""
    if p.per_tensor:
        return Mode.PER_TENSOR
    return Mode.PER_CHANNEL_NDDMA if p.has_offset and p.last <= ROW_NDDMA_TH else Mode.PER_CHANNEL


def merge_input_shape(p: Problem, mode: int) -> tuple[int, int]:
    """MergeInputShape: PER_TENSOR merges everything into ``[1, numel]``, the others into ``[numel / last,
    last]`` (its third dimension is always 1: ``dim2``)."""
    return p.flat_view if mode == Mode.PER_TENSOR else p.rows_view


def get_core_num_with_min_factor(factor: int, core_num: int, min_factor: int) -> int:
    """GetCoreNumWithMinFactor: cores for ``factor`` units when each takes at least ``min_factor``; 0 (CANN
    logs an error) for a ``min_factor`` below 1."""
    if factor <= 0 or core_num <= 0 or min_factor <= 0:
        return 0
    return ceil_div(factor, max(min_factor, ceil_div(factor, core_num)))


def _scale_inputs(p: Problem, mode: int) -> int:
    """CalcMaxBaseLen's ``baseInput``: per-column UB vectors, none per tensor, else scale (and offset)."""
    return 0 if mode == Mode.PER_TENSOR else (2 if p.has_offset else 1)


def calc_max_base_len(ub_size: int, p: Problem, mode: int, buffers: int = BUFF_NUM) -> int:
    """CalcMaxBaseLen: elements of a one-row tile that fit ``ub_size`` bytes."""
    inputs = _scale_inputs(p, mode)
    bf16_copy = 0 if p.scale_bytes == FLOAT_SIZE else 1       # tmpInput: BF16 scale/offset get float32 copies
    total = ((X_DTYPE_SIZE + p.y_bytes) * buffers + p.scale_bytes * inputs + FLOAT_SIZE + HALF_SIZE
             + FLOAT_SIZE * inputs * bf16_copy)
    return ub_size // total


def calc_max_n(ub_size: int, base: int, p: Problem, buffers: int = BUFF_NUM) -> int:
    """CalcMaxN: rows of ``base`` elements per tile, after the scale/offset slots and NDDMA's temporaries."""
    vectors = 2 if p.has_offset else 1
    left = ub_size - base * p.scale_bytes * buffers * vectors
    left -= base * (NDDMA_TMP_FLOATS * FLOAT_SIZE + NDDMA_FP32_FLOATS * FLOAT_SIZE + NDDMA_FP16_HALVES * HALF_SIZE)
    if left <= 0:
        return 1
    return left // (X_DTYPE_SIZE + p.y_bytes) // base // buffers // MAX_N_DIVISOR


def calc_per_tensor_block_factor(size: int, act_core_num: int, shape: int) -> tuple[int, int]:
    """CalcPerTensorBlockFactor: (blockFactor, blockTailFactor) in elements for ``size`` GM blocks; a tail
    of 0 becomes blockFactor."""
    block_factor = ceil_div(size, act_core_num) * GM_BLOCK_ELEMS
    tail = shape - block_factor * (act_core_num - 1)
    return block_factor, tail or block_factor


def calc_per_channel_block_factor(size: int, dim1: int, ub_size: int, core_num: int, p: Problem,
                                  buffers: int = BUFF_NUM) -> tuple[int, int, int]:
    """CalcPerChannelBlockFactor (blockAxis 0, the only axis CANN splits per channel): (actCoreNum,
    blockFactor, blockTailFactor) for ``size`` rows, as many rows per core as one UB tile holds, at least one;
    a tail of 0 becomes blockFactor. (CalcTiling's GetCoreNum before it is overwritten here, so not repeated.)"""
    max_base = floor_align(calc_max_base_len(ub_size - RESERVE_UB, p, Mode.PER_CHANNEL, buffers), CACHE_LINE)
    aligned = ceil_align(dim1, CACHE_LINE)
    rows_per_core = max(1, max_base // aligned) if aligned > 0 else 1
    act_core_num = max(1, min(ceil_div(size, rows_per_core), core_num))
    block_factor = ceil_div(size, act_core_num)
    tail = size - block_factor * (act_core_num - 1)
    return act_core_num, block_factor, tail or block_factor


def calc_per_tensor_ub_factor(block_factor: int, ub_size: int, p: Problem,
                              buffers: int = BUFF_NUM) -> tuple[int, int]:
    """CalcPerTensorUBFactor(numPerCache = a GM block): (baseN, baseLen), one row of whole GM blocks."""
    available = ub_size - RESERVE_UB - PER_TENSOR_UB
    max_base = floor_align(calc_max_base_len(available, p, Mode.PER_TENSOR, buffers), GM_BLOCK_ELEMS)
    return 1, min(ceil_align(block_factor, GM_BLOCK_ELEMS), max_base)


def calc_per_channel_ub_factor(dim1: int, block_factor: int, ub_size: int, p: Problem,
                               buffers: int = BUFF_NUM) -> tuple[int, int]:
    """CalcPerChannelUBFactor(repeatSize_), blockAxis 0: (baseN, baseLen). Whole rows (CalcMaxN of them) when
    at least two fit, else one row in column tiles as long as CalcMaxBaseLen allows."""
    available = ub_size - RESERVE_UB
    max_base = floor_align(calc_max_base_len(available, p, Mode.PER_CHANNEL, buffers), REPEAT_SIZE)
    block_base = ceil_align(dim1, REPEAT_SIZE)
    if block_base <= max_base // 2:
        return min(calc_max_n(available, block_base, p, buffers), block_factor), block_base
    return 1, min(block_base, max_base)


def tiling_data(p: Problem, dims: tuple[int, int], **values) -> dict:
    """WriteTilingData: the 14 fields for the ``[dim0, dim1]`` view ``dims``, those not computed at the value
    CANN initialises them to (1)."""
    dim0, dim1 = dims
    fields = dict.fromkeys(TILING_FIELDS, 1)
    fields.update(dim0=dim0, dim1=dim1, hasOffset=int(p.has_offset), sqrtMode=int(p.sqrt_mode), **values)
    return fields


def calc_per_tensor_tiling(p: Problem, ub_size: int, core_num: int, buffers: int) -> tuple[dict, tuple[str, ...]]:
    """CalcTiling's PER_TENSOR branch: the flattened view split over cores in GM blocks."""
    dims = merge_input_shape(p, Mode.PER_TENSOR)
    shape = dims[1]
    gm_block_num = ceil_div(shape, GM_BLOCK_ELEMS)
    min_factor = (calc_max_base_len(ub_size - RESERVE_UB - PER_TENSOR_UB, p, Mode.PER_TENSOR, buffers)
                  // GM_BLOCK_ELEMS // MIN_FACTOR_STEP * MIN_FACTOR_STEP)
    act_core_num, notes = _cores_under_small_budget(gm_block_num, core_num, min_factor, ub_size)
    block_factor, tail = calc_per_tensor_block_factor(gm_block_num, act_core_num, shape)
    base_n, base_len = calc_per_tensor_ub_factor(block_factor, ub_size, p, buffers)
    return tiling_data(p, dims, numCore=act_core_num, blockAxis=1, blockFactor=block_factor, blockTailFactor=tail,
                       baseN=base_n, baseLen=base_len), notes


def calc_per_channel_tiling(p: Problem, ub_size: int, core_num: int, buffers: int,
                            **kept) -> tuple[dict, tuple[str, ...]]:
    """CalcTiling's PER_CHANNEL branch (also the NDDMA fallback, which ``kept`` its lcmN): rows over cores."""
    dim0, dim1 = merge_input_shape(p, Mode.PER_CHANNEL)
    act_core_num, block_factor, tail = calc_per_channel_block_factor(dim0, dim1, ub_size, core_num, p, buffers)
    base_n, base_len = calc_per_channel_ub_factor(dim1, block_factor, ub_size, p, buffers)
    base_n, notes = _rows_that_fit(p, base_n, min(base_len, dim1), ub_size, buffers)
    return tiling_data(p, (dim0, dim1), numCore=act_core_num, blockAxis=0, blockFactor=block_factor,
                       blockTailFactor=tail, baseN=base_n, baseLen=base_len, **kept), notes


def calc_per_channel_nddma_tiling(p: Problem, ub_size: int, core_num: int,
                                  buffers: int) -> tuple[dict | None, dict, tuple[str, ...]]:
    """CalcTiling's PER_CHANNEL_NDDMA branch: tiles of ``4096 // dim1`` rows gathered into one. Returns
    (fields, {}, notes), or where that leaves one row per tile (CANN falls back to PER_CHANNEL) (None, the
    field CANN has already written and keeps: lcmN, notes)."""
    dim0, dim1 = merge_input_shape(p, Mode.PER_CHANNEL_NDDMA)
    base_n = NDDMA_ELEMS // dim1
    lcm_n = math.lcm(dim1, REPEAT_SIZE) // dim1
    act_core_num = min(ceil_div(dim0, base_n), core_num)
    block_factor = ceil_div(dim0, act_core_num)
    act_core_num = max(1, ceil_div(dim0, block_factor))
    tail = dim0 - block_factor * (act_core_num - 1)
    base_n, notes = _nddma_rows_that_fit(p, min(base_n, block_factor), dim1, ub_size, buffers)
    if base_n <= 1:
        return None, dict(lcmN=lcm_n), notes
    return tiling_data(p, (dim0, dim1), numCore=act_core_num, blockAxis=0, blockFactor=block_factor,
                       blockTailFactor=tail, baseN=base_n, lcmN=lcm_n, baseLen=ceil_align(dim1, REPEAT_SIZE),
                       baseLenEx=ceil_align(base_n * dim1, REPEAT_SIZE)), {}, notes


def calc_tiling(p: Problem, ub_size: int, core_num: int, buffers: int = BUFF_NUM) -> tuple[int, dict, tuple]:
    """CalcTiling: (mode, tiling data, notes of adaptations), CANN's fields uncorrected."""
    mode = select_mode(p)
    if mode == Mode.PER_TENSOR:
        return (mode, *calc_per_tensor_tiling(p, ub_size, core_num, buffers))
    notes, kept = (), {}
    if mode == Mode.PER_CHANNEL_NDDMA:
        fields, kept, notes = calc_per_channel_nddma_tiling(p, ub_size, core_num, buffers)
        if fields is not None:
            return mode, fields, notes
    fields, more = calc_per_channel_tiling(p, ub_size, core_num, buffers, **kept)
    return Mode.PER_CHANNEL, fields, notes + more


def calc_tiling_key(mode: int, p: Problem) -> int:
    """CalcTilingKey: the layout mode, then the hasOffset (zeroPointType) and sqrtMode flags."""
    return mode | int(p.has_offset) << OFFSET_KEY_BIT | int(p.sqrt_mode) << SQRT_KEY_BIT


def empty_tiling(p: Problem) -> tuple[int, dict]:
    """An empty x, which CANN's op returns for before tiling (no kernel): the mode ``select_mode`` picks and
    tiling data of no cores."""
    mode = select_mode(p)
    dims = merge_input_shape(p, mode) if p.last else (0, 0)
    return mode, tiling_data(p, dims, numCore=0, blockFactor=0, blockTailFactor=0)


def host_tiling(p: Problem, ub_size: int, core_num: int, buffers: int = BUFF_NUM) -> tuple[int, dict, tuple]:
    """DoAscendAntiQuantV2Tiling's CalcTiling, then ``corrections``: (mode, tiling data, notes).

    Raises ValueError where ``ub_size`` (a user's budget) leaves no room for a tile.
    """
    mode, fields, notes = calc_tiling(p, ub_size, core_num, buffers)
    fields, fixed = corrections(fields)
    if fields["baseLen"] < 1:
        raise ValueError(f"ub_budget: {ub_size} bytes leave no room for a cann tile of this problem "
                         f"(baseLen comes to {fields['baseLen']}); raise ub_budget or lower buffers")
    notes += fixed
    if buffers != BUFF_NUM:
        notes += (f"CANN's BUFF_NUM {BUFF_NUM} replaced by {buffers} buffers in its UB formulas",)
    return mode, fields, notes


# -- What the kernels derive from the tiling data (strategies.HostTiling's pieces) -----------------------------

def kernel_grids(mode: int, fields) -> np.ndarray:
    """The kernels' tiles, the same walk in every mode (``tiles.from_fields``)."""
    return tiles.from_fields(fields)


def plan_view(mode: int, fields) -> tuple[int, int]:
    """The ``[dim0, dim1]`` view of the tiling data, which the arch22 tiles always cut."""
    return fields["dim0"], fields["dim1"]


def plan_scale(mode: int, fields) -> ScaleUse:
    """One scale element per tensor, else column ``c`` uses element ``c`` (arch22 has no per-head mode)."""
    return ScaleUse("none", 1) if mode == Mode.PER_TENSOR else ScaleUse("columns", fields["dim1"])


def plan_ub_map(p: Problem, mode: int, fields, grids: np.ndarray, buffers: int) -> tuple:
    """``ub.regions`` for the largest tile of ``grids`` (NDDMA: CANN's gathered run, baseLenEx)."""
    elems, cols, _, _ = tiles.largest(grids)
    return ub.regions(p, mode, elems, cols, buffers, fields["baseLenEx"])


def launch_block_dim(fields, core_num: int) -> int:
    """The launch's block dim: the cores the tiling data uses, numCore."""
    return fields["numCore"]


def workspace_size(platform) -> int:
    """The workspace the tiling requests: the platform's system workspace."""
    return platform.sys_workspace_bytes


def tile_capacity(p: Problem, ub_size: int, mode: int, buffers: int) -> int:
    """CalcMaxBaseLen of what is left after reserveUb: elements of a one-row tile (our experiments' tile size)."""
    return calc_max_base_len(ub_size - RESERVE_UB, p, mode, buffers)


def experiment_shape(p: Problem, flat: bool) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """(mode, ``[dim0, dim1]``, view) of the kernels our experiments run: PER_TENSOR or PER_CHANNEL (never
    NDDMA), y as rows of its last axis, or one row per tensor if ``flat``."""
    if p.per_tensor:
        dims = p.flat_view if flat else p.rows_view
        return Mode.PER_TENSOR, dims, dims
    return Mode.PER_CHANNEL, p.rows_view, p.rows_view


def with_tile_shape(mode: int, fields: dict, base_n: int | None,
                    base_len: int | None) -> tuple[dict, tuple[str, ...]]:
    """A user's baseN / baseLen (None: CANN's) in CANN's fields: baseN at most a core's blockFactor rows, and
    NDDMA's gathered run (baseLenEx) derived anew; a single-row view (blockAxis 1) takes no baseN."""
    fields, notes = dict(fields), []
    if base_n is not None:
        if fields["blockAxis"] == 1:
            notes.append("base_n ignored: this plan's view is a single row")
        else:
            fields["baseN"] = min(base_n, fields["blockFactor"])
            if fields["baseLenEx"] != 1:    # NDDMA gathers baseN rows into one UB tile
                fields["baseLenEx"] = ceil_align(fields["baseN"] * fields["dim1"], REPEAT_SIZE)
    if base_len is not None:
        fields["baseLen"] = base_len
    return fields, tuple(notes)


# -- Corrections: where CANN's own plan is wrong (docs/spec.md section 7, "Known flaw") -----------------------

def corrections(fields: dict) -> tuple[dict, tuple[str, ...]]:
    """The fewest changes that make CANN's plan valid, each with a note saying what CANN computed.

    - Cores past the tensor: for wide rows CalcPerChannelBlockFactor can give ``blockFactor * (numCore - 1)``
      of at least the split extent (a negative tail, or a zero one that CANN replaces with blockFactor), so
      the last cores would run past the tensor. We use the fewest cores that cover it at that blockFactor.
    - Tiles of no rows: CalcMaxN can give 0 rows (``left`` too small for one); we use 1.
    """
    fields, notes = dict(fields), []
    extent = fields["dim1"] if fields["blockAxis"] == 1 else fields["dim0"]
    bf, n, tail = fields["blockFactor"], fields["numCore"], fields["blockTailFactor"]
    if bf * (n - 1) >= extent:
        rest = extent - bf * (n - 1)
        how = f" ({extent} - {bf} x {n - 1} = 0, which CANN replaces with blockFactor)" if rest == 0 else ""
        fixed = ceil_div(extent, bf)
        notes.append(f"CANN's plan gives blockTailFactor {tail}{how}: {n} cores x {bf} run past {extent}; "
                     f"corrected to the fewest cores that cover it, {fixed}")
        fields.update(numCore=fixed, blockTailFactor=extent - bf * (fixed - 1))
    if fields["baseN"] < 1:
        notes.append(f"CANN's plan gives baseN {fields['baseN']} (no row fits its UB formula); corrected to 1")
        fields["baseN"] = 1
    return fields, tuple(notes)


# -- Adaptation: a user's UB budget or buffer count, where CANN's formulas were made for neither ---------------

def _cores_under_small_budget(gm_block_num: int, core_num: int, min_factor: int,
                              ub_size: int) -> tuple[int, tuple[str, ...]]:
    """GetCoreNumWithMinFactor, or GetCoreNum where a small budget makes minFactor 0 (CANN: 0 cores)."""
    cores = get_core_num_with_min_factor(gm_block_num, core_num, min_factor)
    if cores:
        return cores, ()
    cores = get_core_num_with_min_factor(gm_block_num, core_num, 1)
    return cores, (f"minFactor {min_factor} under a UB budget of {ub_size} bytes (CANN's GetCoreNumWithMinFactor "
                   f"would give 0 cores); the GM blocks are split over {cores} cores as GetCoreNum does",)


def _nddma_rows_that_fit(p: Problem, base_n: int, dim1: int, ub_size: int,
                         buffers: int) -> tuple[int, tuple[str, ...]]:
    """NDDMA's baseN, capped to the rows CalcMaxBaseLen fits in ``ub_size`` (a real UB always holds 4096)."""
    fit = floor_align(calc_max_base_len(ub_size - RESERVE_UB, p, Mode.PER_CHANNEL_NDDMA, buffers),
                       REPEAT_SIZE) // dim1
    if fit >= base_n:
        return base_n, ()
    return fit, (f"NDDMA baseN {base_n} capped to {fit} rows to fit a UB budget of {ub_size} bytes",)


def _rows_that_fit(p: Problem, base_n: int, cols: int, ub_size: int, buffers: int) -> tuple[int, tuple[str, ...]]:
    """CalcMaxN's rows, capped to what the UB map holds: with 1 buffer CalcMaxN's ``/ BUFF_NUM / 2`` leaves
    6 bytes per element where x, y and the cast temporaries need 9 (with 2 or 3 buffers it always fits)."""
    def fits(rows):
        return ub.peak(ub.regions(p, Mode.PER_CHANNEL, rows * cols, cols, buffers)) <= ub_size
    if base_n <= 1 or fits(base_n):
        return base_n, ()
    lo, hi = 1, base_n - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo, (f"baseN {base_n} (CalcMaxN with BUFF_NUM {buffers}) capped to {lo} rows to fit "
                f"a UB budget of {ub_size} bytes",)
