"""float32 -> float16 / bfloat16 bit patterns, rounded to nearest-even, in Numba.

Numba cannot store float16 or ml_dtypes values, so kernels write uint16 bit patterns. Subnormals are kept
and overflow goes to infinity, as numpy and ml_dtypes do; a NaN gives the bits they give for it
(docs/spec.md section 1). AVX-512 BF16 instructions are not used: they flush subnormals.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import config
from numba.extending import intrinsic

__all__ = ["f32_bits", "bits_f32", "signed_nibble", "bf16_bits", "bf16_bits_quiet", "f16_bits_hw", "f16_bits_sw",
           "f16_f32_hw", "target_has", "target_has_f16c"]


@intrinsic
def f32_bits(typingctx, value):
    """Reinterpret a float32 as uint32 (free: a register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.uint32(types.float32), codegen


@intrinsic
def bits_f32(typingctx, value):
    """Reinterpret a uint32 as float32."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.uint32), codegen


@intrinsic
def signed_nibble(typingctx, word, index):
    """The ``index``-th 4-bit field of an integer ``word`` (low nibble first), sign-extended, as int32.

    Written in 32-bit IR on purpose: Numba types small-integer arithmetic as int64, and LLVM then keeps
    the sign extension in 64-bit vector lanes, halving the throughput of int4 kernels.
    """
    if not isinstance(word, types.Integer) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        w, i = args
        # Sign-extending a narrow word leaves the fields' bits alone and lets LLVM fold the top field's
        # shift pair into one arithmetic shift.
        w32 = builder.trunc(w, i32) if w.type.width > 32 else builder.sext(w, i32) if w.type.width < 32 else w
        i32_index = builder.trunc(i, i32) if i.type.width > 32 else builder.zext(i, i32) if i.type.width < 32 else i
        up = builder.sub(ir.Constant(i32, 28), builder.shl(i32_index, ir.Constant(i32, 2)))
        return builder.ashr(builder.shl(w32, up), ir.Constant(i32, 28))
    return types.int32(word, index), codegen


@intrinsic
def f16_bits_hw(typingctx, value):
    """float32 -> binary16 bits by LLVM's fptrunc: one F16C instruction (vcvtps2ph, round-to-nearest-even).

    Only for targets with F16C: elsewhere LLVM calls a runtime helper the JIT does not provide.
    """
    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))
    return types.uint16(types.float32), codegen


@intrinsic
def f16_f32_hw(typingctx, bits):
    """binary16 bits (the low 16 of an integer) -> float32 by LLVM's fpext: one F16C instruction (vcvtph2ps),
    exact; a signalling NaN comes out quiet, its payload kept. Only for targets with F16C, as ``f16_bits_hw``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i16 = ir.IntType(16)
        b = args[0]
        b16 = builder.trunc(b, i16) if b.type.width > 16 else builder.zext(b, i16) if b.type.width < 16 else b
        return builder.fpext(builder.bitcast(b16, ir.HalfType()), ir.FloatType())
    return types.float32(bits), codegen


_U = np.uint32
SIGN = _U(0x80000000)
# ml_dtypes' bfloat16 NaN, whatever the float32 NaN's payload: the canonical quiet NaN 0x7FC0, with its sign
# (in the top half of a float32 word, as bf16_bits shifts it).
BF16_QUIET_NAN = _U(0x7FC00000)
# binary16's quiet bit, which F16C sets in every NaN it converts (numpy keeps a signalling NaN signalling).
F16_QUIET = _U(0x0200)


@njit(inline="always")
def _rounded(b):
    """float32 bits ``b`` plus half a bfloat16 ulp, less one where the kept lsb (bit 16) is clear: the top
    half is then ``b`` rounded to nearest-even. The lsb picks the addend by a mask and a compare, not by
    ``(b >> 16) & 1``: vector shifts share fewer ports (measured: 2-5% of an int8 -> bf16 stream on Zen 1)."""
    return _U(b + (_U(0x7FFF) if b & _U(0x10000) == _U(0) else _U(0x8000)))


@njit(inline="always")
def bf16_bits(v):
    """float32 -> bfloat16 bits: add half an ulp plus the kept lsb, truncate; a NaN becomes ``BF16_QUIET_NAN``
    with its sign, as ml_dtypes gives.

    The NaN test is a float compare and picks between 32-bit words before one shared shift: testing the
    bits and shifting each candidate costs a third of the throughput of int8 kernels.
    """
    b = f32_bits(v)
    if v != v:
        rounded = (b & SIGN) | BF16_QUIET_NAN
    else:
        rounded = _rounded(b)
    return np.uint16(rounded >> _U(16))


@njit(inline="always")
def bf16_bits_quiet(v):
    """``bf16_bits`` for a value whose NaNs, if any, are quiet NaNs with no payload below the quiet bit: the
    decoders' NaNs, the CPU's generated ones (0xFFC00000 on x86, 0x7FC00000 on Arm) and what arithmetic
    propagates from them, as in a call whose scale and offset hold no NaN. Rounding such a NaN carries
    nothing into its top half, which is then ``BF16_QUIET_NAN`` with its sign already, so the NaN test and
    its select go (a quarter of an int8 -> bf16 kernel's instructions)."""
    return np.uint16(_rounded(f32_bits(v)) >> _U(16))


@njit(inline="always")
def f16_bits_sw(v):
    """float32 -> binary16 bits with float arithmetic only (portable; no F16C needed).

    Scaling by 2**112 then 2**-110 rounds the mantissa once, in the FPU's round-to-nearest-even, at the
    position binary16 keeps (subnormals included); the exponent is then rebiased with integer operations.
    A NaN keeps its sign and the top 10 bits of its payload, quiet bit set: F16C's bits for every NaN, and
    numpy's for every quiet one. numpy keeps a signalling NaN signalling, but none reaches the cast: its
    input is always the product of docs/spec.md section 1 step 5, and arithmetic quiets.
    """
    base = (abs(v) * np.float32(2.0 ** 112)) * np.float32(2.0 ** -110)
    w = f32_bits(v)
    shl1 = _U(w + w)
    bias = shl1 & _U(0xFF000000)
    if bias < _U(0x71000000):
        bias = _U(0x71000000)
    base = bits_f32(_U((bias >> _U(1)) + _U(0x07800000))) + base
    bits = f32_bits(base)
    nonsign = _U(((bits >> _U(13)) & _U(0x7C00)) + (bits & _U(0x0FFF)))
    if shl1 > _U(0xFF000000):                                   # a NaN: |w| above infinity's bits
        nonsign = ((w >> _U(13)) & _U(0x7FFF)) | F16_QUIET       # exponent all ones, top 10 payload bits
    return np.uint16(((w & SIGN) >> _U(16)) | nonsign)


def target_has(feature: str) -> bool:
    """Whether Numba compiles for a CPU with ``feature`` (an LLVM name: "f16c", "avx512bw"), honouring
    NUMBA_CPU_NAME / NUMBA_CPU_FEATURES; a named CPU other than the host counts as having none."""
    if config.CPU_FEATURES:
        return f"+{feature}" in config.CPU_FEATURES.split(",")
    if config.CPU_NAME and config.CPU_NAME != "host":
        return False
    from llvmlite import binding
    return bool(binding.get_host_cpu_features().get(feature, False))


def target_has_f16c() -> bool:
    """Whether Numba compiles for a CPU with F16C (``target_has``)."""
    return target_has("f16c")
