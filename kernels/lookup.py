"""8-bit float codes decoded by table lookups: 32 codes per AVX-512BW ``vpermi2w`` step, or one by one.

A code's value is one of 256, each exact in binary16. The 256 binary16 bit patterns fill eight 512-bit
registers; ``vpermi2w`` picks 32 of them from a register pair by the codes' low 6 bits and two selects on
bits 6 and 7 choose among the four pairs: about a dozen instructions for 32 codes, against about 35 per 16
for HiFloat8's bit-composing decoders in ``kernels.decoders`` (which LLVM vectorises but cannot turn into a
lookup). Without AVX-512BW a scalar loop looks codes up one at a time, at about one a cycle: slower than
the FLOAT8 decoders, twice as fast as HiFloat8's on AVX2, where 16-bit lanes have no variable shift
(``default_lookup``). Both widen binary16 by F16C; ``kernels.dequant`` uses the decoders elsewhere, with
the same bits.

``blocked_span`` runs a span over binary16 bits (which it widens by F16C) on codes: it looks up ``BLOCK``
codes at a time into a buffer on the stack (in L1 while the span reads it back) and hands that to the span.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

from .bits import target_has
from .decoders import CODE_DECODERS

__all__ = ["BLOCK", "LANES", "LOOKUPS", "blocked_span", "code_table", "default_lookup", "target_has_vector_lookup"]

LANES = 32            # codes per lookup: 16-bit lanes of a 512-bit register
PAIR = 2 * LANES      # table entries one vpermi2w reaches (two registers)
BLOCK = 1024          # codes looked up per pass: 2 KiB of binary16 on the stack, a multiple of LANES


LOOKUPS = ("vector", "scalar", "none")   # how a kernel decodes 8-bit float codes: by table, or "none" (decoders)


def target_has_vector_lookup() -> bool:
    """Whether the target has what the vector lookup needs: AVX-512BW (vpermi2w, 16-bit masks) and F16C."""
    return target_has("avx512bw") and target_has("f16c")


def default_lookup(source: str, hw_f16: bool) -> str:
    """How a kernel for ``source`` decodes codes on this target (``LOOKUPS``): by vector lookup where it can;
    else HiFloat8 by scalar lookup (measured on AVX2, Zen 1: 2.1-2.3x its F16C decoder, which LLVM spends
    on emulating 16-bit variable shifts), FLOAT8 by its decoder (1.1-1.8x the scalar lookup); without F16C
    always by the decoders."""
    if not hw_f16:
        return "none"
    if target_has_vector_lookup():
        return "vector"
    return "scalar" if source == "hifloat8" else "none"


@functools.lru_cache(maxsize=None)
def code_table(source: str) -> np.ndarray:
    """The binary16 bits of all 256 codes of ``source`` (its ``CODE_DECODERS`` decoder's values, each
    exact in binary16; a NaN code's 0x7FC00000 narrows to binary16's quiet NaN 0x7E00 with its sign)."""
    decode = CODE_DECODERS[source]

    @njit
    def every_code(out):
        for c in range(256):
            out[c] = decode(np.uint8(c))

    values = np.empty(256, np.float32)
    every_code(values)
    bits = values.astype(np.float16).view(np.uint16)
    assert np.array_equal(bits.view(np.float16).astype(np.float32).view(np.uint32), values.view(np.uint32))
    return bits


def _lookup(source: str):
    """``lookup(codes, start, out)``: ``out[:LANES]`` = the binary16 bits of ``codes[start:start + LANES]``."""
    table = code_table(source)

    @intrinsic
    def lookup(typingctx, codes, start, out):
        if not (isinstance(codes, types.Array) and isinstance(out, types.Array) and out.dtype == types.uint16):
            return None

        def codegen(context, builder, signature, args):
            i16 = ir.IntType(16)
            words = ir.VectorType(i16, LANES)

            def splat(v):
                return ir.Constant(words, [v] * LANES)

            c = context.make_array(signature.args[0])(context, builder, args[0])
            o = context.make_array(signature.args[2])(context, builder, args[2])
            at = builder.bitcast(builder.gep(c.data, [args[1]]), ir.VectorType(ir.IntType(8), LANES).as_pointer())
            index = builder.zext(builder.load(at, align=1), words)
            permute = cgutils.get_or_insert_function(builder.module, ir.FunctionType(words, [words] * 3),
                                                     "llvm.x86.avx512.vpermi2var.hi.512")
            registers = [ir.Constant(words, [int(t) for t in table[i:i + LANES]]) for i in range(0, 256, LANES)]
            # quarter q of the table: entries [64 q, 64 q + 64), from registers 2q (index bit 5 clear), 2q + 1
            quarters = [builder.call(permute, [registers[2 * q], index, registers[2 * q + 1]]) for q in range(4)]
            bit6, bit7 = (builder.icmp_unsigned("!=", builder.and_(index, splat(b)), splat(0))
                          for b in (PAIR, 2 * PAIR))
            low = builder.select(bit6, quarters[1], quarters[0])
            high = builder.select(bit6, quarters[3], quarters[2])
            builder.store(builder.select(bit7, high, low), builder.bitcast(o.data, words.as_pointer()), align=2)
            return context.get_dummy_value()
        return types.none(codes, start, out), codegen
    return lookup


@intrinsic
def stack_halves(typingctx, count):
    """A uint16 array of ``count`` (a literal) on the calling function's stack, 64-byte aligned; allocated
    once in its entry block, so a loop that calls this reuses one buffer."""
    if not isinstance(count, types.IntegerLiteral):
        return None
    n = count.literal_value
    array_type = types.Array(types.uint16, 1, "C")

    def codegen(context, builder, signature, args):
        i16 = ir.IntType(16)
        with builder.goto_entry_block():
            slot = builder.alloca(ir.ArrayType(i16, n))
            slot.align = 64
        array = context.make_array(array_type)(context, builder)
        intp = context.get_value_type(types.intp)
        populate_array(array, data=builder.bitcast(slot, i16.as_pointer()), shape=[ir.Constant(intp, n)],
                       strides=[ir.Constant(intp, 2)], itemsize=ir.Constant(intp, 2), meminfo=None)
        return array._getvalue()
    return array_type(count), codegen


@functools.lru_cache(maxsize=None)
def blocked_span(source: str, span, vector: bool):
    """``span`` (a span over binary16 bits, ``kernels.dequant.dequant_span``'s signature) over ``source``
    codes: each ``BLOCK`` codes are looked up into a stack buffer, by ``vector`` lookups but for the last
    ``< LANES``, or all one by one."""
    lookup = _lookup(source)
    table = code_table(source)

    @njit(inline="always")
    def codes_span(xs, ys, scale, offset, first, items):
        values = stack_halves(BLOCK)
        for start in range(0, items, BLOCK):
            n = min(BLOCK, items - start)
            whole = n // LANES * LANES if vector else 0
            for j in range(0, whole, LANES):
                lookup(xs, start + j, values[j:])
            for j in range(whole, n):
                values[j] = table[np.uint8(xs[start + j])]
            span(values, ys[start:start + n], scale, offset, first + start, n)

    return codes_span
