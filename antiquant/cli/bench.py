"""Run a quick benchmark (about a minute) against the copy ceiling and the peers, and print its tables."""

from __future__ import annotations

import json
import sys

from .options import output_dir
from .progress import Progress


def add_arguments(parser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the quick preset, about a minute (the default; as "
                      "`python -m antiquant.bench --quick`)")
    size.add_argument("--full", action="store_true", help="the full suite, about 10 minutes on 2 cores")
    parser.add_argument("--threads", default=None, help="thread counts to compare, e.g. 1,2 (default 1 and all)")
    parser.add_argument("--out", default=None, type=output_dir,
                        help="also write results.json and results.png into this directory")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")


def run(args) -> int:
    try:  # the suite (the repository's bench/, installed as antiquant.bench); imported only when asked for
        from ..bench.__main__ import write
        from ..bench.report import markdown
        from ..bench.suite import parse_threads, preset, run_suite
    except ImportError as err:
        raise OSError(f"the benchmark suite (antiquant.bench) is not importable: {err}") from None
    counts = parse_threads(args.threads) if args.threads else None
    config = preset("full" if args.full else "quick", counts)
    with Progress(len(config.sections), "antiquant bench", "sections") as bar:
        results = run_suite(config, log=bar.write, section_done=lambda _: bar.update())
    if args.out:
        for line in write(results, args.out):
            print(line, file=sys.stderr)
    sys.stdout.write(json.dumps(results, indent=1) + "\n" if args.json else markdown(results))
    if not args.full:
        print("antiquant bench: a quick run; `antiquant bench --full` (or `python -m antiquant.bench`) runs the "
              "full suite (about 10 minutes on 2 cores).", file=sys.stderr)
    return 0
