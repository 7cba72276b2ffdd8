"""Validation (docs/spec.md section 3), in CANN's order: presence, dtypes and attributes, shapes, layout,
aliasing. The dtype and shape rules are the platform's architecture's (one module each, ``RULES``); the
rest is shared (``common``). The first failure raises ``AclnnError`` with CANN's status.
"""

from __future__ import annotations

import dataclasses

from ..dtypes import DataType
from ..platforms import Platform
from ..tensor import AclTensor
from . import arch22
from .common import (check_apart, check_attributes, check_layout, check_no_alias, check_present,
                     check_tensors_are_tensors, expected_y_shape, overlaps)

__all__ = ["CheckedCall", "check_call", "check_description", "RULES", "check_apart", "expected_y_shape", "overlaps"]

# Architecture -> the module holding its ``check_dtypes`` and ``check_shapes``.
RULES = {"arch22": arch22}


@dataclasses.dataclass(frozen=True)
class CheckedCall:
    """A call that passed validation, with the facts later stages derive from it."""

    x: AclTensor
    scale: AclTensor
    offset: AclTensor | None
    y: AclTensor
    dst_type: DataType
    sqrt_mode: bool
    platform: Platform

    @property
    def numel(self) -> int:
        return self.y.size

    @property
    def last(self) -> int:
        """y's last dimension (1 for a 0-d y)."""
        return self.y.shape[-1] if self.y.ndim else 1

    @property
    def per_channel(self) -> bool:
        return self.scale.size != 1


def check_description(x: AclTensor, scale: AclTensor, offset: AclTensor | None, dst_type, sqrt_mode, y: AclTensor,
                      platform: Platform, y_name: str = "y") -> tuple[DataType, bool]:
    """The checks that read only dtypes, shapes and attributes (the platform architecture's rules); returns
    (dstType, sqrtMode). The Dask adapter runs these on stand-ins before any block exists."""
    rules = RULES[platform.arch]
    rules.check_dtypes(x, scale, offset, y, platform, y_name)
    dst, sqrt = check_attributes(dst_type, sqrt_mode, y, y_name)
    rules.check_shapes(x, scale, offset, y, y_name)
    return dst, sqrt


def check_call(x, scale, offset, dst_type, sqrt_mode, y, platform: Platform, y_name: str = "y") -> CheckedCall:
    """Validate one operator call in CANN's order (docs/spec.md section 3); return it checked or raise
    ``AclnnError``."""
    check_present(x, scale, y)
    check_tensors_are_tensors(x=x, scale=scale, offset=offset, **{y_name: y})
    dst, sqrt = check_description(x, scale, offset, dst_type, sqrt_mode, y, platform, y_name)
    check_layout(x, y, y_name)
    check_no_alias(x, scale, offset, y, y_name)
    return CheckedCall(x, scale, offset, y, dst, sqrt, platform)
