"""``antiquant`` command line: one subcommand per module of this package, user errors as one line on stderr (exit 2)."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys

from ..core.dtypes import AclnnError

# Subcommand name -> module exposing ``add_arguments(parser)``, ``run(args) -> int`` and a docstring.
COMMANDS = {
    "demo": "antiquant.cli.demo",
    "convert": "antiquant.cli.convert",
    "plan": "antiquant.cli.plan",
    "sim": "antiquant.cli.sim",
    "sweep": "antiquant.cli.sweep",
    "bench": "antiquant.cli.bench",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a command's usage error is one line on stderr (exit 2), like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _TopParser(_Parser):
    """``antiquant`` itself: a missing or unknown command is argparse's usual usage error (the usage, then the
    error, on stderr; exit 2), so a bare ``antiquant`` shows how to call it and a script sees it fail."""

    def error(self, message):
        self.print_usage(sys.stderr)
        super().error(f"{message}; `antiquant --help` says what each command does")


def version() -> str:
    """The installed distribution's version; the package's own when it runs from a tree pip never installed."""
    try:
        return importlib.metadata.version("antiquant")
    except importlib.metadata.PackageNotFoundError:
        from .. import __version__
        return f"{__version__} (not installed)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` that one: importing a command's module may bring Numba
    and ml_dtypes (a second), which ``antiquant plan`` should not wait for."""
    parser = _TopParser(prog="antiquant", description="Ascend CANN aclnnAscendAntiQuant on the CPU.")
    parser.add_argument("--version", action="version", version=f"antiquant {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}",
                                parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0]
        p = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command ``argv`` names (the first argument, as the parser has no options of its own before it)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(_command(argv)).parse_args(argv)
    except SystemExit as exc:   # a usage error, --help or --version: argparse's exit code, returned
        return exc.code
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # the reader went away (`antiquant plan | head`): not an error of ours
        _silence_stdout()
        return 0
    except (AclnnError, ValueError, TypeError, OSError, ImportError) as err:
        print(f"antiquant {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"antiquant {args.command}: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again (Python's SIGPIPE recipe)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
