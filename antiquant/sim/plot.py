"""Plots of simulated runs (matplotlib, the optional ``plot`` extra, imported only when drawing)."""

from __future__ import annotations

from ..extras import install_hint
from .model import PIPES

__all__ = ["plot_timeline", "new_figure"]

_COLORS = {"MTE2": "#4C72B0", "VECTOR": "#DD8452", "MTE3": "#55A868"}


def new_figure(**kwargs):
    """A matplotlib Figure (no pyplot, no GUI backend); matplotlib is the optional ``plot`` extra."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"plotting needs matplotlib: {install_hint('plot')}") from None
    return Figure(**kwargs)


def plot_timeline(timeline, path, *, title: str | None = None):
    """Draw the timeline as a Gantt chart (one row per core, a lane per pipe) into ``path``."""
    cores = timeline.plan.block_dim
    fig = new_figure(figsize=(10, min(9.0, 1.6 + 0.16 * cores * 1.5)))
    ax = fig.subplots()
    lane = 0.9 / len(PIPES)
    for p, pipe in enumerate(PIPES):
        for c in range(cores):
            sel = slice(int(timeline.plan.core_offsets[c]), int(timeline.plan.core_offsets[c + 1]))
            spans = timeline.spans[sel, p]
            ax.broken_barh(list(zip(spans[:, 0], spans[:, 1] - spans[:, 0])),
                           (c - 0.45 + p * lane, lane * 0.92), facecolor=_COLORS[pipe],
                           edgecolor="white", linewidth=0.3, label=pipe if c == 0 else None)
    if timeline.profile.launch_us:
        ax.axvspan(0, timeline.profile.launch_us, color="0.92", label="launch")
    floor = timeline.profile.launch_us + timeline.bytes / timeline.profile.hbm_bytes_per_s * 1e6
    ax.axvline(floor, color="0.3", linestyle="--", linewidth=1, label=f"launch + x, y bytes / HBM bandwidth ({floor:.1f} µs)")
    ax.set_xlim(0, timeline.total_us * 1.02 if timeline.total_us else 1)
    ax.set_ylim(cores - 0.5, -0.5)
    ax.set_xlabel("µs")
    ax.set_ylabel("vector core")
    plan = timeline.plan
    ax.set_title(title or f"{plan.strategy} on {plan.platform}: {plan.num_tiles} tiles, {cores} cores, "
                 f"{timeline.buffers} buffers, {timeline.total_us:.1f} µs ({timeline.bound}-bound)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path
