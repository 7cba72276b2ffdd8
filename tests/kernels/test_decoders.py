"""The 8-bit float decoders, all 256 codes of each format, on raw float32 bits (NaN bits included): kernel ==
reference; reference == ml_dtypes (FLOAT8) and en_dtypes (HiFloat8, where installed); the spec's worked HiF8
codes (docs/spec.md section 8.4.4) and class counts (8.4.2)."""

import math
import platform
import re

import ml_dtypes
import numpy as np
import pytest
from numba import njit

from antiquant.core.dtypes import DataType
from antiquant.core.reference import QUIET_NAN_BITS, float8_values, hifloat8_values
from antiquant.kernels import decoders
from antiquant.kernels.bits import target_has_f16c
from antiquant.kernels.lookup import code_table

CODES = np.arange(256, dtype=np.uint8)
FORMATS = ("hifloat8", "float8_e5m2", "float8_e4m3fn")


def reference_values(name: str, codes=CODES) -> np.ndarray:
    if name == "hifloat8":
        return hifloat8_values(codes)
    return float8_values(codes, DataType[name.upper()])


def _looped(decode):
    @njit
    def run(codes, out):
        for i in range(codes.size):
            out[i] = decode(codes[i])
    return run


KINDS = ("bits", "f32") + (("f16c",) if target_has_f16c() else ())
KERNELS = {(name, kind): _looped(getattr(decoders, f"{name}_{kind}")) for name in FORMATS for kind in KINDS}


def kernel_bits(name: str, kind: str, codes=CODES) -> np.ndarray:
    out = np.empty(codes.size, np.uint32 if kind == "bits" else np.float32)
    KERNELS[name, kind](codes, out)
    return out.view(np.uint32)


def hexes(bits) -> list[str]:
    return [f"{int(b):#010x}" for b in bits]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("storage", [np.uint8, np.int8])
@pytest.mark.parametrize("name", FORMATS)
def test_kernel_equals_reference_on_every_code(name, storage, kind):
    got, want = kernel_bits(name, kind, CODES.view(storage)), reference_values(name).view(np.uint32)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"codes {hexes(bad[:8])}: got {hexes(got[bad[:8]])}, expected {hexes(want[bad[:8]])}"


@pytest.mark.parametrize("name", FORMATS)
def test_reference_reads_typed_arrays_and_any_shape(name):
    want = reference_values(name)
    assert np.array_equal(reference_values(name, CODES.view(np.int8).reshape(16, 16)).ravel().view(np.uint32),
                          want.view(np.uint32))
    if name != "hifloat8":
        typed = CODES.view(getattr(ml_dtypes, name))
        assert np.array_equal(reference_values(name, typed).view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("name", ["float8_e5m2", "float8_e4m3fn"])
def test_reference_equals_ml_dtypes_bit_for_bit(name):
    """Values, signed zeros and the NaN class; the NaN bits too: ml_dtypes gives the quiet NaN with the sign."""
    got = reference_values(name).view(np.uint32)
    want = CODES.view(getattr(ml_dtypes, name)).astype(np.float32).view(np.uint32)
    assert np.array_equal(got, want), hexes(np.flatnonzero(got != want)[:8])


def test_reference_equals_en_dtypes_bit_for_bit():
    en_dtypes = pytest.importorskip("en_dtypes", reason="en_dtypes (antiquant[hif8]) is not installed")
    got = reference_values("hifloat8").view(np.uint32)
    want = CODES.view(en_dtypes.hifloat8).astype(np.float32).view(np.uint32)
    assert np.array_equal(got, want), hexes(np.flatnonzero(got != want)[:8])


# docs/spec.md section 8.4.4, verbatim: code -> value
WORKED_HIF8 = {
    0x00: 0.0, 0x01: 2.0 ** -22, 0x07: 2.0 ** -16, 0x08: 1.0, 0x09: 1.125, 0x0F: 1.875, 0x10: 2.0, 0x13: 2.75,
    0x18: 0.5, 0x1F: 0.9375, 0x20: 4.0, 0x28: 8.0, 0x2E: 14.0, 0x3F: 0.234375, 0x40: 16.0, 0x43: 28.0,
    0x5F: 0.013671875, 0x60: 256.0, 0x61: 384.0, 0x6E: 32768.0, 0x6F: math.inf, 0x70: 0.00390625,
    0x7E: 3.0517578125e-05, 0x7F: 4.57763671875e-05, 0x80: math.nan, 0x81: -(2.0 ** -22), 0x88: -1.0, 0x98: -0.5,
    0xAE: -14.0, 0xEE: -32768.0, 0xEF: -math.inf, 0xFF: -4.57763671875e-05,
}
assert 2.0 ** -22 == 2.384185791015625e-07 and 2.0 ** -16 == 1.52587890625e-05  # as the table writes them


@pytest.mark.parametrize("decode", ["reference", "kernel"])
def test_the_spec_worked_hifloat8_codes(decode):
    values = reference_values("hifloat8") if decode == "reference" else kernel_bits("hifloat8", "f32").view(np.float32)
    for code, want in WORKED_HIF8.items():   # bits, so the NaN must be float32's plain quiet NaN 0x7FC00000
        got, want_bits = int(values.view(np.uint32)[code]), int(np.float32(want).view(np.uint32))
        assert got == want_bits, f"{code:#04x}: {got:#010x}, expected {want_bits:#010x} ({want})"


def test_hifloat8_classes():
    """253 finite codes (126 positive, 126 negative, one zero), all distinct; one NaN, two Inf (8.4.2)."""
    v = reference_values("hifloat8").astype(np.float64)
    finite = np.isfinite(v)
    assert (finite.sum(), np.isnan(v).sum(), np.isinf(v).sum()) == (253, 1, 2)
    assert ((v > 0).sum(), (v < 0).sum(), (v == 0).sum()) == (126 + 1, 126 + 1, 1)  # +-Inf are signed too
    assert np.unique(v[finite]).size == 253
    assert np.flatnonzero(np.isnan(v)).tolist() == [0x80] and np.flatnonzero(np.isinf(v)).tolist() == [0x6F, 0xEF]
    assert np.signbit(v[finite & (v == 0)]).sum() == 0  # no negative zero
    assert v[finite].max() == 32768.0 and v[finite].min() == -32768.0
    positive = v[finite & (v > 0)]
    assert positive.min() == 2.0 ** -22 and positive[positive >= 2.0 ** -15].min() == 2.0 ** -15
    # per Dot class (8.4.2): D=4 62 finite, D=3 64, D=2 64, D=1 32, D=0 16, DML 14 denormals and the zero
    p = CODES & 0x7F
    dot = np.select([p >= 0x60, p >= 0x40, p >= 0x20, p >= 0x10, p >= 0x08], ["D4", "D3", "D2", "D1", "D0"], "DML")
    counts = {d: int((finite & (dot == d)).sum()) for d in ("D4", "D3", "D2", "D1", "D0", "DML")}
    assert counts == {"D4": 62, "D3": 64, "D2": 64, "D1": 32, "D0": 16, "DML": 15}


def test_float8_edges():
    """docs/spec.md section 8.5's landmarks, and the classes: E4M3FN has no Inf and 2 NaNs, E5M2 2 Inf and 6."""
    e4 = reference_values("float8_e4m3fn").astype(np.float64)
    assert (e4[0x38], e4[0x7E], e4[0x08], e4[0x01]) == (1.0, 448.0, 2.0 ** -6, 2.0 ** -9)
    assert np.flatnonzero(np.isnan(e4)).tolist() == [0x7F, 0xFF] and not np.isinf(e4).any()
    e5 = reference_values("float8_e5m2").astype(np.float64)
    assert (e5[0x3C], e5[0x7B], e5[0x04], e5[0x01]) == (1.0, 57344.0, 2.0 ** -14, 2.0 ** -16)
    assert np.flatnonzero(np.isinf(e5)).tolist() == [0x7C, 0xFC]
    assert np.flatnonzero(np.isnan(e5)).tolist() == [0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF]
    for v in (e4, e5):
        assert v[0x80] == 0 and np.signbit(v[0x80])  # 0x80 is -0.0


@pytest.mark.parametrize("name", FORMATS)
def test_lookup_table_holds_every_value_in_binary16(name):
    """The table the vector lookups read: each code's binary16 bits widen to the reference's float32 bits."""
    bits = code_table(name)
    assert bits.dtype == np.uint16 and bits.shape == (256,)
    widened = bits.view(np.float16).astype(np.float32).view(np.uint32)
    want = reference_values(name).view(np.uint32)
    assert np.array_equal(widened, want), hexes(np.flatnonzero(widened != want)[:8])


@pytest.mark.parametrize("name", FORMATS)
def test_nan_policy(name):
    """Quiet NaN, no payload: 0x7FC00000 with the code's sign for FLOAT8, +0x7FC00000 for HiFloat8's 0x80."""
    bits = reference_values(name).view(np.uint32)
    nan_codes = np.flatnonzero(np.isnan(bits.view(np.float32)))
    want = [QUIET_NAN_BITS if name == "hifloat8" else QUIET_NAN_BITS | (int(c) >> 7) << 31 for c in nan_codes]
    assert bits[nan_codes].tolist() == want
    for kind in KINDS:
        assert kernel_bits(name, kind)[nan_codes].tolist() == want, kind


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="checked on x86-64 only")
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "bits"])
@pytest.mark.parametrize("name", FORMATS)
def test_a_loop_over_codes_vectorises(name, kind):
    """Selects, not branches: LLVM turns a loop of a decoder into vector code, in lanes no wider than the
    format it composes (32 bits for float32, 16 for binary16 where the decoder builds one), never 64."""
    run = KERNELS[name, kind]
    kernel_bits(name, kind)
    ir = run.inspect_llvm(run.signatures[0])
    assert re.search(r"<(4|8|16|32) x i(32|16)>", ir), "no vector of 32- or 16-bit lanes in the loop's IR"
    assert not re.search(r"<\d+ x i64>", ir), "64-bit lanes in the loop's IR"
