"""Code generation the kernels need beyond what Numba emits: wider vectors and streaming stores."""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

__all__ = ["prefer_512bit_vectors", "LINE", "stream_line", "stream_lines", "store_fence", "uint16_halves"]

LINE = 64  # bytes in a cache line, and in one streaming store


@intrinsic
def prefer_512bit_vectors(typingctx):
    """Ask LLVM to vectorise the calling function with 512-bit registers where the CPU has them.

    LLVM's tuning for AVX-512 CPUs prefers 256-bit vectors (frequency licences on older parts); these
    kernels are bandwidth-bound streams that run faster with full-width registers. Setting the
    ``prefer-vector-width`` attribute on the one function that calls this (the kernel's parallel loop
    body) affects nothing else in the process, unlike ``NUMBA_CPU_FEATURES=-prefer-256-bit``. On CPUs
    without AVX-512 the attribute is harmless: LLVM never uses registers the target lacks.
    """
    def codegen(context, builder, signature, args):
        # llvmlite's FunctionAttributes only admits a fixed list of names; a string attribute is valid IR.
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def stream_line(typingctx, dst, dst_index, src, src_index):
    """Copy one cache line from ``src[src_index:]`` to ``dst[dst_index:]`` with a non-temporal store.

    The store bypasses the caches: a plain store of a line first reads it from memory (read for ownership),
    so an output stream costs its bytes twice; this one costs them once. ``dst[dst_index]`` must start a
    line (x86 faults otherwise); ``src`` may be anywhere. Stores made this way are weakly ordered: call
    ``store_fence`` before the data is handed to another thread.
    """
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array) and dst.dtype == src.dtype
            and isinstance(dst.dtype, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        width = dst.dtype.bitwidth
        line = ir.VectorType(ir.IntType(width), LINE * 8 // width).as_pointer()
        d = context.make_array(signature.args[0])(context, builder, args[0])
        s = context.make_array(signature.args[2])(context, builder, args[2])
        value = builder.load(builder.bitcast(builder.gep(s.data, [args[3]]), line), align=width // 8)
        store = builder.store(value, builder.bitcast(builder.gep(d.data, [args[1]]), line), align=LINE)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()
    return types.none(dst, dst_index, src, src_index), codegen


@njit(inline="always")
def stream_lines(dst, start, src, count):
    """``dst[start:start + count] = src[:count]`` by ``stream_line``: ``dst[start]`` starts a line and
    ``count`` items are whole lines."""
    for j in range(0, count, LINE // dst.itemsize):
        stream_line(dst, start + j, src, j)


@intrinsic
def store_fence(typingctx):
    """Order every earlier store, streaming ones included, before any later memory access (x86: mfence)."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def uint16_halves(typingctx, words):
    """The 1-D uint32 array ``words`` as a C-contiguous uint16 array of twice its size, each word's low half
    first on a little-endian CPU. ``words`` must be contiguous, whatever its Numba type says: the kernels'
    slices of contiguous rows are typed any-layout, and indexed stores through such a view do not vectorise
    (LLVM cannot group strided stores of unknown stride). A borrowed view: no reference of its own."""
    if not (isinstance(words, types.Array) and words.ndim == 1 and words.dtype == types.uint32):
        return None
    halves = types.Array(types.uint16, 1, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(halves)(context, builder)
        intp = context.get_value_type(types.intp)
        count = builder.mul(builder.extract_value(src.shape, 0), ir.Constant(intp, 2))
        populate_array(out, data=builder.bitcast(src.data, ir.IntType(16).as_pointer()), shape=[count],
                       strides=[ir.Constant(intp, 2)], itemsize=ir.Constant(intp, 2), meminfo=None)
        return out._getvalue()
    return halves(words), codegen
