"""Every strategy, both modes (fused and UB-staged), every x storage: the reference's bits."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, strategies as st

from antiquant import (AclTensor, Status, aclnnAscendAntiQuant, aclnnAscendAntiQuantGetWorkspaceSize,
                       ascend_anti_quant, reference, tiling)
from antiquant.tiling import Strategy
from conftest import assert_same_bits
from inputs import SCALE_DTYPES, values_for, x_input

# (x kind, y shape, per channel, offset, scale dtype, dst, sqrt mode): each x storage once, a per-tensor
# case, and a rank-3 one; widths beyond a 16 KiB budget's tile so small budgets cut rows into columns.
CASES = [
    ("int8", (23, 1000), True, True, "bfloat16", 27, False),
    ("int4", (9, 2050), True, False, "float32", 1, True),
    ("int4_packed", (7, 1500), False, True, "float32", 27, False),
    ("int32", (5, 3000), True, True, "float32", 1, False),
    ("int8", (3, 5, 40), False, False, "bfloat16", 1, True),
]


def make(case, seed=0):
    kind, shape, per_channel, has_offset, scale_dtype, dst, sqrt_mode = case
    rng = np.random.default_rng(seed)
    n = shape[-1] if per_channel else 1
    scale = (rng.standard_normal(n) * 0.05).astype(np.float32).astype(SCALE_DTYPES[scale_dtype])
    offset = rng.normal(0, 3, n).astype(np.float32).astype(SCALE_DTYPES[scale_dtype]) if has_offset else None
    values = values_for(kind, shape, rng)
    x = x_input(kind, values)
    expected = reference.anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=sqrt_mode)
    return x, scale, offset, dict(dst_type=dst, sqrt_mode=sqrt_mode), expected


@pytest.mark.parametrize("mode", ["fused", "ub"])
@pytest.mark.parametrize("name", list(tiling.STRATEGIES))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}")
def test_strategies_and_modes_match_reference(case, name, mode):
    x, scale, offset, kw, expected = make(case)
    for buffers, budget in ((2, None), (1, 16384), (3, 16384), (2, 20000)):
        got = ascend_anti_quant(x, scale, offset, strategy=Strategy(name, buffers=buffers, ub_budget=budget),
                                mode=mode, **kw)
        assert_same_bits(got, expected)


@given(rows=st.integers(1, 60), cols=st.integers(1, 2500), seed=st.integers(0, 2**32 - 1),
       name=st.sampled_from(list(tiling.STRATEGIES)), buffers=st.integers(1, 3),
       budget=st.one_of(st.none(), st.integers(tiling.MIN_UB_BUDGET, 196608)),
       base_n=st.one_of(st.none(), st.integers(1, 9)), base_len=st.one_of(st.none(), st.integers(1, 40)))
def test_ub_mode_matches_fused_over_random_plans(rows, cols, seed, name, buffers, budget, base_n, base_len):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (rows, cols), dtype=np.int8)
    scale = rng.random(cols).astype(ml_dtypes.bfloat16)
    offset = rng.normal(0, 3, cols).astype(ml_dtypes.bfloat16)
    strategy = Strategy(name, buffers=buffers, ub_budget=budget, base_n=base_n,
                        base_len=None if base_len is None else 32 * base_len)
    try:
        staged = ascend_anti_quant(x, scale, offset, dst_type=27, strategy=strategy, mode="ub")
    except ValueError as err:
        assert "bytes of UB, more than the budget" in str(err)
        return
    assert_same_bits(staged, reference.anti_quant(x, scale, offset, dst_type=27))


def test_two_phase_api_carries_strategy_and_mode():
    x, scale, offset, kw, expected = make(CASES[0])
    y = np.zeros(expected.shape, ml_dtypes.bfloat16)
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
        AclTensor.from_numpy(x), AclTensor.from_numpy(scale), AclTensor.from_numpy(offset), 27, False,
        AclTensor.from_numpy(y), strategy=Strategy("equal-bytes", buffers=3), mode="ub")
    assert status == Status.ACLNN_SUCCESS
    assert executor.mode == "ub" and executor.plan.strategy == "equal-bytes" and executor.plan.buffers == 3
    assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, None) == Status.ACLNN_SUCCESS
    assert_same_bits(y, expected)


def test_staged_mode_with_strided_tensors():
    x, scale, offset, kw, expected = make(CASES[3])     # int32 x, per channel, offset
    out = np.zeros((expected.shape[0], expected.shape[1] * 2), np.float16)[:, ::2]
    ascend_anti_quant(x, scale[::-1].copy()[::-1], offset, out=out, strategy="column-split", mode="ub", **kw)
    assert_same_bits(out, expected)


def test_bad_strategy_or_mode_is_refused_before_anything_runs():
    x, scale, offset, kw, expected = make(CASES[0])
    with pytest.raises(ValueError, match="mode: expected 'fused' or 'ub', got 'npu'"):
        ascend_anti_quant(x, scale, offset, mode="npu", **kw)
    with pytest.raises(ValueError, match="strategy: expected one of cann, equal-bytes, row-batched"):
        ascend_anti_quant(x, scale, offset, strategy="fastest", **kw)
    with pytest.raises(ValueError, match="bytes of UB, more than the budget"):
        ascend_anti_quant(x, scale, offset, strategy=Strategy(ub_budget=16384, base_n=6, base_len=1024), **kw)
