"""A simulated run as Trace Event Format: a process per core, a thread per pipe (opens in Perfetto)."""

from __future__ import annotations

from .model import PIPES

__all__ = ["chrome_trace"]


def chrome_trace(timeline) -> dict:
    """Trace Event Format (opens in Perfetto / chrome://tracing): a process per core, a thread per pipe."""
    table = timeline.plan.tile_table
    events = [_meta("process_name", 0, {"name": "host"}), _meta("thread_name", 0, {"name": "launch"}, 0)]
    if timeline.profile.launch_us:
        events.append({"name": "kernel launch", "ph": "X", "pid": 0, "tid": 0, "ts": 0.0,
                       "dur": timeline.profile.launch_us})
    for c in range(timeline.plan.block_dim):
        events.append(_meta("process_name", c + 1, {"name": f"core {c}"}))
        events.append(_meta("process_sort_index", c + 1, {"sort_index": c + 1}))
        events += [_meta("thread_name", c + 1, {"name": pipe}, p) for p, pipe in enumerate(PIPES)]
    offsets = timeline.plan.core_offsets
    columns = zip(*(table[name].tolist() for name in ("core", "row0", "nrows", "col0", "ncols")))
    for t, (core, row0, nrows, col0, ncols) in enumerate(columns):
        k = t - int(offsets[core])
        args = {"tile": k, "rows": f"{row0}:{row0 + nrows}", "cols": f"{col0}:{col0 + ncols}"}
        for p, pipe in enumerate(PIPES):
            start, end = timeline.spans[t, p]
            events.append({"name": f"{pipe} {k}", "cat": pipe, "ph": "X", "pid": core + 1, "tid": p,
                           "ts": round(float(start), 4), "dur": round(float(end - start), 4), "args": args})
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"strategy": timeline.plan.strategy, "platform": timeline.plan.platform,
                          "buffers": timeline.buffers, "total_us": timeline.total_us, "bound": timeline.bound}}


def _meta(name: str, pid: int, args: dict, tid: int = 0) -> dict:
    return {"name": name, "ph": "M", "pid": pid, "tid": tid, "args": args}
