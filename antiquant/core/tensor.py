"""``AclTensor``: a typed view of a numpy array, the CANN ``aclTensor`` of this library.

It never copies. An INT4 tensor is stored either unpacked (``ml_dtypes.int4``, one element per byte) or
packed (two elements per byte, see ``antiquant.core.dtypes``) over a uint8/int8 array with an explicit shape.
An 8-bit float tensor (HIFLOAT8, FLOAT8_E5M2, FLOAT8_E4M3FN) given as raw uint8/int8 codes is a view of those
bytes as the dtype's numpy storage (``numpy_dtype_of``), one element per byte.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .dtypes import FLOAT8_TYPES, DataType, datatype_of, nibbles_per, numpy_dtype_of

__all__ = ["AclTensor"]


class AclTensor:
    """A view of ``array`` carrying a CANN dtype and the logical shape the operator sees."""

    __slots__ = ("array", "dtype", "shape", "packed")

    def __init__(self, array: np.ndarray, dtype: DataType, shape: tuple[int, ...], packed: bool):
        self.array = array
        self.dtype = dtype
        self.shape = shape
        self.packed = packed

    @classmethod
    def from_numpy(cls, array, dtype=None, shape=None) -> "AclTensor":
        """Wrap ``array`` without copying.

        ``dtype`` defaults to the array's own (int8, int32, ml_dtypes.int4, float32, float16, bfloat16 ...).
        ``dtype=DataType.INT4`` over a uint8/int8 array reads it as packed int4: the logical shape is
        ``shape`` if given, else the array's shape with the last axis doubled. ``dtype=DataType.HIFLOAT8``,
        ``FLOAT8_E5M2`` or ``FLOAT8_E4M3FN`` over a uint8/int8 array reads its bytes as the codes, one per
        element (a view as ``numpy_dtype_of(dtype)``; no copy).
        """
        if not isinstance(array, np.ndarray):
            raise TypeError(f"AclTensor.from_numpy takes a numpy array, got {type(array).__name__}; "
                            "wrap it with numpy.asarray first")
        if isinstance(array, np.ma.MaskedArray):  # the kernels cannot take one, and would ignore its mask
            raise TypeError("AclTensor.from_numpy: a masked array's mask has no meaning to the operator; "
                            "pass its .data, or .filled(value)")
        inferred = datatype_of(array.dtype)
        if dtype is None:
            if inferred is None and array.dtype.byteorder == ">":
                little = array.dtype.newbyteorder("<").str
                raise TypeError(f"AclTensor.from_numpy: numpy dtype {array.dtype.str} is big-endian; the operator "
                                f"reads little-endian values: convert it with .astype('{little}')")
            if inferred is None:
                raise TypeError(f"AclTensor.from_numpy: numpy dtype {array.dtype} has no CANN DataType; "
                                "pass an array of int8, int32, ml_dtypes.int4, float32, float16 or bfloat16")
            if shape is not None and _as_shape(shape) != array.shape:
                raise ValueError(f"AclTensor.from_numpy: shape {tuple(shape)} differs from the array's "
                                 f"{array.shape}; only packed INT4 takes an explicit shape")
            return cls(array, inferred, array.shape, packed=False)
        try:
            dtype = DataType(dtype)
        except ValueError:
            raise ValueError(f"AclTensor.from_numpy: dtype must be a DataType, got {dtype!r}") from None
        if dtype == DataType.INT4 and array.dtype in (np.uint8, np.int8):
            array, logical = _packed_int4_view(array, shape)
            return cls(array, dtype, logical, packed=True)
        if dtype in FLOAT8_TYPES and array.dtype in (np.uint8, np.int8):
            array, inferred = array.view(numpy_dtype_of(dtype)), dtype
        if inferred != dtype:
            got = inferred.short if inferred is not None else str(array.dtype)
            raise TypeError(f"AclTensor.from_numpy: dtype {dtype.short} does not match the array's {got}; "
                            "only INT4 may be laid over uint8/int8 bytes (packed two per byte), and HIFLOAT8, "
                            "FLOAT8_E5M2 or FLOAT8_E4M3FN (one code per byte)")
        return cls(array, dtype, array.shape, packed=False)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def __repr__(self) -> str:
        kind = ", packed" if self.packed else ""
        return f"AclTensor(shape={self.shape}, dtype={self.dtype.short}{kind})"


def _as_shape(shape) -> tuple[int, ...]:
    try:
        return tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"AclTensor.from_numpy: shape must be a tuple of ints, got {shape!r}") from None


def _packed_int4_view(array: np.ndarray, shape) -> tuple[np.ndarray, tuple[int, ...]]:
    """The bytes as ``(*shape[:-1], shape[-1] // 2)`` (a view) and the logical shape."""
    per = nibbles_per(array.dtype)
    if shape is None:
        if array.ndim == 0:
            raise ValueError("AclTensor.from_numpy: packed INT4 needs an array with at least one axis")
        return array, (*array.shape[:-1], array.shape[-1] * per)
    shape = _as_shape(shape)
    if len(shape) and shape[:-1] == array.shape[:-1] and shape[-1] == array.shape[-1] * per:
        return array, shape
    numel = math.prod(shape)  # Python ints: numpy's int64 product wraps
    if len(shape) == 0 or shape[-1] % per or numel != array.size * per or any(d < 0 for d in shape):
        raise ValueError(f"AclTensor.from_numpy: {array.size} packed bytes cannot hold INT4 shape {shape} "
                         f"(it needs an even last axis and {per} elements per byte)")
    if not array.flags.c_contiguous:
        raise ValueError("AclTensor.from_numpy: packed INT4 bytes must be C-contiguous to take a new shape")
    try:
        return array.reshape(*shape[:-1], shape[-1] // per), shape
    except ValueError:  # numpy's limits: its dimensions, zeros aside, multiply to more bytes than intp holds
        raise ValueError(f"AclTensor.from_numpy: INT4 shape {shape} is too large for a numpy array") from None
