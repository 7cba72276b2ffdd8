"""The helpers beside the oracle that every check shares: the bit comparison and the random inputs."""

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclTensor, ascend_anti_quant
from antiquant.core.reference import X_KINDS, anti_quant, first_difference, int_values, random_inputs, same_bits

BF16 = ml_dtypes.bfloat16


def test_nans_are_compared_by_their_bits():
    expected = np.array([1.0, np.nan, -0.0], np.float16)
    for bits in (0xFE00, 0x7E01, 0x7C01):       # the other sign, another payload, a signalling NaN
        other_nan = expected.copy()
        other_nan.view(np.uint16)[1] = bits
        assert first_difference(other_nan, expected) == (
            f"1 of 3 elements differ; first at (1,): got {bits:#06x}, expected 0x7e00")
    assert same_bits(expected.copy(), expected)
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


@pytest.mark.parametrize("kind, from_pool", [(k, False) for k in X_KINDS] + [(k, True) for k in X_KINDS if k != "int4"])
def test_random_inputs_of_every_kind_feed_operator_and_oracle_alike(kind, from_pool):
    pool = np.random.default_rng(9).integers(-128, 128, 4096, dtype=np.int8) if from_pool else None
    x, scale, offset = random_inputs((3, 16), kind, scale_dtype="bf16", offset=True, seed=4, pool=pool)
    values = int_values(x)
    assert values.shape == (3, 16) and scale.dtype == offset.dtype == BF16 and scale.shape == (16,)
    assert values.min() >= (-128 if kind == "int8" else -8) and values.max() <= (127 if kind == "int8" else 7)
    assert not from_pool or np.shares_memory(x.array if isinstance(x, AclTensor) else x, pool)
    assert same_bits(ascend_anti_quant(x, scale, offset, dst_type=27), anti_quant(x, scale, offset, dst_type=27))
    again = random_inputs((3, 16), kind, scale_dtype="bf16", offset=True, seed=4, pool=pool)
    assert np.array_equal(int_values(again[0]), values)  # a seed gives the same inputs


def test_random_inputs_per_tensor_and_refusals():
    x, scale, offset = random_inputs((2, 8), "int32", per_channel=False)
    assert x.shape == (2, 1) and scale.shape == (1,) and scale.dtype == np.float32 and offset is None
    with pytest.raises(ValueError, match="multiple of 8"):
        random_inputs((2, 12), "int32")
    with pytest.raises(ValueError, match="pool: expected at least 64 bytes"):
        random_inputs((4, 16), "int8", pool=np.zeros(10, np.int8))
    with pytest.raises(ValueError, match="pool: an ml_dtypes.int4 x holds one value"):
        random_inputs((4, 16), "int4", pool=np.zeros(64, np.int8))
    with pytest.raises(ValueError, match="kind: expected one of"):
        random_inputs((2, 8), "uint8")
