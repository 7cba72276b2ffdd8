"""``python -m antiquant.bench [--quick] [--out DIR] [--threads 1,2]``: run the suite, write results.json and
results.png."""

from __future__ import annotations

import argparse
import json
import os
import sys

from antiquant.cli.options import output_dir

PEER_KEYS = ("numpy", "torch", "compile")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m antiquant.bench", description=(
        "Benchmark antiquant against the machine's copy bandwidth, numpy + ml_dtypes and PyTorch."))
    parser.add_argument("--quick", action="store_true", help="about a minute: fewer sizes, shapes and repeats")
    parser.add_argument("--out", default="bench/results", type=output_dir,
                        help="directory for results.json and results.png (default bench/results)")
    parser.add_argument("--threads", default=None, help="thread counts to compare, e.g. 1,2 (default 1 and all)")
    parser.add_argument("--peers", default=",".join(PEER_KEYS),
                        help=f"peers to measure, comma-separated from {', '.join(PEER_KEYS)}, or none")
    parser.add_argument("--sections", default=None, help="sections to run (default all): dram,llm,row,sweep,fresh")
    return parser


def parse_list(text: str, allowed, what: str) -> tuple[str, ...]:
    values = () if text.strip() == "none" else tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"{what}: expected a comma-separated subset of {', '.join(allowed)}, got {text!r}")
    return values


def config_from(args):
    """The preset the flags name, with the thread counts, peers and sections they choose."""
    import dataclasses

    from .suite import SECTIONS, parse_threads, preset
    counts = parse_threads(args.threads) if args.threads else None
    config = preset("quick" if args.quick else "full", counts)
    changes = {"peers": parse_list(args.peers, PEER_KEYS, "--peers")}
    if args.sections:
        changes["sections"] = parse_list(args.sections, SECTIONS, "--sections")
    return dataclasses.replace(config, **changes)


def write(results: dict, out_dir: str) -> list[str]:
    """Write results.json and results.png into ``out_dir``; return what was written or skipped."""
    from .plot import write_plot
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "results.json")
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1)
    said = [f"wrote {json_path}"]
    png_path = os.path.join(out_dir, "results.png")
    skipped = write_plot(results, png_path)
    said.append(skipped or f"wrote {png_path}")
    return said


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from(args)
        from .report import markdown
        from .suite import run_suite
        results = run_suite(config)
        said = write(results, args.out)
    except (ValueError, OSError) as err:
        print(f"python -m antiquant.bench: error: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(results))
    for line in said:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
