"""Code generation hints for the kernels' vector loops."""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic

__all__ = ["prefer_512bit_vectors"]


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
