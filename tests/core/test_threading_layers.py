"""Every Numba threading layer survives concurrent calls: 8 Python threads and 3 streams at once, bit-exact.

Each layer runs in its own subprocess (``NUMBA_THREADING_LAYER`` picks it, once per process), so a layer
that aborts the process fails its test instead of ending the run. A layer that cannot load here is skipped
with Numba's reason; ``pip install tbb`` provides TBB, whose library lands in the environment's ``lib/``
(found through ``LD_LIBRARY_PATH``, docs/performance.md#threads-and-threading-layers).
"""

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS, STREAMS, ROUNDS = 8, 3, 3      # Python threads calling the operator, streams, rounds per thread
TIMEOUT_S = 600

PROBE = "import numba; numba.get_num_threads(); print(numba.threading_layer())"

WORKER = r"""
import sys, threading
import numba, numpy as np
sys.path[:0] = sys.argv[1:3]
from antiquant import (AclTensor, Status, Stream, aclGetRecentErrMsg, aclnnAscendAntiQuant,
                       aclnnAscendAntiQuantGetWorkspaceSize, ascend_anti_quant, reference)
from antiquant.core import threads
from conftest import DST, assert_same_bits
from test_load import PROBLEMS, build, run_threads

n_threads, n_streams, rounds = map(int, sys.argv[3:6])
problems = [("int8", (512, 1024), np.float32, True, False, 1, False, False), *PROBLEMS]   # the issue's shape
calls = [build(p, seed) for seed, p in enumerate(problems)]
expected = [reference.anti_quant(x, s, o, **kw) for x, s, o, kw in calls]
T = AclTensor.from_numpy
barrier = threading.Barrier(n_threads + n_streams)
checked = []

def pythonic(t):
    barrier.wait()
    for r in range(rounds):
        for k in range(len(calls)):
            i = (t + k) % len(calls)
            x, s, o, kw = calls[i]
            out = np.full(expected[i].shape, 9, DST[kw["dst_type"]]) if r % 2 else None
            mode = "ub" if (t + r) % 3 == 0 else "fused"
            y = ascend_anti_quant(x, s, o, out=out, mode=mode, **kw)
            assert_same_bits(y, expected[i])
            checked.append(i)

def streamed(stream, t):
    barrier.wait()
    ys = []
    for r in range(rounds):
        for k in range(len(calls)):
            i = (t + k) % len(calls)
            x, s, o, kw = calls[i]
            y = np.zeros(expected[i].shape, DST[kw["dst_type"]])
            size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
                x if isinstance(x, AclTensor) else T(x), T(s), None if o is None else T(o), kw["dst_type"],
                kw["sqrt_mode"], T(y))
            assert status == Status.ACLNN_SUCCESS, aclGetRecentErrMsg()
            assert aclnnAscendAntiQuant(np.empty(size, np.uint8), size, executor, stream) == Status.ACLNN_SUCCESS
            ys.append((i, y))
    assert stream.synchronize() == Status.ACLNN_SUCCESS, aclGetRecentErrMsg()
    for i, y in ys:
        assert_same_bits(y, expected[i])
        checked.append(i)

streams = [Stream() for _ in range(n_streams)]
run_threads([lambda t=t: pythonic(t) for t in range(n_threads)]
            + [lambda t=t, st=st: streamed(st, t) for t, st in enumerate(streams)])
for stream in streams:
    assert stream.close() == Status.ACLNN_SUCCESS
per_source = rounds * len(calls)
assert len(checked) == (n_threads + n_streams) * per_source, len(checked)
print(f"layer {numba.threading_layer()} (serialised: {threads.serialised()}): {n_threads} threads x "
      f"{per_source} calls + {n_streams} streams x {per_source} jobs = {len(checked)} results bit-exact")
"""


def layer_environment(layer: str) -> dict:
    """The environment that makes Numba pick ``layer``, or a skip naming why it cannot load here.

    pip's tbb installs libtbb.so.12 into ``sys.prefix/lib``, which the dynamic loader does not search: the
    probe retries with it on ``LD_LIBRARY_PATH``.
    """
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    lib = os.path.join(sys.prefix, "lib")
    tries = [env, dict(env, LD_LIBRARY_PATH=os.pathsep.join(filter(None, [lib, env.get("LD_LIBRARY_PATH")])))]
    reason = ""
    for candidate in tries:
        probe = subprocess.run([sys.executable, "-c", PROBE], env=candidate, capture_output=True, text=True,
                               timeout=TIMEOUT_S)
        if probe.returncode == 0 and probe.stdout.strip() == layer:
            return candidate
        reason = " ".join((probe.stderr.strip().splitlines() or ["no output"])[-3:])
    pytest.skip(f"the {layer} threading layer does not load here: {reason}")


@pytest.mark.parametrize("layer", ["workqueue", "omp", "tbb"])
def test_8_threads_and_3_streams_at_once_are_bit_exact_on_each_threading_layer(layer):
    env = layer_environment(layer)
    worker = subprocess.run([sys.executable, "-c", WORKER, TESTS, os.path.join(TESTS, "core"), str(THREADS),
                             str(STREAMS), str(ROUNDS)], env=env, capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert worker.returncode == 0, f"exit {worker.returncode} on {layer}:\n{worker.stderr[-3000:]}"
    print(worker.stdout.strip())
    assert f"layer {layer} (serialised: {layer == 'workqueue'})" in worker.stdout, worker.stdout


def test_only_parallel_launches_on_a_layer_that_is_not_thread_safe_take_the_lock(monkeypatch):
    from antiquant.core import threads
    monkeypatch.setattr(threads, "_serialised", True)          # as under workqueue
    assert threads.launching(True) is threads._LOCK
    assert threads.launching(False) is threads._UNLOCKED       # a kernel on the calling thread never waits
    monkeypatch.setattr(threads, "_serialised", False)         # as under omp or tbb
    assert threads.launching(True) is threads._UNLOCKED
