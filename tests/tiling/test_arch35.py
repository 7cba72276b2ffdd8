"""The Ascend 950 (arch35, regbase) host tiling: the worked plans of docs/spec.md section 8.6.8 field for field,
more plans derived by hand below (other cores and UB sizes, BF16 scale, sqrt mode, NDDMA, per-head axes 0/1/2),
the tiling data's bytes and key, the kernels' UB map, and properties (exact tile cover, UB fit) over shapes,
core counts and UB sizes."""

import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from antiquant import platforms
from antiquant import tiling as antiquant_tiling
from antiquant.core.dtypes import DataType
from antiquant.tiling import ScaleUse, TilePlan, arch35, tiles
from antiquant.tiling.arch35 import TILING_FIELDS
from antiquant.tiling.problem import Problem, RegbaseMode as M
from inputs import assert_tiles_cover

F16, BF16 = DataType.FLOAT16, DataType.BF16
F32_BYTES, BF16_BYTES = 4, 2
UT_CORES, UT_UB = 48, 196608            # the upstream tiling UT platform
ASC_TOOLS_UB = 253952                   # asc-tools' ascend950pr_9599 CPU-debug UB_SIZE

# (numCore, dim0, dim1, dim2, blockAxis, blockUnion, blockFactor, blockTailFactor, baseN, baseLen)
SHOWN = ("numCore", "dim0", "dim1", "dim2", "blockAxis", "blockUnion", "blockFactor", "blockTailFactor", "baseN",
         "baseLen")


def tiling(x, scale, scale_bytes=F32_BYTES, offset=True, y=F16, sqrt=False, cores=UT_CORES, ub=UT_UB):
    return arch35.regbase_tiling(x, scale, scale_bytes, offset, sqrt, y, cores, ub)


def shown(t):
    return tuple(t.tiling_data[k] for k in SHOWN)


# docs/spec.md 8.6.8 (= SPEC-ascend950.md 5.8): x shape, scale shape, scale bytes, offset, y -> mode, key, fields
WORKED = [
    ("INT8 [4,2,10240]", (4, 2, 10240), (10240,), F32_BYTES, True, BF16, 1, 9,
     (40, 8, 10240, 1, 1, 1, 256, 256, 8, 256)),
    ("HIF8 [4,2,10240] per tensor", (4, 2, 10240), (1,), F32_BYTES, True, F16, 0, 8,
     (46, 1, 81920, 1, 1, 1, 1792, 1280, 1, 1792)),
    ("E5M2 [4,2,10240] no offset", (4, 2, 10240), (10240,), F32_BYTES, False, F16, 1, 1,
     (40, 8, 10240, 1, 1, 1, 256, 256, 8, 256)),
    ("INT4 [4,2,10240] BF16 [1,2,1]", (4, 2, 10240), (1, 2, 1), BF16_BYTES, True, F16, 2, 10,
     (48, 4, 2, 10240, 2, 6, 1792, 1280, 1, 1792)),
    ("INT8 [4,2,10240] BF16 [2]", (4, 2, 10240), (2,), BF16_BYTES, True, F16, 2, 10,
     (48, 4, 2, 10240, 2, 6, 1792, 1280, 1, 1792)),
    ("HIF8 [128,512] (kernel UT)", (128, 512), (512,), F32_BYTES, True, F16, 1, 9,
     (43, 128, 512, 1, 0, 1, 3, 2, 3, 512)),
    ("INT8 [3,5] NDDMA", (3, 5), (5,), F32_BYTES, True, F16, 3, 11, (3, 3, 5, 1, 0, 1, 1, 1, 1, 5)),
    ("INT8 [3,5] per tensor", (3, 5), (1,), F32_BYTES, True, F16, 0, 8, (1, 1, 15, 1, 1, 1, 128, 15, 1, 128)),
    ("HIF8 [3,5] F32 [3,1]", (3, 5), (3, 1), F32_BYTES, True, BF16, 4, 12, (3, 1, 3, 5, 1, 3, 1, 1, 1, 5)),
    ("INT4 [3,4] BF16 [3]", (3, 4), (3,), BF16_BYTES, True, BF16, 4, 12, (3, 1, 3, 4, 1, 3, 1, 1, 1, 4)),
    ("INT8 [2,3,4096]", (2, 3, 4096), (1, 3, 1), F32_BYTES, True, F16, 2, 10,
     (48, 2, 3, 4096, 2, 8, 512, 512, 1, 512)),
    ("INT8 [2,64,256]", (2, 64, 256), (1, 64, 1), F32_BYTES, True, F16, 2, 10,
     (44, 2, 64, 256, 1, 22, 3, 1, 3, 256)),
    ("INT8 [2,100000]", (2, 100000), (100000,), F32_BYTES, True, F16, 1, 9,
     (46, 2, 100000, 1, 1, 1, 2176, 2080, 2, 2176)),
]


@pytest.mark.parametrize("row", WORKED, ids=[r[0] for r in WORKED])
def test_worked_plans_of_the_spec(row):
    _, x, scale, scale_bytes, offset, y, mode, key, want = row
    t = tiling(x, scale, scale_bytes, offset, y)
    assert (t.mode, t.tiling_key, shown(t)) == (mode, key, want)
    assert t.tiling_data["hasOffset"] == int(offset) and t.tiling_data["sqrtMode"] == 0
    assert t.block_dim == UT_CORES and t.workspace_size == 16 * 1024 * 1024
    assert_tiles_cover(t)


UT_PLATFORM = platforms.get("Ascend950PR").with_overrides(vector_cores=UT_CORES, ub_bytes=UT_UB)


@pytest.mark.parametrize("row", WORKED, ids=[r[0] for r in WORKED])
def test_worked_plans_through_tiling_plan(row):
    # The same rows planned as a user does: x dtype by name, the scale's shape, the UT platform as overrides.
    label, x, scale, scale_bytes, offset, y, mode, key, want = row
    plan = antiquant_tiling.plan(x, x_dtype=label.split()[0].lower(), scale_shape=scale,
                                 scale_dtype="float32" if scale_bytes == F32_BYTES else "bfloat16", has_offset=offset,
                                 dst_type=y, sqrt_mode=False, platform=UT_PLATFORM)
    t = tiling(x, scale, scale_bytes, offset, y)
    assert (plan.mode, plan.tiling_key, shown(plan)) == (mode, key, want) and not plan.notes
    assert plan.to_bytes() == t.to_bytes() and plan.block_dim == UT_CORES and plan.workspace_size == 16 << 20
    assert (plan.dims, plan.scale, plan.ub_map) == (t.view, t.scale, t.ub_map)
    assert plan.tile_table.tolist() == t.tile_table.tolist()
    assert_tiles_cover(plan)


def test_kernel_ut_tiling_data_bytes():
    # tests/ut/op_kernel/test_ascend_anti_quant_v2_apt.cpp writes these 12 fields by hand (blockUnion left 0 by
    # GmAlloc; ours is the tiling's 1) for HIF8 x [128, 512], scale/offset [512], sqrtMode 1.
    t = tiling((128, 512), (512,), sqrt=True)
    assert struct.unpack("<12q", t.to_bytes()) == (43, 0, 128, 512, 1, 1, 3, 2, 3, 512, 1, 1)
    # <1, 1, 1>: 1 + 8 + 16 (the UT's ICPU_SET_TILING_KEY(13) calls the template directly, no evidence).
    assert t.tiling_key == 25


def test_to_bytes_is_twelve_little_endian_int64_in_cann_order():
    t = tiling((2, 64, 256), (1, 64, 1))
    raw = t.to_bytes()
    assert len(raw) == 12 * 8 and TILING_FIELDS == (
        "numCore", "blockAxis", "dim0", "dim1", "dim2", "blockUnion", "blockFactor", "blockTailFactor", "baseN",
        "baseLen", "hasOffset", "sqrtMode")
    assert list(t.tiling_data) == list(TILING_FIELDS)
    assert raw[:8] == (44).to_bytes(8, "little") and raw[40:48] == (22).to_bytes(8, "little")
    assert np.frombuffer(raw, "<i8").tolist() == [t.tiling_data[k] for k in TILING_FIELDS]
    assert arch35.to_bytes(dict(zip(TILING_FIELDS, range(-1, 11)))) == struct.pack("<12q", *range(-1, 11))


def test_tiling_key_is_mode_plus_8_offset_plus_16_sqrt():
    keys = {(m, o, s): arch35.tiling_key(m, o, s) for m in range(5) for o in (0, 1) for s in (0, 1)}
    assert all(k == m + 8 * o + 16 * s for (m, o, s), k in keys.items())
    assert len(set(keys.values())) == 20 and max(keys.values()) == 28
    p = Problem((3, 5), DataType.INT8, 1, DataType.FLOAT, True, F16, True)
    assert arch35.calc_tiling_key(M.PER_TENSOR, p) == 24


# -- Plans derived by hand -------------------------------------------------------------------------------------
# A = ubSize - 2048; maxBase = A // ((1 + ss * k + 2) * 2), k = 0 per tensor, 2 with offset, 1 without.
# UT UB: A = 194560; F32 + offset: 194560 // 22 = 8843, aligned down to 128: 8832; F32, no offset: // 14 = 13897
# -> 13824; BF16 + offset: // 14 = 13897 -> 13824; per tensor: // 6 = 32426 -> 32384.

def test_per_tensor_ten_million_on_other_cores_and_ub():
    # n = 10**7, L = cdiv(n, 128) = 78125; 48 cores: cdiv(78125, 48) = 1628 lines a core, coreSplit =
    # cdiv(78125, 1628) = 48; blockFactor 1628 * 128 = 208384, tail 10**7 - 208384 * 47 = 205952.
    # baseLen = min(208384, 32384) = 32384 (UT UB); asc-tools UB: A = 251904, // 6 = 41984 (328 * 128).
    t = tiling((10_000_000,), (1,), offset=False)
    assert (t.mode, t.tiling_key, shown(t)) == (0, 0, (48, 1, 10**7, 1, 1, 1, 208384, 205952, 1, 32384))
    assert shown(tiling((10_000_000,), (1,), offset=False, ub=ASC_TOOLS_UB))[-1] == 41984
    # 24 cores: cdiv(78125, 24) = 3256 lines, coreSplit 24; blockFactor 416768, tail 10**7 - 416768 * 23 = 414336.
    t = tiling((10_000_000,), (1,), offset=False, cores=24)
    assert shown(t) == (24, 1, 10**7, 1, 1, 1, 416768, 414336, 1, 32384) and t.block_dim == 24


def test_per_channel_bf16_scale_rows_limited_by_calc_max_n():
    # INT8 [47, 122880], BF16 scale/offset: a0 = coreSplit(47, 48) = 47; L = 960, a1 = coreSplit(960, 48) = 48
    # -> blockAxis 1, blockFactor cdiv(960, 48) * 128 = 2560, tail 122880 - 2560 * 47 = 2560.
    # mb = 13824, bb = 2560 <= 6912: left = 194560 - 2560 * 2 * 2 - 2560 * 2 * 2 = 174080;
    # maxN = 174080 // 3 // 2560 // 2 = 58026 // 2560 // 2 = 22 // 2 = 11 < 47 rows -> baseN 11.
    t = tiling((47, 122880), (122880,), BF16_BYTES)
    assert (t.mode, t.tiling_key, shown(t)) == (1, 9, (48, 47, 122880, 1, 1, 1, 2560, 2560, 11, 2560))
    # UB: x 11 * 2560, scale and offset 2560 * 2 each, y 11 * 2560 * 2, all double-buffered.
    assert {name: (nbytes, slots) for name, _, nbytes, slots in t.ub_map} == {
        "x": (28160, 2), "scale": (5120, 2), "offset": (5120, 2), "y": (56320, 2)}
    assert t.ub_bytes == 2 * (28160 + 5120 + 5120 + 56320) == 189440 <= UT_UB - 2048


def test_int4_bf16_per_channel_of_the_tiling_ut():
    # ascend_anti_quant_v2_tiling_int4_950_5: as row 1 of 8.6.8 (axis 1, 40 cores of 256 columns) with BF16:
    # mb = 13824, bb = 256: left = 194560 - 2048 = 192512, maxN = 192512 // 3 // 256 // 2 = 125 -> min(125, 8).
    t = tiling((4, 2, 10240), (10240,), BF16_BYTES)
    assert (t.mode, t.tiling_key, shown(t)) == (1, 9, (40, 8, 10240, 1, 1, 1, 256, 256, 8, 256))


def test_sqrt_mode_adds_16_to_the_key_and_sets_the_field():
    t = tiling((3, 5), (1,), sqrt=True)
    assert t.tiling_key == 8 + 16 and t.tiling_data["sqrtMode"] == 1
    assert shown(t) == shown(tiling((3, 5), (1,)))


def test_per_channel_nddma_gathers_many_rows():
    # INT8 [1000, 5]: a0 = coreSplit(1000, 48) = cdiv(1000, 21) = 48; blockFactor 21, tail 1000 - 21 * 47 = 13.
    # C = 5 < 128 -> NDDMA: 5 <= 8843 // 2; T = 5 * (1 + 2 + 4 + 4) * 2 = 110; maxN = (194560 - 110) // 110 = 1767.
    t = tiling((1000, 5), (5,))
    assert (t.mode, t.tiling_key, shown(t)) == (3, 11, (48, 1000, 5, 1, 0, 1, 21, 13, 21, 5))
    # [100000, 5]: blockFactor cdiv(100000, 48) = 2084 (48 cores), tail 100000 - 2084 * 47 = 2052; baseN 1767.
    t = tiling((100000, 5), (5,))
    assert shown(t) == (48, 100000, 5, 1, 0, 1, 2084, 2052, 1767, 5)
    # NDDMA UB: every buffer baseN * baseLen = 8835 elements, rounded up to 32 bytes: 8835 -> 8864,
    # scale/offset 35340 -> 35360, y 17670 -> 17696.
    assert {name: nbytes for name, _, nbytes, _ in t.ub_map} == {
        "x": 8864, "scale": 35360, "offset": 35360, "y": 17696}


def test_per_head_axis_0():
    # INT8 [96, 4, 256], scale [4] = x[-2] != x[-1]: PER_HEAD, S 96, N 4, D 256. a0 = coreSplit(96, 48) = 48;
    # a1 = doubleCut(96, 4, 48) = 0 (48 // 96 = 0); a2 = 0 -> axis 0, blockFactor 2, tail 96 - 2 * 47 = 2.
    # D' = 256, mb = 8832: N * D' = 1024 <= 8832 -> (baseN, baseLen) = (4, 256).
    t = tiling((96, 4, 256), (4,))
    assert (t.mode, t.tiling_key, shown(t)) == (2, 10, (48, 96, 4, 256, 0, 1, 2, 2, 4, 256))
    assert t.view == (384, 256) and len(t.grids) == 48 and t.tile_table.shape == (96,)
    # UB per head: scale/offset baseN * 4 = 16 bytes, placed in 32.
    assert {name: nbytes for name, _, nbytes, _ in t.ub_map} == {"x": 1024, "scale": 32, "offset": 32, "y": 2048}


def test_per_head_axis_0_row_bands_stop_at_each_head_group():
    # INT8 [96, 40, 256]: axis 0 as above (blockFactor 2, tail 2); N * D' = 10240 > 8832 -> baseN 8832 // 256 = 34.
    # The kernel walks each s's 40 rows as 34 + 6 (scale values of a band are contiguous): a grid per core,
    # repeated for each of its 2 s, 40 rows apart.
    t = tiling((96, 40, 256), (40,))
    assert shown(t) == (48, 96, 40, 256, 0, 1, 2, 2, 34, 256)
    assert len(t.grids) == 48 and (t.grids["reps"] == 2).all() and (t.grids["stride"] == 40).all()
    assert t.tile_table[:4].tolist() == [(0, 0, 34, 0, 256), (0, 34, 6, 0, 256), (0, 40, 34, 0, 256),
                                         (0, 74, 6, 0, 256)]
    assert_tiles_cover(t)


def test_huge_per_head_plans_are_arithmetic():
    # [10**9, 50, 256]: axis 0, cdiv(10**9, 48) = 20833334 s a core; N * D' = 12800 > 8832 -> baseN 34, which
    # does not divide 50: each core's grid repeats per s (34 + 16 rows), one grid a core, nothing listed.
    t = tiling((10**9, 50, 256), (50,))
    assert shown(t)[4:] == (0, 1, 20833334, 10**9 - 20833334 * 47, 34, 256) and len(t.grids) == 48
    assert tiles.count(t.grids) == 2 * 10**9 and "tile_table" not in vars(t)
    shares = tiles.per_core(t.grids, 48)
    assert shares[0] == (2 * 20833334, 20833334 * 50 * 256, (34, 256))
    assert sum(share.elements for share in shares) == 10**9 * 50 * 256


def test_per_head_nddma_axis_1_gathers_rows():
    # HIF8 [2, 100, 64], scale [100]: S 2, N 100, D 64. a0 = 2; a1 = 2 * coreSplit(100, 24) = 2 * cdiv(100, 5) = 40;
    # a2 = doubleCut(200, 1, 48) = 0 -> axis 1, blockUnion 20, blockFactor cdiv(100, 20) = 5, tail 100 - 95 = 5.
    # D < 128 -> NDDMA: D <= 8843 -> baseN = min(5, 8843 // 64 = 138) = 5, baseLen 64.
    t = tiling((2, 100, 64), (100,))
    assert (t.mode, t.tiling_key, shown(t)) == (4, 12, (40, 2, 100, 64, 1, 20, 5, 5, 5, 64))
    # core 21 is s = 1, n = 5..9: rows 105..109 of the [200, 64] view, scale rows 5..9.
    assert t.tile_table[t.tile_table["core"] == 21].tolist() == [(21, 105, 5, 0, 64)]
    assert [t.scale.index(r, 0) for r in range(105, 110)] == [5, 6, 7, 8, 9]


def test_per_head_axis_2_with_a_short_tail_and_no_offset():
    # INT8 [1, 2, 10000], scale [1, 2, 1], no offset: S 1, N 2, D 10000, L = 79. a0 = 1; a1 = 2;
    # a2 = 2 * coreSplit(79, 24) = 2 * cdiv(79, 4) = 40 -> axis 2 (D > 32), blockUnion 40 / 2 = 20,
    # blockFactor cdiv(79, 20) * 128 = 512, tail 10000 - 512 * 19 = 272. mb = 13824 -> baseLen min(512, 13824).
    t = tiling((1, 2, 10000), (1, 2, 1), offset=False)
    assert (t.mode, t.tiling_key, shown(t)) == (2, 2, (40, 1, 2, 10000, 2, 20, 512, 272, 1, 512))
    # core 39: row 1, columns 9728..9999; its scale element is row 1's.
    assert t.tile_table[-1].tolist() == (39, 1, 1, 9728, 272) and t.scale.index(1, 9728) == 1
    assert "offset" not in {r[0] for r in t.ub_map}


def test_per_head_fp8_of_the_tiling_ut_without_offset():
    # ascend_anti_quant_v2_tiling_per_head_no_offset_950_8 (E5M2 [4,2,10240], F32 [2]): as row 5 of 8.6.8
    # (a2 = 8 * coreSplit(80, 6) = 48, blockUnion 6, 1792 / 1280); no offset: mb 13824 still above 1792.
    t = tiling((4, 2, 10240), (2,), offset=False)
    assert (t.mode, t.tiling_key, shown(t)) == (2, 2, (48, 4, 2, 10240, 2, 6, 1792, 1280, 1, 1792))


def test_per_head_on_20_cores_splits_axis_1():
    # [2, 64, 256] (row 12 of 8.6.8) on 20 cores: a0 = 2; a1 = 2 * coreSplit(64, 10) = 2 * cdiv(64, 7) = 20;
    # a2 = doubleCut(128, 2, 20) = 0 -> axis 1, blockUnion 10, blockFactor cdiv(64, 10) = 7, tail 64 - 63 = 1;
    # baseN min(7, 8832 // 256) = 7.
    t = tiling((2, 64, 256), (1, 64, 1), cores=20)
    assert shown(t) == (20, 2, 64, 256, 1, 10, 7, 1, 7, 256) and t.block_dim == 20
    assert {name: nbytes for name, _, nbytes, _ in t.ub_map} == {"x": 1792, "scale": 32, "offset": 32, "y": 3584}


def test_per_channel_walks_column_pieces_outside_row_bands():
    # INT8 [96, 10000]: a0 = 48, a1 = coreSplit(79, 48) = 40 -> axis 0, blockFactor 2, tail 2;
    # bb = 10112 > 8832 // 2 -> baseN 1, baseLen 8832. The kernel loads a scale piece, then runs both rows.
    t = tiling((96, 10000), (10000,))
    assert shown(t) == (48, 96, 10000, 1, 0, 1, 2, 2, 1, 8832)
    assert t.tile_table[:4].tolist() == [(0, 0, 1, 0, 8832), (0, 1, 1, 0, 8832), (0, 0, 1, 8832, 1168),
                                         (0, 1, 1, 8832, 1168)]
    assert_tiles_cover(t)


def test_mode_selection_and_shape_merge():
    # x[-1] == x[-2]: a vector scale is per channel even when it matches x[-2]; C = 64 < 128 -> NDDMA.
    # R = 256: coreSplit(256, 48) = cdiv(256, 6) = 43, blockFactor 6, tail 256 - 6 * 42 = 4;
    # T = 64 * 11 * 2 = 1408, maxN = 193152 // 1408 = 137 -> baseN min(137, 6).
    t = tiling((4, 64, 64), (64,))
    assert (t.mode, shown(t)) == (3, (43, 256, 64, 1, 0, 1, 6, 4, 6, 64))
    # Per head with x[-1] == 1 is per channel over (prod(x[:-2]), x[-2], 1), whichever way the scale is written.
    for scale in ((1, 3, 1), (3,)):
        t = tiling((2, 3, 1), scale)
        assert (t.mode, t.tiling_key, shown(t)) == (3, 11, (2, 2, 3, 1, 0, 1, 1, 1, 1, 3))
        assert t.scale == ScaleUse("columns", 3)
    assert arch35.select_mode((4, 2, 8), (1, 1, 8)) == M.PER_CHANNEL
    assert arch35.select_mode((4, 2, 8), (1, 1, 1)) == M.PER_TENSOR
    assert arch35.merge_input_shape((2, 3, 4, 5), M.PER_HEAD) == (M.PER_HEAD, (6, 4, 5))
    assert arch35.merge_input_shape((2, 3, 4, 5), M.PER_CHANNEL) == (M.PER_CHANNEL, (24, 5, 1))
    assert arch35.merge_input_shape((2, 3, 4, 5), M.PER_TENSOR) == (M.PER_TENSOR, (1, 120, 1))


def test_rank_1_and_scalar_x():
    # [1000], scale [1000]: (1, 1000, 1); a0 = 1, a1 = coreSplit(8, 48) = 8 -> axis 1, blockFactor 128,
    # tail 1000 - 128 * 7 = 104; bb 128: baseN min(maxN, R = 1) = 1.
    assert shown(tiling((1000,), (1000,))) == (8, 1, 1000, 1, 1, 1, 128, 104, 1, 128)
    # A 0-d INT32 x is the INT4 view [8]; a 0-d scale is [1] (EnsureXAndScaleNotScalar).
    t = tiling((8,), (), offset=False)
    assert (t.mode, t.tiling_key, shown(t)) == (0, 0, (1, 1, 8, 1, 1, 1, 128, 8, 1, 128))
    assert shown(tiling((), ())) == (1, 1, 1, 1, 1, 1, 128, 1, 1, 128)


def test_tails_of_zero_become_block_factor():
    # Unreachable through GetCoreNum's core counts (every tail is at least 1, see the property below), so the
    # functions are called with core counts it never gives: 4 rows on 3 cores, 2 * 2 = 4 -> tail 0 -> 2.
    assert arch35.calc_per_channel_block_factor(4, 3, 0, 1) == (2, 2)
    assert arch35.calc_per_tensor_block_factor(3, 3, 256) == (128, 128)            # 256 - 128 * 2 = 0
    assert arch35.calc_per_head_block_factor((1, 4, 1000), 1, 3) == (3, 2, 2)      # 4 - 2 * 2 = 0
    assert arch35.calc_per_head_block_factor((1, 1, 512), 2, 3) == (3, 256, 256)   # 512 - 256 * 2 = 0


def test_core_split_helpers():
    # coreSplit(f, 48) = cdiv(f, cdiv(f, 48)): 49 -> cdiv(49, 2) = 25, 97 -> cdiv(97, 3) = 33, 640 -> cdiv(640, 14)
    assert [arch35.get_core_num(f, 48) for f in (1, 47, 48, 49, 96, 97, 640)] == [1, 47, 48, 25, 48, 33, 46]
    assert arch35.get_core_num_double_cut(0, 5, 48) == 0 and arch35.get_core_num_double_cut(49, 5, 48) == 0
    assert arch35.get_core_num_double_cut(4, 2, 48) == 8 and arch35.get_core_num_double_cut(8, 80, 48) == 48


def test_refuses_what_cann_does_not_plan():
    with pytest.raises(ValueError, match="empty"):
        tiling((3, 0), (1,))
    with pytest.raises(ValueError, match="platform"):
        tiling((3, 5), (1,), cores=0)
    with pytest.raises(ValueError, match="buffers"):
        arch35.host_tiling(Problem((3, 5), DataType.INT8, 1, DataType.FLOAT, True, F16, False), UT_UB, 48, 3)


def test_problem_entry_points_and_a_tile_plan_of_the_view():
    p = Problem((2, 64, 256), DataType.INT8, 64, DataType.FLOAT, True, F16, False, scale_shape=(1, 64, 1))
    mode, fields, notes = arch35.host_tiling(p, UT_UB, UT_CORES)
    t = tiling((2, 64, 256), (1, 64, 1))
    assert (mode, fields, notes) == (t.mode, t.tiling_data, ())
    # A Problem that gives only the scale's size reads it as a vector: [64] is x[-2], so per head as well.
    assert arch35.host_tiling(Problem((2, 64, 256), DataType.INT8, 64, DataType.FLOAT, True, F16, False),
                              UT_UB, UT_CORES)[1] == fields
    plan = TilePlan("cann", "ascend950-ut", t.tiling_key, t.mode, t.block_dim, t.workspace_size, t.tiling_data,
                    grids=t.grids, ub_map=t.ub_map, view=t.view, scale=t.scale)
    assert plan.dims == (128, 256) and plan.to_bytes() == t.to_bytes() and plan.num_tiles == len(t.tile_table)
    assert_tiles_cover(plan)
    empty = Problem((3, 0), DataType.INT8, 1, DataType.FLOAT, False, F16, False)
    assert arch35.empty_tiling(empty) == (M.PER_TENSOR, dict(
        numCore=0, blockAxis=-1, dim0=1, dim1=0, dim2=1, blockUnion=1, blockFactor=-1, blockTailFactor=-1,
        baseN=1, baseLen=1, hasOffset=0, sqrtMode=0))


def test_planning_imports_neither_numba_nor_ml_dtypes():
    code = ("import sys, antiquant.tiling.arch35; "
            "print(sorted(m for m in ('numba', 'ml_dtypes') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


# -- Properties ----------------------------------------------------------------------------------------------

@st.composite
def calls(draw):
    """A call validation accepts (x kind, tiling's x shape, scale shape, sizes) on any cores and UB size."""
    kind = draw(st.sampled_from(["int8", "int4", "int32", "hif8"]))
    group = {"int8": 1, "hif8": 1, "int4": 2, "int32": 8}[kind]
    rank = draw(st.integers(1, 4))
    x = [draw(st.sampled_from([1, 2, 3, 5, 33, 64, 127, 128, 129, 1000, 4097])) for _ in range(rank)]
    x[-1] *= group
    while math.prod(x) > 1 << 22:                       # keep the tile tables quick to check
        i = int(np.argmax(x))
        x[i] = max(group, x[i] // 7 // group * group) if i == rank - 1 else max(1, x[i] // 7)
    x = tuple(x)
    kinds = ["tensor", "channel"] + (["head", "head_nd"] if rank > 1 else [])
    how = draw(st.sampled_from(kinds))
    if how == "tensor":
        scale = draw(st.sampled_from([(1,), (1,) * rank]))
    elif how == "channel":
        scale = draw(st.sampled_from([(x[-1],), (1,) * (rank - 1) + (x[-1],)]))
    elif how == "head":
        assume(x[-1] != x[-2])
        scale = (x[-2],)
    else:
        scale = (1,) * (rank - 2) + (x[-2], 1)
    assume(math.prod(scale) > 1 or how == "tensor")
    return dict(x=x, scale=scale, scale_bytes=draw(st.sampled_from([F32_BYTES, BF16_BYTES])),
                offset=draw(st.booleans()), y=draw(st.sampled_from([F16, BF16])), sqrt=draw(st.booleans()),
                cores=draw(st.integers(1, 80)), ub=draw(st.integers(16384, 262144))), group


@given(call=calls())
def test_every_plan_covers_its_view_once_and_fits_its_ub(call):
    kw, group = call
    t = tiling(**kw)
    f = t.tiling_data
    assume(tiles.count(t.grids) <= 200_000)
    assert_tiles_cover(t, group)
    assert 1 <= f["numCore"] <= kw["cores"] and t.block_dim == kw["cores"]
    assert t.tiling_key == t.mode + 8 * kw["offset"] + 16 * kw["sqrt"]
    # every tail at least 1, and the cores of the split axis (of each blockUnion group) run end to end over it
    axis = f["blockAxis"]
    per = f["blockUnion"] if t.mode in (M.PER_HEAD, M.PER_HEAD_NDDMA) and axis else f["numCore"]
    extent = (f["dim0"], f["dim1"], f["dim2"])[axis]
    assert 1 <= f["blockTailFactor"] and f["blockFactor"] * (per - 1) + f["blockTailFactor"] == extent
    # tiles within baseN x baseLen, and the kernel's buffers within the UB
    table = t.tile_table
    assert (table["nrows"] <= f["baseN"]).all() and (table["ncols"] <= f["baseLen"]).all()
    assert t.ub_bytes <= kw["ub"]
    # the scale element of every view element is inside the scale
    rows, cols = t.view
    assert 0 <= t.scale.index(rows - 1, cols - 1) < math.prod(kw["scale"])
