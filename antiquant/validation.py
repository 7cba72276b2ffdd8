"""SPEC section 3, in order: presence, dtypes and attributes, shapes, layout, aliasing.

Each rule group is one function; the first failure raises ``AclnnError`` with CANN's status and a message
naming the argument, what was expected and what was given. Nothing here touches data.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .dtypes import AclnnError, DataType, Status, datatype_of
from .platforms import Platform
from .tensor import AclTensor

__all__ = ["CheckedCall", "check_call", "MAX_RANK"]

MAX_RANK = 8
DST_TYPES = (DataType.FLOAT16, DataType.BF16)


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


def _invalid(message: str) -> AclnnError:
    return AclnnError(Status.ACLNN_ERR_PARAM_INVALID, message)


def _names(dtypes) -> str:
    return "{" + ", ".join(d.short for d in dtypes) + "}"


def check_present(x, scale, y) -> None:
    for name, t in (("x", x), ("scale", scale), ("y", y)):
        if t is None:
            raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR, f"{name}: expected a tensor, got None")


def check_tensors_are_tensors(**tensors) -> None:
    for name, t in tensors.items():
        if t is not None and not isinstance(t, AclTensor):
            raise TypeError(f"{name}: expected an AclTensor (AclTensor.from_numpy(array)), got {type(t).__name__}")
        if t is not None:
            _check_view(name, t)


def _check_view(name: str, t: AclTensor) -> None:
    """An AclTensor built or edited by hand must still describe its array: kernels trust shape and dtype."""
    def broken(what):
        return TypeError(f"{name}: {what}; build tensors with AclTensor.from_numpy(array) and do not edit them")
    if not isinstance(t.array, np.ndarray) or not isinstance(t.dtype, DataType):
        raise broken(f"expected a numpy array and a DataType inside the AclTensor, got "
                     f"{type(t.array).__name__} and {type(t.dtype).__name__}")
    if not isinstance(t.shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in t.shape):
        raise broken(f"expected a tuple of non-negative ints as shape, got {t.shape!r}")
    if t.packed:
        fits = (t.dtype == DataType.INT4 and t.array.dtype in (np.uint8, np.int8) and len(t.shape) > 0
                and t.shape[-1] % 2 == 0 and t.array.shape == (*t.shape[:-1], t.shape[-1] // 2))
    else:
        fits = datatype_of(t.array.dtype) == t.dtype and t.array.shape == t.shape
    if not fits:
        raise broken(f"shape {t.shape} and dtype {t.dtype.short} do not describe its array "
                     f"(shape {t.array.shape}, {t.array.dtype})")


def check_dtypes(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor, platform: Platform,
                 y_name: str = "y") -> None:
    where = f"on {platform.name}"
    if x.dtype not in platform.x_dtypes:
        raise _invalid(f"x: expected dtype in {_names(platform.x_dtypes)} {where}, got {x.dtype.short}")
    if y.dtype not in platform.y_dtypes:
        raise _invalid(f"{y_name}: expected dtype in {_names(platform.y_dtypes)} {where}, got {y.dtype.short}")
    if scale.dtype not in platform.scale_dtypes:
        raise _invalid(f"scale: expected dtype in {_names(platform.scale_dtypes)} {where}, got {scale.dtype.short}")
    if offset is not None:
        if offset.dtype not in platform.scale_dtypes:
            raise _invalid(f"offset: expected dtype in {_names(platform.scale_dtypes)} {where}, "
                           f"got {offset.dtype.short}")
        if offset.dtype != scale.dtype:
            raise _invalid(f"offset: expected the same dtype as scale ({scale.dtype.short}), got {offset.dtype.short}")


def check_attributes(dst_type, sqrt_mode, y: AclTensor, y_name: str = "y") -> tuple[DataType, bool]:
    if isinstance(dst_type, (bool, np.bool_)) or not isinstance(dst_type, (int, np.integer)):
        raise _invalid(f"dstType: expected the integer 1 (FLOAT16) or 27 (BF16), got {dst_type!r}")
    if int(dst_type) not in (int(d) for d in DST_TYPES):
        raise _invalid(f"dstType: expected 1 (FLOAT16) or 27 (BF16), got {int(dst_type)}")
    dst = DataType(int(dst_type))
    if dst != y.dtype:
        raise _invalid(f"dstType: expected {y_name}'s dtype {y.dtype.short} ({int(y.dtype)}), got {dst.short} ({int(dst)})")
    if not isinstance(sqrt_mode, (bool, np.bool_)):
        raise _invalid(f"sqrtMode: expected a bool, got {type(sqrt_mode).__name__} {sqrt_mode!r}")
    return dst, bool(sqrt_mode)


def expected_y_shape(x: AclTensor) -> tuple[int, ...]:
    """y's shape for x's: the same, except INT32 widens the last axis 8 times (a 0-d INT32 gives (8,))."""
    if x.dtype != DataType.INT32:
        return x.shape
    if x.ndim == 0:
        return (8,)
    return (*x.shape[:-1], x.shape[-1] * 8)


def check_shapes(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor,
                 y_name: str = "y") -> None:
    if x.ndim > MAX_RANK:
        raise _invalid(f"x: expected rank at most {MAX_RANK}, got rank {x.ndim} (shape {x.shape})")
    if x.dtype == DataType.INT4 and (x.ndim == 0 or x.shape[-1] % 2):
        raise _invalid(f"x: INT4 needs an even last dimension, got shape {x.shape}")
    want = expected_y_shape(x)
    if y.shape != want:
        rule = "x's shape with the last axis 8 times longer" if x.dtype == DataType.INT32 else "x's shape"
        raise _invalid(f"{y_name}: expected shape {want} ({rule}), got {y.shape}")
    last = want[-1] if want else 1
    if scale.ndim != 1 or scale.size == 0:
        raise _invalid(f"scale: expected a non-empty 1-D tensor, got shape {scale.shape}")
    if scale.size not in (1, last):
        raise _invalid(f"scale: expected size 1 or {y_name}'s last dimension {last}, got {scale.size}")
    if offset is not None and offset.shape != scale.shape:
        raise _invalid(f"offset: expected scale's shape {scale.shape}, got {offset.shape}")


def check_layout(x: AclTensor, y: AclTensor, y_name: str = "y") -> None:
    if x.dtype == DataType.INT4 and not x.is_contiguous():
        raise _invalid(f"x: an INT4 tensor must be contiguous, got strides {x.array.strides} for shape {x.shape}")
    if not y.array.flags.writeable:
        raise _invalid(f"{y_name}: expected a writable array, got a read-only one (flags.writeable is False)")


def check_apart(y: np.ndarray, x: np.ndarray, scale: np.ndarray, offset: np.ndarray | None,
                y_name: str = "y") -> np.ndarray:
    """``y`` itself if it shares no memory with the inputs; the one check a cached call repeats."""
    for name, a in (("x", x), ("scale", scale), ("offset", offset)):
        if a is not None and overlaps(y, a):
            raise _invalid(f"{y_name}: expected memory apart from the inputs, but it overlaps {name}")
    return y


def check_no_alias(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor,
                   y_name: str = "y") -> None:
    check_apart(y.array, x.array, scale.array, None if offset is None else offset.array, y_name)
    if _overlaps_itself(y.array):
        raise _invalid(f"{y_name}: expected one memory location per element, but strides {y.array.strides} for "
                       f"shape {y.array.shape} make elements share memory (a broadcast or as_strided view); "
                       "pass a contiguous array or a plain slice")


def overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    if a.size == 0 or b.size == 0 or not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=1 << 20))
    except np.exceptions.TooHardError:
        return True


def _overlaps_itself(a: np.ndarray) -> bool:
    """Whether elements of ``a`` may share bytes: each stride must step over all smaller axes' extent."""
    if a.size == 0:
        return False
    reach = a.itemsize
    for stride, n in sorted((abs(s), n) for s, n in zip(a.strides, a.shape) if n > 1):
        if stride < reach:
            return True
        reach += stride * (n - 1)
    return False


def check_call(x, scale, offset, dst_type, sqrt_mode, y, platform: Platform, y_name: str = "y") -> CheckedCall:
    """Validate one operator call in SPEC order; return it checked or raise ``AclnnError``."""
    check_present(x, scale, y)
    check_tensors_are_tensors(x=x, scale=scale, offset=offset, **{y_name: y})
    check_dtypes(x, scale, offset, y, platform, y_name)
    dst, sqrt = check_attributes(dst_type, sqrt_mode, y, y_name)
    check_shapes(x, scale, offset, y, y_name)
    check_layout(x, y, y_name)
    check_no_alias(x, scale, offset, y, y_name)
    return CheckedCall(x, scale, offset, y, dst, sqrt, platform)

