"""``ascend_anti_quant``: the operator over numpy arrays, raising ``AclnnError`` where CANN returns a status."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from .aclnn import prepare
from .dtypes import AclnnError, DataType, Status, numpy_dtype_of
from .tensor import AclTensor
from .validation import expected_y_shape

__all__ = ["ascend_anti_quant", "dst_type_code"]

_DST_ALIASES = {
    "float16": DataType.FLOAT16, "fp16": DataType.FLOAT16, "half": DataType.FLOAT16,
    "bfloat16": DataType.BF16, "bf16": DataType.BF16,
    np.dtype(np.float16): DataType.FLOAT16, np.dtype(ml_dtypes.bfloat16): DataType.BF16,
}


def dst_type_code(dst_type) -> DataType:
    """1 / 27 / DataType / numpy.float16 / ml_dtypes.bfloat16 / "float16" / "bfloat16" -> DataType."""
    if isinstance(dst_type, (bool, np.bool_)):
        pass
    elif isinstance(dst_type, (int, np.integer)):
        if int(dst_type) in (DataType.FLOAT16, DataType.BF16):
            return DataType(int(dst_type))
    elif isinstance(dst_type, str):
        if dst_type.lower() in _DST_ALIASES:
            return _DST_ALIASES[dst_type.lower()]
    elif isinstance(dst_type, (type, np.dtype)):  # a dtype or scalar type, not an array or a scalar value
        try:
            dtype = np.dtype(dst_type)
        except TypeError:
            dtype = None
        if dtype in _DST_ALIASES:
            return _DST_ALIASES[dtype]
    raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                     f"dst_type: expected 1 / 'float16' / numpy.float16 or 27 / 'bfloat16' / ml_dtypes.bfloat16, "
                     f"got {dst_type!r}")


def _tensor(name: str, value, *, optional: bool = False) -> AclTensor | None:
    if value is None:
        if optional:
            return None
        raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR, f"{name}: expected a numpy array, got None")
    if isinstance(value, AclTensor):
        return value
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(value).__name__}; "
                        f"convert it with numpy.asarray(..., dtype=...) first")
    try:
        return AclTensor.from_numpy(value)
    except TypeError as err:
        raise TypeError(f"{name}: {err}") from None


def ascend_anti_quant(x, scale, offset=None, *, dst_type=1, sqrt_mode=False, out=None, platform="Ascend910B",
                      strategy="cann", mode="fused") -> np.ndarray:
    """``y = cast((x + offset) * scale)`` (``scale * scale`` when ``sqrt_mode``), bit-exact with CANN.

    x: int8, int32 (8 int4 per word, low nibble first), ml_dtypes.int4, or an ``AclTensor`` (e.g. packed
    INT4). scale/offset: 1-D float32 or ml_dtypes.bfloat16, size 1 or y's last dimension. Returns a new
    float16 / bfloat16 array, or fills and returns ``out``. Raises ``AclnnError`` (``.status``) on input
    CANN would refuse; nothing is written then. ``strategy`` (a name from ``antiquant.tiling.STRATEGIES`` or a
    ``tiling.Strategy``) picks the tile plan; ``mode="ub"`` stages every tile through per-core UB scratch.
    """
    xt = _tensor("x", x)
    st = _tensor("scale", scale)
    ot = _tensor("offset", offset, optional=True)
    dst = dst_type_code(dst_type)
    if out is None:
        y = np.empty(expected_y_shape(xt), numpy_dtype_of(dst))
        yt = AclTensor.from_numpy(y)
    else:
        yt = _tensor("out", out)
    executor = prepare(xt, st, ot, dst, sqrt_mode, yt, platform=platform, strategy=strategy, mode=mode,
                       y_name="out")
    workspace = np.empty(executor.workspace_size, np.uint8) if executor.workspace_size else None
    executor.launch(workspace, executor.workspace_size)
    executor.run(workspace)
    return yt.array
