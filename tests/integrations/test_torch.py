"""``antiquant.torch.npu_anti_quant`` against torch_npu's documentation and the numpy API, bit for bit."""

import importlib
import itertools
import re
import sys

import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from antiquant import AclnnError, ascend_anti_quant, pack_int4  # noqa: E402
from antiquant.torch import _as_numpy, npu_anti_quant  # noqa: E402
from conftest import assert_same_bits  # noqa: E402

NP_DST = {torch.float16: np.float16, torch.bfloat16: ml_dtypes.bfloat16}


def as_numpy(t: "torch.Tensor") -> np.ndarray:
    """An independent copy of a tensor's values as numpy (bfloat16 through float32, which is exact)."""
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy().copy()


def test_documented_example():
    # torch_npu docs (Ascend/op-plugin docs/context/torch_npu-npu_anti_quant.md), single-operator example:
    # x [1, 2, 3, 4] int8, scale [2.0], offset [2.0], dst_dtype float16 -> tensor([ 6.,  8., 10., 12.])
    x = torch.tensor([1, 2, 3, 4], dtype=torch.int8)
    out = npu_anti_quant(x, torch.tensor([2.0]), offset=torch.tensor([2.0]), dst_dtype=torch.float16)
    assert out.dtype == torch.float16 and out.tolist() == [6.0, 8.0, 10.0, 12.0]
    # dst_dtype defaults to float16, offset to none (same docs)
    assert npu_anti_quant(x, torch.tensor([2.0])).dtype == torch.float16


def test_int32_carries_eight_int4_low_nibble_first():
    # int32 x with src_dtype=torch.quint4x2: 8 int4 per value, y's last axis 8 times x's (op-plugin op_api)
    x = torch.tensor([[0x76543210, -0x789ABCDF]], dtype=torch.int32)  # 0x87654321 as int32
    out = npu_anti_quant(x, torch.tensor([1.0]), src_dtype=torch.quint4x2, dst_dtype=torch.bfloat16)
    assert out.shape == (1, 16) and out.dtype == torch.bfloat16
    assert out.float().tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, -8]]


def strided(t: "torch.Tensor", layout: str) -> "torch.Tensor":
    """``t``'s values in a given memory layout: contiguous, transposed storage, or every other element."""
    if layout == "contiguous":
        return t.clone()
    if layout == "transposed":
        return t.t().contiguous().t() if t.dim() == 2 else t.clone()
    wide = torch.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype)
    wide[..., ::2] = t
    return wide[..., ::2]


CASES = list(itertools.product(("int8", "int32"), (torch.float32, torch.bfloat16), (False, True),
                               (torch.float16, torch.bfloat16), ("contiguous", "transposed", "every_other")))


@pytest.mark.parametrize("kind,scale_dtype,has_offset,dst,layout", CASES)
def test_same_bits_as_numpy_api(kind, scale_dtype, has_offset, dst, layout):
    rng = np.random.default_rng(len(CASES) * 7 + CASES.index((kind, scale_dtype, has_offset, dst, layout)))
    if kind == "int8":
        values = rng.integers(-128, 128, (24, 40), dtype=np.int8)
        x = torch.from_numpy(values.copy())
    else:
        x = torch.from_numpy(pack_int4(rng.integers(-8, 8, (24, 40)), np.int32))
    n = x.shape[-1] * (8 if kind == "int32" else 1)
    scale = torch.from_numpy((rng.standard_normal(n) * 0.05).astype(np.float32)).to(scale_dtype)
    offset = torch.from_numpy(rng.normal(0, 4, n).astype(np.float32)).to(scale_dtype) if has_offset else None
    x, scale = strided(x, layout), strided(scale, layout)
    offset = None if offset is None else strided(offset, layout)
    src = torch.quint4x2 if kind == "int32" else None
    got = npu_anti_quant(x, scale, offset=offset, dst_dtype=dst, src_dtype=src)
    want = ascend_anti_quant(as_numpy(x), as_numpy(scale), None if offset is None else as_numpy(offset),
                             dst_type=NP_DST[dst])
    assert got.dtype == dst and got.is_contiguous()
    assert_same_bits(as_numpy(got), want)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.float32, torch.bfloat16])
def test_tensors_cross_as_views(dtype):
    base = torch.arange(48).reshape(6, 8).to(dtype)
    for t in (base, base.t(), base[:, ::3], base[2:]):
        array = _as_numpy("x", t)
        assert array.shape == tuple(t.shape)
        assert array.ctypes.data == t.data_ptr() and np.shares_memory(array, _as_numpy("x", base))
        assert array.dtype.itemsize == t.element_size()


def test_per_tensor_scale_and_expanded_inputs():
    x = torch.tensor([[1, -2, 3, -4]], dtype=torch.int8).expand(3, 4)  # zero stride
    out = npu_anti_quant(x, torch.tensor([0.5], dtype=torch.bfloat16).expand(4),
                         offset=torch.tensor([1.0], dtype=torch.bfloat16).expand(4), dst_dtype=torch.bfloat16)
    assert out.float().tolist() == [[1.0, -0.5, 2.0, -1.5]] * 3


def test_scale_that_requires_grad_is_read_not_copied():
    scale = torch.tensor([2.0], requires_grad=True)
    assert npu_anti_quant(torch.tensor([3], dtype=torch.int8), scale).tolist() == [6.0]


@pytest.mark.parametrize("call,message", [
    (lambda: npu_anti_quant(torch.ones(4, dtype=torch.int8), torch.ones(3)), "scale: expected size 1"),
    (lambda: npu_anti_quant(torch.ones(4, dtype=torch.int8), torch.ones(1),
                            offset=torch.ones(1, dtype=torch.bfloat16)), "offset: expected the same dtype"),
    (lambda: npu_anti_quant(torch.ones(4, dtype=torch.int8), torch.ones(1), dst_dtype=torch.float32),
     r"dst_dtype: expected torch.float16 or torch.bfloat16 \(the operator's dst_type FLOAT16 or BF16\), got "
     r"torch.float32 \(aclDataType 0\)"),
    (lambda: npu_anti_quant(torch.ones(4, dtype=torch.int8), torch.ones(1), dst_dtype=torch.bfloat16,
                            platform="Ascend310P"),
     r"dst_dtype: expected dtype in \{FLOAT16\} on Ascend310P, got BF16"),
    (lambda: npu_anti_quant(None, torch.ones(1)), "x: expected a tensor"),
])
def test_operator_refusals_name_the_argument(call, message):
    with pytest.raises(AclnnError, match=message):
        call()


def test_non_tensors_are_type_errors():
    with pytest.raises(TypeError, match="x: expected a torch.Tensor, got list"):
        npu_anti_quant([1, 2], torch.ones(1))


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    monkeypatch.delitem(sys.modules, "antiquant.torch")
    monkeypatch.delitem(sys.modules, "antiquant.integrations.torch")
    from antiquant.extras import install_hint
    with pytest.raises(ImportError, match=re.escape(f"antiquant.torch needs PyTorch: {install_hint('torch')}")):
        importlib.import_module("antiquant.torch")


# -- Ascend 950: FLOAT8 x ---------------------------------------------------------------------------------------

FLOAT8 = {torch.float8_e4m3fn: ml_dtypes.float8_e4m3fn, torch.float8_e5m2: ml_dtypes.float8_e5m2}


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
@pytest.mark.parametrize("dst", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("scale_shape", [(1,), (16,), (8,)], ids=["per-tensor", "per-channel", "per-head"])
def test_float8_x_on_950(dtype, dst, scale_shape):
    """Every code of the format (NaN and Inf too) against the numpy API on the same bytes."""
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).repeat(4)[:4 * 8 * 16].reshape(4, 8, 16)
    x = codes.view(dtype)
    scale = torch.rand(scale_shape, generator=torch.Generator().manual_seed(1))
    offset = torch.randn(scale_shape, generator=torch.Generator().manual_seed(2))
    got = npu_anti_quant(x, scale, offset=offset, dst_dtype=dst, platform="Ascend950PR")
    want = ascend_anti_quant(codes.numpy().view(FLOAT8[dtype]), scale.numpy(), offset.numpy(),
                             dst_type=27 if dst == torch.bfloat16 else 1, platform="Ascend950PR")
    assert got.dtype == dst and tuple(got.shape) == (4, 8, 16)
    assert_same_bits(as_numpy(got), want)


def test_float8_x_pairs_with_its_own_src_dtype():
    x = torch.zeros(4, 16, dtype=torch.float8_e5m2)
    scale = torch.ones(16)
    npu_anti_quant(x, scale, src_dtype=torch.float8_e5m2, platform="Ascend950PR")
    with pytest.raises(RuntimeError, match="The datatype of x must match src_dtype"):
        npu_anti_quant(x, scale, src_dtype=torch.int8, platform="Ascend950PR")
    with pytest.raises(AclnnError, match="x: expected dtype in"):
        npu_anti_quant(x, scale)                                    # Ascend910B: no 8-bit float x
    with pytest.raises(RuntimeError, match="scale_dtype and offset_dtype is only support float"):
        npu_anti_quant(x, scale.to(torch.bfloat16), platform="Ascend950PR")
