"""The float32 -> 16-bit conversions against numpy and ml_dtypes on raw bit patterns."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import njit

from antiquant.kernels.bits import bf16_bits, f16_bits_hw, f16_bits_sw, target_has_f16c


@njit
def _convert_sw(src, out):
    for i in range(src.size):
        out[i] = f16_bits_sw(src[i])


@njit
def _convert_hw(src, out):
    for i in range(src.size):
        out[i] = f16_bits_hw(src[i])


@njit
def _convert_bf16(src, out):
    for i in range(src.size):
        out[i] = bf16_bits(src[i])


CONVERTERS = {"f16_sw": (_convert_sw, np.float16), "bf16": (_convert_bf16, ml_dtypes.bfloat16)}
if target_has_f16c():
    CONVERTERS["f16_hw"] = (_convert_hw, np.float16)


def patterns() -> np.ndarray:
    """A spread over all 2**32 patterns plus every pattern near the rounding and range edges."""
    spread = np.arange(0, 1 << 32, 65521, dtype=np.uint64)
    edges = []
    for center in (0x33000000, 0x38800000, 0x477FE000, 0x477FF000, 0x7F7F8000, 0x7F800000, 0x00800000, 0x3F800000):
        edges.append(np.arange(center - 4096, center + 4096, dtype=np.int64) % (1 << 32))
    bits = np.concatenate([spread] + [e.astype(np.uint64) for e in edges]).astype(np.uint32)
    return np.concatenate([bits, bits | np.uint32(0x80000000)])


def check(name, bits):
    """Every pattern's bits as numpy / ml_dtypes convert it, a signalling NaN once quieted (numpy keeps it
    signalling in float16, F16C quiets it; none reaches the kernels' cast: tests/kernels/test_nan_policy.py)."""
    fn, dtype = CONVERTERS[name]
    values = bits.view(np.float32)
    out = np.empty(values.size, np.uint16)
    fn(values, out)
    quieted = np.where(np.isnan(values), bits | np.uint32(0x00400000), bits).view(np.float32)
    with np.errstate(all="ignore"):
        expected = quieted.astype(dtype).view(np.uint16)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_patterns(name):
    check(name, patterns())


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_random_patterns(name, words):
    check(name, np.array(words, np.uint64).astype(np.uint32))


def test_kernel_with_software_fp16_matches():
    from antiquant import reference
    from antiquant.kernels import fused_kernel
    from antiquant.tiling import TILE_DTYPE
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (8, 512), dtype=np.int8)
    scale = (rng.standard_normal(512) * 300).astype(np.float32)
    y = np.empty((8, 512), np.uint16)
    tiles = np.array([(0, r, 1, 0, 512) for r in range(8)], TILE_DTYPE)
    lanes = scale.reshape(1, -1)  # int8 reads scale in one lane
    fused_kernel("int8", False, True, False, hw_f16=False)(x, lanes, lanes, y, tiles)
    expected = reference.anti_quant(x, scale, dst_type=1).view(np.uint16)
    assert np.array_equal(y, expected)
