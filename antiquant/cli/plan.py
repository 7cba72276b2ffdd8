"""Show the tile plan for one problem: tiling data and key, block dim, tiles per core, UB map, estimated NPU time."""

from __future__ import annotations

import json

from .. import sim, tiling
from .problem import Experiment, add_problem_arguments, add_strategy_arguments, core_groups, core_label, \
    strategy_from

def add_arguments(parser) -> None:
    add_problem_arguments(parser)
    add_strategy_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def key_text(plan: tiling.TilePlan) -> str:
    """The key and what it encodes, read from the tiling data (each architecture packs the flags its way)."""
    flags = [name for field, name in (("hasOffset", "offset"), ("sqrtMode", "sqrt mode")) if plan.tiling_data[field]]
    return f"{plan.tiling_key} ({', '.join([plan.mode_name, *flags])})"


def per_core(plan: tiling.TilePlan) -> list[dict]:
    """Per core: tiles, elements, and the largest tile (from the plan's grids: no tile table is built)."""
    return [{"core": c, "tiles": share.tiles, "elements": share.elements, "largest_tile": list(share.largest)}
            for c, share in enumerate(plan.per_core())]


def estimate(plan: tiling.TilePlan) -> tuple[sim.Timeline | None, str | None]:
    """The simulated run, or why it was skipped (a plan with more tiles than the simulator walks)."""
    refusal = sim.too_many_tiles(plan)
    return (None, refusal) if refusal else (sim.simulate(plan), None)


def as_dict(exp: Experiment, plan: tiling.TilePlan, timeline: sim.Timeline | None, skipped: str | None) -> dict:
    return {
        "problem": exp.describe(), "strategy": plan.strategy, "platform": plan.platform,
        "tiling_key": plan.tiling_key, "block_dim": plan.block_dim, "workspace_size": plan.workspace_size,
        "tiling_data": dict(plan.tiling_data), "tiling_bytes": plan.to_bytes().hex(), "buffers": plan.buffers,
        "ub_budget": plan.ub_budget, "ub_bytes": plan.ub_bytes, "ub_map": [r._asdict() for r in plan.ub_map],
        "tiles": plan.num_tiles, "per_core": per_core(plan), "notes": list(plan.notes),
        "estimated_us": None if timeline is None else timeline.total_us,
        "bound": None if timeline is None else timeline.bound, "estimate_skipped": skipped,
    }


def run(args) -> int:
    exp = Experiment.from_args(args)
    strategy = strategy_from(args)
    plan = exp.plan(strategy)
    timeline, skipped = estimate(plan)
    if args.json:
        print(json.dumps(as_dict(exp, plan, timeline, skipped), indent=1))
        return 0
    print(f"antiquant plan: {exp.describe()}, strategy {strategy.describe()}")
    print(f"  tiling key {key_text(plan)}, block dim {plan.block_dim}, "
          f"workspace {plan.workspace_size} bytes")
    print(f"  tiling data ({len(plan.tiling_data)} x int64, CANN's order):")
    items = [f"{name} {value}" for name, value in plan.tiling_data.items()]
    for i in range(0, len(items), 7):
        print("    " + "  ".join(items[i:i + 7]))
    print(f"  tiles: {plan.num_tiles}")
    summaries = [(share.tiles, share.elements, share.largest) for share in plan.per_core()]
    for first, last, (tiles, elements, (rows, cols)) in core_groups(summaries):
        print(f"    {core_label(first, last):<12} {tiles:>6} tiles  {elements:>10} elements each, "
              f"largest tile {rows} x {cols}")
    print(f"  UB map ({plan.buffers} buffers; {plan.ub_bytes} of {plan.ub_budget} bytes):")
    for r in plan.ub_map:
        slots = f"{r.slots} x {r.nbytes}" if r.slots > 1 else f"{r.nbytes}"
        print(f"    {r.name:<11} [{r.offset:>6}, {r.end:>6})  {slots} bytes")
    for note in plan.notes:
        print(f"  note: {note}")
    if timeline is None:
        print(f"  estimated NPU time skipped: {skipped.removeprefix('simulate: ')}")
    else:
        print(f"  estimated NPU time {timeline.total_us:.1f} µs ({timeline.bound}-bound; antiquant sim for the "
              f"timeline)")
    return 0
