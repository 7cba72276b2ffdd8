"""Messages for people: a refusal names the argument the caller passed (y and dst_type when there is no out),
and each common mistake gets one hint which, followed literally, makes the call run."""

import re

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclnnError, AclTensor, ascend_anti_quant, reference
from antiquant.aclnn import aclGetRecentErrMsg, aclnnAscendAntiQuantGetWorkspaceSize

X = np.arange(-16, 16, dtype=np.int8).reshape(4, 8)
SCALE = np.linspace(0.5, 2, 8, dtype=np.float32)


def message(call) -> str:
    with pytest.raises((AclnnError, TypeError)) as info:
        call()
    return str(info.value)


def test_without_out_the_result_is_y():
    assert message(lambda: ascend_anti_quant(X, SCALE[:5])) == \
        "ACLNN_ERR_PARAM_INVALID (161002): scale: expected size 1 or y's last dimension 8, got 5"


def test_with_out_it_is_out():
    out = np.empty((4, 8), np.float16)
    assert message(lambda: ascend_anti_quant(X, SCALE[:5], out=out)) == \
        "ACLNN_ERR_PARAM_INVALID (161002): scale: expected size 1 or out's last dimension 8, got 5"


def test_without_out_a_dtype_the_platform_lacks_is_dst_types():
    assert message(lambda: ascend_anti_quant(X, SCALE, platform="Ascend310P", dst_type="bfloat16")) == \
        "ACLNN_ERR_PARAM_INVALID (161002): dst_type: expected dtype in {FLOAT16} on Ascend310P, got BF16"
    y = ascend_anti_quant(X, SCALE, platform="Ascend310P", dst_type="float16")
    assert y.dtype == np.float16


def test_the_two_phase_api_names_its_y_argument():
    y = np.empty((4, 8), np.float32)
    *_, status = aclnnAscendAntiQuantGetWorkspaceSize(AclTensor.from_numpy(X), AclTensor.from_numpy(SCALE), None, 1,
                                                      False, AclTensor.from_numpy(y))
    assert status == 161002 and "y: expected dtype in {FLOAT16, BF16} on Ascend910B, got FLOAT" in aclGetRecentErrMsg()


def test_a_torch_tensor_is_pointed_to_the_torch_api():
    torch = pytest.importorskip("torch")
    x, scale = torch.from_numpy(X), torch.from_numpy(SCALE)
    assert message(lambda: ascend_anti_quant(x, scale)) == \
        "x: expected a numpy array, got Tensor; for torch tensors use antiquant.torch.npu_anti_quant"
    from antiquant.torch import npu_anti_quant
    y = npu_anti_quant(x, scale)
    assert np.array_equal(y.numpy().view(np.uint16), reference.anti_quant(X, SCALE).view(np.uint16))


def followed(text: str, name: str, value):
    """The expression that ends the hint (after its last ": " or "convert it with "), evaluated with ``name``
    bound to ``value``."""
    expression = re.split(r": |convert it with ", text)[-1]
    if expression.startswith("."):          # a method to call on the value: ".astype('<f4')"
        expression = name + expression
    return eval(expression, {"numpy": np, name: value})


@pytest.mark.parametrize("scale,text", [
    (np.float32(0.5), "scale: expected a numpy array, got float32; one scale for the whole tensor is a 1-element "
                      "array: numpy.full(1, scale, dtype=numpy.float32)"),
    (0.5, "scale: expected a numpy array, got float; one scale for the whole tensor is a 1-element array: "
          "numpy.full(1, scale, dtype=numpy.float32)"),
    (ml_dtypes.bfloat16(0.5), "scale: expected a numpy array, got bfloat16; one scale for the whole tensor is a "
                              "1-element array: numpy.full(1, scale, dtype=numpy.float32)"),
    (np.array(0.5, np.float32), "ACLNN_ERR_PARAM_INVALID (161002): scale: expected a non-empty 1-D tensor, got shape "
                                "(); one scale for the whole tensor has shape (1,): numpy.reshape(scale, 1)"),
    (SCALE.tolist(), "scale: expected a numpy array, got list; convert it with numpy.asarray(scale, "
                     "dtype=numpy.float32)"),
    (SCALE.astype(">f4"), "scale: AclTensor.from_numpy: numpy dtype >f4 is big-endian; the operator reads "
                          "little-endian values: convert it with .astype('<f4')"),
], ids=["numpy scalar", "python float", "bfloat16 scalar", "0-d array", "list", "big-endian"])
def test_each_scale_mistake_has_a_hint_that_works(scale, text):
    assert message(lambda: ascend_anti_quant(X, scale)) == text
    fixed = followed(text, "scale", scale)
    want = reference.anti_quant(X, np.asarray(fixed))
    assert np.array_equal(ascend_anti_quant(X, fixed).view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("x,text", [
    (X.tolist(), "x: expected a numpy array, got list; convert it with numpy.asarray(x, dtype=numpy.int8)"),
    (X.astype(">i4"), "x: AclTensor.from_numpy: numpy dtype >i4 is big-endian; the operator reads little-endian "
                      "values: convert it with .astype('<i4')"),
], ids=["list", "big-endian int32"])
def test_each_x_mistake_has_a_hint_that_works(x, text):
    scale = SCALE if isinstance(x, list) else np.ones(64, np.float32)       # an int32 x holds 8 int4 per word
    assert message(lambda: ascend_anti_quant(x, scale)) == text
    fixed = followed(text, "x", x)
    assert ascend_anti_quant(fixed, scale).shape == reference.anti_quant(fixed, scale).shape


def test_an_offset_scalar_has_the_scales_hint():
    text = message(lambda: ascend_anti_quant(X, SCALE[:1], 3.0))
    assert text == ("offset: expected a numpy array, got float; one offset for the whole tensor is a 1-element array: "
                    "numpy.full(1, offset, dtype=numpy.float32)")
    assert ascend_anti_quant(X, SCALE[:1], followed(text, "offset", 3.0)).shape == X.shape


def test_out_of_the_wrong_kind_says_what_out_is():
    assert re.fullmatch(r"out: expected a numpy array, got list; pass a numpy array of y's shape and dtype .*",
                        message(lambda: ascend_anti_quant(X, SCALE, out=[0.0] * 32)))
