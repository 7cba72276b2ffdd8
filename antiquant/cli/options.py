"""Option types the commands share, checked while the command line is parsed (so before any work): dtype names
in every spelling of ``core.dtypes.NAMES``, and output paths a command can write to."""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile

from ..core import dtypes
from ..extras import install_hint

__all__ = ["add_dtype_argument", "output_file", "output_dir", "plot_file", "unwritable"]


def add_dtype_argument(parser, flag: str, datatypes, default: str, what: str, spelling: str = "name") -> None:
    """``flag`` taking any name ``core.dtypes.DTYPE_NAMES`` gives one of ``datatypes`` (``bf16`` or
    ``bfloat16``); the command reads it in ``spelling`` ("name" or "short", as its own tables are keyed)."""
    table = dtypes.names_of(datatypes, spelling)

    def canonical(text: str) -> str:
        dt = dtypes.DTYPE_NAMES.get(text.lower())
        return getattr(dtypes.NAMES[dt], spelling) if dt in datatypes else text   # else: argparse's choices say no

    others = [n for dt in datatypes for n in (dtypes.NAMES[dt].name, dtypes.NAMES[dt].short, *dtypes.NAMES[dt].aliases)
              if n not in table]
    also = f"; also {', '.join(others)}" if others else ""
    parser.add_argument(flag, type=canonical, choices=table, default=default, metavar="{" + ",".join(table) + "}",
                        help=f"{what} (default {default}{also})")


def output_file(path: str) -> str:
    """A file path the command can create or overwrite: not a directory, in a writable directory."""
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path}: is a directory; give a file name")
    _check_writable_dir(os.path.dirname(path) or ".", path)
    if os.path.exists(path):
        try:
            open(path, "r+b").close()   # opened for writing, not truncated: the file is left as it is
        except OSError as err:
            raise argparse.ArgumentTypeError(f"{path}: cannot be written ({err.strerror})") from None
    return path


def output_dir(path: str) -> str:
    """A directory the command can write into, or create (as ``os.makedirs``) under a writable one."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if existing == os.path.abspath(path) and not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(f"{path}: exists and is not a directory")
    _check_writable_dir(existing, path)
    return path


def plot_file(path: str) -> str:
    """An ``output_file`` for a plot, refused at once when matplotlib (the ``plot`` extra) is missing."""
    if importlib.util.find_spec("matplotlib") is None:
        raise argparse.ArgumentTypeError(f"plotting needs matplotlib: {install_hint('plot')}")
    return output_file(path)


def unwritable(directory) -> str | None:
    """Why no file can be made in ``directory``, or None. A real write (an unnamed file, gone when closed):
    permission bits do not bind root, nor say that a filesystem is read-only."""
    if not os.path.isdir(directory):
        return "is not a directory" if os.path.exists(directory) else "does not exist"
    try:
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as err:
        return f"is not writable ({err.strerror})"
    return None


def _check_writable_dir(directory: str, path: str) -> None:
    reason = unwritable(directory)
    if reason:
        raise argparse.ArgumentTypeError(f"{path}: directory {directory} {reason}")
