"""A brief fuzz of ``ascend_anti_quant``'s argument handling under hypothesis (the menus of tests/fuzz_args.py).

Hypothesis shrinks a failure to the simplest menu choices; ``HYPOTHESIS_PROFILE=long`` searches longer and
``python tests/fuzz_args.py`` runs the same target under atheris, if installed.
"""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from antiquant import AclTensor, DataType, ascend_anti_quant, platforms, reference, tiling
from conftest import assert_same_bits
from fuzz_args import check_call, documented_refusal, draw_call, names_an_argument


@settings(max_examples=5 * settings().max_examples)    # cheap examples: five times the profile's count
@given(st.data())
def test_arguments_never_escape_as_anything_but_a_clear_refusal(data):
    call = draw_call(lambda label, menu: data.draw(st.sampled_from(list(menu)), label=label))
    check_call(*call)


# Findings of the fuzzer once refusals had to name their argument: each call below once raised a TypeError or
# ValueError that did not say which argument it was about.
@pytest.mark.parametrize("platform", [None, 910, ["Ascend910B"], "Ascend999", ""])
def test_a_bad_platform_is_refused_naming_platform(platform):
    with pytest.raises((TypeError, ValueError)) as err:
        ascend_anti_quant(np.zeros((2, 8), np.int8), np.ones(1, np.float32), platform=platform)
    assert names_an_argument(str(err.value)) and str(err.value).startswith("platform: "), str(err.value)


def test_a_message_names_its_argument_only_with_the_name_and_a_colon_first():
    assert names_an_argument("x: expected dtype in {INT8}, got FLOAT")
    assert names_an_argument("dstType: expected 1 (FLOAT16) or 27 (BF16), got 2")
    assert not names_an_argument("cannot reshape array of size 3 into shape (2,8)")
    assert not names_an_argument("xs: expected a list")
    assert not names_an_argument("x: first line\nsecond line")


def test_the_oracle_takes_only_the_documented_refusals():
    """AclnnError; TypeError naming its argument; ValueError only for antiquant's own options (docs/spec.md
    section 3). A ValueError about a CANN argument, or numpy's, is a crash even if its text starts like ours."""
    from antiquant import AclnnError, Status
    assert documented_refusal(AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "anything"))
    assert documented_refusal(TypeError("x: expected a numpy array, got list"))
    assert documented_refusal(ValueError("strategy: ub_budget: too small"))
    assert not documented_refusal(ValueError("x: cannot reshape array of size 3"))
    assert not documented_refusal(ValueError("Maximum allowed dimension exceeded"))
    assert not documented_refusal(TypeError("'float' object cannot be interpreted as an integer"))
    assert not documented_refusal(type("NumbaTypeError", (TypeError,), {})("x: no implementation"))


A2 = platforms.get("Ascend910B")
X, SCALE = np.zeros((2, 8), np.int8), np.ones(8, np.float32)


@pytest.mark.parametrize("argument, call", [
    ("x", lambda: ascend_anti_quant(np.ma.masked_array(X), SCALE)),
    ("x", lambda: ascend_anti_quant(AclTensor(np.ma.masked_array(X), DataType.INT8, (2, 8), False), SCALE)),
    ("scale", lambda: ascend_anti_quant(X, np.ma.masked_array(SCALE))),
    ("offset", lambda: ascend_anti_quant(X, SCALE, np.ma.masked_array(SCALE))),
    ("out", lambda: ascend_anti_quant(X, SCALE, out=np.ma.masked_array(np.zeros((2, 8), np.float16)))),
], ids=["x", "x AclTensor", "scale", "offset", "out"])
def test_a_masked_array_is_refused_naming_its_argument(argument, call):
    """A contiguous masked x once reached Numba, which raised NumbaTypeError (not even a TypeError)."""
    with pytest.raises(TypeError) as err:
        call()
    assert str(err.value).startswith(f"{argument}: ") and names_an_argument(str(err.value)), str(err.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(platform=A2.with_overrides(ub_bytes=8192)), "leave no room"),
    (dict(strategy=tiling.Strategy("equal-bytes", ub_budget=1 << 30)), "expected at most Ascend910B's UB"),
], ids=["platform UB too small", "ub_budget above the platform's UB"])
def test_a_strategy_that_cannot_be_planned_is_refused_naming_strategy(kwargs, words):
    """Planning errors once surfaced as "ub_budget: ...", a name that is not an argument of the call."""
    with pytest.raises(ValueError, match=words) as err:
        ascend_anti_quant(X, SCALE[:1], **kwargs)
    assert str(err.value).startswith("strategy: ub_budget: ") and names_an_argument(str(err.value))


def test_the_oracle_takes_aclTensor_scale_and_offset_as_the_operator_does():
    scale = AclTensor.from_numpy(np.full(8, 0.5, ml_dtypes.bfloat16))
    got = ascend_anti_quant(X + 3, scale, scale, dst_type=27)
    assert_same_bits(got, reference.anti_quant(X + 3, scale, scale, dst_type=27))
