"""The Pythonic API against the reference, bit for bit, over every dtype path and value."""

import itertools
import zlib

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclTensor, DataType, ascend_anti_quant, pack_int4, reference
from conftest import DST, assert_same_bits
from inputs import SCALE_DTYPES, X_KINDS, values_for, x_input


def every_value(kind: str, rows: int) -> np.ndarray:
    """Each row holds every value of the x dtype, shifted per row so each value meets many scales."""
    base = np.arange(-128, 128, dtype=np.int16) if kind == "int8" else np.tile(np.arange(-8, 8, dtype=np.int16), 4)
    return np.stack([np.roll(base, 7 * r) for r in range(rows)]).astype(np.int8)


def check(x, scale, offset=None, **kw):
    got = ascend_anti_quant(x, scale, offset, **kw)
    want = reference.anti_quant(x, scale, offset, dst_type=kw.get("dst_type", 1), sqrt_mode=kw.get("sqrt_mode", False))
    assert_same_bits(got, want)
    return got


COMBOS = list(itertools.product(X_KINDS, SCALE_DTYPES, (False, True), (False, True), (1, 27), (False, True)))


@pytest.mark.parametrize("kind,scale_dtype,has_offset,sqrt_mode,dst,per_channel", COMBOS)
def test_every_value_every_combination(kind, scale_dtype, has_offset, sqrt_mode, dst, per_channel, launch):
    rng = np.random.default_rng(zlib.crc32(repr((kind, scale_dtype, has_offset, sqrt_mode, dst, per_channel)).encode()))
    values = every_value(kind, rows=5)
    n = values.shape[1] if per_channel else 1
    scale = (rng.standard_normal(n) * rng.choice([1e-3, 0.05, 3.0], n)).astype(np.float32).astype(SCALE_DTYPES[scale_dtype])
    offset = rng.normal(0, 4, n).astype(np.float32).astype(SCALE_DTYPES[scale_dtype]) if has_offset else None
    got = check(x_input(kind, values), scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
    assert got.dtype == DST[dst] and got.shape == values.shape


def test_known_values_pin_the_reference():
    x = np.array([3, -2, 127, -128], np.int8)
    y = ascend_anti_quant(x, np.array([0.5], np.float32), np.array([1.0], np.float32))
    assert y.tolist() == [2.0, -0.5, 64.0, -63.5]
    y = ascend_anti_quant(x, np.array([-3.0], np.float32), dst_type=27, sqrt_mode=True)
    assert y.astype(np.float32).tolist() == [27.0, -18.0, 1144.0, -1152.0]  # 1143 rounds to even 1144 in bf16


@pytest.mark.parametrize("dst,half_ulp", [(1, 2.0 ** -11), (27, 2.0 ** -8)])
def test_ties_round_to_even(dst, half_ulp):
    x = np.array([1, 1, -1, -1], np.int8)
    scale = np.array([1 + half_ulp, 1 + 3 * half_ulp, 1 + half_ulp, 1 + 3 * half_ulp], np.float32)
    y = check(x, scale, dst_type=dst).astype(np.float32)
    ulp = 2 * half_ulp
    assert y.tolist() == [1.0, 1 + 2 * ulp, -1.0, -(1 + 2 * ulp)]


def test_fp16_overflow_goes_to_inf_and_bf16_keeps_range():
    x = np.array([127, -128, 1], np.int8)
    scale = np.array([1000.0], np.float32)
    y16 = check(x, scale, dst_type=1)
    assert np.isposinf(y16[0]) and np.isneginf(y16[1]) and y16[2] == 1000
    y_bf = check(x, scale, dst_type=27)
    assert np.isfinite(y_bf.astype(np.float32)).all()


@pytest.mark.parametrize("dst", [1, 27])
def test_subnormal_outputs_are_kept(dst):
    tiny = np.float32(2.0 ** -24) if dst == 1 else np.float32(2.0 ** -133)
    x = np.arange(-8, 8, dtype=np.int8)
    y = check(x, np.array([tiny], np.float32), dst_type=dst)
    assert (y.astype(np.float32)[x != 0] != 0).all()


SPECIALS = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 65504.0, 65520.0, 3.4e38, 1e-45, -1e-40, 2.0 ** -24,
                     2.0 ** -25, 1.0 + 2.0 ** -11, 0.1], np.float32)


@pytest.mark.parametrize("dst", [1, 27])
@pytest.mark.parametrize("scale_dtype", SCALE_DTYPES)
@pytest.mark.parametrize("sqrt_mode", [False, True])
def test_specials_in_scale_and_offset(dst, scale_dtype, sqrt_mode):
    n = SPECIALS.size
    x = np.tile(np.array([-128, -1, 0, 1, 127], np.int8), (n, 1)).T.copy()  # columns meet each special
    x = np.repeat(x, 1, axis=0)
    scale = SPECIALS.astype(SCALE_DTYPES[scale_dtype])
    offset = np.roll(SPECIALS, 3).astype(SCALE_DTYPES[scale_dtype])
    check(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
    check(x, scale, dst_type=dst, sqrt_mode=sqrt_mode)


@pytest.mark.parametrize("rank", range(0, 9))
@pytest.mark.parametrize("kind", ["int8", "int32"])
def test_ranks_zero_to_eight(rank, kind):
    rng = np.random.default_rng(rank)
    shape = tuple(int(rng.choice([1, 2, 3])) for _ in range(rank))
    y_last = (shape[-1] if shape else 1) * (8 if kind == "int32" else 1)
    if kind == "int32":
        x = x_input(kind, values_for(kind, (*shape[:-1], y_last), rng)).reshape(shape)
    else:
        x = x_input(kind, values_for(kind, shape, rng))
    for n in {1, y_last}:
        y = check(x, rng.random(n).astype(np.float32), rng.random(n).astype(np.float32), dst_type=27)
        assert y.shape == ((*shape[:-1], y_last) if shape else ((8,) if kind == "int32" else ()))


@pytest.mark.parametrize("shape", [(131073,), (131073, 1), (1, 131073), (2, 1, 131073), (131073, 3)])
@pytest.mark.parametrize("per_channel", [False, True])
def test_long_and_unit_axes(shape, per_channel):
    rng = np.random.default_rng(7)
    x = values_for("int8", shape, rng)
    n = shape[-1] if per_channel else 1
    check(x, rng.random(n).astype(np.float32), rng.random(n).astype(np.float32), dst_type=1)


def test_long_int4_axis():
    rng = np.random.default_rng(8)
    values = values_for("int4", (3, 131074), rng)
    for kind in ("int4", "int4_packed"):
        check(x_input(kind, values), rng.random(131074).astype(ml_dtypes.bfloat16), dst_type=27)


@pytest.mark.parametrize("shape", [(0,), (0, 16), (4, 0), (2, 0, 3)])
def test_empty_tensor_leaves_out_untouched(shape):
    x = np.zeros(shape, np.int8)
    out = np.full(shape, 7, np.float16)
    result = ascend_anti_quant(x, np.ones(1, np.float32), out=out)
    assert result is out and (out == 7).all()


def test_strided_inputs_and_outputs():
    rng = np.random.default_rng(3)
    big = values_for("int8", (40, 90), rng)
    x = big[::2, 1::3]                       # (20, 30), non-contiguous
    scale_big = rng.random(60).astype(np.float32)
    scale = scale_big[::2]                   # strided scale
    offset = rng.random(60).astype(ml_dtypes.bfloat16)[::2].astype(np.float32)
    out_big = np.zeros((40, 60), ml_dtypes.bfloat16)
    out = out_big[::-2, ::2]                 # negative and step strides
    ascend_anti_quant(x, scale, offset, dst_type=27, out=out)
    assert_same_bits(out, reference.anti_quant(x, scale, offset, dst_type=27))
    assert (out_big[::2].astype(np.float32) == 0).all() and (out_big[:, 1::2].astype(np.float32) == 0).all()
    check(big.T, scale_big[:40], dst_type=1)           # transposed view
    w = pack_int4(values_for("int4", (6, 64), rng), np.int32)
    check(w[:, ::2], rng.random(8 * 4).astype(np.float32), dst_type=1)


def test_packed_int4_tensor_over_flat_bytes():
    rng = np.random.default_rng(4)
    values = values_for("int4", (6, 10), rng)
    flat = pack_int4(values).reshape(-1)
    x = AclTensor.from_numpy(flat, dtype=DataType.INT4, shape=(6, 10))
    y = ascend_anti_quant(x, np.array([0.25], np.float32), dst_type=27)
    np.testing.assert_array_equal(y.astype(np.float32), values * 0.25)


@pytest.mark.parametrize("out_dtype,dst", [(np.float16, 1), (ml_dtypes.bfloat16, 27)])
def test_out_is_filled_and_returned(out_dtype, dst):
    x = np.arange(-4, 4, dtype=np.int8).reshape(2, 4)
    out = np.empty((2, 4), out_dtype)
    assert ascend_anti_quant(x, np.array([2.0], np.float32), dst_type=dst, out=out) is out
    np.testing.assert_array_equal(out.astype(np.float32), x * 2.0)


@pytest.mark.parametrize("alias,code", [(np.float16, 1), ("float16", 1), (ml_dtypes.bfloat16, 27), ("bfloat16", 27),
                                        (DataType.BF16, 27), (27, 27), ("bf16", 27)])
def test_dst_type_aliases(alias, code):
    y = ascend_anti_quant(np.ones(4, np.int8), np.ones(1, np.float32), dst_type=alias)
    assert y.dtype == DST[code]
