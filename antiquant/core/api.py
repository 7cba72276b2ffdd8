"""``ascend_anti_quant``: the operator over numpy arrays, raising ``AclnnError`` where CANN returns a status.

It takes the executor's path (``core.launch``): arrays become ``AclTensor`` views, ``launch.prepare``
validates and plans, ``Launch.run`` runs the kernel into y. A repeated call described alike skips straight
to ``Launch.run`` through the launch cache.
"""

from __future__ import annotations

import numpy as np

from . import launch
from .dtypes import AclnnError, Status, dst_type_code, numpy_dtype_of
from .tensor import AclTensor
from .validation import check_apart, expected_y_shape

__all__ = ["ascend_anti_quant"]


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
    key = launch.signature(x, scale, offset, dst_type, sqrt_mode, out, platform, strategy, mode)
    known = launch.cached(key)
    if known is not None:
        bound, y_shape, y_dtype = known
        if out is None:
            y, fresh = launch.new_output(y_shape, y_dtype)
        else:
            y, fresh = check_apart(out, x, scale, offset, "out"), False
        bound.run(x, scale, offset, y, launch.thread_workspace(bound.workspace_size), fresh)
        return y
    xt = _tensor("x", x)
    st = _tensor("scale", scale)
    ot = _tensor("offset", offset, optional=True)
    dst = dst_type_code(dst_type)
    fresh = False
    if out is None:
        y, fresh = launch.new_output(expected_y_shape(xt), numpy_dtype_of(dst))
        yt = AclTensor.from_numpy(y)
    else:
        yt = _tensor("out", out)
    call, bound = launch.prepare(xt, st, ot, dst, sqrt_mode, yt, platform=platform, strategy=strategy, mode=mode,
                                 y_name="out")
    bound.run(xt.array, st.array, None if ot is None else ot.array, yt.array,
              launch.thread_workspace(bound.workspace_size), fresh)
    if key is not None:
        launch.remember(key, (bound, yt.shape, yt.array.dtype))
    return yt.array
