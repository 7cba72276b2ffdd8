"""Streaming (non-temporal) stores, used for outputs larger than the cache, give the same bits."""

import itertools

import numpy as np
import pytest

from antiquant import aclnn, ascend_anti_quant, reference
from conftest import DST, assert_same_bits
from inputs import X_KINDS, values_for, x_input


@pytest.fixture(autouse=True)
def always_stream(monkeypatch):
    monkeypatch.setattr(aclnn, "STREAM_MIN_BYTES", 0)


@pytest.mark.parametrize("kind,dst,per_channel,has_offset",
                         list(itertools.product(X_KINDS, (1, 27), (False, True), (False, True))))
def test_streaming_matches_reference(kind, dst, per_channel, has_offset, launch):
    rng = np.random.default_rng(11)
    # rows longer than the streaming chunk, a length that is not a multiple of a cache line
    values = values_for(kind, (3, 4096 * 2 + 72), rng)
    n = values.shape[1] if per_channel else 1
    scale = rng.standard_normal(n).astype(np.float32)
    offset = rng.standard_normal(n).astype(np.float32) if has_offset else None
    got = ascend_anti_quant(x_input(kind, values), scale, offset, dst_type=dst)
    assert_same_bits(got, reference.anti_quant(x_input(kind, values), scale, offset, dst_type=dst))


@pytest.mark.parametrize("shift", [0, 1, 5, 31, 32, 33])
def test_streaming_into_unaligned_output(shift, launch):
    rng = np.random.default_rng(shift)
    x = values_for("int8", (2, 5000), rng)
    scale = rng.standard_normal(5000).astype(np.float32)
    backing = np.full(2 * 5000 + 64, 9, DST[27])
    out = backing[shift:shift + 10000].reshape(2, 5000)
    ascend_anti_quant(x, scale, dst_type=27, out=out)
    assert_same_bits(out, reference.anti_quant(x, scale, dst_type=27))
    untouched = np.concatenate([backing[:shift], backing[shift + 10000:]])
    assert (untouched.astype(np.float32) == 9).all()
