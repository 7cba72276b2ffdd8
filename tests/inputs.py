"""Operator inputs for tests: x of every storage kind from plain int8 values (antiquant.core.reference's one
generator, under the names the tests use) and hypothesis strategies over them."""

import ml_dtypes
import numpy as np

from antiquant.core.dtypes import SCALE_TYPES, names_of, numpy_dtype_of
from antiquant.core.reference import X_GROUP, X_KINDS
from antiquant.core.reference import random_values as values_for  # (kind, shape, rng) -> int8 values
from antiquant.core.reference import stored_x as x_input  # (kind, values) -> x of that storage

__all__ = ["X_KINDS", "SCALE_DTYPES", "x_input", "values_for", "assert_tiles_cover", "float_bit_patterns",
           "operator_calls"]

SCALE_DTYPES = {name: numpy_dtype_of(dt).type for name, dt in names_of(SCALE_TYPES).items()}


def assert_tiles_cover(plan, group: int = 1) -> None:
    """The plan's tile table covers its ``[dim0, dim1]`` view exactly once, in int64, at any size.

    Works on the tile rectangles alone (any strategy's shapes), not on how the plan made them: rows are cut at
    every distinct tile edge, and in each such row band the tiles spanning it, in column order, must run end to
    end from column 0 to dim1 (no gap, no overlap). Memory is linear in (tile, band) pairs, which in every
    strategy's plans is about the tile count; nothing of the size of the view or of its edge grid is made.
    ``group``: x elements per storage word (2 for packed int4, 8 for INT32), which column starts and widths
    must respect.
    """
    dim0, dim1 = plan.dims
    table = plan.tile_table
    names = ("core", "row0", "nrows", "col0", "ncols")
    assert table.dtype.names == names and all(table.dtype[n] == np.int64 for n in names)
    core, row0, nrows, col0, ncols = (table[n] for n in names)
    assert (nrows > 0).all() and (ncols > 0).all()
    assert ((core >= 0) & (core < plan.block_dim)).all()
    assert (col0 % group == 0).all() and (ncols % group == 0).all()
    assert (row0 >= 0).all() and (row0 + nrows <= dim0).all() and (col0 >= 0).all() and (col0 + ncols <= dim1).all()
    area = int((nrows * ncols).sum(dtype=np.int64))
    assert area == dim0 * dim1, f"tiles cover {area} elements of {dim0 * dim1}"
    if not len(table):
        return
    edges = np.sort(np.concatenate([row0, row0 + nrows, [0, dim0]]))
    edges = edges[np.r_[True, edges[1:] != edges[:-1]]]          # distinct (np.unique hashes: 10x slower)
    first = np.searchsorted(edges, row0)
    spans = np.searchsorted(edges, row0 + nrows) - first          # row bands each tile spans
    tile = np.repeat(np.arange(len(table)), spans)
    band = np.repeat(first, spans) + np.arange(len(tile)) - np.repeat(np.cumsum(spans) - spans, spans)
    order = np.lexsort((col0[tile], band))
    band, start = band[order], col0[tile[order]]
    end = start + ncols[tile[order]]
    opens = np.r_[True, band[1:] != band[:-1]]                    # the first piece of each band
    closes = np.r_[opens[1:], True]                              # the last piece of each band
    assert np.array_equal(band[opens], np.arange(edges.size - 1)), "a row band no tile covers"
    breaks = int((start[opens] != 0).sum() + (end[closes] != dim1).sum() + (start[1:] != end[:-1])[~opens[1:]].sum())
    assert not breaks, f"{breaks} places where the tiles of a row band leave a gap or overlap"


def float_bit_patterns(dtype):
    """Any float32 / bfloat16 value drawn as a raw bit pattern: NaN, inf, subnormals and signed zeros included."""
    from hypothesis import strategies as st
    if np.dtype(dtype) == np.float32:
        return st.integers(0, 2**32 - 1).map(lambda b: np.array([b], np.uint32).view(np.float32)[0])
    return st.integers(0, 2**16 - 1).map(lambda b: np.array([b], np.uint16).view(ml_dtypes.bfloat16)[0])


def _strided_copy(values: np.ndarray, steps, transposed: bool) -> np.ndarray:
    """``values`` as a non-contiguous view (steps per axis, negative allowed; optionally Fortran-ordered)."""
    big = tuple(d * abs(s) for d, s in zip(values.shape, steps))
    container = np.full(big[::-1] if transposed else big, 0x5A, values.dtype)
    container = container.T if transposed else container
    view = container[tuple(slice(None, None, s) for s in steps)]
    view[...] = values
    return view


def operator_calls(max_elements: int = 4096):
    """Hypothesis strategy: ``(x, scale, offset, kwargs)`` for ``ascend_anti_quant``, valid and varied.

    Ranks 0-8 with tiny axes and now and then one long axis (several tiles), empty tensors, every x storage,
    strided and transposed x (where docs/spec.md allows), strided scale/offset and out, both scale dtypes drawn
    as raw bits (NaN, inf, subnormals), both destinations, sqrt mode, per-tensor and per-channel.
    """
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        kind = draw(st.sampled_from(X_KINDS))
        rank = draw(st.integers(0 if kind in ("int8", "int32") else 1, 8))
        shape = [draw(st.integers(1, 3)) for _ in range(rank)]
        if rank and draw(st.booleans()):
            shape[draw(st.integers(0, rank - 1))] = draw(st.integers(4, 3000))
        if rank and draw(st.integers(0, 15)) == 0:
            shape[draw(st.integers(0, rank - 1))] = 0
        group = X_GROUP[kind]
        if rank:
            shape[-1] *= group
            unit = [1] * (rank - 1) + [group]
            while int(np.prod(shape)) > max_elements:          # halve the longest axis that can shrink
                i = max((i for i in range(rank) if shape[i] > unit[i]), key=lambda i: shape[i] // unit[i])
                shape[i] = max(unit[i], shape[i] // 2 // unit[i] * unit[i])
        shape = tuple(shape)
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        y_shape = shape if rank or kind != "int32" else (8,)
        values = values_for(kind, y_shape, rng)
        x = x_input(kind, values)
        if kind == "int32" and not rank:
            x = x.reshape(())
        if kind in ("int8", "int32") and x.ndim and x.size and draw(st.booleans()):
            steps = [draw(st.sampled_from([1, 2, -1, -3])) for _ in range(x.ndim)]
            x = _strided_copy(x, steps, draw(st.booleans()))
        scale_dtype = SCALE_DTYPES[draw(st.sampled_from(sorted(SCALE_DTYPES)))]
        last = y_shape[-1] if y_shape else 1
        n = last if last and draw(st.booleans()) else 1
        element = st.one_of(float_bit_patterns(scale_dtype), st.floats(-4, 4, width=32).map(scale_dtype))

        def vector():  # up to 16 drawn values (shrinkable), spread over n by the seeded rng
            pool = np.array(draw(st.lists(element, min_size=1, max_size=min(n, 16))), scale_dtype)
            v = pool[rng.integers(0, pool.size, n)] if n > pool.size else pool[:n].copy()
            return _strided_copy(v, [draw(st.sampled_from([2, -1]))], False) if draw(st.booleans()) else v
        scale = vector()
        offset = vector() if draw(st.booleans()) else None
        dst = draw(st.sampled_from([1, 27]))
        kwargs = dict(dst_type=dst, sqrt_mode=draw(st.booleans()))
        out_kind = draw(st.sampled_from(["new", "contiguous", "strided"]))
        out_dtype = numpy_dtype_of(dst)
        if out_kind == "contiguous":
            kwargs["out"] = np.full(y_shape, 3, out_dtype)
        elif out_kind == "strided" and y_shape:
            kwargs["out"] = _strided_copy(np.full(y_shape, 3, out_dtype), [-1] + [2] * (len(y_shape) - 1), False)
        return x, scale, offset, kwargs

    return build()
