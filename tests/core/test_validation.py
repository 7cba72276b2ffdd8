"""docs/spec.md section 3: each rule, its status, its message, its order; a rejected call writes nothing."""

import ml_dtypes
import numpy as np
import pytest

from antiquant import (AclnnError, AclTensor, DataType, Status, aclGetRecentErrMsg, aclnnAscendAntiQuantGetWorkspaceSize,
                       ascend_anti_quant, pack_int4)

INVALID, NULLPTR = Status.ACLNN_ERR_PARAM_INVALID, Status.ACLNN_ERR_PARAM_NULLPTR
T = AclTensor.from_numpy


def args(**over):
    """A valid two-phase call (int8 [4, 8] per-channel, bf16 out), with fields replaced."""
    base = dict(x=T(np.zeros((4, 8), np.int8)), scale=T(np.ones(8, np.float32)), offset=T(np.zeros(8, np.float32)),
                dstType=27, sqrtMode=False, y=T(np.zeros((4, 8), ml_dtypes.bfloat16)))
    base.update(over)
    return base


def status_of(**over):
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(**args(**over))
    if status:
        assert size == 0 and executor is None
    return status, aclGetRecentErrMsg()


def test_valid_call_passes():
    assert status_of() == (Status.ACLNN_SUCCESS, "")


@pytest.mark.parametrize("name", ["x", "scale", "y"])
def test_missing_tensor_is_nullptr(name):
    status, message = status_of(**{name: None})
    assert status == NULLPTR and message.startswith(f"ACLNN_ERR_PARAM_NULLPTR (161001): {name}:")


def test_offset_may_be_missing():
    assert status_of(offset=None)[0] == Status.ACLNN_SUCCESS


CASES = {
    "x dtype": (dict(x=T(np.zeros((4, 8), np.float32))), "x: expected dtype in {INT4, INT8, INT32} on Ascend910B, got FLOAT"),
    "y dtype": (dict(y=T(np.zeros((4, 8), np.float32))), "y: expected dtype in {FLOAT16, BF16} on Ascend910B, got FLOAT"),
    "scale dtype": (dict(scale=T(np.ones(8, np.float16))), "scale: expected dtype in {FLOAT, BF16} on Ascend910B, got FLOAT16"),
    "offset dtype": (dict(offset=T(np.ones(8, np.float64))), "offset: expected dtype in {FLOAT, BF16} on Ascend910B, got DOUBLE"),
    "offset differs": (dict(offset=T(np.ones(8, ml_dtypes.bfloat16))), "offset: expected the same dtype as scale (FLOAT), got BF16"),
    "dstType value": (dict(dstType=2), "dstType: expected 1 (FLOAT16) or 27 (BF16), got 2"),
    "dstType negative": (dict(dstType=-1), "dstType: expected 1 (FLOAT16) or 27 (BF16), got -1"),
    "dstType vs y": (dict(dstType=1), "dstType: expected y's dtype BF16 (27), got FLOAT16 (1)"),
    "sqrtMode type": (dict(sqrtMode=1), "sqrtMode: expected a bool, got int 1"),
    "y shape": (dict(y=T(np.zeros((4, 9), ml_dtypes.bfloat16))), "y: expected shape (4, 8) (x's shape), got (4, 9)"),
    "rank 9": (dict(x=T(np.zeros((1,) * 8 + (8,), np.int8)), y=T(np.zeros((1,) * 8 + (8,), ml_dtypes.bfloat16))),
               "x: expected rank at most 8, got rank 9"),
    "scale 2-D": (dict(scale=T(np.ones((1, 8), np.float32)), offset=None), "scale: expected a non-empty 1-D tensor, got shape (1, 8)"),
    "scale empty": (dict(scale=T(np.ones(0, np.float32)), offset=None), "scale: expected a non-empty 1-D tensor, got shape (0,)"),
    "scale size": (dict(scale=T(np.ones(4, np.float32)), offset=None), "scale: expected size 1 or y's last dimension 8, got 4"),
    "offset shape": (dict(offset=T(np.ones(1, np.float32))), "offset: expected scale's shape (8,), got (1,)"),
    "int4 odd": (dict(x=T(np.zeros((4, 7), ml_dtypes.int4)), y=T(np.zeros((4, 7), ml_dtypes.bfloat16)), scale=T(np.ones(7, np.float32)), offset=None),
                 "x: INT4 needs an even last dimension, got shape (4, 7)"),
    "int32 y last": (dict(x=T(np.zeros((4, 1), np.int32)), y=T(np.zeros((4, 4), ml_dtypes.bfloat16)), offset=None, scale=T(np.ones(1, np.float32))),
                     "y: expected shape (4, 8) (x's shape with the last axis 8 times longer), got (4, 4)"),
    "int4 strided": (dict(x=T(np.zeros((4, 16), ml_dtypes.int4)[:, ::2]), offset=None),
                     "x: an INT4 tensor must be contiguous"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_status_and_message(case):
    over, message = CASES[case]
    status, got = status_of(**over)
    assert status == INVALID
    assert got.startswith("ACLNN_ERR_PARAM_INVALID (161002): " + message)


def test_order_presence_before_dtype_before_shape():
    assert status_of(x=None, y=T(np.zeros((4, 8), np.float32)))[0] == NULLPTR
    _, message = status_of(scale=T(np.ones(3, np.float16)), y=T(np.zeros((2, 2), ml_dtypes.bfloat16)))
    assert "scale: expected dtype" in message
    _, message = status_of(dstType=5, y=T(np.zeros((2, 2), ml_dtypes.bfloat16)))
    assert "dstType" in message


def test_dtype_rules_follow_the_platform():
    small = dict(platform="Ascend310P")
    x8, s32, y16 = T(np.zeros((2, 8), np.int8)), T(np.ones(8, np.float32)), T(np.zeros((2, 8), np.float16))
    size, ex, status = aclnnAscendAntiQuantGetWorkspaceSize(x8, s32, None, 1, False, y16, **small)
    assert status == Status.ACLNN_SUCCESS and ex.plan.platform == "Ascend310P"
    refused = [
        (T(np.zeros((2, 1), np.int32)), s32, T(np.zeros((2, 8), np.float16)), 1, "x: expected dtype in {INT8} on Ascend310P, got INT32"),
        (T(np.zeros((2, 8), ml_dtypes.int4)), s32, y16, 1, "x: expected dtype in {INT8} on Ascend310P, got INT4"),
        (x8, T(np.ones(8, ml_dtypes.bfloat16)), y16, 1, "scale: expected dtype in {FLOAT} on Ascend310P, got BF16"),
        (x8, s32, T(np.zeros((2, 8), ml_dtypes.bfloat16)), 27, "y: expected dtype in {FLOAT16} on Ascend310P, got BF16"),
    ]
    for x, s, y, dst, message in refused:
        assert aclnnAscendAntiQuantGetWorkspaceSize(x, s, None, dst, False, y, **small)[2] == INVALID
        assert message in aclGetRecentErrMsg()


def test_rejected_python_call_writes_nothing():
    out = np.full((4, 8), 3, np.float16)
    before = out.copy()
    with pytest.raises(AclnnError) as err:
        ascend_anti_quant(np.ones((4, 8), np.int8), np.ones(5, np.float32), out=out)
    assert err.value.status == INVALID and "scale: expected size 1 or out's last dimension 8, got 5" in str(err.value)
    np.testing.assert_array_equal(out.view(np.uint16), before.view(np.uint16))


def test_python_api_errors():
    x, s = np.ones((2, 8), np.int8), np.ones(1, np.float32)
    with pytest.raises(AclnnError) as err:
        ascend_anti_quant(None, s)
    assert err.value.status == NULLPTR
    with pytest.raises(TypeError, match="x: expected a numpy array, got list"):
        ascend_anti_quant([1, 2], s)
    with pytest.raises(TypeError, match="scale: .*complex128"):
        ascend_anti_quant(x, np.ones(1, complex))
    with pytest.raises(AclnnError, match="dst_type: expected"):
        ascend_anti_quant(x, s, dst_type="float64")
    with pytest.raises(AclnnError, match="scale: expected dtype in .* got DOUBLE"):
        ascend_anti_quant(x, np.ones(1, np.float64))
    with pytest.raises(AclnnError, match="out: expected memory apart from the inputs"):
        buf = np.zeros(32, np.int8)
        ascend_anti_quant(buf[:16].reshape(2, 8), s, out=buf.view(np.float16)[:16].reshape(2, 8))
    with pytest.raises(ValueError, match="unknown platform 'Ascend999'"):
        ascend_anti_quant(x, s, platform="Ascend999")


def test_packed_int4_tensor_checks():
    with pytest.raises(ValueError, match="cannot hold INT4 shape"):
        T(np.zeros(5, np.uint8), dtype=DataType.INT4, shape=(3, 3))
    t = T(pack_int4(np.zeros((2, 4), np.int8)), dtype=DataType.INT4)
    assert t.shape == (2, 4) and t.packed
