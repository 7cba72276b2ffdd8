"""torch_npu's own tests of ``npu_anti_quant``, ported as data, against antiquant.core.reference bit for bit.

Upstream, read at Ascend/op-plugin 517f2e7d0f202f38b76310706cb977ca2388ad21 and Ascend/pytorch (torch_npu)
9e73e708ab9350d203475609f36f8a43f6a0c2ab:

- test/test_custom_ops/test_npu_anti_quant.py (Ascend 950) and test/test_v2r1_ops/test_npu_anti_quant.py
  (Ascend 910B): ``test_anti_quant``'s ten calls (x from -127..127, scale and offset from -100..100, by
  ``create_common_tensor``) and ``test_anti_quant_invalid_dtype``;
- test/core_tests/test_fake_tensor.py ``TestAntiQuant.test_npu_anti_quant_meta``: the shape and dtype of the
  meta kernel (op_plugin/python/meta/_meta_registrations.py ``npu_anti_quant_meta``);
- the refusals of op_plugin/ops/opapi/AntiQuantKernelNpuOpApi.cpp, with torch_npu's GetAclDataType
  (torch_npu/csrc/custom_dtype/Init.h) and its tables (torch_npu/csrc/framework/utils/CalcuOpUtil.cpp).

Where an upstream expectation does not hold for those sources, the case records both and says why.
"""

import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

from antiquant import DataType, reference  # noqa: E402
from antiquant.torch import SCALAR_TYPE, _as_numpy, npu_anti_quant  # noqa: E402
from conftest import assert_same_bits  # noqa: E402

PLATFORMS = {"test_custom_ops": "Ascend950PR", "test_v2r1_ops": "Ascend910B"}

# test_anti_quant's shape_format: (x dtype, x shape), scale shape, offset shape or None, dst_dtype, src_dtype
ANTI_QUANT_CASES = [
    ((torch.int8, (10, 100)), (100,), None, torch.float16, None),
    ((torch.int8, (10, 100)), (100,), (100,), torch.float16, None),
    ((torch.int8, (10, 100)), (100,), None, torch.float16, torch.int8),
    ((torch.int8, (10, 100)), (100,), None, torch.float16, None),
    ((torch.int8, (10, 100)), (100,), None, torch.bfloat16, None),
    ((torch.int8, (10, 100)), (100,), (100,), torch.bfloat16, torch.int8),
    ((torch.int32, (10, 100)), (800,), None, torch.float16, None),
    ((torch.int32, (10, 100)), (800,), (800,), torch.float16, None),
    ((torch.int32, (10, 100)), (800,), None, torch.float16, torch.quint4x2),
    ((torch.int32, (10, 100)), (800,), None, torch.bfloat16, torch.quint4x2),
]
NP_DST = {torch.float16: (np.float16, DataType.FLOAT16), torch.bfloat16: (ml_dtypes.bfloat16, DataType.BF16)}


def as_numpy(t):
    """An independent copy of a tensor's values (bfloat16 through float32, which is exact)."""
    return t.float().numpy().astype(ml_dtypes.bfloat16) if t.dtype == torch.bfloat16 else t.numpy().copy()


@pytest.mark.parametrize("suite", PLATFORMS)
@pytest.mark.parametrize("case", range(len(ANTI_QUANT_CASES)))
def test_anti_quant(suite, case):
    (x_dtype, x_shape), scale_shape, offset_shape, dst, src = ANTI_QUANT_CASES[case]
    rng = np.random.default_rng(case)
    x = torch.from_numpy(rng.integers(-127, 127, x_shape).astype(np.int32)).to(x_dtype)
    scale = torch.from_numpy(rng.uniform(-100, 100, scale_shape).astype(np.float32))
    offset = None if offset_shape is None else torch.from_numpy(rng.uniform(-100, 100, offset_shape).astype(np.float32))
    got = npu_anti_quant(x, scale, offset=offset, dst_dtype=dst, src_dtype=src, platform=PLATFORMS[suite])
    np_dst, code = NP_DST[dst]
    want = reference.anti_quant(x.numpy(), scale.numpy(), None if offset is None else offset.numpy(), dst_type=code)
    assert got.dtype == dst and want.dtype == np_dst
    assert tuple(got.shape) == (10, 800 if x_dtype == torch.int32 else 100)
    assert_same_bits(as_numpy(got), want)


# test_anti_quant_invalid_dtype: x int8 [1, 2, 3, 4], scale [2, 0] float32, offset [2] int32, src_dtype int8.
INVALID = dict(x=torch.tensor([1, 2, 3, 4], dtype=torch.int8), scale=torch.tensor([2, 0], dtype=torch.float32),
               offset=torch.tensor([2], dtype=torch.int32), src_dtype=torch.int8)
# Both suites expect "Input dst_type must be valid, but got UNKNOWN_SCALAR". That check came with op-plugin
# 10c033fe (2026-02), when dst_dtype was cast to a ScalarType; op-plugin now reads it through GetAclDataType,
# whose range check (torch_npu 6002c111d, 2025-11) refuses -10 first; torch 2.13's NumOptions is 47. What
# GetAclDataType returns always converts to a named ScalarType, so that check can no longer fail.
INVALID_CASES = {
    # test_custom_ops passes dst_dtype=-10
    "test_custom_ops": (dict(dst_dtype=-10), RuntimeError, "data_type enum value (-10) is out of range: [0, 47]"),
    # test_v2r1_ops passes dst_type=-10, a keyword the schema lacks: refused before any check of the values
    "test_v2r1_ops": (dict(dst_type=-10), TypeError, "npu_anti_quant() got an unexpected keyword argument 'dst_type'"),
}


@pytest.mark.parametrize("suite", INVALID_CASES)
def test_anti_quant_invalid_dtype(suite):
    kwargs, error, message = INVALID_CASES[suite]
    with pytest.raises(error) as caught:
        npu_anti_quant(**INVALID, **kwargs, platform=PLATFORMS[suite])
    assert str(caught.value) == message


def test_npu_anti_quant_meta():
    """test_fake_tensor's case: y's shape is x's and its bytes those of x as float16; and the real call on the
    same shapes gives the reference's bits."""
    x = torch.randint(-128, 127, (20, 100), dtype=torch.int8, generator=torch.Generator().manual_seed(0))
    scale, offset = torch.randn(100), torch.randn(100)
    with FakeTensorMode() as mode:
        fake = npu_anti_quant(mode.from_tensor(x), mode.from_tensor(scale), offset=mode.from_tensor(offset),
                              dst_dtype=torch.float16)
    assert fake.shape == x.shape and fake.dtype == torch.float16
    assert fake.numel() * fake.element_size() == x.numel() * x.to(torch.float16).element_size()
    got = npu_anti_quant(x, scale, offset=offset, dst_dtype=torch.float16)
    assert_same_bits(got.numpy(), reference.anti_quant(x.numpy(), scale.numpy(), offset.numpy()))


# The meta kernel's shapes and dtypes: int32 x widens the last axis 8 times; dst_dtype defaults to float16.
META_CASES = [
    (torch.int8, (3, 5), None, None, (3, 5), torch.float16),
    (torch.int8, (7,), SCALAR_TYPE[torch.bfloat16], None, (7,), torch.bfloat16),
    (torch.int32, (2, 3, 4), None, SCALAR_TYPE[torch.quint4x2], (2, 3, 32), torch.float16),
    (torch.int32, (4,), torch.bfloat16, torch.quint4x2, (32,), torch.bfloat16),
]


@pytest.mark.parametrize("x_dtype,shape,dst,src,y_shape,y_dtype", META_CASES)
def test_fake_shapes_are_the_meta_kernels_and_the_real_ones(x_dtype, shape, dst, src, y_shape, y_dtype):
    x = torch.ones(shape, dtype=x_dtype)
    with FakeTensorMode() as mode:
        fake = npu_anti_quant(mode.from_tensor(x), mode.from_tensor(torch.ones(1)), dst_dtype=dst, src_dtype=src)
    real = npu_anti_quant(x, torch.ones(1), dst_dtype=dst, src_dtype=src)
    assert (tuple(fake.shape), fake.dtype) == (y_shape, y_dtype) == (tuple(real.shape), real.dtype)


# op-plugin's refusals before the operator (AntiQuantKernelNpuOpApi.cpp, in its order), as RuntimeError with
# its text; torch_npu appends a timestamped error-code line unless its compact error output is on.
F8 = torch.float8_e4m3fn
REFUSALS = [
    (dict(x=torch.ones(4)), "Input x must be int8, int32, hifloat8, float8_e5m2 or float8_e4m3fn"),
    (dict(x=torch.ones(4, dtype=torch.int32), src_dtype=torch.int8),
     "The datatype of x is int32, src_dtype must be int4"),
    (dict(x=torch.ones(4, dtype=torch.int8), src_dtype=torch.float8_e5m2), "The datatype of x must match src_dtype"),
    (dict(x=torch.ones(4, dtype=torch.uint8), src_dtype=torch.uint8), "The datatype of x must match src_dtype"),
    # a ScalarType torch_npu maps to no aclDataType fails in GetAclDataType before the comparison
    (dict(x=torch.ones(4, dtype=torch.int8), src_dtype=torch.quint4x2), "QUInt4x2 has not been supported"),
    (dict(x=torch.ones(4, dtype=F8), scale=torch.ones(1, dtype=torch.bfloat16)),
     "When x datatype is hifloat8, float8_e5m2 or float8_e4m3fn, scale_dtype and offset_dtype is only support float"),
    (dict(x=torch.ones(4, dtype=F8), offset=torch.ones(1, dtype=torch.bfloat16)),
     "When x datatype is hifloat8, float8_e5m2 or float8_e4m3fn, scale_dtype and offset_dtype is only support float"),
    (dict(x=torch.ones(4, dtype=torch.int8), dst_dtype=12), "QInt8 has not been supported"),
    (dict(x=torch.ones(4, dtype=torch.int8), dst_dtype=46), "UNKNOWN_SCALAR has not been supported"),  # Undefined
    (dict(x=torch.ones(4, dtype=torch.int8), dst_dtype=200), "data_type enum value (-56) is out of range: [0, 47]"),
    (dict(x=torch.ones(4, dtype=torch.int8), dst_dtype=256 + 44), "aclDataType:44 has not been supported"),
    (dict(x=torch.tensor(5, dtype=torch.int32)), "No supported for x is scalar when x dtype is int32"),
]


@pytest.mark.parametrize("call,message", REFUSALS)
def test_op_plugin_refusals_eager_and_fake(call, message):
    call = {"scale": torch.ones(1), **call}
    with pytest.raises(RuntimeError) as caught:
        npu_anti_quant(**call, platform="Ascend950PR")
    assert str(caught.value) == message
    with FakeTensorMode() as mode, pytest.raises(RuntimeError) as caught:
        npu_anti_quant(**{k: mode.from_tensor(v) if isinstance(v, torch.Tensor) else v for k, v in call.items()},
                       platform="Ascend950PR")
    assert str(caught.value) == message


# torch_npu's own dtype codes (256 + an aclDataType: torch_npu.int4 285, torch_npu.hifloat8 290,
# torch_npu.float8_e4m3fn 292) pass op-plugin's src_dtype checks where they name x's type.
TORCH_NPU_CODES = [(torch.int32, 256 + DataType.INT4), (torch.uint8, 256 + DataType.HIFLOAT8),
                   (torch.float8_e4m3fn, 256 + DataType.FLOAT8_E4M3FN), (torch.float8_e5m2, 256 + DataType.FLOAT8_E5M2)]


@pytest.mark.parametrize("x_dtype,src", TORCH_NPU_CODES)
def test_torch_npu_dtype_codes_as_src_dtype(x_dtype, src):
    codes = torch.arange(0, 256, 17, dtype=torch.int32)[:8].reshape(2, 4)
    x = codes if x_dtype == torch.int32 else codes.to(torch.uint8).view(x_dtype)
    scale = torch.tensor([0.25])
    got = npu_anti_quant(x, scale, src_dtype=src, dst_dtype=torch.bfloat16, platform="Ascend950PR")
    stored = _as_numpy("x", x).copy()   # the numpy dtype antiquant reads x as (HiFloat8: the raw-code stand-in)
    assert_same_bits(as_numpy(got), reference.anti_quant(stored, scale.numpy(), dst_type=DataType.BF16))


def _scalar_type_code(t: torch.Tensor) -> int:
    return t.dtype   # a dtype is its ScalarType code in TorchScript


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # TorchScript; exotic dtypes
def test_scalar_type_codes_are_torchs():
    """The code npu_anti_quant gives each torch dtype is the one torch itself uses (and torch_npu's binding)."""
    code_of = torch.jit.script(_scalar_type_code)
    assert len(SCALAR_TYPE) == 46
    for dtype, code in SCALAR_TYPE.items():
        assert code_of(torch.empty(0, dtype=dtype)) == code, dtype
