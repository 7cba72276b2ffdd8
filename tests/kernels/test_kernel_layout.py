"""How the fused kernel walks memory must never change the bits: output alignment, tasks, row splits.

The fused kernel stores nibble pairs as one uint32, writes large outputs with streaming stores, reads
scale/offset split into lanes, hands threads tasks of several tiles and splits each row at y's first 64-byte
line boundary. Each of these is an address computation that a shape-only test could miss, so these tests
move the output through every alignment and cut rows across tile and task edges.
"""

import numpy as np
import pytest

from antiquant import ascend_anti_quant, reference
from antiquant.core import launch as launching
from conftest import DST, assert_same_bits
from inputs import X_KINDS, values_for, x_input


def run_case(kind, shape, dst, out, rng, strategy="cann"):
    values = values_for(kind, shape, rng)
    scale = (rng.standard_normal(shape[-1]) * 3).astype(np.float32)
    offset = (rng.standard_normal(shape[-1]) * 5).astype(np.float32)
    got = ascend_anti_quant(x_input(kind, values), scale, offset, dst_type=dst, out=out, strategy=strategy)
    assert got is out
    assert_same_bits(out, reference.anti_quant(values, scale, offset, dst_type=dst))


@pytest.mark.parametrize("dst", [1, 27])
@pytest.mark.parametrize("kind", X_KINDS)
def test_output_at_every_alignment(kind, dst, launch):
    """out starting at every 2-byte position of a cache line (and past it), rows of many lines."""
    rng = np.random.default_rng(7)
    shape = (3, 2064)
    for start in range(0, 34):
        buffer = np.full(start + 3 * 2064 + 5, 7, DST[dst])
        out = buffer[start:start + 3 * 2064].reshape(shape)
        run_case(kind, shape, dst, out, rng)
        assert (buffer[:start].view(np.uint16) == np.array(7, DST[dst]).view(np.uint16)).all()
        assert (buffer[start + out.size:].view(np.uint16) == np.array(7, DST[dst]).view(np.uint16)).all()


@pytest.mark.parametrize("cols", [8, 24, 2056, 16384, 16384 + 2056])
@pytest.mark.parametrize("kind", X_KINDS)
def test_one_row_across_tiles_and_alignments(kind, cols, launch, monkeypatch):
    """One row, where a two-lane source's kernel reads scale/offset in column order, not split into lanes:
    across the plan's tiles (16384 columns make two), out starting at each 4-byte step of a line's first half;
    and the launch made no workspace copy of them."""
    made = []
    monkeypatch.setattr(launching.Launch, "of", classmethod(lambda cls, *a: made.append(LAUNCH_OF(*a)) or made[-1]))
    rng = np.random.default_rng(cols)
    for start in range(0, 32, 4):
        buffer = np.full(start + cols + 5, 7, DST[27])
        out = buffer[start:start + cols].reshape(1, cols)
        run_case(kind, (1, cols), 27, out, rng)
        untouched = np.delete(buffer, np.s_[start:start + cols]).view(np.uint16)
        assert (untouched == np.array(7, DST[27]).view(np.uint16)).all()
    assert made and all(m.column_order is (kind in ("int4_packed", "int32")) and not m.regions for m in made)


LAUNCH_OF = launching.Launch.of


@pytest.mark.parametrize("shape", [(9, 16384), (20, 9736), (3, 1024 * 3 + 8), (17, 8)])
@pytest.mark.parametrize("strategy", ["cann", "row-batched", "column-split"])
@pytest.mark.parametrize("kind", ["int8", "int32"])
def test_tasks_and_tiles(kind, strategy, shape, launch):
    """Tiles of unequal widths in one task, partial last tasks, multi-row tiles, rows split into tiles."""
    rng = np.random.default_rng(11)
    for dst in (1, 27):
        run_case(kind, shape, dst, np.empty(shape, DST[dst]), rng, strategy=strategy)



def test_streaming_stores_from_the_threshold_up(monkeypatch):
    """Outputs of STREAMING_MIN_BYTES and more are written with streaming stores, smaller ones are not."""
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    monkeypatch.setattr(launching, "STREAMING_MIN_BYTES", 4096)
    x, scale = np.zeros((2, 1024), np.int8), np.ones(1, np.float32)
    for rows, streaming in ((1, False), (2, True)):
        launching._LAUNCHES.clear()
        ascend_anti_quant(x[:rows], scale)
        (bound, _, _), = launching._LAUNCHES.values()
        assert bound.streaming is streaming, rows


@pytest.mark.parametrize("square", [False, True])
@pytest.mark.parametrize("lanes", [1, 2])
def test_split_lanes_places_squares_and_reports_a_nan_anywhere(lanes, square):
    """``split_lanes`` writes value ``m * lanes + l`` to ``[l, m]`` (squared in one float32 rounding) and says
    whether it wrote a NaN, wherever the NaN is (either lane, any position); infinities are not NaN."""
    from antiquant.kernels import split_lanes
    rng = np.random.default_rng(lanes + 2 * square)
    values = (rng.standard_normal(96) * 1e20).astype(np.float32)     # some squares overflow to infinity
    values[[3, 50]] = [np.inf, -np.inf]
    with np.errstate(over="ignore"):
        want = (values * values if square else values).reshape(-1, lanes).T
    for where in [None, *range(values.size)]:
        v = values.copy()
        if where is not None:
            v[where] = np.float32("nan")
        out = np.full((lanes, values.size // lanes), 7, np.float32)
        assert split_lanes(v, out, square) is (where is not None)
        expected = want.copy()
        if where is not None:
            expected[where % lanes, where // lanes] = np.nan
        np.testing.assert_array_equal(out, expected)
