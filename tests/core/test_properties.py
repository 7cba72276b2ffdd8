"""Property: for any shape, dtype path, stride and scale/offset bit pattern, the operator equals the oracle."""

import ml_dtypes
import numpy as np
from hypothesis import given, strategies as st

from antiquant import ascend_anti_quant, reference
from conftest import DST, assert_same_bits
from inputs import SCALE_DTYPES, X_KINDS, values_for, x_input


def float_bits(dtype):
    """Any value of ``dtype`` drawn as a raw bit pattern: NaN, inf, subnormals and zeros included."""
    if dtype is np.float32:
        return st.integers(0, 2**32 - 1).map(lambda b: np.array([b], np.uint64).astype(np.uint32).view(np.float32)[0])
    return st.integers(0, 2**16 - 1).map(lambda b: np.array([b], np.uint16).view(ml_dtypes.bfloat16)[0])


@st.composite
def calls(draw):
    kind = draw(st.sampled_from(X_KINDS))
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 9)) for _ in range(rank)]
    if kind != "int8":
        shape[-1] = draw(st.integers(1, 6)) * (8 if kind == "int32" else 2)
    shape = tuple(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = values_for(kind, shape, rng)
    x = x_input(kind, values)
    if kind in ("int8", "int32") and draw(st.booleans()):   # a strided view of a larger array
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    scale_dtype = SCALE_DTYPES[draw(st.sampled_from(sorted(SCALE_DTYPES)))]
    n = shape[-1] if draw(st.booleans()) else 1
    special = st.one_of(float_bits(scale_dtype), st.floats(-4, 4, width=32).map(scale_dtype))
    scale = np.array(draw(st.lists(special, min_size=n, max_size=n)), scale_dtype)
    offset = np.array(draw(st.lists(special, min_size=n, max_size=n)), scale_dtype) if draw(st.booleans()) else None
    dst = draw(st.sampled_from([1, 27]))
    strided_out = draw(st.booleans())
    return x, scale, offset, dst, draw(st.booleans()), strided_out


@given(calls())
def test_operator_equals_reference(call):
    x, scale, offset, dst, sqrt_mode, strided_out = call
    expected = reference.anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
    out = None
    if strided_out:
        out = np.zeros((*expected.shape[:-1], expected.shape[-1] * 2), DST[dst])[..., ::2]
    got = ascend_anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode, out=out)
    assert_same_bits(got, expected)
