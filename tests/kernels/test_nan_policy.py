"""One NaN policy (docs/spec.md section 1): every path gives the reference's bits, NaN payloads included.

Every class of float32 NaN (quiet and signalling, both signs, payload only in the high bits, only in the low
bits, all ones) as scale and as offset, against each other and against finite values, through every x
source, scale layout, destination, float16 rounding (F16C and portable) and launch (serial, parallel,
streaming, UB-staged); and the roundings themselves against numpy, ml_dtypes and F16C. Raw bits throughout.
"""

import functools
import itertools

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import njit

from antiquant import ascend_anti_quant, kernels, reference
from antiquant.core import launch as launching
from antiquant.kernels import dequant, staged
from antiquant.kernels.bits import bf16_bits, bf16_bits_quiet, f16_bits_hw, f16_bits_sw, target_has_f16c

QUIET = 0x00400000                                  # float32's quiet bit
SIGN = 0x80000000


def nan_classes(sign: int, quiet: int, payloads: tuple, dtype) -> np.ndarray:
    """One NaN of each class of a binary format (its sign bit, quiet bit and payloads below the quiet bit:
    none, only the highest bit, only the lowest, all ones): both signs, quiet and signalling (a signalling
    NaN needs a payload: without one it is infinity)."""
    exponent = (sign - 1) & ~(2 * quiet - 1)            # all ones: the bits below the sign, above the mantissa
    return np.array([s | exponent | q | p for s in (0, sign) for q in (quiet, 0) for p in payloads if q or p], dtype)


NAN_BITS = nan_classes(SIGN, QUIET, (0, 0x00200000, 0x00000001, 0x003FFFFF), np.uint32)
BF16_NAN_BITS = nan_classes(0x8000, 0x0040, (0, 0x20, 0x01, 0x3F), np.uint16)
FINITE = np.float32([1.5, -0.75])


def signalling(bits: np.ndarray) -> np.ndarray:
    return ((bits & 0x7F800000) == 0x7F800000) & (bits & 0x007FFFFF != 0) & (bits & QUIET == 0)


def values_of(dtype) -> np.ndarray:
    """Every NaN class and two finite values, as scale/offset of ``dtype`` (float32 or bfloat16)."""
    if dtype == "float32":
        return np.concatenate([NAN_BITS.view(np.float32), FINITE])
    return np.concatenate([BF16_NAN_BITS.view(ml_dtypes.bfloat16), FINITE.astype(ml_dtypes.bfloat16)])


# -- the roundings ----------------------------------------------------------------------------------------

@njit
def _convert(src, out, which):
    for i in range(src.size):
        out[i] = (bf16_bits(src[i]) if which == 0 else f16_bits_sw(src[i]) if which == 1 else
                  f16_bits_hw(src[i]) if which == 2 else bf16_bits_quiet(src[i]))


def converted(bits: np.ndarray, which: str) -> np.ndarray:
    out = np.empty(bits.size, np.uint16)
    _convert(bits.view(np.float32), out, {"bf16": 0, "sw": 1, "hw": 2, "bf16_quiet": 3}[which])
    return out


def numpy_f16(bits: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return bits.view(np.float32).astype(np.float16).view(np.uint16)


HW = pytest.mark.skipif(not target_has_f16c(), reason="the CPU has no F16C")


def test_portable_float16_gives_numpys_bits_for_every_quiet_nan():
    quiet = NAN_BITS[~signalling(NAN_BITS)]
    np.testing.assert_array_equal(converted(quiet, "sw"), numpy_f16(quiet))


def test_portable_float16_quiets_a_signalling_nan_keeping_sign_and_top_payload():
    """numpy keeps it signalling (0x7C01 for a low payload); F16C and the portable rounding quiet it."""
    snan = NAN_BITS[signalling(NAN_BITS)]
    np.testing.assert_array_equal(converted(snan, "sw"), numpy_f16(snan | np.uint32(QUIET)))


@HW
def test_portable_float16_gives_f16c_bits_for_every_nan():
    np.testing.assert_array_equal(converted(NAN_BITS, "sw"), converted(NAN_BITS, "hw"))


def test_bfloat16_gives_ml_dtypes_bits_for_every_nan():
    with np.errstate(invalid="ignore"):
        want = NAN_BITS.view(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)
    np.testing.assert_array_equal(converted(NAN_BITS, "bf16"), want)
    assert set(want.tolist()) == {0x7FC0, 0xFFC0}


def test_bfloat16_without_the_nan_test_for_payload_free_quiet_nans():
    """The quiet NaNs arithmetic makes and propagates (no payload below the quiet bit) round to ml_dtypes' bits
    without the NaN test; one with a low payload would not, which is why only calls proven free of such NaNs
    (no NaN in scale or offset) take ``bf16_bits_quiet``."""
    quiet = np.uint32([0x7FC00000, 0xFFC00000])
    np.testing.assert_array_equal(converted(quiet, "bf16_quiet"), [0x7FC0, 0xFFC0])
    assert converted(np.uint32([0x7FFFFFFF]), "bf16_quiet")[0] != converted(np.uint32([0x7FFFFFFF]), "bf16")[0]


NANS = st.builds(lambda sign, payload: sign | 0x7F800000 | payload, st.sampled_from([0, SIGN]),
                 st.integers(1, 0x007FFFFF))


@given(st.lists(st.one_of(NANS, st.integers(0, 2**32 - 1)), min_size=1, max_size=64))
def test_roundings_of_any_pattern(words):
    """Arbitrary float32 patterns, half of them NaNs: float16 as numpy converts the quieted pattern (and as
    F16C, where the CPU has it), bfloat16 as ml_dtypes."""
    bits = np.array(words, np.uint64).astype(np.uint32)
    quieted = np.where(np.isnan(bits.view(np.float32)), bits | np.uint32(QUIET), bits)
    np.testing.assert_array_equal(converted(bits, "sw"), numpy_f16(quieted))
    if target_has_f16c():
        np.testing.assert_array_equal(converted(bits, "hw"), numpy_f16(quieted))
    with np.errstate(invalid="ignore"):
        want = bits.view(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)
    np.testing.assert_array_equal(converted(bits, "bf16"), want)
    number = ~np.isnan(bits.view(np.float32))
    np.testing.assert_array_equal(converted(bits[number], "bf16_quiet"), want[number])


# -- the rule for two NaN operands ------------------------------------------------------------------------

def f32(bits: int) -> np.float32:
    return np.array(bits, np.uint32).view(np.float32)[()]


def f16_of(bits: int) -> int:
    return int(numpy_f16(np.array([bits], np.uint32))[0])


@pytest.mark.parametrize("sqrt_mode", [False, True])
def test_the_first_nan_operand_wins_quieted(sqrt_mode):
    """x + offset: offset's NaN over scale's in the multiply; a NaN code of x over offset's and scale's.
    64 elements: there numpy's own loops return the scale's NaN from the multiply."""
    o, s = 0xFF800000 | 0x00155555, 0x7FC00000 | 0x000AAAAA          # a -sNaN offset, a +qNaN scale
    x = np.tile(np.int8([3, -128]), (1, 32))
    y = reference.anti_quant(x, np.array([f32(s)]), np.array([f32(o)]), dst_type=1, sqrt_mode=sqrt_mode)
    assert (y.view(np.uint16) == f16_of(o | QUIET)).all()
    y = reference.anti_quant(x, np.array([f32(s)]), dst_type=1, sqrt_mode=sqrt_mode)
    assert (y.view(np.uint16) == f16_of(s)).all()
    nan_code = np.tile(np.uint8([0xFF, 0x7F]), (1, 32)).view(ml_dtypes.float8_e4m3fn)   # -NaN, +NaN
    for offset in (np.array([f32(o)]), None):
        y = reference.anti_quant(nan_code, np.array([f32(s)]), offset, dst_type=1)
        assert (y.view(np.uint16) == np.tile(np.uint16([0xFE00, 0x7E00]), (1, 32))).all()


# -- every kernel path against the reference --------------------------------------------------------------

SOURCES = ("int8", "int4", "int4_packed", "int32", *reference.FLOAT8_KINDS)
NAN_CODES = {"hifloat8": [-128], "float8_e5m2": [-1, 127, -3], "float8_e4m3fn": [-1, 127]}   # as int8 values
CASTS = ("bf16", "f16_hw", "f16_sw") if target_has_f16c() else ("bf16", "f16_sw")
LAUNCHES = ("serial", "parallel", "streaming", "ub")
# "row": one row, each column its pair (two-lane sources read scale/offset in column order there)
LAYOUTS = [(along, off) for along in ("none", "columns", "row", "rows") for off in (False, True)]
# Every source through every cast and launch; the scale layouts and offset rotate through each source's cases
# (each specialisation compiles for about a second in a fresh checkout).
PATHS = [(source, cast, run, *LAYOUTS[i % len(LAYOUTS)])
         for source in SOURCES for i, (cast, run) in enumerate(itertools.product(CASTS, LAUNCHES))]


def pairs(values: np.ndarray, has_offset: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(scale, offset) running through every pair of ``values`` (offset None without one)."""
    if not has_offset:
        return values, None
    s, o = np.meshgrid(np.arange(values.size), np.arange(values.size))
    return values[s.ravel()], values[o.ravel()]


def x_of(source: str, shape, rng):
    values = reference.random_values(source, shape, rng)
    codes, rows = np.array(NAN_CODES.get(source, []), np.int8), values.reshape(-1, shape[-1])
    if rows.shape[0] >= codes.size:
        rows[:codes.size] = codes[:, None]          # NaN codes in leading rows
    else:
        rows[0, :codes.size] = codes                # one row: in its leading columns
    return reference.stored_x(source, values)


@pytest.fixture
def path(request, monkeypatch):
    """Patch the launch machinery to take the path's cast and launch; returns the call's mode."""
    source, cast, run, along, has_offset = request.param
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    if run != "serial":
        monkeypatch.setattr(launching, "PARALLEL_MIN_ELEMENTS", 0)
    if run == "streaming":
        monkeypatch.setattr(launching, "STREAMING_MIN_BYTES", 0)
    if cast == "f16_sw":
        monkeypatch.setattr(kernels, "fused_kernel", functools.partial(dequant.fused_kernel, hw_f16=False))
        monkeypatch.setattr(kernels, "staged_kernel", functools.partial(staged.staged_kernel, hw_f16=False))
    return request.param


@pytest.mark.parametrize("path", PATHS, indirect=True, ids=lambda p: "-".join(map(str, p)))
def test_every_nan_class_as_scale_and_offset(path):
    source, cast, run, along, has_offset = path
    float8 = source in reference.FLOAT8_KINDS
    platform = "Ascend950PR" if float8 or along == "rows" else "Ascend910B"
    dst = 27 if cast == "bf16" else 1
    mode = "ub" if run == "ub" else "fused"
    rng = np.random.default_rng(len(source))
    for scale_dtype, sqrt_mode in itertools.product(("float32",) if float8 else ("float32", "bfloat16"),
                                                     (False,) if float8 else (False, True)):
        scales, offsets = pairs(values_of(scale_dtype), has_offset)
        if along == "none":                  # one call per pair
            calls = [(scales[i:i + 1], None if offsets is None else offsets[i:i + 1], (4, 320))
                     for i in range(scales.size)]
        elif along in ("columns", "row"):    # each column its pair
            calls = [(scales, offsets, (8 if along == "columns" else 1, scales.size))]
        else:                                # each row (head) its pair
            calls = [(scales, offsets, (scales.size, 320))]
        for scale, offset, shape in calls:
            x = x_of(source, shape, rng)
            y = ascend_anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode, platform=platform, mode=mode)
            want = reference.anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
            assert y.dtype == want.dtype        # raw bits, not conftest's comparison: that is under test too
            np.testing.assert_array_equal(y.view(np.uint16), want.view(np.uint16))
            if dst == 1:                     # only quiet NaNs reach the cast, where numpy and F16C agree
                bits = want.view(np.uint16)
                nan = (bits & 0x7C00 == 0x7C00) & (bits & 0x03FF != 0)
                assert (bits[nan] & 0x0200 != 0).all()


# -- the per-call check that lets large calls leave the first-NaN selects out -----------------------------

def spy_on_kernels(monkeypatch) -> list:
    """Record the ``nan_operands`` each launch asks its kernel for."""
    asked = []
    for name, factory in (("fused_kernel", dequant.fused_kernel), ("staged_kernel", staged.staged_kernel)):
        def spying(*args, factory=factory, **flags):
            asked.append(flags["nan_operands"])
            return factory(*args, **flags)
        monkeypatch.setattr(kernels, name, spying)
    return asked


@pytest.mark.parametrize("mode", ["fused", "ub"])
@pytest.mark.parametrize("source", SOURCES)
def test_large_calls_leave_the_selects_out_only_without_nan_operands(source, mode, monkeypatch):
    """A parallel launch scans scale and offset: NaN-free, its kernel has no first-NaN selects and gives the
    same bits; a NaN anywhere in scale or offset (x's NaN codes are there throughout) puts them back."""
    asked = spy_on_kernels(monkeypatch)
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    monkeypatch.setattr(launching, "PARALLEL_MIN_ELEMENTS", 0)
    platform = "Ascend950PR" if source in reference.FLOAT8_KINDS else "Ascend910B"
    rng = np.random.default_rng(7)
    x = x_of(source, (6, 64), rng)
    finite = rng.standard_normal(64).astype(np.float32)
    nan_at_5 = finite.copy()
    nan_at_5[5] = NAN_BITS.view(np.float32)[3]
    for scale, offset, want_selects in ((finite, finite[::-1].copy(), False), (nan_at_5, finite, True),
                                        (finite, nan_at_5, True), (nan_at_5, nan_at_5[::-1].copy(), True)):
        y = ascend_anti_quant(x, scale, offset, dst_type=27, platform=platform, mode=mode)
        want = reference.anti_quant(x, scale, offset, dst_type=27)
        np.testing.assert_array_equal(y.view(np.uint16), want.view(np.uint16))
        assert asked[-1] is want_selects


@pytest.mark.parametrize("source", SOURCES)
def test_nans_arithmetic_makes_without_nan_operands(source, monkeypatch):
    """Infinite scale and offset (no NaN: the launch leaves the selects and bfloat16's NaN test out) make NaNs
    of their own, inf - inf and inf * 0, beside x's NaN codes: the reference's bits, both destinations."""
    asked = spy_on_kernels(monkeypatch)
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    monkeypatch.setattr(launching, "PARALLEL_MIN_ELEMENTS", 0)
    platform = "Ascend950PR" if source in reference.FLOAT8_KINDS else "Ascend910B"
    specials = np.float32([np.inf, -np.inf, 0.0, -0.0, 1.5, -3.0, 3e38, 1e-40])
    scale, offset = (np.tile(a, 64 // a.size) for a in pairs(specials, True))
    x = x_of(source, (6, 64), np.random.default_rng(3))
    for dst in (27, 1):
        y = ascend_anti_quant(x, scale, offset, dst_type=dst, platform=platform)
        want = reference.anti_quant(x, scale, offset, dst_type=dst)
        np.testing.assert_array_equal(y.view(np.uint16), want.view(np.uint16))
        assert asked[-1] is False
    assert np.isnan(want[len(NAN_CODES.get(source, [])):].astype(np.float32)).any()   # made, not x's codes


def test_small_calls_keep_the_selects_unless_preparing_their_operands_showed_no_nan(monkeypatch):
    """A call run on the calling thread does not scan: its kernel keeps the selects, unless its scale and
    offset were copied into the workspace (split into lanes for int4, squared, widened from bfloat16), which
    looks at every value; a NaN there, in scale or offset, puts them back, and every result has the
    reference's bits."""
    asked = spy_on_kernels(monkeypatch)
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    rng = np.random.default_rng(11)
    finite = rng.standard_normal(64).astype(np.float32)
    nan_at_9 = finite.copy()
    nan_at_9[9] = NAN_BITS.view(np.float32)[3]
    int8, int4, int4_row = x_of("int8", (2, 64), rng), x_of("int32", (2, 64), rng), x_of("int32", (1, 64), rng)
    calls = [(int8, finite, finite, False, True),                 # used as they are: not looked at
             (int4_row, finite, finite, False, True),             # one row: in column order, as they are
             (int4, finite, finite[::-1].copy(), False, False),   # split into lanes
             (int4, nan_at_9, finite, False, True), (int4, finite, nan_at_9, False, True),
             (int4, finite, None, False, False), (int4, nan_at_9, None, False, True),
             (int8, finite, None, True, False), (int8, nan_at_9, None, True, True),    # squared
             (int8, finite.astype(ml_dtypes.bfloat16), finite.astype(ml_dtypes.bfloat16), False, False)]
    for x, scale, offset, sqrt_mode, want_selects in calls:
        for dst in (27, 1):
            for repeat in range(2):       # a new launch asks for its kernel; the cached one has it already
                if not repeat:
                    launching._LAUNCHES.clear()
                    del asked[:]
                y = ascend_anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
                want = reference.anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
                np.testing.assert_array_equal(y.view(np.uint16), want.view(np.uint16))
                assert asked == [want_selects], (x.dtype, scale.dtype, offset is None, sqrt_mode)
