"""Compare strategies and parameters on one problem: simulated NPU time beside measured CPU time."""

from __future__ import annotations

import json

import numpy as np

from .. import sim, tiling
from ..bench.timing import repeated
from ..core import reference
from ..core.api import ascend_anti_quant
from ..core.launch import MODES
from .options import plot_file
from .progress import Progress
from .problem import Experiment, add_problem_arguments


def add_arguments(parser) -> None:
    add_problem_arguments(parser)
    parser.add_argument("--strategies", default=",".join(tiling.STRATEGIES),
                        help="comma-separated strategies (default: all)")
    parser.add_argument("--buffers", default="1,2,3", help="comma-separated buffer counts (default 1,2,3)")
    parser.add_argument("--ub-budgets", default="",
                        help="comma-separated UB budgets in bytes (default: the platform's)")
    parser.add_argument("--repeat", type=int, default=5, help="timed CPU runs per configuration and mode; "
                        "the median is shown (0: simulate only)")
    parser.add_argument("--plot", metavar="OUT.png", type=plot_file,
                        help="draw simulated and CPU times (needs matplotlib)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what}: expected comma-separated integers, got {text!r}") from None


def configurations(args) -> list[tiling.Strategy]:
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    budgets = _ints(args.ub_budgets, "--ub-budgets") or [None]
    buffers = _ints(args.buffers, "--buffers")
    if not names or not buffers:
        raise ValueError("--strategies and --buffers: expected at least one value each")
    return [tiling.Strategy(n, buffers=b, ub_budget=u) for n in names for u in budgets for b in buffers]


def _median_ms(fn, repeat: int) -> float:
    fn()                                    # compile or load the kernel; not timed
    return repeated(fn, repeat).median * 1e3


def measure(exp: Experiment, strategy: tiling.Strategy, repeat: int, inputs, expected) -> dict:
    """Simulated NPU time and, for each mode, the CPU's median time and whether its bits match."""
    row = {"strategy": strategy.name, "buffers": strategy.buffers, "ub_budget": strategy.ub_budget}
    try:
        plan = exp.plan(strategy)
    except ValueError as err:
        return {**row, "error": str(err)}
    timeline = sim.simulate(plan)
    row.update(ub_budget=plan.ub_budget, cores=plan.block_dim, tiles=plan.num_tiles, ub_bytes=plan.ub_bytes,
               npu_us=round(timeline.total_us, 2), bound=timeline.bound)
    if repeat:
        x, scale, offset, dst = inputs
        for mode in MODES:
            out = np.zeros_like(expected)
            row[f"cpu_{mode}_ms"] = round(_median_ms(lambda: ascend_anti_quant(
                x, scale, offset, dst_type=dst, sqrt_mode=exp.sqrt_mode, out=out, platform=exp.profile,
                strategy=strategy, mode=mode), repeat), 3)
            row[f"exact_{mode}"] = reference.same_bits(out, expected)
    return row


def _table(rows: list[dict], repeat: int) -> list[str]:
    head = f"  {'strategy':<13} {'buffers':>7} {'UB budget':>9} {'cores':>5} {'tiles':>6} {'UB used':>8} " \
           f"{'NPU µs (sim)':>12} {'bound':<8}"
    if repeat:
        head += f" {'CPU fused ms':>12} {'CPU ub ms':>9}  bit-exact"
    lines = [head]
    for r in rows:
        line = f"  {r['strategy']:<13} {r['buffers']:>7} {r['ub_budget'] or '-':>9} "
        if "error" in r:
            lines.append(line + f"does not fit: {r['error']}")
            continue
        line += f"{r['cores']:>5} {r['tiles']:>6} {r['ub_bytes']:>8} {r['npu_us']:>12.1f} {r['bound']:<8}"
        if repeat:
            exact = "yes" if r["exact_fused"] and r["exact_ub"] else "NO"
            line += f" {r['cpu_fused_ms']:>12.2f} {r['cpu_ub_ms']:>9.2f}  {exact}"
        lines.append(line)
    return lines


def _plot(rows: list[dict], path: str, title: str, repeat: int) -> None:
    ok = [r for r in rows if "error" not in r]
    budgets = len({r["ub_budget"] for r in ok}) > 1
    labels = [f"{r['strategy']} b{r['buffers']}" + (f" ub{r['ub_budget'] // 1024}k" if budgets else "")
              for r in ok]
    fig = sim.new_figure(figsize=(10, 1.2 + 0.32 * len(ok)))
    axes = fig.subplots(1, 2 if repeat else 1, sharey=True, squeeze=False)[0]
    y = np.arange(len(ok))
    axes[0].barh(y, [r["npu_us"] for r in ok], color="#4C72B0")
    axes[0].set_xlabel("simulated NPU time (µs)")
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    if repeat:
        for i, (mode, color) in enumerate((("fused", "#55A868"), ("ub", "#DD8452"))):
            axes[1].barh(y + (i - 0.5) * 0.4, [r[f"cpu_{mode}_ms"] for r in ok], height=0.4, color=color,
                         label=f"mode={mode}")
        axes[1].set_xlabel("measured CPU time (ms)")
        axes[1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def run(args) -> int:
    exp = Experiment.from_args(args)
    if args.repeat < 0:
        raise ValueError(f"--repeat: expected 0 or more runs, got {args.repeat}")
    strategies = configurations(args)
    inputs = expected = None
    if args.repeat:
        inputs = exp.inputs()
        x, scale, offset, dst = inputs
        expected = reference.anti_quant(x, scale, offset, dst_type=dst, sqrt_mode=exp.sqrt_mode)
    rows = []
    with Progress(len(strategies), "antiquant sweep", "configurations") as bar:
        for strategy in strategies:
            rows.append(measure(exp, strategy, args.repeat, inputs, expected))
            bar.update()
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        timing = f"CPU: median of {args.repeat} runs" if args.repeat else "simulated only"
        print(f"antiquant sweep: {exp.describe()} ({timing})")
        print("\n".join(_table(rows, args.repeat)))
    if args.plot:
        _plot(rows, args.plot, f"antiquant sweep: {exp.describe()}", args.repeat)
        if not args.json:
            print(f"  plot written to {args.plot}")
    failed = any(not r.get(f"exact_{m}", True) for r in rows for m in MODES)
    return 1 if failed else 0
