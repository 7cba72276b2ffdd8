"""Strategies: who decides how the work is split. ``"cann"`` runs the platform architecture's CANN host
tiling (``HOST_TILINGS``, chosen by ``Platform.arch``); the others are experiments built on CANN's UB cost
per element. A ``Strategy`` names one and carries the user's parameters.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, NamedTuple

import numpy as np

from ..core import platforms
from . import arch22, arch35, tiles
from .arch22 import BUFF_NUM, GM_BLOCK_ELEMS, REPEAT_SIZE, ceil_align, ceil_div, floor_align
from .problem import Mode, Problem, RegbaseMode, ScaleUse

__all__ = ["Strategy", "STRATEGIES", "HOST_TILINGS", "HostTiling", "Layout", "MIN_UB_BUDGET", "host"]

MIN_UB_BUDGET = 16384   # smallest UB budget a user may set: every strategy still finds a tile
BASE_LEN_ALIGN = 32     # a user's tile length: whole 32-byte blocks of int8 x, a multiple of every int4 group
MAX_BUFFERS = 3


class HostTiling(NamedTuple):
    """One architecture's CANN host tiling and what its kernels make of the tiling data: everything ``plan()``
    and the strategies need that differs between architectures. Each is a function of its architecture's
    module (``arch22``, ``arch35``), which documents it."""

    modes: type             # the tiling key's layout modes (``Mode``, ``RegbaseMode``): what a plan's mode names
    tiling: Callable[[Problem, int, int, int], tuple[int, dict, tuple[str, ...]]]  # (p, UB, cores, buffers)
    empty: Callable[[Problem], tuple[int, dict]]                    # an empty x: (mode, tiling data)
    tiling_key: Callable[[int, Problem], int]
    tiling_data: Callable[..., dict]                                # (p, merged dims, **fields), in CANN's order
    grids: Callable[[int, Mapping], np.ndarray]                     # (mode, fields): the kernel's tiles
    view: Callable[[int, Mapping], tuple[int, int]]                 # (mode, fields): the [rows, columns] tiles cut
    scale: Callable[[int, Mapping], ScaleUse]                       # (mode, fields)
    ub_map: Callable[[Problem, int, Mapping, np.ndarray, int], tuple]  # (p, mode, fields, grids, buffers)
    block_dim: Callable[[Mapping, int], int]                        # (fields, vector cores): the launch's
    workspace: Callable[[platforms.Platform], int]
    capacity: Callable[[Problem, int, int, int], int]               # (p, UB, mode, buffers): a one-row tile
    experiment_shape: Callable[[Problem, bool], tuple]              # (p, flat): (mode, merged dims, view)
    with_tile_shape: Callable[[int, dict, int | None, int | None], tuple[dict, tuple[str, ...]]]
    broadcast: frozenset    # modes whose kernels replicate scale/offset over the whole tile (ND-DMA)


def _host_tiling(module, modes: type) -> HostTiling:
    """An architecture module's pieces under the names both modules give them."""
    return HostTiling(modes, module.host_tiling, module.empty_tiling, module.calc_tiling_key, module.tiling_data,
                      module.kernel_grids, module.plan_view, module.plan_scale, module.plan_ub_map,
                      module.launch_block_dim, module.workspace_size, module.tile_capacity, module.experiment_shape,
                      module.with_tile_shape, module.BROADCAST_MODES)


# platforms.ARCHITECTURES -> its host tiling; a new NPU generation adds a module and a row here.
HOST_TILINGS = {"arch22": _host_tiling(arch22, Mode), "arch35": _host_tiling(arch35, RegbaseMode)}


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

def _override_shape(h: HostTiling, mode: int, fields: dict, s: Strategy) -> tuple[dict, tuple[str, ...]]:
    """The user's ``base_n`` / ``base_len`` in the host tiling's fields, as its architecture takes them."""
    if s.base_n is None and s.base_len is None:
        return fields, ()
    fields, notes = h.with_tile_shape(mode, fields, s.base_n, s.base_len)
    return fields, notes + (f"tile shape set by the user: baseN {fields['baseN']}, baseLen {fields['baseLen']}",)


def _cann(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """The platform architecture's CANN host tiling, corrected where CANN's plan is wrong; the user's tile shape."""
    h = host(platform)
    mode, fields, notes = h.tiling(p, ub, platform.vector_cores, s.buffers)
    fields, more = _override_shape(h, mode, fields, s)
    return Layout(mode, fields, h.grids(mode, fields), notes + more)


# -- experiments -----------------------------------------------------------------------------------------------
# Each cuts the [rows, columns] view of its architecture's kernel for the problem's scale (per head [S * N, D]:
# a tile's rows may span head groups, their scale rows taken mod N, which CANN's tiles never do) and writes
# that architecture's tiling data and mode numbers; the fields describe the split, the tiles are the plan.

def _capacity(h: HostTiling, p: Problem, ub: int, s: Strategy, mode: int) -> int:
    """Elements per tile of our own strategies: CANN's per-element UB cost, whole 64-element repeats."""
    return max(REPEAT_SIZE, floor_align(h.capacity(p, ub, mode, s.buffers), REPEAT_SIZE))


def _tile_shape(dim1: int, cap: int, max_rows: int, s: Strategy) -> tuple[int, int]:
    """(rows, columns) of a tile: whole rows while a row fits ``cap``, else one row in column pieces; the user's
    rows and columns instead, at most ``max_rows`` and ``dim1`` (the fields say the tiles' largest shape, from
    which arch35's kernels size their UB queues)."""
    if dim1 <= cap:
        rows, cols = max(1, min(cap // max(dim1, 1), max_rows)), dim1
    else:
        rows, cols = 1, cap
    return min(s.base_n or rows, max_rows), min(s.base_len or cols, max(dim1, 1))


def _row_batched(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Rows split over every core (CANN's blockFactor/tail), each tile as many whole rows as UB holds."""
    h = host(platform)
    mode, dims, (rows, cols) = h.experiment_shape(p, False)
    block_factor = ceil_div(rows, platform.vector_cores)
    num_core = ceil_div(rows, block_factor)           # fewest cores at that factor: never past the tensor
    base_n, base_len = _tile_shape(cols, _capacity(h, p, ub, s, mode), block_factor, s)
    grids = tiles.grids(tiles.grid(c, c * block_factor, min(rows, (c + 1) * block_factor), 0, cols, base_n, base_len)
                        for c in range(num_core))
    f = h.tiling_data(p, dims, numCore=num_core, blockAxis=0, blockFactor=block_factor,
                      blockTailFactor=rows - block_factor * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, grids, (f"row-batched: {rows} rows of {cols} over {num_core} cores, "
                                   f"tiles of up to {base_n} x {base_len}",))


def _equal_bytes(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Every core the same bytes: the flattened tensor cut at multiples of 512 elements (512 B of x).

    A core's share may start and end inside a row; its tiles follow row ends, so each is a rectangle.
    """
    h = host(platform)
    mode, dims, (dim0, dim1) = h.experiment_shape(p, True)
    numel = dim0 * dim1
    share = ceil_align(ceil_div(numel, platform.vector_cores), GM_BLOCK_ELEMS)
    num_core = ceil_div(numel, share)
    base_n, base_len = _tile_shape(dim1, _capacity(h, p, ub, s, mode), max(1, min(dim0, share // dim1)), s)
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
    f = h.tiling_data(p, dims, numCore=num_core, blockAxis=1, blockFactor=share,
                      blockTailFactor=numel - share * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, tiles.grids(pieces), (
        f"equal-bytes: each core owns blockFactor {share} consecutive elements of the flattened "
        f"[{dim0}, {dim1}] view; tiles of up to {base_n} x {base_len} cut at row ends",))


def _column_split(p: Problem, platform: platforms.Platform, ub: int, s: Strategy) -> Layout:
    """Cores own column bands (whole repeats wide) and walk every row: per channel a core loads its scale/offset
    once."""
    h = host(platform)
    mode, dims, (dim0, dim1) = h.experiment_shape(p, False)
    band = ceil_align(ceil_div(dim1, platform.vector_cores), REPEAT_SIZE)
    num_core = ceil_div(dim1, band)
    cap = _capacity(h, p, ub, s, mode)
    base_n = min(s.base_n or max(1, cap // band), dim0)
    base_len = min(s.base_len or min(band, cap), band)
    grids = tiles.grids(tiles.grid(c, 0, dim0, c * band, min(dim1, (c + 1) * band), base_n, base_len)
                        for c in range(num_core))
    f = h.tiling_data(p, dims, numCore=num_core, blockAxis=1, blockFactor=band,
                      blockTailFactor=dim1 - band * (num_core - 1), baseN=base_n, baseLen=base_len)
    return Layout(mode, f, grids, (f"column-split: each core owns blockFactor {band} columns of all {dim0} "
                                   f"rows; tiles of up to {base_n} x {base_len}",))


STRATEGIES: dict[str, Callable[[Problem, platforms.Platform, int, Strategy], Layout]] = {
    "cann": _cann,
    "equal-bytes": _equal_bytes,
    "row-batched": _row_batched,
    "column-split": _column_split,
}
