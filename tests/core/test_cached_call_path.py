"""The cached call path (``api.run`` -> ``launch.signature`` -> ``check_apart`` -> ``Launch.run``): what it
decides once per launch and skips per call changes no result, no refusal and no miss."""

import threading

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclnnError, ascend_anti_quant, reference
from antiquant.core import launch as launching
from antiquant.core.validation import check_apart
from conftest import assert_same_bits

COLS = 64
THREADS = 8


@pytest.fixture
def prepared(monkeypatch):
    """The launches ``launch.prepare`` made, in an empty cache: a cached call makes none."""
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    made = []
    real = launching.prepare

    def recording(*args, **kwargs):
        index = len(made)
        made.append(None)                       # a refused call's stays None
        call, made[index] = real(*args, **kwargs)
        return call, made[index]
    monkeypatch.setattr(launching, "prepare", recording)
    return made


def values(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def int4_row(rng, shape):
    return rng.integers(-8, 8, shape).astype(ml_dtypes.int4)


# Calls whose kernel views differ: x reshaped (1-D, 3-D), x viewed as its storage (int32, int4), y reshaped,
# scale/offset prepared in the workspace (bfloat16, sqrt mode, int4's lanes), one scale for the tensor,
# x and y staged (strided), offset absent.
CASES = {
    "int8 2-D per channel": lambda r: (r.integers(-128, 128, (3, COLS), dtype=np.int8), values(r, COLS),
                                       values(r, COLS), {}),
    "int8 1-D": lambda r: (r.integers(-128, 128, COLS, dtype=np.int8), values(r, COLS), values(r, COLS), {}),
    "int8 3-D per tensor": lambda r: (r.integers(-128, 128, (2, 3, COLS), dtype=np.int8), values(r, 1),
                                      values(r, 1), {}),
    "int8 strided x, no offset": lambda r: (r.integers(-128, 128, (4, 2 * COLS), dtype=np.int8)[:, ::2],
                                            values(r, COLS), None, {}),
    "int32 packed int4": lambda r: (r.integers(-2**31, 2**31, (2, COLS // 8), dtype=np.int64).astype(np.int32),
                                    values(r, COLS), values(r, COLS), {}),
    "ml_dtypes.int4": lambda r: (int4_row(r, (2, COLS)), values(r, COLS), values(r, COLS), {}),
    "bfloat16 scale, sqrt mode": lambda r: (r.integers(-128, 128, (2, COLS), dtype=np.int8),
                                            values(r, COLS, ml_dtypes.bfloat16), values(r, COLS, ml_dtypes.bfloat16),
                                            {"sqrt_mode": True}),
}


@pytest.mark.parametrize("dst_type", [1, 27])
@pytest.mark.parametrize("case", CASES)
def test_calls_that_hit_the_cache_give_the_reference_bits(case, dst_type, prepared, launch):
    rng = np.random.default_rng(len(case))
    x, scale, offset, attrs = CASES[case](rng)
    want_dtype = np.float16 if dst_type == 1 else ml_dtypes.bfloat16
    want = reference.anti_quant(x, scale, offset, dst_type=dst_type, **attrs)
    strided_out = np.empty((*want.shape[:-1], 2 * want.shape[-1]), want_dtype)[..., ::2]
    for out in (None, np.empty(want.shape, want_dtype), strided_out):
        for _ in range(2):
            y = ascend_anti_quant(x, scale, offset, dst_type=dst_type, out=out, **attrs)
            assert_same_bits(y, want)
            assert out is None or y is out
    assert len(prepared) == 3                      # one launch per description: the repeats hit the cache


def test_read_only_inputs_share_the_writable_ones_launch(prepared):
    rng = np.random.default_rng(1)
    x, scale = rng.integers(-128, 128, (2, COLS), dtype=np.int8), values(rng, COLS)
    ascend_anti_quant(x, scale)
    x.flags.writeable = scale.flags.writeable = False
    assert_same_bits(ascend_anti_quant(x, scale), reference.anti_quant(x, scale))
    assert len(prepared) == 1


@pytest.mark.parametrize("change", ["x dtype", "x strides", "scale dtype", "offset absent", "out strides",
                                    "out read-only", "dst_type", "platform"])
def test_a_changed_description_misses_the_cache(change, prepared):
    rng = np.random.default_rng(2)
    x, scale, offset = rng.integers(-128, 128, (2, COLS), dtype=np.int8), values(rng, COLS), values(rng, COLS)
    out = np.empty((2, COLS), np.float16)
    call = dict(x=x, scale=scale, offset=offset, out=out, dst_type=1, platform="Ascend910B")
    ascend_anti_quant(**call)
    changed = {
        "x dtype": {"x": int4_row(rng, x.shape)},
        "x strides": {"x": np.repeat(x, 2, axis=1)[:, ::2]},
        "scale dtype": {"scale": scale.astype(ml_dtypes.bfloat16), "offset": offset.astype(ml_dtypes.bfloat16)},
        "offset absent": {"offset": None},
        "out strides": {"out": np.empty((2, 2 * COLS), np.float16)[:, ::2]},
        "out read-only": {"out": out.copy()},
        "dst_type": {"out": np.empty((2, COLS), ml_dtypes.bfloat16), "dst_type": 27},
        "platform": {"platform": "Ascend910B4"},
    }[change]
    call.update(changed)
    if change == "out read-only":
        call["out"].flags.writeable = False
        with pytest.raises(AclnnError, match="out: expected a writable array"):
            ascend_anti_quant(**call)
    else:
        y = ascend_anti_quant(**call)
        assert_same_bits(y, reference.anti_quant(call["x"], call["scale"], call["offset"], dst_type=call["dst_type"]))
    assert len(prepared) == 2


@pytest.mark.parametrize("overlapped", ["x", "scale", "offset"])
def test_the_cached_path_refuses_an_overlapping_out_as_the_uncached_one_does(overlapped, prepared):
    """out owns its memory and the overlapping input is a view of it (or the other way round): the owned-
    memory shortcut does not apply, the bounds test refuses, and nothing is written."""
    rng = np.random.default_rng(3)
    arrays = {"x": rng.integers(-128, 128, (2, COLS), dtype=np.int8), "scale": values(rng, COLS),
              "offset": values(rng, COLS)}
    out = np.empty((2, COLS), np.float16)
    buffer = np.zeros(4 * 2 * COLS, np.uint8)                  # room for out and any one input
    shared = buffer[:out.nbytes].view(np.float16).reshape(out.shape)
    inputs = dict(arrays)
    inputs[overlapped] = buffer[:arrays[overlapped].nbytes].view(arrays[overlapped].dtype).reshape(
        arrays[overlapped].shape)
    inputs[overlapped][...] = arrays[overlapped]
    messages = []
    for first in (True, False):                                # uncached, then a cached call described alike
        before = buffer.copy()
        with pytest.raises(AclnnError) as err:
            ascend_anti_quant(inputs["x"], inputs["scale"], inputs["offset"], out=shared)
        messages.append(str(err.value))
        np.testing.assert_array_equal(buffer, before)
        if first:                                               # the same description, memory apart: cached
            ascend_anti_quant(arrays["x"], arrays["scale"], arrays["offset"], out=out)
    assert messages[0] == messages[1]
    assert f"out: expected memory apart from the inputs, but it overlaps {overlapped}" in messages[1]
    assert prepared[0] is None and len(prepared) == 2    # the refusal, the launch: the cached refusal made none


def test_check_apart_takes_owned_memory_as_apart_and_refuses_the_same_array():
    y = np.empty(8, ml_dtypes.bfloat16)
    x, scale = np.zeros(8, np.int8), np.zeros(8, np.float32)
    assert check_apart(y, x, scale, None) is y
    with pytest.raises(AclnnError, match="y: expected memory apart from the inputs, but it overlaps scale"):
        check_apart(y, x, y, None)                       # the same array owns the same memory
    with pytest.raises(AclnnError, match="overlaps offset"):
        check_apart(y, x, scale, y[2:4].view(np.float32))


def test_a_launch_without_regions_runs_without_a_workspace(monkeypatch, prepared):
    sizes = []
    real = launching.thread_workspace
    monkeypatch.setattr(launching, "thread_workspace", lambda n: sizes.append(n) or real(n))
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, (2, COLS), dtype=np.int8)
    for scale in (values(rng, COLS), values(rng, COLS, ml_dtypes.bfloat16)):      # as is; widened in workspace
        for _ in range(2):
            assert_same_bits(ascend_anti_quant(x, scale), reference.anti_quant(x, scale))
    first, second = prepared
    assert not first.regions and "scale" in second.regions
    assert sizes == [0, 0, second.workspace_size, second.workspace_size]


def test_threads_sharing_a_new_launch_all_get_exact_results(prepared):
    """The launch's serial kernel is looked up on its first run, which every thread may be making."""
    rng = np.random.default_rng(5)
    x, scale, offset = rng.integers(-128, 128, (2, COLS), dtype=np.int8), values(rng, COLS), values(rng, COLS)
    ascend_anti_quant(x, scale, offset, dst_type=27)            # makes and caches the launch
    launch = prepared[0]
    launch.__dict__.pop("_serial_kernels", None)                # its kernels not looked up yet
    inputs = [rng.integers(-128, 128, x.shape, dtype=np.int8) for _ in range(THREADS)]
    results = [None] * THREADS
    start = threading.Barrier(THREADS)

    def work(i):
        start.wait()
        results[i] = [ascend_anti_quant(inputs[i], scale, offset, dst_type=27) for _ in range(20)]
    workers = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(THREADS):
        want = reference.anti_quant(inputs[i], scale, offset, dst_type=27)
        for y in results[i]:
            assert_same_bits(y, want)
    assert len(prepared) == 1
