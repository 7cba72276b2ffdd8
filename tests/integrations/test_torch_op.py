"""``torch.ops.antiquant.npu_anti_quant`` under torch.compile (inductor, fullgraph) and torch.export: a module
that dequantizes its weight on the fly gives the bits of eager mode; registration survives reloads."""

import dataclasses
import importlib
import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

import antiquant.integrations.torch as adapter  # noqa: E402
from antiquant import AclnnError, pack_int4  # noqa: E402
from antiquant.torch import npu_anti_quant  # noqa: E402


class QuantLinear(torch.nn.Module):
    """``a @ dequant(w)``: an [in, out] int8 weight, or int32 holding 8 int4 along out, with per-out scales."""

    def __init__(self, w, scale, offset, platform="Ascend910B"):
        super().__init__()
        self.register_buffer("w", w)
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)
        self.src = torch.quint4x2 if w.dtype == torch.int32 else None
        self.platform = platform

    def forward(self, a):
        w = npu_anti_quant(self.w, self.scale, offset=self.offset, dst_dtype=a.dtype, src_dtype=self.src,
                           platform=self.platform)
        return a @ w, w


def module(kind: str) -> tuple[QuantLinear, "torch.Tensor"]:
    g = torch.Generator().manual_seed(len(kind))
    if kind == "int8":
        w = torch.randint(-128, 128, (64, 48), dtype=torch.int8, generator=g)
    elif kind == "int4":
        w = torch.from_numpy(pack_int4(torch.randint(-8, 8, (64, 48), generator=g).numpy(), "int32"))
    else:   # Ascend 950's float8 x, through the schema's platform argument
        w = (torch.randn(64, 48, generator=g) * 8).to(torch.float8_e4m3fn)
    m = QuantLinear(w, torch.rand(48, generator=g) / 8, torch.randn(48, generator=g),
                    platform="Ascend950PR" if kind == "float8" else "Ascend910B")
    return m, torch.randn(5, 64, generator=g).to(torch.bfloat16)


def same_bits(a, b) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(torch.int16), b.view(torch.int16))


KINDS = ["int8", "int4", "float8"]


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_fullgraph_is_eager_bit_for_bit(kind):
    m, a = module(kind)
    torch._dynamo.reset()
    compiled = torch.compile(m, fullgraph=True)   # inductor: a graph break would raise
    for got, want in zip(compiled(a), m(a)):
        assert same_bits(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_exported_program_calls_the_op_and_is_eager_bit_for_bit(kind):
    m, a = module(kind)
    program = torch.export.export(m, (a,))
    targets = [node.target for node in program.graph.nodes if node.op == "call_function"]
    assert torch.ops.antiquant.npu_anti_quant.default in targets
    for got, want in zip(program.module()(a), m(a)):
        assert same_bits(got, want)


def test_a_compiled_call_refuses_what_an_eager_one_does():
    """The fake kernel refuses a dst_dtype the operator refuses, so tracing fails as the eager call does."""
    x, scale = torch.ones(4, dtype=torch.int8), torch.ones(1)
    with pytest.raises(AclnnError) as eager:
        npu_anti_quant(x, scale, dst_dtype=torch.float32)
    with FakeTensorMode() as mode, pytest.raises(AclnnError) as fake:
        npu_anti_quant(mode.from_tensor(x), mode.from_tensor(scale), dst_dtype=torch.float32)
    assert str(fake.value) == str(eager.value)


def test_a_registered_platform_crosses_the_schema_by_name(platform_registry):
    mine = platform_registry.register(dataclasses.replace(platform_registry.get("Ascend950PR"), name="Mine-950"))
    x = torch.zeros(2, 8, dtype=torch.float8_e5m2)
    assert npu_anti_quant(x, torch.ones(8), platform=mine).tolist() == [[0.0] * 8] * 2
    with pytest.raises(AclnnError, match="x: expected dtype in"):
        npu_anti_quant(x, torch.ones(8))        # Ascend910B, the schema's default: no 8-bit float x


def test_registration_survives_reloads():
    x, scale = torch.tensor([1, -2], dtype=torch.int8), torch.tensor([0.5])
    for _ in range(2):
        importlib.reload(adapter)
    assert adapter.npu_anti_quant(x, scale).tolist() == [0.5, -1.0]
    assert torch.ops.antiquant.npu_anti_quant(x, scale, dst_dtype=15).dtype == torch.bfloat16
    packed = x.int()
    with FakeTensorMode() as mode:   # the fake kernel is bound again too
        assert adapter.npu_anti_quant(mode.from_tensor(packed), mode.from_tensor(scale)).shape == (16,)


def test_import_antiquant_leaves_torch_alone_and_the_adapter_registers():
    code = ("import json, sys, antiquant; before = 'torch' in sys.modules; import antiquant.torch, torch; "
            "print(json.dumps([before, str(torch.ops.antiquant.npu_anti_quant.default._schema)]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before, schema = json.loads(done.stdout.splitlines()[-1])
    assert not before
    assert schema == ("antiquant::npu_anti_quant(Tensor x, Tensor scale, *, Tensor? offset=None, int? dst_dtype=None, "
                      "int? src_dtype=None, str platform=\"Ascend910B\") -> Tensor")
