"""The benchmark suite: sections measured side by side in one process, each returning JSON records.

Every implementation is called once before it is timed (compilation, cache loads and first-touch page
faults of a preallocated output stay out of the timings); compile times are recorded apart. antiquant's
own output is checked against ``antiquant.reference`` on a prefix, every peer's against antiquant's in full.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .cases import ALL_CASES, ARCH35_CASES, X_BYTES, Case, Inputs, make_inputs, random_pool, shape_for
from .ceiling import copy_buffers, streaming_widen_copy, widen_copy
from .fresh import LAUNCH as FRESH_LAUNCH
from .machine import OtherLoad, describe, l3_bytes, versions
from .peers import PEERS, Antiquant, Impl, mismatch
from .report import COPY, STREAMING_COPY, find
from .timing import max_threads, measure, measure_together, threads

__all__ = ["Config", "SECTIONS", "SCHEMA", "preset", "run_suite", "parse_threads"]

SCHEMA = 1
SECTIONS = ("dram", "llm", "row", "sweep", "fresh")
MB, KiB, MiB, GiB = 10**6, 1 << 10, 1 << 20, 1 << 30
LLM_SHAPES = ((4096, 11008, "int8"), (4096, 11008, "int4"), (11008, 4096, "int8"), (11008, 4096, "int4"),
              (8192, 28672, "int4"))
# The four dtype paths with the most work per element: peers are measured on these at DRAM size.
HEAVY = tuple(c for c in ALL_CASES if c.per_channel and c.offset)
DRAM_CASES = ALL_CASES + ARCH35_CASES
# Ascend 950's per-channel 8-bit float paths to bf16, against numpy + ml_dtypes doing the same decode and scale
ARCH35_HEAVY = tuple(c for c in ARCH35_CASES if c.per_channel and not c.per_head and c.dst == "bf16")
BF16_HEAVY = tuple(c for c in HEAVY if c.dst == "bf16")  # int8 and int4 -> bf16: LLM, row and sweep cases
CHECK_ELEMENTS = 1 << 20  # antiquant's output checked against the reference on this many leading elements


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    threads: tuple[int, ...]
    peers: tuple[str, ...] = tuple(PEERS)
    sections: tuple[str, ...] = SECTIONS
    stream_bytes: int = 800 * MB                   # traffic per case on "DRAM-sized" streams
    stream_cols: int = 16384
    rounds: int = 7                                # interleaved rounds (copy, then every case) per thread count
    dram_peer_cases: tuple[Case, ...] = HEAVY + ARCH35_HEAVY
    llm_shapes: tuple[tuple[int, int, str], ...] = LLM_SHAPES
    row_cols: tuple[int, ...] = (4096, 16384)      # one-row calls: the small-call targets' widths
    sweep_bytes: tuple[int, ...] = tuple(KiB * 4**k for k in range(11))  # 1 KiB .. 1 GiB of traffic
    sweep_peer_max_bytes: int = GiB
    fresh_cases: tuple[Case, ...] = BF16_HEAVY
    min_time: float = 0.3                          # seconds of samples per measurement, at least
    max_time: float = 3.0                          # ... and at most (one sample is always taken)

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["dram_peer_cases"] = [c.label for c in self.dram_peer_cases]
        d["fresh_cases"] = [c.label for c in self.fresh_cases]
        return json.loads(json.dumps(d))  # tuples as the lists JSON reads back


def parse_threads(text: str) -> tuple[int, ...]:
    """"1,2" -> (1, 2), each between 1 and the threads Numba may use; a user error names --threads."""
    top = max_threads()
    try:
        values = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        values = ()
    if not values or values[0] < 1 or values[-1] > top:
        raise ValueError(f"--threads: expected comma-separated counts between 1 and {top}, got {text!r}")
    return values


def preset(name: str, thread_counts: tuple[int, ...] | None = None) -> Config:
    """"full" (about 10-15 minutes on 2 cores), "quick" (about a minute) or "tiny" (the smoke test)."""
    counts = thread_counts or tuple(sorted({1, max_threads()}))
    if name == "full":
        # DRAM-sized: at least 800 MB and three times the last-level cache, so no stream stays cached.
        return Config("full", counts, stream_bytes=max(800 * MB, 3 * (l3_bytes() or 0)))
    if name == "quick":
        return Config("quick", counts, rounds=3, dram_peer_cases=(), llm_shapes=LLM_SHAPES[:2],
                      sweep_bytes=tuple(KiB * 16**k for k in range(5)), sweep_peer_max_bytes=4 * MiB,
                      fresh_cases=BF16_HEAVY[:1], min_time=0.05, max_time=1.0)
    if name == "tiny":
        return Config("tiny", counts, stream_bytes=3 * MB, stream_cols=1024, rounds=2,
                      dram_peer_cases=BF16_HEAVY + ARCH35_HEAVY[-1:], llm_shapes=((64, 256, "int8"), (64, 256, "int4")),
                      row_cols=(512,), sweep_bytes=(KiB, 64 * KiB), sweep_peer_max_bytes=64 * KiB,
                      fresh_cases=BF16_HEAVY[:1], min_time=0.0, max_time=0.05)
    raise ValueError(f"preset: expected 'full', 'quick' or 'tiny', got {name!r}")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rows_for(case: Case, traffic: int, cols: int) -> int:
    rows = max(1, -(-traffic // case.traffic(cols)))
    return rows + 1 if case.per_head and rows == cols else rows    # a square y would read it per channel


def _gbps(record: dict) -> str:
    return f"{record['gbps']:.2f} GB/s" if "gbps" in record else f"{record['median_s'] * 1e6:.1f} us"


class Run:
    """One run of the suite: its config, the peers present, notes and compile times gathered on the way."""

    def __init__(self, config: Config, peers: list[Impl], notes: list[str], log):
        self.config, self.peers, self.notes, self.log = config, peers, notes, log
        self.ours = Antiquant()
        self.top = max(config.threads)
        self.compiles: list[dict] = []
        self.ceiling: list[dict] = []

    # -- helpers ------------------------------------------------------------------------------------------
    def _time(self, call, traffic: int | None, **limits) -> dict:
        cfg = self.config
        limits = {"min_time": cfg.min_time, "max_time": cfg.max_time, **limits}
        return measure(call, **limits).fields(traffic)

    def _check_ours(self, inputs: Inputs, bits: np.ndarray) -> bool:
        """antiquant's output on the leading rows equals ``antiquant.reference`` bit for bit."""
        from antiquant import reference
        rows = max(1, min(inputs.y_shape[0], CHECK_ELEMENTS // inputs.y_shape[1]))
        scale, offset = inputs.broadcast_scale()
        if inputs.case.per_head:        # the leading rows' own scales
            scale, offset = scale[:rows], None if offset is None else offset[:rows]
        expected = reference.anti_quant(inputs.x[:rows], scale, offset, dst_type=inputs.dst_code)
        problem = mismatch(bits[:rows], expected.view(np.uint16))
        if problem:
            self.notes.append(f"antiquant on {inputs.case.label} {inputs.y_shape}: differs from the reference: "
                              f"{problem}")
        return problem is None

    def _bind(self, impl: Impl, inputs: Inputs, variant: str, where: dict):
        try:
            bound = impl.bind(inputs, variant)
        except Exception as err:  # a peer that cannot run here (e.g. no C++ compiler for inductor) is a note
            self.notes.append(f"{impl.name} ({variant}) failed on {inputs.case.label} {inputs.y_shape}: "
                              f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            return None
        if bound.compile_s is not None:
            self.compiles.append({**where, "impl": impl.name, "variant": variant, "compile_s": bound.compile_s})
        return bound

    def checked(self, impl: Impl, inputs: Inputs, variant: str, expected: np.ndarray | None,
                where: dict) -> tuple[dict, object] | None:
        """Bind and run once (the warm-up), checking against ``expected`` bits: the record so far and the
        bound call to time, or None for the call when it differs (recorded, not timed)."""
        record = {**where, "impl": impl.name, "variant": variant, "traffic_bytes": inputs.traffic}
        bound = self._bind(impl, inputs, variant, where)
        if bound is None:
            return None
        bits = bound.bits(bound.call())
        if expected is not None:
            problem = mismatch(bits, expected)
            record["exact"] = problem is None
            if problem:
                record["mismatch"] = problem
                self.notes.append(f"{impl.name} ({variant}) on {inputs.case.label} {inputs.y_shape}: output "
                                  f"differs from antiquant, not timed: {problem}")
                self.log(f"  {impl.name} ({variant}): MISMATCH, not timed")
                return record, None
        return record, bound.call

    def measure_impl(self, impl: Impl, inputs: Inputs, variant: str, expected: np.ndarray | None,
                     where: dict, **limits) -> dict | None:
        """Bind, run once and check against ``expected`` bits, then time; a mismatch is recorded, not timed."""
        checked = self.checked(impl, inputs, variant, expected, where)
        if checked is None:
            return None
        record, call = checked
        if call is not None:
            record.update(self._time(call, inputs.traffic, **limits))
            self.log(f"  {impl.name} ({variant}, {where.get('threads')} threads): {_gbps(record)}")
        return record

    def peer_records(self, inputs: Inputs, expected: np.ndarray, where: dict, peers=None, **limits) -> list:
        records = []
        for peer in self.peers if peers is None else peers:
            for variant in peer.variants:
                record = self.measure_impl(peer, inputs, variant, expected, where, **limits)
                if record is not None:
                    records.append(record)
        return records

    def ours_out(self, inputs: Inputs, where: dict) -> tuple[dict, object, np.ndarray]:
        """antiquant into a preallocated output, run once and checked against the reference: its record (not
        yet timed), the call, and its output bits, which every other contender must equal."""
        bound = self.ours.bind(inputs, "out")
        expected = bound.bits(bound.call())
        record = {**where, "impl": self.ours.name, "variant": "out", "traffic_bytes": inputs.traffic,
                  "exact": self._check_ours(inputs, expected)}
        return record, bound.call, expected

    def ours_records(self, inputs: Inputs, where: dict, **limits) -> tuple[list[dict], np.ndarray]:
        """antiquant into a preallocated output (checked against the reference) and allocating its output."""
        out, call, expected = self.ours_out(inputs, where)
        out.update(self._time(call, inputs.traffic, **limits))
        self.log(f"  antiquant (out, {where.get('threads')} threads): {_gbps(out)}")
        alloc = self.measure_impl(self.ours, inputs, "alloc", expected, where, **limits)
        return [out, alloc], expected

    # -- sections -----------------------------------------------------------------------------------------
    def dram(self) -> list[dict]:
        """Every case on a DRAM-sized stream, interleaved round by round with the ceiling, the copy with
        streaming stores (``pct_ceiling`` is of it), and the same copy with plain stores, reported beside it."""
        cfg = self.config
        shapes = {c: (_rows_for(c, cfg.stream_bytes, cfg.stream_cols), cfg.stream_cols) for c in DRAM_CASES}
        x_bytes = max(int(r * n * X_BYTES[c.source]) for c, (r, n) in shapes.items())
        elements = max(r * c for r, c in shapes.values())
        pool = random_pool(max(x_bytes, cfg.stream_bytes // 3 + 1))
        ybuf = np.empty(max(elements, cfg.stream_bytes // 3 + 1), np.uint16)
        copy_x, copy_y, copy_traffic = copy_buffers(cfg.stream_bytes, pool, ybuf)
        calls, inputs_of = {}, {}
        for case, (rows, cols) in shapes.items():
            inputs = make_inputs(case, rows, cols, pool)
            out = ybuf[:rows * cols].view(inputs.dst_dtype).reshape(rows, cols)
            calls[case] = _ours_into(inputs, out)
            inputs_of[case] = inputs
        self.log(f"dram: {len(shapes)} cases, {cfg.stream_bytes / MB:.0f} MB of traffic each, "
                 f"{cfg.rounds} rounds per thread count")
        exact = {}
        for case, call in calls.items():  # warm up (compile or cache load) and check each case
            exact[case] = self._check_ours(inputs_of[case], call().view(np.uint16))
        records = []
        for t in cfg.threads:
            with threads(t):
                copies = {name: functools.partial(kernel, copy_x, copy_y)
                          for name, kernel in ((COPY, widen_copy), (STREAMING_COPY, streaming_widen_copy))}
                for copy in copies.values():
                    copy()
                timings = measure_together({**copies, **calls}, min_repeat=cfg.rounds, max_repeat=cfg.rounds,
                                           min_time=0.0, max_time=float("inf"))
            for name in copies:
                self.ceiling.append({"impl": name, "threads": t, "traffic_bytes": copy_traffic,
                                     **timings.pop(name).fields(copy_traffic)})
                self.log(f"  {name} ({t} threads): {self.ceiling[-1]['gbps']:.2f} GB/s")
            ceiling = find(self.ceiling, impl=STREAMING_COPY, threads=t)
            for case, timing in timings.items():
                traffic = inputs_of[case].traffic
                record = {**case.fields(), "impl": self.ours.name, "variant": "out", "threads": t,
                          "shape": list(shapes[case]), "traffic_bytes": traffic, "exact": exact[case],
                          **timing.fields(traffic)}
                record["pct_ceiling"] = 100 * record["gbps"] / ceiling["gbps"]
                records.append(record)
                self.log(f"  {case.label} ({t} threads): {record['gbps']:.2f} GB/s, "
                         f"{record['pct_ceiling']:.0f}% of the streaming-store copy")
        top_ceiling = find(self.ceiling, impl=STREAMING_COPY, threads=self.top)["gbps"]
        with threads(self.top):
            for case in cfg.dram_peer_cases:
                inputs = inputs_of[case]
                expected = calls[case]().view(np.uint16)
                where = {**case.fields(), "threads": self.top, "shape": list(shapes[case])}
                self.log(f"dram peers: {case.label}")
                # at least 5 samples: first-touch page faults of a fresh 1.5 GB output vary from call to call;
                # the slow peers stop after max_time anyway
                alloc = self.measure_impl(self.ours, inputs, "alloc", expected, where, min_repeat=5)
                for record in [alloc] + self.peer_records(inputs, expected, where, min_repeat=5):
                    if record is not None and "gbps" in record:
                        record["pct_ceiling"] = 100 * record["gbps"] / top_ceiling
                    records.append(record)
        return [r for r in records if r is not None]

    def llm(self) -> list[dict]:
        """LLM weight shapes, int8 and int4 -> bf16, per-channel scale and offset, with and without allocation;
        antiquant and its peers timed round by round, side by side."""
        records = []
        with threads(self.top):
            for rows, cols, source in self.config.llm_shapes:
                case = Case(source, "bf16", True, True)
                inputs = make_inputs(case, rows, cols, seed=rows + cols)
                where = {**case.fields(), "shape": [rows, cols], "threads": self.top}
                self.log(f"llm: {rows}x{cols} {source}")
                out, call, expected = self.ours_out(inputs, where)
                others = [(self.ours, "alloc")] + [(peer, v) for peer in self.peers for v in peer.variants]
                contenders = [(out, call)] + [c for c in (self.checked(impl, inputs, variant, expected, where)
                                                          for impl, variant in others) if c is not None]
                calls = {i: call for i, (_, call) in enumerate(contenders) if call is not None}
                timings = measure_together(calls, min_repeat=5, min_time=self.config.min_time,
                                           max_time=self.config.max_time)
                for i, (record, _) in enumerate(contenders):
                    if i in timings:
                        record.update(timings[i].fields(inputs.traffic))
                        self.log(f"  {record['impl']} ({record['variant']}): {_gbps(record)}")
                    records.append(record)
                # Timed apart: in the round robin it would write into the memory the "alloc" call just dropped.
                records.append(self.measure_impl(self.ours, inputs, "alloc-kept", expected, where, min_repeat=5))
        return [r for r in records if r is not None]

    def row(self) -> list[dict]:
        """One row, per thread count: the Pythonic and two-phase APIs' per-call cost against numpy and torch."""
        cfg = self.config
        limits = {"min_repeat": 200, "max_time": max(cfg.max_time, 0.05)}
        records = []
        for t in cfg.threads:
            with threads(t):
                for case, cols in itertools.product(BF16_HEAVY, cfg.row_cols):
                    records += self._row(case, cols, t, limits)
        return records

    def _row(self, case: Case, cols: int, t: int, limits: dict) -> list[dict]:
        inputs = make_inputs(case, 1, cols, seed=7)
        where = {**case.fields(), "shape": [1, cols], "threads": t}
        self.log(f"row: 1x{cols} {case.label}, {t} threads")
        records, expected = self.ours_records(inputs, where, **limits)
        for variant, call in _two_phase_calls(inputs).items():
            problem = mismatch(call().view(np.uint16), expected)
            record = {**where, "impl": "antiquant two-phase", "variant": variant,
                      "traffic_bytes": inputs.traffic, "exact": problem is None}
            if problem:
                record["mismatch"] = problem
                self.notes.append(f"two-phase ({variant}) differs from ascend_anti_quant: {problem}")
            else:
                record.update(self._time(call, inputs.traffic, **limits))
            records.append(record)
            self.log(f"  two-phase ({variant}): {_gbps(record) if 'median_s' in record else 'MISMATCH'}")
        cx, cy, traffic = copy_buffers(3 * cols, random_pool(cols), np.empty(cols, np.uint16))
        widen_copy(cx, cy)
        records.append({**where, "impl": COPY, "variant": "out", "traffic_bytes": traffic,
                        **self._time(lambda: widen_copy(cx, cy), traffic, **limits)})
        # numpy is single-threaded: measured once, at the first thread count
        peers = [p for p in self.peers if p.key != "numpy" or t == self.config.threads[0]]
        return records + self.peer_records(inputs, expected, where, peers, **limits)

    def sweep(self) -> list[dict]:
        """Sizes from 1 KiB to the largest configured traffic, per thread count: copy, antiquant, peers."""
        cfg = self.config
        biggest = max(cfg.sweep_bytes)
        pool = random_pool(biggest // 2 + 64)
        ybuf = np.empty(biggest // 2 + 64, np.uint16)
        sweep_peers = [p for p in self.peers if p.key != "compile"]
        if any(p.key == "compile" for p in self.peers):
            self.notes.append("torch.compile is not in the size sweep: it compiles once per shape "
                              "(see the DRAM and LLM tables)")
        records = []
        for t in cfg.threads:
            with threads(t):
                for size in cfg.sweep_bytes:
                    self.log(f"sweep: {size} bytes, {t} threads")
                    limits = {"min_repeat": 5, "min_time": min(cfg.min_time, 0.2)}
                    cx, cy, traffic = copy_buffers(size, pool, ybuf)
                    widen_copy(cx, cy)
                    records.append({"case": COPY, "impl": COPY, "variant": "out", "threads": t,
                                    "size_bytes": size, "traffic_bytes": traffic,
                                    **self._time(lambda: widen_copy(cx, cy), traffic, **limits)})
                    for case in BF16_HEAVY:
                        rows, cols = shape_for(case, size)
                        inputs = make_inputs(case, rows, cols, pool)
                        call = _ours_into(inputs, ybuf[:rows * cols].view(inputs.dst_dtype).reshape(rows, cols))
                        expected = call().view(np.uint16)
                        where = {**case.fields(), "threads": t, "size_bytes": size, "shape": [rows, cols]}
                        records.append({**where, "impl": self.ours.name, "variant": "out",
                                        "traffic_bytes": inputs.traffic,
                                        **self._time(call, inputs.traffic, **limits)})
                        if size <= cfg.sweep_peer_max_bytes:
                            # numpy is single-threaded: measured once, at the first thread count
                            peers = [p for p in sweep_peers if p.key != "numpy" or t == cfg.threads[0]]
                            records += self.peer_records(inputs, expected, where, peers, **limits)
        return records

    def fresh(self) -> list[dict]:
        """First call in a new process: cold (empty Numba cache: compile) then warm (cache load)."""
        records = []
        for case in self.config.fresh_cases:
            with tempfile.TemporaryDirectory(prefix="antiquant-bench-cache-") as cache:
                for state in ("cold", "warm"):
                    self.log(f"fresh process: {case.label}, {state} cache")
                    record = _fresh_process(case, cache)
                    if "error" in record:
                        self.notes.append(f"fresh process ({case.label}, {state}): {record['error']}")
                        continue
                    records.append({**case.fields(), "cache": state, **record})
        return records


def _ours_into(inputs: Inputs, out: np.ndarray):
    from antiquant import ascend_anti_quant
    x, s, o, dst, where = inputs.x, inputs.scale, inputs.offset, inputs.dst_code, inputs.platform
    return lambda: ascend_anti_quant(x, s, o, dst_type=dst, out=out, platform=where)


def _two_phase_calls(inputs: Inputs) -> dict:
    """The CANN two-phase API on one call, per call: a fresh executor each time, or one repeatable executor."""
    from antiquant import (AclTensor, aclnnAscendAntiQuant, aclnnAscendAntiQuantGetWorkspaceSize,
                           aclSetAclOpExecutorRepeatable)
    x, s, o, dst = inputs.x, inputs.scale, inputs.offset, inputs.dst_code
    out = inputs.empty_out()

    def tensors():
        return (AclTensor.from_numpy(x), AclTensor.from_numpy(s), None if o is None else AclTensor.from_numpy(o),
                dst, False, AclTensor.from_numpy(out))

    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(*tensors())
    if status != 0:
        raise RuntimeError(f"aclnnAscendAntiQuantGetWorkspaceSize returned {status}")
    workspace = np.empty(size, np.uint8)  # allocated once, as a caller reusing its workspace does
    aclSetAclOpExecutorRepeatable(executor)

    def fresh():
        ws_size, ex, _ = aclnnAscendAntiQuantGetWorkspaceSize(*tensors())
        aclnnAscendAntiQuant(workspace, ws_size, ex, None)
        return out

    def reused():
        aclnnAscendAntiQuant(workspace, size, executor, None)
        return out

    return {"GetWorkspaceSize + run": fresh, "repeatable executor, run only": reused}


def _fresh_process(case: Case, cache_dir: str) -> dict:
    """Run ``antiquant.bench.fresh`` (``FRESH_LAUNCH``) with the given Numba cache directory; its JSON plus the
    process time."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir,
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    args = [sys.executable, "-c", FRESH_LAUNCH, case.source, case.dst, str(int(case.per_channel)),
            str(int(case.offset))]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=root, timeout=900)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "process_s": elapsed}


def run_suite(config: Config, *, peers: list[Impl] | None = None, log=_log, section_done=None) -> dict:
    """Run the configured sections; ``peers`` overrides the peers named in the config (tests use it);
    ``section_done(name)`` is called as each section finishes (a progress bar's hook)."""
    notes: list[str] = []
    if peers is None:
        peers = []
        for key in config.peers:
            peer = PEERS[key]
            reason = peer.missing()
            if reason:
                notes.append(f"{peer.name} skipped: {reason}")
            else:
                peers.append(peer)
    started = time.perf_counter()
    results = {"schema": SCHEMA, "config": config.to_json(), "machine": describe(),
               "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    run = Run(config, list(peers), notes, log)
    results["other_load"] = {}  # share of the CPUs other processes used while each section ran
    for section in SECTIONS:
        if section in config.sections:
            load = OtherLoad().start()
            results[section] = getattr(run, section)()
            results["other_load"][section] = load.share()
            if section_done is not None:
                section_done(section)
        else:
            results[section] = []
    results["ceiling"] = run.ceiling
    results["compile"] = run.compiles
    results["notes"] = notes
    results["versions"] = versions(torch=sys.modules.get("torch") is not None)
    import numba
    results["versions"]["numba_threading_layer"] = numba.threading_layer()
    results["machine"]["loadavg_end"] = os.getloadavg()[0]
    results["duration_s"] = time.perf_counter() - started
    return results
