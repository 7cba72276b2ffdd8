"""8-bit float codes -> float32 in Numba: HiFloat8, FLOAT8_E5M2 and FLOAT8_E4M3FN (docs/spec.md 8.4, 8.5).

Each ``*_bits(code)`` takes one code (any integer type; only its low byte is read) and returns the float32
bit pattern as uint32; ``*_f32`` returns the float32 itself; both run on any CPU. ``*_f16c`` compose the
code's binary16 bits instead (every value of the three formats is exact in binary16) and widen them with
F16C, in half-width lanes and, for FLOAT8, fewer steps. All compose bits with integer operations and
selects, no table and no loop, so a loop over a byte array vectorises (``kernels.lookup`` looks codes up in
a table instead, where the CPU can; docs/kernels.md, "8-bit float sources"). Every value is exact. NaN
policy: a NaN code decodes to the quiet NaN 0x7FC00000 with the code's sign for FLOAT8 (as ml_dtypes), and
HiFloat8's one NaN, 0x80, to +0x7FC00000 (as en_dtypes and MindSpore; AscendC's scalar routines give
0x7FFFFFFF, a NaN with a payload). ``antiquant.core.reference`` decodes the same bits its own
way, and the tests compare all 256 codes of each format.
"""

from __future__ import annotations

from typing import NamedTuple

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .bits import bits_f32

__all__ = ["CODE_DECODERS", "F16C_DECODERS", "F16C_BITS", "FLOAT32", "BINARY16", "hifloat8_ir", "ocp_float8_ir",
           "hifloat8_bits", "hifloat8_f32", "hifloat8_f16c", "float8_e5m2_bits", "float8_e5m2_f32", "float8_e5m2_f16c",
           "float8_e4m3fn_bits", "float8_e4m3fn_f32", "float8_e4m3fn_f16c"]


class Format(NamedTuple):
    """A binary float format a decoder composes: ``width`` bits, exponent ``bias``, ``man`` mantissa bits."""
    width: int
    bias: int
    man: int

    @property
    def infinity(self) -> int:
        return ((1 << (self.width - 1 - self.man)) - 1) << self.man

    @property
    def quiet_nan(self) -> int:
        return self.infinity | 1 << (self.man - 1)


FLOAT32 = Format(32, 127, 23)
BINARY16 = Format(16, 15, 10)       # F16C widens its quiet NaN 0x7E00 to float32's 0x7FC00000


def _low_byte(builder, code, ty):
    """``code``'s low byte, zero-extended to the integer type ``ty``."""
    width = code.type.width
    c = builder.trunc(code, ty) if width > ty.width else builder.zext(code, ty) if width < ty.width else code
    return builder.and_(c, ir.Constant(ty, 0xFF))


def hifloat8_ir(builder, code, fmt: Format) -> tuple:
    """HiFloat8 code -> the bits of its value in ``fmt`` (every HiF8 value is exact in FLOAT32 and BINARY16)
    and 1.0 (``Decode``'s contract).

    With p the low 7 bits: p >= 0x20 holds a Dot code d = p >> 5 of 2 bits, then the exponent's sign (bit 4),
    its magnitude under an implicit leading 1, and mw = 4 - d mantissa bits; so q = 0x10 | p & 0xF is
    |E| << mw | m and ``q << (man - mw)`` is |E| << man | the mantissa, already in place. Below 0x20 the
    fields sit one bit lower: t = p << 1 lines them up the same way, Dot 001 (|E| = 1, implicit bit now
    t's bit 5) and 0001 (E = 0, no implicit bit) then follow the same steps with d = 0. Below 0x08 (Dot
    0000): 2^(p - 23), zero and NaN. A value with a negative exponent is bias - |E| above the mantissa.
    """
    ty = ir.IntType(fmt.width)

    def k(v):
        return ir.Constant(ty, v)

    b = _low_byte(builder, code, ty)
    p = builder.and_(b, k(0x7F))
    t = builder.select(builder.icmp_unsigned("<", p, k(0x20)), builder.shl(p, k(1)), p)
    implicit = builder.select(builder.icmp_unsigned(">=", t, k(0x20)), k(0x10), k(0))
    q = builder.or_(builder.and_(t, k(0x0F)), implicit)
    placed = builder.shl(q, builder.add(builder.lshr(p, k(5)), k(fmt.man - 4)))      # |E| << man | mantissa
    mantissa = builder.and_(placed, k((1 << fmt.man) - 1))
    magnitude = builder.xor(placed, mantissa)                                         # |E| << man
    base = builder.add(k(fmt.bias << fmt.man), mantissa)
    negative = builder.icmp_unsigned("!=", builder.and_(t, k(0x10)), k(0))
    normal = builder.select(negative, builder.sub(base, magnitude), builder.add(base, magnitude))
    if -15 < 1 - fmt.bias:
        # E = -15 (codes 0x7E, 0x7F) is below the format's normal range (BINARY16's is 2^-14 up): 1.m * 2^-15
        # is the subnormal whose bits are the implicit 1 and the mantissa shifted down 16 - bias places
        subnormal = builder.lshr(builder.or_(mantissa, k(1 << fmt.man)), k(16 - fmt.bias))
        normal = builder.select(builder.icmp_unsigned(">=", p, k(0x7E)), subnormal, normal)
    # Dot 0000: 2^(p - 23), normal in FLOAT32, subnormal in BINARY16 (a 1 at bit p - 24 + bias + man)
    denormal_exponent = 1 - 23 + fmt.bias
    if denormal_exponent + 1 > 0:
        denormal = builder.shl(builder.add(p, k(denormal_exponent - 1)), k(fmt.man))
    else:
        denormal = builder.shl(k(1), builder.add(p, k(fmt.man - 24 + fmt.bias)))
    bits = builder.select(builder.icmp_unsigned("<", p, k(0x08)), denormal, normal)
    sign = builder.shl(builder.and_(b, k(0x80)), k(fmt.width - 8))
    bits = builder.select(builder.icmp_unsigned("==", p, k(0x6F)), k(fmt.infinity), bits)
    bits = builder.or_(sign, bits)
    zero_or_nan = builder.select(builder.icmp_unsigned("==", b, k(0)), k(0), k(fmt.quiet_nan))  # 0x80: unsigned
    return builder.select(builder.icmp_unsigned("==", p, k(0)), zero_or_nan, bits), 1.0


def ocp_factor(fmt: Format, exp_bits: int) -> float:
    """The exact factor by which an OCP FLOAT8 code's bits placed as ``fmt``'s read its value: 1 in FLOAT32
    (rebiased there), 2^(15 - bias) in BINARY16 (the code's exponent field kept as it is)."""
    return 2.0 ** (fmt.bias - ((1 << (exp_bits - 1)) - 1)) if fmt is BINARY16 else 1.0


def ocp_float8_ir(builder, code, fmt: Format, exp_bits: int, man_bits: int, ieee_top: bool) -> tuple:
    """An OCP FLOAT8 code -> bits in ``fmt`` and the exact factor that makes them its value: the top exponent
    is Inf/NaN if ``ieee_top`` (E5M2), else only its all-ones mantissa is NaN (E4M3FN, no Inf).

    FLOAT32: normal codes rebias the exponent, subnormal ones (m * 2^(1 - bias - man_bits)) are converted
    from their integer mantissa, exactly; factor 1. BINARY16: the code's bits placed as binary16's, normal
    and subnormal alike (E5M2 is binary16's top byte), read 2^(15 - bias) too small: that is the factor.
    """
    ty = ir.IntType(fmt.width)

    def k(v):
        return ir.Constant(ty, v)

    bias = (1 << (exp_bits - 1)) - 1
    b = _low_byte(builder, code, ty)
    magnitude = builder.and_(b, k(0x7F))
    top = (1 << exp_bits) - 1
    nan_above = top << man_bits if ieee_top else (top << man_bits) | ((1 << man_bits) - 2)
    top_byte, sign = fmt.width - 8, 1 << (fmt.width - 1)
    if fmt is BINARY16:
        # The code sign-extended and shifted into place: its magnitude onto binary16's exponent and mantissa,
        # its sign onto bit 15 and the bits between, which are cleared (none for E5M2, binary16's top byte).
        # Then the NaN codes' select, sign kept.
        shift = fmt.man - man_bits
        byte = code if code.type.width == 8 else builder.trunc(code, ir.IntType(8))
        placed = builder.shl(builder.sext(byte, ty), k(shift))
        between = (sign - 1) & ~((1 << (shift + 7)) - 1)
        if between:
            placed = builder.and_(placed, k(~between & (2 * sign - 1)))
        nan = builder.icmp_unsigned(">", builder.and_(placed, k(sign - 1)), k(nan_above << shift))
        quiet = builder.or_(builder.and_(placed, k(sign)), k(fmt.quiet_nan))
        return builder.select(nan, quiet, placed), ocp_factor(fmt, exp_bits)
    m = builder.and_(magnitude, k((1 << man_bits) - 1))
    normal = builder.add(builder.shl(magnitude, k(fmt.man - man_bits)), k((fmt.bias - bias) << fmt.man))
    step = ir.Constant(ir.FloatType(), 2.0 ** (1 - bias - man_bits))        # the subnormals' spacing
    scaled = builder.fmul(builder.uitofp(m, ir.FloatType()), step)
    subnormal = builder.icmp_unsigned("==", builder.lshr(magnitude, k(man_bits)), k(0))
    bits = builder.select(subnormal, builder.bitcast(scaled, ty), normal)
    if ieee_top:
        bits = builder.select(builder.icmp_unsigned("==", magnitude, k(nan_above)), k(fmt.infinity), bits)
    # NaN codes get the quiet NaN as bits, not a select on a float later: LLVM sinks such a select into the
    # arithmetic that follows and computes the whole span twice (measured: half the speed of int8 -> bf16)
    bits = builder.select(builder.icmp_unsigned(">", magnitude, k(nan_above)), k(fmt.quiet_nan), bits)
    return builder.or_(builder.shl(builder.and_(b, k(0x80)), k(top_byte)), bits), 1.0


def _decoder(compose, fmt: Format, *params):
    """An intrinsic of one code from ``compose(builder, code, fmt, *params)``: FLOAT32 bits as uint32, or a
    BINARY16's bits widened by F16C (LLVM's fpext, vcvtph2ps) to float32 and scaled by the exact factor.
    In ``fmt.width``-bit IR: Numba would type the integer steps as 64-bit lanes."""
    @intrinsic
    def decode(typingctx, code):
        if not isinstance(code, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            bits, factor = compose(builder, args[0], fmt, *params)
            if fmt is FLOAT32:
                return bits
            value = builder.fpext(builder.bitcast(bits, ir.HalfType()), ir.FloatType())
            return value if factor == 1.0 else builder.fmul(value, ir.Constant(ir.FloatType(), factor))
        return (types.uint32 if fmt is FLOAT32 else types.float32)(code), codegen
    return decode


def _binary16_bits(compose, *params):
    """An intrinsic of one code: its BINARY16 bits from ``compose`` as uint16, not widened (``F16C_BITS``)."""
    @intrinsic
    def bits16(typingctx, code):
        if not isinstance(code, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            return compose(builder, args[0], BINARY16, *params)[0]
        return types.uint16(code), codegen
    return bits16


E5M2, E4M3FN = (5, 2, True), (4, 3, False)     # exponent bits, mantissa bits, IEEE top exponent (Inf, NaN)
hifloat8_bits = _decoder(hifloat8_ir, FLOAT32)
float8_e5m2_bits = _decoder(ocp_float8_ir, FLOAT32, *E5M2)
float8_e4m3fn_bits = _decoder(ocp_float8_ir, FLOAT32, *E4M3FN)
hifloat8_f16c = _decoder(hifloat8_ir, BINARY16)
float8_e5m2_f16c = _decoder(ocp_float8_ir, BINARY16, *E5M2)
float8_e4m3fn_f16c = _decoder(ocp_float8_ir, BINARY16, *E4M3FN)


@njit(inline="always")
def hifloat8_f32(code):
    """HiFloat8 code -> float32 (``hifloat8_bits``)."""
    return bits_f32(hifloat8_bits(code))


@njit(inline="always")
def float8_e5m2_f32(code):
    """FLOAT8_E5M2 code -> float32 (``float8_e5m2_bits``): bias 15, S.11111.00 +-Inf, S.11111.{01,10,11} NaN."""
    return bits_f32(float8_e5m2_bits(code))


@njit(inline="always")
def float8_e4m3fn_f32(code):
    """FLOAT8_E4M3FN code -> float32 (``float8_e4m3fn_bits``): bias 7, no Inf, S.1111.111 NaN."""
    return bits_f32(float8_e4m3fn_bits(code))


# The kernels' name of each 8-bit float source (``kernels.dequant.SOURCES``) -> its code -> float32 decoder,
# for any CPU; and the same by F16C, used where the target has it (``kernels.dequant.decode_step``).
CODE_DECODERS = {"hifloat8": hifloat8_f32, "float8_e5m2": float8_e5m2_f32, "float8_e4m3fn": float8_e4m3fn_f32}
F16C_DECODERS = {"hifloat8": hifloat8_f16c, "float8_e5m2": float8_e5m2_f16c, "float8_e4m3fn": float8_e4m3fn_f16c}
# The F16C decoders' first half on its own: a code's binary16 bits, and the exact factor their value is of the
# code's (``kernels.lookup``'s "compose" runs it over a block of codes, in 16-bit lanes)
F16C_BITS = {"hifloat8": (_binary16_bits(hifloat8_ir), 1.0),
             "float8_e5m2": (_binary16_bits(ocp_float8_ir, *E5M2), ocp_factor(BINARY16, E5M2[0])),
             "float8_e4m3fn": (_binary16_bits(ocp_float8_ir, *E4M3FN), ocp_factor(BINARY16, E4M3FN[0]))}
