"""Tile plans: how the work is split over vector cores (blocks) and UB-sized tiles.

The ``"cann"`` strategy follows the open-source CANN host tiling for Atlas A2 (SPEC section 7) step by step,
each step a small pure function, and corrects CANN's plan only where it would run past the tensor.
A plan sees the operator's work as a 2-D ``[dim0, dim1]`` view of y (INT32 x as its unpacked int4 view).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, Iterator

import numpy as np

from . import platforms
from .dtypes import DataType

__all__ = ["TilePlan", "Problem", "plan", "STRATEGIES", "TILING_FIELDS", "Mode"]

# Constants of CANN's ascend_anti_quant_v2 host tiling (SPEC section 7).
GM_BLOCK = 512          # elements per GM block for PER_TENSOR splitting
UB_RESERVE = 2048       # bytes CANN keeps back from UB
REPEAT = 64             # elements per vector repeat used for row alignment
NARROW_ROW = 1024       # dim1 up to this (with offset) takes the NDDMA path
NDDMA_ROWS = 4096       # elements one NDDMA tile gathers
BUFF_NUM = 2            # x and y tiles are double-buffered
SYS_WORKSPACE_NOTE = "workspace is the platform's system workspace"

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


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """An immutable tile plan: CANN's 14 tiling fields plus how tiles are walked."""

    strategy: str
    platform: str
    tiling_key: int
    block_dim: int
    workspace_size: int
    tiling_data: dict
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "tiling_data", dict(self.tiling_data))

    def __hash__(self):
        return hash((self.strategy, self.platform, self.tiling_key, tuple(self.tiling_data.values())))

    def to_bytes(self) -> bytes:
        """The 14 fields as little-endian int64, in CANN's order."""
        return np.array([self.tiling_data[f] for f in TILING_FIELDS], dtype="<i8").tobytes()

    @property
    def dims(self) -> tuple[int, int]:
        return self.tiling_data["dim0"], self.tiling_data["dim1"]

    @functools.cached_property
    def tile_table(self) -> np.ndarray:
        """int64 ``[ntiles, 5]``: core, row0, nrows, col0, ncols, in each core's execution order."""
        return _tile_table(self.tiling_data)

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


def max_base(ub: int, p: Problem) -> int:
    """CANN's CalcMaxBaseLen: elements per tile that fit ``ub`` bytes of UB for this problem."""
    k = 0 if p.mode == Mode.PER_TENSOR else (2 if p.has_offset else 1)
    t = 1 if p.scale_dtype == DataType.BF16 else 0
    per_element = (1 + p.y_bytes) * BUFF_NUM + p.scale_bytes * k + 4 + 2 + 4 * k * t
    return ub // per_element


def view_dims(p: Problem) -> tuple[int, int]:
    """The ``[dim0, dim1]`` view: PER_TENSOR flattens everything into one row."""
    if p.mode == Mode.PER_TENSOR:
        return 1, p.numel
    return p.numel // p.last, p.last


def _base_fields(p: Problem, dim0: int, dim1: int) -> dict:
    fields = dict.fromkeys(TILING_FIELDS, 1)
    fields.update(dim0=dim0, dim1=dim1, hasOffset=int(p.has_offset), sqrtMode=int(p.sqrt_mode))
    return fields


def _per_tensor(p: Problem, ub: int, cores: int) -> dict:
    dim0, dim1 = view_dims(p)
    blocks = _ceil(dim1, GM_BLOCK)
    min_factor = (max_base(ub - UB_RESERVE - 1024, p) // GM_BLOCK) // 2 * 2
    share = max(min_factor, _ceil(blocks, cores))
    num_core = _ceil(blocks, share)
    block_factor = _ceil(blocks, num_core) * GM_BLOCK
    tail = dim1 - block_factor * (num_core - 1)
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=1, blockFactor=block_factor, blockTailFactor=tail or block_factor,
             baseN=1, baseLen=min(_align_up(block_factor, GM_BLOCK), _align_down(max_base(ub - 3072, p), GM_BLOCK)))
    return f


def _rows_split(dim0: int, rows_per_core: int, cores: int) -> tuple[int, int, int]:
    num_core = min(_ceil(dim0, rows_per_core), cores)
    block_factor = _ceil(dim0, num_core)
    return num_core, block_factor, dim0 - block_factor * (num_core - 1)


def _per_channel(p: Problem, ub: int, cores: int) -> dict:
    dim0, dim1 = view_dims(p)
    bb = _align_up(dim1, REPEAT)
    mb = _align_down(max_base(ub - UB_RESERVE, p), REPEAT)
    num_core, block_factor, tail = _rows_split(dim0, max(1, mb // bb), cores)
    if bb <= mb // 2:
        left = (ub - UB_RESERVE) - bb * p.scale_bytes * 2 * (2 if p.has_offset else 1) - bb * (2 * 4 + 3 * 4 + 2)
        left = left if left > 0 else 1
        max_n = left // (1 + p.y_bytes) // bb // 2 // 2
        base_n, base_len = min(max_n, block_factor), bb
    else:
        base_n, base_len = 1, min(bb, mb)
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=0, blockFactor=block_factor, blockTailFactor=tail,
             baseN=base_n, baseLen=base_len)
    return f


def _per_channel_nddma(p: Problem, ub: int, cores: int) -> dict | None:
    """NDDMA tiling, or None where CANN falls back to PER_CHANNEL (one row per tile)."""
    dim0, dim1 = view_dims(p)
    base_n = NDDMA_ROWS // dim1
    lcm_n = math.lcm(dim1, REPEAT) // dim1
    num_core = min(_ceil(dim0, base_n), cores)
    block_factor = _ceil(dim0, num_core)
    num_core = _ceil(dim0, block_factor)
    base_n = min(base_n, block_factor)
    if base_n == 1:
        return None
    f = _base_fields(p, dim0, dim1)
    f.update(numCore=num_core, blockAxis=0, blockFactor=block_factor,
             blockTailFactor=dim0 - block_factor * (num_core - 1), baseN=base_n, lcmN=lcm_n,
             baseLen=_align_up(dim1, REPEAT), baseLenEx=_align_up(base_n * dim1, REPEAT))
    return f


def _cann_fields(p: Problem, ub: int, cores: int) -> tuple[int, dict]:
    """CANN's mode and fields, uncorrected."""
    if p.mode == Mode.PER_TENSOR:
        return Mode.PER_TENSOR, _per_tensor(p, ub, cores)
    if p.mode == Mode.PER_CHANNEL_NDDMA:
        fields = _per_channel_nddma(p, ub, cores)
        if fields is not None:
            return Mode.PER_CHANNEL_NDDMA, fields
    return Mode.PER_CHANNEL, _per_channel(p, ub, cores)


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


def _cann(p: Problem, platform: platforms.Platform) -> tuple[int, dict, tuple[str, ...]]:
    mode, fields = _cann_fields(p, platform.ub_bytes, platform.vector_cores)
    fields, notes = correct_fields(fields)
    return mode, fields, notes


STRATEGIES: dict[str, Callable[[Problem, platforms.Platform], tuple[int, dict, tuple[str, ...]]]] = {
    "cann": _cann,
}


def _dtype(value, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    names = {"int4": DataType.INT4, "int8": DataType.INT8, "int32": DataType.INT32, "float": DataType.FLOAT,
             "float32": DataType.FLOAT, "bfloat16": DataType.BF16, "bf16": DataType.BF16,
             "float16": DataType.FLOAT16, "fp16": DataType.FLOAT16}
    if isinstance(value, str) and value.lower() in names:
        return names[value.lower()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return DataType(int(value))
    raise ValueError(f"{what}: expected a dtype name ({', '.join(sorted(names))}) or a DataType, got {value!r}")


def plan(x_shape, *, x_dtype, scale_size: int, scale_dtype, has_offset: bool, dst_type, sqrt_mode: bool,
         platform="Ascend910B", strategy: str = "cann") -> TilePlan:
    """Plan how ``x`` of ``x_shape`` is split over cores and UB tiles."""
    x_dtype = _dtype(x_dtype, "x_dtype")
    shape = tuple(int(d) for d in x_shape)
    if x_dtype == DataType.INT32:
        shape = (*shape[:-1], shape[-1] * 8) if shape else (8,)
    problem = Problem(shape, x_dtype, int(scale_size), _dtype(scale_dtype, "scale_dtype"), bool(has_offset),
                      _dtype(dst_type, "dst_type"), bool(sqrt_mode))
    return plan_problem(problem, platforms.get(platform), strategy)


@functools.lru_cache(maxsize=256)
def plan_problem(problem: Problem, platform: platforms.Platform, strategy: str = "cann") -> TilePlan:
    """``plan`` for a ``Problem``; cached, since a plan is pure and the same call repeats."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    key = problem.mode | int(problem.has_offset) << 2 | int(problem.sqrt_mode) << 3
    if problem.numel == 0:
        dim0, dim1 = view_dims(problem) if problem.last else (0, 0)
        fields = _base_fields(problem, dim0, dim1)
        fields.update(numCore=0, blockFactor=0, blockTailFactor=0)
        return TilePlan(strategy, platform.name, key, 0, 0, fields, ("empty tensor: nothing to run",))
    mode, fields, notes = STRATEGIES[strategy](problem, platform)
    key = mode | int(problem.has_offset) << 2 | int(problem.sqrt_mode) << 3
    return TilePlan(strategy, platform.name, key, fields["numCore"], platform.sys_workspace_bytes, fields, notes)


def _split(starts: np.ndarray, lengths: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each ``[start, start+length)`` into ``step``-sized pieces: (owner, piece start, piece length)."""
    counts = -(-lengths // step)
    owner = np.repeat(np.arange(len(starts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(counts.sum()) - first
    piece = starts[owner] + k * step
    return owner, piece, np.minimum(step, starts[owner] + lengths[owner] - piece)


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
