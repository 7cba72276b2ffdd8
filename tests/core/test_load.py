"""Load: many Python threads and streams at once give the same bits as one thread; kernels release the GIL."""

import threading

import ml_dtypes
import numba
import numpy as np

from antiquant import (AclnnError, AclTensor, Status, Stream, aclGetRecentErrMsg, aclnnAscendAntiQuant,
                       aclnnAscendAntiQuantGetWorkspaceSize, ascend_anti_quant, reference)
from conftest import DST, assert_same_bits
from inputs import values_for, x_input

T = AclTensor.from_numpy

# Eight different calls: every x storage, both scale dtypes, both destinations, offsets, sqrt mode, strides.
PROBLEMS = [
    # kind, shape (of y), scale dtype, per-channel, offset, dst, sqrt, strided x
    ("int8", (256, 1024), np.float32, True, True, 27, False, False),
    ("int8", (3, 70001), np.float32, False, False, 1, True, True),
    ("int4", (128, 512), ml_dtypes.bfloat16, True, False, 1, False, False),
    ("int4_packed", (64, 2048), ml_dtypes.bfloat16, False, True, 27, True, False),
    ("int32", (96, 1024), np.float32, True, True, 1, False, True),
    ("int32", (7, 5, 4096), ml_dtypes.bfloat16, True, False, 27, False, False),
    ("int8", (2, 3, 4, 5, 6, 7, 8), ml_dtypes.bfloat16, True, True, 27, True, True),
    ("int8", (200000,), np.float32, False, True, 1, False, False),
]


def build(problem, seed):
    kind, shape, sdt, per_channel, has_offset, dst, sqrt_mode, strided = problem
    rng = np.random.default_rng(seed)
    values = values_for(kind, shape, rng)
    x = x_input(kind, values)
    if strided:
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    n = shape[-1] if per_channel else 1
    scale = (rng.standard_normal(n) * 0.05).astype(sdt)
    offset = rng.normal(0, 4, n).astype(sdt) if has_offset else None
    return x, scale, offset, dict(dst_type=dst, sqrt_mode=sqrt_mode)


def run_threads(targets):
    errors = []

    def guard(fn):
        def wrapped():
            try:
                fn()
            except BaseException as err:  # surfaced in the main thread below
                errors.append(err)
        return wrapped

    threads = [threading.Thread(target=guard(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_8_threads_x_4_calls_of_8_problems_at_once_give_the_bits_of_one_thread():
    calls = [build(p, seed) for seed, p in enumerate(PROBLEMS)]
    single = [ascend_anti_quant(x, s, o, **kw) for x, s, o, kw in calls]      # one thread, also warms kernels
    for (x, s, o, kw), y in zip(calls, single):
        assert_same_bits(y, reference.anti_quant(x, s, o, **kw))
    barrier = threading.Barrier(len(calls))
    results = [[] for _ in calls]

    def worker(i):
        x, s, o, kw = calls[i]
        barrier.wait()
        for k in range(4):
            if k % 2:                                 # half the rounds into a caller's out
                out = np.full(single[i].shape, 9, DST[kw["dst_type"]])
                results[i].append(ascend_anti_quant(x, s, o, out=out, **kw))
            else:
                results[i].append(ascend_anti_quant(x, s, o, **kw))

    run_threads([lambda i=i: worker(i) for i in range(len(calls))])
    for i, ys in enumerate(results):
        assert len(ys) == 4
        for y in ys:
            assert_same_bits(y, single[i])
    print(f"{len(calls)} threads x 4 calls: {sum(map(len, results))} results bit-exact, "
          f"{sum(y.nbytes for y in single) * 4} bytes written")


def test_3_streams_fed_by_6_threads_with_48_jobs_and_3_injected_faults():
    """Three streams, six feeder threads, every problem; one job per stream fails at run time."""
    calls = [build(p, 100 + seed) for seed, p in enumerate(PROBLEMS)]
    expected = [reference.anti_quant(x, s, o, **kw) for x, s, o, kw in calls]
    streams = [Stream() for _ in range(3)]
    outputs, statuses = [], []
    lock = threading.Lock()

    def feed(stream, offset):
        for k in range(len(calls)):
            i = (k + offset) % len(calls)
            x, s, o, kw = calls[i]
            y = np.zeros(expected[i].shape, DST[kw["dst_type"]])
            size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
                T(x) if not isinstance(x, AclTensor) else x, T(s), None if o is None else T(o), kw["dst_type"],
                kw["sqrt_mode"], T(y))
            status = status or aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream)
            with lock:
                outputs.append((i, y))
                statuses.append(status)

    def fail():
        raise RuntimeError("injected fault")

    for stream in streams:
        stream.submit(fail)                         # fails first: later work on the stream must still run
    run_threads([lambda st=st, k=k: feed(st, 3 * k + j) for k, st in enumerate(streams) for j in range(2)])
    for stream in streams:
        assert stream.synchronize() == Status.ACLNN_ERR_RUNTIME_ERROR
        assert "injected fault" in aclGetRecentErrMsg()
    assert statuses == [Status.ACLNN_SUCCESS] * len(statuses) and len(outputs) == 6 * len(calls)
    for i, y in outputs:
        assert_same_bits(y, expected[i])
    for stream in streams:                          # reported once: the streams are clean again
        assert stream.synchronize() == Status.ACLNN_SUCCESS
        assert stream.close() == Status.ACLNN_SUCCESS
    print(f"{len(streams)} streams, 6 feeder threads: {len(outputs)} jobs bit-exact, {len(streams)} faults "
          "reported once each")


def test_1_faulting_executor_of_4_on_a_stream_is_reported_and_the_other_3_run():
    stream = Stream()
    jobs = [build(PROBLEMS[0], seed) for seed in range(4)]
    ys = []
    for k, (x, s, o, kw) in enumerate(jobs):
        y = np.zeros(x.shape, DST[kw["dst_type"]])
        size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(T(x), T(s), T(o), 27, False, T(y))
        assert status == Status.ACLNN_SUCCESS
        if k == 1:                                  # this one faults while running (as a device error would)
            def broken(workspace):
                raise AclnnError(Status.ACLNN_ERR_INNER, "injected device fault")
            executor.run = broken
        assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream) == Status.ACLNN_SUCCESS
        ys.append(y)
    assert stream.synchronize() == Status.ACLNN_ERR_INNER
    assert "injected device fault" in aclGetRecentErrMsg()
    assert not ys[1].view(np.uint16).any()
    for k in (0, 2, 3):
        x, s, o, kw = jobs[k]
        assert_same_bits(ys[k], reference.anti_quant(x, s, o, dst_type=27))
    assert stream.synchronize() == Status.ACLNN_SUCCESS
    stream.close()


def test_kernels_release_the_gil():
    """Another Python thread sees y part-written while the call is inside the kernel.

    Only compiled kernel code writes y, so a part-written y seen from Python proves Python ran while the
    kernel did: the kernel had released the GIL. The kernel runs on one Numba thread so the observer has a
    core; the proof does not depend on timing, only the number of observations does.
    """
    n = 1 << 26
    x = np.random.default_rng(5).integers(-128, 128, n, dtype=np.int8)
    scale = np.array([0.5], np.float32)                  # every result is finite: never the NaN sentinel
    ascend_anti_quant(x[:4096], scale)                   # compile or load the kernel first
    watch = np.linspace(0, n - 1, 257).astype(np.int64)
    for _ in range(3):
        y = np.empty(n, np.float16)
        bits = y.view(np.uint16)
        bits[...] = 0xFFFF

        def work():
            numba.set_num_threads(1)
            ascend_anti_quant(x, scale, out=y)

        worker = threading.Thread(target=work)
        worker.start()
        partial = 0
        while worker.is_alive():
            written = int(np.count_nonzero(bits[watch] != 0xFFFF))
            partial += 0 < written < watch.size
        worker.join()
        assert not (bits == 0xFFFF).any()
        if partial:
            break
    assert partial, "never saw y part-written from another thread: does the kernel hold the GIL?"
    print(f"{partial} observations of a part-written {n}-element y from another thread")


def test_aclGetRecentErrMsg_is_per_thread_across_8_failing_threads():
    """Failures in eight threads at once: each thread reads its own message."""
    barrier = threading.Barrier(8)
    seen = {}

    def worker(i):
        x = T(np.zeros((2, 8), np.int8))
        barrier.wait()
        status = aclnnAscendAntiQuantGetWorkspaceSize(x, T(np.ones(9 + i, np.float32)), None, 1, False,
                                                      T(np.zeros((2, 8), np.float16)))[2]
        seen[i] = (status, aclGetRecentErrMsg())

    run_threads([lambda i=i: worker(i) for i in range(8)])
    for i in range(8):
        assert seen[i][0] == Status.ACLNN_ERR_PARAM_INVALID
        assert seen[i][1].endswith(f"scale: expected size 1 or y's last dimension 8, got {9 + i}"), seen[i][1]


def test_8_threads_x_40_calls_with_reused_outputs_and_workspaces_never_write_over_a_kept_result():
    """Each thread's kept workspace and output memory (core.launch) stay its own: a result a thread still
    holds is never written by a later call, its own or another thread's."""
    threads, calls = 8, 40
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (512, 2 * 2048), dtype=np.int8)[:, ::2]     # strided: staged in the workspace
    scale = rng.random(2048).astype(np.float32)
    want = reference.anti_quant(x, scale)                                  # 2 MiB of float16: reused memory
    kept = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def worker(t):
        barrier.wait()
        for k in range(calls):
            y = ascend_anti_quant(x, scale)
            if k % 3:
                del y                                                      # dropped: its memory may be reused
                continue
            kept[t].append(y)
            for held in kept[t]:
                assert_same_bits(held, want)

    run_threads([lambda t=t: worker(t) for t in range(threads)])
    held = [y for ys in kept for y in ys]
    assert len(held) == threads * len(range(0, calls, 3))
    for i, a in enumerate(held):
        assert_same_bits(a, want)
        assert not any(np.shares_memory(a, b) for b in held[i + 1:])
    print(f"{threads} threads x {calls} calls, {len(held)} results kept ({want.nbytes} bytes each): none overwritten")
