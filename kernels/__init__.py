"""Numba kernels of antiquant: pure compute on integer views, no validation, no Python objects.

``fused_kernel(source, bf16, per_channel, has_offset)`` returns the generated specialisation for one case;
``staged_kernel`` (same arguments) the one that stages every tile through per-core UB scratch laid out as
a ``UbLayout``.
"""

from .dequant import SOURCES, fused_kernel
from .layout import split_lanes
from .staged import UbLayout, staged_kernel

__all__ = ["SOURCES", "fused_kernel", "staged_kernel", "UbLayout", "split_lanes"]
