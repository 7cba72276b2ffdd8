"""The plan record (``TilePlan``) and ``plan()``: a call's problem, the platform and a strategy in, a plan out.

Plans are pure values and cached, so a plan must not change once made: its tiling data is a read-only
mapping, its grids and tile table read-only arrays. The tile table is built on first use from the grids
(``tiles``), so a plan of any shape is made in microseconds and described without listing its tiles.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from ..core import platforms
from ..core.dtypes import DTYPE_NAMES, DataType
from . import tiles, ub
from .problem import Problem, ScaleUse
from .strategies import BUFF_NUM, STRATEGIES, Strategy, host

__all__ = ["TilePlan", "UbRegion", "plan", "plan_problem"]

INT64_MAX = (1 << 63) - 1   # CANN's tiling data fields are int64


class UbRegion(NamedTuple):
    """``slots`` consecutive UB buffers of ``nbytes`` each, starting at byte ``offset`` of a core's UB."""

    name: str
    offset: int
    nbytes: int
    slots: int

    @property
    def end(self) -> int:
        return self.offset + self.nbytes * self.slots


def _frozen(array: np.ndarray) -> np.ndarray:
    """``array`` (C-contiguous) through a read-only buffer: not writeable, and it cannot be made so."""
    readonly = memoryview(np.ascontiguousarray(array)).cast("B").toreadonly()
    return np.frombuffer(readonly, array.dtype).reshape(array.shape)


@dataclasses.dataclass(frozen=True, eq=False)
class TilePlan:
    """An immutable tile plan: the architecture's tiling data, the tiles each core runs, and its UB map.

    ``grids`` (``tiles.GRID_DTYPE``) describe the tiles; ``tile_table`` lists them (``tiles.TILE_DTYPE``:
    core, row0, nrows, col0, ncols; grouped by core in ascending order, each core's in execution order),
    built on first use. ``tiling_data`` is a read-only mapping in the architecture's field order. ``scale``
    says which scale element each element of the ``dims`` view uses; ``mode`` is a number of the
    architecture's mode class (``mode_name``), which launch code need not read.

    ``block_dim`` is what the architecture's launch sets: arch22 numCore, arch35 every vector core (cores
    from numCore on have no tiles and return at once). 0 means an empty tensor: nothing runs.
    """

    strategy: str
    platform: str
    tiling_key: int
    mode: int                   # the layout the tiling key encodes, in the architecture's Mode / RegbaseMode
    block_dim: int
    workspace_size: int
    tiling_data: Mapping[str, int]
    notes: tuple[str, ...] = ()
    buffers: int = BUFF_NUM
    ub_map: tuple[UbRegion, ...] = ()
    ub_budget: int = 0
    grids: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, tiles.GRID_DTYPE), repr=False)
    problem: Problem | None = dataclasses.field(default=None, repr=False)
    profile: platforms.Platform | None = dataclasses.field(default=None, repr=False)
    view: tuple[int, int] | None = None     # the tiles' [rows, columns] view where it is not [dim0, dim1]
    scale: ScaleUse = dataclasses.field(kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "tiling_data", types.MappingProxyType(dict(self.tiling_data)))
        g = np.array(self.grids, tiles.GRID_DTYPE, copy=True).reshape(-1)
        if g.size and (np.diff(g["core"]) < 0).any():
            raise ValueError("tile_table: expected tiles grouped by core in ascending order")
        if g.size and min(g[k].min() for k in ("nrows", "ncols", "tile_rows", "tile_cols", "reps")) < 1:
            raise ValueError("tile_table: expected tiles of at least one row and one column")
        object.__setattr__(self, "grids", _frozen(g))
        object.__setattr__(self, "ub_map", tuple(UbRegion(*r) for r in self.ub_map))
        object.__setattr__(self, "scale", ScaleUse(*self.scale))

    def with_tiles(self, table) -> "TilePlan":
        """This plan with other tiles (``TILE_DTYPE`` rows or int64 ``[n, 5]``), e.g. to study a variation."""
        return dataclasses.replace(self, grids=tiles.from_table(table))

    def _key(self):
        return (self.strategy, self.platform, self.tiling_key, self.mode, self.block_dim, self.workspace_size,
                tuple(self.tiling_data.items()), self.notes, self.buffers, self.ub_map, self.ub_budget,
                self.grids.tobytes(), self.view, self.scale)

    def __eq__(self, other):
        return isinstance(other, TilePlan) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):   # a mapping proxy does not pickle: rebuild from the fields
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return _rebuild, (dict(values, tiling_data=dict(self.tiling_data)),)

    def to_bytes(self) -> bytes:
        """The tiling data as little-endian int64, in the architecture's field order (CANN's struct)."""
        return np.array(list(self.tiling_data.values()), dtype="<i8").tobytes()

    @property
    def dims(self) -> tuple[int, int]:
        """The ``[rows, columns]`` view the tiles cut: ``view`` if set (arch35 per-head: ``[dim0 * dim1, dim2]``),
        else ``[dim0, dim1]``."""
        return self.view if self.view is not None else (self.tiling_data["dim0"], self.tiling_data["dim1"])

    @property
    def mode_name(self) -> str:
        """``mode``'s name in the plan's architecture (``PER_HEAD``, ...): the numbers differ between them."""
        modes = host(self.profile).modes
        return next(name for name, value in vars(modes).items() if name.isupper() and value == self.mode)

    @property
    def ub_bytes(self) -> int:
        """Peak UB one core allocates: every region's slots, as the staged kernel lays them out."""
        return ub.peak(self.ub_map)

    def region(self, name: str) -> UbRegion | None:
        return next((r for r in self.ub_map if r.name == name), None)

    @functools.cached_property
    def num_tiles(self) -> int:
        """Tiles in the plan, counted from the grids (exact at any size)."""
        return tiles.count(self.grids)

    @functools.cached_property
    def tile_table(self) -> np.ndarray:
        """The tiles, read-only ``tiles.TILE_DTYPE`` rows, built on first use."""
        return _frozen(tiles.table(self.grids))

    @functools.cached_property
    def core_offsets(self) -> np.ndarray:
        """int64 ``[block_dim + 1]``: core ``c`` runs tiles ``core_offsets[c]:core_offsets[c + 1]``."""
        return _frozen(tiles.core_offsets(self.grids, self.block_dim))

    def per_core(self) -> tuple[tiles.CoreTiles, ...]:
        """Each core's tiles, elements and largest tile, without building the table."""
        return tiles.per_core(self.grids, self.block_dim)

    def tiles(self) -> Iterator[tuple[int, int, int, int, int]]:
        """Yield ``(core, row0, nrows, col0, ncols)`` over the ``dims`` view."""
        yield from self.tile_table.tolist()


def _rebuild(values: dict) -> TilePlan:
    return TilePlan(**values)


def _dtype(value, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    if isinstance(value, str) and value.lower() in DTYPE_NAMES:
        return DTYPE_NAMES[value.lower()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return DataType(int(value))
    raise ValueError(f"{what}: expected a dtype name ({', '.join(sorted(DTYPE_NAMES))}) or a DataType, "
                     f"got {value!r}")


def plan(x_shape, *, x_dtype, scale_size: int | None = None, scale_dtype, has_offset: bool, dst_type,
         sqrt_mode: bool, platform="Ascend910B", strategy: str | Strategy = "cann", scale_shape=None) -> TilePlan:
    """Plan how ``x`` of ``x_shape`` is split over cores and UB tiles.

    The scale is ``scale_shape`` (arch35 reads it: per head, multi-dimensional) or a vector of ``scale_size``
    elements; give either, or both if they agree. ``strategy`` is a name from ``STRATEGIES`` or a ``Strategy``
    with parameters; ``platform`` a name or a ``Platform``. Raises ValueError for parameters that do not fit the
    platform's UB, and for views whose plan needs numbers beyond int64.
    """
    x_dtype = _dtype(x_dtype, "x_dtype")
    shape = tuple(int(d) for d in x_shape)
    if x_dtype == DataType.INT32:
        shape = (*shape[:-1], shape[-1] * 8) if shape else (8,)
    scale_size, scale_shape = _scale(scale_size, scale_shape)
    problem = Problem(shape, x_dtype, scale_size, _dtype(scale_dtype, "scale_dtype"), bool(has_offset),
                      _dtype(dst_type, "dst_type"), bool(sqrt_mode), scale_shape)
    return plan_problem(problem, platforms.get(platform), Strategy.of(strategy))


def _scale(size, shape) -> tuple[int, tuple[int, ...] | None]:
    """(scale_size, scale_shape) from what ``plan`` was given: a shape's size, or a size alone (no shape)."""
    if shape is None:
        if size is None:
            raise ValueError("scale_size / scale_shape: expected the scale's size or shape, got neither")
        return int(size), None
    shape = tuple(int(d) for d in shape)
    if size is not None and int(size) != math.prod(shape):
        raise ValueError(f"scale_size / scale_shape: scale_size {size} is not the size of scale_shape {shape} "
                         f"({math.prod(shape)})")
    return math.prod(shape), shape


def _check_int64(s: Strategy, fields: dict) -> None:
    big = next((k for k, v in fields.items() if not -INT64_MAX - 1 <= v <= INT64_MAX), None)
    if big is not None:
        raise ValueError(f"x_shape: the {s.name} plan's {big} would be {fields[big]}, beyond the int64 of "
                         f"CANN's tiling data")


@functools.lru_cache(maxsize=256)
def _plan_cached(problem: Problem, platform: platforms.Platform, s: Strategy) -> TilePlan:
    budget = platform.ub_bytes if s.ub_budget is None else s.ub_budget
    if budget > platform.ub_bytes:
        raise ValueError(f"ub_budget: expected at most {platform.name}'s UB of {platform.ub_bytes} bytes, "
                         f"got {budget}")
    h = host(platform)
    common = dict(buffers=s.buffers, ub_budget=budget, problem=problem, profile=platform)
    if problem.numel == 0:
        mode, fields = h.empty(problem)
        return TilePlan(s.name, platform.name, h.tiling_key(mode, problem), mode, 0, 0, fields,
                        ("empty tensor: nothing to run",), view=h.view(mode, fields), scale=h.scale(mode, fields),
                        **common)
    try:
        layout = STRATEGIES[s.name](problem, platform, budget, s)
    except OverflowError:   # a tile coordinate beyond int64
        raise ValueError(f"x_shape: the {s.name} plan of this {problem.numel}-element view needs tile "
                         f"coordinates beyond int64") from None
    mode, fields = layout.mode, layout.fields
    _check_int64(s, fields)
    result = TilePlan(s.name, platform.name, h.tiling_key(mode, problem), mode,
                      h.block_dim(fields, platform.vector_cores), h.workspace(platform), fields, layout.notes,
                      grids=layout.grids, ub_map=h.ub_map(problem, mode, fields, layout.grids, s.buffers),
                      view=h.view(mode, fields), scale=h.scale(mode, fields), **common)
    if result.ub_bytes > budget:
        _, _, rows, widest = tiles.largest(layout.grids)
        raise ValueError(f"{s.describe()}: its largest tile ({rows} x {widest}) with {s.buffers} buffers needs "
                         f"{result.ub_bytes} bytes of UB, more than the budget of {budget}; use a smaller "
                         f"base_n/base_len or fewer buffers")
    return result


def plan_problem(problem: Problem, platform: platforms.Platform, strategy: str | Strategy = "cann") -> TilePlan:
    """``plan`` for a ``Problem``; cached, since a plan is pure and the same call repeats."""
    return _plan_cached(problem, platform, Strategy.of(strategy))
