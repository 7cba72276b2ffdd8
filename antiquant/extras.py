"""How to install one of antiquant's optional extras: antiquant is not on a package index, so the hint is an
editable install of the checkout this package runs from (pyproject.toml beside the package)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["install_hint"]

CHECKOUT = Path(__file__).resolve().parents[1]     # the repository when installed editable, as `make` does


def install_hint(extra: str) -> str:
    """``pip install -e '.[extra]'``, naming the checkout by its path when the working directory is elsewhere."""
    if not (CHECKOUT / "pyproject.toml").is_file():
        return f"pip install -e '.[{extra}]' in an antiquant checkout"
    try:
        here = Path.cwd().resolve() == CHECKOUT
    except OSError:     # the working directory was removed
        here = False
    return f"pip install -e '{'.' if here else CHECKOUT}[{extra}]'"
