"""The Pythonic API's launch cache: repeated calls skip validation and planning, never a check that matters."""

import dataclasses

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclnnError, Status, ascend_anti_quant, platforms, reference, tiling
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


THREADS, SIGNATURES, CACHE_SIZE, ROUNDS = 8, 48, 4, 25


def test_8_threads_racing_eviction_of_a_4_entry_cache_over_48_signatures_stay_exact(call, monkeypatch):
    """Insertion and eviction race on every call (48 signatures through 4 entries, a thread switch every
    microsecond): every result is bit-exact and no call raises (the unlocked eviction raised KeyError).

    The signatures hold ``tiling.Strategy`` objects, whose hash is Python code: a thread may switch while the
    eviction hashes its key, between picking the oldest key and removing it.
    """
    import sys
    import threading

    x, scale, offset = call
    monkeypatch.setattr(launch, "_LAUNCHES_MAX", CACHE_SIZE)
    cases = []
    for n in range(1, SIGNATURES + 1):             # 48 signatures: widths, strides, offsets, buffer counts
        xs = np.ascontiguousarray(np.resize(x, (6, n))) if n % 2 else np.resize(x, (6, 2 * n))[:, ::2]
        o = offset[:1] if n % 3 else None
        strategy = tiling.Strategy("cann", buffers=1 + n % 3)
        cases.append((xs, scale[:1], o, strategy, reference.anti_quant(xs, scale[:1], o)))
    errors, done = [], []
    barrier = threading.Barrier(THREADS)

    def worker(t):
        barrier.wait()
        try:
            for r in range(ROUNDS):
                for k in range(SIGNATURES):
                    xs, s, o, strategy, want = cases[(t * 7 + k) % SIGNATURES]
                    assert_same_bits(ascend_anti_quant(xs, s, o, strategy=strategy), want)
                    done.append(1)
        except BaseException as err:
            errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, f"{len(errors)} of {THREADS} threads failed, first: {errors[0]!r}"
    assert len(done) == THREADS * ROUNDS * SIGNATURES and len(launch._LAUNCHES) <= CACHE_SIZE
    print(f"{THREADS} threads x {ROUNDS * SIGNATURES} calls over {SIGNATURES} signatures, cache of {CACHE_SIZE}: "
          f"{len(done)} results bit-exact")
