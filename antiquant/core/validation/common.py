"""The checks every architecture shares (docs/spec.md section 3): presence, the tensors themselves,
attributes, layout and aliasing, and the size of a tensor that does not exist yet (its stand-in). Each raises
``AclnnError`` with CANN's status and a message naming the argument; nothing here touches data.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import DST_TYPES, AclnnError, DataType, Status, datatype_of
from ..platforms import Platform
from ..tensor import AclTensor

__all__ = ["invalid", "dtype_names", "check_present", "check_tensors_are_tensors", "check_dtypes",
           "check_attributes", "expected_y_shape", "check_layout", "check_apart", "check_no_alias", "overlaps",
           "check_size", "stand_in", "INT64_MAX", "MAX_BYTES"]

INT64_MAX = int(np.iinfo(np.int64).max)     # CANN's shapes and sizes are int64 (aclCreateTensor)
MAX_BYTES = int(np.iinfo(np.intp).max)      # numpy addresses an array's bytes with intp


def invalid(message: str) -> AclnnError:
    return AclnnError(Status.ACLNN_ERR_PARAM_INVALID, message)


def dtype_names(dtypes) -> str:
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
    if not isinstance(t.array, np.ndarray) or isinstance(t.array, np.ma.MaskedArray) \
            or not isinstance(t.dtype, DataType):  # (the kernels cannot take a masked array)
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
                 y_name: str = "y", dst_name: str | None = None) -> None:
    """The platform's dtype lists for x, y, scale and offset, and offset's dtype equal to scale's (every
    architecture; docs/spec.md sections 3 and 8.2.1, steps 2a-2d). ``dst_name``: the argument y's dtype was
    made from, when y is allocated for the call (``dst_type``): its refusal names what the caller passed."""
    where = f"on {platform.name}"
    if x.dtype not in platform.x_dtypes:
        raise invalid(f"x: expected dtype in {dtype_names(platform.x_dtypes)} {where}, got {x.dtype.short}")
    if y.dtype not in platform.y_dtypes:
        raise invalid(f"{dst_name or y_name}: expected dtype in {dtype_names(platform.y_dtypes)} {where}, "
                      f"got {y.dtype.short}")
    if scale.dtype not in platform.scale_dtypes:
        raise invalid(f"scale: expected dtype in {dtype_names(platform.scale_dtypes)} {where}, got {scale.dtype.short}")
    if offset is not None:
        if offset.dtype not in platform.scale_dtypes:
            raise invalid(f"offset: expected dtype in {dtype_names(platform.scale_dtypes)} {where}, "
                           f"got {offset.dtype.short}")
        if offset.dtype != scale.dtype:
            raise invalid(f"offset: expected the same dtype as scale ({scale.dtype.short}), got {offset.dtype.short}")


def check_attributes(dst_type, sqrt_mode, y: AclTensor, y_name: str = "y") -> tuple[DataType, bool]:
    if isinstance(dst_type, (bool, np.bool_)) or not isinstance(dst_type, (int, np.integer)):
        raise invalid(f"dstType: expected the integer 1 (FLOAT16) or 27 (BF16), got {dst_type!r}")
    if int(dst_type) not in (int(d) for d in DST_TYPES):
        raise invalid(f"dstType: expected 1 (FLOAT16) or 27 (BF16), got {int(dst_type)}")
    dst = DataType(int(dst_type))
    if dst != y.dtype:
        raise invalid(f"dstType: expected {y_name}'s dtype {y.dtype.short} ({int(y.dtype)}), got {dst.short} "
                      f"({int(dst)})")
    if not isinstance(sqrt_mode, (bool, np.bool_)):
        raise invalid(f"sqrtMode: expected a bool, got {type(sqrt_mode).__name__} {sqrt_mode!r}")
    return dst, bool(sqrt_mode)


def expected_y_shape(x: AclTensor) -> tuple[int, ...]:
    """y's shape for x's: the same, except INT32 widens the last axis 8 times (a 0-d INT32 gives (8,))."""
    if x.dtype != DataType.INT32:
        return x.shape
    if x.ndim == 0:
        return (8,)
    return (*x.shape[:-1], x.shape[-1] * 8)


def check_size(name: str, shape: tuple[int, ...], dtype) -> None:
    """Refuse a shape no tensor can have: a dimension or element count past CANN's int64, or more bytes than
    numpy can address. A Dask array, or y before it is allocated, has no array to have proven it fits."""
    numel = math.prod(shape)
    if numel > INT64_MAX or any(d > INT64_MAX for d in shape):
        raise invalid(f"{name}: shape {shape} has a dimension or an element count ({numel}) past CANN's int64 "
                      f"sizes ({INT64_MAX})")
    nbytes = math.prod(d for d in shape if d) * np.dtype(dtype).itemsize   # numpy's rule, even when empty
    if nbytes > MAX_BYTES:
        raise invalid(f"{name}: shape {shape} of {np.dtype(dtype)} would be {nbytes} bytes, more than numpy "
                      f"can address ({MAX_BYTES})")


def stand_in(name: str, dtype, shape: tuple[int, ...]) -> AclTensor:
    """A writable tensor of ``dtype`` and ``shape`` over one element (every stride 0), for the checks that read
    no data, made before the tensor it stands for exists; a shape no tensor can have is refused first."""
    check_size(name, shape, dtype)
    return AclTensor.from_numpy(np.ndarray(shape, dtype, np.zeros(1, dtype), 0, (0,) * len(shape)))


def check_x_and_y(x: AclTensor, y: AclTensor, y_name: str = "y") -> None:
    """INT4 x with an even last axis, and y of the shape x gives (every architecture's first shape rules)."""
    if x.dtype == DataType.INT4 and (x.ndim == 0 or x.shape[-1] % 2):
        raise invalid(f"x: INT4 needs an even last dimension, got shape {x.shape}")
    want = expected_y_shape(x)
    if y.shape != want:
        rule = "x's shape with the last axis 8 times longer" if x.dtype == DataType.INT32 else "x's shape"
        raise invalid(f"{y_name}: expected shape {want} ({rule}), got {y.shape}")


def check_layout(x: AclTensor, y: AclTensor, y_name: str = "y") -> None:
    """INT4 x contiguous, checked after CANN's return for an empty x (so an empty INT4 x may be strided), and a
    writable y."""
    if x.dtype == DataType.INT4 and x.size and not x.is_contiguous():
        raise invalid(f"x: an INT4 tensor must be contiguous, got strides {x.array.strides} for shape {x.shape}")
    if not y.array.flags.writeable:
        raise invalid(f"{y_name}: expected a writable array, got a read-only one (flags.writeable is False)")


def check_apart(y: np.ndarray, x: np.ndarray, scale: np.ndarray, offset: np.ndarray | None,
                y_name: str = "y") -> np.ndarray:
    """``y`` itself if it shares no memory with the inputs; the one check a cached call repeats.

    Two distinct arrays that each own their memory are separate allocations, apart without the bounds test
    (a flag read, a sixth of ``np.may_share_memory``'s cost).
    """
    y_owns = y.flags.owndata
    for name, a in (("x", x), ("scale", scale), ("offset", offset)):
        if a is not None and not (y_owns and a is not y and a.flags.owndata) and overlaps(y, a):
            raise invalid(f"{y_name}: expected memory apart from the inputs, but it overlaps {name}")
    return y


def check_no_alias(x: AclTensor, scale: AclTensor, offset: AclTensor | None, y: AclTensor,
                   y_name: str = "y") -> None:
    check_apart(y.array, x.array, scale.array, None if offset is None else offset.array, y_name)
    if _overlaps_itself(y.array):
        raise invalid(f"{y_name}: expected one memory location per element, but strides {y.array.strides} for "
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
