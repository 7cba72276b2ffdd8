"""The results as one PNG: the size sweep, DRAM-sized streams against the copy, LLM shapes against the peers.

matplotlib is optional (the ``plot`` extra): without it ``write_plot`` says why it skipped.
"""

from __future__ import annotations

from antiquant.extras import install_hint

from .report import COPY, STREAMING_COPY, find

__all__ = ["write_plot"]

_MARKER = {"antiquant": "o", COPY: "", "numpy+ml_dtypes": "s", "torch eager": "^"}


def write_plot(results: dict, path: str) -> str | None:
    """Write the PNG to ``path``; return None, or why no plot was written."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed ({install_hint('plot')}): plot skipped"
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1.2, 1, 1]})
    _sweep(axes[0], results)
    _dram(axes[1], results)
    _llm(axes[2], results)
    m = results["machine"]
    fig.suptitle(f"antiquant on {m['cpu']} ({m['cpus']} CPUs, L3 {m.get('l3')}); GB/s = bytes of x read + y written",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return None


def _sweep(ax, results):
    recs = results["sweep"]
    top = max(results["config"]["threads"])
    colours = {}  # one colour per implementation and source; solid at the most threads, dashed below
    for impl, source, t in dict.fromkeys((r["impl"], r.get("source"), r["threads"]) for r in recs):
        points = [r for r in recs if r["impl"] == impl and r.get("source") == source and r["threads"] == t
                  and "gbps" in r]
        name = "copy int8->int16" if impl == COPY else f"{impl} {source}->bf16"
        colour = "black" if impl == COPY else colours.setdefault((impl, source), f"C{len(colours)}")
        ax.plot([r["traffic_bytes"] for r in points], [r["gbps"] for r in points], "-" if t == top else "--",
                color=colour, marker=_MARKER.get(impl, "o"), markersize=3, label=f"{name}, {t} thr",
                linewidth=2 if impl == "antiquant" else 1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes moved per call")
    ax.set_ylabel("GB/s (median)")
    ax.set_title("Size sweep", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)


def _dram(ax, results):
    ours = [r for r in results["dram"] if r["impl"] == "antiquant" and r["variant"] == "out"]
    cases = list(dict.fromkeys(r["case"] for r in ours))
    counts = results["config"]["threads"]
    height = 0.8 / max(1, len(counts))
    for i, t in enumerate(counts):
        values = [(find(ours, case=c, threads=t) or {}).get("gbps", 0) for c in cases]
        ax.barh([k + i * height for k in range(len(cases))], values, height, label=f"antiquant, {t} thr")
        for impl, style, name in ((STREAMING_COPY, "--", "ceiling: streaming-store copy"),
                                  (COPY, ":", "plain-store copy")):
            copy = find(results["ceiling"], impl=impl, threads=t)
            if copy:
                ax.axvline(copy["gbps"], color=f"C{i}", linestyle=style, linewidth=1,
                           label=f"{name}, {t} thr ({copy['gbps']:.1f})")
    widest = max([r["gbps"] for r in ours] + [c["gbps"] for c in results["ceiling"]] + [1])
    ax.set_xlim(0, widest * 1.45)  # room on the right for the legend
    ax.set_yticks([k + height * (len(counts) - 1) / 2 for k in range(len(cases))], cases, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("GB/s (median)")
    ax.set_title("DRAM-sized streams, preallocated output", fontsize=10)
    ax.legend(fontsize=6, loc="lower right")


def _llm(ax, results):
    recs = results["llm"]
    groups = list(dict.fromkeys((tuple(r["shape"]), r["source"]) for r in recs))
    series = list(dict.fromkeys((r["impl"], r["variant"]) for r in recs))
    width = 0.8 / max(1, len(series))
    for i, (impl, variant) in enumerate(series):
        values = [(find(recs, shape=list(s), source=src, impl=impl, variant=variant) or {}).get("gbps", 0)
                  for s, src in groups]
        ax.bar([k + i * width for k in range(len(groups))], values, width, label=f"{impl} ({variant})")
    ax.set_xticks([k + width * (len(series) - 1) / 2 for k in range(len(groups))],
                  [f"{s[0]}x{s[1]}\n{src}" for s, src in groups], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)  # room at the top for the legend
    ax.set_ylabel("GB/s (median)")
    ax.set_title("LLM weight shapes -> bf16", fontsize=10)
    ax.legend(fontsize=6, ncol=2)
