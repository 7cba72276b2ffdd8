"""Markdown tables from a results JSON: ``python -m antiquant.bench.report results.json`` prints them.

``--update-docs PAGE`` instead rewrites the part of a Markdown page between the ``<!-- bench-report:begin
... -->`` and ``<!-- bench-report:end -->`` markers (docs/performance.md), with the tables and heading level
the begin marker names, so a page's tables are always made from its JSON, never pasted. Only the standard
library: the report can be regenerated anywhere from a saved JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["markdown", "targets", "generated_page", "BEGIN", "END", "main"]

COPY = "widening copy int8->int16"  # the plain-store copy's name in every record (bench/ceiling.py): context
STREAMING_COPY = "widening copy, streaming stores"  # the ceiling: the percentages are of it
CEILING_TARGET = 85     # % of the ceiling every DRAM stream reaches, at every thread count (issue 13)
# One-row calls against numpy + ml_dtypes on the same row (issue 13): (source, columns, variant) -> at most
# this fraction of numpy's median time.
SMALL_CALL_TARGETS = {("int8", 4096, "out"): 0.4, ("int8", 4096, "alloc"): 0.5, ("int4", 16384, "out"): 0.25}
MAJOR = {"int8": "int8", "int4": "int4 (int32)"}


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def size(n: float) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:.0f} B"


def gbps(r: dict | None) -> str:
    return "" if r is None or "gbps" not in r else f"{r['gbps']:.2f}"


def ms(r: dict | None) -> str:
    if r is None:
        return ""
    return "mismatch" if "median_s" not in r else f"{r['median_s'] * 1e3:.2f}"


def us(r: dict | None, key: str = "median_s") -> str:
    return "" if r is None or key not in r else f"{r[key] * 1e6:.1f}"


def ratio(a: dict | None, b: dict | None) -> str:
    """How many times faster a is than b (b's median time over a's)."""
    if not a or not b or "median_s" not in a or "median_s" not in b:
        return ""
    r = b["median_s"] / a["median_s"]
    return f"{r:.1f}x" if r >= 1 else f"{r:.2g}x"


def exact(r: dict | None) -> str:
    return "" if r is None or "exact" not in r else ("yes" if r["exact"] else "**NO**")


def find(records: list[dict], **match) -> dict | None:
    return next((r for r in records if all(r.get(k) == v for k, v in match.items())), None)


def top_threads(results: dict) -> int:
    return max(results["config"]["threads"])


def machine(results: dict) -> str:
    m, v = results["machine"], results["versions"]
    mem = f"{m['mem_total_bytes'] / (1 << 30):.0f} GiB RAM" if m.get("mem_total_bytes") else ""
    load = m.get("loadavg_start"), m.get("loadavg_end")
    parts = [
        f"**Machine**: {m['cpu']}, {m['cpus']} CPUs"
        + (f" ({m['hypervisor']} guest)" if m.get("hypervisor") else "")
        + f", L2 {m.get('l2')}, L3 {m.get('l3')}, {mem}; {' '.join(m.get('isa', []))}.",
        f"**Software**: Python {v['python']}, numpy {v['numpy']}, numba {v['numba']} "
        f"(threading layer {v.get('numba_threading_layer')}, LLVM target {v.get('llvm_host_cpu')}), "
        f"ml_dtypes {v['ml_dtypes']}" + (f", torch {v['torch']}" if "torch" in v else ", torch not installed")
        + f"; antiquant {v['antiquant']}.",
        f"**Run**: preset `{results['config']['name']}`, threads {results['config']['threads']}, "
        f"{results['duration_s'] / 60:.1f} min, started {results['started']}"
        + (f", load average {load[0]:.2f} at start and {load[1]:.2f} at end" if None not in load else "") + ".",
    ]
    other = {k: v for k, v in results.get("other_load", {}).items() if v is not None}
    if other:
        parts.append("**Other processes' share of the CPUs** while each section ran (a busy neighbour stalls "
                     "multi-threaded calls): " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in other.items()) + ".")
    return "\n".join(f"- {part}" for part in parts)


def ceiling_table(results: dict) -> str:
    rows = [[r.get("impl", COPY), r["threads"], size(r["traffic_bytes"]), gbps(r), f"{r['gbps_best']:.2f}"]
            for r in results["ceiling"]]
    return table(["copy", "threads", "traffic", "GB/s (median)", "GB/s (best)"], rows)


def of_ceiling(results: dict, r: dict) -> float:
    """``r``'s GB/s as a percentage of the streaming-store copy's at the same thread count, in the same run."""
    return 100 * r["gbps"] / find(results["ceiling"], impl=STREAMING_COPY, threads=r["threads"])["gbps"]


def dram_table(results: dict) -> str:
    ours = [r for r in results["dram"] if r["impl"] == "antiquant" and r["variant"] == "out"]
    counts = results["config"]["threads"]
    headers = ["case"] + [h for t in counts for h in (f"GB/s, {t} thr", "best", f"% of ceiling, {t} thr")]
    headers.append("exact")
    rows = []
    for case in dict.fromkeys(r["case"] for r in ours):
        row = [case]
        for t in counts:
            r = find(ours, case=case, threads=t)
            row += [gbps(r), f"{r['gbps_best']:.2f}", f"{of_ceiling(results, r):.0f}%"] if r else ["", "", ""]
        rows.append(row + [exact(find(ours, case=case))])
    return table(headers, rows)


def dram_peers_table(results: dict) -> str:
    top = top_threads(results)
    others = [r for r in results["dram"] if not (r["impl"] == "antiquant" and r["variant"] == "out")]
    rows = []
    for r in others:
        ours = find(results["dram"], case=r["case"], impl="antiquant", variant=r["variant"], threads=top)
        pct = f"{of_ceiling(results, r):.0f}%" if "gbps" in r else ""
        rows.append([r["case"], r["impl"], r["variant"], gbps(r) or "mismatch", pct,
                     "" if r["impl"] == "antiquant" else ratio(ours, r), exact(r)])
    return table(["case", "implementation", "output", "GB/s", "% of ceiling", "antiquant faster by", "exact"],
                 rows)


# antiquant's output variants (bench/peers.py Antiquant), and the peers' variant each is compared with
OUTPUTS = {"out": "preallocated", "alloc": "allocated", "alloc-kept": "allocated, previous result alive"}
PEER_VARIANT = {"out": "out", "alloc": "alloc", "alloc-kept": "alloc"}


def llm_table(results: dict) -> str:
    recs = results["llm"]
    rows = []
    for shape, source in dict.fromkeys((tuple(r["shape"]), r["source"]) for r in recs):
        def get(impl, variant):
            return find(recs, shape=list(shape), source=source, impl=impl, variant=variant)
        for variant, label in OUTPUTS.items():
            ours, comp = get("antiquant", variant), get("torch.compile", PEER_VARIANT[variant])
            if ours is None and (comp is None or variant == "alloc-kept"):  # (kept: antiquant's own variant)
                continue
            numpy = get("numpy+ml_dtypes", "alloc") if variant != "out" else None
            eager = get("torch eager", "alloc") if variant != "out" else None
            rows.append([f"{shape[0]}x{shape[1]}", MAJOR[source], label, f"{ms(ours)} ({gbps(ours)})", ms(comp),
                         ms(eager), ms(numpy), ratio(ours, comp), ratio(ours, numpy)])
    return table(["shape", "x", "output", "antiquant ms (GB/s)", "torch.compile ms", "torch eager ms",
                  "numpy ms", "vs torch.compile", "vs numpy"], rows)


def row_table(results: dict) -> str:
    recs = results["row"]
    rows = []
    for r in recs:
        numpy = find(recs, case=r["case"], shape=r["shape"], impl="numpy+ml_dtypes")
        compared = r is not numpy and r["impl"] != COPY  # the copy is a floor, not a competitor
        rows.append([r["case"], f"{r['shape'][0]}x{r['shape'][1]}", r["threads"], r["impl"], r["variant"], us(r),
                     us(r, "min_s"), ratio(r, numpy) if compared else "", exact(r)])
    return table(["case", "row", "thr", "implementation", "call", "us (median)", "us (min)", "vs numpy", "exact"],
                 rows)


def sweep_tables(results: dict) -> str:
    recs = results["sweep"]
    series = list(dict.fromkeys((r["impl"], r.get("source"), r["threads"]) for r in recs))
    ours = [s for s in series if s[0] in ("antiquant", COPY)]
    peers = [s for s in series if s not in ours]

    def label(s):
        impl, source, t = s
        return f"{'copy' if impl == COPY else impl}{'' if impl == COPY else ' ' + source}, {t} thr"

    def one(cols):
        rows = []
        for size_bytes in dict.fromkeys(r["size_bytes"] for r in recs):
            row = [size(size_bytes)]
            for impl, source, t in cols:
                r = find(recs, impl=impl, threads=t, size_bytes=size_bytes,
                         **({} if impl == COPY else {"source": source}))
                row.append(gbps(r))
            if any(row[1:]):
                rows.append(row)
        return table(["traffic"] + [label(s) for s in cols], rows)

    out = one(ours)
    if peers:
        out += "\n\n" + one(peers)
    return out


def fresh_table(results: dict) -> str:
    rows = [[r["case"], r["cache"], f"{r['import_s']:.2f}", f"{r['first_call_s'] * 1e3:.0f}",
             f"{r['second_call_s'] * 1e3:.2f}", f"{r['process_s']:.2f}"] for r in results["fresh"]]
    return table(["case", "Numba cache", "import s", "first call ms", "second call ms", "whole process s"], rows)


def compile_table(results: dict) -> str:
    rows = [[r["impl"], r["variant"], r["case"], "x".join(map(str, r["shape"])), f"{r['compile_s']:.2f}"]
            for r in results["compile"]]
    return table(["implementation", "output", "case", "shape", "first call s"], rows)


def _worst_against(dram: list[dict], pick, base_of) -> tuple[float, dict, dict] | None:
    """The lowest GB/s ratio of a record ``pick`` selects to the record ``base_of(record)`` matches."""
    pairs = [(r, b) for r in dram if pick(r) and (b := find(dram, **base_of(r)))]
    if not pairs:
        return None
    r, b = min(pairs, key=lambda p: p[0]["gbps"] / p[1]["gbps"])
    return r["gbps"] / b["gbps"], r, b


def targets(results: dict) -> list[list[str]]:
    """The targets, each as [target, criterion, measured, met]: DRAM streams, LLM shapes, one row, and
    Ascend 950's paths (8-bit float codes against int8, per head against per channel) on DRAM streams."""
    out = []
    top = top_threads(results)
    ours = [r for r in results["dram"] if r["impl"] == "antiquant" and r["variant"] == "out"]
    for t in results["config"]["threads"]:
        at_t = [r for r in ours if r["threads"] == t]
        if at_t:
            worst = min(at_t, key=lambda r: of_ceiling(results, r))
            pct = of_ceiling(results, worst)
            out.append(["1 DRAM streams", f"every case >= {CEILING_TARGET}% of the streaming-store copy, {t} "
                        f"thread{'s' if t > 1 else ''}", f"worst {pct:.0f}% ({worst['case']})",
                        _met(pct >= CEILING_TARGET)])
    dram = [r for r in ours if r["threads"] == top]
    same = ("dst", "per_channel", "offset")
    for label, pick, base_of in (
            ("8-bit float x", lambda r: r["source"] not in ("int8", "int4") and not r.get("per_head"),
             lambda r: {"source": "int8", "per_head": False, **{k: r[k] for k in same}}),
            ("per-head scale", lambda r: r.get("per_head"),
             lambda r: {"source": r["source"], "per_head": False, **{k: r[k] for k in same}})):
        worst = _worst_against(dram, pick, base_of)
        if worst:
            ratio, r, b = worst
            out.append([f"4 Ascend 950, {label}", f"each >= 90% of the GB/s of the same case with "
                        f"{'int8' if 'float' in label else 'per-channel'}, {top} threads",
                        f"worst {100 * ratio:.0f}% ({r['case']} vs {b['case']})", _met(ratio >= 0.9)])
    llm = results["llm"]
    for variant, label in OUTPUTS.items():
        ours = [r for r in llm if r["impl"] == "antiquant" and r["variant"] == variant and "median_s" in r]
        for peer, source, need in (("torch.compile", "int8", 1.0), ("torch.compile", "int4", 4.0),
                                   ("numpy+ml_dtypes", None, 20.0)):
            peer_variant = "alloc" if peer == "numpy+ml_dtypes" else PEER_VARIANT[variant]  # numpy allocates
            speedups = [p["median_s"] / r["median_s"] for r in ours if source in (None, r["source"])
                        and (p := find(llm, shape=r["shape"], source=r["source"], impl=peer,
                                       variant=peer_variant)) and "median_s" in p]
            if speedups:
                out.append([f"2 LLM shapes, {label}", f"{source or 'all'}: >= {need:g}x {peer}",
                            f"min {min(speedups):.2f}x", _met(min(speedups) >= need)])
    for r in results["row"]:
        numpy = find(results["row"], case=r["case"], shape=r["shape"], impl="numpy+ml_dtypes")
        if not (r["impl"] == "antiquant" and r["threads"] == top and numpy and "median_s" in numpy
                and "median_s" in r):
            continue
        shape = f"{r['shape'][0]}x{r['shape'][1]}"
        if r["variant"] == "out":
            out.append([f"3 one row {shape}", f"{r['source']}: out= faster than numpy, {top} threads",
                        f"{us(r)} us vs {us(numpy)} us", _met(r["median_s"] < numpy["median_s"])])
        most = SMALL_CALL_TARGETS.get((r["source"], r["shape"][1], r["variant"]))
        if most is not None:
            share = r["median_s"] / numpy["median_s"]
            out.append([f"5 small calls {shape}", f"{r['source']}: {r['variant']} <= {most:g}x numpy's time, "
                        f"{top} threads", f"{share:.2f}x ({us(r)} us vs {us(numpy)} us)", _met(share <= most)])
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


TABLES = {
    "targets": ("Targets", lambda r: table(["target", "criterion", "measured", "met"], targets(r))),
    "ceiling": ("Copy ceiling", ceiling_table),
    "dram": ("DRAM-sized streams, antiquant into a preallocated output", dram_table),
    "dram_peers": ("DRAM-sized streams, allocating and peers", dram_peers_table),
    "llm": ("LLM weight shapes (bf16 out, per-channel scale + offset)", llm_table),
    "row": ("One row: per-call cost", row_table),
    "sweep": ("Size sweep (GB/s)", sweep_tables),
    "fresh": ("First call in a fresh process", fresh_table),
    "compile": ("Compile time, kept out of every other timing", compile_table),
}


def markdown(results: dict, *, level: int = 3, tables=tuple(TABLES)) -> str:
    """The machine, then the chosen tables with a heading each (empty ones left out), then the notes."""
    parts = [machine(results)]
    for key in tables:
        title, make = TABLES[key]
        body = make(results)
        if body.count("\n") > 1:
            parts.append(f"{'#' * level} {title}\n\n{body}")
    if results.get("notes"):
        parts.append(f"{'#' * level} Notes\n\n" + "\n".join(f"- {n}" for n in results["notes"]))
    return "\n\n".join(parts) + "\n"


BEGIN = "<!-- bench-report:begin"   # then options "tables=a,b level=N", then "-->"
END = "<!-- bench-report:end -->"


def _marker_options(line: str) -> dict:
    """``tables`` and ``level`` of a begin marker line, as ``markdown`` takes them."""
    body = line.strip().removeprefix(BEGIN).removesuffix("-->").split()
    options = dict(item.partition("=")[::2] for item in body)
    unknown = sorted(set(options) - {"tables", "level"})
    if unknown or not line.strip().endswith("-->"):
        raise ValueError(f"bench-report marker {line.strip()!r}: expected {BEGIN} [tables=a,b] [level=N] -->")
    kw = {}
    if "tables" in options:
        kw["tables"] = _table_list(options["tables"])
    if "level" in options:
        kw["level"] = int(options["level"])
    return kw


def _table_list(text: str) -> list[str]:
    tables = [t.strip() for t in text.split(",") if t.strip()]
    if not tables or any(t not in TABLES for t in tables):
        raise ValueError(f"--tables: expected a comma-separated subset of {', '.join(TABLES)}, got {text!r}")
    return tables


def generated_page(text: str, results: dict) -> str:
    """``text`` (a Markdown page) with the lines between its bench-report markers made anew from ``results``."""
    lines = text.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip().startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ValueError(f"expected one {BEGIN} ... --> line and, after it, one {END} line")
    (b,), (e,) = begins, ends
    body = markdown(results, **_marker_options(lines[b]))
    return "\n".join(lines[:b + 1] + ["", body.rstrip("\n"), ""] + lines[e:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m antiquant.bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a results.json written by python -m antiquant.bench")
    parser.add_argument("--level", type=int, default=3, help="Markdown heading level (default 3)")
    parser.add_argument("--tables", default=",".join(TABLES),
                        help=f"tables to print, comma-separated (default all): {','.join(TABLES)}")
    parser.add_argument("--update-docs", metavar="PAGE", help="rewrite PAGE's tables between its bench-report "
                        "markers (which name the tables and level) instead of printing")
    args = parser.parse_args(argv)
    try:
        tables = _table_list(args.tables)
    except ValueError as err:
        print(f"bench.report: error: {err}", file=sys.stderr)
        return 2
    try:
        with open(args.results) as f:
            results = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        print(f"bench.report: error: results: cannot read {args.results}: {err}", file=sys.stderr)
        return 2
    if args.update_docs:
        return _update(args.update_docs, results)
    sys.stdout.write(markdown(results, level=args.level, tables=tables))
    return 0


def _update(path: str, results: dict) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = generated_page(text, results)
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    except (OSError, ValueError) as err:
        print(f"bench.report: error: {path}: {err}", file=sys.stderr)
        return 2
    print(f"bench.report: {path}: {'tables rewritten' if new != text else 'tables already up to date'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
