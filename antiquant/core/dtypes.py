"""CANN type codes and the one table of dtype names, status codes, and the one place the int4 nibble order lives.

int4 storage (docs/spec.md section 2): element ``i`` of a container occupies bits ``4*i .. 4*i+3``, low nibble
first, two's complement. A byte holds 2 elements, an int32 word holds 8.

The 8-bit floats of Ascend 950 (docs/spec.md sections 8.4, 8.5) are one element per byte: FLOAT8_E5M2 and
FLOAT8_E4M3FN are held in ``ml_dtypes`` arrays, HIFLOAT8 in ``en_dtypes.hifloat8`` arrays when en_dtypes (an
optional extra, ``antiquant[hif8]``) is installed, else in ``RAW_HIFLOAT8``, a one-byte stand-in over the raw
codes. ``AclTensor.from_numpy(uint8_array, dtype=...)`` labels raw bytes as any of the three.
"""

from __future__ import annotations

import enum
import functools
from typing import NamedTuple

import numpy as np

__all__ = [
    "DataType",
    "Status",
    "AclnnError",
    "NIBBLE_BITS",
    "nibbles_per",
    "pack_int4",
    "unpack_int4",
    "datatype_of",
    "numpy_dtype_of",
    "DtypeNames",
    "NAMES",
    "DTYPE_NAMES",
    "FLOAT8_TYPES",
    "RAW_HIFLOAT8",
    "X_TYPES",
    "SCALE_TYPES",
    "DST_TYPES",
    "names_of",
    "dst_type_code",
]


class DataType(enum.IntEnum):
    """CANN ``aclDataType`` values (docs/spec.md section 2)."""

    ACL_FLOAT = 0
    ACL_FLOAT16 = 1
    ACL_INT8 = 2
    ACL_INT32 = 3
    ACL_UINT8 = 4
    ACL_INT16 = 6
    ACL_UINT16 = 7
    ACL_UINT32 = 8
    ACL_INT64 = 9
    ACL_UINT64 = 10
    ACL_DOUBLE = 11
    ACL_BOOL = 12
    ACL_BF16 = 27
    ACL_INT4 = 29
    ACL_HIFLOAT8 = 34
    ACL_FLOAT8_E5M2 = 35
    ACL_FLOAT8_E4M3FN = 36

    # Short aliases: DataType.FLOAT is DataType.ACL_FLOAT.
    FLOAT = 0
    FLOAT16 = 1
    INT8 = 2
    INT32 = 3
    UINT8 = 4
    INT16 = 6
    UINT16 = 7
    UINT32 = 8
    INT64 = 9
    UINT64 = 10
    DOUBLE = 11
    BOOL = 12
    BF16 = 27
    INT4 = 29
    HIFLOAT8 = 34
    FLOAT8_E5M2 = 35
    FLOAT8_E4M3FN = 36

    @property
    def short(self) -> str:
        """``FLOAT16`` for ``ACL_FLOAT16``: the name messages use."""
        return self.name.removeprefix("ACL_")


class Status(enum.IntEnum):
    """CANN ``aclnnStatus`` values (docs/spec.md section 2)."""

    ACLNN_SUCCESS = 0
    ACLNN_ERR_PARAM_NULLPTR = 161001
    ACLNN_ERR_PARAM_INVALID = 161002
    ACLNN_ERR_RUNTIME_ERROR = 361001
    ACLNN_ERR_INNER = 561000
    ACLNN_ERR_INNER_TILING_ERROR = 561002
    ACLNN_ERR_INNER_CREATE_EXECUTOR = 561101
    ACLNN_ERR_INNER_NULLPTR = 561103


class AclnnError(Exception):
    """An operator call CANN would refuse; ``.status`` is the ``aclnnStatus`` it would return."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status = Status(status)

    def __str__(self) -> str:
        return f"{self.status.name} ({int(self.status)}): {self.args[0]}"


# The 8-bit float x types of Ascend 950, one element per byte (docs/spec.md section 8.1).
FLOAT8_TYPES = (DataType.HIFLOAT8, DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN)

# HIFLOAT8 storage without en_dtypes: the raw codes as a one-field structured byte. It only carries the label
# (``datatype_of`` knows it); its values are decoded by the kernels, or read with ``.view(numpy.uint8)``.
RAW_HIFLOAT8 = np.dtype([("hifloat8", np.uint8)])


def _en_dtypes_hifloat8() -> np.dtype | None:
    """``en_dtypes.hifloat8`` if en_dtypes is installed (optional: the operator never needs it)."""
    try:
        import en_dtypes
    except ImportError:
        return None
    return np.dtype(en_dtypes.hifloat8)


@functools.cache
def _numpy_to_acl() -> dict:
    """numpy dtype -> DataType. Built on first use: importing ml_dtypes costs about half a second, which
    planning and the simulator (``antiquant.tiling``, ``antiquant.sim``) never pay."""
    import ml_dtypes
    hifloat8 = _en_dtypes_hifloat8()
    return {
        np.dtype(np.float32): DataType.FLOAT,
        np.dtype(np.float16): DataType.FLOAT16,
        np.dtype(np.int8): DataType.INT8,
        np.dtype(np.int32): DataType.INT32,
        np.dtype(np.uint8): DataType.UINT8,
        np.dtype(np.int16): DataType.INT16,
        np.dtype(np.uint16): DataType.UINT16,
        np.dtype(np.uint32): DataType.UINT32,
        np.dtype(np.int64): DataType.INT64,
        np.dtype(np.uint64): DataType.UINT64,
        np.dtype(np.float64): DataType.DOUBLE,
        np.dtype(np.bool_): DataType.BOOL,
        np.dtype(ml_dtypes.bfloat16): DataType.BF16,
        np.dtype(ml_dtypes.int4): DataType.INT4,
        np.dtype(ml_dtypes.float8_e5m2): DataType.FLOAT8_E5M2,
        np.dtype(ml_dtypes.float8_e4m3fn): DataType.FLOAT8_E4M3FN,
        RAW_HIFLOAT8: DataType.HIFLOAT8,
        **({hifloat8: DataType.HIFLOAT8} if hifloat8 is not None else {}),  # last: numpy_dtype_of's choice
    }


@functools.cache
def _acl_to_numpy() -> dict:
    return {acl: dt for dt, acl in _numpy_to_acl().items()}


class DtypeNames(NamedTuple):
    """What a dtype is called outside CANN's codes."""

    name: str                # numpy's and torch's name for it (``torch.bfloat16``): "bfloat16"
    short: str               # how antiquant's bench and ``antiquant convert --dst`` spell it: "bf16"
    aliases: tuple[str, ...]  # further names accepted wherever a dtype is named
    safetensors: str | None  # its safetensors dtype code, if safetensors has one


# The one table of dtype names: every other table of names (the CLI's choices, convert's safetensors codes,
# torch's dtypes, the bench's and the tests' destinations) is derived from it.
NAMES = {
    DataType.INT4: DtypeNames("int4", "int4", (), None),
    DataType.INT8: DtypeNames("int8", "int8", (), "I8"),
    DataType.INT32: DtypeNames("int32", "int32", (), "I32"),
    DataType.FLOAT: DtypeNames("float32", "float32", ("float",), "F32"),
    DataType.FLOAT16: DtypeNames("float16", "fp16", ("half",), "F16"),
    DataType.BF16: DtypeNames("bfloat16", "bf16", (), "BF16"),
    DataType.HIFLOAT8: DtypeNames("hifloat8", "hif8", ("hifp8",), None),
    DataType.FLOAT8_E5M2: DtypeNames("float8_e5m2", "fp8_e5m2", ("e5m2",), "F8_E5M2"),
    DataType.FLOAT8_E4M3FN: DtypeNames("float8_e4m3fn", "fp8_e4m3fn", ("e4m3fn",), "F8_E4M3"),
}

# Names users and the CLI give dtypes ("bfloat16", "fp16", ...), lower case -> DataType.
DTYPE_NAMES = {name: dt for dt, n in NAMES.items() for name in (n.name, n.short, *n.aliases)}

# What each operand may be on some platform (a platform's profile narrows them): x, scale and offset, and
# y (CANN's dstType: FLOAT16 (1) or BF16 (27)). Ordered as the CLI lists them.
X_TYPES = (DataType.INT8, DataType.INT4, DataType.INT32, *FLOAT8_TYPES)
SCALE_TYPES = (DataType.FLOAT, DataType.BF16)
DST_TYPES = (DataType.FLOAT16, DataType.BF16)


def names_of(datatypes, spelling: str = "name") -> dict[str, DataType]:
    """``{"float16": FLOAT16, ...}`` for ``datatypes`` in order; ``spelling="short"`` gives ``{"fp16": ...}``."""
    return {getattr(NAMES[dt], spelling): dt for dt in datatypes}


def datatype_of(dtype) -> DataType | None:
    """The ``DataType`` of a numpy dtype, or None when CANN has no code for it."""
    return _numpy_to_acl().get(np.dtype(dtype))


def numpy_dtype_of(datatype: DataType) -> np.dtype:
    """The numpy dtype that stores one element of ``datatype`` (ml_dtypes.int4 for INT4; for HIFLOAT8
    en_dtypes.hifloat8, or ``RAW_HIFLOAT8`` without en_dtypes)."""
    return _acl_to_numpy()[DataType(datatype)]


NIBBLE_BITS = 4


def nibbles_per(container: np.dtype) -> int:
    """How many int4 elements one container element holds: 2 per byte, 8 per int32."""
    return np.dtype(container).itemsize * 8 // NIBBLE_BITS


def pack_int4(values: np.ndarray, container=np.uint8) -> np.ndarray:
    """Pack int4 values (any integer array, or ml_dtypes.int4) along the last axis, low nibble first.

    The last axis must be a multiple of ``nibbles_per(container)``; the result's last axis is that many
    times shorter. ``container`` is uint8 (packed INT4) or int32 (INT32 carrying 8 int4).
    """
    values = np.asarray(values)
    per = nibbles_per(container)
    if values.ndim == 0 or values.shape[-1] % per:
        raise ValueError(f"pack_int4: the last axis must be a multiple of {per}, got shape {values.shape}")
    v = values.astype(np.int8) if datatype_of(values.dtype) == DataType.INT4 else values
    if v.size and (v.min() < -8 or v.max() > 7):
        raise ValueError("pack_int4: values must lie in [-8, 7]")
    groups = (v.astype(np.uint64) & 0xF).reshape(*v.shape[:-1], v.shape[-1] // per, per)
    shifts = np.arange(per, dtype=np.uint64) * NIBBLE_BITS
    words = np.bitwise_or.reduce(groups << shifts, axis=-1)
    unsigned = np.dtype(container).newbyteorder("=").str.replace("i", "u")
    return words.astype(unsigned).view(container)


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """Inverse of ``pack_int4``: int8 values in [-8, 7], the last axis ``nibbles_per`` times longer."""
    packed = np.asarray(packed)
    per = nibbles_per(packed.dtype)
    shifts = np.arange(per, dtype=np.uint64) * NIBBLE_BITS
    unsigned = packed.view(packed.dtype.str.replace("i", "u")).astype(np.uint64)
    nib = ((unsigned[..., None] >> shifts) & 0xF).astype(np.int8)
    values = (nib ^ 8) - 8
    return values.reshape(*packed.shape[:-1], packed.shape[-1] * per) if packed.ndim else values.reshape(per)


def dst_type_code(dst_type) -> DataType:
    """1 / 27 / DataType / numpy.float16 / ml_dtypes.bfloat16 / "float16" / "bfloat16" -> DataType."""
    if isinstance(dst_type, (bool, np.bool_)):
        pass
    elif isinstance(dst_type, (int, np.integer)):
        if int(dst_type) in DST_TYPES:
            return DataType(int(dst_type))
    elif isinstance(dst_type, str):
        if DTYPE_NAMES.get(dst_type.lower()) in DST_TYPES:
            return DTYPE_NAMES[dst_type.lower()]
    elif isinstance(dst_type, (type, np.dtype)):  # a dtype or scalar type, not an array or a scalar value
        try:
            code = datatype_of(dst_type)
        except TypeError:
            code = None
        if code in DST_TYPES:
            return code
    raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                     f"dst_type: expected 1 / 'float16' / numpy.float16 or 27 / 'bfloat16' / ml_dtypes.bfloat16, "
                     f"got {dst_type!r}")
