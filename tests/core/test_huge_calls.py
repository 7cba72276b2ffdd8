"""Validation before allocation, on every API layer: an enormous call is refused with its status and message, or,
valid but too big to allocate, raises MemoryError naming y, its shape and its bytes; nothing is allocated
first, nothing is written.

The inputs are broadcast views (one element of memory): a 200000 x 200000 int8 x is 40 GB to look at and
its float16 y 80 GB. Each refusal runs under tracemalloc, which numpy reports its allocations to, so a call
that allocated y (or any large buffer) before refusing fails on its peak.
"""

import re
import tracemalloc

import ml_dtypes
import numpy as np
import pytest

from antiquant import (AclnnError, AclTensor, DataType, Status, aclGetRecentErrMsg,
                       aclnnAscendAntiQuantGetWorkspaceSize, ascend_anti_quant)
from antiquant.core import launch
from antiquant.core.validation.common import MAX_BYTES, check_size

INVALID = Status.ACLNN_ERR_PARAM_INVALID
BIG = (200000, 200000)              # y: 8e10 bytes of float16, more than this machine (or CI) has
PAST_NUMPY = (2**31, 2**31)         # y: 2**63 bytes of float16, one past what numpy can address
PAST_MEMORY = (2**30, 2**31)        # y: 2**62 bytes of float16: a valid shape no machine can allocate
PEAK_LIMIT = 1 << 20                # bytes a refusal may allocate on its way (messages, stand-ins)


def huge(value, shape):
    return np.broadcast_to(value, shape)


@pytest.fixture(autouse=True, scope="module")
def warm():
    """Load what a first call loads (modules, kernels), so the peaks below count only the calls."""
    ascend_anti_quant(np.zeros((2, 8), np.int8), np.ones(1, np.float32))


def memory_error(name, nbytes, shape, dtype) -> str:
    return re.escape(f"{name}: cannot allocate {nbytes} bytes ({nbytes / 2**30:.1f} GiB) for shape {shape} of {dtype}")


def refused_without_allocating(call, error=AclnnError):
    """``call``'s error; it must come before anything the size of a large output was allocated."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as caught:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{peak} bytes allocated before the refusal: {caught.value}"
    return caught.value


def test_200000x200000_x_with_a_5_element_scale_is_refused_for_its_scale_not_its_size():
    err = refused_without_allocating(lambda: ascend_anti_quant(huge(np.int8(1), BIG), np.ones(5, np.float32)))
    assert err.status == INVALID and "scale: expected size 1 or y's last dimension 200000, got 5" in str(err)


@pytest.mark.parametrize("scale_size", [1, 5])
def test_a_2_31_x_2_31_y_past_numpy_s_2_63_byte_limit_is_an_invalid_shape(scale_size):
    err = refused_without_allocating(
        lambda: ascend_anti_quant(huge(np.int8(1), PAST_NUMPY), np.ones(scale_size, np.float32)))
    assert err.status == INVALID
    assert f"y: shape {PAST_NUMPY} of float16 would be {2**63} bytes, more than numpy can address" in str(err)


def test_an_int32_x_whose_8x_wider_y_is_past_2_63_bytes_is_an_invalid_shape():
    err = refused_without_allocating(
        lambda: ascend_anti_quant(huge(np.int32(1), (2**28, 2**31)), np.ones(1, np.float32)))
    assert err.status == INVALID and f"y: shape {(2**28, 2**34)} of float16 would be {2**63} bytes" in str(err)


@pytest.mark.parametrize("call, message", [
    (lambda: ascend_anti_quant(huge(np.zeros((), ml_dtypes.int4), BIG), np.ones(1, np.float32)),
     "x: an INT4 tensor must be contiguous"),
    (lambda: ascend_anti_quant(huge(np.int8(1), BIG), np.ones(1, np.float32), dst_type=27, sqrt_mode=1),
     "sqrtMode: expected a bool"),
    (lambda: ascend_anti_quant(huge(np.int8(1), BIG), np.ones(BIG[-1], np.float16)), "scale: expected dtype in"),
    (lambda: ascend_anti_quant(huge(np.int8(1), BIG), np.ones(1, np.float32), platform="Ascend310P",
                               dst_type=27), "dst_type: expected dtype in {FLOAT16} on Ascend310P"),
], ids=["strided int4", "sqrt_mode", "scale dtype", "y dtype on 310P"])
def test_every_refusal_of_a_200000x200000_call_comes_before_y(call, message):
    err = refused_without_allocating(call)
    assert err.status == INVALID and message in str(err), str(err)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mode="fast"), ValueError, "mode: expected 'fused' or 'ub', got 'fast'"),
    (dict(strategy=3), TypeError, "strategy: expected a name"),
    (dict(platform="Ascend999"), ValueError, "platform: unknown platform 'Ascend999'"),
])
def test_antiquant_s_own_options_of_a_200000x200000_call_are_refused_before_y(kwargs, error, message):
    err = refused_without_allocating(
        lambda: ascend_anti_quant(huge(np.int8(1), BIG), np.ones(1, np.float32), **kwargs), error)
    assert str(err).startswith(message), str(err)


def test_a_valid_call_whose_2_62_byte_y_cannot_be_allocated_raises_memory_error_naming_y():
    x = huge(np.int8(1), PAST_MEMORY)
    with pytest.raises(MemoryError, match=f"^{memory_error('y', 2**62, PAST_MEMORY, 'float16')}$"):
        ascend_anti_quant(x, np.ones(1, np.float32))


def test_a_cached_call_and_a_large_workspace_report_memory_alike():
    """The launch cache's fast path allocates through ``new_output`` too; the workspace names itself."""
    with pytest.raises(MemoryError, match=f"^{memory_error('y', 2**62, PAST_MEMORY, 'bfloat16')}$"):
        launch.new_output(PAST_MEMORY, np.dtype(ml_dtypes.bfloat16))
    with pytest.raises(MemoryError, match=f"^{memory_error('workspace', 2**62, (2**62,), 'uint8')}$"):
        launch.thread_workspace(2**62)


def test_the_two_phase_api_refuses_a_200000x200000_call_with_its_status_and_allocates_nothing():
    x = AclTensor.from_numpy(huge(np.int8(1), BIG))
    y = AclTensor.from_numpy(huge(np.float16(0), BIG))            # a stand-in: read-only, no memory
    tracemalloc.start()
    try:
        size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
            x, AclTensor.from_numpy(np.ones(5, np.float32)), None, 1, False, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (size, executor, status) == (0, None, INVALID) and peak < PEAK_LIMIT
    assert aclGetRecentErrMsg().endswith("scale: expected size 1 or y's last dimension 200000, got 5")


def test_torch_refuses_before_torch_empty_and_names_y_when_it_cannot_allocate():
    torch = pytest.importorskip("torch")
    from antiquant.torch import npu_anti_quant
    err = refused_without_allocating(lambda: npu_anti_quant(torch.ones(1, dtype=torch.int8).expand(*BIG),
                                                            torch.ones(5)))
    assert err.status == INVALID and "scale: expected size 1 or y's last dimension 200000, got 5" in str(err)
    err = refused_without_allocating(lambda: npu_anti_quant(torch.ones(1, dtype=torch.int32).expand(2**28, 2**31),
                                                            torch.ones(1)))
    assert err.status == INVALID and f"y: shape {(2**28, 2**34)} of float16 would be {2**63} bytes" in str(err)
    with pytest.raises(MemoryError, match=f"^{memory_error('y', 2**62, PAST_MEMORY, 'float16')}$"):
        npu_anti_quant(torch.ones(1, dtype=torch.int8).expand(*PAST_MEMORY), torch.ones(1))


@pytest.mark.parametrize("shape, dtype, message", [
    ((2**40, 2**40), np.int8, f"x: shape {(2**40, 2**40)} has a dimension or an element count ({2**80}) past "
                              "CANN's int64 sizes"),
    (PAST_NUMPY, np.int8, f"y: shape {PAST_NUMPY} of float16 would be {2**63} bytes, more than numpy can address"),
])
def test_dask_refuses_arrays_no_block_could_describe_as_invalid_shapes(shape, dtype, message):
    da = pytest.importorskip("dask.array")
    from antiquant.dask import ascend_anti_quant as dask_anti_quant
    x = da.zeros(shape, dtype=dtype, chunks=(2**30, 2**30))
    with pytest.raises(AclnnError) as err:
        dask_anti_quant(x, np.ones(1, np.float32))
    assert err.value.status == INVALID and message in str(err.value), str(err.value)


@pytest.mark.parametrize("shape", [(2**63, 0), (2**62, 0, 4), (2**32, 2**32)])
def test_packed_int4_shapes_past_int64_are_refused_not_wrapped(shape):
    """numpy's int64 product of (2**32, 2**32) wraps to 0 and matched an empty byte array."""
    with pytest.raises(ValueError, match=r"^AclTensor\.from_numpy: (INT4 shape .* is too large|0 packed bytes)"):
        AclTensor.from_numpy(np.zeros(0, np.uint8), dtype=DataType.INT4, shape=shape)


def test_size_limits_are_numpy_s_even_for_empty_shapes():
    fits, too_big = (2**61, 0, 1), (2**61, 0, 2)       # 2**62 and 2**63 bytes of float16, zeros aside
    check_size("y", fits, np.float16)
    np.empty(fits, np.float16)
    with pytest.raises(AclnnError, match=re.escape(f"y: shape {too_big} of float16 would be {2**63} bytes")):
        check_size("y", too_big, np.float16)
    with pytest.raises(ValueError, match="array is too big"):
        np.empty(too_big, np.float16)
    assert MAX_BYTES == np.iinfo(np.intp).max
