"""``ascend_anti_quant``: the operator over numpy arrays, raising ``AclnnError`` where CANN returns a status.

It takes the executor's path (``core.launch``): arrays become ``AclTensor`` views, ``launch.prepare``
validates and plans, ``Launch.run`` runs the kernel into y. A repeated call described alike skips straight
to ``Launch.run`` through the launch cache. Without ``out``, y is allocated only once the call has passed
every check that can be made without it, so an invalid call is refused whatever its size.
"""

from __future__ import annotations

import numpy as np

from . import launch
from .dtypes import AclnnError, Status, dst_type_code, numpy_dtype_of
from .tensor import AclTensor
from .validation import check_apart, check_description, expected_y_shape
from .validation.common import check_layout, check_tensors_are_tensors, stand_in

__all__ = ["ascend_anti_quant", "run"]


# The dtype a hint suggests converting each input to (CANN's most common ones); ``out`` is never converted.
HINT_DTYPES = {"x": "int8", "scale": "float32", "offset": "float32"}


def _tensor(name: str, value, *, optional: bool = False) -> AclTensor | None:
    if value is None:
        if optional:
            return None
        raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR, f"{name}: expected a numpy array, got None")
    if isinstance(value, AclTensor):
        return value
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(value).__name__}; {_conversion_hint(name, value)}")
    try:
        return AclTensor.from_numpy(value)
    except TypeError as err:
        raise TypeError(f"{name}: {err}") from None


def _conversion_hint(name: str, value) -> str:
    """What to pass instead of ``value``, a call that then runs: its own API for a torch tensor, a 1-element
    array for a scalar scale (a 0-d one is refused), an array of the operator's dtype for a list."""
    if type(value).__module__.partition(".")[0] == "torch":
        return "for torch tensors use antiquant.torch.npu_anti_quant"
    dtype = HINT_DTYPES.get(name)
    if dtype is None:
        return "pass a numpy array of y's shape and dtype (numpy.float16 or ml_dtypes.bfloat16)"
    if name != "x" and np.ndim(value) == 0:
        return f"one {name} for the whole tensor is a 1-element array: numpy.full(1, {name}, dtype=numpy.{dtype})"
    return f"convert it with numpy.asarray({name}, dtype=numpy.{dtype})"


def ascend_anti_quant(x, scale, offset=None, *, dst_type=1, sqrt_mode=False, out=None, platform="Ascend910B",
                      strategy="cann", mode="fused") -> np.ndarray:
    """``y = cast((x + offset) * scale)`` (``scale * scale`` when ``sqrt_mode``), bit-exact with CANN.

    x: int8, int32 (8 int4 per word, low nibble first), ml_dtypes.int4, or an ``AclTensor`` (e.g. packed
    INT4). scale/offset: 1-D float32 or ml_dtypes.bfloat16, size 1 or y's last dimension. Returns a new
    float16 / bfloat16 array, or fills and returns ``out``. Raises ``AclnnError`` (``.status``) on input
    CANN would refuse, whatever its size; nothing is written then. A valid call whose y (or workspace)
    cannot be allocated raises MemoryError naming it, its shape and its bytes. ``strategy`` (a name from
    ``antiquant.tiling.STRATEGIES`` or a ``tiling.Strategy``) picks the tile plan; ``mode="ub"`` stages every
    tile through per-core UB scratch.
    """
    return run(x, scale, offset, dst_type, sqrt_mode, out, platform, strategy, mode, launch.new_output)


def run(x, scale, offset, dst_type, sqrt_mode, out, platform, strategy, mode, allocate,
        dst_name: str = "dst_type") -> np.ndarray:
    """``ascend_anti_quant``, whose y (when ``out`` is None) comes from ``allocate(shape, dtype)``, which
    returns it and whether its memory is fresh (``launch.new_output``'s contract); adapters pass their own,
    and the name their callers gave the destination dtype (``dst_name``: torch_npu's is dst_dtype)."""
    key = launch.signature(x, scale, offset, dst_type, sqrt_mode, out, platform, strategy, mode)
    known = launch.cached(key)
    if known is not None:
        bound, y_shape, y_dtype = known
        if out is None:
            y, fresh = allocate(y_shape, y_dtype)
        else:
            y, fresh = check_apart(out, x, scale, offset, "out"), False
        bound.run(x, scale, offset, y, launch.thread_workspace(bound.scratch_size), fresh)
        return y
    xt = _tensor("x", x)
    st = _tensor("scale", scale)
    ot = _tensor("offset", offset, optional=True)
    dst = dst_type_code(dst_type)
    fresh = False
    if out is None:
        shape, dtype = _check_before_allocating(xt, st, ot, dst, sqrt_mode, platform, strategy, mode, dst_name)
        y, fresh = allocate(shape, dtype)
        yt, y_name = AclTensor.from_numpy(y), "y"
    else:
        yt, y_name = _tensor("out", out), "out"
    call, bound = launch.prepare(xt, st, ot, dst, sqrt_mode, yt, platform=platform, strategy=strategy, mode=mode,
                                 y_name=y_name)
    bound.run(xt.array, st.array, None if ot is None else ot.array, yt.array,
              launch.thread_workspace(bound.scratch_size), fresh)
    if key is not None:
        launch.remember(key, (bound, yt.shape, yt.array.dtype))
    return yt.array


def _check_before_allocating(xt, st, ot, dst, sqrt_mode, platform, strategy, mode,
                             dst_name: str) -> tuple[tuple, np.dtype]:
    """y's shape and dtype, once the call has passed, in ``launch.prepare``'s order, every check that does
    not read y's memory, on a stand-in y: what is left (y writable and apart from the inputs) holds for a y
    not allocated yet. Refusals name y (the result) and ``dst_name`` (its dtype): the caller passed no out."""
    profile, _ = launch.check_options(platform, strategy, mode)
    check_tensors_are_tensors(x=xt, scale=st, offset=ot)
    dtype = numpy_dtype_of(dst)
    y = stand_in("y", dtype, expected_y_shape(xt))
    check_description(xt, st, ot, dst, sqrt_mode, y, profile, "y", dst_name=dst_name)
    check_layout(xt, y, "y")
    return y.shape, dtype
