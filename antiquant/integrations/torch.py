"""``npu_anti_quant``: torch_npu's API over CPU tensors, a registered torch operator computed by
``ascend_anti_quant`` without copies.

Signature and meaning follow torch_npu's documentation of ``torch_npu.npu_anti_quant`` (Ascend/op-plugin
``docs/context/torch_npu-npu_anti_quant.md``): ``out = quant((x + offset) * scale)``; x int8, int32 where each
value holds 8 int4 (y's last axis 8 times x's), or on Ascend 950 uint8 (HiFloat8), ``torch.float8_e4m3fn`` or
``torch.float8_e5m2``; scale 1-D float32/bfloat16 of size 1 or y's last dimension; offset optional, same dtype
and shape as scale; ``dst_dtype`` float16 (default) or bfloat16; non-contiguous tensors accepted.

The operator is ``torch.ops.antiquant.npu_anti_quant``, registered when this module is imported, with
torch_npu's schema plus ``platform`` (a keyword of ours: torch_npu reads the device's), and a fake kernel, so
``torch.compile(fullgraph=True)`` and ``torch.export`` trace through it. Like torch_npu's schema it takes
``dst_dtype`` and ``src_dtype`` as c10 ScalarType integers (or torch_npu's own codes, 256 + an aclDataType);
``npu_anti_quant`` turns torch dtypes into them, as torch_npu's Python binding does. Before the operator, both
kernels make op-plugin's checks (op_plugin/ops/opapi/AntiQuantKernelNpuOpApi.cpp, with torch_npu's
``c10_npu::GetAclDataType`` and ``ConvertToScalarType``), in its order, raising RuntimeError with its texts
(as torch_npu prints them in compact error mode: without the timestamped error-code line).

Tensors cross to numpy as views of the same memory (bfloat16 and the 8-bit floats through an integer view,
since numpy has no such dtypes of its own), and the result is written into a new torch tensor through a numpy
view, allocated once the call has been validated.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ..extras import install_hint

try:
    import torch
except ImportError:  # torch is an optional extra
    raise ImportError(f"antiquant.torch needs PyTorch: {install_hint('torch')}") from None

from ..core import api, launch
from ..core.dtypes import RAW_HIFLOAT8, AclnnError, DataType, Status, dst_type_code

__all__ = ["npu_anti_quant", "OP", "SCHEMA", "SCALAR_TYPE"]

SCHEMA = ("npu_anti_quant(Tensor x, Tensor scale, *, Tensor? offset=None, int? dst_dtype=None, int? src_dtype=None, "
          "str platform=\"Ascend910B\") -> Tensor")

# c10::ScalarType in enum order (torch/headeronly/core/ScalarType.h of torch 2.13), as c10::toString names it;
# the value is the enum's. Undefined and NumOptions follow; toString calls both "UNKNOWN_SCALAR".
_C10_NAMES = ("Byte Char Short Int Long Half Float Double ComplexHalf ComplexFloat ComplexDouble Bool QInt8 QUInt8 "
              "QInt32 BFloat16 QUInt4x2 QUInt2x4 Bits1x8 Bits2x4 Bits4x2 Bits8 Bits16 Float8_e5m2 Float8_e4m3fn "
              "Float8_e5m2fnuz Float8_e4m3fnuz UInt16 UInt32 UInt64 UInt1 UInt2 UInt3 UInt4 UInt5 UInt6 UInt7 Int1 "
              "Int2 Int3 Int4 Int5 Int6 Int7 Float8_e8m0fnu Float4_e2m1fn_x2").split()
_NUM_OPTIONS = len(_C10_NAMES) + 1
_PY_NAMES = ("uint8 int8 int16 int32 int64 float16 float32 float64 complex32 complex64 complex128 bool qint8 quint8 "
             "qint32 bfloat16 quint4x2 quint2x4 bits1x8 bits2x4 bits4x2 bits8 bits16 float8_e5m2 float8_e4m3fn "
             "float8_e5m2fnuz float8_e4m3fnuz uint16 uint32 uint64 uint1 uint2 uint3 uint4 uint5 uint6 uint7 int1 int2 "
             "int3 int4 int5 int6 int7 float8_e8m0fnu float4_e2m1fn_x2").split()
SCALAR_TYPE = {getattr(torch, name): code for code, name in enumerate(_PY_NAMES)}  # torch.float16 -> 5
_TORCH_NPU_OFFSET = 256   # c10_npu::g_toAclOffset: codes from 256 are 256 + an aclDataType (torch_npu.hifloat8...)
# aclDataType codes (acl_base.h) beyond antiquant's DataType that torch_npu's two tables name
_STRING, _COMPLEX64, _COMPLEX128, _UINT1, _COMPLEX32 = 13, 16, 17, 30, 33
_F8E8M0, _F6E3M2, _F6E2M3, _F4E2M1, _F4E1M2 = 37, 38, 39, 40, 41
# torch_npu CalcuOpUtil.cpp kATenScalarTypeToAclDataTypeTable: ScalarType name -> aclDataType (others undefined)
_TO_ACL = {"Byte": DataType.UINT8, "Char": DataType.INT8, "Short": DataType.INT16, "Int": DataType.INT32,
           "Long": DataType.INT64, "Half": DataType.FLOAT16, "Float": DataType.FLOAT, "Double": DataType.DOUBLE,
           "ComplexHalf": _COMPLEX32, "ComplexFloat": _COMPLEX64, "ComplexDouble": _COMPLEX128, "Bool": DataType.BOOL,
           "BFloat16": DataType.BF16, "Float8_e5m2": DataType.FLOAT8_E5M2, "Float8_e4m3fn": DataType.FLOAT8_E4M3FN,
           "UInt16": DataType.UINT16, "UInt32": DataType.UINT32, "UInt64": DataType.UINT64,
           "Float8_e8m0fnu": _F8E8M0, "Float4_e2m1fn_x2": _F4E2M1}
# the aclDataTypes torch_npu's ConvertToScalarType knows (CalcuOpUtil.cpp ACL_TYPE_TO_SCALAR_TYPE_MAP's keys)
_CONVERTIBLE = {*map(int, _TO_ACL.values()), _STRING, DataType.INT4, _UINT1, DataType.HIFLOAT8, _F6E3M2, _F6E2M3,
                _F4E1M2}
# op-plugin ANTI_QUANT_SUPPORT_MAP: x dtype -> the aclDataType x is read as
_X_ACL = {torch.uint8: DataType.HIFLOAT8, torch.int8: DataType.INT8, torch.int32: DataType.INT4,
          torch.float8_e4m3fn: DataType.FLOAT8_E4M3FN, torch.float8_e5m2: DataType.FLOAT8_E5M2}
_Y_DTYPE = {DataType.FLOAT16: torch.float16, DataType.BF16: torch.bfloat16}
# torch dtypes numpy lacks -> (the integer dtype a tensor is viewed as, the numpy dtype its bytes are read as)
_REREAD = {torch.bfloat16: (torch.int16, ml_dtypes.bfloat16), torch.uint8: (torch.uint8, RAW_HIFLOAT8),
           torch.float8_e4m3fn: (torch.uint8, ml_dtypes.float8_e4m3fn),
           torch.float8_e5m2: (torch.uint8, ml_dtypes.float8_e5m2)}


def _acl_data_type(code: int) -> int:
    """torch_npu's ``c10_npu::GetAclDataType(int64_t)``: 256 + an aclDataType, or a ScalarType (cast to int8)."""
    if code >= _TORCH_NPU_OFFSET:
        return code - _TORCH_NPU_OFFSET
    index = (code + 128) % 256 - 128   # static_cast<at::ScalarType>, an int8_t enum
    if not 0 <= index <= _NUM_OPTIONS:
        raise RuntimeError(f"data_type enum value ({index}) is out of range: [0, {_NUM_OPTIONS}]")
    name = _C10_NAMES[index] if index < len(_C10_NAMES) else "UNKNOWN_SCALAR"
    if name not in _TO_ACL:
        raise RuntimeError(f"{name} has not been supported")
    return int(_TO_ACL[name])


def _checked(x, scale, offset, dst_dtype, src_dtype) -> tuple[list[int], int]:
    """y's shape and aclDataType after op-plugin's own checks, in its order (both kernels make them)."""
    if x.dtype not in _X_ACL:
        raise RuntimeError("Input x must be int8, int32, hifloat8, float8_e5m2 or float8_e4m3fn")
    if src_dtype is not None:
        if x.dtype == torch.int32:
            if src_dtype != SCALAR_TYPE[torch.quint4x2] and _acl_data_type(src_dtype) != DataType.INT4:
                raise RuntimeError("The datatype of x is int32, src_dtype must be int4")
        elif _acl_data_type(src_dtype) != _X_ACL[x.dtype]:
            raise RuntimeError("The datatype of x must match src_dtype")
    if x.dtype not in (torch.int8, torch.int32) and (
            scale.dtype != torch.float32 or (offset is not None and offset.dtype != torch.float32)):
        raise RuntimeError("When x datatype is hifloat8, float8_e5m2 or float8_e4m3fn, scale_dtype and offset_dtype "
                           "is only support float")
    y_acl = _acl_data_type(SCALAR_TYPE[torch.float16] if dst_dtype is None else dst_dtype)
    if y_acl not in _CONVERTIBLE:   # ConvertToScalarType; a ScalarType it returns always has a name
        raise RuntimeError(f"aclDataType:{y_acl} has not been supported")
    shape = list(x.shape)
    if x.dtype == torch.int32:
        if not shape:
            raise RuntimeError("No supported for x is scalar when x dtype is int32")
        shape[-1] *= 8
    return shape, y_acl


def _as_numpy(name: str, t) -> np.ndarray:
    """A numpy view of a CPU tensor (strides kept); bfloat16, HiFloat8 and the 8-bit floats re-read."""
    if t.device.type != "cpu":
        raise TypeError(f"{name}: expected a CPU tensor, got one on {t.device}")
    t = t.detach()
    if t.dtype in _REREAD:
        view, reread = _REREAD[t.dtype]
        return t.view(view).numpy().view(reread)
    try:
        return t.numpy()
    except (TypeError, RuntimeError):
        raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                         f"{name}: expected int8, int32, float8, float32 or bfloat16, got {t.dtype}") from None


def _compute(x, scale, offset=None, dst_dtype=None, src_dtype=None, platform="Ascend910B"):
    """The CPU kernel: op-plugin's checks, then the operator on views of the tensors."""
    _, y_acl = _checked(x, scale, offset, dst_dtype, src_dtype)
    made = []

    def allocate(shape, dtype):
        """y as a torch tensor, called once the call is validated (``core.api.run``)."""
        try:
            made.append(torch.empty(shape, dtype=_Y_DTYPE[y_acl]))
        except RuntimeError:    # torch's CPU allocator reports a failed allocation so
            raise launch.out_of_memory("y", shape, dtype) from None
        return _as_numpy("y", made[0]), True

    api.run(_as_numpy("x", x), _as_numpy("scale", scale), None if offset is None else _as_numpy("offset", offset),
            _dst_type(y_acl, dst_dtype), False, None, platform, "cann", "fused", allocate, dst_name="dst_dtype")
    return made[0]


def _fake(x, scale, offset=None, dst_dtype=None, src_dtype=None, platform="Ascend910B"):
    """y's shape and dtype without data (torch_npu's meta kernel), refusing a dst_dtype the operator refuses."""
    shape, y_acl = _checked(x, scale, offset, dst_dtype, src_dtype)
    return x.new_empty(shape, dtype=_Y_DTYPE[_dst_type(y_acl, dst_dtype)])


def _dst_type(y_acl: int, dst_dtype) -> DataType:
    """The operator's dst_type for the aclDataType op-plugin made of ``dst_dtype``; a code the operator
    refuses is refused naming dst_dtype, the argument the caller passed."""
    try:
        return dst_type_code(y_acl)
    except AclnnError as err:
        given = next((t for t, code in SCALAR_TYPE.items() if code == dst_dtype), dst_dtype)  # the schema's int
        raise AclnnError(err.status, f"dst_dtype: expected torch.float16 or torch.bfloat16 (the operator's dst_type "
                                     f"FLOAT16 or BF16), got {given} (aclDataType {y_acl})") from None


def _register() -> None:
    """Define the op and bind this module's kernels; a reload first drops what the previous run registered."""
    global _LIB
    if "_LIB" in globals():
        _LIB._destroy()
    _LIB = torch.library.Library("antiquant", "FRAGMENT")  # holds the registrations while it lives
    try:
        torch._C._dispatch_find_schema_or_throw("antiquant::npu_anti_quant", "")
    except RuntimeError:   # not defined yet (a fresh import of an earlier copy of this module may have)
        _LIB.define(SCHEMA)
    _LIB.impl("npu_anti_quant", _compute, "CPU")
    torch.library.register_fake("antiquant::npu_anti_quant", _fake, lib=_LIB)


_register()
OP = torch.ops.antiquant.npu_anti_quant


def _scalar_type(name: str, dtype):
    """A dtype argument as torch_npu's binding passes it: a torch dtype becomes its c10 ScalarType code."""
    if dtype is None or (isinstance(dtype, int) and not isinstance(dtype, bool)):
        return dtype
    if isinstance(dtype, torch.dtype):
        return SCALAR_TYPE[dtype]
    raise TypeError(f"{name}: expected a torch.dtype, an int or None, got {type(dtype).__name__}")


def npu_anti_quant(x, scale, *, offset=None, dst_dtype=None, src_dtype=None, platform="Ascend910B"):
    """``quant((x + offset) * scale)`` into a new float16/bfloat16 tensor, bit-exact with the NPU operator on
    ``platform``, through ``torch.ops.antiquant.npu_anti_quant``. ``platform`` is a name, or a registered
    ``antiquant.platforms.Platform`` (the schema carries its name).

    Raises RuntimeError with op-plugin's text where op-plugin refuses the call, ``AclnnError`` (``.status``,
    CANN's code) where the operator would, whatever its size, TypeError for something that is not a CPU
    tensor, MemoryError naming y if a valid call's output cannot be allocated.
    """
    if x is None or scale is None:
        name = "x" if x is None else "scale"
        raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR, f"{name}: expected a tensor, got None")
    for name, t in (("x", x), ("scale", scale), ("offset", offset)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    return OP(x, scale, offset=offset, dst_dtype=_scalar_type("dst_dtype", dst_dtype),
              src_dtype=_scalar_type("src_dtype", src_dtype), platform=getattr(platform, "name", platform))
