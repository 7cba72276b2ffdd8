"""Wall-clock timing (``time.perf_counter``): many samples for short calls, median and min of them.

The machine is shared and noisy: the median is the headline, the min shows what the hardware allows.
Garbage collection is paused while sampling so a collection never lands inside a timed call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import statistics
import sys
import time

__all__ = ["Timing", "measure", "measure_together", "repeated", "sample", "threads", "max_threads"]


@dataclasses.dataclass(frozen=True)
class Timing:
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    def fields(self, traffic_bytes: int | None = None) -> dict:
        """JSON fields: seconds, repeats and (given the bytes moved) GB/s from the median and from the min."""
        out = {"median_s": self.median, "min_s": self.min, "repeats": len(self.samples)}
        if traffic_bytes:
            out["gbps"] = traffic_bytes / self.median / 1e9
            out["gbps_best"] = traffic_bytes / self.min / 1e9
        return out


def sample(fn) -> float:
    """Seconds taken by one call of ``fn`` (its result is dropped after the clock stops)."""
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def measure(fn, *, min_repeat: int = 3, min_time: float = 0.1, max_time: float = 2.0,
            max_repeat: int = 20000) -> Timing:
    """Sample ``fn`` until it ran ``min_repeat`` times and ``min_time`` seconds, or ``max_time`` ran out.

    At least one sample is always taken; call ``fn`` once before (warm-up) so compilation is not timed.
    """
    return measure_together({0: fn}, min_repeat=min_repeat, min_time=min_time, max_time=max_time,
                            max_repeat=max_repeat)[0]


def repeated(fn, repeat: int) -> Timing:
    """Exactly ``repeat`` samples of ``fn``, taken as ``measure`` takes them: the CLI's ``--repeat``."""
    return measure(fn, min_repeat=repeat, min_time=0.0, max_time=math.inf, max_repeat=repeat)


def measure_together(fns: dict, *, min_repeat: int = 3, min_time: float = 0.1, max_time: float = 2.0,
                     max_repeat: int = 20000) -> dict:
    """``measure`` for several calls at once, one sample of each per round, so a slow spell of a shared
    machine lands on all of them rather than on whichever ran then. Each stops as ``measure`` would."""
    samples = {key: [] for key in fns}
    totals = dict.fromkeys(fns, 0.0)
    enabled = gc.isenabled()
    gc.disable()
    try:
        running = list(fns)
        while running:
            for key in running:
                samples[key].append(sample(fns[key]))
                totals[key] += samples[key][-1]
            running = [key for key in running
                       if not ((len(samples[key]) >= min_repeat and totals[key] >= min_time)
                               or totals[key] >= max_time or len(samples[key]) >= max_repeat)]
    finally:
        if enabled:
            gc.enable()
    return {key: Timing(tuple(times)) for key, times in samples.items()}


def max_threads() -> int:
    """Threads Numba may use in this process (NUMBA_NUM_THREADS, by default the number of CPUs)."""
    import numba
    return numba.config.NUMBA_NUM_THREADS


@contextlib.contextmanager
def threads(n: int):
    """Run Numba (and torch, if imported) on ``n`` threads; restore the previous counts afterwards."""
    import numba
    torch = sys.modules.get("torch")
    before = numba.get_num_threads(), torch.get_num_threads() if torch else None
    numba.set_num_threads(n)
    if torch:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before[0])
        if torch:
            torch.set_num_threads(before[1])
