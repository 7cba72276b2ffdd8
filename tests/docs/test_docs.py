"""Every example in README.md and docs/*.md runs and prints what the page shows; links resolve.

What runs (one test per block, named ``page:line`` of its opening fence):

- ```python blocks: all of a page's, in document order, in one namespace (``__name__ == "__main__"``).
- ```console / ```sh blocks: every line starting with ``$ `` is a command (a line ending in ``\\`` continues
  it) run by bash, with this interpreter's environment first on PATH (its ``antiquant`` and ``python``).
  Blocks without a ``$ `` prompt are not run.
- A page's blocks share a scratch directory, their working directory. It holds a copy of the repository's
  ``docs/`` (so ``docs/...`` paths work, and nothing in the repository is written) and ``.venv``, a link to this environment, so ``.venv/bin/antiquant`` works as after ``make demo``.

What is checked:

- A python block's stdout against the ```text block that directly follows it (only blank lines between),
  if there is one. A command's stdout and stderr together against the lines after it, up to the next
  ``$ `` or the end of the block (no lines: no output). Trailing spaces and trailing blank lines do not count.
- In shown output, ``...`` matches any text within one line, and a line of only ``...`` matches any number of
  lines, none included: use them for timings and for long output that other changes touch.
- A command exits 0, unless its shown output contains ``error:``; then it must exit non-zero.
- ``<!-- doctest: skip (reason) -->`` on a line before a block (only blank lines between) skips that block;
  it is reported as skipped with the reason. Use it for what needs minutes, a network or a cluster.
- When a block fails, the page's later blocks are skipped (they would fail for the same reason).
- Relative links and images point at files that exist, ``#anchors`` at headings of the page they name, and
  README.md links every page of docs/.
- docs/performance.md's tables are what ``antiquant.bench.report`` makes of docs/bench-results.json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = ("console", "sh", "shell", "bash")
COMMAND_TIMEOUT_S = 600

FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
SKIP = re.compile(r"^\s*<!--\s*doctest:\s*skip\s*\((.+)\)\s*-->\s*$")
MARKER = re.compile(r"<!--\s*doctest\b")


@dataclasses.dataclass(frozen=True)
class Block:
    page: str            # path relative to the repository
    line: int            # 1-based line of the opening fence
    end: int             # line of the closing fence
    lang: str
    text: str
    skip: str | None = None
    expected: str | None = None   # python: the text block right after it

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def parse(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """A page's fenced blocks (skip markers and python outputs attached) and its lines outside blocks."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks, prose, skip, i = [], [], None, 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            marker = SKIP.match(lines[i])
            if marker:
                skip = (marker.group(1), i + 1)
            elif MARKER.search(lines[i]):
                raise ValueError(f"{page}:{i + 1}: unknown doctest marker; expected <!-- doctest: skip (reason) -->")
            elif lines[i].strip() and skip:
                raise ValueError(f"{page}:{skip[1]}: a doctest marker must come right before a fenced block")
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        close = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1)), None)
        if close is None:
            raise ValueError(f"{page}:{i + 1}: unclosed code fence")
        blocks.append(Block(page, i + 1, close + 1, fence.group(2).lower(), "\n".join(lines[i + 1:close]),
                            skip[0] if skip else None))
        skip, i = None, close + 1
    if skip:
        raise ValueError(f"{page}:{skip[1]}: a doctest marker must come right before a fenced block")
    return _attach_outputs(blocks, lines), prose


def _attach_outputs(blocks: list[Block], lines: list[str]) -> list[Block]:
    out = []
    for k, b in enumerate(blocks):
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        if (b.lang == "python" and nxt is not None and nxt.lang == "text"
                and not any(s.strip() for s in lines[b.end:nxt.line - 1])):
            b = dataclasses.replace(b, expected=nxt.text)
        out.append(b)
    return out


def runnable(b: Block) -> bool:
    return b.lang == "python" or (b.lang in SHELLS and any(s.startswith("$ ") for s in b.text.split("\n")))


def commands(text: str) -> list[tuple[str, str]]:
    """(command, shown output) for each ``$ `` prompt of a shell block."""
    found, lines = [], iter(text.split("\n"))
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + "\n" + next(lines, "")
            found.append([command, []])
        elif found:
            found[-1][1].append(line)
    return [(c, "\n".join(shown)) for c, shown in found]


def matches(expected: str, actual: str) -> bool:
    """``actual`` fits ``expected``, where ``...`` stands for any text in a line and a ``...`` line for any lines."""
    pattern = []
    for line in _lines(expected):
        if line == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*?".join(map(re.escape, line.split("..."))) + r"\n")
    text = "".join(f"{line}\n" for line in _lines(actual))
    return re.fullmatch("".join(pattern), text) is not None


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _diff(expected: str, actual: str) -> str:
    return "\n".join(difflib.unified_diff(_lines(expected), _lines(actual), "shown in the page", "printed",
                                          lineterm=""))


PARSED = {path.relative_to(ROOT).as_posix(): parse(path) for path in PAGES}
EXAMPLES = [b for blocks, _ in PARSED.values() for b in blocks if runnable(b)]


class PageRun:
    """One page's examples: their scratch directory, Python namespace and progress."""

    def __init__(self, page: str, directory: Path):
        self.page, self.dir = page, directory
        self.blocks = [b for b in EXAMPLES if b.page == page]
        self.namespace = {"__name__": "__main__"}
        self.done = 0
        self.failed: Block | None = None
        (directory / "docs").mkdir(parents=True)
        for data in (ROOT / "docs").iterdir():
            if data.is_file():
                shutil.copy(data, directory / "docs" / data.name)
        if sys.prefix != sys.base_prefix:
            (directory / ".venv").symlink_to(sys.prefix)
        self.env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
                        MPLBACKEND="Agg")

    def run(self, block: Block) -> None:
        """Run the page's blocks up to ``block`` (earlier ones first, if a selection left them out)."""
        for earlier in self.blocks[self.done:self.blocks.index(block) + 1]:
            if self.failed is not None:
                pytest.skip(f"an earlier example of this page failed ({self.failed.id})")
            self.done += 1
            if earlier.skip is not None:
                if earlier == block:
                    pytest.skip(f"{earlier.id}: {earlier.skip} (doctest: skip marker)")
                continue
            try:
                self._python(earlier) if earlier.lang == "python" else self._shell(earlier)
            except BaseException:
                self.failed = earlier
                raise

    def _python(self, b: Block) -> None:
        code = compile("\n" * b.line + b.text, str(ROOT / b.page), "exec")
        printed = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            with contextlib.redirect_stdout(printed):
                exec(code, self.namespace)
        finally:
            os.chdir(cwd)
        if b.expected is not None and not matches(b.expected, printed.getvalue()):
            pytest.fail(f"{b.id}: the output differs from the text block after it:\n"
                        f"{_diff(b.expected, printed.getvalue())}", pytrace=False)

    def _shell(self, b: Block) -> None:
        for command, shown in commands(b.text):
            done = subprocess.run(["bash", "-c", command], cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT_S)
            failing = "error:" in shown
            if (done.returncode != 0) != failing:
                pytest.fail(f"{b.id}: `{command}` exited {done.returncode}, expected "
                            f"{'a failure' if failing else '0'}; it printed:\n{done.stdout}", pytrace=False)
            if not matches(shown, done.stdout):
                pytest.fail(f"{b.id}: `{command}` printed other output:\n{_diff(shown, done.stdout)}",
                            pytrace=False)


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory):
    runs: dict[str, PageRun] = {}

    def get(page: str) -> PageRun:
        if page not in runs:
            runs[page] = PageRun(page, tmp_path_factory.mktemp(page.replace("/", "-")))
        return runs[page]

    return get


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in EXAMPLES])
def test_example(block, page_runs, platform_registry):
    """One block; profiles an example registers are gone after it (no later block relies on them)."""
    page_runs(block.page).run(block)


def test_the_shown_output_conventions():
    assert matches("a ... c\n...\nlast", "a b c\nx\ny\nlast\n\n")
    assert matches("...", "") and matches("", "\n") and not matches("", "something")
    assert not matches("a ... c", "a b\nc") and not matches("one", "one\ntwo")
    assert commands("$ a \\\n  b\nout\n$ c") == [("a \n  b", "out"), ("c", "")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: str) -> set[str]:
    return {slug(line.lstrip("#")) for _, line in PARSED[page][1] if re.match(r"#{1,6} ", line)}


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", list(PARSED))
def test_links_resolve(page):
    broken = []
    for number, line in PARSED[page][1]:
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (ROOT / page).parent / path if path else ROOT / page
            name = linked.resolve().relative_to(ROOT).as_posix() if linked.exists() else None
            if name is None:
                broken.append(f"{page}:{number}: {target}: no such file")
            elif anchor and name in PARSED and anchor not in anchors(name):
                broken.append(f"{page}:{number}: {target}: no heading #{anchor} in {name}")
    assert not broken, "\n".join(broken)


def test_readme_links_every_docs_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES[1:] if f"(docs/{p.name}" not in text]
    assert not missing, f"README.md does not link {', '.join(missing)}"


def test_performance_tables_are_generated_from_the_committed_results():
    from antiquant.bench import report

    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    results = json.loads((ROOT / "docs" / "bench-results.json").read_text(encoding="utf-8"))
    assert report.generated_page(page, results) == page, (
        "docs/performance.md's tables are not those of docs/bench-results.json; regenerate them with "
        "`python -m antiquant.bench.report docs/bench-results.json --update-docs docs/performance.md`")
    # The prose around the tables discusses one run and names its day: a new JSON makes you reread it.
    prose = page.split(report.BEGIN)[0] + page.split(report.END)[-1]
    assert results["started"][:10] in prose, (
        f"docs/performance.md's prose does not name the day of the committed run ({results['started'][:10]}); "
        "check its discussion against the new results")


def test_update_docs_rewrites_only_between_the_markers(tmp_path, capsys):
    from antiquant.bench import report

    results = ROOT / "docs" / "bench-results.json"
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\n{report.BEGIN} tables=ceiling level=4 -->\nstale\n{report.END}\n\nafter\n")
    assert report.main([str(results), "--update-docs", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Title\n\n<!-- bench-report:begin tables=ceiling level=4 -->\n\n- **Machine**")
    assert "#### Copy ceiling" in text and "stale" not in text and "Targets" not in text
    assert text.endswith(f"\n\n{report.END}\n\nafter\n")
    assert report.main([str(results), "--update-docs", str(page)]) == 0
    assert "already up to date" in capsys.readouterr().err and page.read_text() == text
    page.write_text(f"{report.BEGIN} tables=bogus -->\n{report.END}\n")
    assert report.main([str(results), "--update-docs", str(page)]) == 2
    page.write_text("no markers\n")
    assert report.main([str(results), "--update-docs", str(page)]) == 2
    assert "expected one <!-- bench-report:begin" in capsys.readouterr().err
