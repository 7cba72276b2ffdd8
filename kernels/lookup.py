"""8-bit float codes decoded a block at a time, before the arithmetic: by table lookups, 32 codes per
AVX-512BW ``vpermi2w`` step ("vector"), per AVX2 ``vpshufb`` step ("shuffle"), or one by one ("scalar"); or
by composing their binary16 bits ("compose").

A code's value is one of 256, each exact in binary16. The 256 binary16 bit patterns fill eight 512-bit
registers; ``vpermi2w`` picks 32 of them from a register pair by the codes' low 6 bits and two selects on
bits 6 and 7 choose among the four pairs: about a dozen instructions for 32 codes, against about 95 per 16
for HiFloat8's bit-composing decoder in ``kernels.decoders`` on AVX2 (which LLVM vectorises, but 16-bit
lanes have no variable shift there and it emulates three). AVX2's ``vpshufb`` looks 32 bytes up in
16-byte tables: ``_shuffle_lookup`` composes a code's two bytes of binary16 from eight such lookups per byte
(about 45 instructions for 32 codes). A scalar loop looks codes up one at a time, at about one a cycle.
"compose" runs the F16C decoders' integer steps (``kernels.decoders.F16C_BITS``) in a loop of their own,
which LLVM vectorises in 16-bit lanes, 16 codes an instruction (inside the arithmetic it follows that
loop's 8 float32 lanes); the OCP formats take a few shifts, masks and a select. ``default_lookup`` picks by
measurement. All widen binary16 by F16C; ``kernels.dequant`` uses the decoders elsewhere, with the same
bits.

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
from .decoders import CODE_DECODERS, F16C_BITS

__all__ = ["BLOCK", "LANES", "LOOKUPS", "blocked_span", "code_table", "default_lookup", "lacking_for",
           "target_has_shuffle_lookup", "target_has_vector_lookup"]

LANES = 32            # codes per lookup: 16-bit lanes of a 512-bit register
PAIR = 2 * LANES      # table entries one vpermi2w reaches (two registers)
BLOCK = 1024          # codes looked up per pass: 2 KiB of binary16 on the stack, a multiple of LANES


# How a kernel decodes 8-bit float codes: by one of the table lookups, by the F16C decoder's bit composition
# run over a block of codes ("compose"), or inside the arithmetic ("none", kernels.decoders)
LOOKUPS = ("vector", "shuffle", "scalar", "compose", "none")


def target_has_vector_lookup() -> bool:
    """Whether the target has what the vector lookup needs: AVX-512BW (vpermi2w, 16-bit masks) and F16C."""
    return target_has("avx512bw") and target_has("f16c")


def target_has_shuffle_lookup() -> bool:
    """Whether the target has what the shuffle lookup needs: AVX2 (256-bit vpshufb) and F16C."""
    return target_has("avx2") and target_has("f16c")


def lacking_for(how: str) -> str | None:
    """The instructions lookup ``how`` (``LOOKUPS``) needs that the target lacks, or None: forced anyway,
    its kernel would stop the process on an illegal instruction."""
    if how == "vector" and not target_has_vector_lookup():
        return "AVX-512BW"
    if how == "shuffle" and not target_has_shuffle_lookup():
        return "AVX2"
    return None


# How each source decodes on AVX2 without AVX-512BW (default_lookup's measurements, Zen 2, DRAM streams):
# HiFloat8 by shuffle lookup, 2.4-3.5x its F16C decoder and 1.6-1.7x the scalar lookup (its bits need
# variable 16-bit shifts, which AVX2 lacks); the OCP formats by composing their bits over a block: E4M3FN
# 1.01-1.20x the shuffle lookup, E5M2 1.11-1.30x its decoder inside the arithmetic per channel with offset,
# 0.97-1.12x per tensor (docs/kernels.md)
AVX2_LOOKUPS = {"hifloat8": "shuffle", "float8_e5m2": "compose", "float8_e4m3fn": "compose"}


def default_lookup(source: str, hw_f16: bool) -> str:
    """How a kernel for ``source`` decodes codes on this target (``LOOKUPS``): by vector lookup where it can;
    else, with AVX2, as ``AVX2_LOOKUPS``; without AVX2, HiFloat8 by scalar lookup (Zen 1: 2.1-2.3x its
    decoder); without F16C always by the decoders."""
    if not hw_f16:
        return "none"
    if target_has_vector_lookup():
        return "vector"
    if target_has_shuffle_lookup():
        return AVX2_LOOKUPS.get(source, "none")
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


def _lookup_intrinsic(compose):
    """An intrinsic ``lookup(codes, start, out)``: ``out[:LANES]`` = the binary16 bits of
    ``codes[start:start + LANES]``, as IR that ``compose(builder, codes_at, out_at)`` builds from pointers
    to the first code and the first output."""
    @intrinsic
    def lookup(typingctx, codes, start, out):
        if not (isinstance(codes, types.Array) and isinstance(out, types.Array) and out.dtype == types.uint16):
            return None

        def codegen(context, builder, signature, args):
            c = context.make_array(signature.args[0])(context, builder, args[0])
            o = context.make_array(signature.args[2])(context, builder, args[2])
            compose(builder, builder.gep(c.data, [args[1]]), o.data)
            return context.get_dummy_value()
        return types.none(codes, start, out), codegen
    return lookup


def _vector_lookup(source: str):
    """``_lookup_intrinsic``'s lookup by AVX-512BW ``vpermi2w``."""
    table = code_table(source)

    def compose(builder, codes_at, out_at):
        i16 = ir.IntType(16)
        words = ir.VectorType(i16, LANES)

        def splat(v):
            return ir.Constant(words, [v] * LANES)

        at = builder.bitcast(codes_at, ir.VectorType(ir.IntType(8), LANES).as_pointer())
        index = builder.zext(builder.load(at, align=1), words)
        permute = cgutils.get_or_insert_function(builder.module, ir.FunctionType(words, [words] * 3),
                                                 "llvm.x86.avx512.vpermi2var.hi.512")
        registers = [ir.Constant(words, [int(t) for t in table[i:i + LANES]]) for i in range(0, 256, LANES)]
        # quarter q of the table: entries [64 q, 64 q + 64), from registers 2q (index bit 5 clear), 2q + 1
        quarters = [builder.call(permute, [registers[2 * q], index, registers[2 * q + 1]]) for q in range(4)]
        bit6, bit7 = (builder.icmp_unsigned("!=", builder.and_(index, splat(b)), splat(0)) for b in (PAIR, 2 * PAIR))
        low = builder.select(bit6, quarters[1], quarters[0])
        high = builder.select(bit6, quarters[3], quarters[2])
        builder.store(builder.select(bit7, high, low), builder.bitcast(out_at, words.as_pointer()), align=2)
    return _lookup_intrinsic(compose)


# A vpshufb table: 16 bytes, indexed by an index byte's low 4 bits; an index with bit 7 set reads 0
NIBBLE = 16
PLANES = 2            # bytes of a binary16 value, looked up apart: low byte, then high byte
SIGN = 0x80           # a code's sign bit, which is its binary16 value's (bit 15) but for ``sign_exceptions``


def sign_exceptions(table: np.ndarray) -> dict:
    """The codes whose binary16 bits are not their magnitude's with the code's sign bit as bit 15 (HiFloat8's
    NaN 0x80, whose magnitude is zero), each with its bits: ``_shuffle_lookup`` looks up the 128 magnitudes
    and sets these apart."""
    signed = table[:SIGN] | np.uint16(0x8000)
    return {SIGN + int(c): int(table[SIGN + c]) for c in np.flatnonzero(table[SIGN:] != signed)}


def nibble_tables(table: np.ndarray) -> list:
    """For each plane, the 8 vpshufb tables ``U_k`` (k = 0..7, None where all zero) whose XOR over k >= j is
    that plane of ``table[16 j : 16 j + 16]``: with index ``p + 0x70 - 16 k`` (p < 0x80) a lookup in U_k reads
    p's low nibble for every k >= p >> 4 and 0 (bit 7 set) for the others, so the XOR of all 8 lookups is
    the byte of p's entry. One add and one vpshufb per table; no compare or select."""
    planes = []
    for plane in range(PLANES):
        rows = ((table[:SIGN] >> np.uint16(8 * plane)) & np.uint16(0xFF)).astype(np.uint8).reshape(-1, NIBBLE)
        u = [rows[k] ^ rows[k + 1] if k + 1 < len(rows) else rows[k] for k in range(len(rows))]
        planes.append([t if t.any() else None for t in u])
    return planes


def _shuffle_lookup(source: str):
    """``_lookup_intrinsic``'s lookup by AVX2 ``vpshufb`` (``nibble_tables``)."""
    table = code_table(source)
    planes, exceptions = nibble_tables(table), sign_exceptions(table)
    classes = SIGN // NIBBLE

    def compose(builder, codes_at, out_at):
        octets = ir.VectorType(ir.IntType(8), LANES)

        def splat(v):
            return ir.Constant(octets, [v] * LANES)

        def in_both_halves(t):      # vpshufb looks up within each 128-bit half: the table in both
            return ir.Constant(octets, [int(v) for v in t] * (LANES // NIBBLE))

        code = builder.load(builder.bitcast(codes_at, octets.as_pointer()), align=1)
        shuffle = cgutils.get_or_insert_function(builder.module, ir.FunctionType(octets, [octets] * 2),
                                                 "llvm.x86.avx2.pshuf.b")
        magnitude = builder.and_(code, splat(SIGN - 1))
        bytes_ = [splat(0), splat(0)]
        for k in range(classes):
            index = builder.add(magnitude, splat(SIGN - NIBBLE - NIBBLE * k))
            for plane in range(PLANES):
                if planes[plane][k] is not None:
                    looked = builder.call(shuffle, [in_both_halves(planes[plane][k]), index])
                    bytes_[plane] = builder.xor(bytes_[plane], looked)
        low, high = bytes_[0], builder.or_(bytes_[1], builder.and_(code, splat(SIGN)))
        for code_value, bits in exceptions.items():
            hit = builder.icmp_unsigned("==", code, splat(code_value))
            low = builder.select(hit, splat(bits & 0xFF), low)
            high = builder.select(hit, splat(bits >> 8), high)
        words = ir.VectorType(ir.IntType(16), LANES // 2)
        target = builder.bitcast(out_at, words.as_pointer())
        for half in range(2):       # bytes interleaved low, high: little-endian binary16, 16 codes a store
            pick = [i // 2 + LANES * (i % 2) + half * (LANES // 2) for i in range(LANES)]
            pairs = builder.shuffle_vector(low, high, ir.Constant(ir.VectorType(ir.IntType(32), LANES), pick))
            builder.store(builder.bitcast(pairs, words), builder.gep(target, [ir.Constant(ir.IntType(64), half)]),
                          align=2)
    return _lookup_intrinsic(compose)


VECTOR_LOOKUPS = {"vector": _vector_lookup, "shuffle": _shuffle_lookup}   # LOOKUPS that take LANES codes a step


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
def blocked_span(source: str, span, how: str):
    """``span`` (a span over binary16 bits, ``kernels.dequant.dequant_span``'s signature) over ``source``
    codes: each ``BLOCK`` codes are decoded into a stack buffer, by ``how`` ("vector" or "shuffle")
    lookups but for the last ``< LANES``, all one by one ("scalar"), or composed ("compose": bits whose
    value is ``F16C_BITS``' factor times theirs, which ``span`` applies)."""
    vector, composed = how in VECTOR_LOOKUPS, how == "compose"
    lookup = VECTOR_LOOKUPS[how](source) if vector else None
    table = code_table(source)
    compose = F16C_BITS[source][0]

    @njit(inline="always")
    def codes_span(xs, ys, scale, offset, first, items):
        values = stack_halves(BLOCK)
        for start in range(0, items, BLOCK):
            n = min(BLOCK, items - start)
            whole = n // LANES * LANES if vector else 0
            if vector:          # a closure constant: Numba prunes the branch, so scalar spans hold no lookup
                for j in range(0, whole, LANES):
                    lookup(xs, start + j, values[j:])
            if composed:        # its own loop: LLVM runs it in 16-bit lanes, not the arithmetic's 32-bit ones
                codes = xs[start:start + n]
                for j in range(n):
                    values[j] = compose(codes[j])
            else:
                for j in range(whole, n):
                    values[j] = table[np.uint8(xs[start + j])]
            span(values, ys[start:start + n], scale, offset, first + start, n)

    return codes_span
