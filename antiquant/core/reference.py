"""The oracle: docs/spec.md section 1 in slow, plain numpy, one line per step. Every fast path is tested against it.

Beside it, the one bit comparison (``same_bits``, ``first_difference``) that the demo, ``antiquant sweep``,
the bench and the tests judge results with.
"""

from __future__ import annotations

import numpy as np

from .dtypes import DataType, dst_type_code, numpy_dtype_of, unpack_int4
from .tensor import AclTensor

__all__ = ["int_values", "anti_quant", "same_bits", "first_difference"]


def int_values(x) -> np.ndarray:
    """x's integer values as int8, shaped like y (INT32 and packed INT4 unpacked, low nibble first)."""
    t = x if isinstance(x, AclTensor) else AclTensor.from_numpy(np.asarray(x))
    if t.dtype == DataType.INT8:
        return t.array
    if t.dtype == DataType.INT32 or t.packed:
        return unpack_int4(t.array)
    if t.dtype == DataType.INT4:
        return t.array.astype(np.int8)
    raise TypeError(f"reference: x must be INT8, INT4 or INT32, got {t.dtype.short}")


def _array(a) -> np.ndarray:
    return a.array if isinstance(a, AclTensor) else np.asarray(a)


def anti_quant(x, scale, offset=None, *, dst_type=DataType.FLOAT16, sqrt_mode=False) -> np.ndarray:
    """``cast_to_dst((x + offset) * scale)`` with ``scale = scale * scale`` in sqrt mode, all in float32."""
    with np.errstate(all="ignore"):  # inf and NaN are valid results, not errors
        return _anti_quant(int_values(x), scale, offset, dst_type, sqrt_mode)


def _anti_quant(values, scale, offset, dst_type, sqrt_mode) -> np.ndarray:
    xf = values.astype(np.float32)                                   # 1. exact for int8 and int4
    s = _array(scale).astype(np.float32)                             # 2. widening bf16 is exact
    if sqrt_mode:
        s = s * s                                                    # 3. once per scale value
    v = xf + _array(offset).astype(np.float32) if offset is not None else xf  # 4.
    v = v * s                                                        # 5.
    dst = numpy_dtype_of(dst_type_code(dst_type))
    return v.astype(dst).reshape(values.shape)                       # 6. round to nearest even


# -- comparing results ---------------------------------------------------------------------------------

def first_difference(actual: np.ndarray, expected: np.ndarray, dtype=None) -> str | None:
    """None if ``actual`` has ``expected``'s shape, dtype and bit patterns, else one line saying what differs.

    Any NaN matches any NaN (docs/spec.md section 1 promises more; a later issue tightens this). ``dtype``
    (a name such as "bf16", a DataType or a numpy dtype) says which float type two arrays of raw uint16
    bits hold; without it both arrays must be of y's dtype.
    """
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if dtype is None:
        if actual.dtype != expected.dtype:
            return f"dtype {actual.dtype}, expected {expected.dtype}"
        dtype = expected.dtype
    a, e = actual.view(np.uint16), expected.view(np.uint16)
    if np.array_equal(a, e):
        return None
    infinity = int(np.array(np.inf, numpy_dtype_of(dst_type_code(dtype))).view(np.uint16))
    nan_a, nan_e = (a & 0x7FFF) > infinity, (e & 0x7FFF) > infinity  # |bits| above infinity's: a NaN
    bad = (a != e) & ~(nan_a & nan_e)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    return (f"{int(bad.sum())} of {bad.size} elements differ; first at {first}: "
            f"got {int(a[first]):#06x}, expected {int(e[first]):#06x}")


def same_bits(actual: np.ndarray, expected: np.ndarray, dtype=None) -> bool:
    """``first_difference`` finds nothing."""
    return first_difference(actual, expected, dtype) is None
