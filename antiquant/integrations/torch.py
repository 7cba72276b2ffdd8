"""``npu_anti_quant``: torch_npu's API over CPU tensors, computed by ``ascend_anti_quant`` without copies.

Signature and meaning follow torch_npu's documentation of ``torch_npu.npu_anti_quant`` (Ascend/op-plugin
``docs/context/torch_npu-npu_anti_quant.md``): ``out = quant((x + offset) * scale)``; x int8, or int32
where each value holds 8 int4 (``src_dtype=torch.quint4x2``); scale 1-D float32/bfloat16 of size 1 or y's
last dimension; offset optional, same dtype and shape as scale; ``dst_dtype`` float16 (default) or bfloat16;
non-contiguous tensors accepted. The dtype pairing of x and ``src_dtype`` and the refusal of a 0-d int32 x
follow op-plugin's ``npu_anti_quant`` (op_api), which widens the int32 output's last axis 8 times.

On an Ascend 950 platform (``platform="Ascend950PR"``, a keyword of ours: torch_npu takes the device's) x may
also be ``torch.float8_e4m3fn`` or ``torch.float8_e5m2`` (``src_dtype`` None or x's own dtype), with the
scale rules of docs/spec.md section 8.2: a FLOAT scale, per tensor, per channel or per head.

Tensors cross to numpy as views of the same memory (bfloat16 and the 8-bit floats through an integer view,
since numpy has no such dtypes of its own), and the result is written into a new torch tensor through a numpy
view, allocated once the call has been validated.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

try:
    import torch
except ImportError:  # torch is an optional extra
    raise ImportError("antiquant.torch needs PyTorch: pip install 'antiquant[torch]'") from None

from ..core import api, launch
from ..core.dtypes import DST_TYPES, NAMES, AclnnError, Status

__all__ = ["npu_anti_quant"]

_DST = {getattr(torch, NAMES[dt].name): dt for dt in DST_TYPES}  # torch.float16 -> FLOAT16, torch.bfloat16 -> BF16
# x dtype -> the src_dtype torch_npu pairs with it (None is always accepted); the 8-bit floats pair with
# themselves (antiquant's choice, docs/spec.md section 9: torch_npu documents no 8-bit float x yet).
_SRC = {torch.int8: torch.int8, torch.int32: torch.quint4x2,
        torch.float8_e4m3fn: torch.float8_e4m3fn, torch.float8_e5m2: torch.float8_e5m2}
# torch dtypes numpy lacks -> (the integer dtype a tensor is viewed as, the numpy dtype its bytes are read as)
_REREAD = {torch.bfloat16: (torch.int16, ml_dtypes.bfloat16),
           torch.float8_e4m3fn: (torch.uint8, ml_dtypes.float8_e4m3fn),
           torch.float8_e5m2: (torch.uint8, ml_dtypes.float8_e5m2)}


def _invalid(message: str) -> AclnnError:
    return AclnnError(Status.ACLNN_ERR_PARAM_INVALID, message)


def _as_numpy(name: str, t) -> np.ndarray:
    """A numpy view of a CPU tensor (strides kept); bfloat16 and the 8-bit floats re-read as ml_dtypes'."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise TypeError(f"{name}: expected a CPU tensor, got one on {t.device}")
    t = t.detach()
    if t.dtype in _REREAD:
        view, reread = _REREAD[t.dtype]
        return t.view(view).numpy().view(reread)
    try:
        return t.numpy()
    except (TypeError, RuntimeError):
        raise _invalid(f"{name}: expected int8, int32, float8, float32 or bfloat16, got {t.dtype}") from None


def npu_anti_quant(x, scale, *, offset=None, dst_dtype=None, src_dtype=None, platform="Ascend910B"):
    """``quant((x + offset) * scale)`` into a new float16/bfloat16 tensor, bit-exact with the NPU operator on
    ``platform`` (a name or ``antiquant.platforms.Platform``).

    Raises ``AclnnError`` (``.status``, CANN's code) where the operator would refuse the call, whatever its
    size, TypeError for something that is not a CPU tensor, MemoryError naming y if a valid call's output
    cannot be allocated.
    """
    if x is None or scale is None:
        name = "x" if x is None else "scale"
        raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR, f"{name}: expected a tensor, got None")
    if isinstance(x, torch.Tensor) and x.dtype not in _SRC:
        raise _invalid(f"x: expected dtype torch.int8, torch.int32 (8 int4 per value), or on Ascend 950 "
                       f"torch.float8_e4m3fn / torch.float8_e5m2, got {x.dtype}")
    xa = _as_numpy("x", x)
    if src_dtype is not None and src_dtype != _SRC[x.dtype]:
        raise _invalid(f"src_dtype: expected {_SRC[x.dtype]} (or None) for x of dtype {x.dtype}, got {src_dtype}")
    if x.dtype == torch.int32 and x.dim() == 0:
        raise _invalid("x: an int32 x (8 int4 per value) needs at least one dimension, got a 0-d tensor")
    dst = torch.float16 if dst_dtype is None else dst_dtype
    if dst not in _DST:
        raise _invalid(f"dst_dtype: expected torch.float16 or torch.bfloat16, got {dst_dtype}")
    sa = _as_numpy("scale", scale)
    oa = None if offset is None else _as_numpy("offset", offset)
    made = []

    def allocate(shape, dtype):
        """y as a torch tensor, called once the call is validated (``core.api.run``)."""
        try:
            made.append(torch.empty(shape, dtype=dst))
        except RuntimeError:    # torch's CPU allocator reports a failed allocation so
            raise launch.out_of_memory("y", shape, dtype) from None
        return _as_numpy("y", made[0]), True

    api.run(xa, sa, oa, _DST[dst], False, None, platform, "cann", "fused", allocate)
    return made[0]
