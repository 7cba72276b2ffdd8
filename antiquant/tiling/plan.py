"""Tile plans: how the work is split over vector cores (blocks) and UB-sized tiles.

The ``"cann"`` strategy follows the open-source CANN host tiling for Atlas A2 (docs/spec.md section 7) step by step,
each step a small pure function, and corrects CANN's plan only where it would run past the tensor. Other
strategies in ``STRATEGIES`` are for experiments. A ``Strategy`` names one and carries the user's parameters
(buffer slots, UB budget, tile shape); every plan is checked to cover each element once and to fit UB.
A plan sees the operator's work as a 2-D ``[dim0, dim1]`` view of y (INT32 x as its unpacked int4 view).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, Iterator, NamedTuple

import numpy as np

from ..core import platforms
from ..core.dtypes import DTYPE_NAMES, DataType

__all__ = ["TilePlan", "Problem", "Strategy", "UbRegion", "plan", "plan_problem", "STRATEGIES", "TILING_FIELDS",
           "Mode"]

# Constants of CANN's ascend_anti_quant_v2 host tiling (docs/spec.md section 7).
GM_BLOCK = 512          # elements per GM block for PER_TENSOR splitting (x at 1 byte each: 512 B)
UB_RESERVE = 2048       # bytes CANN keeps back from UB
REPEAT = 64             # elements per vector repeat used for row alignment
NARROW_ROW = 1024       # dim1 up to this (with offset) takes the NDDMA path
NDDMA_ROWS = 4096       # elements one NDDMA tile gathers
BUFF_NUM = 2            # x and y tiles are double-buffered
# Our own rules for plans and parameters.
UB_ALIGN = 32           # UB buffers start on 32-byte boundaries (docs/spec.md section 6)
TEMP_BYTES = 4 + 2      # per tile element: the float32 and half intermediates of the kernel's casts
MIN_UB_BUDGET = 16384   # smallest UB budget a user may set: every strategy still finds a tile
BASE_LEN_ALIGN = 32     # a user's tile length: whole 32-byte blocks of int8 x, a multiple of every int4 group
MAX_BUFFERS = 3

TILING_FIELDS = ("numCore", "blockAxis", "dim0", "dim1", "dim2", "blockUnion", "blockFactor", "blockTailFactor",
                 "baseN", "lcmN", "baseLen", "baseLenEx", "hasOffset", "sqrtMode")


class Mode:
    PER_TENSOR = 0
    PER_CHANNEL = 1
    PER_CHANNEL_NDDMA = 2


@dataclasses.dataclass(frozen=True)
class Problem:
    """The facts of one call that tiling depends on."""

    shape: tuple[int, ...]      # y's shape
    x_dtype: DataType
    scale_size: int
    scale_dtype: DataType
    has_offset: bool
    dst_type: DataType
    sqrt_mode: bool

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def last(self) -> int:
        return self.shape[-1] if self.shape else 1

    @property
    def mode(self) -> int:
        if self.scale_size == 1:
            return Mode.PER_TENSOR
        if self.has_offset and self.last <= NARROW_ROW:
            return Mode.PER_CHANNEL_NDDMA
        return Mode.PER_CHANNEL

    @property
    def scale_bytes(self) -> int:
        return 2 if self.scale_dtype == DataType.BF16 else 4

    @property
    def y_bytes(self) -> int:
        return 2

    @property
    def x_bytes(self) -> float:
        """Bytes of x per element in device memory: int4 (also INT32-packed) is half a byte."""
        return 1.0 if self.x_dtype == DataType.INT8 else 0.5


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A strategy from ``STRATEGIES`` and its parameters.

    ``buffers``: UB slots per tile stream (1-3; CANN's BUFF_NUM is 2). ``ub_budget``: bytes of UB the plan may
    use (default: the platform's UB). ``base_n`` / ``base_len``: tile rows / columns instead of the strategy's.
    """

    name: str = "cann"
    buffers: int = BUFF_NUM
    ub_budget: int | None = None
    base_n: int | None = None
    base_len: int | None = None

    def __post_init__(self):
        if self.name not in STRATEGIES:
            raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, got {self.name!r}")
        if not _is_int(self.buffers) or not 1 <= self.buffers <= MAX_BUFFERS:
            raise ValueError(f"buffers: expected 1, 2 or 3 UB slots per stream, got {self.buffers!r}")
        if self.ub_budget is not None and (not _is_int(self.ub_budget) or self.ub_budget < MIN_UB_BUDGET):
            raise ValueError(f"ub_budget: expected at least {MIN_UB_BUDGET} bytes, got {self.ub_budget!r}")
        if self.base_n is not None and (not _is_int(self.base_n) or self.base_n < 1):
            raise ValueError(f"base_n: expected a positive number of tile rows, got {self.base_n!r}")
        if self.base_len is not None and (not _is_int(self.base_len) or self.base_len < 1
                                          or self.base_len % BASE_LEN_ALIGN):
            raise ValueError(f"base_len: expected a positive multiple of {BASE_LEN_ALIGN} tile columns, "
                             f"got {self.base_len!r}")

    @classmethod
    def of(cls, value) -> "Strategy":
        """A ``Strategy`` from a name or a ``Strategy``."""
        if isinstance(value, Strategy):
            return value
        if isinstance(value, str):
            return cls(value)
        raise TypeError(f"strategy: expected a name ({', '.join(STRATEGIES)}) or a tiling.Strategy, "
                        f"got {type(value).__name__}")

    def describe(self) -> str:
        extras = [f"{k}={v}" for k, v in (("buffers", self.buffers), ("ub_budget", self.ub_budget),
                                          ("base_n", self.base_n), ("base_len", self.base_len))
                  if v is not None and not (k == "buffers" and v == BUFF_NUM)]
        return self.name + (f"({', '.join(extras)})" if extras else "")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class UbRegion(NamedTuple):
    """``slots`` consecutive UB buffers of ``nbytes`` each, starting at byte ``offset`` of a core's UB."""

    name: str
    offset: int
    nbytes: int
    slots: int

    @property
    def end(self) -> int:
        return self.offset + self.nbytes * self.slots


@dataclasses.dataclass(frozen=True, eq=False)
class TilePlan:
    """An immutable tile plan: CANN's 14 tiling fields, the tiles each core runs, and its UB map.

    ``tile_table`` is int64 ``[ntiles, 5]``: (core, row0, nrows, col0, ncols), grouped by core in ascending
    order, each core's tiles in execution order; derived from ``tiling_data`` unless a strategy gives it.
    """

    strategy: str
    platform: str
    tiling_key: int
    block_dim: int
    workspace_size: int
    tiling_data: dict
    notes: tuple[str, ...] = ()
    buffers: int = BUFF_NUM
    ub_map: tuple[UbRegion, ...] = ()
    ub_budget: int = 0
    tile_table: np.ndarray | None = dataclasses.field(default=None, repr=False)
    problem: Problem | None = dataclasses.field(default=None, repr=False)
    profile: platforms.Platform | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "tiling_data", dict(self.tiling_data))
        table = _tile_table(self.tiling_data) if self.tile_table is None else self.tile_table
        table = np.array(table, dtype=np.int64, copy=True).reshape(-1, 5)
        if table.size and (np.diff(table[:, 0]) < 0).any():
            raise ValueError("tile_table: expected tiles grouped by core in ascending order")
        table.flags.writeable = False
        object.__setattr__(self, "tile_table", table)
        object.__setattr__(self, "ub_map", tuple(UbRegion(*r) for r in self.ub_map))

    @property
    def mode(self) -> int:
        """The layout mode (``Mode``) the tiling key encodes in its low two bits (see ``_tiling_key``)."""
        return self.tiling_key & 3

    def _key(self):
        return (self.strategy, self.platform, self.tiling_key, self.block_dim, self.workspace_size,
                tuple(self.tiling_data.items()), self.notes, self.buffers, self.ub_map, self.ub_budget,
                self.tile_table.tobytes())

    def __eq__(self, other):
        return isinstance(other, TilePlan) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def to_bytes(self) -> bytes:
        """The 14 fields as little-endian int64, in CANN's order."""
        return np.array([self.tiling_data[f] for f in TILING_FIELDS], dtype="<i8").tobytes()

    @property
    def dims(self) -> tuple[int, int]:
        return self.tiling_data["dim0"], self.tiling_data["dim1"]

    @property
    def ub_bytes(self) -> int:
        """Peak UB one core allocates: every region's slots, as the staged kernel lays them out."""
        return max((r.end for r in self.ub_map), default=0)

    def region(self, name: str) -> UbRegion | None:
        return next((r for r in self.ub_map if r.name == name), None)

    @functools.cached_property
    def core_offsets(self) -> np.ndarray:
        """int64 ``[block_dim + 1]``: core ``c`` runs tiles ``core_offsets[c]:core_offsets[c + 1]``."""
        return np.searchsorted(self.tile_table[:, 0], np.arange(self.block_dim + 1)).astype(np.int64)

    def tiles(self) -> Iterator[tuple[int, int, int, int, int]]:
        """Yield ``(core, row0, nrows, col0, ncols)`` over the ``[dim0, dim1]`` view."""
        for row in self.tile_table.tolist():
            yield tuple(row)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _align_up(a: int, b: int) -> int:
    return _ceil(a, b) * b


def _align_down(a: int, b: int) -> int:
    return a // b * b


def _k(p: Problem, mode: int) -> int:
    """Per-column UB vectors: none per tensor, else scale (and offset)."""
    return 0 if mode == Mode.PER_TENSOR else (2 if p.has_offset else 1)


def max_base(ub: int, p: Problem, buffers: int = BUFF_NUM, mode: int | None = None) -> int:
    """CANN's CalcMaxBaseLen: elements per tile that fit ``ub`` bytes of UB (``buffers`` is CANN's BUFF_NUM)."""
    k = _k(p, p.mode if mode is None else mode)
    t = 1 if p.scale_dtype == DataType.BF16 else 0
    per_element = (1 + p.y_bytes) * buffers + p.scale_bytes * k + TEMP_BYTES + 4 * k * t
    return ub // per_element


def view_dims(p: Problem) -> tuple[int, int]:
    """CANN's ``[dim0, dim1]`` view: PER_TENSOR flattens everything into one row."""
    if p.mode == Mode.PER_TENSOR:
        return 1, p.numel
    return natural_dims(p)


def natural_dims(p: Problem) -> tuple[int, int]:
    """Rows of y's last axis: ``[numel / last, last]``."""
    return p.numel // p.last, p.last


def _base_fields(p: Problem, dim0: int, dim1: int) -> dict:
    fields = dict.fromkeys(TILING_FIELDS, 1)
    fields.update(dim0=dim0, dim1=dim1, hasOffset=int(p.has_offset), sqrtMode=int(p.sqrt_mode))
    return fields


def _per_tensor(p: Problem, ub: int, cores: int, buffers: int = BUFF_NUM) -> dict:
    dim0, dim1 = view_dims(p)
    blocks = _ceil(dim1, GM_BLOCK)
    min_factor = (max_base(ub - UB_RESERVE - 1024, p, buffers) // GM_BLOCK) // 2 * 2
    share = max(min_factor, _ceil(blocks, cores))
    num_core = _ceil(blocks, share)
    block_factor = _ceil(blocks, num_core) * GM_BLOCK
    tail = dim1 - block_factor * (num_core - 1)
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=1, blockFactor=block_factor, blockTailFactor=tail or block_factor,
             baseN=1, baseLen=min(_align_up(block_factor, GM_BLOCK),
                                  _align_down(max_base(ub - 3072, p, buffers), GM_BLOCK)))
    return f


def _rows_split(dim0: int, rows_per_core: int, cores: int) -> tuple[int, int, int]:
    num_core = min(_ceil(dim0, rows_per_core), cores)
    block_factor = _ceil(dim0, num_core)
    return num_core, block_factor, dim0 - block_factor * (num_core - 1)


def _per_channel(p: Problem, ub: int, cores: int, buffers: int = BUFF_NUM) -> dict:
    dim0, dim1 = natural_dims(p)
    bb = _align_up(dim1, REPEAT)
    mb = _align_down(max_base(ub - UB_RESERVE, p, buffers, Mode.PER_CHANNEL), REPEAT)
    num_core, block_factor, tail = _rows_split(dim0, max(1, mb // bb), cores)
    if bb <= mb // 2:
        left = (ub - UB_RESERVE) - bb * p.scale_bytes * 2 * (2 if p.has_offset else 1) - bb * (2 * 4 + 3 * 4 + 2)
        left = left if left > 0 else 1
        # CANN: left // (1 + ybytes) // bb // 2 // 2, i.e. (x + y) x BUFF_NUM plus the cast temporaries
        max_n = left // ((1 + p.y_bytes) * buffers + TEMP_BYTES) // bb
        base_n, base_len = min(max_n, block_factor), bb
    else:
        base_n, base_len = 1, min(bb, mb)
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=0, blockFactor=block_factor, blockTailFactor=tail,
             baseN=base_n, baseLen=base_len)
    return f


def _per_channel_nddma(p: Problem, ub: int, cores: int, buffers: int = BUFF_NUM) -> tuple[dict | None, tuple]:
    """NDDMA tiling and notes; fields None where CANN falls back to PER_CHANNEL (one row per tile).

    CANN's NDDMA tile (up to 4096 elements) always fits a real UB; under a smaller user budget baseN is
    capped to what fits, which may also end in the fallback.
    """
    dim0, dim1 = natural_dims(p)
    base_n = NDDMA_ROWS // dim1
    lcm_n = math.lcm(dim1, REPEAT) // dim1
    num_core = min(_ceil(dim0, base_n), cores)
    block_factor = _ceil(dim0, num_core)
    num_core = _ceil(dim0, block_factor)
    base_n = min(base_n, block_factor)
    fit = _align_down(max_base(ub - UB_RESERVE, p, buffers), REPEAT) // dim1
    notes = ()
    if fit < base_n:
        notes = (f"NDDMA baseN {base_n} capped to {fit} rows to fit a UB budget of {ub} bytes",)
        base_n = fit
    if base_n <= 1:
        return None, notes
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=0, blockFactor=block_factor,
             blockTailFactor=dim0 - block_factor * (num_core - 1), baseN=base_n, lcmN=lcm_n,
             baseLen=_align_up(dim1, REPEAT), baseLenEx=_align_up(base_n * dim1, REPEAT))
    return f, notes


def _cann_fields(p: Problem, ub: int, cores: int, buffers: int = BUFF_NUM) -> tuple[int, dict, tuple]:
    """CANN's mode and fields, uncorrected, and notes where a user's budget changed them."""
    if p.mode == Mode.PER_TENSOR:
        return Mode.PER_TENSOR, _per_tensor(p, ub, cores, buffers), ()
    notes = ()
    if p.mode == Mode.PER_CHANNEL_NDDMA:
        fields, notes = _per_channel_nddma(p, ub, cores, buffers)
        if fields is not None:
            return Mode.PER_CHANNEL_NDDMA, fields, notes
    return Mode.PER_CHANNEL, _per_channel(p, ub, cores, buffers), notes


def correct_fields(fields: dict) -> tuple[dict, tuple[str, ...]]:
    """Repair a plan CANN would get wrong: cores past the tensor, or tiles of zero rows."""
    fields, notes = dict(fields), []
    extent = fields["dim1"] if fields["blockAxis"] == 1 else fields["dim0"]
    bf, n = fields["blockFactor"], fields["numCore"]
    if bf * (n - 1) >= extent:
        fixed = _ceil(extent, bf)
        notes.append(f"CANN's plan gives blockTailFactor {extent - bf * (n - 1)}: {n} cores x {bf} run past "
                     f"{extent}; corrected to the fewest cores that cover it, {fixed}")
        fields.update(numCore=fixed, blockTailFactor=extent - bf * (fixed - 1))
    if fields["baseN"] < 1:
        notes.append(f"CANN's plan gives baseN {fields['baseN']} (no row fits its UB formula); corrected to 1")
        fields["baseN"] = 1
    return fields, tuple(notes)


class Layout(NamedTuple):
    """What a strategy decides: the tiling mode, CANN-style fields, and tiles if the fields cannot say them."""

    mode: int
    fields: dict
    table: np.ndarray | None
    notes: tuple[str, ...]


def _override_shape(fields: dict, s: Strategy) -> tuple[str, ...]:
    """Apply the user's ``base_n`` / ``base_len`` to fields whose tiles ``_tile_table`` derives."""
    notes = []
    if s.base_n is not None:
        if fields["blockAxis"] == 1:
            notes.append("base_n ignored: this plan's view is a single row")
        else:
            fields["baseN"] = min(s.base_n, fields["blockFactor"])
            if fields["baseLenEx"] != 1:    # NDDMA gathers baseN rows into one UB tile
                fields["baseLenEx"] = _align_up(fields["baseN"] * fields["dim1"], REPEAT)
    if s.base_len is not None:
        fields["baseLen"] = s.base_len
    if s.base_n is not None or s.base_len is not None:
        notes.append(f"tile shape set by the user: baseN {fields['baseN']}, baseLen {fields['baseLen']}")
    return tuple(notes)


def _cann(p: Problem, ub: int, cores: int, s: Strategy) -> Layout:
    """CANN's host tiling (docs/spec.md section 7), corrected where it would run past the tensor."""
    mode, fields, budget_notes = _cann_fields(p, ub, cores, s.buffers)
    fields, notes = correct_fields(fields)
    notes = budget_notes + notes
    if fields["baseLen"] < 1:
        raise ValueError(f"ub_budget: {ub} bytes leave no room for a cann tile of this problem "
                         f"(baseLen comes to {fields['baseLen']}); raise ub_budget or lower buffers")
    if s.buffers != BUFF_NUM:
        notes += (f"CANN's BUFF_NUM 2 replaced by {s.buffers} buffers in its UB formulas",)
    return Layout(mode, fields, None, notes + _override_shape(fields, s))


def _capacity(p: Problem, ub: int, s: Strategy, mode: int) -> int:
    """Elements per tile of our own strategies: CANN's per-element UB cost, whole 64-element repeats."""
    return max(REPEAT, _align_down(max_base(ub - UB_RESERVE, p, s.buffers, mode), REPEAT))


def _experiment_mode(p: Problem) -> int:
    return Mode.PER_TENSOR if p.mode == Mode.PER_TENSOR else Mode.PER_CHANNEL


def _tile_shape(dim1: int, cap: int, max_rows: int, s: Strategy) -> tuple[int, int]:
    """(rows, columns) of a tile: whole rows while a row fits ``cap``, else one row in column pieces."""
    if dim1 <= cap:
        rows, cols = max(1, min(cap // max(dim1, 1), max_rows)), dim1
    else:
        rows, cols = 1, cap
    return (s.base_n or rows), min(s.base_len or cols, max(dim1, 1))


def _row_batched(p: Problem, ub: int, cores: int, s: Strategy) -> Layout:
    """Rows split over every core (CANN's blockFactor/tail), each tile as many whole rows as UB holds."""
    mode = _experiment_mode(p)
    dim0, dim1 = natural_dims(p)
    block_factor = _ceil(dim0, cores)
    num_core = _ceil(dim0, block_factor)           # fewest cores at that factor: never past the tensor
    tail = dim0 - block_factor * (num_core - 1)
    base_n, base_len = _tile_shape(dim1, _capacity(p, ub, s, mode), block_factor, s)
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=0, blockFactor=block_factor, blockTailFactor=tail, baseN=base_n,
             baseLen=base_len)
    return Layout(mode, f, None, (f"row-batched: {dim0} rows of {dim1} over {num_core} cores, "
                                  f"tiles of up to {base_n} x {base_len}",))


def _equal_bytes(p: Problem, ub: int, cores: int, s: Strategy) -> Layout:
    """Every core the same bytes: the flattened tensor cut at multiples of 512 elements (512 B of x).

    A core's share may start and end inside a row; its tiles follow row ends, so each is a rectangle.
    """
    mode = _experiment_mode(p)
    dim0, dim1 = view_dims(p) if mode == Mode.PER_TENSOR else natural_dims(p)
    numel = dim0 * dim1
    share = _align_up(_ceil(numel, cores), GM_BLOCK)
    num_core = _ceil(numel, share)
    base_n, base_len = _tile_shape(dim1, _capacity(p, ub, s, mode), share // max(dim1, 1) or 1, s)
    pieces = []
    for core in range(num_core):
        a, b = core * share, min(numel, (core + 1) * share)
        r0, c0, r1, c1 = a // dim1, a % dim1, b // dim1, b % dim1
        if r0 == r1:                      # inside one row
            pieces.append(_rect_tiles(core, r0, r0 + 1, c0, c1, 1, base_len))
            continue
        if c0:                            # head: the rest of a row
            pieces.append(_rect_tiles(core, r0, r0 + 1, c0, dim1, 1, base_len))
            r0 += 1
        pieces.append(_rect_tiles(core, r0, r1, 0, dim1, base_n, base_len))
        if c1:                            # tail: the start of a row
            pieces.append(_rect_tiles(core, r1, r1 + 1, 0, c1, 1, base_len))
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=1, blockFactor=share, blockTailFactor=numel - share * (num_core - 1),
             baseN=base_n, baseLen=base_len)
    return Layout(mode, f, np.concatenate(pieces), (
        f"equal-bytes: each core owns blockFactor {share} consecutive elements of the flattened "
        f"[{dim0}, {dim1}] view; tiles of up to {base_n} x {base_len} cut at row ends",))


def _column_split(p: Problem, ub: int, cores: int, s: Strategy) -> Layout:
    """Cores own column bands (whole repeats wide) and walk every row: a core loads its scale/offset once."""
    mode = _experiment_mode(p)
    dim0, dim1 = natural_dims(p)
    band = _align_up(_ceil(dim1, cores), REPEAT)
    num_core = _ceil(dim1, band)
    cap = _capacity(p, ub, s, mode)
    base_n = s.base_n or max(1, cap // band)
    base_len = min(s.base_len or min(band, cap), band)
    table = np.concatenate([_rect_tiles(c, 0, dim0, c * band, min(dim1, (c + 1) * band), base_n, base_len)
                            for c in range(num_core)])
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=1, blockFactor=band, blockTailFactor=dim1 - band * (num_core - 1),
             baseN=base_n, baseLen=base_len)
    return Layout(mode, f, table, (f"column-split: each core owns blockFactor {band} columns of all {dim0} "
                                   f"rows; tiles of up to {base_n} x {base_len}",))


STRATEGIES: dict[str, Callable[[Problem, int, int, Strategy], Layout]] = {
    "cann": _cann,
    "equal-bytes": _equal_bytes,
    "row-batched": _row_batched,
    "column-split": _column_split,
}


def _dtype(value, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    if isinstance(value, str) and value.lower() in DTYPE_NAMES:
        return DTYPE_NAMES[value.lower()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return DataType(int(value))
    raise ValueError(f"{what}: expected a dtype name ({', '.join(sorted(DTYPE_NAMES))}) or a DataType, "
                     f"got {value!r}")


def plan(x_shape, *, x_dtype, scale_size: int, scale_dtype, has_offset: bool, dst_type, sqrt_mode: bool,
         platform="Ascend910B", strategy: str | Strategy = "cann") -> TilePlan:
    """Plan how ``x`` of ``x_shape`` is split over cores and UB tiles.

    ``strategy`` is a name from ``STRATEGIES`` or a ``Strategy`` with parameters; ``platform`` a name or a
    ``Platform``. Raises ValueError for parameters that do not fit the platform's UB.
    """
    x_dtype = _dtype(x_dtype, "x_dtype")
    shape = tuple(int(d) for d in x_shape)
    if x_dtype == DataType.INT32:
        shape = (*shape[:-1], shape[-1] * 8) if shape else (8,)
    problem = Problem(shape, x_dtype, int(scale_size), _dtype(scale_dtype, "scale_dtype"), bool(has_offset),
                      _dtype(dst_type, "dst_type"), bool(sqrt_mode))
    return plan_problem(problem, platforms.get(platform), Strategy.of(strategy))


def _tiling_key(mode: int, problem: Problem) -> int:
    """CANN's tiling key: the layout mode, then the hasOffset and sqrtMode flags."""
    return mode | int(problem.has_offset) << 2 | int(problem.sqrt_mode) << 3


@functools.lru_cache(maxsize=256)
def _plan_cached(problem: Problem, platform: platforms.Platform, s: Strategy) -> TilePlan:
    budget = platform.ub_bytes if s.ub_budget is None else s.ub_budget
    if budget > platform.ub_bytes:
        raise ValueError(f"ub_budget: expected at most {platform.name}'s UB of {platform.ub_bytes} bytes, "
                         f"got {budget}")
    common = dict(buffers=s.buffers, ub_budget=budget, problem=problem, profile=platform)
    if problem.numel == 0:
        dim0, dim1 = view_dims(problem) if problem.last else (0, 0)
        fields = _base_fields(problem, dim0, dim1)
        fields.update(numCore=0, blockFactor=0, blockTailFactor=0)
        return TilePlan(s.name, platform.name, _tiling_key(problem.mode, problem), 0, 0, fields,
                        ("empty tensor: nothing to run",), **common)
    layout = STRATEGIES[s.name](problem, budget, platform.vector_cores, s)
    fields = layout.fields
    table = _tile_table(fields) if layout.table is None else layout.table
    result = TilePlan(s.name, platform.name, _tiling_key(layout.mode, problem), fields["numCore"],
                      platform.sys_workspace_bytes, fields, layout.notes, tile_table=table,
                      ub_map=_ub_map(problem, layout.mode, table, fields, s.buffers), **common)
    if result.ub_bytes > budget:
        (_, _, rows, _, cols) = result.tile_table[np.argmax(result.tile_table[:, 2] * result.tile_table[:, 4])]
        raise ValueError(f"{s.describe()}: its largest tile ({rows} x {cols}) with {s.buffers} buffers needs "
                         f"{result.ub_bytes} bytes of UB, more than the budget of {budget}; use a smaller "
                         f"base_n/base_len or fewer buffers")
    return result


def plan_problem(problem: Problem, platform: platforms.Platform, strategy: str | Strategy = "cann") -> TilePlan:
    """``plan`` for a ``Problem``; cached, since a plan is pure and the same call repeats."""
    return _plan_cached(problem, platform, Strategy.of(strategy))


def _a32(nbytes: int) -> int:
    return _align_up(int(nbytes), UB_ALIGN)


def _ub_map(p: Problem, mode: int, table: np.ndarray, fields: dict, buffers: int) -> tuple[UbRegion, ...]:
    """The UB one core allocates, as the NPU kernel needs it (x at 1 byte per element, also for int4):
    ``buffers`` slots of x and y tiles, per-column scale/offset (their float32 copies if BF16), and the
    float32 + half intermediates of the casts. The CPU's staged kernel uses the same map.
    """
    elems = int((table[:, 2] * table[:, 4]).max())
    cols = int(table[:, 4].max())
    if mode == Mode.PER_CHANNEL_NDDMA:       # NDDMA gathers baseN rows into one 64-aligned tile and
        elems = cols = max(elems, fields["baseLenEx"])   # broadcasts scale/offset to its length
    sizes = [("x", _a32(elems), buffers), ("y", _a32(elems * p.y_bytes), buffers)]
    if mode != Mode.PER_TENSOR:
        vectors = ("scale", "offset") if p.has_offset else ("scale",)
        sizes += [(v, _a32(cols * p.scale_bytes), 1) for v in vectors]
        if p.scale_dtype == DataType.BF16:
            sizes += [(f"{v}_f32", _a32(cols * 4), 1) for v in vectors]
    sizes.append(("tmp", _a32(elems * TEMP_BYTES), 1))
    regions, cursor = [], 0
    for name, nbytes, slots in sizes:
        regions.append(UbRegion(name, cursor, nbytes, slots))
        cursor += nbytes * slots
    return tuple(regions)


def _split(starts: np.ndarray, lengths: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each ``[start, start+length)`` into ``step``-sized pieces: (owner, piece start, piece length)."""
    counts = -(-lengths // step)
    owner = np.repeat(np.arange(len(starts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(counts.sum()) - first
    piece = starts[owner] + k * step
    return owner, piece, np.minimum(step, starts[owner] + lengths[owner] - piece)


def _rect_tiles(core: int, r0: int, r1: int, c0: int, c1: int, base_n: int, base_len: int) -> np.ndarray:
    """Tiles of rows ``[r0, r1)`` x columns ``[c0, c1)``: row bands of ``base_n``, each cut every ``base_len``."""
    _, row0, nrows = _split(np.array([r0], np.int64), np.array([r1 - r0], np.int64), base_n)
    _, col0, ncols = _split(np.array([c0], np.int64), np.array([c1 - c0], np.int64), base_len)
    nb, nc = len(row0), len(col0)
    return np.stack([np.full(nb * nc, core, np.int64), np.repeat(row0, nc), np.repeat(nrows, nc),
                     np.tile(col0, nb), np.tile(ncols, nb)], axis=1)


def _tile_table(f: dict) -> np.ndarray:
    n = f["numCore"]
    if n == 0:
        return np.zeros((0, 5), np.int64)
    cores = np.arange(n, dtype=np.int64)
    starts = cores * f["blockFactor"]
    lengths = np.where(cores == n - 1, f["blockTailFactor"], f["blockFactor"]).astype(np.int64)
    if f["blockAxis"] == 1:
        core, col0, ncols = _split(starts, lengths, f["baseLen"])
        zeros = np.zeros_like(col0)
        return np.stack([core, zeros, zeros + 1, col0, ncols], axis=1)
    core, row0, nrows = _split(starts, lengths, f["baseN"])
    col_len = min(f["baseLen"], f["dim1"]) or 1
    band, col0, ncols = _split(np.zeros(1, np.int64), np.array([f["dim1"]], np.int64), col_len)
    per_band = len(col0)
    return np.stack([np.repeat(core, per_band), np.repeat(row0, per_band), np.repeat(nrows, per_band),
                     np.tile(col0, len(row0)), np.tile(ncols, len(row0))], axis=1)
