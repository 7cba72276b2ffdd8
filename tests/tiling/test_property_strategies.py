"""Properties over every tiling strategy (and every ``mode``, where the API has one) against the reference.

Strategies and modes are discovered at collection time, so strategies added later are covered without
editing this file. CI runs the ``ci`` hypothesis profile (derandomized, fixed seed); run
``HYPOTHESIS_PROFILE=long python -m pytest tests/test_property_strategies.py`` by hand for a longer search.
"""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from antiquant import ascend_anti_quant, platforms, reference, tiling
from antiquant.core import launch
from conftest import assert_same_bits
from inputs import assert_tiles_cover, operator_calls


def modes():
    """``mode`` values to pass (None: do not pass it), if ``ascend_anti_quant`` takes a ``mode``."""
    param = inspect.signature(ascend_anti_quant).parameters.get("mode")
    if param is None:
        return [None]
    declared = getattr(launch, "MODES", None) or ("ub",)
    return [None] + [m for m in declared if m != param.default]


STRATEGIES = sorted(tiling.STRATEGIES)


@pytest.mark.parametrize("mode", modes(), ids=lambda m: f"mode={m}")
@pytest.mark.parametrize("strategy", STRATEGIES)
@given(call=operator_calls())
def test_every_strategy_and_mode_equals_reference(strategy, mode, call):
    x, scale, offset, kwargs = call
    out = kwargs.get("out")
    before = None if out is None else out.copy()
    extra = {} if mode is None else {"mode": mode}
    got = ascend_anti_quant(x, scale, offset, strategy=strategy, **kwargs, **extra)
    want = reference.anti_quant(x, scale, offset, dst_type=kwargs["dst_type"], sqrt_mode=kwargs["sqrt_mode"])
    if out is not None:
        assert got is out
        if out.size == 0 or want.size == 0:
            assert out.tobytes() == before.tobytes()
    assert_same_bits(got, want)


@st.composite
def problems(draw):
    """A tiling problem (no data): shape up to rank 8 and ~2**34 elements, dtypes, modes, a platform."""
    kind = draw(st.sampled_from(["int8", "int4", "int32"]))
    rank = draw(st.integers(1, 8))
    shape = [draw(st.sampled_from([1, 1, 2, 3, 7, 64, 1000, 4097, 65537])) for _ in range(rank)]
    if kind == "int4":
        shape[-1] *= 2
    while math.prod(shape) * (8 if kind == "int32" else 1) > 1 << 34 or \
            math.prod(shape[:-1]) > 1 << 22:             # keep the tile tables small enough to check quickly
        i = int(np.argmax(shape))
        shape[i] = max(1, shape[i] // 7) * (2 if kind == "int4" and i == rank - 1 else 1)
    last = shape[-1] * (8 if kind == "int32" else 1)
    return dict(x_shape=tuple(shape), x_dtype=kind, scale_size=draw(st.sampled_from([1, last])),
                scale_dtype=draw(st.sampled_from(["float32", "bfloat16"])), has_offset=draw(st.booleans()),
                dst_type=draw(st.sampled_from(["float16", "bfloat16"])), sqrt_mode=draw(st.booleans()),
                platform=draw(st.sampled_from(platforms.names())))


@pytest.mark.parametrize("strategy", STRATEGIES)
@given(problem=problems())
def test_every_strategy_plans_an_exact_cover(strategy, problem):
    plan = tiling.plan(**problem, strategy=strategy)
    assert plan.strategy == strategy
    assert 0 < plan.block_dim <= platforms.get(problem["platform"]).vector_cores
    assert_tiles_cover(plan, {"int8": 1, "int4": 2, "int32": 8}[problem["x_dtype"]])
