"""The rules of Ascend 950 (arch35, "regbase") for dtypes and shapes (docs/spec.md section 8.2), in upstream's
order: op_api's dtype lists (``common.check_dtypes``, as on arch22), attribute and shape checks, then, for a
non-empty x, the scale-shape checks CANN's arch35 tiling makes (T1-T4 of section 8.2.2) plus the extent check
upstream lacks (decision 2 of section 9).

Every refusal is ACLNN_ERR_PARAM_INVALID (161002), also the tiling-stage ones that CANN's runtime reports as
561103 from phase 1 (decision 1 of section 9): the documented code for every parameter error.
"""

from __future__ import annotations

import math

from ..dtypes import FLOAT8_TYPES, DataType
from ..tensor import AclTensor
from .arch22 import MAX_RANK
from .common import check_x_and_y, invalid

__all__ = ["check_modes", "check_shapes"]

INT32_NIBBLES = 8   # an INT32 word carries 8 int4: op_api's INT32 rules compare against 8 * x[-1]


def check_modes(x: AclTensor, scale: AclTensor, sqrt_mode: bool) -> None:
    """Steps 2f and 3: the 8-bit float x types take a FLOAT scale only, and no sqrtMode."""
    if x.dtype in FLOAT8_TYPES and scale.dtype != DataType.FLOAT:
        raise invalid(f"scale: an x of {x.dtype.short} takes a FLOAT scale (and offset), got {scale.dtype.short}")
    if x.dtype in FLOAT8_TYPES and sqrt_mode:
        raise invalid(f"sqrtMode: an x of {x.dtype.short} takes sqrtMode false, got true")


def check_shapes(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor,
                 y_name: str = "y") -> None:
    """Step 4 of section 8.2.1, then for a non-empty x the tiling's scale checks on the shape it sees (the
    INT4 view of an INT32 x, which is y's shape)."""
    check_x_and_y(x, y, y_name)
    if x.ndim > MAX_RANK:
        raise invalid(f"x: expected rank at most {MAX_RANK}, got rank {x.ndim} (shape {x.shape})")
    if offset is not None and offset.shape != scale.shape:
        raise invalid(f"offset: expected scale's shape {scale.shape}, got {offset.shape}")
    if x.ndim == 0 and x.dtype != DataType.INT32:
        raise invalid(f"x: cannot be a scalar (a 0-d tensor) for {x.dtype.short}; only INT32 x may be 0-d")
    if scale.size == 0:
        raise invalid(f"scale: cannot be an empty tensor, got shape {scale.shape}")
    if x.dtype == DataType.INT32:
        _check_int32_scale(x.shape, scale.shape)
    if x.size == 0:     # CANN returns success before the tiling, whose checks follow
        return
    _check_scale_against(y.shape, scale.shape, "scale")


def _check_int32_scale(words: tuple[int, ...], s: tuple[int, ...]) -> None:
    """Step 4f: op_api's rules for an INT32 x on its own shape (int32 words), L = the scale's last axis."""
    if not words:
        return          # a 0-d INT32 x: the tiling checks the scale against its [8] view
    last = s[-1] if s else 1
    widened = INT32_NIBBLES * words[-1]
    if len(words) == 1:
        allowed = (1, widened)
    elif len(s) <= 1:
        allowed = (1, words[-2], widened)
    else:
        allowed = (1, widened)
    if last not in allowed:
        raise invalid(f"scale: for an INT32 x of shape {words} its last dimension must be one of "
                      f"{', '.join(map(str, dict.fromkeys(allowed)))}, got {last} (shape {s})")


def _check_scale_against(view: tuple[int, ...], s: tuple[int, ...], name: str) -> None:
    """T1-T4 of section 8.2.2 for the tiling's x shape ``view`` (0-d read as [1], as the tiling does), and the
    extent of a multi-dimensional scale's one non-1 axis (decision 2: upstream would read out of bounds)."""
    view, s = view or (1,), s or (1,)
    if len(s) not in (1, len(view)):
        raise invalid(f"{name}: expected rank 1 or x's rank {len(view)}, got shape {s}")
    if len(view) == 1:
        if s[0] not in (1, view[0]):
            raise invalid(f"{name}: expected size 1 or x's dimension {view[0]}, got shape {s}")
        return
    if len(s) == 1:
        if s[0] not in (1, view[-1], view[-2]):
            raise invalid(f"{name}: expected size 1, x's last dimension {view[-1]} or its second-last "
                          f"{view[-2]} (per head), got shape {s}")
        return
    axis = -2 if s[-2] != 1 else -1
    if math.prod(s) != s[axis]:
        raise invalid(f"{name}: a multi-dimensional scale may differ from 1 only on axis -1 or -2 (one of "
                      f"them), got shape {s}")
    if s[axis] not in (1, view[axis]):
        raise invalid(f"{name}: expected axis {axis} of size 1 or x's {view[axis]}, got shape {s}")

