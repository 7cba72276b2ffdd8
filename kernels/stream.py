"""Non-temporal (streaming) stores for outputs larger than the last-level cache.

A normal store first reads the destination line into cache (read-for-ownership), so writing y costs
twice its size in memory traffic. Streaming stores write full lines straight to memory: for a
dequantized weight that will not be read again soon this cuts the traffic of an int4 -> 16-bit
conversion from 4.5 to 2.5 bytes per element. LLVM's loop vectoriser drops non-temporal stores, so
the kernel computes a chunk into a small cached buffer and these helpers stream it out.
"""

from __future__ import annotations

import platform

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["STREAM_LANES", "stream_copy", "stream_fence"]

STREAM_LANES = 32          # uint16 per 64-byte store (one cache line, one AVX-512 register)
_LINE = 64
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def _stream_line(typingctx, dst, dst_index, src, src_index):
    """Copy 32 uint16 from ``src[src_index:]`` to the 64-byte aligned ``dst[dst_index:]``, non-temporally."""
    def codegen(context, builder, signature, args):
        line = ir.VectorType(ir.IntType(16), STREAM_LANES)
        d = context.make_array(signature.args[0])(context, builder, args[0])
        s = context.make_array(signature.args[2])(context, builder, args[2])
        value = builder.load(builder.bitcast(builder.gep(s.data, [args[3]]), line.as_pointer()), align=2)
        store = builder.store(value, builder.bitcast(builder.gep(d.data, [args[1]]), line.as_pointer()), align=_LINE)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()
    return types.none(dst, dst_index, src, src_index), codegen


@intrinsic
def stream_fence(typingctx):
    """Order this thread's streaming stores before anything that follows (SFENCE on x86)."""
    def codegen(context, builder, signature, args):
        if _X86:
            fn = builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.none(), codegen


@njit(inline="always")
def stream_copy(src, dst, n):
    """``dst[:n] = src[:n]`` (uint16), whole aligned cache lines with streaming stores, the edges normally."""
    addr = dst.ctypes.data
    head = n if addr & 1 else min(n, ((_LINE - (addr & (_LINE - 1))) & (_LINE - 1)) >> 1)
    for c in range(head):
        dst[c] = src[c]
    body = head + (n - head) // STREAM_LANES * STREAM_LANES
    for c in range(head, body, STREAM_LANES):
        _stream_line(dst, c, src, c)
    for c in range(body, n):
        dst[c] = src[c]
