"""Tile tables, and the few grids they are made of, so that no plan has to list its tiles to be described.

A strategy describes its tiles as *grids*: a rectangle of the ``[dim0, dim1]`` view that one core walks in
row bands of ``tile_rows``, each band cut every ``tile_cols`` columns (the last band and piece shorter), and
walks again ``reps`` times, each time ``stride`` rows further down (arch35's per-head kernel restarts its bands
at every head group). A plan has a few grids per core, so its tile count, per-core summary and largest tile are arithmetic on them;
the table itself (``TILE_DTYPE`` rows in each core's order) is built only when a kernel or the simulator
asks for it. Counts and sums are exact Python ints where int64 could overflow.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["TILE_DTYPE", "GRID_DTYPE", "CoreTiles", "grid", "grids", "from_fields", "from_table", "table", "count",
           "counts", "core_offsets", "largest", "per_core"]

TILE_DTYPE = np.dtype([("core", "<i8"), ("row0", "<i8"), ("nrows", "<i8"), ("col0", "<i8"), ("ncols", "<i8")])
GRID_DTYPE = np.dtype(TILE_DTYPE.descr + [("tile_rows", "<i8"), ("tile_cols", "<i8"), ("reps", "<i8"),
                                          ("stride", "<i8")])
_SAFE = 1 << 62         # below this a product or sum of int64 values cannot have overflowed


class CoreTiles(NamedTuple):
    """One core's share: how many tiles, how many elements, and its largest tile (rows, columns)."""

    tiles: int
    elements: int
    largest: tuple[int, int]


def grid(core: int, r0: int, r1: int, c0: int, c1: int, tile_rows: int, tile_cols: int, reps: int = 1,
         stride: int = 0) -> tuple:
    """Rows ``[r0, r1)`` x columns ``[c0, c1)`` of ``core``, in tiles of up to ``tile_rows`` x ``tile_cols``; then
    the same ``stride`` rows further down, ``reps`` times in all."""
    return core, r0, r1 - r0, c0, c1 - c0, tile_rows, tile_cols, reps, stride


def grids(rows) -> np.ndarray:
    """``GRID_DTYPE`` array of ``grid(...)`` tuples in execution order; empty rectangles dropped."""
    out = np.array([tuple(int(v) for v in r) for r in rows], GRID_DTYPE)
    return out[(out["nrows"] > 0) & (out["ncols"] > 0) & (out["reps"] > 0)]


def from_fields(f) -> np.ndarray:
    """The grids CANN's kernel derives from its tiling data: core ``c`` owns ``blockFactor`` rows (blockAxis 0)
    or columns (blockAxis 1) from ``c * blockFactor``, the last core ``blockTailFactor``; tiles of ``baseN`` x
    ``baseLen`` (a single-row view for blockAxis 1)."""
    n, bf, dim1 = f["numCore"], f["blockFactor"], f["dim1"]
    lengths = [bf] * (n - 1) + [f["blockTailFactor"]] if n else []
    if f["blockAxis"] == 1:
        return grids(grid(c, 0, 1, c * bf, c * bf + k, 1, f["baseLen"]) for c, k in enumerate(lengths))
    cols = max(1, min(f["baseLen"], dim1))
    return grids(grid(c, c * bf, c * bf + k, 0, dim1, f["baseN"], cols) for c, k in enumerate(lengths))


def from_table(tiles) -> np.ndarray:
    """Grids of one tile each: any tile table (``TILE_DTYPE`` rows or int64 ``[n, 5]``) as a plan's grids."""
    tiles = np.asarray(tiles)
    if tiles.dtype.names is None:
        tiles = tiles.reshape(-1, len(TILE_DTYPE.names))
    out = np.zeros(len(tiles), GRID_DTYPE)
    for i, name in enumerate(TILE_DTYPE.names):
        out[name] = tiles[name] if tiles.dtype.names else tiles[:, i]
    out["tile_rows"], out["tile_cols"], out["reps"] = out["nrows"], out["ncols"], 1
    return out


def _exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` elementwise, as Python ints (object) where int64 products or their sum could overflow."""
    if len(a) and float(a.max()) * float(b.max()) * len(a) >= _SAFE:
        return a.astype(object) * b.astype(object)
    return a * b


def _bands(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row bands (of one repeat) and column pieces per grid."""
    return -(-g["nrows"] // g["tile_rows"]), -(-g["ncols"] // g["tile_cols"])


def counts(g: np.ndarray) -> np.ndarray:
    """Tiles per grid."""
    return _exact(_exact(*_bands(g)), g["reps"])


def count(g: np.ndarray) -> int:
    """Tiles in all grids, exact."""
    return int(counts(g).sum())


def core_offsets(g: np.ndarray, cores: int) -> np.ndarray:
    """int64 ``[cores + 1]``: core ``c`` runs tiles ``offsets[c]:offsets[c + 1]`` of the table."""
    ends = np.concatenate([[0], np.cumsum(counts(g))])
    return np.array(ends[np.searchsorted(g["core"], np.arange(cores + 1))].tolist(), np.int64)


def _first_tiles(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of each grid's first tile: its largest in both directions."""
    return np.minimum(g["tile_rows"], g["nrows"]), np.minimum(g["tile_cols"], g["ncols"])


def largest(g: np.ndarray) -> tuple[int, int, int, int]:
    """``(elements, columns, rows, cols)``: the most elements and the most columns any tile has, and the
    first tile (in execution order) with that many elements."""
    if not len(g):
        return 0, 0, 0, 0
    rows, cols = _first_tiles(g)
    area = rows * cols
    i = int(np.argmax(area))
    return int(area[i]), int(cols.max()), int(rows[i]), int(cols[i])


def per_core(g: np.ndarray, cores: int) -> tuple[CoreTiles, ...]:
    """Each core's tiles, elements and largest tile, from the grids alone."""
    bounds = np.searchsorted(g["core"], np.arange(cores + 1))
    tiles, elements = counts(g), _exact(_exact(g["nrows"], g["ncols"]), g["reps"])
    out = []
    for c in range(cores):
        sel = slice(int(bounds[c]), int(bounds[c + 1]))
        _, _, rows, cols = largest(g[sel])
        out.append(CoreTiles(int(tiles[sel].sum()), int(elements[sel].sum()), (rows, cols)))
    return tuple(out)


def table(g: np.ndarray) -> np.ndarray:
    """The tiles of ``g``, read-only ``TILE_DTYPE`` rows: grid after grid, repeat after repeat, band after band,
    piece after piece."""
    nb, nc = _bands(g)
    per_rep = nb * nc
    n = per_rep * g["reps"]
    owner = np.repeat(np.arange(len(g)), n)
    k = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    again, k = np.divmod(k, per_rep[owner])
    band, piece = np.divmod(k, nc[owner])
    core, row0, nrows, col0, ncols, tile_rows, tile_cols, _, stride = (g[name][owner] for name in GRID_DTYPE.names)
    row0 = row0 + again * stride
    out = np.empty(len(k), TILE_DTYPE)
    out["core"] = core
    out["row0"] = row0 + band * tile_rows
    out["nrows"] = np.minimum(tile_rows, row0 + nrows - out["row0"])
    out["col0"] = col0 + piece * tile_cols
    out["ncols"] = np.minimum(tile_cols, col0 + ncols - out["col0"])
    out.flags.writeable = False
    return out
