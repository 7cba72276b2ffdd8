"""The dequantization kernel: one body, specialisations generated per source, destination and scale mode.

``dequant_span`` is the whole arithmetic (SPEC section 1) for a run of consecutive elements of one row.
``fused_kernel`` walks a tile table in parallel and applies it in place; every flag is a closure
constant, so each specialisation compiles to straight-line vector code, and Numba caches it on disk.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

import numpy as np
from numba import njit, prange

from .bits import bf16_bits, f16_bits_hw, f16_bits_sw, signed_nibble, target_has_f16c
from .vector import prefer_512bit_vectors

__all__ = ["SOURCES", "Source", "dequant_span", "fused_kernel", "KERNEL_OPTIONS", "SOURCE_DIGEST"]

KERNEL_OPTIONS = dict(parallel=True, nogil=True, fastmath=False, cache=True, error_model="numpy",
                      boundscheck=False)

# Numba keys a kernel's disk cache on its own bytecode and closure values, and checks only the file it is
# defined in; the arithmetic it inlines lives in the other files here. Every kernel names this digest of
# the whole package in its closure, so editing or upgrading any of them cannot load stale machine code.
SOURCE_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
                               ).hexdigest()


class Source:
    """How x is stored: ``group`` int4 (or int8) values per storage element; ``nibbles`` if 4-bit."""

    def __init__(self, name: str, storage: np.dtype, group: int, nibbles: bool):
        self.name, self.storage, self.group, self.nibbles = name, np.dtype(storage), group, nibbles

    def __repr__(self):
        return f"Source({self.name})"


SOURCES = {
    "int8": Source("int8", np.int8, 1, False),
    "int4": Source("int4", np.uint8, 2, True),              # packed, two per byte, low nibble first
    "int4_unpacked": Source("int4_unpacked", np.uint8, 1, True),  # ml_dtypes.int4: one per byte, low nibble
    # Eight per int32 word, low nibble first: on a little-endian CPU that is exactly packed int4 bytes,
    # which vectorise better than 8-nibble words.
    "int32": Source("int32", np.uint8, 2, True) if sys.byteorder == "little" else Source("int32", np.int32, 8, True),
}


@njit(inline="always")
def decode(word, i, nibbles):
    """Value ``i`` of a storage element: the int8 itself, or its i-th nibble sign-extended."""
    if nibbles:
        return signed_nibble(word, i)
    return np.int32(word)


@njit(inline="always")
def round_to(v, bf16, hw_f16):
    if bf16:
        return bf16_bits(v)
    if hw_f16:
        return f16_bits_hw(v)
    return f16_bits_sw(v)


@njit(inline="always")
def dequant_span(xs, ys, scale, offset, n, group, nibbles, per_channel, has_offset, bf16, hw_f16):
    """``ys[c] = round((x_c + offset) * scale)`` for the ``n`` elements stored in ``xs``.

    ``scale``/``offset`` are float32 (sqrt mode already applied), indexed by column when per-channel and at
    0 otherwise. One rounding per step, no fused multiply-add (fastmath is off).
    """
    for j in range(n // group):
        word = xs[j]
        for i in range(group):
            c = j * group + i
            k = c if per_channel else 0
            v = np.float32(decode(word, i, nibbles))
            if has_offset:
                v = v + offset[k]
            ys[c] = round_to(v * scale[k], bf16, hw_f16)


@functools.lru_cache(maxsize=None)
def fused_kernel(source: str, bf16: bool, per_channel: bool, has_offset: bool, parallel: bool = True,
                 hw_f16: bool | None = None):
    """The specialisation for one combination; compiled (or loaded from cache) on its first call.

    Call it as ``kernel(x2d, scale, offset, y2d, tiles)``: x2d the storage of the ``[dim0, dim1]`` view,
    y2d uint16 ``[dim0, dim1]``, both C-contiguous; tiles int64 rows ``(core, row0, nrows, col0, ncols)``
    with col0 and ncols multiples of the source's group. ``parallel=False`` runs on the calling thread
    (for work too small to pay for waking the thread team).
    """
    src = SOURCES[source]
    group, nibbles = src.group, src.nibbles
    hw = target_has_f16c() if hw_f16 is None else hw_f16
    digest = SOURCE_DIGEST

    @njit(**dict(KERNEL_OPTIONS, parallel=parallel))
    def fused(x, scale, offset, y, tiles):
        # Numba's disk cache keys on the code and closure values, not on compile options: naming
        # ``parallel`` here makes it a closure value and keeps the serial and parallel builds apart.
        _ = parallel, digest
        for t in prange(tiles.shape[0]):
            prefer_512bit_vectors()
            row0, nrows, col0, ncols = tiles[t, 1], tiles[t, 2], tiles[t, 3], tiles[t, 4]
            s = scale[col0:col0 + ncols] if per_channel else scale
            o = offset[col0:col0 + ncols] if per_channel and has_offset else offset
            for r in range(nrows):
                xs = x[row0 + r][col0 // group:(col0 + ncols) // group]
                ys = y[row0 + r][col0:col0 + ncols]
                dequant_span(xs, ys, s, o, ncols, group, nibbles, per_channel, has_offset, bf16, hw)

    return fused
