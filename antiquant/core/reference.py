"""The oracle: docs/spec.md section 1 in slow, plain numpy, one line per step. Every fast path is tested against it."""

from __future__ import annotations

import numpy as np

from .dtypes import DataType, dst_type_code, numpy_dtype_of, unpack_int4
from .tensor import AclTensor

__all__ = ["int_values", "anti_quant"]


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
