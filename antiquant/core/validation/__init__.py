"""Validation (docs/spec.md sections 3 and 8.2), in CANN's order: presence, dtypes and attributes, the
architecture's rules tying x's dtype to scale and sqrtMode, shapes, layout, aliasing. The shape rules (and
arch35's mode rules) are the platform's architecture's (one module each, ``RULES``); the rest is shared
(``common``). The first failure raises ``AclnnError`` with CANN's status.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

from ..dtypes import DataType
from ..platforms import Platform
from ..tensor import AclTensor
from . import arch22, arch35
from .common import (check_apart, check_attributes, check_dtypes, check_layout, check_no_alias, check_present,
                     check_tensors_are_tensors, expected_y_shape, overlaps)

__all__ = ["CheckedCall", "Rules", "check_call", "check_description", "RULES", "check_apart", "expected_y_shape",
           "overlaps"]


class Rules(NamedTuple):
    """One architecture's own checks: ``modes(x, scale, sqrt_mode)`` (None: no rule ties x's dtype to the
    scale's or to sqrtMode) and ``shapes(x, scale, offset, y, y_name)``."""

    modes: Callable | None
    shapes: Callable


# platforms.ARCHITECTURES -> its rules; a new NPU generation adds a module and a row here.
RULES = {
    "arch22": Rules(None, arch22.check_shapes),
    "arch35": Rules(arch35.check_modes, arch35.check_shapes),
}


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
        """Whether scale has more than one value (per channel or, on arch35, per head)."""
        return self.scale.size != 1


def check_description(x: AclTensor, scale: AclTensor, offset: AclTensor | None, dst_type, sqrt_mode, y: AclTensor,
                      platform: Platform, y_name: str = "y", dst_name: str | None = None) -> tuple[DataType, bool]:
    """The checks that read only dtypes, shapes and attributes (the platform architecture's rules); returns
    (dstType, sqrtMode). The Dask adapter runs these on stand-ins before any block exists; a stand-in y's
    dtype comes from the argument ``dst_name`` (see ``check_dtypes``)."""
    rules = RULES[platform.arch]
    check_dtypes(x, scale, offset, y, platform, y_name, dst_name)
    dst, sqrt = check_attributes(dst_type, sqrt_mode, y, y_name)
    if rules.modes is not None:
        rules.modes(x, scale, sqrt)
    rules.shapes(x, scale, offset, y, y_name)
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
