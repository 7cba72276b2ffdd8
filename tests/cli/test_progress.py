"""Progress bars: drawn on a terminal (a real pseudo-terminal for the command), never into a pipe or a log."""

import io
import os
import subprocess
import sys

from antiquant.cli import main, progress
from antiquant.cli.progress import Progress

SWEEP = ["sweep", "64x64", "--repeat", "0", "--strategies", "cann,equal-bytes", "--buffers", "1,2"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_on_a_terminal_counts_to_its_total_and_ends_its_line(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_S", 0)         # every update drawn
    stream = Terminal()
    with Progress(4, "antiquant sweep", "configurations", stream=stream) as bar:
        bar.update()
        bar.write("a line of its own")
        bar.update(3)
    text = stream.getvalue()
    assert "\r\x1b[Kantiquant sweep   0% [" + "." * progress.BAR_WIDTH + "] 0/4 configurations" in text
    assert "\r\x1b[Kantiquant sweep  25% [" + "#" * 8 + "." * 22 + "] 1/4 configurations" in text
    assert "\r\x1b[Ka line of its own\n\r\x1b[Kantiquant sweep  25%" in text
    assert text.endswith("] 4/4 configurations 0 s\n") and "100% [" + "#" * progress.BAR_WIDTH + "]" in text


def test_bytes_are_shown_scaled():
    stream = Terminal()
    with Progress(3e6, "antiquant convert", "MB", scale=1e6, stream=stream) as bar:
        bar.update(1.5e6)
    assert stream.getvalue().endswith("\r\x1b[Kantiquant convert  50% [" + "#" * 15 + "." * 15 + "] 1.5/3.0 MB 0 s\n")


def test_no_bar_off_a_terminal():
    stream = io.StringIO()
    with Progress(2, "antiquant sweep", "configurations", stream=stream) as bar:
        bar.update(2)
        bar.write("logged")
    assert stream.getvalue() == "logged\n"


def test_sweep_draws_a_bar_in_a_pseudo_terminal_only():
    """The command in a subprocess whose stderr is a pty: the bar reaches 100%; with a pipe, stderr is empty."""
    primary, secondary = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "antiquant", *SWEEP], stdout=subprocess.PIPE, stderr=secondary,
                              timeout=120)
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 1 << 16)
            except OSError:         # EIO: the pty's other end is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert proc.returncode == 0, seen
    text = seen.decode()
    assert "\x1b[Kantiquant sweep 100% [" + "#" * progress.BAR_WIDTH + "] 4/4 configurations" in text
    assert proc.stdout.decode().startswith("antiquant sweep: 64x64 int8 -> float16")
    piped = subprocess.run([sys.executable, "-m", "antiquant", *SWEEP], capture_output=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == b""


def test_bench_logs_above_its_bar(fake_suite, monkeypatch):
    from antiquant.bench import suite
    monkeypatch.setattr("sys.stderr", Terminal())
    assert main(["bench"]) == 0
    text = sys.stderr.getvalue()
    sections = len(suite.preset("quick").sections)
    assert "\r\x1b[Kdram: measuring\n" in text and f"100% [{'#' * progress.BAR_WIDTH}] {sections}/{sections} sections" \
        in text

