"""The oracle: docs/spec.md section 1 in slow, plain numpy, one line per step. Every fast path is tested against it.

With it, the decoders of the 8-bit float codes of Ascend 950 (``hifloat8_values``, ``float8_values``:
docs/spec.md sections 8.4.3 and 8.5), written from the spec in numpy integer arithmetic and ``ldexp``; they
share nothing with ``ml_dtypes`` or ``en_dtypes``, so both can check them.

Beside it, what every check against it shares: the one bit comparison (``same_bits``, ``first_difference``)
and the one generator of random operator inputs (``random_inputs``, over ``random_values`` and ``stored_x``)
that the demo, ``antiquant sweep``, the bench and the tests use.
"""

from __future__ import annotations

import numpy as np

from .dtypes import DTYPE_NAMES, DataType, dst_type_code, numpy_dtype_of, pack_int4, unpack_int4
from .tensor import AclTensor

__all__ = ["int_values", "x_values", "broadcast_scale", "hifloat8_values", "float8_values", "QUIET_NAN_BITS",
           "anti_quant", "same_bits", "first_difference", "FLOAT8_KINDS", "X_KINDS", "ALL_KINDS", "X_GROUP",
           "random_values", "stored_x", "random_inputs"]


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


# -- 8-bit float codes -> float32 ------------------------------------------------------------------------
# Every finite code's value is a float32 exactly. NaN codes decode to the quiet NaN 0x7FC00000 with the code's
# sign bit for FLOAT8 (as ml_dtypes gives), and to +0x7FC00000 for HiFloat8's one NaN 0x80 (as en_dtypes and
# MindSpore give; AscendC's scalar routines give 0x7FFFFFFF for every NaN code of all three formats, a NaN
# with a payload and no sign). So a NaN x brings no payload into y. kernels/decoders.py decodes the same bits.
QUIET_NAN_BITS = 0x7FC00000


def _codes(codes) -> np.ndarray:
    """The bytes of ``codes`` (uint8/int8 codes, an ml_dtypes/en_dtypes 8-bit float array, or an AclTensor)."""
    a = _array(codes)
    if a.dtype.itemsize != 1:
        raise TypeError(f"reference: expected one-byte codes, got {a.dtype}")
    return a.view(np.uint8).astype(np.int64)


def _float32(values: np.ndarray, nan_bits: np.ndarray) -> np.ndarray:
    """float64 values (exact in float32, no NaN among them where ``nan_bits`` is nonzero) as float32, with the
    elements where ``nan_bits`` is nonzero set to those bits."""
    out = values.astype(np.float32)
    bits = out.view(np.uint32)
    bits[...] = np.where(nan_bits != 0, nan_bits, bits).astype(np.uint32)
    return out


def hifloat8_values(codes) -> np.ndarray:
    """float32 values of HiFloat8 codes, as docs/spec.md section 8.4.3 decodes them, step by step."""
    b = _codes(codes)
    sign, p = np.where(b >> 7 == 1, -1.0, 1.0), b & 0x7F                                # 2.
    top2, top3, top4 = p >> 5, p >> 4, p >> 3                                           # 3. the Dot prefix
    d = np.select([top2 == 0b11, top2 == 0b10, top2 == 0b01, top3 == 0b001, top4 == 0b0001],
                  [4, 3, 2, 1, 0], -1)                                                  # -1: DML
    mw = np.select([d == 4, d == 3], [1, 2], 3)
    denormal = sign * np.ldexp(1.0, (p & 7) - 23)                                       # 4.
    m = p & ((1 << mw) - 1)                                                             # 5.
    dd = np.maximum(d, 1)                                                               # (D >= 1 below)
    ef = (p >> mw) & ((1 << dd) - 1)
    es = ef >> (dd - 1)
    mag = (1 << (dd - 1)) | (ef & ((1 << (dd - 1)) - 1))
    e = np.where(d <= 0, 0, np.where(es == 1, -mag, mag))
    normal = sign * np.ldexp(1.0 + m / (1 << mw), e)                                   # 6.
    values = np.where(d == -1, denormal, normal)
    values = np.where(b == 0x00, 0.0, values)                                          # 1. the specials
    values = np.where(p == 0x6F, sign * np.inf, values)
    values = np.where(b == 0x80, 0.0, values)
    return _float32(values, np.where(b == 0x80, QUIET_NAN_BITS, 0))


# FLOAT8 layouts (docs/spec.md section 8.5): exponent bits, mantissa bits, bias, whether the top exponent is
# Inf/NaN (E5M2, IEEE-like) or only S.1111.111 is NaN and there is no Inf (E4M3FN).
_FLOAT8 = {DataType.FLOAT8_E5M2: (5, 2, 15, True), DataType.FLOAT8_E4M3FN: (4, 3, 7, False)}


def float8_values(codes, dtype) -> np.ndarray:
    """float32 values of FLOAT8_E5M2 or FLOAT8_E4M3FN codes (``dtype``: the DataType), OCP conventions."""
    exp_bits, man_bits, bias, ieee = _FLOAT8[DataType(dtype)]
    b = _codes(codes)
    negative = b >> 7 == 1
    e, m = (b >> man_bits) & ((1 << exp_bits) - 1), b & ((1 << man_bits) - 1)
    magnitude = np.where(e == 0,
                         np.ldexp(m.astype(np.float64), 1 - bias - man_bits),           # subnormal, or zero
                         np.ldexp(((1 << man_bits) + m).astype(np.float64), e - bias - man_bits))
    top = e == (1 << exp_bits) - 1
    nan = top & (m != 0) if ieee else top & (m == (1 << man_bits) - 1)
    if ieee:
        magnitude = np.where(top & (m == 0), np.inf, magnitude)
    magnitude = np.where(nan, 0.0, magnitude)
    nan_bits = np.where(nan, QUIET_NAN_BITS | (negative.astype(np.int64) << 31), 0)
    return _float32(np.where(negative, -magnitude, magnitude), nan_bits)


def _array(a) -> np.ndarray:
    return a.array if isinstance(a, AclTensor) else np.asarray(a)


def x_values(x) -> np.ndarray:
    """x's values as float32, shaped like y: integers exactly, 8-bit float codes by the decoders above."""
    t = x if isinstance(x, AclTensor) else AclTensor.from_numpy(np.asarray(x))
    if t.dtype == DataType.HIFLOAT8:
        return hifloat8_values(t.array)
    if t.dtype in (DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN):
        return float8_values(t.array, t.dtype)
    return int_values(t).astype(np.float32)


def broadcast_scale(values: np.ndarray, y_shape: tuple) -> np.ndarray:
    """scale (or offset) shaped to broadcast against y, by docs/spec.md section 8.3.3: one value for all; a
    vector along y's last axis, or along its second-last (per head) where it matches that and not the last;
    a multi-dimensional one as numpy broadcasts it (its one non-1 axis is -1 or -2)."""
    if values.size == 1:
        return values.reshape(())
    if values.ndim > 1:
        return values
    per_head = len(y_shape) > 1 and y_shape[-1] != y_shape[-2] and values.size == y_shape[-2]
    return values.reshape(-1, 1) if per_head else values


def anti_quant(x, scale, offset=None, *, dst_type=DataType.FLOAT16, sqrt_mode=False) -> np.ndarray:
    """``cast_to_dst((x + offset) * scale)`` with ``scale = scale * scale`` in sqrt mode, all in float32."""
    with np.errstate(all="ignore"):  # inf and NaN are valid results, not errors
        return _anti_quant(x_values(x), scale, offset, dst_type, sqrt_mode)


# float32's quiet bit: IEEE arithmetic sets it in every NaN it returns.
QUIET_BIT = np.uint32(0x00400000)


def _quiet(values) -> np.ndarray:
    return (np.asarray(values, np.float32).view(np.uint32) | QUIET_BIT).view(np.float32)


def _step(a, b, op) -> np.ndarray:
    """``op(a, b)`` in float32, but where an operand is a NaN the first NaN of (a, b), quieted (docs/spec.md
    section 1). Spelled out because numpy's loops return either NaN when both are, by length and alignment."""
    result = op(a, b)
    for operand in (b, a):                                           # a last: where both are NaN, a's
        result = np.where(np.isnan(operand), _quiet(operand), result)
    return result


def _anti_quant(xf, scale, offset, dst_type, sqrt_mode) -> np.ndarray:
    # 1. x as float32: exact for int8, int4 and the 8-bit floats
    s = broadcast_scale(_array(scale).astype(np.float32), xf.shape)  # 2. widening bf16 is exact
    if sqrt_mode:
        s = _step(s, s, np.multiply)                                 # 3. once per scale value
    if offset is not None:
        xf = _step(xf, broadcast_scale(_array(offset).astype(np.float32), xf.shape), np.add)  # 4.
    v = _step(xf, s, np.multiply)                                    # 5.
    dst = numpy_dtype_of(dst_type_code(dst_type))
    return v.astype(dst).reshape(xf.shape)                           # 6. round to nearest even


# -- comparing results ---------------------------------------------------------------------------------

def first_difference(actual: np.ndarray, expected: np.ndarray) -> str | None:
    """None if ``actual`` has ``expected``'s shape, dtype and bit patterns, NaNs included (docs/spec.md
    section 1 promises their bits too), else one line saying what differs."""
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, expected {expected.dtype}"
    a, e = actual.view(np.uint16), expected.view(np.uint16)
    bad = a != e
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    return (f"{int(bad.sum())} of {bad.size} elements differ; first at {first}: "
            f"got {int(a[first]):#06x}, expected {int(e[first]):#06x}")


def same_bits(actual: np.ndarray, expected: np.ndarray) -> bool:
    """``first_difference`` finds nothing."""
    return first_difference(actual, expected) is None


# -- random inputs -------------------------------------------------------------------------------------

# x's storage kinds every platform takes (X_KINDS): int8; int4 unpacked (ml_dtypes.int4, one value per byte);
# int4 packed two per byte (an AclTensor over uint8); int32 carrying eight int4 per word. Ascend 950 adds the
# 8-bit floats (FLOAT8_KINDS), one code per byte (HIFLOAT8 in ``numpy_dtype_of(DataType.HIFLOAT8)``).
# X_GROUP: y's last axis is a multiple of it.
FLOAT8_KINDS = {"hifloat8": DataType.HIFLOAT8, "float8_e5m2": DataType.FLOAT8_E5M2,
                "float8_e4m3fn": DataType.FLOAT8_E4M3FN}
X_KINDS = ("int8", "int4", "int4_packed", "int32")
ALL_KINDS = (*X_KINDS, *FLOAT8_KINDS)
X_GROUP = {"int8": 1, "int4": 2, "int4_packed": 2, "int32": 8, **dict.fromkeys(FLOAT8_KINDS, 1)}
WHOLE_BYTES = ("int8", *FLOAT8_KINDS)       # kinds whose every byte is one valid element


def random_values(kind: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Uniform int8 values that an x of ``kind`` can hold: [-128, 127] for int8 (and, as codes, every one of the
    256 codes of an 8-bit float, NaN and Inf included), [-8, 7] for the int4 kinds."""
    lo, hi = (-128, 128) if kind in WHOLE_BYTES else (-8, 8)
    return rng.integers(lo, hi, shape, dtype=np.int8)


def stored_x(kind: str, values: np.ndarray):
    """x of storage ``kind`` holding ``values`` (int8 values, y's shape; int4 kinds need [-8, 7]; the 8-bit
    floats take them as codes)."""
    if kind == "int8":
        return values.astype(np.int8)
    if kind in FLOAT8_KINDS:
        return np.ascontiguousarray(values, np.int8).view(numpy_dtype_of(FLOAT8_KINDS[kind]))
    if kind == "int4":
        return values.astype(numpy_dtype_of(DataType.INT4))
    if kind == "int4_packed":
        return AclTensor.from_numpy(pack_int4(values), dtype=DataType.INT4, shape=values.shape)
    if kind == "int32":
        return pack_int4(values, np.int32)
    raise ValueError(f"kind: expected one of {', '.join(ALL_KINDS)}, got {kind!r}")


def _x_over(kind: str, y_shape: tuple, pool: np.ndarray):
    """x of ``kind`` for y of ``y_shape`` as a view of the random bytes ``pool`` (no copy): every byte is
    a valid int8, every nibble a valid int4."""
    if kind == "int4":
        raise ValueError("pool: an ml_dtypes.int4 x holds one value in [-8, 7] per byte; draw it instead")
    nbytes = int(np.prod(y_shape, dtype=np.int64)) // (1 if kind in WHOLE_BYTES else 2)
    if pool.size < nbytes:
        raise ValueError(f"pool: expected at least {nbytes} bytes, got {pool.size}")
    raw = pool[:nbytes]
    if kind == "int8":
        return raw.reshape(y_shape)
    if kind in FLOAT8_KINDS:
        return stored_x(kind, raw.view(np.int8).reshape(y_shape))       # a view of the same bytes
    words = (*y_shape[:-1], y_shape[-1] // X_GROUP[kind])
    if kind == "int32":
        return raw.view(np.int32).reshape(words)
    return AclTensor.from_numpy(raw.view(np.uint8).reshape(words), dtype=DataType.INT4, shape=y_shape)


def random_inputs(y_shape, kind: str = "int8", *, scale_dtype="float32", per_channel: bool = True,
                  offset: bool = False, seed: int = 0, pool: np.ndarray | None = None, scale_shape=None):
    """``(x, scale, offset)`` for a y of ``y_shape``: uniform x of storage ``kind`` (drawn, or a view of the
    random bytes ``pool``), a scale in [0, 0.02) and, with ``offset``, integral offsets in [-4, 4], of size
    y's last dimension (``per_channel``) or 1, or of ``scale_shape`` if given (per head: ``(y_shape[-2],)``),
    of ``scale_dtype`` (a name or DataType)."""
    y_shape = tuple(y_shape)
    last = y_shape[-1] if y_shape else 1
    if kind not in ALL_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(ALL_KINDS)}, got {kind!r}")
    if last % X_GROUP[kind] or (not y_shape and kind != "int8"):
        raise ValueError(f"y_shape: a y from {kind} x needs a last dimension that is a multiple of "
                         f"{X_GROUP[kind]}, got {y_shape}")
    rng = np.random.default_rng(seed)
    x = stored_x(kind, random_values(kind, y_shape, rng)) if pool is None else _x_over(kind, y_shape, pool)
    dtype = numpy_dtype_of(DTYPE_NAMES[scale_dtype] if isinstance(scale_dtype, str) else scale_dtype)
    shape = (last if per_channel else 1,) if scale_shape is None else tuple(scale_shape)
    scale = (rng.random(shape, dtype=np.float32) * np.float32(0.02)).astype(dtype)
    return x, scale, rng.integers(-4, 5, shape).astype(dtype) if offset else None
