"""The pipeline model: its invariants, schedule rules, overrides, trace and plot."""

import json
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from antiquant import platforms, sim, tiling
from antiquant.extras import install_hint
from antiquant.tiling import Strategy


def make_plan(shape, *, x="int8", per_channel=True, offset=True, scale="float32", sqrt=False, strategy="cann",
              platform="Ascend910B"):
    return tiling.plan(shape, x_dtype=x, scale_size=shape[-1] if per_channel else 1, scale_dtype=scale,
                       has_offset=offset, dst_type="bfloat16", sqrt_mode=sqrt, platform=platform, strategy=strategy)


@st.composite
def plans(draw):
    x = draw(st.sampled_from(["int8", "int4"]))
    cols = draw(st.integers(1, 3000)) * 2
    rows = draw(st.integers(1, max(1, 600_000 // cols)))
    strategy = Strategy(draw(st.sampled_from(list(tiling.STRATEGIES))), buffers=draw(st.integers(1, 3)),
                        ub_budget=draw(st.one_of(st.none(), st.integers(tiling.MIN_UB_BUDGET, 196608))))
    return make_plan((rows, cols), x=x, per_channel=draw(st.booleans()), offset=draw(st.booleans()),
                     scale=draw(st.sampled_from(["float32", "bfloat16"])), sqrt=draw(st.booleans()),
                     strategy=strategy, platform=draw(st.sampled_from(["Ascend910B", "Ascend310P"])))


def hbm_floor_us(plan) -> float:
    """launch + (x bytes + y bytes) / bandwidth, from the shape and x's dtype alone (int4 half a byte)."""
    n = math.prod(plan.problem.shape)
    x_bytes = n / 2 if plan.problem.x_dtype.name in ("INT4", "INT32") else n
    return plan.profile.launch_us + (x_bytes + 2 * n) / plan.profile.hbm_bytes_per_s * 1e6


@given(plans())
def test_invariants(plan):
    check_invariants(plan)


def check_invariants(plan):
    """More buffers are never slower, nothing beats HBM, and a plan without a tile finishes no later."""
    one, two, three = (sim.simulate(plan, buffers=b) for b in (1, 2, 3))
    # double buffering is never slower than single, nor triple than double
    assert three.total_us <= two.total_us + 1e-9 and two.total_us <= one.total_us + 1e-9
    # nothing beats moving x and y through HBM at full bandwidth
    for timeline in (one, two, three):
        assert timeline.total_us >= hbm_floor_us(plan) * (1 - 1e-12)
    # more work is never faster: the plan without one core's last tile finishes no later
    offsets = plan.core_offsets
    core = int(np.argmax(np.diff(offsets)))
    if offsets[core + 1] - offsets[core] > 1:
        keep = np.ones(len(plan.tile_table), bool)
        keep[offsets[core + 1] - 1] = False
        lighter = plan.with_tiles(plan.tile_table[keep])
        assert sim.simulate(lighter, buffers=2).total_us <= two.total_us + 1e-9


def test_heavier_arithmetic_is_never_faster():
    base = make_plan((512, 4096), offset=False)
    for heavier in (dict(offset=True), dict(scale="bfloat16"), dict(sqrt=True)):
        plan = make_plan((512, 4096), **{"offset": False, **heavier})
        same_tiles = plan.with_tiles(base.tile_table)
        assert sim.simulate(same_tiles).total_us >= sim.simulate(base).total_us
    int4 = make_plan((512, 4096), x="int4", offset=False).with_tiles(base.tile_table)
    assert sim.simulate(int4).total_us <= sim.simulate(base).total_us   # int4 moves half the bytes of x


@pytest.mark.parametrize("buffers", [1, 2, 3])
def test_schedule_follows_the_pipeline_rules(buffers):
    plan = make_plan((300, 5000), strategy=Strategy("cann", ub_budget=32768))
    tl = sim.simulate(plan, buffers=buffers)
    s = tl.spans
    launch = plan.profile.launch_us
    assert (s[:, :, 1] >= s[:, :, 0]).all() and (s[:, :, 0] >= launch).all()
    assert (s[:, 0, 1] <= s[:, 1, 0] + 1e-12).all() and (s[:, 1, 1] <= s[:, 2, 0] + 1e-12).all()
    for c in range(plan.block_dim):
        t = s[plan.core_offsets[c]:plan.core_offsets[c + 1]]
        for pipe in range(3):     # a pipe runs one tile at a time, in order
            assert (t[1:, pipe, 0] >= t[:-1, pipe, 1] - 1e-12).all()
        # slot reuse: copy-in of tile i waits for the vector pass of tile i - B, the vector pass for copy-out
        assert (t[buffers:, 0, 0] >= t[:-buffers, 1, 1] - 1e-12).all()
        assert (t[buffers:, 1, 0] >= t[:-buffers, 2, 1] - 1e-12).all()
    assert tl.total_us == pytest.approx(s[:, 2, 1].max())
    assert [c.end_us for c in tl.per_core] == pytest.approx([s[plan.core_offsets[c + 1] - 1, 2, 1]
                                                             for c in range(plan.block_dim)])


def test_bound_names_the_limiting_resource():
    big = make_plan((4096, 11008), per_channel=False, offset=False)
    assert sim.simulate(big).bound == "hbm"
    assert sim.simulate(make_plan((4, 64))).bound == "launch"
    assert sim.simulate(big, vector_repeat_cycles=40).bound == "vector"
    assert sim.simulate(big, hbm_bytes_per_s=1e15, mte2_bytes_per_cycle=4).bound == "mte2"
    assert sim.simulate(big, transfer_latency_us=50).bound == "latency"


def test_overrides_change_the_run_and_are_recorded():
    plan = make_plan((4096, 11008), per_channel=False, offset=False)
    base = sim.simulate(plan)
    slow = sim.simulate(plan, hbm_bytes_per_s=0.4e12)
    assert slow.total_us > base.total_us and slow.profile.hbm_bytes_per_s == 0.4e12
    assert slow.profile.source("hbm_bytes_per_s").startswith("override")
    assert base.profile.source("hbm_bytes_per_s").startswith("docs/spec.md section 6")
    assert all(base.profile.source(f) != "not recorded" for f in platforms.SIM_FIELDS)
    assert base.profile is plan.profile and plan.profile.with_overrides() is plan.profile  # nothing to copy
    with pytest.raises(ValueError, match="expected overrides among hbm_bytes_per_s"):
        sim.simulate(plan, ub_bytes=1)
    with pytest.raises(ValueError, match="buffers: expected 1, 2 or 3, got 4"):
        sim.simulate(plan, buffers=4)
    with pytest.raises(ValueError, match="clock_hz must be positive"):
        sim.simulate(plan, clock_hz=0)


def test_l2_scale_reads_are_counted_once_per_column_range():
    plan = make_plan((64, 20000), offset=True)     # column tiles alternate: every tile reloads its columns
    tl = sim.simulate(plan)
    assert tl.l2_bytes == 64 * 20000 * 8      # float32 scale + offset for every element's column
    split = make_plan((64, 20000), offset=True, strategy="column-split")   # each core loads its band once
    assert sim.simulate(split).l2_bytes == 20000 * 8


def test_chrome_trace():
    plan = make_plan((200, 3000), strategy=Strategy("row-batched", ub_budget=20000))
    tl = sim.simulate(plan)
    trace = json.loads(json.dumps(tl.to_chrome_trace()))
    events = trace["traceEvents"]
    names = {(e["pid"], e["args"]["name"]) for e in events if e["name"] == "process_name"}
    assert names == {(0, "host")} | {(c + 1, f"core {c}") for c in range(plan.block_dim)}
    threads = {(e["pid"], e["tid"], e["args"]["name"]) for e in events if e["name"] == "thread_name" and e["pid"]}
    assert threads == {(c + 1, p, pipe) for c in range(plan.block_dim) for p, pipe in enumerate(sim.PIPES)}
    slices = [e for e in events if e["ph"] == "X" and e["pid"] > 0]
    assert len(slices) == 3 * len(plan.tile_table)
    end = max(e["ts"] + e["dur"] for e in slices)
    assert end == pytest.approx(tl.total_us, abs=1e-3)
    assert trace["otherData"]["bound"] == tl.bound


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "timeline.png"
    sim.simulate(make_plan((100, 20000))).plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=re.escape(f"plotting needs matplotlib: {install_hint('plot')}")):
        sim.simulate(make_plan((4, 64))).plot("unused.png")


def test_plans_with_too_many_tiles_are_refused():
    plan = make_plan((99999999999, 99999999999), offset=False)
    with pytest.raises(ValueError, match=f"the plan has {plan.num_tiles} tiles, more than the simulator's limit "
                                         f"of {sim.MAX_TILES}"):
        sim.simulate(plan)
    assert "tile_table" not in vars(plan)       # refused before listing a tile


def test_empty_plan():
    tl = sim.simulate(make_plan((0, 64)))
    assert tl.total_us == 0 and tl.per_core == () and tl.to_chrome_trace()["traceEvents"]
