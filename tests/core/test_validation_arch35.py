"""Validation on Ascend 950 (arch35) and Atlas A3, rule by rule (docs/spec.md section 8.2, decisions in
section 9): each case states its shapes and dtypes and the outcome the contract gives, derived by hand from the
section's table, not from the code."""

import ml_dtypes
import numpy as np
import pytest

from antiquant.core import platforms
from antiquant.core.dtypes import AclnnError, DataType, Status
from antiquant.core.tensor import AclTensor
from antiquant.core.validation import check_call

F32, BF16, F16 = np.float32, ml_dtypes.bfloat16, np.float16
E5M2, E4M3 = ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn
OK = "ok"


def x_of(dtype, shape):
    """An x of CANN ``dtype`` (a DataType) and logical ``shape``, zeros."""
    if dtype == DataType.INT4:
        return AclTensor.from_numpy(np.zeros((*shape[:-1], shape[-1] // 2), np.uint8), dtype=DataType.INT4,
                                    shape=shape)
    if dtype == DataType.HIFLOAT8:
        return AclTensor.from_numpy(np.zeros(shape, np.uint8), dtype=DataType.HIFLOAT8)
    storage = {DataType.INT8: np.int8, DataType.INT32: np.int32, DataType.FLOAT8_E5M2: E5M2,
               DataType.FLOAT8_E4M3FN: E4M3}[dtype]
    return AclTensor.from_numpy(np.zeros(shape, storage))


def outcome(x, scale_shape, *, scale_dtype=F32, offset_shape=None, y_shape=None, dst=F16, sqrt=False,
            platform="Ascend950PR", offset_dtype=None):
    """"ok", or the refusal's status and message."""
    y_shape = x.shape if y_shape is None else y_shape
    scale = AclTensor.from_numpy(np.ones(scale_shape, scale_dtype))
    offset = None if offset_shape is None else AclTensor.from_numpy(np.zeros(offset_shape, offset_dtype or scale_dtype))
    y = AclTensor.from_numpy(np.empty(y_shape, dst))
    code = 1 if dst is F16 else 27
    try:
        check_call(x, scale, offset, code, sqrt, y, platforms.get(platform))
    except AclnnError as err:
        return err.status, str(err)
    return OK


def refused(result, *words):
    assert result != OK, "accepted"
    status, message = result
    assert status == Status.ACLNN_ERR_PARAM_INVALID, message
    for w in words:
        assert w in message, message


FLOAT8 = (DataType.HIFLOAT8, DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN)
INTS = (DataType.INT8, DataType.INT4)


# -- section 8.2.3: the scale-shape outcomes for non-INT32 x, X = [4, 2, 16] ----------------------------------

SCALE_SHAPES = [
    ((1,), OK),                 # per tensor
    ((), OK),                   # a scalar scale is read as [1]
    ((1, 1, 1), OK),            # one value, x's rank
    ((16,), OK),                # x[-1]: per channel
    ((2,), OK),                 # x[-2], x[-1] != x[-2]: per head
    ((1, 1, 16), OK),           # rank(x), only axis -1 not 1
    ((1, 2, 1), OK),            # rank(x), only axis -2 not 1
    ((5,), "second-last"),      # T3
    ((1, 1), "rank 1 or x's rank 3"),       # T1: one value, but rank 2 against 3
    ((2, 16), "rank 1 or x's rank 3"),      # T1 (upstream UT x [4,2,10240], scale [2,10240])
    ((1, 2, 16), "axis -1 or -2"),          # T4: two non-1 axes
    ((4, 1, 1), "axis -1 or -2"),           # T4: a non-1 axis other than -1 / -2
    ((1, 1, 5), "x's 16"),                  # decision 2: the extent upstream does not check
    ((1, 3, 1), "x's 2"),
    ((0,), "empty"),                        # master: an empty scale is refused
]


@pytest.mark.parametrize("dtype", FLOAT8 + INTS, ids=lambda d: d.short)
@pytest.mark.parametrize("scale_shape,expected", SCALE_SHAPES, ids=lambda v: str(v))
def test_scale_shapes_on_950(dtype, scale_shape, expected):
    result = outcome(x_of(dtype, (4, 2, 16)), scale_shape)
    if expected == OK:
        assert result == OK
    else:
        refused(result, expected)


def test_rank1_x_takes_size_1_or_its_length():
    assert outcome(x_of(DataType.INT8, (6,)), (6,)) == OK
    assert outcome(x_of(DataType.INT8, (6,)), (1,)) == OK
    refused(outcome(x_of(DataType.INT8, (6,)), (3,)), "x's dimension 6")
    refused(outcome(x_of(DataType.INT8, (6,)), (1, 6)), "rank 1 or x's rank 1")


def test_per_channel_wins_when_last_equals_second_last():
    """x [3, 8, 8], scale [8]: accepted (the tiling picks per channel; the reference follows)."""
    assert outcome(x_of(DataType.FLOAT8_E4M3FN, (3, 8, 8)), (8,)) == OK


def test_offset_must_have_scales_shape_and_dtype():
    x = x_of(DataType.INT8, (4, 2, 16))
    assert outcome(x, (2,), offset_shape=(2,)) == OK
    refused(outcome(x, (1, 2, 1), offset_shape=(2,)), "offset", "scale's shape")
    refused(outcome(x, (2,), offset_shape=(2,), offset_dtype=BF16), "offset", "same dtype")


# -- 8-bit float x: FLOAT scale only, no sqrtMode, no scalar -----------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT8, ids=lambda d: d.short)
def test_float8_x_takes_float_scale_and_no_sqrt_mode(dtype):
    x = x_of(dtype, (4, 16))
    assert outcome(x, (16,), dst=BF16) == OK
    refused(outcome(x, (16,), scale_dtype=BF16), "FLOAT scale")
    refused(outcome(x, (16,), sqrt=True), "sqrtMode")
    refused(outcome(x_of(dtype, ()), (1,)), "scalar")


def test_float8_scale_dtype_checked_before_sqrt_mode():
    """Step 2f comes before step 3: a BF16 scale with sqrtMode is refused for the scale."""
    refused(outcome(x_of(DataType.HIFLOAT8, (4, 16)), (16,), scale_dtype=BF16, sqrt=True), "scale")


def test_int8_and_int4_keep_sqrt_mode_and_bf16_scale_on_950():
    for dtype in INTS:
        assert outcome(x_of(dtype, (4, 16)), (16,), scale_dtype=BF16, sqrt=True, dst=BF16) == OK


def test_scalar_x_only_for_int32():
    refused(outcome(x_of(DataType.INT8, ()), (1,)), "scalar")
    assert outcome(x_of(DataType.INT32, ()), (1,), y_shape=(8,)) == OK
    assert outcome(x_of(DataType.INT32, ()), (8,), y_shape=(8,)) == OK
    refused(outcome(x_of(DataType.INT32, ()), (4,), y_shape=(8,)), "x's dimension 8")


# -- INT32 x: op_api's rules on its own shape, then the tiling's on the INT4 view -------------------------------

INT32_CASES = [
    ((3,), (24,), OK),          # r == 1: L in {1, 8 * X[0]}
    ((3,), (3,), "one of 1, 24"),
    ((4, 3), (4,), OK),         # r >= 2, q == 1: L in {1, X[-2], 8 * X[-1]}; per head on the [4, 24] view
    ((4, 3), (24,), OK),
    ((4, 3), (3,), "one of 1, 4, 24"),
    ((2, 4, 3), (1, 1, 24), OK),        # q >= 2: L in {1, 8 * X[-1]}
    ((2, 4, 3), (1, 4, 1), OK),         # L = 1 passes op_api; the tiling takes it per head
    ((2, 4, 3), (1, 1, 4), "one of 1, 24"),
    ((2, 4, 3), (1, 4, 24), "axis -1 or -2"),   # passes op_api (L = 24), refused by the tiling's T4
]


@pytest.mark.parametrize("words,scale_shape,expected", INT32_CASES, ids=str)
def test_int32_scale_rules(words, scale_shape, expected):
    y_shape = (*words[:-1], words[-1] * 8)
    result = outcome(x_of(DataType.INT32, words), scale_shape, y_shape=y_shape)
    if expected == OK:
        assert result == OK
    else:
        refused(result, expected)


# -- order and empties -------------------------------------------------------------------------------------------

def test_empty_x_skips_the_tiling_checks_but_not_op_apis():
    """x [3, 0]: the tiling never runs, so a malformed scale passes; the empty scale is op_api's, refused."""
    assert outcome(x_of(DataType.INT8, (3, 0)), (1,)) == OK            # upstream UT ascend950PR_empty_tensor
    assert outcome(x_of(DataType.INT8, (3, 0)), (7, 7)) == OK
    refused(outcome(x_of(DataType.INT8, (3, 0)), (0,)), "empty")


def test_y_shape_checked_before_scalar_x():
    """Upstream UT ascend950PR_hifloat8_scalar: a 0-d HIFLOAT8 x with y [8] is refused (at y's shape)."""
    refused(outcome(x_of(DataType.HIFLOAT8, ()), (1,), y_shape=(8,)), "y: expected shape ()")


def test_rank_above_8_refused():
    refused(outcome(x_of(DataType.INT8, (1,) * 9), (1,)), "rank at most 8")


# -- Atlas A3 follows A2; A2 keeps its rules ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Ascend910B", "Ascend910_93"])
def test_a2_and_a3_refuse_what_only_950_takes(name):
    refused(outcome(x_of(DataType.HIFLOAT8, (4, 16)), (16,), platform=name), "x: expected dtype", name)
    refused(outcome(x_of(DataType.INT8, (4, 2, 16)), (2,), platform=name), "y's last dimension 16")
    refused(outcome(x_of(DataType.INT8, (4, 2, 16)), (1, 1, 16), platform=name), "1-D")
    assert outcome(x_of(DataType.INT8, (4, 2, 16)), (16,), platform=name, sqrt=True) == OK


def test_a3_profile_shares_a2s_figures_and_arch():
    a2, a3 = platforms.get("Ascend910B"), platforms.get("Ascend910_93")
    assert (a3.arch, a3.npu_arch, a3.vector_cores, a3.ub_bytes, a3.x_dtypes) == \
        (a2.arch, a2.npu_arch, a2.vector_cores, a2.ub_bytes, a2.x_dtypes)


def test_950_profiles():
    for name in ("Ascend950PR", "Ascend950DT"):
        p = platforms.get(name)
        assert (p.arch, p.npu_arch) == ("arch35", 3510)
        assert set(FLOAT8) <= set(p.x_dtypes) and DataType.INT32 in p.x_dtypes
        assert "approx." in p.source("vector_cores") and "approx." in p.source("ub_bytes")
    assert platforms.get("Ascend950DT").hbm_bytes_per_s > platforms.get("Ascend950PR").hbm_bytes_per_s


class _StridedLooking(AclTensor):
    """An AclTensor that reports itself non-contiguous: numpy marks every empty array contiguous, but CANN's
    tensors (and torch's) can be empty and strided."""

    __slots__ = ()

    def is_contiguous(self):
        return False


@pytest.mark.parametrize("platform", ["Ascend910B", "Ascend950PR"])
def test_empty_int4_x_that_is_not_contiguous_is_accepted(platform):
    """CANN returns success for an empty x before its INT4 contiguity check (docs/spec.md 8.2.1 steps 5-6)."""
    def int4(shape):
        t = x_of(DataType.INT4, shape)
        return _StridedLooking(t.array, t.dtype, t.shape, t.packed)
    assert outcome(int4((0, 4)), (4,), platform=platform) == OK
    refused(outcome(int4((2, 4)), (4,), platform=platform), "contiguous")
