"""The operator over Dask arrays, and one task per item on a ``dask.distributed`` cluster.

``ascend_anti_quant`` validates at once (shapes and dtypes only, no data) and returns a lazy array whose
blocks are computed by the numpy operator on whatever scheduler is active, a distributed cluster included.
Blocks may split any axis: a per-channel scale (and offset) becomes a Dask array chunked like y's last
axis, a per-head one (Ascend 950: along x's axis -2) or a multi-dimensional one a Dask array of y's rank chunked
like y on its one non-1 axis, so each block receives exactly its slice, in a form that means the same to the
block (a per-head slice travels as ``[1, ..., n, 1]``: a 1-D one could read as per channel in a square block).
"""

from __future__ import annotations

import threading

import ml_dtypes
import numpy as np

from ..extras import install_hint

try:
    import dask.array as da
except ImportError:  # dask is an optional extra
    raise ImportError(f"antiquant.dask needs Dask: {install_hint('dask')}") from None

from ..core import api, platforms
from ..tiling import RegbaseMode
from ..tiling.arch35 import select_mode
from ..core.dtypes import AclnnError, Status, dst_type_code, numpy_dtype_of
from ..core.tensor import AclTensor
from ..core.validation import check_description, expected_y_shape
from ..core.validation.common import stand_in

__all__ = ["ascend_anti_quant", "run_on_cluster"]

# Blocks run one at a time per process: a block's kernel uses every core already, and Dask's threaded
# scheduler would run one per core at once. (Concurrent calls are safe on every threading layer without it:
# ``core.threads`` serialises parallel kernels where the layer needs it.)
_KERNEL_LOCK = threading.Lock()


def _block(x, scale, offset, **kw):
    if x.dtype == ml_dtypes.int4:  # a block cut from an int4 array may be strided; the operator wants it whole
        x = np.ascontiguousarray(x)
    with _KERNEL_LOCK:
        return api.ascend_anti_quant(x, scale, offset, **kw)


def _check(x, scale, offset, dst, sqrt_mode, platform):
    """Validation (docs/spec.md section 3) on stand-ins shaped like the real arrays; raises AclnnError as the
    numpy API would."""
    if not isinstance(scale, np.ndarray) or (offset is not None and not isinstance(offset, np.ndarray)):
        raise TypeError("scale/offset: expected numpy arrays (they are small and travel with every task)")
    xt = stand_in("x", x.dtype, x.shape)
    yt = stand_in("y", numpy_dtype_of(dst), expected_y_shape(xt))
    st = AclTensor.from_numpy(scale)
    ot = None if offset is None else AclTensor.from_numpy(offset)
    # layout is each block's own business (see _block)
    check_description(xt, st, ot, dst, sqrt_mode, yt, platforms.get(platform), dst_name="dst_type")


def ascend_anti_quant(x, scale, offset=None, *, dst_type=1, sqrt_mode=False, platform="Ascend910B",
                      strategy="cann"):
    """``antiquant.ascend_anti_quant`` chunk by chunk: a lazy ``dask.array.Array`` of float16/bfloat16.

    x: a Dask array (or anything ``dask.array.asarray`` takes) of int8, int32 (8 int4 per word) or
    ml_dtypes.int4, at least 1-D; scale/offset: numpy arrays as for the numpy API.
    """
    x = da.asarray(x)
    if x.ndim == 0:
        raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "x: expected at least one dimension for the Dask "
                         "adapter, got a 0-d array; use antiquant.ascend_anti_quant")
    dst = dst_type_code(dst_type)
    _check(x, scale, offset, dst, sqrt_mode, platform)
    ratio = 8 if x.dtype == np.int32 else 1  # int32 words carry 8 int4 each
    last = tuple(c * ratio for c in x.chunks[-1])
    chunks = (*x.chunks[:-1], last)
    kw = dict(dst_type=dst, sqrt_mode=sqrt_mode, platform=platform, strategy=strategy)
    if scale.size != 1:
        scale, offset = (None if a is None else _chunked_like(a, chunks) for a in (scale, offset))
    return da.map_blocks(_block, x, scale, offset, chunks=chunks, dtype=numpy_dtype_of(dst),
                         token="ascend_anti_quant", **kw)


def _chunked_like(values: np.ndarray, chunks: tuple) -> "da.Array":
    """A validated multi-value scale (or offset) as a Dask array whose blocks align with y's ``chunks``: 1-D
    along y's last axis (per channel), else of y's rank with its one non-1 axis (-1, or -2 per head) chunked
    like y there (docs/spec.md section 8.3.3 says which axis a scale runs along)."""
    rank = len(chunks)
    per_head = select_mode(tuple(sum(c) for c in chunks), values.shape) == RegbaseMode.PER_HEAD
    if values.ndim == 1 and not per_head:
        return da.from_array(values, chunks=(chunks[-1],))
    axis = -2 if values.ndim == 1 or values.shape[-2] != 1 else -1
    full = [1] * rank
    full[axis] = values.size
    return da.from_array(values.reshape(full), chunks=tuple(chunks[a] if full[a] != 1 else (1,)
                                                          for a in range(rank)))


def run_on_cluster(address: str, function, items, *args, on_done=None, timeout: float = 30) -> list:
    """``[function(item, *args) for item in items]``, one task per item on the scheduler at ``address``.

    Results come back in order; ``on_done(result)`` is called as each finishes. The first failure is
    raised here (its original exception) after the remaining tasks are cancelled.
    """
    from distributed import Client, as_completed

    with Client(address, timeout=timeout, set_as_default=False) as client:
        futures = client.map(function, items, *[[a] * len(items) for a in args], pure=False)
        try:
            for future in as_completed(futures, loop=client.loop):
                result = future.result()
                if on_done is not None:
                    on_done(result)
        except BaseException:
            client.cancel(futures)
            raise
        return [future.result() for future in futures]
