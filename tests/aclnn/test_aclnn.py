"""The two-phase API (docs/spec.md section 4): workspace, executors, streams."""

import threading

import ml_dtypes
import numpy as np
import pytest

from antiquant import (AclTensor, Status, Stream, aclGetRecentErrMsg, aclnnAscendAntiQuant,
                       aclnnAscendAntiQuantGetWorkspaceSize, aclSetAclOpExecutorRepeatable, reference)
from conftest import assert_same_bits

MIB16 = 16 << 20
T = AclTensor.from_numpy


def problem(shape=(64, 96), seed=0, y=None):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    scale = rng.random(shape[-1]).astype(np.float32)
    offset = rng.random(shape[-1]).astype(np.float32)
    y = np.zeros(shape, ml_dtypes.bfloat16) if y is None else y
    return x, scale, offset, y


def get(x, scale, offset, y, sqrt_mode=False):
    return aclnnAscendAntiQuantGetWorkspaceSize(T(x), T(scale), None if offset is None else T(offset), 27, sqrt_mode, T(y))


def test_workspace_sizes():
    x, s, o, y = problem()
    size, executor, status = get(x, s, o, y)
    assert status == Status.ACLNN_SUCCESS and size == MIB16 and executor.staged == ()
    assert executor.plan.strategy == "cann"
    # bf16 scale is converted into the workspace; a strided x and y are staged there, 512-byte aligned
    big_y = np.zeros((64, 192), ml_dtypes.bfloat16)
    size, executor, _ = get(x[:, ::-1], s.astype(ml_dtypes.bfloat16), o.astype(ml_dtypes.bfloat16), big_y[:, ::2])
    assert executor.staged == ("x", "y")
    assert size == MIB16 + 512 + 512 + 64 * 96 + 64 * 96 * 2
    size, executor, _ = get(np.zeros((0, 96), np.int8), s, o, np.zeros((0, 96), ml_dtypes.bfloat16))
    assert size == 0


def test_run_synchronously_matches_reference():
    x, s, o, y = problem()
    size, executor, _ = get(x, s, o, y, sqrt_mode=True)
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, s, o, dst_type=27, sqrt_mode=True))


def test_staged_run_matches_reference_and_keeps_user_arrays():
    x, s, o, _ = problem((30, 40))
    out_big = np.full((30, 80), 5, ml_dtypes.bfloat16)
    y = out_big[:, ::2]
    size, executor, _ = get(x.T.copy().T, s[::-1], o, y)
    workspace = bytearray(size)
    assert aclnnAscendAntiQuant(workspace, size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, s[::-1], o, dst_type=27))
    assert (out_big[:, 1::2].astype(np.float32) == 5).all()


def test_short_workspace_is_refused_and_nothing_written():
    x, s, o, y = problem()
    size, executor, _ = get(x, s, o, y)
    assert aclnnAscendAntiQuant(np.empty(size - 1, np.uint8), size, executor, None) == Status.ACLNN_ERR_PARAM_INVALID
    assert "workspace: expected at least" in aclGetRecentErrMsg()
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size - 1, executor, None) == Status.ACLNN_ERR_PARAM_INVALID
    assert aclnnAscendAntiQuant(None, size, executor, None) == Status.ACLNN_ERR_PARAM_NULLPTR
    assert aclnnAscendAntiQuant(bytes(size), size, executor, None) == Status.ACLNN_ERR_PARAM_INVALID
    assert not y.view(np.uint16).any()
    # the refused launches did not spend the executor
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS


def test_executor_runs_once_unless_repeatable():
    x, s, o, y = problem()
    size, executor, _ = get(x, s, o, y)
    ws = np.empty(size, np.uint8)
    assert aclnnAscendAntiQuant(ws, size, executor, None) == Status.ACLNN_SUCCESS
    y[...] = 0
    assert aclnnAscendAntiQuant(ws, size, executor, None) == Status.ACLNN_ERR_PARAM_INVALID
    assert "already run" in aclGetRecentErrMsg()
    assert not y.view(np.uint16).any()
    assert aclSetAclOpExecutorRepeatable(executor) == Status.ACLNN_SUCCESS
    for _ in range(3):
        assert aclnnAscendAntiQuant(ws, size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, s, o, dst_type=27))


def test_bad_executor_and_stream():
    assert aclnnAscendAntiQuant(None, 0, None, None) == Status.ACLNN_ERR_PARAM_NULLPTR
    x, s, o, y = problem()
    size, executor, _ = get(x, s, o, y)
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, "stream") == Status.ACLNN_ERR_PARAM_INVALID
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS


def test_stream_runs_in_order_and_synchronize_waits():
    stream = Stream()
    x, s, o, _ = problem((256, 512))
    outputs = []
    for k in range(6):
        y = np.zeros((256, 512), ml_dtypes.bfloat16)
        size, executor, _ = get(x, s * (k + 1), o, y)
        assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream) == Status.ACLNN_SUCCESS
        outputs.append((k, y))
    assert stream.synchronize() == Status.ACLNN_SUCCESS
    for k, y in outputs:
        assert_same_bits(y, reference.anti_quant(x, s * (k + 1), o, dst_type=27))
    assert stream.close() == Status.ACLNN_SUCCESS


def test_stream_failure_is_reported_once_and_does_not_poison():
    stream = Stream()
    order = []
    stream.submit(lambda: order.append(1))
    stream.submit(lambda: 1 / 0)
    stream.submit(lambda: order.append(3))
    assert stream.synchronize() == Status.ACLNN_ERR_RUNTIME_ERROR
    assert "ZeroDivisionError" in aclGetRecentErrMsg()
    assert order == [1, 3]
    x, s, o, y = problem()
    size, executor, _ = get(x, s, o, y)
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream) == Status.ACLNN_SUCCESS
    assert stream.synchronize() == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, s, o, dst_type=27))
    stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.submit(lambda: None)


def test_streams_fed_from_threads():
    streams = [Stream() for _ in range(3)]
    x, s, o, _ = problem((128, 256))
    expected = reference.anti_quant(x, s, o, dst_type=27)
    results, errors = [], []

    def feed(stream):
        for _ in range(4):
            y = np.zeros((128, 256), ml_dtypes.bfloat16)
            size, executor, status = get(x, s, o, y)
            if status or aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream):
                errors.append(status)
            results.append(y)

    threads = [threading.Thread(target=feed, args=(st,)) for st in streams for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(st.synchronize() == Status.ACLNN_SUCCESS for st in streams)
    assert not errors and len(results) == 24
    for y in results:
        assert_same_bits(y, expected)
