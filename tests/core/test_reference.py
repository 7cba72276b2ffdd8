"""The helpers beside the oracle that every check shares: the bit comparison."""

import ml_dtypes
import numpy as np

from antiquant.core.reference import first_difference, same_bits

BF16 = ml_dtypes.bfloat16


def test_any_nan_matches_any_nan_and_nothing_else():
    expected = np.array([1.0, np.nan, -0.0], np.float16)
    other_nan = expected.copy()
    other_nan.view(np.uint16)[1] = 0xFE01  # a negative NaN with another payload
    assert same_bits(expected.copy(), expected) and same_bits(other_nan, expected)
    assert first_difference(np.array([1.0, np.inf, -0.0], np.float16), expected) == (
        "1 of 3 elements differ; first at (1,): got 0x7c00, expected 0x7e00")
    assert first_difference(np.array([1.0, np.nan, 0.0], np.float16), expected) == (
        "1 of 3 elements differ; first at (2,): got 0x0000, expected 0x8000")


def test_shape_and_dtype_must_agree():
    y = np.zeros((2, 3), BF16)
    assert first_difference(y[:1], y) == "shape (1, 3), expected (2, 3)"
    assert first_difference(y.view(np.float16), y) == "dtype float16, expected bfloat16"
    assert first_difference(np.float16(2).reshape(()), np.float16(1).reshape(())).endswith(
        "first at (): got 0x4000, expected 0x3c00")


def test_raw_bits_are_read_as_the_dtype_given():
    # 0x7C01 is a float16 NaN but a finite bfloat16, so it matches another float16 NaN only
    got, want = np.array([0x7C01], np.uint16), np.array([0x7E00], np.uint16)
    assert same_bits(got, want, "fp16") and same_bits(got, want, np.float16)
    assert not same_bits(got, want, "bf16") and not same_bits(got, want, BF16)
