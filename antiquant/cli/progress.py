"""A progress bar on stderr for the long commands (convert, sweep, bench), drawn only when stderr is a terminal:
a log or a CI run gets no bar characters. No dependency: tqdm's one feature used here is a dozen lines."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]

REDRAW_S = 0.1      # at most ten redraws a second: a bar updated per tile must not cost the work's time
BAR_WIDTH = 30      # characters between the bars' brackets
CLEAR_LINE = "\r\x1b[K"


class Progress:
    """``with Progress(total, "antiquant sweep", "configurations") as bar: ... bar.update(1)``; ``bar.write``
    prints a line above the bar. ``scale`` divides counts for display (1e6 and unit "MB" for bytes)."""

    def __init__(self, total: float, desc: str, unit: str, *, scale: float = 1, stream=None):
        self.total, self.desc, self.unit, self.scale = total, desc, unit, scale
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream)
        self.done = 0
        self._start = self._drawn = time.perf_counter()

    def __enter__(self) -> "Progress":
        self._draw()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def update(self, n: float = 1) -> None:
        self.done += n
        if self.enabled and time.perf_counter() - self._drawn >= REDRAW_S:
            self._draw()

    def write(self, message: str) -> None:
        """``message`` on a line of its own, the bar redrawn below it (plain ``print`` when disabled)."""
        if not self.enabled:
            print(message, file=self.stream, flush=True)
            return
        self.stream.write(f"{CLEAR_LINE}{message}\n")
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        share = min(1.0, self.done / self.total) if self.total else 1.0
        filled = round(share * BAR_WIDTH)
        count = f"{self.done / self.scale:.{_digits(self.scale)}f}/{self.total / self.scale:.{_digits(self.scale)}f}"
        elapsed = time.perf_counter() - self._start
        self.stream.write(f"{CLEAR_LINE}{self.desc} {share:4.0%} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                          f"{count} {self.unit} {elapsed:.0f} s")
        self.stream.flush()
        self._drawn = time.perf_counter()


def _digits(scale: float) -> int:
    return 0 if scale == 1 else 1


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):    # no isatty, or a closed stream
        return False
