"""Simulate a tile plan on the NPU's vector cores: time, limiting resource, per-core pipes; trace and plot."""

from __future__ import annotations

import json

from .. import sim
from ..core import platforms
from .options import output_file, plot_file
from .problem import Experiment, add_problem_arguments, add_strategy_arguments, core_groups, core_label, \
    strategy_from


def add_arguments(parser) -> None:
    add_problem_arguments(parser)
    add_strategy_arguments(parser)
    parser.add_argument("--trace", metavar="OUT.json", type=output_file,
                        help="write a Trace Event Format file (opens in Perfetto)")
    parser.add_argument("--plot", metavar="OUT.png", type=plot_file, help="draw the timeline (needs matplotlib)")


def run(args) -> int:
    exp = Experiment.from_args(args)
    strategy = strategy_from(args)
    plan = exp.plan(strategy)
    timeline = sim.simulate(plan)
    prof = timeline.profile
    print(f"antiquant sim: {exp.describe()}, strategy {strategy.describe()}")
    print(f"  {plan.block_dim} cores, {plan.num_tiles} tiles, {timeline.buffers} buffers")
    floor = timeline.bytes / prof.hbm_bytes_per_s * 1e6
    print(f"  total {timeline.total_us:.1f} µs, {timeline.bound}-bound; x and y are {timeline.bytes} bytes "
          f"in HBM ({floor:.1f} µs at {prof.hbm_bytes_per_s / 1e9:g} GB/s), scale/offset reads "
          f"{timeline.l2_bytes} bytes from L2")
    critical = max(timeline.per_core, key=lambda c: c.end_us)
    parts = ", ".join(f"{name} {us:.1f}" for name, us in timeline.breakdown)
    print(f"  last core to finish: {critical.core}; its µs: {parts}")
    print("  per core (busy µs per pipe):")
    summaries = [(c.tiles, round(c.end_us, 1), round(c.mte2_us, 1), round(c.vector_us, 1), round(c.mte3_us, 1))
                 for c in timeline.per_core]
    for first, last, (tiles, end, mte2, vec, mte3) in core_groups(summaries):
        print(f"    {core_label(first, last):<12} {tiles:>6} tiles  ends {end:>9.1f}  "
              f"MTE2 {mte2:>8.1f}  VECTOR {vec:>8.1f}  MTE3 {mte3:>8.1f}")
    print("  model figures (override with --set FIELD=VALUE):")
    for field in platforms.SIM_FIELDS:
        print(f"    {field:<21} {getattr(prof, field):<10g} {prof.source(field)}")
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump(timeline.to_chrome_trace(), f)
        print(f"  trace written to {args.trace} (open it in Perfetto or chrome://tracing)")
    if args.plot:
        timeline.plot(args.plot)
        print(f"  plot written to {args.plot}")
    return 0
