"""Per-tensor calls of 4-bit sources by table: their 16 results computed once, then looked up by ``vpshufb``.

With one scale and one offset, an int4 value has one of 16 results. ``tabulated_span`` computes them by the
arithmetic span itself (so their bits are that span's, whatever the case: destination, offset, NaN
operands), once per parallel task, and then looks each nibble's result up: AVX2's ``vpshufb`` reads 32
bytes at a time from a 16-byte table, so the low and the high bytes of 32 results take one lookup each.
Per 16 int4 values that is about 6 instructions (nibble split, lookups, the unpacks that interleave the
bytes, stores) against 19-21 for converting, scaling and rounding them (docs/performance.md). Spans of
other cases, and every case on CPUs without AVX2, compute as before.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .bits import target_has

__all__ = ["RESULTS", "STEP", "tabulated_span", "target_has_tabulation"]

RESULTS = 16      # the values of a nibble, and the entries of a vpshufb table
STEP = 32         # storage bytes per lookup step: one 256-bit vpshufb


def target_has_tabulation() -> bool:
    """Whether the target has AVX2, whose 256-bit ``vpshufb`` the lookup takes."""
    return target_has("avx2")


def _vector_constant(width: int, values) -> ir.Constant:
    return ir.Constant(ir.VectorType(ir.IntType(width), len(values)), list(values))


def _unpacked(builder, a, b, high: bool, width: int):
    """x86's in-lane unpack of two 256-bit vectors of ``width``-bit elements (vpunpckl/h{bw,wd}): in each
    128-bit half, the low (or ``high``) half's elements of ``a`` and ``b`` alternately. A shuffle mask LLVM
    lowers to the one instruction; a plain interleave of the whole vectors it lowers to a dozen."""
    n = 256 // width
    a, b = (builder.bitcast(v, ir.VectorType(ir.IntType(width), n)) for v in (a, b))
    half, quarter = n // 2, n // 4
    pick = [h * half + high * quarter + i // 2 + n * (i % 2) for h in range(2) for i in range(half)]
    return builder.shuffle_vector(a, b, _vector_constant(32, pick))


# The order the code bytes of one step are put in first, as 4-byte groups (2 lanes) or 8-byte ones (1 lane),
# so that the in-lane unpacks leave each 256-bit store's results in order: a group permute (vpermd, vpermq)
# instead of a 128-bit lane swap per store.
_GROUPS = {2: (32, [0, 2, 4, 6, 1, 3, 5, 7]), 1: (64, [0, 2, 1, 3])}


@functools.lru_cache(maxsize=None)
def _nibble_lookup(lanes: int):
    """An intrinsic ``lookup(xs, start, ys, table)``: ``ys[start:start + STEP]`` = the results of the
    storage bytes ``xs[start:start + STEP]``, each nibble's from ``table`` (uint8 ``[1, 2 * RESULTS]``: the
    results' low bytes, then their high bytes): with ``lanes`` 2 both nibbles, low first, into one uint32
    item each; with 1 the low nibble, into uint16. ``xs`` and ``ys`` must be contiguous, whatever their Numba
    types say (the kernels' row slices are typed any-layout)."""
    @intrinsic
    def lookup(typingctx, xs, start, ys, table):
        if not (isinstance(xs, types.Array) and isinstance(ys, types.Array) and isinstance(table, types.Array)):
            return None

        def codegen(context, builder, signature, args):
            octets = ir.VectorType(ir.IntType(8), STEP)
            xa, ya, ta = (context.make_array(signature.args[i])(context, builder, args[i]) for i in (0, 2, 3))
            plane_type = ir.VectorType(ir.IntType(8), RESULTS).as_pointer()
            both_halves = _vector_constant(32, [i % RESULTS for i in range(STEP)])
            planes = []         # low bytes, high bytes: each table in both 128-bit halves (vpshufb's reach)
            for p in range(2):
                at = builder.bitcast(builder.gep(ta.data, [ir.Constant(ir.IntType(64), p * RESULTS)]), plane_type)
                plane = builder.load(at, align=1)
                planes.append(builder.shuffle_vector(plane, plane, both_halves))
            width, order = _GROUPS[lanes]
            groups = ir.VectorType(ir.IntType(width), 256 // width)
            loaded = builder.load(builder.bitcast(builder.gep(xa.data, [args[1]]), groups.as_pointer()), align=1)
            code = builder.bitcast(builder.shuffle_vector(loaded, loaded, _vector_constant(32, order)), octets)
            low_nibble = _vector_constant(8, [0x0F] * STEP)
            nibbles = [builder.and_(code, low_nibble)]
            if lanes == 2:
                nibbles.append(builder.and_(builder.lshr(code, _vector_constant(8, [4] * STEP)), low_nibble))
            shuffle = cgutils.get_or_insert_function(builder.module, ir.FunctionType(octets, [octets] * 2),
                                                     "llvm.x86.avx2.pshuf.b")
            looked = [[builder.call(shuffle, [p, n]) for p in planes] for n in nibbles]
            # 16-bit results: each nibble's low byte and high byte paired, in halves of 8 codes
            words = [[_unpacked(builder, lo, hi, high, 8) for high in (False, True)] for lo, hi in looked]
            if lanes == 2:      # and each byte's two results paired into a 32-bit item, low nibble first
                stores = [_unpacked(builder, words[0][h], words[1][h], high, 16)
                          for h in range(2) for high in (False, True)]
            else:
                stores = words[0]
            vector = ir.VectorType(ir.IntType(8), 32).as_pointer()
            target = builder.bitcast(builder.gep(ya.data, [args[1]]), vector)
            for i, value in enumerate(stores):
                builder.store(builder.bitcast(value, vector.pointee),
                              builder.gep(target, [ir.Constant(ir.IntType(64), i)]), align=1)
            return context.get_dummy_value()
        return types.none(xs, start, ys, table), codegen
    return lookup


@functools.lru_cache(maxsize=None)
def tabulated_span(arithmetic, lanes: int):
    """``(tabulate, span)`` for a per-tensor case of a 4-bit source stored a byte at a time (``lanes`` 2:
    two nibbles, results paired into uint32; 1: one, uint16), whose spans ``arithmetic`` computes.

    ``tabulate(scale, offset)`` returns the 16 results as ``arithmetic`` computes them, as the lookup's table
    (uint8 ``[1, 2 * RESULTS]``, low bytes then high bytes); ``span(xs, ys, table, offset, first, items)``
    is ``arithmetic``'s span with that table in place of the scale (``offset`` and ``first`` unread), by
    ``STEP`` bytes a lookup and the rest one by one.
    """
    lookup = _nibble_lookup(lanes)
    unit = np.uint32 if lanes == 2 else np.uint16

    @njit(inline="always")
    def tabulate(scale, offset):
        codes = np.empty(RESULTS, np.uint8)
        for k in range(RESULTS):
            codes[k] = k * 0x11                 # nibble k in every position
        computed = np.empty(RESULTS, unit)
        arithmetic(codes, computed, scale, offset, 0, RESULTS)
        table = np.empty((1, 2 * RESULTS), np.uint8)
        for k in range(RESULTS):
            table[0, k] = np.uint8(computed[k] & 0xFF)
            table[0, RESULTS + k] = np.uint8((computed[k] >> 8) & 0xFF)
        return table

    @njit(inline="always")
    def result(row, nibble):
        return np.uint32(row[nibble]) | np.uint32(row[RESULTS + nibble]) << 8

    @njit(inline="always")
    def span(xs, ys, table, offset, first, items):
        whole = items // STEP * STEP
        for j in range(0, whole, STEP):
            lookup(xs, j, ys, table)
        row = table[0]
        for j in range(whole, items):
            code = np.uint32(xs[j])
            if lanes == 2:
                ys[j] = result(row, code & 0xF) | result(row, code >> 4) << 16
            else:
                ys[j] = result(row, code & 0xF)

    return tabulate, span
