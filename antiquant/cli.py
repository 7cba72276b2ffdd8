"""``antiquant`` command line: one subcommand per module, user errors as one line on stderr (exit 2)."""

from __future__ import annotations

import argparse
import importlib
import sys

from .dtypes import AclnnError

# Subcommand name -> module exposing ``add_arguments(parser)``, ``run(args) -> int`` and a docstring.
COMMANDS = {
    "demo": "antiquant.demo",
    "bench": "antiquant.benchcmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antiquant", description="Ascend CANN aclnnAscendAntiQuant on the CPU.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0]
        p = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (AclnnError, ValueError, TypeError, OSError) as err:
        print(f"antiquant {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"antiquant {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
