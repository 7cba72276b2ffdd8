"""Numba kernels of antiquant: pure compute on integer views, no validation, no Python objects.

``fused_kernel(source, bf16, per_channel, has_offset)`` returns the generated specialisation for one case.
"""

from .dequant import SOURCES, fused_kernel

__all__ = ["SOURCES", "fused_kernel"]
