"""The Pythonic API's launch cache: repeated calls skip validation and planning, never a check that matters."""

import dataclasses

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclnnError, Status, ascend_anti_quant, platforms, reference
from antiquant.core import launch
from conftest import assert_same_bits


@pytest.fixture
def call():
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (6, 40), dtype=np.int8)
    scale = rng.random(40).astype(np.float32)
    offset = rng.random(40).astype(np.float32)
    launch._LAUNCHES.clear()
    return x, scale, offset


def test_repeated_calls_hit_the_cache_and_stay_exact(call):
    x, scale, offset = call
    out = np.empty((6, 40), ml_dtypes.bfloat16)
    ascend_anti_quant(x, scale, offset, dst_type=27, out=out)
    assert len(launch._LAUNCHES) == 1
    for k in range(3):
        x2 = (x + k).astype(np.int8)                 # new data, same description
        ascend_anti_quant(x2, scale, offset, dst_type=27, out=out)
        assert_same_bits(out, reference.anti_quant(x2, scale, offset, dst_type=27))
        y = ascend_anti_quant(x2, scale, offset, dst_type=27)
        assert_same_bits(y, reference.anti_quant(x2, scale, offset, dst_type=27))
    assert len(launch._LAUNCHES) == 2                   # with and without out


def test_overlap_is_checked_on_every_call(call):
    x, scale, offset = call
    buffer = np.zeros(6 * 40 * 2, np.int8)
    x_view = buffer[:240].reshape(6, 40)
    out_apart = np.empty((6, 40), np.float16)
    ascend_anti_quant(x_view, scale, out=out_apart)
    overlapping = buffer.view(np.float16)[:240].reshape(6, 40)
    assert overlapping.strides == out_apart.strides
    before = buffer.copy()
    with pytest.raises(AclnnError, match="out: expected memory apart from the inputs, but it overlaps x"):
        ascend_anti_quant(x_view, scale, out=overlapping)
    np.testing.assert_array_equal(buffer, before)


def test_attribute_types_are_part_of_the_key(call):
    x, scale, _ = call
    ascend_anti_quant(x, scale, dst_type=1)
    with pytest.raises(AclnnError, match="dst_type"):
        ascend_anti_quant(x, scale, dst_type=True)
    ascend_anti_quant(x, scale, sqrt_mode=False)
    with pytest.raises(AclnnError, match="sqrtMode: expected a bool"):
        ascend_anti_quant(x, scale, sqrt_mode=0)


def test_read_only_out_is_refused_after_a_writable_one(call):
    x, scale, _ = call
    out = np.empty((6, 40), np.float16)
    ascend_anti_quant(x, scale, out=out)
    out.flags.writeable = False
    with pytest.raises(AclnnError) as err:
        ascend_anti_quant(x, scale, out=out)
    assert err.value.status == Status.ACLNN_ERR_PARAM_INVALID


def test_reregistered_platform_is_a_new_key(call, platform_registry):
    x, scale, _ = call
    base = platforms.get("Ascend910B")
    platforms.register(dataclasses.replace(base, name="Cache-test"), replace=True)
    ascend_anti_quant(x.astype(np.int32), scale[:1], platform="Cache-test")
    platforms.register(dataclasses.replace(base, name="Cache-test", x_dtypes=(base.x_dtypes[1],)), replace=True)
    with pytest.raises(AclnnError, match="x: expected dtype in {INT8} on Cache-test, got INT32"):
        ascend_anti_quant(x.astype(np.int32), scale[:1], platform="Cache-test")


def test_cache_is_bounded(call, monkeypatch):
    x, scale, _ = call
    monkeypatch.setattr(launch, "_LAUNCHES_MAX", 4)
    for n in range(1, 10):
        ascend_anti_quant(x[:, :n], scale[:1])
    assert len(launch._LAUNCHES) == 4
