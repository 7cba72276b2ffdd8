"""The pipeline model on Ascend 950 (arch35) plans: every mode, per-head loads, the 8-bit floats' one cast and
one byte, and launched cores without tiles."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from antiquant import sim, tiling
from antiquant.tiling import Strategy
from test_sim import check_invariants, hbm_floor_us


def make_plan(x_shape, scale_shape, *, x="int8", offset=True, scale="float32", sqrt=False, strategy="cann"):
    return tiling.plan(x_shape, x_dtype=x, scale_shape=scale_shape, scale_dtype=scale, has_offset=offset,
                       dst_type="bfloat16", sqrt_mode=sqrt, platform="Ascend950PR", strategy=strategy)


# x shape, scale shape -> the CANN mode on Ascend950PR
MODES = [((64, 8192), (1,), "PER_TENSOR"), ((64, 8192), (8192,), "PER_CHANNEL"),
         ((4096, 64), (64,), "PER_CHANNEL_NDDMA"), ((16, 32, 1024), (1, 32, 1), "PER_HEAD"),
         ((16, 256, 64), (256,), "PER_HEAD_NDDMA")]


@pytest.mark.parametrize("x", ["int8", "int4", "hifloat8", "float8_e4m3fn"])
@pytest.mark.parametrize("case", MODES, ids=lambda c: c[2])
def test_every_arch35_mode_simulates(case, x):
    x_shape, scale_shape, name = case
    plan = make_plan(x_shape, scale_shape, x=x, scale="bfloat16", sqrt=True)
    assert plan.mode_name == name
    tl = sim.simulate(plan)
    assert tl.total_us >= hbm_floor_us(plan) * (1 - 1e-12) and tl.bound in ("hbm", "latency", "vector", "launch")
    assert tl.bytes == math.ceil(math.prod(x_shape) * (plan.problem.x_bytes + 2))
    assert len(tl.per_core) == plan.block_dim == 48 and sum(c.tiles for c in tl.per_core) == plan.num_tiles
    # per tensor reads no scale from L2; the others read each tile's values (its rows' per head) when they change
    assert (tl.l2_bytes == 0) == (name == "PER_TENSOR")


def test_cores_without_tiles_end_at_the_launch_and_cost_nothing():
    plan = make_plan((3, 5), (5,))                  # numCore 3 of the 48 launched
    tl = sim.simulate(plan)
    idle = tl.per_core[3:]
    assert len(idle) == 45 and all(c.tiles == 0 and c.end_us == plan.profile.launch_us for c in idle)
    assert all(c.mte2_us == c.vector_us == c.mte3_us == 0 for c in idle)
    # the same plan launched on its numCore cores alone runs the same: idle cores take no share of HBM
    big = make_plan((40, 100000), (100000,))       # numCore 40
    alone = dataclasses.replace(big, block_dim=big.tiling_data["numCore"])
    assert sim.simulate(alone).total_us == pytest.approx(sim.simulate(big).total_us)
    trace = sim.simulate(big).to_chrome_trace()
    assert {e["pid"] for e in trace["traceEvents"] if e["name"] == "process_name"} == set(range(49))


def test_per_head_costs_what_per_channel_costs_on_the_same_tiles():
    # row-batched over [16 * 16, 16384]: per channel and per head cut the same view into the same tiles, rows of
    # two column pieces (11392 + 4992), 6 rows a core
    per_channel = make_plan((16, 16, 16384), (16384,), strategy="row-batched")
    per_head = make_plan((16, 16, 16384), (1, 16, 1), strategy="row-batched")
    assert per_head.tile_table.tolist() == per_channel.tile_table.tolist() and per_head.num_tiles == 512
    a, b = sim.simulate(per_channel), sim.simulate(per_head)
    assert a.bytes == b.bytes and dict(a.breakdown)["vector"] == dict(b.breakdown)["vector"]   # one Add/Mul a row
    # per channel loads each piece's columns (12 loads a core), per head a row's value once for both pieces (6)
    assert a.l2_bytes == 256 * 16384 * 4 * 2 and b.l2_bytes == 256 * 4 * 2
    assert dict(a.breakdown)["mte2 latency"] == pytest.approx(0.3 * (12 + 12 * 2))
    assert dict(b.breakdown)["mte2 latency"] == pytest.approx(0.3 * (12 + 6 * 2))
    assert hbm_floor_us(per_head) < b.total_us < a.total_us
    # without the loads' latency and L2 bytes the two take the same time: the same bytes, the same vector work
    free = dict(transfer_latency_us=0, mte2_bytes_per_cycle=1e9)
    assert sim.simulate(per_head, **free).total_us == pytest.approx(sim.simulate(per_channel, **free).total_us,
                                                                    rel=1e-6)
    # CANN's own per-head and per-channel plans of these bytes are within a quarter of each other
    cann = [sim.simulate(make_plan((16, 16, 16384), scale)).total_us for scale in ((16384,), (1, 16, 1))]
    assert abs(cann[0] - cann[1]) <= 0.25 * min(cann)


def test_per_head_values_are_loaded_once_per_row_band():
    # [1, 2, 10000], scale [1, 2, 1], per head blockAxis 2: each core one row piece, so one load each
    plan = make_plan((1, 2, 10000), (1, 2, 1), offset=False)
    tl = sim.simulate(plan)
    assert plan.tiling_data["blockAxis"] == 2 and tl.l2_bytes == plan.num_tiles * 4
    # a per-head tile run whose rows stay the same loads once: a core's column pieces of one row band
    table = plan.tile_table[:1].copy()
    two = np.concatenate([table, table])
    two["col0"][1], two["ncols"] = 256, 256
    assert sim.simulate(plan.with_tiles(two)).l2_bytes == 4


def test_8bit_floats_cast_once_and_move_one_byte():
    base = make_plan((64, 8192), (8192,))
    for x in ("hifloat8", "float8_e5m2", "float8_e4m3fn"):
        plan = make_plan((64, 8192), (8192,), x=x).with_tiles(base.tile_table)
        fp8, int8 = sim.simulate(plan), sim.simulate(base)
        assert fp8.bytes == int8.bytes == 64 * 8192 * 3
        assert sum(c.vector_us for c in fp8.per_core) < sum(c.vector_us for c in int8.per_core)
    int4 = sim.simulate(make_plan((64, 8192), (8192,), x="int4").with_tiles(base.tile_table))
    assert int4.bytes == 64 * 8192 * 2.5


def test_nddma_vectors_are_whole_tile():
    # PER_CHANNEL_NDDMA replicates the scale over the tile: one Add/Mul per tile, not per row; the same tiles as
    # PER_CHANNEL (per-row) cost more vector time there
    nddma = make_plan((4096, 64), (64,))
    assert nddma.mode_name == "PER_CHANNEL_NDDMA"
    rows = dataclasses.replace(nddma, mode=tiling.RegbaseMode.PER_CHANNEL)
    vector = [sum(c.vector_us for c in sim.simulate(p).per_core) for p in (nddma, rows)]
    assert vector[0] < vector[1]


@st.composite
def plans(draw):
    x = draw(st.sampled_from(["int8", "int4", "hifloat8"]))
    s, n, d = draw(st.integers(1, 16)), draw(st.integers(2, 64)), draw(st.integers(1, 1500)) * 2
    scale = draw(st.sampled_from([(1,), (d,), (1, n, 1)]))
    name = draw(st.sampled_from(list(tiling.STRATEGIES)))
    strategy = Strategy(name, buffers=2 if name == "cann" else draw(st.integers(1, 3)),
                        ub_budget=draw(st.one_of(st.none(), st.integers(tiling.MIN_UB_BUDGET, 253952))))
    return make_plan((s, n, d), scale, x=x, offset=draw(st.booleans()), scale=draw(st.sampled_from(
        ["float32", "bfloat16"])), sqrt=draw(st.booleans()), strategy=strategy)


@given(plans())
def test_invariants_on_arch35(plan):
    check_invariants(plan)
