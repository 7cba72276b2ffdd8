"""Strategies: who decides how the work is split. ``"cann"`` runs the platform architecture's CANN host
tiling (``HOST_TILINGS``, chosen by ``Platform.arch``); the others are experiments built on CANN's UB cost
per element. A ``Strategy`` names one and carries the user's parameters.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import numpy as np

from ..core import platforms
from . import arch22, tiles
from .arch22 import BUFF_NUM, GM_BLOCK_ELEMS, RESERVE_UB, REPEAT_SIZE, ceil_align, ceil_div, floor_align
from .problem import Mode, Problem

__all__ = ["Strategy", "STRATEGIES", "HOST_TILINGS", "HostTiling", "Layout", "MIN_UB_BUDGET", "host"]

MIN_UB_BUDGET = 16384   # smallest UB budget a user may set: every strategy still finds a tile
BASE_LEN_ALIGN = 32     # a user's tile length: whole 32-byte blocks of int8 x, a multiple of every int4 group
MAX_BUFFERS = 3


class HostTiling(NamedTuple):
    """One architecture's CANN host tiling: (mode, tiling data, notes) for a problem, the same for an empty
    tensor (mode, tiling data), and the tiling key of a mode."""

    tiling: Callable[[Problem, int, int, int], tuple[int, dict, tuple[str, ...]]]
    empty: Callable[[Problem], tuple[int, dict]]
    tiling_key: Callable[[int, Problem], int]


# platforms.ARCHITECTURES -> its host tiling; a new NPU generation adds a module and a row here.
HOST_TILINGS = {"arch22": HostTiling(arch22.host_tiling, arch22.empty_tiling, arch22.calc_tiling_key)}


def host(platform: platforms.Platform) -> HostTiling:
    """The host tiling of ``platform``'s architecture."""
    return HOST_TILINGS[platform.arch]


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


class Layout(NamedTuple):
    """What a strategy decides: the tiling mode, CANN-style fields, its tiles as grids (``tiles``), notes."""

    mode: int
    fields: dict
    grids: np.ndarray
    notes: tuple[str, ...]


# -- cann ------------------------------------------------------------------------------------------------------

def _override_shape(fields: dict, s: Strategy) -> tuple[str, ...]:
    """Apply the user's ``base_n`` / ``base_len`` to fields whose tiles ``tiles.from_fields`` derives."""
    notes = []
    if s.base_n is not None:
        if fields["blockAxis"] == 1:
            notes.append("base_n ignored: this plan's view is a single row")
        else:
            fields["baseN"] = min(s.base_n, fields["blockFactor"])
            if fields["baseLenEx"] != 1:    # NDDMA gathers baseN rows into one UB tile
                fields["baseLenEx"] = ceil_align(fields["baseN"] * fields["dim1"], REPEAT_SIZE)
    if s.base_len is not None:
        fields["baseLen"] = s.base_len
    if s.base_n is not None or s.base_len is not None:
        notes.append(f"tile shape set by the user: baseN {fields['baseN']}, baseLen {fields['baseLen']}")
    return tuple(notes)


def _cann(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """The platform architecture's CANN host tiling, corrected where CANN's plan is wrong; the user's tile shape."""
    mode, fields, notes = host(platform).tiling(p, ub, platform.vector_cores, s.buffers)
    notes += _override_shape(fields, s)
    return Layout(mode, fields, tiles.from_fields(fields), notes)


# -- experiments -----------------------------------------------------------------------------------------------

def _capacity(p: Problem, ub: int, s: Strategy, mode: int) -> int:
    """Elements per tile of our own strategies: CANN's per-element UB cost, whole 64-element repeats."""
    fit = arch22.calc_max_base_len(ub - RESERVE_UB, p, mode, s.buffers)
    return max(REPEAT_SIZE, floor_align(fit, REPEAT_SIZE))


def _experiment_mode(p: Problem) -> int:
    return Mode.PER_TENSOR if p.per_tensor else Mode.PER_CHANNEL


def _tile_shape(dim1: int, cap: int, max_rows: int, s: Strategy) -> tuple[int, int]:
    """(rows, columns) of a tile: whole rows while a row fits ``cap``, else one row in column pieces."""
    if dim1 <= cap:
        rows, cols = max(1, min(cap // max(dim1, 1), max_rows)), dim1
    else:
        rows, cols = 1, cap
    return (s.base_n or rows), min(s.base_len or cols, max(dim1, 1))


def _row_batched(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Rows split over every core (CANN's blockFactor/tail), each tile as many whole rows as UB holds."""
    mode = _experiment_mode(p)
    dim0, dim1 = p.rows_view
    block_factor = ceil_div(dim0, platform.vector_cores)
    num_core = ceil_div(dim0, block_factor)           # fewest cores at that factor: never past the tensor
    base_n, base_len = _tile_shape(dim1, _capacity(p, ub, s, mode), block_factor, s)
    f = arch22.tiling_data(p, (dim0, dim1), numCore=num_core, blockAxis=0, blockFactor=block_factor,
                blockTailFactor=dim0 - block_factor * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, tiles.from_fields(f), (f"row-batched: {dim0} rows of {dim1} over {num_core} cores, "
                                                  f"tiles of up to {base_n} x {base_len}",))


def _equal_bytes(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Every core the same bytes: the flattened tensor cut at multiples of 512 elements (512 B of x).

    A core's share may start and end inside a row; its tiles follow row ends, so each is a rectangle.
    """
    mode = _experiment_mode(p)
    dim0, dim1 = p.flat_view if mode == Mode.PER_TENSOR else p.rows_view
    numel = dim0 * dim1
    share = ceil_align(ceil_div(numel, platform.vector_cores), GM_BLOCK_ELEMS)
    num_core = ceil_div(numel, share)
    base_n, base_len = _tile_shape(dim1, _capacity(p, ub, s, mode), share // max(dim1, 1) or 1, s)
    pieces = []
    for core in range(num_core):
        a, b = core * share, min(numel, (core + 1) * share)
        r0, c0, r1, c1 = a // dim1, a % dim1, b // dim1, b % dim1
        if r0 == r1:                      # inside one row
            pieces.append(tiles.grid(core, r0, r0 + 1, c0, c1, 1, base_len))
            continue
        if c0:                            # head: the rest of a row
            pieces.append(tiles.grid(core, r0, r0 + 1, c0, dim1, 1, base_len))
            r0 += 1
        pieces.append(tiles.grid(core, r0, r1, 0, dim1, base_n, base_len))
        if c1:                            # tail: the start of a row
            pieces.append(tiles.grid(core, r1, r1 + 1, 0, c1, 1, base_len))
    f = arch22.tiling_data(p, (dim0, dim1), numCore=num_core, blockAxis=1, blockFactor=share,
                blockTailFactor=numel - share * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, tiles.grids(pieces), (
        f"equal-bytes: each core owns blockFactor {share} consecutive elements of the flattened "
        f"[{dim0}, {dim1}] view; tiles of up to {base_n} x {base_len} cut at row ends",))


def _column_split(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Cores own column bands (whole repeats wide) and walk every row: a core loads its scale/offset once."""
    mode = _experiment_mode(p)
    dim0, dim1 = p.rows_view
    band = ceil_align(ceil_div(dim1, platform.vector_cores), REPEAT_SIZE)
    num_core = ceil_div(dim1, band)
    cap = _capacity(p, ub, s, mode)
    base_n = s.base_n or max(1, cap // band)
    base_len = min(s.base_len or min(band, cap), band)
    grids = tiles.grids(tiles.grid(c, 0, dim0, c * band, min(dim1, (c + 1) * band), base_n, base_len)
                        for c in range(num_core))
    f = arch22.tiling_data(p, (dim0, dim1), numCore=num_core, blockAxis=1, blockFactor=band,
                blockTailFactor=dim1 - band * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, grids, (f"column-split: each core owns blockFactor {band} columns of all {dim0} "
                                   f"rows; tiles of up to {base_n} x {base_len}",))


STRATEGIES: dict[str, Callable[[Problem, platforms.Platform, int, Strategy], Layout]] = {
    "cann": _cann,
    "equal-bytes": _equal_bytes,
    "row-batched": _row_batched,
    "column-split": _column_split,
}
