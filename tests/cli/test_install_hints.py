"""Install hints that work from a checkout: ``pip install -e '.[extra]'`` of an extra pyproject.toml defines."""

import re
import tomllib
from pathlib import Path

from antiquant import extras
from antiquant.extras import install_hint

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("antiquant", "kernels", "bench") for p in (ROOT / folder).rglob("*.py")]


def test_the_hint_in_the_checkout_is_an_editable_install_of_it(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert install_hint("convert") == "pip install -e '.[convert]'"


def test_the_hint_elsewhere_names_the_checkout(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert install_hint("dask") == f"pip install -e '{extras.CHECKOUT}[dask]'"


def test_the_hint_outside_a_checkout_says_where_to_run_it(monkeypatch, tmp_path):
    monkeypatch.setattr(extras, "CHECKOUT", tmp_path)
    assert install_hint("plot") == "pip install -e '.[plot]' in an antiquant checkout"


def test_every_hint_names_an_extra_of_pyproject():
    defined = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = {m for p in SOURCES for m in re.findall(r"install_hint\(['\"](\w+)['\"]\)", p.read_text())}
    assert named and named <= set(defined), named - set(defined)


def test_no_message_restates_an_install_command_of_an_extra():
    """`pip install 'antiquant[...]'` does not work (antiquant is not on a package index); the helper's does."""
    allowed = (ROOT / "antiquant/extras.py",)       # the helper itself
    stale = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES if p not in allowed
             for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"pip install .*\[", line)]
    assert stale == []

