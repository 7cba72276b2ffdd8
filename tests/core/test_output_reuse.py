"""Allocating calls reuse the memory of a dropped output, never of one still referenced, and write fresh
memory with plain stores (streaming stores would send each freshly zeroed line to memory twice)."""

import threading

import numpy as np
import pytest

from antiquant import ascend_anti_quant, reference
from antiquant.core import launch
from conftest import assert_same_bits

SHAPE = (512, 1024)  # 1 MiB of bfloat16 (a valid scale dtype): at OUTPUT_REUSE_MIN


@pytest.fixture
def inputs():
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, SHAPE, dtype=np.int8)
    scale = rng.standard_normal(SHAPE[1]).astype(np.float32)
    return x, scale


@pytest.fixture
def streaming_calls(monkeypatch):
    """The ``streaming`` flag of every fused kernel launched, with every output large enough to stream."""
    monkeypatch.setattr(launch, "STREAMING_MIN_BYTES", 0)
    monkeypatch.setattr(launch, "_LAUNCHES", {})
    monkeypatch.setattr(launch, "_scratch", threading.local())
    seen = []
    real = launch.kernels.fused_kernel

    def recording(*args, **kwargs):
        seen.append(kwargs["streaming"])
        return real(*args, **kwargs)
    monkeypatch.setattr(launch.kernels, "fused_kernel", recording)
    return seen


def check(y, x, scale):
    assert_same_bits(y, reference.anti_quant(x, scale, None, dst_type=27))


def test_a_dropped_output_is_reused_and_written_with_streaming_stores(inputs, streaming_calls):
    x, scale = inputs
    y = ascend_anti_quant(x, scale, dst_type=27)
    address = y.ctypes.data
    del y
    y = ascend_anti_quant(x, scale, dst_type=27)
    assert y.ctypes.data == address
    check(y, x, scale)
    assert streaming_calls == [False, True]  # fresh memory: plain stores; mapped memory: streaming


@pytest.mark.parametrize("keep", ["array", "view", "memoryview", "scale of the next call"])
def test_an_output_still_referenced_is_never_reused(inputs, streaming_calls, keep):
    x, scale = inputs
    y = ascend_anti_quant(x, scale, dst_type=27)
    before = y.copy()
    held = {"array": lambda: y, "view": lambda: y[3:, ::2], "memoryview": lambda: memoryview(y.view(np.uint16)),
            "scale of the next call": lambda: y.reshape(-1)[:SHAPE[1]]}[keep]()
    address = y.ctypes.data
    del y
    next_scale = held if keep == "scale of the next call" else scale
    z = ascend_anti_quant(x[::-1].copy(), next_scale, dst_type=27)
    assert z.ctypes.data != address
    check(z, x[::-1], np.asarray(next_scale))
    assert_same_bits(np.asarray(held), {"array": before, "view": before[3:, ::2],
                                        "memoryview": before.view(np.uint16),
                                        "scale of the next call": before.reshape(-1)[:SHAPE[1]]}[keep])
    assert streaming_calls == [False, False]


def test_outputs_of_another_size_or_thread_get_their_own_memory(inputs, streaming_calls):
    x, scale = inputs
    y = ascend_anti_quant(x, scale, dst_type=27)
    address = y.ctypes.data
    del y
    half = ascend_anti_quant(x[: SHAPE[0] // 2], scale, dst_type=27)       # another size: fresh memory
    assert half.ctypes.data != address
    check(half, x[: SHAPE[0] // 2], scale)
    other = []
    thread = threading.Thread(target=lambda: other.append(ascend_anti_quant(x, scale, dst_type=27)))
    thread.start()
    thread.join()
    check(other[0], x, scale)
    assert streaming_calls == [False, False, False]


def test_small_outputs_are_plain_numpy_arrays(inputs):
    x, scale = inputs
    y = ascend_anti_quant(x[:4], scale, dst_type=27)
    assert y.flags.owndata and y.nbytes < launch.OUTPUT_REUSE_MIN


def test_an_output_staged_through_the_workspace_is_written_with_plain_stores(inputs, streaming_calls):
    """A non-contiguous out is computed in the workspace and copied back: streaming it there gains nothing."""
    x, scale = inputs
    out = np.empty((SHAPE[0], 2 * SHAPE[1]), np.float16)[:, ::2]
    ascend_anti_quant(x, scale, out=out)
    assert_same_bits(out, reference.anti_quant(x, scale, None, dst_type=1))
    contiguous = np.empty(SHAPE, np.float16)
    ascend_anti_quant(x, scale, out=contiguous)
    assert streaming_calls == [False, True]
