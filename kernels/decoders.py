"""8-bit float codes -> float32 in Numba: HiFloat8, FLOAT8_E5M2 and FLOAT8_E4M3FN (docs/spec.md 8.4, 8.5).

Each ``*_bits(code)`` takes one code (any integer type; only its low byte is read) and returns the float32
bit pattern as uint32; ``*_f32`` returns the float32 itself. They compose the bits with 32-bit integer
operations and selects, no table and no loop, so a loop over a byte array vectorises; every finite value is
exact. NaN policy: a NaN code decodes to the quiet NaN 0x7FC00000 with the code's sign for FLOAT8 (as
ml_dtypes), and HiFloat8's one NaN, 0x80, to +0x7FC00000 (as en_dtypes and MindSpore; AscendC's scalar
routines give 0x7FFFFFFF, a NaN with a payload). ``antiquant.core.reference`` decodes the same bits its own
way, and the tests compare all 256 codes of each format.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import bits_f32, f32_bits

__all__ = ["CODE_DECODERS", "hifloat8_bits", "hifloat8_f32", "float8_e5m2_bits", "float8_e5m2_f32", "float8_e4m3fn_bits",
           "float8_e4m3fn_f32"]

_U = np.uint32
_F = np.float32
QUIET_NAN = _U(0x7FC00000)
INFINITY = _U(0x7F800000)
MANTISSA = _U(0x007FFFFF)


@njit(inline="always")
def hifloat8_bits(code):
    """HiFloat8 code -> float32 bits.

    With p the low 7 bits: p >= 0x20 holds a Dot code of 2 bits and a mantissa of mw = 1, 2 or 3 bits
    (p >= 0x60, >= 0x40, else); the exponent's sign is bit 4 and its magnitude, leading 1 implicit, is bits
    3..mw under an implicit bit 4: (0x10 | p & 0xF) >> mw. Below 0x20: Dot 001 (|E| = 1, sign bit 3),
    0001 (E = 0), 0000 (denormal: 2^(p - 23), zero and NaN). The mantissa's fp32 bits are p << (23 - mw).
    """
    b = _U(code) & _U(0xFF)
    sign = (b >> _U(7)) << _U(31)
    p = b & _U(0x7F)
    mw = _U(1) if p >= _U(0x60) else _U(2) if p >= _U(0x40) else _U(3)
    wide = p >= _U(0x20)
    magnitude = ((_U(0x10) | (p & _U(0x0F))) >> mw) if wide else _U(1) if p >= _U(0x10) else _U(0)
    negative = (p & (_U(0x10) if wide else _U(0x08))) != _U(0)
    exponent = _U(127) - magnitude if negative else _U(127) + magnitude
    normal = sign | (exponent << _U(23)) | ((p << (_U(23) - mw)) & MANTISSA)
    denormal = sign | ((p + _U(104)) << _U(23))          # 2^(p - 23): biased exponent p - 23 + 127
    bits = normal if p >= _U(0x08) else denormal
    bits = (QUIET_NAN if b != _U(0) else _U(0)) if p == _U(0) else bits
    return (sign | INFINITY) if p == _U(0x6F) else bits


@njit(inline="always")
def _ocp_float8_bits(code, exp_bits, man_bits, ieee_top):
    """An OCP FLOAT8 code -> float32 bits: normal codes rebias the exponent, subnormal ones (m * 2^(1 - bias
    - man_bits)) are converted from their integer mantissa, exactly; the top exponent is Inf/NaN if
    ``ieee_top`` (E5M2), else only its all-ones mantissa is NaN (E4M3FN, no Inf)."""
    b = _U(code) & _U(0xFF)
    sign = (b >> _U(7)) << _U(31)
    e = (b >> _U(man_bits)) & _U((1 << exp_bits) - 1)
    m = b & _U((1 << man_bits) - 1)
    bias = (1 << (exp_bits - 1)) - 1
    normal = sign | ((e + _U(127 - bias)) << _U(23)) | (m << _U(23 - man_bits))
    scale = bits_f32(_U(127 + 1 - bias - man_bits) << _U(23))    # 2^(1 - bias - man_bits)
    subnormal = sign | f32_bits(_F(np.int32(m)) * scale)        # both steps exact; m = 0 gives +-0
    bits = normal if e != _U(0) else subnormal
    top = e == _U((1 << exp_bits) - 1)
    if ieee_top:
        return (sign | (QUIET_NAN if m != _U(0) else INFINITY)) if top else bits
    return (sign | QUIET_NAN) if top and m == _U((1 << man_bits) - 1) else bits


@njit(inline="always")
def float8_e5m2_bits(code):
    """FLOAT8_E5M2 code -> float32 bits: bias 15, S.11111.00 +-Inf, S.11111.{01,10,11} NaN."""
    return _ocp_float8_bits(code, 5, 2, True)


@njit(inline="always")
def float8_e4m3fn_bits(code):
    """FLOAT8_E4M3FN code -> float32 bits: bias 7, no Inf, S.1111.111 NaN."""
    return _ocp_float8_bits(code, 4, 3, False)


@njit(inline="always")
def hifloat8_f32(code):
    """HiFloat8 code -> float32 (``hifloat8_bits``)."""
    return bits_f32(hifloat8_bits(code))


@njit(inline="always")
def float8_e5m2_f32(code):
    """FLOAT8_E5M2 code -> float32 (``float8_e5m2_bits``)."""
    return bits_f32(float8_e5m2_bits(code))


@njit(inline="always")
def float8_e4m3fn_f32(code):
    """FLOAT8_E4M3FN code -> float32 (``float8_e4m3fn_bits``)."""
    return bits_f32(float8_e4m3fn_bits(code))


# The kernels' name of each 8-bit float source (``kernels.dequant.SOURCES``) -> its code -> float32 decoder.
CODE_DECODERS = {"hifloat8": hifloat8_f32, "float8_e5m2": float8_e5m2_f32, "float8_e4m3fn": float8_e4m3fn_f32}
