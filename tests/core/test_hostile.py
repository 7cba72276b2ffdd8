"""Hostile arguments: every refusal is an AclnnError, TypeError or ValueError whose message says what to pass.

Never a Numba typing error, never a crash, never a silently accepted nonsense argument. Each case names the
message it must carry, so a vaguer message fails the test.
"""

import re

import ml_dtypes
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from antiquant import (AclnnError, AclTensor, DataType, Status, Stream, aclGetRecentErrMsg, aclnnAscendAntiQuant,
                       aclnnAscendAntiQuantGetWorkspaceSize, aclSetAclOpExecutorRepeatable, ascend_anti_quant,
                       pack_int4, reference)
from conftest import assert_same_bits

T = AclTensor.from_numpy
INVALID, NULLPTR = Status.ACLNN_ERR_PARAM_INVALID, Status.ACLNN_ERR_PARAM_NULLPTR
X = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
S = np.linspace(0.5, 2, 8, dtype=np.float32)


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def lying_tensor():
    """A hand-built AclTensor claiming far more elements than its array holds (kernels would read past it)."""
    return AclTensor(np.zeros(4, np.int8), DataType.INT8, (1 << 20,), False)


def edited_tensor():
    t = T(np.zeros((2, 8), np.int8))
    t.shape = (4, 8)
    return t


# name -> (keyword arguments replacing the valid call's, exception, AclnnError status or None, message regex)
PYTHONIC = {
    "x list": (dict(x=[1, 2]), TypeError, None, r"x: expected a numpy array, got list; convert it with numpy\.asarray"),
    "x string": (dict(x="int8"), TypeError, None, r"x: expected a numpy array, got str"),
    "x python int": (dict(x=3), TypeError, None, r"x: expected a numpy array, got int"),
    "x numpy scalar": (dict(x=np.int8(3)), TypeError, None, r"x: expected a numpy array, got int8"),
    "x object array": (dict(x=np.array([1, None])), TypeError, None, r"x: .*dtype object has no CANN DataType; pass an array of int8"),
    "x complex": (dict(x=np.ones((2, 8), complex)), TypeError, None, r"x: .*complex128 has no CANN DataType; pass an array of int8"),
    "x unicode": (dict(x=np.array(["a"] * 8)), TypeError, None, r"x: .*<U1 has no CANN DataType; pass"),
    "x structured": (dict(x=np.zeros(8, [("a", "i1")])), TypeError, None, r"x: .*has no CANN DataType; pass"),
    "x big-endian int32": (dict(x=np.ones((2, 1), ">i4")), TypeError, None, r"x: .*>i4 is big-endian; .* convert it with \.astype\('<i4'\)"),
    "x float64": (dict(x=np.ones((2, 8))), AclnnError, INVALID, r"x: expected dtype in \{INT4, INT8, INT32\} on Ascend910B, got DOUBLE"),
    "x float32": (dict(x=np.ones((2, 8), np.float32)), AclnnError, INVALID, r"x: expected dtype in \{INT4, INT8, INT32\}.*got FLOAT"),
    "x uint8": (dict(x=np.ones((2, 8), np.uint8)), AclnnError, INVALID, r"x: expected dtype in .* got UINT8"),
    "x bool": (dict(x=np.ones((2, 8), bool)), AclnnError, INVALID, r"x: expected dtype in .* got BOOL"),
    "x None": (dict(x=None), AclnnError, NULLPTR, r"x: expected a numpy array, got None"),
    "x rank 9": (dict(x=np.zeros((1,) * 8 + (8,), np.int8)), AclnnError, INVALID, r"x: expected rank at most 8, got rank 9"),
    "x rank 64": (dict(x=np.zeros((1,) * 63 + (8,), np.int8)), AclnnError, INVALID, r"x: expected rank at most 8, got rank 64"),
    "x lying AclTensor": (dict(x=lying_tensor(), scale=S[:1]), TypeError, None,
                          r"x: shape \(1048576,\) and dtype INT8 do not describe its array .*AclTensor\.from_numpy"),
    "x edited AclTensor": (dict(x=edited_tensor()), TypeError, None, r"x: shape \(4, 8\) .* do not describe its array"),
    "x packed INT4 odd scale": (dict(x=T(np.zeros((2, 4), np.uint8), dtype=DataType.INT4), scale=S[:3]), AclnnError, INVALID,
                                r"scale: expected size 1 or y's last dimension 8, got 3"),
    "scale list": (dict(scale=[1.0]), TypeError, None, r"scale: expected a numpy array, got list; convert it"),
    "scale float": (dict(scale=0.5), TypeError, None, r"scale: expected a numpy array, got float"),
    "scale float64": (dict(scale=np.ones(8)), AclnnError, INVALID, r"scale: expected dtype in \{FLOAT, BF16\} on Ascend910B, got DOUBLE"),
    "scale float16": (dict(scale=np.ones(8, np.float16)), AclnnError, INVALID, r"scale: expected dtype in \{FLOAT, BF16\}.*got FLOAT16"),
    "scale complex64": (dict(scale=np.ones(8, np.complex64)), TypeError, None, r"scale: .*complex64 has no CANN DataType"),
    "scale 0-d": (dict(scale=np.array(1.0, np.float32)), AclnnError, INVALID, r"scale: expected a non-empty 1-D tensor, got shape \(\)"),
    "scale 2-d": (dict(scale=S.reshape(1, 8)), AclnnError, INVALID, r"scale: expected a non-empty 1-D tensor, got shape \(1, 8\)"),
    "scale empty": (dict(scale=S[:0]), AclnnError, INVALID, r"scale: expected a non-empty 1-D tensor, got shape \(0,\)"),
    "scale wrong size": (dict(scale=S[:5]), AclnnError, INVALID, r"scale: expected size 1 or y's last dimension 8, got 5"),
    "scale None": (dict(scale=None), AclnnError, NULLPTR, r"scale: expected a numpy array, got None"),
    "scale packed INT4": (dict(scale=T(np.zeros(4, np.uint8), dtype=DataType.INT4)), AclnnError, INVALID,
                          r"scale: expected dtype in \{FLOAT, BF16\}.*got INT4"),
    "offset string": (dict(offset="0"), TypeError, None, r"offset: expected a numpy array, got str"),
    "offset bf16 vs float scale": (dict(offset=np.zeros(8, ml_dtypes.bfloat16)), AclnnError, INVALID,
                                   r"offset: expected the same dtype as scale \(FLOAT\), got BF16"),
    "offset shape": (dict(offset=np.zeros(1, np.float32)), AclnnError, INVALID, r"offset: expected scale's shape \(8,\), got \(1,\)"),
    "dst_type -1": (dict(dst_type=-1), AclnnError, INVALID, r"dst_type: expected 1 / 'float16' / numpy\.float16 or 27 / 'bfloat16'"),
    "dst_type 0 (FLOAT)": (dict(dst_type=0), AclnnError, INVALID, r"dst_type: expected 1 .* or 27 .*, got 0"),
    "dst_type 99": (dict(dst_type=99), AclnnError, INVALID, r"dst_type: expected .*, got 99"),
    "dst_type 2**70": (dict(dst_type=2 ** 70), AclnnError, INVALID, r"dst_type: expected .*, got 1180591620717411303424"),
    "dst_type True": (dict(dst_type=True), AclnnError, INVALID, r"dst_type: expected .*, got True"),
    "dst_type 1.0": (dict(dst_type=1.0), AclnnError, INVALID, r"dst_type: expected .*, got 1\.0"),
    "dst_type nan": (dict(dst_type=float("nan")), AclnnError, INVALID, r"dst_type: expected .*, got nan"),
    "dst_type None": (dict(dst_type=None), AclnnError, INVALID, r"dst_type: expected .*, got None"),
    "dst_type list": (dict(dst_type=[1]), AclnnError, INVALID, r"dst_type: expected .*, got \[1\]"),
    "dst_type 'float64'": (dict(dst_type="float64"), AclnnError, INVALID, r"dst_type: expected .*, got 'float64'"),
    "dst_type numpy.float32": (dict(dst_type=np.float32), AclnnError, INVALID, r"dst_type: expected .*numpy\.float32"),
    "dst_type DataType.FLOAT": (dict(dst_type=DataType.FLOAT), AclnnError, INVALID, r"dst_type: expected .*ACL_FLOAT"),
    "dst_type float16 value": (dict(dst_type=np.float16(1)), AclnnError, INVALID, r"dst_type: expected .*, got np\.float16\(1\.0\)|got 1\.0"),
    "dst_type float16 array": (dict(dst_type=np.zeros(2, np.float16)), AclnnError, INVALID, r"dst_type: expected"),
    "dst_type vs out": (dict(out=np.zeros((2, 8), ml_dtypes.bfloat16)), AclnnError, INVALID,
                        r"dstType: expected out's dtype BF16 \(27\), got FLOAT16 \(1\)"),
    "sqrt_mode 1": (dict(sqrt_mode=1), AclnnError, INVALID, r"sqrtMode: expected a bool, got int 1"),
    "sqrt_mode 'yes'": (dict(sqrt_mode="yes"), AclnnError, INVALID, r"sqrtMode: expected a bool, got str 'yes'"),
    "sqrt_mode None": (dict(sqrt_mode=None), AclnnError, INVALID, r"sqrtMode: expected a bool, got NoneType None"),
    "sqrt_mode array": (dict(sqrt_mode=np.array([True])), AclnnError, INVALID, r"sqrtMode: expected a bool, got ndarray"),
    "platform unknown": (dict(platform="Ascend999"), ValueError, None, r"unknown platform 'Ascend999'; known: .*Ascend910B"),
    "platform None": (dict(platform=None), TypeError, None, r"platform: expected a name such as 'Ascend910B' or a Platform, got NoneType"),
    "platform int": (dict(platform=910), TypeError, None, r"platform: expected a name such as 'Ascend910B'"),
    "platform 310P with int32": (dict(x=np.zeros((2, 1), np.int32), platform="Ascend310P"), AclnnError, INVALID,
                                 r"x: expected dtype in \{INT8\} on Ascend310P, got INT32"),
    "strategy unknown": (dict(strategy="fastest"), ValueError, None, r"strategy: expected one of .*cann.*, got 'fastest'"),
    "strategy list": (dict(strategy=["cann"]), TypeError, None, r"strategy: expected a name \(cann.*\) or a tiling.Strategy, got list"),
    "strategy None": (dict(strategy=None), TypeError, None, r"strategy: expected a name \(cann.*\) or a tiling.Strategy, got NoneType"),
    "out list": (dict(out=[]), TypeError, None, r"out: expected a numpy array, got list"),
    "out wrong shape": (dict(out=np.zeros((8, 2), np.float16)), AclnnError, INVALID, r"out: expected shape \(2, 8\) \(x's shape\), got \(8, 2\)"),
    "out wrong rank": (dict(out=np.zeros(16, np.float16)), AclnnError, INVALID, r"out: expected shape \(2, 8\) \(x's shape\), got \(16,\)"),
    "out float32": (dict(out=np.zeros((2, 8), np.float32)), AclnnError, INVALID, r"out: expected dtype in \{FLOAT16, BF16\} on Ascend910B, got FLOAT"),
    "out int16": (dict(out=np.zeros((2, 8), np.int16)), AclnnError, INVALID, r"out: expected dtype in \{FLOAT16, BF16\}.*got INT16"),
    "out read-only": (dict(out=read_only(np.zeros((2, 8), np.float16))), AclnnError, INVALID,
                      r"out: expected a writable array, got a read-only one"),
    "out broadcast view": (dict(out=as_strided(np.zeros(8, np.float16), (2, 8), (0, 2))), AclnnError, INVALID,
                           r"out: expected one memory location per element, but strides \(0, 2\) .*pass a contiguous array"),
    "out overlapping itself": (dict(out=as_strided(np.zeros(24, np.float16), (2, 8), (4, 2))), AclnnError, INVALID,
                               r"out: expected one memory location per element"),
}


def pythonic(**over):
    kw = dict(x=X, scale=S, offset=None)
    kw.update(over)
    return ascend_anti_quant(kw.pop("x"), kw.pop("scale"), kw.pop("offset"), **kw)


@pytest.mark.parametrize("case", PYTHONIC)
def test_hostile_pythonic_argument(case):
    over, exc, status, message = PYTHONIC[case]
    out = over.get("out")
    before = out.copy() if isinstance(out, np.ndarray) else None
    with pytest.raises((AclnnError, TypeError, ValueError)) as info:
        pythonic(**over)
    assert type(info.value) is exc, f"{case}: {type(info.value).__name__}: {info.value}"
    assert info.value.__class__.__module__.split(".")[0] in ("antiquant", "builtins")
    if status is not None:
        assert info.value.status == status
    assert_message(str(info.value), message)
    if before is not None:
        assert out.tobytes() == before.tobytes()


def assert_message(text: str, pattern: str) -> None:
    """One line, matching ``pattern``, and saying what is wanted."""
    assert "\n" not in text, text
    assert re.search(pattern, text), f"{text!r} does not match {pattern!r}"
    assert re.search(r"expected|pass|convert|known:|must be|needs|wrap it|build|only", text), text


ACCEPTED = {
    "read-only x and scale": dict(x=read_only(X), scale=read_only(S)),
    "broadcast x": dict(x=np.broadcast_to(np.int8(-3), (2, 8))),
    "NaN and inf in scale": dict(scale=np.array([np.nan, np.inf, -np.inf, 0, -0.0, 1e-45, 3e38, 1], np.float32)),
    "NaN scale per-tensor": dict(scale=np.array([np.nan], np.float32)),
    "NaN offset": dict(offset=np.full(8, np.nan, np.float32)),
    "numpy bool sqrt_mode": dict(sqrt_mode=np.bool_(True)),
    "numpy int dst_type": dict(dst_type=np.int64(27)),
    "0-d int8 x": dict(x=np.array(5, np.int8), scale=S[:1]),
    "0-d int32 x": dict(x=np.array(-0x12345678, np.int32), scale=S),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_odd_but_valid_arguments_match_the_reference(case):
    kw = dict(x=X, scale=S, offset=None, dst_type=1, sqrt_mode=False)
    kw.update(ACCEPTED[case])
    got = ascend_anti_quant(kw["x"], kw["scale"], kw["offset"], dst_type=kw["dst_type"], sqrt_mode=kw["sqrt_mode"])
    want = reference.anti_quant(kw["x"], kw["scale"], kw["offset"], dst_type=int(kw["dst_type"]),
                                sqrt_mode=bool(kw["sqrt_mode"]))
    assert_same_bits(got, want)


# AclTensor.from_numpy itself
FROM_NUMPY = {
    "list": (lambda: T([1, 2]), TypeError, r"takes a numpy array, got list; wrap it with numpy\.asarray"),
    "None": (lambda: T(None), TypeError, r"takes a numpy array, got NoneType"),
    "unknown dtype code": (lambda: T(X, dtype=999), ValueError, r"dtype must be a DataType, got 999"),
    "dtype string": (lambda: T(X, dtype="int8"), ValueError, r"dtype must be a DataType, got 'int8'"),
    "INT4 over float32": (lambda: T(S, dtype=DataType.INT4), TypeError, r"dtype INT4 does not match the array's FLOAT; only INT4 may be laid over uint8/int8"),
    "INT4 over int32": (lambda: T(np.zeros(2, np.int32), dtype=DataType.INT4), TypeError, r"does not match the array's INT32"),
    "shape for unpacked": (lambda: T(X, shape=(16,)), ValueError, r"shape \(16,\) differs from the array's \(2, 8\); only packed INT4 takes an explicit shape"),
    "shape int": (lambda: T(np.zeros(4, np.uint8), dtype=DataType.INT4, shape=8), TypeError, r"shape must be a tuple of ints, got 8"),
    "shape string": (lambda: T(np.zeros(4, np.uint8), dtype=DataType.INT4, shape="ab"), TypeError, r"shape must be a tuple of ints, got 'ab'"),
    "shape float": (lambda: T(np.zeros(4, np.uint8), dtype=DataType.INT4, shape=(8.5,)), TypeError, r"shape must be a tuple of ints, got \(8\.5,\)"),
    "shape negative": (lambda: T(np.zeros(4, np.uint8), dtype=DataType.INT4, shape=(-8,)), ValueError, r"cannot hold INT4 shape \(-8,\) \(it needs an even last axis"),
    "shape too big": (lambda: T(np.zeros(4, np.uint8), dtype=DataType.INT4, shape=(4, 4)), ValueError, r"4 packed bytes cannot hold INT4 shape \(4, 4\)"),
    "packed 0-d": (lambda: T(np.array(1, np.uint8), dtype=DataType.INT4), ValueError, r"packed INT4 needs an array with at least one axis"),
    "reshape strided bytes": (lambda: T(np.zeros((4, 8), np.uint8)[:, ::2], dtype=DataType.INT4, shape=(32,)), ValueError,
                              r"packed INT4 bytes must be C-contiguous to take a new shape"),
}


@pytest.mark.parametrize("case", FROM_NUMPY)
def test_hostile_from_numpy(case):
    build, exc, message = FROM_NUMPY[case]
    with pytest.raises((TypeError, ValueError)) as info:
        build()
    assert type(info.value) is exc
    assert_message(str(info.value), message)


# The two-phase API: refusals come back as statuses where CANN returns one, wrong Python types as TypeError.
def two_phase(**over):
    y = np.zeros((2, 8), np.float16)
    kw = dict(x=T(X), scale=T(S), offset=None, dstType=1, sqrtMode=False, y=T(y))
    kw.update(over)
    args = [kw.pop(k) for k in ("x", "scale", "offset", "dstType", "sqrtMode", "y")]
    return aclnnAscendAntiQuantGetWorkspaceSize(*args, **kw)


GET_WORKSPACE = {
    "dstType string": (dict(dstType="float16"), INVALID, r"dstType: expected the integer 1 \(FLOAT16\) or 27 \(BF16\), got 'float16'"),
    "dstType float": (dict(dstType=1.0), INVALID, r"dstType: expected the integer 1 .*, got 1\.0"),
    "dstType bool": (dict(dstType=True), INVALID, r"dstType: expected the integer 1 .*, got True"),
    "dstType None": (dict(dstType=None), INVALID, r"dstType: expected the integer 1 .*, got None"),
    "dstType negative": (dict(dstType=-27), INVALID, r"dstType: expected 1 \(FLOAT16\) or 27 \(BF16\), got -27"),
    "dstType INT4": (dict(dstType=29), INVALID, r"dstType: expected 1 \(FLOAT16\) or 27 \(BF16\), got 29"),
    "sqrtMode int": (dict(sqrtMode=0), INVALID, r"sqrtMode: expected a bool, got int 0"),
    "sqrtMode string": (dict(sqrtMode="False"), INVALID, r"sqrtMode: expected a bool, got str 'False'"),
    "y packed INT4": (dict(y=T(np.zeros((2, 4), np.uint8), dtype=DataType.INT4)), INVALID, r"y: expected dtype in \{FLOAT16, BF16\}.*got INT4"),
    "x FLOAT16 tensor": (dict(x=T(np.zeros((2, 8), np.float16))), INVALID, r"x: expected dtype in \{INT4, INT8, INT32\}.*got FLOAT16"),
    "y read-only": (dict(y=T(read_only(np.zeros((2, 8), np.float16)))), INVALID, r"y: expected a writable array"),
    "y None": (dict(y=None), NULLPTR, r"y: expected a tensor, got None"),
}


@pytest.mark.parametrize("case", GET_WORKSPACE)
def test_hostile_get_workspace_size_returns_a_status(case):
    over, status, message = GET_WORKSPACE[case]
    size, executor, got = two_phase(**over)
    assert (size, executor, got) == (0, None, status)
    assert_message(aclGetRecentErrMsg(), message)


GET_WORKSPACE_RAISES = {
    "x ndarray": (dict(x=X), TypeError, r"x: expected an AclTensor \(AclTensor\.from_numpy\(array\)\), got ndarray"),
    "offset list": (dict(offset=[0.0]), TypeError, r"offset: expected an AclTensor .*, got list"),
    "y lying AclTensor": (dict(y=AclTensor(np.zeros(2, np.float16), DataType.FLOAT16, (2, 8), False)), TypeError,
                          r"y: shape \(2, 8\) and dtype FLOAT16 do not describe its array"),
    "x AclTensor wrapping a list": (dict(x=AclTensor([1] * 16, DataType.INT8, (2, 8), False)), TypeError,
                                    r"x: expected a numpy array and a DataType inside the AclTensor, got list"),
    "x AclTensor with int dtype": (dict(x=AclTensor(X, 2, (2, 8), False)), TypeError, r"x: expected a numpy array and a DataType"),
    "x packed flag on int8": (dict(x=AclTensor(X, DataType.INT8, (2, 8), True)), TypeError, r"x: shape \(2, 8\) and dtype INT8 do not describe"),
    "platform unknown": (dict(platform="Ascend0"), ValueError, r"unknown platform 'Ascend0'; known:"),
    "strategy object": (dict(strategy=object()), TypeError, r"strategy: expected a name"),
}


@pytest.mark.parametrize("case", GET_WORKSPACE_RAISES)
def test_hostile_get_workspace_size_python_types(case):
    over, exc, message = GET_WORKSPACE_RAISES[case]
    with pytest.raises((TypeError, ValueError)) as info:
        two_phase(**over)
    assert type(info.value) is exc
    assert_message(str(info.value), message)


def fresh_executor():
    size, executor, status = two_phase()
    assert status == Status.ACLNN_SUCCESS
    return size, executor


def closed_stream():
    stream = Stream()
    stream.close()
    return stream


RUN = {
    "executor None": (lambda size, ex: (np.empty(size, np.uint8), size, None, None), NULLPTR, r"executor: expected the executor from GetWorkspaceSize, got None"),
    "executor string": (lambda size, ex: (np.empty(size, np.uint8), size, "executor", None), NULLPTR, r"executor: expected the executor"),
    "executor's plan": (lambda size, ex: (np.empty(size, np.uint8), size, ex.plan, None), NULLPTR, r"executor: expected the executor"),
    "workspace None": (lambda size, ex: (None, size, ex, None), NULLPTR, r"workspace: expected \d+ bytes, got None"),
    "workspace list": (lambda size, ex: ([0] * size, size, ex, None), INVALID, r"workspace: expected a writable buffer \(numpy uint8 array or bytearray\), got list"),
    "workspace string": (lambda size, ex: ("x" * size, size, ex, None), INVALID, r"workspace: expected a writable buffer"),
    "workspace bytes": (lambda size, ex: (bytes(size), size, ex, None), INVALID, r"workspace: expected a writable, contiguous 1-D byte buffer"),
    "workspace 2-D": (lambda size, ex: (np.empty((2, size), np.uint8), size, ex, None), INVALID, r"workspace: expected a writable, contiguous 1-D"),
    "workspace strided": (lambda size, ex: (np.empty(2 * size, np.uint8)[::2], size, ex, None), INVALID, r"workspace: expected a writable, contiguous"),
    "workspace short": (lambda size, ex: (np.empty(size - 1, np.uint8), size, ex, None), INVALID, r"workspace: expected at least \d+ bytes"),
    "workspaceSize short": (lambda size, ex: (np.empty(size, np.uint8), size - 1, ex, None), INVALID, r"workspace: expected at least"),
    "workspaceSize negative": (lambda size, ex: (np.empty(size, np.uint8), -1, ex, None), INVALID, r"workspace: expected at least"),
    "workspaceSize None": (lambda size, ex: (np.empty(size, np.uint8), None, ex, None), INVALID, r"workspaceSize: expected the integer from GetWorkspaceSize \(\d+\), got None"),
    "workspaceSize string": (lambda size, ex: (np.empty(size, np.uint8), str(size), ex, None), INVALID, r"workspaceSize: expected the integer"),
    "workspaceSize float": (lambda size, ex: (np.empty(size, np.uint8), float(size), ex, None), INVALID, r"workspaceSize: expected the integer"),
    "stream string": (lambda size, ex: (np.empty(size, np.uint8), size, ex, "stream0"), INVALID, r"stream: expected a Stream or None, got str"),
    "stream closed": (lambda size, ex: (np.empty(size, np.uint8), size, ex, closed_stream()), INVALID, r"stream: closed; pass an open Stream or None"),
}


@pytest.mark.parametrize("case", RUN)
def test_hostile_launch_returns_a_status_and_keeps_the_executor(case):
    build, status, message = RUN[case]
    size, executor = fresh_executor()
    y = executor.call.y.array
    assert aclnnAscendAntiQuant(*build(size, executor)) == status
    assert_message(aclGetRecentErrMsg(), message)
    assert not y.view(np.uint16).any()                       # nothing written
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(X, S))          # and the refusal did not spend the executor


@pytest.mark.parametrize("value", [None, "executor", 3])
def test_hostile_set_repeatable(value):
    assert aclSetAclOpExecutorRepeatable(value) == NULLPTR
    assert_message(aclGetRecentErrMsg(), r"executor: expected an AclOpExecutor")


def test_packed_int4_x_as_two_phase_tensor_still_works():
    values = np.tile(np.arange(-8, 8, dtype=np.int8), (3, 1))
    x = T(pack_int4(values), dtype=DataType.INT4)
    y = np.zeros((3, 16), ml_dtypes.bfloat16)
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(x, T(S[:1]), None, 27, False, T(y))
    assert status == Status.ACLNN_SUCCESS
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, reference.anti_quant(x, S[:1], dst_type=27))


@pytest.mark.parametrize("scale_dtype", [np.float32, ml_dtypes.bfloat16])
def test_signalling_nan_and_huge_scales_under_numpy_raise_mode(scale_dtype):
    """A user's ``numpy.seterr(all="raise")`` must not turn a NaN or overflowing scale into FloatingPointError."""
    bits = {np.float32: [0x7F800001, 0xFFA00000, 0x7F7FFFFF, 0x7F800000, 0x00000001],
            ml_dtypes.bfloat16: [0x7F81, 0xFFA0, 0x7F7F, 0x7F80, 0x0001]}[scale_dtype]
    raw = np.array(bits, np.uint32 if scale_dtype is np.float32 else np.uint16)
    scale = raw.view(scale_dtype)
    x = np.tile(np.array([-128, -1, 0, 1, 127], np.int8), (3, 1))
    for sqrt_mode in (False, True):
        for offset in (None, scale[::-1].copy()):
            with np.errstate(all="raise"):
                got = ascend_anti_quant(x, scale, offset, dst_type=27, sqrt_mode=sqrt_mode)
            assert_same_bits(got, reference.anti_quant(x, scale, offset, dst_type=27, sqrt_mode=sqrt_mode))
