"""The oracle: docs/spec.md section 1 in slow, plain numpy, one line per step. Every fast path is tested against it.

Beside it, what every check against it shares: the one bit comparison (``same_bits``, ``first_difference``)
and the one generator of random operator inputs (``random_inputs``, over ``random_values`` and ``stored_x``)
that the demo, ``antiquant sweep``, the bench and the tests use.
"""

from __future__ import annotations

import numpy as np

from .dtypes import DTYPE_NAMES, DataType, dst_type_code, numpy_dtype_of, pack_int4, unpack_int4
from .tensor import AclTensor

__all__ = ["int_values", "anti_quant", "same_bits", "first_difference", "X_KINDS", "X_GROUP", "random_values",
           "stored_x", "random_inputs"]


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


# -- random inputs -------------------------------------------------------------------------------------

# x's storage kinds: int8; int4 unpacked (ml_dtypes.int4, one value per byte); int4 packed two per byte (an
# AclTensor over uint8); int32 carrying eight int4 per word. X_GROUP: y's last axis is a multiple of it.
X_KINDS = ("int8", "int4", "int4_packed", "int32")
X_GROUP = {"int8": 1, "int4": 2, "int4_packed": 2, "int32": 8}


def random_values(kind: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Uniform int8 values that an x of ``kind`` can hold: [-128, 127] for int8, [-8, 7] for the int4 kinds."""
    lo, hi = (-128, 128) if kind == "int8" else (-8, 8)
    return rng.integers(lo, hi, shape, dtype=np.int8)


def stored_x(kind: str, values: np.ndarray):
    """x of storage ``kind`` holding ``values`` (int8 values, y's shape; int4 kinds need [-8, 7])."""
    if kind == "int8":
        return values.astype(np.int8)
    if kind == "int4":
        return values.astype(numpy_dtype_of(DataType.INT4))
    if kind == "int4_packed":
        return AclTensor.from_numpy(pack_int4(values), dtype=DataType.INT4, shape=values.shape)
    if kind == "int32":
        return pack_int4(values, np.int32)
    raise ValueError(f"kind: expected one of {', '.join(X_KINDS)}, got {kind!r}")


def _x_over(kind: str, y_shape: tuple, pool: np.ndarray):
    """x of ``kind`` for y of ``y_shape`` as a view of the random bytes ``pool`` (no copy): every byte is
    a valid int8, every nibble a valid int4."""
    if kind == "int4":
        raise ValueError("pool: an ml_dtypes.int4 x holds one value in [-8, 7] per byte; draw it instead")
    nbytes = int(np.prod(y_shape, dtype=np.int64)) // (1 if kind == "int8" else 2)
    if pool.size < nbytes:
        raise ValueError(f"pool: expected at least {nbytes} bytes, got {pool.size}")
    raw = pool[:nbytes]
    if kind == "int8":
        return raw.reshape(y_shape)
    words = (*y_shape[:-1], y_shape[-1] // X_GROUP[kind])
    if kind == "int32":
        return raw.view(np.int32).reshape(words)
    return AclTensor.from_numpy(raw.view(np.uint8).reshape(words), dtype=DataType.INT4, shape=y_shape)


def random_inputs(y_shape, kind: str = "int8", *, scale_dtype="float32", per_channel: bool = True,
                  offset: bool = False, seed: int = 0, pool: np.ndarray | None = None):
    """``(x, scale, offset)`` for a y of ``y_shape``: uniform x of storage ``kind`` (drawn, or a view of the
    random bytes ``pool``), a scale in [0, 0.02) and, with ``offset``, integral offsets in [-4, 4], of size
    y's last dimension (``per_channel``) or 1, of ``scale_dtype`` (a name or DataType)."""
    y_shape = tuple(y_shape)
    last = y_shape[-1] if y_shape else 1
    if kind not in X_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(X_KINDS)}, got {kind!r}")
    if last % X_GROUP[kind] or (not y_shape and kind != "int8"):
        raise ValueError(f"y_shape: a y from {kind} x needs a last dimension that is a multiple of "
                         f"{X_GROUP[kind]}, got {y_shape}")
    rng = np.random.default_rng(seed)
    x = stored_x(kind, random_values(kind, y_shape, rng)) if pool is None else _x_over(kind, y_shape, pool)
    dtype = numpy_dtype_of(DTYPE_NAMES[scale_dtype] if isinstance(scale_dtype, str) else scale_dtype)
    n = last if per_channel else 1
    scale = (rng.random(n, dtype=np.float32) * np.float32(0.02)).astype(dtype)
    return x, scale, rng.integers(-4, 5, n).astype(dtype) if offset else None
