"""Faults: each refused with a status or an error, and every byte of every buffer involved left as it was.

"Untouched" is checked on full byte copies of the root buffers (the arrays views were cut from), so a write
anywhere, in ``out``, in an input that shares its memory, or in the workspace, fails the test.
"""

import contextlib
import threading

import ml_dtypes
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from antiquant import (AclnnError, AclTensor, DataType, Status, Stream, aclGetRecentErrMsg, aclnnAscendAntiQuant,
                       aclnnAscendAntiQuantGetWorkspaceSize, aclSetAclOpExecutorRepeatable, ascend_anti_quant,
                       pack_int4, reference)
from conftest import assert_same_bits

T = AclTensor.from_numpy
INVALID = Status.ACLNN_ERR_PARAM_INVALID


def root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (as far as numpy's base chain goes)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


@contextlib.contextmanager
def untouched(*arrays):
    """Assert that no byte of the buffers under ``arrays`` changes inside the block."""
    roots = {id(r): r for r in (root(a) for a in arrays if a is not None)}
    before = {k: r.tobytes() for k, r in roots.items()}
    yield
    for k, r in roots.items():
        assert r.tobytes() == before[k], "a refused call wrote into a buffer"


def noise(nbytes, seed=0):
    """A buffer of random bytes that decode to finite, distinctive int8 / float values."""
    return np.random.default_rng(seed).integers(0, 64, nbytes, dtype=np.uint8)


def overlap_cases():
    """(x, scale, offset, out, which input out overlaps): out shares at least one byte with that input."""
    cases = {}
    buf = noise(256)
    cases["out is x's bytes"] = (buf[:16].view(np.int8).reshape(2, 8), np.ones(8, np.float32), None,
                                 buf[:32].view(np.float16).reshape(2, 8), "x")
    buf = noise(256, 1)
    cases["out overlaps x's last 8 bytes"] = (buf[:16].view(np.int8).reshape(2, 8), np.ones(1, np.float32), None,
                                              buf[8:40].view(np.float16).reshape(2, 8), "x")
    buf = noise(256, 2)
    cases["out shares one byte with x (unaligned)"] = (buf[:16].view(np.int8).reshape(2, 8), np.ones(1, np.float32),
                                                      None, buf[15:47].view(np.float16).reshape(2, 8), "x")
    buf = noise(256, 3)
    cases["strided x and strided out in one buffer"] = (buf[:64:4].view(np.int8).reshape(2, 8), np.ones(1, np.float32),
                                                        None, buf[60:124].view(np.float16)[::2].reshape(2, 8), "x")
    buf = noise(256, 4)
    cases["x a transposed view of out's buffer"] = (buf[32:48].view(np.int8).reshape(8, 2).T, np.ones(8, np.float32),
                                                    None, buf[16:48].view(np.float16).reshape(2, 8), "x")
    buf = noise(512, 5)
    cases["out overlaps scale"] = (np.ones((2, 8), np.int8), buf[:32].view(np.float32), None,
                                   buf[24:56].view(np.float16).reshape(2, 8), "scale")
    buf = noise(512, 6)
    cases["out overlaps bf16 scale"] = (np.ones((2, 8), np.int8), buf[:16].view(ml_dtypes.bfloat16), None,
                                        buf[:32].view(np.float16).reshape(2, 8), "scale")
    buf = noise(512, 7)
    cases["out overlaps offset"] = (np.ones((2, 8), np.int8), np.ones(8, np.float32), buf[64:96].view(np.float32),
                                    buf[80:112].view(np.float16).reshape(2, 8), "offset")
    buf = noise(512, 8)
    cases["out overlaps strided offset"] = (np.ones((2, 8), np.int8), np.ones(8, np.float32),
                                            buf[:64].view(np.float32)[::2], buf[4:36].view(np.float16).reshape(2, 8),
                                            "offset")
    buf = noise(512, 9)
    cases["int32 x under out"] = (buf[:8].view(np.int32).reshape(2, 1), np.ones(8, np.float32), None,
                                  buf[:32].view(np.float16).reshape(2, 8), "x")
    buf = noise(512, 10)
    cases["packed int4 x under out"] = (T(buf[100:108], dtype=DataType.INT4, shape=(2, 8)), np.ones(1, np.float32),
                                        None, buf[96:128].view(np.float16).reshape(2, 8), "x")
    return cases


OVERLAPS = overlap_cases()


@pytest.mark.parametrize("case", OVERLAPS)
def test_out_overlapping_an_input_is_refused_and_nothing_is_written(case):
    x, scale, offset, out, name = OVERLAPS[case]
    x_array = x.array if isinstance(x, AclTensor) else x
    with untouched(x_array, scale, offset, out):
        with pytest.raises(AclnnError) as info:
            ascend_anti_quant(x, scale, offset, out=out)
    assert info.value.status == INVALID
    assert f"out: expected memory apart from the inputs, but it overlaps {name}" in str(info.value)


@pytest.mark.parametrize("case", OVERLAPS)
def test_y_overlapping_an_input_is_refused_by_the_two_phase_api(case):
    x, scale, offset, out, name = OVERLAPS[case]
    xt = x if isinstance(x, AclTensor) else T(x)
    with untouched(xt.array, scale, offset, out):
        size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
            xt, T(scale), None if offset is None else T(offset), 1, False, T(out))
    assert (size, executor, status) == (0, None, INVALID)
    assert f"y: expected memory apart from the inputs, but it overlaps {name}" in aclGetRecentErrMsg()


def test_interleaved_but_disjoint_views_of_one_buffer_are_accepted():
    """Bounds overlap, bytes do not: x at bytes 0, 4, 8, ..., out at bytes 2-3, 6-7, ... of the same buffer."""
    buf = noise(64, 11)
    x = buf[0::4].view(np.int8).reshape(2, 8)
    out = buf.view(np.float16)[1::2].reshape(2, 8)
    x_before = x.copy()
    scale = np.linspace(-2, 2, 8, dtype=np.float32)
    ascend_anti_quant(x, scale, out=out)
    assert_same_bits(out, reference.anti_quant(x_before, scale))
    np.testing.assert_array_equal(x, x_before)


BAD_OUTS = {
    "read-only": (lambda: _read_only(np.full((2, 8), 3, np.float16)), 1, "out: expected a writable array"),
    "read-only bf16": (lambda: _read_only(np.full((2, 8), 3, ml_dtypes.bfloat16)), 27, "out: expected a writable array"),
    "float32": (lambda: np.full((2, 8), 3, np.float32), 1, "out: expected dtype in {FLOAT16, BF16}"),
    "int16": (lambda: np.full((2, 8), 3, np.int16), 1, "out: expected dtype in {FLOAT16, BF16}"),
    "bf16 for dst float16": (lambda: np.full((2, 8), 3, ml_dtypes.bfloat16), 1, "dstType: expected out's dtype BF16"),
    "float16 for dst bf16": (lambda: np.full((2, 8), 3, np.float16), 27, "dstType: expected out's dtype FLOAT16"),
    "wrong shape": (lambda: np.full((2, 9), 3, np.float16), 1, "out: expected shape (2, 8)"),
    "transposed shape": (lambda: np.full((8, 2), 3, np.float16).T.T, 1, "out: expected shape (2, 8)"),
    "broadcast view": (lambda: as_strided(np.full(8, 3, np.float16), (2, 8), (0, 2)), 1,
                       "out: expected one memory location per element"),
    "overlapping rows": (lambda: as_strided(np.full(12, 3, np.float16), (2, 8), (8, 2)), 1,
                         "out: expected one memory location per element"),
}


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("case", BAD_OUTS)
def test_bad_out_is_refused_and_untouched(case):
    build, dst, message = BAD_OUTS[case]
    out = build()
    x = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    with untouched(out, x):
        with pytest.raises(AclnnError) as info:
            ascend_anti_quant(x, np.ones(8, np.float32), dst_type=dst, out=out)
    assert info.value.status == INVALID and message in str(info.value)
    with untouched(out, x):
        size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(T(x), T(np.ones(8, np.float32)), None, dst,
                                                                      False, T(out))
    assert status == INVALID and executor is None


def staged_call(seed=0, alloc=None):
    """A call that uses every workspace region: bf16 scale and offset, sqrt mode, strided x and strided y.

    ``alloc(name, shape, dtype)`` may place the root arrays (default: fresh numpy arrays).
    """
    alloc = alloc or (lambda name, shape, dtype: np.empty(shape, dtype))
    rng = np.random.default_rng(seed)
    x_big, y_big = alloc("x", (48, 200), np.int8), alloc("y", (48, 200), ml_dtypes.bfloat16)
    scale, offset = alloc("scale", (100,), ml_dtypes.bfloat16), alloc("offset", (100,), ml_dtypes.bfloat16)
    x_big[...] = rng.integers(-128, 128, x_big.shape, dtype=np.int8)
    y_big[...] = 7
    scale[...] = rng.random(100)
    offset[...] = rng.random(100)
    x, y = x_big[::2, ::2], y_big[1::2, ::2]
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(T(x), T(scale), T(offset), 27, True, T(y))
    assert status == Status.ACLNN_SUCCESS and executor.staged == ("x", "y")
    return size, executor, (x, scale, offset, y)


@pytest.mark.parametrize("short", ["buffer one byte short", "size one byte short", "both short", "empty buffer"])
@pytest.mark.parametrize("on_stream", [False, True])
def test_short_workspace_refused_and_nothing_written(short, on_stream):
    size, executor, (x, scale, offset, y) = staged_call()
    buffer_len, declared = {"buffer one byte short": (size - 1, size), "size one byte short": (size, size - 1),
                            "both short": (size // 2, size // 2), "empty buffer": (0, size)}[short]
    workspace = np.full(buffer_len, 0xA5, np.uint8)
    stream = Stream() if on_stream else None
    with untouched(x, scale, offset, y, workspace):
        assert aclnnAscendAntiQuant(workspace, declared, executor, stream) == INVALID
        if stream is not None:
            assert stream.synchronize() == Status.ACLNN_SUCCESS     # nothing was queued
    assert "workspace: expected at least" in aclGetRecentErrMsg()
    # not spent: the right workspace still runs it
    workspace = np.empty(size, np.uint8)
    assert aclnnAscendAntiQuant(workspace, size, executor, stream) == Status.ACLNN_SUCCESS
    if stream is not None:
        assert stream.close() == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True))


@pytest.mark.parametrize("on_stream", [False, True])
def test_spent_executor_refused_and_nothing_written(on_stream):
    size, executor, (x, scale, offset, y) = staged_call(1)
    workspace = np.empty(size, np.uint8)
    stream = Stream() if on_stream else None
    assert aclnnAscendAntiQuant(workspace, size, executor, stream) == Status.ACLNN_SUCCESS
    if stream is not None:
        assert stream.synchronize() == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True))
    y[...] = 0                                   # the caller reuses y; a second run must not overwrite it
    with untouched(x, scale, offset, y, workspace):
        assert aclnnAscendAntiQuant(workspace, size, executor, stream) == INVALID
        if stream is not None:
            assert stream.synchronize() == Status.ACLNN_SUCCESS
    assert "executor: already run" in aclGetRecentErrMsg()
    assert aclSetAclOpExecutorRepeatable(executor) == Status.ACLNN_SUCCESS
    assert aclnnAscendAntiQuant(workspace, size, executor, stream) == Status.ACLNN_SUCCESS
    if stream is not None:
        assert stream.close() == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True))


def test_one_executor_launched_from_eight_threads_runs_once():
    size, executor, (x, scale, offset, y) = staged_call(2)
    barrier = threading.Barrier(8)
    statuses = []

    def launch():
        workspace = np.empty(size, np.uint8)
        barrier.wait()
        statuses.append(aclnnAscendAntiQuant(workspace, size, executor, None))

    threads = [threading.Thread(target=launch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [Status.ACLNN_SUCCESS] + [INVALID] * 7
    assert_same_bits(y, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True))


@pytest.mark.parametrize("victim", ["x", "scale", "offset", "y"])
def test_workspace_overlapping_a_tensor_is_refused_and_nothing_written(victim):
    """Staging writes x and y copies into the workspace: a workspace laid over a tensor would corrupt it."""
    size = staged_call()[0]
    arena = np.zeros(size + (1 << 16), np.uint8)

    def alloc(name, shape, dtype):
        if name != victim:
            return np.empty(shape, dtype)
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return arena[size - 1024:size - 1024 + nbytes].view(dtype).reshape(shape)  # its first KiB under the workspace

    size, executor, tensors = staged_call(3, alloc)
    workspace = arena[:size]
    with untouched(arena, *tensors):
        assert aclnnAscendAntiQuant(workspace, size, executor, None) == INVALID
    assert f"workspace: expected memory apart from the tensors, but it overlaps {victim}" in aclGetRecentErrMsg()
    # the same executor runs once given a workspace of its own
    x, scale, offset, y = tensors
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True))


def test_rejected_calls_leave_a_prefilled_out_byte_for_byte():
    """Every rule of docs/spec.md section 3 in turn, with the same prefilled out: no refusal writes a byte."""
    rng = np.random.default_rng(12)
    out = rng.integers(0, 1 << 16, (4, 16), dtype=np.uint16).view(np.float16)
    x = rng.integers(-128, 128, (4, 16), dtype=np.int8)
    s = np.ones(16, np.float32)
    refusals = [
        dict(x=x.astype(np.int16)), dict(scale=s.astype(np.float16)), dict(offset=s.astype(ml_dtypes.bfloat16)),
        dict(dst_type=27), dict(dst_type=5), dict(sqrt_mode=1), dict(scale=s[:3]), dict(offset=s[:1]),
        dict(scale=s.reshape(2, 8)), dict(x=x[:, :15]), dict(x=pack_int4(np.zeros((4, 24), np.int8), np.int32)),
        dict(x=np.zeros((4, 16), ml_dtypes.int4)[:, ::-1]), dict(platform="Ascend310P", dst_type=1, scale=s.astype(ml_dtypes.bfloat16)),
    ]
    for over in refusals:
        kw = dict(x=x, scale=s, offset=None, dst_type=1, sqrt_mode=False)
        kw.update(over)
        with untouched(out), pytest.raises(AclnnError):
            ascend_anti_quant(kw.pop("x"), kw.pop("scale"), kw.pop("offset"), out=out, **kw)
