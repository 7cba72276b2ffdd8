"""Planning on Ascend 950 (arch35) through ``tiling.plan``: every mode and its scale use, the scale's shape,
the launch's block dim, the experiments on arch35's views and fields, the user's parameters, int4 evenness and
the properties every plan keeps (exact cover, UB fit, scale regions big enough for a tile)."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from antiquant import platforms, tiling
from antiquant.core.dtypes import DataType
from antiquant.tiling import RegbaseMode, ScaleUse, Strategy, arch35
from antiquant.tiling.problem import Problem
from inputs import assert_tiles_cover
from test_tiling import assert_grids_say_what_the_table_says

CORES, UB = 48, 253952                  # Ascend950PR's profile
GROUP = {"int8": 1, "hifloat8": 1, "float8_e5m2": 1, "float8_e4m3fn": 1, "int4": 2, "int32": 8}
EXPERIMENTS = [name for name in tiling.STRATEGIES if name != "cann"]


def plan(x_shape, scale_shape, *, x="int8", offset=True, scale="float32", sqrt=False, strategy="cann",
         platform="Ascend950PR"):
    return tiling.plan(x_shape, x_dtype=x, scale_shape=scale_shape, scale_dtype=scale, has_offset=offset,
                       dst_type="bfloat16", sqrt_mode=sqrt, platform=platform, strategy=strategy)


# x dtype, x shape (INT32 in words), scale shape -> mode, scale use, the [rows, columns] view
MODES = [
    ("int8", (4, 2, 10240), (1,), "PER_TENSOR", ScaleUse("none", 1), (1, 81920)),
    ("hifloat8", (128, 512), (512,), "PER_CHANNEL", ScaleUse("columns", 512), (128, 512)),
    ("int8", (1000, 5), (5,), "PER_CHANNEL_NDDMA", ScaleUse("columns", 5), (1000, 5)),
    ("float8_e4m3fn", (2, 64, 256), (1, 64, 1), "PER_HEAD", ScaleUse("rows", 64), (128, 256)),
    ("float8_e5m2", (2, 100, 64), (100,), "PER_HEAD_NDDMA", ScaleUse("rows", 100), (200, 64)),
    # a per-head candidate with x[-1] == 1 is per channel over [prod(x[:-2]), x[-2]]
    ("int8", (2, 3, 1), (1, 3, 1), "PER_CHANNEL_NDDMA", ScaleUse("columns", 3), (2, 3)),
    ("int4", (6, 40, 2), (40, 1), "PER_HEAD_NDDMA", ScaleUse("rows", 40), (240, 2)),
    ("int32", (16, 64), (512,), "PER_CHANNEL", ScaleUse("columns", 512), (16, 512)),
    ("int32", (), (8,), "PER_CHANNEL_NDDMA", ScaleUse("columns", 8), (1, 8)),
    ("int32", (3, 2), (3, 1), "PER_HEAD_NDDMA", ScaleUse("rows", 3), (3, 16)),
]


@pytest.mark.parametrize("offset", [True, False])
@pytest.mark.parametrize("row", MODES, ids=lambda r: f"{r[0]}{list(r[1])}s{list(r[2])}")
def test_every_mode_on_ascend950pr(row, offset):
    x, x_shape, scale_shape, name, scale, view = row
    p = plan(x_shape, scale_shape, x=x, offset=offset, sqrt=True)
    assert p.mode_name == name and p.mode == getattr(RegbaseMode, name) and p.scale == scale and p.dims == view
    assert p.tiling_key == p.mode + 8 * offset + 16 and list(p.tiling_data) == list(arch35.TILING_FIELDS)
    assert p.block_dim == CORES and p.workspace_size == arch35.SYNC_WORKSPACE_SIZE == 16 << 20
    assert [r.name for r in p.ub_map] == (["x", "scale", "offset", "y"] if offset else ["x", "scale", "y"])
    assert p.ub_bytes <= UB and p.buffers == 2 and all(r.slots == 2 for r in p.ub_map)
    # the plan is the arch35 tiling of the INT4 view, field for field
    t = arch35.regbase_tiling(p.problem.shape, scale_shape, 4, offset, True, DataType.BF16, CORES, UB)
    assert (dict(p.tiling_data), p.dims, p.scale, p.ub_map) == (t.tiling_data, t.view, t.scale, t.ub_map)
    # numCore cores have tiles, the other launched cores none
    counts = np.diff(p.core_offsets)
    assert len(counts) == CORES and (counts[:p.tiling_data["numCore"]] > 0).all()
    assert not counts[p.tiling_data["numCore"]:].any()
    assert_tiles_cover(p, GROUP[x])


def test_scale_shape_and_scale_size():
    by_size = tiling.plan((2, 64, 256), x_dtype="int8", scale_size=64, scale_dtype="float32", has_offset=False,
                          dst_type="float16", sqrt_mode=False, platform="Ascend950PR")
    both = tiling.plan((2, 64, 256), x_dtype="int8", scale_size=64, scale_shape=(1, 64, 1), scale_dtype="float32",
                       has_offset=False, dst_type="float16", sqrt_mode=False, platform="Ascend950PR")
    # a size alone is a vector scale: 64 is x[-2], so per head as with the shape [1, 64, 1]
    assert by_size.scale == both.scale == ScaleUse("rows", 64) and by_size.tiling_data == both.tiling_data
    assert both.problem.scale_shape == (1, 64, 1) and by_size.problem.scale_shape is None
    assert plan((7,), ()).scale == ScaleUse("none", 1)                     # a 0-d scale is per tensor
    common = dict(x_dtype="int8", scale_dtype="float32", has_offset=False, dst_type="float16", sqrt_mode=False)
    with pytest.raises(ValueError, match=r"scale_size 63 is not the size of scale_shape \(1, 64, 1\) \(64\)"):
        tiling.plan((2, 64, 256), scale_size=63, scale_shape=(1, 64, 1), **common)
    with pytest.raises(ValueError, match="expected the scale's size or shape, got neither"):
        tiling.plan((2, 64, 256), **common)


def test_arch22_plans_say_their_scale_use():
    common = dict(x_dtype="int8", scale_dtype="float32", has_offset=True, dst_type="float16", sqrt_mode=False)
    for name in ("Ascend910B", "Ascend910_93", "Ascend310P"):
        assert tiling.plan((64, 96), scale_size=1, platform=name, **common).scale == ScaleUse("none", 1)
        nddma = tiling.plan((256, 96), scale_size=96, platform=name, **common)
        assert nddma.scale == ScaleUse("columns", 96) and nddma.mode_name == "PER_CHANNEL_NDDMA"
        assert nddma.mode == tiling.Mode.PER_CHANNEL_NDDMA == RegbaseMode.PER_HEAD     # the numbers differ
        for strategy in EXPERIMENTS:
            p = tiling.plan((64, 96), scale_size=96, platform=name, strategy=strategy, **common)
            assert p.scale == ScaleUse("columns", 96) and p.mode == tiling.Mode.PER_CHANNEL
            assert list(p.tiling_data) == list(tiling.TILING_FIELDS)


def test_x_bytes():
    def problem(x):
        return Problem((4, 8), x, 1, DataType.FLOAT, False, DataType.FLOAT16, False)
    for x in (DataType.HIFLOAT8, DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN, DataType.INT8):
        assert problem(x).x_bytes == 1.0
    assert problem(DataType.INT4).x_bytes == problem(DataType.INT32).x_bytes == 0.5


def test_arch35_plans_are_immutable_and_cached():
    p = plan((2, 64, 256), (1, 64, 1))
    with pytest.raises(TypeError):
        p.tiling_data["numCore"] = 5
    for array in (p.tile_table, p.grids, p.core_offsets):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[-1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.scale = ScaleUse("none", 1)
    assert plan((2, 64, 256), (1, 64, 1)) is p
    assert dataclasses.replace(p, scale=("columns", 256)).scale == ScaleUse("columns", 256)


def test_empty_tensors():
    for x_shape, scale_shape, scale in (((3, 0), (1,), ScaleUse("none", 1)), ((4, 3, 0), (3, 1), ScaleUse("rows", 3)),
                                        ((0, 5), (5,), ScaleUse("columns", 5))):
        for strategy in tiling.STRATEGIES:
            p = plan(x_shape, scale_shape, strategy=strategy)
            assert p.block_dim == 0 and p.workspace_size == 0 and p.num_tiles == 0 and p.ub_bytes == 0
            assert p.scale == scale and math.prod(p.dims) == 0 and list(p.tiling_data) == list(arch35.TILING_FIELDS)


# -- The user's parameters -------------------------------------------------------------------------------------

def test_cann_takes_two_buffers_and_a_budget():
    with pytest.raises(ValueError, match="buffers: the arch35 kernels' queues hold 2 buffers, got 3"):
        plan((96, 10000), (10000,), strategy=Strategy("cann", buffers=3))
    # ubSize 65536: maxBase (65536 - 2048) // 22 = 2885 -> 2816; bb 10112 > 1408 -> baseN 1, baseLen 2816
    p = plan((96, 10000), (10000,), strategy=Strategy("cann", ub_budget=65536))
    assert (p.tiling_data["baseN"], p.tiling_data["baseLen"]) == (1, 2816) and p.ub_bytes <= 65536
    assert p.ub_budget == 65536
    with pytest.raises(ValueError, match="ub_budget: expected at most Ascend950PR's UB of 253952 bytes"):
        plan((96, 10000), (10000,), strategy=Strategy("cann", ub_budget=300000))


def test_cann_tile_shape_set_by_the_user():
    # per channel, blockAxis 0 (96 rows on 48 cores, 2 each): baseN at most blockFactor, baseLen as given
    p = plan((96, 10000), (10000,), strategy=Strategy("cann", base_n=5, base_len=2048))
    assert (p.tiling_data["baseN"], p.tiling_data["baseLen"]) == (2, 2048)
    assert p.notes == ("tile shape set by the user: baseN 2, baseLen 2048",)
    assert set(p.tile_table["ncols"].tolist()) == {2048, 10000 - 4 * 2048}
    assert_tiles_cover(p)
    # per tensor and per head on blockAxis 2 walk single rows: base_n is ignored, base_len taken
    for x_shape, scale_shape in (((4, 2, 10240), (1,)), ((1, 2, 10000), (1, 2, 1))):
        p = plan(x_shape, scale_shape, strategy=Strategy("cann", base_n=4, base_len=1024))
        assert p.notes[0] == "base_n ignored: this plan's tiles are single rows"
        assert p.tiling_data["baseN"] == 1 and p.tiling_data["baseLen"] == 1024
        assert_tiles_cover(p)
    # per head, blockAxis 0 ([96, 40, 256]: 2 head groups a core): bands of 3 rows stop at each group of 40
    p = plan((96, 40, 256), (40,), strategy=Strategy("cann", base_n=3))
    t = p.tile_table
    assert p.tiling_data["baseN"] == 3 and (t["row0"] // 40 == (t["row0"] + t["nrows"] - 1) // 40).all()
    assert p.region("scale").nbytes == 32 and p.region("x").nbytes == 3 * 256       # 3 * 4 bytes, in a block
    assert (p.grids["reps"] == 2).all()             # a core's grid, once per head group
    assert_tiles_cover(p)
    assert_grids_say_what_the_table_says(p)
    # per head, blockAxis 1 ([2, 64, 256]: blockFactor 3 rows a core): baseN at most 3
    assert plan((2, 64, 256), (1, 64, 1), strategy=Strategy("cann", base_n=8)).tiling_data["baseN"] == 3


@pytest.mark.parametrize("strategy", EXPERIMENTS)
def test_experiments_take_buffers_budget_and_tile_shape(strategy):
    for buffers in (1, 2, 3):
        p = plan((16, 64, 1024), (1, 64, 1), strategy=Strategy(strategy, buffers=buffers, ub_budget=65536))
        assert p.buffers == buffers and all(r.slots == buffers for r in p.ub_map) and p.ub_bytes <= 65536
        assert_tiles_cover(p)
    p = plan((16, 64, 1024), (1, 64, 1), strategy=Strategy(strategy, base_n=4, base_len=256))
    assert p.tile_table["nrows"].max() <= 4 and p.tile_table["ncols"].max() <= 256
    assert_tiles_cover(p)
    with pytest.raises(ValueError, match="bytes of UB, more than the budget of 16384"):
        plan((16, 64, 1024), (1, 64, 1), strategy=Strategy(strategy, ub_budget=16384, base_n=64, base_len=1024))


# -- Experiments -----------------------------------------------------------------------------------------------

# scale shape on x [8, 40, 1000] -> the experiments' mode, scale use and view
EXPERIMENT_CASES = [
    ((1,), RegbaseMode.PER_TENSOR, ScaleUse("none", 1), None),
    ((1000,), RegbaseMode.PER_CHANNEL, ScaleUse("columns", 1000), (320, 1000)),
    ((40,), RegbaseMode.PER_HEAD, ScaleUse("rows", 40), (320, 1000)),
    ((1, 40, 1), RegbaseMode.PER_HEAD, ScaleUse("rows", 40), (320, 1000)),
]


@pytest.mark.parametrize("strategy", EXPERIMENTS)
@pytest.mark.parametrize("case", EXPERIMENT_CASES, ids=lambda c: f"scale{list(c[0])}")
def test_experiments_cut_arch35_views_and_write_its_fields(case, strategy):
    scale_shape, mode, scale, view = case
    p = plan((8, 40, 1000), scale_shape, strategy=strategy, scale="bfloat16")
    assert p.mode == mode and p.scale == scale and p.block_dim == CORES
    assert list(p.tiling_data) == list(arch35.TILING_FIELDS) and len(p.to_bytes()) == 12 * 8
    if view is not None:    # per tensor, equal-bytes flattens and the others cut y's rows
        assert p.dims == view
    assert p.tiling_data["dim2"] == (1000 if mode == RegbaseMode.PER_HEAD else 1)
    assert_tiles_cover(p)
    assert_scale_regions_hold_every_tile(p)


def assert_scale_regions_hold_every_tile(p):
    """The scale/offset regions hold what the largest tile needs: its rows' values per head, its columns' per
    channel, at the scale's bytes."""
    along = {"rows": "nrows", "columns": "ncols"}.get(p.scale.along)
    if along is None:
        return
    need = int(p.tile_table[along].max()) * p.problem.scale_bytes
    assert all(p.region(name).nbytes >= need for name in ("scale", "offset")[:1 + p.problem.has_offset])


def test_per_head_experiment_tiles_may_span_head_groups():
    # row-batched over [8 * 40, 1000]: ceil(320 / 48) = 7 rows a core, so core 5 runs rows 35..41 (heads 35-39,
    # then 0-1 of the next group), whose scale elements wrap
    p = plan((8, 40, 1000), (40,), strategy="row-batched")
    first = p.tile_table[p.core_offsets[5]]
    assert (first["row0"], first["nrows"]) == (35, 7)
    assert [p.scale.index(r, 0) for r in range(35, 42)] == [35, 36, 37, 38, 39, 0, 1]


# -- Properties --------------------------------------------------------------------------------------------------

@st.composite
def calls(draw):
    """A call arch35 validation accepts, in every mode (x in elements; INT32 in words), on any cores and UB."""
    x = draw(st.sampled_from(sorted(GROUP)))
    rank = draw(st.integers(1, 8))
    shape = [draw(st.sampled_from([1, 2, 3, 5, 33, 64, 127, 128, 129, 1000, 4097])) for _ in range(rank)]
    shape[-1] *= 2 if x == "int4" else 1
    while math.prod(shape) * (8 if x == "int32" else 1) > 1 << 21:
        i = int(np.argmax(shape))
        shape[i] = max(1, shape[i] // 7) * (2 if x == "int4" and i == rank - 1 else 1)
    last = shape[-1] * (8 if x == "int32" else 1) if shape else 8
    kinds = ["tensor", "channel"] + (["head", "head_nd"] if rank > 1 else [])
    how = draw(st.sampled_from(kinds))
    if how == "tensor":
        scale = draw(st.sampled_from([(1,), (1,) * rank, ()]))
    elif how == "channel":
        scale = draw(st.sampled_from([(last,), (1,) * (rank - 1) + (last,)]))
    elif how == "head":
        assume(last != shape[-2])
        scale = (shape[-2],)
    else:
        scale = (1,) * (rank - 2) + (shape[-2], 1)
    assume(math.prod(scale) > 1 or how == "tensor")
    name = draw(st.sampled_from(list(tiling.STRATEGIES)))
    buffers = 2 if name == "cann" else draw(st.integers(1, 3))
    budget = draw(st.one_of(st.none(), st.integers(tiling.MIN_UB_BUDGET, UB)))
    strategy = Strategy(name, buffers=buffers, ub_budget=budget,
                        base_n=draw(st.one_of(st.none(), st.none(), st.integers(1, 64))),
                        base_len=draw(st.one_of(st.none(), st.none(), st.integers(1, 64).map(lambda k: 32 * k))))
    platform = platforms.get("Ascend950PR").with_overrides(vector_cores=draw(st.integers(1, 64)))
    return dict(x_shape=tuple(shape), scale_shape=scale, x=x, offset=draw(st.booleans()),
                scale=draw(st.sampled_from(["float32", "bfloat16"])), sqrt=draw(st.booleans()), strategy=strategy,
                platform=platform)


@given(call=calls())
def test_every_arch35_plan_covers_its_view_once_fits_and_holds_its_scale(call):
    try:
        p = plan(**call)
    except ValueError as err:   # only a user's tile shape may overflow the budget
        assert call["strategy"].base_n or call["strategy"].base_len, err
        assert "bytes of UB, more than the budget" in str(err)
        return
    assume(p.num_tiles <= 200_000)
    # each element once; int4 (and INT32's int4 view) tiles on whole bytes, INT32 on whole words
    assert_tiles_cover(p, GROUP[call["x"]])
    assert_grids_say_what_the_table_says(p)
    assert p.ub_bytes <= p.ub_budget and all(r.slots == p.buffers for r in p.ub_map)
    assert_scale_regions_hold_every_tile(p)
    assert list(p.tiling_data) == list(arch35.TILING_FIELDS) and p.block_dim == call["platform"].vector_cores
    counts = np.diff(p.core_offsets)
    assert (counts[:p.tiling_data["numCore"]] > 0).all() and not counts[p.tiling_data["numCore"]:].any()
    # the scale element of every view element is inside the scale
    rows, cols = p.dims
    assert 0 <= p.scale.index(rows - 1, cols - 1) < max(1, math.prod(call["scale_shape"]))
    if p.scale.along == "rows":     # per head: the view is [S * N, D], N the scale's size
        assert rows % p.scale.period == 0 and p.scale.period == math.prod(call["scale_shape"])


# -- The one correction ------------------------------------------------------------------------------------------

def test_int4_base_len_is_made_even_under_a_tiny_ub():
    # ubSize 4280: A = 2232, maxBase 2232 // 22 = 101. [1000, 126]: C = 126 < 128 -> NDDMA; 126 > 101 // 2, so
    # baseN 1 and baseLen min(126, 101) = 101, which for int4 would split a byte: 100.
    tiny = platforms.get("Ascend950PR").with_overrides(ub_bytes=4280)
    p = plan((1000, 126), (126,), x="int4", platform=tiny)
    assert (p.mode_name, p.tiling_data["baseN"], p.tiling_data["baseLen"]) == ("PER_CHANNEL_NDDMA", 1, 100)
    assert p.notes == ("CANN's plan gives baseLen 101, which would split a packed int4 byte; corrected to 100",)
    assert_tiles_cover(p, 2)
    assert plan((1000, 126), (126,), x="int8", platform=tiny).tiling_data["baseLen"] == 101    # bytes: as CANN
    with pytest.raises(ValueError, match="2050 bytes leave no room for a cann tile"):
        plan((1000, 126), (126,), platform=platforms.get("Ascend950PR").with_overrides(ub_bytes=2050))
