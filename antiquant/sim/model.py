"""A cost model of Ascend vector cores running a tile plan: when each copy-in, vector pass and copy-out runs.

Every figure comes from the plan's platform profile (``Platform.sources`` says where each comes from) and can
be overridden per call: ``simulate(plan, hbm_bytes_per_s=0.8e12)``. The model:

- All cores start after ``launch_us``. A core runs its tiles in order through three pipes: MTE2 (copy-in of
  x and, when a tile's scale/offset values change, of those), VECTOR, MTE3 (copy-out of y). Launched cores
  without tiles (arch35 launches every vector core; those from numCore on return at once) finish at the launch.
- With ``buffers`` B, tile i's copy-in waits for x slot i % B (the vector pass of tile i-B); its vector pass
  waits for its copy-in, the previous vector pass and y slot i % B (the copy-out of tile i-B); its copy-out
  waits for its vector pass and the previous copy-out.
- A transfer takes ``transfer_latency_us`` per copy plus bytes / rate. For x and y the rate is the core's
  MTE rate or, if lower, its fixed share of HBM: the bandwidth split evenly over the cores with tiles and
  between reads and writes in the problem's x : y byte ratio (x one byte per element for int8 and the 8-bit
  floats, half for int4). The shares add up to the bandwidth, so no schedule moves x and y faster than HBM
  allows. (A core cannot borrow an idle neighbour's share: the model errs slow.) Scale/offset values are small
  and read by every core, so they are served from L2: they cost MTE2 time at the core's rate but no HBM
  bandwidth. Which values a tile needs is the plan's ``scale`` (``ScaleUse``): its columns per channel, its
  rows (taken mod the head count) per head, none per tensor; they are loaded when they differ from the
  previous tile's on the core.
- A vector pass is the kernel's instruction sequence for the tile: cast x to float (int8 / int4 via half, two
  casts; the 8-bit floats straight, one cast, docs/spec.md 8.3), Add offset, Mul scale, cast with rounding.
  Per channel and per head the Add/Mul go one per row (a row against the column vectors, or against its
  broadcast head value) unless an NDDMA kernel replicated the values over the whole tile (the architecture's
  ``HostTiling.broadcast`` modes); a BF16 or sqrt-mode scale adds a cast or a square when the values are
  loaded (arch35 does both in registers per use; the model counts them once per load, as for arch22). An
  instruction over n bytes takes ceil(n / 256) repeats of ``vector_repeat_cycles`` plus ``vector_issue_cycles``
  per 255 repeats, at ``clock_hz``.

Durations do not depend on the buffer count and more buffers only loosen the waits, so double buffering is
never slower than single; removing a tile never makes a core later.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..core import platforms
from ..core.dtypes import FLOAT8_TYPES, DataType
from ..tiling import TilePlan, host

__all__ = ["simulate", "Timeline", "CoreTime", "PIPES", "MAX_TILES", "too_many_tiles"]

PIPES = ("MTE2", "VECTOR", "MTE3")
REPEAT_BYTES = 256      # one vector repeat (docs/spec.md section 6)
MAX_REPEATS = 255       # repeats one vector instruction can issue
# The model walks every tile: about 0.3 KB of arrays per tile and a numpy step per tile slot of a core
# (measured: 2**20 tiles 1.5 s and 0.3 GB, 2**22 tiles 8 s and 1.2 GB). Past this, study a smaller problem.
MAX_TILES = 1 << 20


@dataclasses.dataclass(frozen=True)
class CoreTime:
    """One core's share of the run: tiles, when it finished, and how long each pipe was busy (µs)."""

    core: int
    tiles: int
    end_us: float
    mte2_us: float
    vector_us: float
    mte3_us: float


@dataclasses.dataclass(frozen=True, eq=False)
class Timeline:
    """The simulated run of ``plan``: ``spans[t, pipe] = (start_us, end_us)`` for tile ``t`` of the plan's table.

    ``breakdown`` is what the last core to finish spent (µs): the launch, per-copy latency and moving bytes on
    MTE2 and MTE3, and vector work. ``bound`` names its busiest pipe, or "launch" if the launch took longer:
    "vector"; for a transfer pipe "latency" if per-copy latency outweighs moving bytes, else "hbm" when the
    pipe's rate was its share of HBM, or "mte2" / "mte3" when it was the core's own rate. ``bytes`` counts x
    and y in HBM; ``l2_bytes`` the scale/offset reads.
    """

    plan: TilePlan
    profile: platforms.Platform
    buffers: int
    spans: np.ndarray
    total_us: float
    per_core: tuple[CoreTime, ...]
    bound: str
    breakdown: tuple[tuple[str, float], ...]
    bytes: int
    l2_bytes: int

    def to_chrome_trace(self) -> dict:
        """Trace Event Format (opens in Perfetto / chrome://tracing): a process per core, a thread per pipe."""
        from .trace import chrome_trace
        return chrome_trace(self)

    def plot(self, path, *, title: str | None = None):
        """Draw the timeline as a Gantt chart (one row per core, a lane per pipe) into ``path``."""
        from .plot import plot_timeline
        return plot_timeline(self, path, title=title)


def _instructions(count, nbytes, prof: platforms.Platform) -> np.ndarray:
    """Cycles of ``count`` vector instructions, each over ``nbytes`` bytes (arrays over tiles)."""
    repeats = -(-np.asarray(nbytes, np.int64) // REPEAT_BYTES)
    issues = -(-repeats // MAX_REPEATS)
    return count * (repeats * prof.vector_repeat_cycles + issues * prof.vector_issue_cycles)


def _vector_cycles(plan: TilePlan, nrows, ncols, values, loads, prof: platforms.Platform) -> np.ndarray:
    """Cycles of each tile's vector pass: the kernel's instruction sequence (see the module docstring);
    ``values``: the scale/offset values each tile needs."""
    p = plan.problem
    elems = nrows * ncols
    if p.x_dtype in FLOAT8_TYPES:                         # Cast hifloat8 / fp8 -> float
        cycles = _instructions(1, elems * 4, prof)
    else:                                                 # Cast x (int8 / int4) -> half, half -> float
        cycles = _instructions(1, elems * 2, prof) + _instructions(1, elems * 4, prof)
    if plan.scale.along != "none" and plan.mode not in host(plan.profile).broadcast:
        elementwise = _instructions(nrows, ncols * 4, prof)     # one Add / Mul per row
    else:                                                 # scalar (per tensor) or NDDMA-replicated values
        elementwise = _instructions(1, elems * 4, prof)
    cycles += elementwise * (1 + p.has_offset)            # Add offset, Mul scale
    cycles += _instructions(1, elems * 4, prof)           # Cast float -> float16 / bfloat16 (round to even)
    vectors = 1 + p.has_offset                            # when a tile's values are loaded
    per_load = _instructions(vectors * (p.scale_dtype == DataType.BF16), values * 4, prof)
    per_load += _instructions(int(p.sqrt_mode), values * 4, prof)
    return cycles + per_load * loads


# The tile table's columns that say which scale/offset values a tile needs (ScaleUse.along).
_VALUES = {"columns": ("col0", "ncols"), "rows": ("row0", "nrows")}


def _scale_loads(plan: TilePlan, table: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values each tile needs, 1 where it loads them): a core's first tile and every tile whose values differ
    from the previous tile's; nothing per tensor."""
    if plan.scale.along == "none":
        zeros = np.zeros(len(table), np.int64)
        return zeros, zeros
    start, count = (table[name] for name in _VALUES[plan.scale.along])
    differs = np.ones(len(table), bool)
    differs[1:] = (start[1:] != start[:-1]) | (count[1:] != count[:-1])
    return count, (first | differs).astype(np.int64)


def simulate(plan: TilePlan, *, buffers: int | None = None, **overrides) -> Timeline:
    """Simulate ``plan`` on its platform; ``buffers`` (default: the plan's) and figures from
    ``platforms.SIM_FIELDS`` (e.g. ``hbm_bytes_per_s=0.8e12``) override the profile for this run."""
    buffers = plan.buffers if buffers is None else buffers
    if not isinstance(buffers, int) or isinstance(buffers, bool) or not 1 <= buffers <= 3:
        raise ValueError(f"buffers: expected 1, 2 or 3, got {buffers!r}")
    unknown = sorted(set(overrides) - set(platforms.SIM_FIELDS))
    if unknown:
        raise ValueError(f"simulate: expected overrides among {', '.join(platforms.SIM_FIELDS)}, "
                         f"got {', '.join(unknown)}")
    if plan.problem is None or plan.profile is None:
        raise ValueError("plan: expected a plan made by antiquant.tiling.plan")
    refusal = too_many_tiles(plan)
    if refusal:
        raise ValueError(refusal)
    prof = plan.profile.with_overrides(**overrides)
    if plan.block_dim == 0:
        return Timeline(plan, prof, buffers, np.zeros((0, 3, 2)), 0.0, (), "none", (), 0, 0)
    p = plan.problem
    table = plan.tile_table
    nrows, ncols = table["nrows"], table["ncols"]
    offsets = plan.core_offsets
    counts = np.diff(offsets)
    first = np.zeros(len(table), bool)
    first[offsets[:-1][counts > 0]] = True
    values, loads = _scale_loads(plan, table, first)

    elems = nrows * ncols
    vectors = 1 + p.has_offset
    in_bytes = elems * p.x_bytes
    l2_bytes = loads * values * p.scale_bytes * vectors
    out_bytes = elems * p.y_bytes
    share_in = p.x_bytes / (p.x_bytes + p.y_bytes)
    busy = int((counts > 0).sum())                      # cores with tiles share the bandwidth
    hbm_in, hbm_out = prof.hbm_bytes_per_s * share_in / busy, prof.hbm_bytes_per_s * (1 - share_in) / busy
    core_in = prof.mte2_bytes_per_cycle * prof.clock_hz
    rate_in = min(core_in, hbm_in)
    rate_out = min(prof.mte3_bytes_per_cycle * prof.clock_hz, hbm_out)
    lat = prof.transfer_latency_us
    d2 = lat * (1 + loads * vectors) + (in_bytes / rate_in + l2_bytes / core_in) * 1e6
    dv = _vector_cycles(plan, nrows, ncols, values, loads, prof) / prof.clock_hz * 1e6
    d3 = lat + out_bytes / rate_out * 1e6

    spans = _pipeline(offsets, d2, dv, d3, buffers, prof.launch_us)
    ends = np.where(counts > 0, spans[np.maximum(offsets[1:] - 1, 0), 2, 1], prof.launch_us)
    per_core = tuple(CoreTime(c, int(counts[c]), float(ends[c]),
                              *(float(d[offsets[c]:offsets[c + 1]].sum()) for d in (d2, dv, d3)))
                     for c in range(plan.block_dim))
    critical = int(np.argmax(ends))
    sel = slice(int(offsets[critical]), int(offsets[critical + 1]))
    breakdown = (
        ("launch", prof.launch_us),
        ("mte2 latency", float(lat * (1 + loads[sel] * vectors).sum())),
        ("mte2 bytes", float((in_bytes[sel] / rate_in + l2_bytes[sel] / core_in).sum() * 1e6)),
        ("vector", float(dv[sel].sum())),
        ("mte3 latency", lat * (sel.stop - sel.start)),
        ("mte3 bytes", float(out_bytes[sel].sum() / rate_out * 1e6)),
    )
    bound = _bound(dict(breakdown), hbm_in < core_in, hbm_out < prof.mte3_bytes_per_cycle * prof.clock_hz)
    return Timeline(plan, prof, buffers, spans, float(ends.max()), per_core, bound, breakdown,
                    int(math.ceil(in_bytes.sum() + out_bytes.sum())), int(l2_bytes.sum()))


def too_many_tiles(plan: TilePlan) -> str | None:
    """Why ``simulate`` refuses ``plan`` (more than ``MAX_TILES`` tiles), or None."""
    if plan.num_tiles <= MAX_TILES:
        return None
    return (f"simulate: the plan has {plan.num_tiles} tiles, more than the simulator's limit of {MAX_TILES} "
            f"(it walks every tile); simulate a smaller problem")


def _bound(parts: dict, hbm_in: bool, hbm_out: bool) -> str:
    """The busiest pipe of the last core (or the launch, if longer), named for why it is busy."""
    busy = {"mte2": parts["mte2 latency"] + parts["mte2 bytes"], "vector": parts["vector"],
            "mte3": parts["mte3 latency"] + parts["mte3 bytes"]}
    pipe = max(busy, key=busy.get)
    if parts["launch"] > busy[pipe]:
        return "launch"
    if pipe == "vector":
        return pipe
    if parts[f"{pipe} latency"] > parts[f"{pipe} bytes"]:
        return "latency"
    return "hbm" if (hbm_in if pipe == "mte2" else hbm_out) else pipe


def _pipeline(offsets: np.ndarray, d2, dv, d3, buffers: int, start: float) -> np.ndarray:
    """Start/end of every tile's three stages; cores advance together, tile slot k at a time."""
    ncores = len(offsets) - 1
    counts = np.diff(offsets)
    kmax = int(counts.max())
    pos = np.arange(len(d2)) - np.repeat(offsets[:-1], counts)     # a tile's place in its core's order
    core = np.repeat(np.arange(ncores), counts)
    grid = np.zeros((3, ncores, kmax))
    for g, d in enumerate((d2, dv, d3)):
        grid[g, core, pos] = d
    ends = np.full((3, ncores, kmax), start)
    starts = np.full((3, ncores, kmax), start)
    floor = np.full(ncores, start)
    for k in range(kmax):
        prev = (lambda g: ends[g, :, k - 1]) if k else (lambda g: floor)
        freed = (lambda g: ends[g, :, k - buffers]) if k >= buffers else (lambda g: floor)
        starts[0, :, k] = np.maximum(prev(0), freed(1))                      # x slot free
        ends[0, :, k] = starts[0, :, k] + grid[0, :, k]
        starts[1, :, k] = np.maximum(np.maximum(ends[0, :, k], prev(1)), freed(2))   # y slot free
        ends[1, :, k] = starts[1, :, k] + grid[1, :, k]
        starts[2, :, k] = np.maximum(ends[1, :, k], prev(2))
        ends[2, :, k] = starts[2, :, k] + grid[2, :, k]
    spans = np.empty((len(d2), 3, 2))
    spans[:, :, 0] = starts[:, core, pos].T
    spans[:, :, 1] = ends[:, core, pos].T
    return spans
