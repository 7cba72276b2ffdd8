"""The shape rules of Atlas A2 and A3 (arch22; docs/spec.md section 3), as CANN's op_api checks them on
Ascend910B and, with its own dtype lists (``common.check_dtypes``), on Ascend310P: one 1-D scale of size 1 or
y's last dimension.
"""

from __future__ import annotations

from ..tensor import AclTensor
from .common import check_x_and_y, invalid

__all__ = ["check_shapes", "MAX_RANK"]

MAX_RANK = 8  # CANN's op_api: x of rank at most 8


def check_shapes(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor,
                 y_name: str = "y") -> None:
    if x.ndim > MAX_RANK:
        raise invalid(f"x: expected rank at most {MAX_RANK}, got rank {x.ndim} (shape {x.shape})")
    check_x_and_y(x, y, y_name)
    last = y.shape[-1] if y.shape else 1
    if scale.ndim != 1 or scale.size == 0:
        hint = "; one scale for the whole tensor has shape (1,): numpy.reshape(scale, 1)" if scale.ndim == 0 else ""
        raise invalid(f"scale: expected a non-empty 1-D tensor, got shape {scale.shape}{hint}")
    if scale.size not in (1, last):
        raise invalid(f"scale: expected size 1 or {y_name}'s last dimension {last}, got {scale.size}")
    if offset is not None and offset.shape != scale.shape:
        raise invalid(f"offset: expected scale's shape {scale.shape}, got {offset.shape}")
