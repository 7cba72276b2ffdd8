"""The wheel as a user gets it: built from the checkout, installed into a fresh venv, run outside the checkout.

``kernels/`` and ``bench/`` sit at the top of the repository but must install as ``antiquant.kernels`` and
``antiquant.bench`` ("kernels" and "bench" are other projects' names on PyPI), and an installed antiquant must
not lean on the checkout. Needs setuptools in this venv (the build runs without isolation, offline) and the
``venv`` module; takes 10-30 s (a build, a venv, Numba compiling one kernel in the fresh install).
The fresh venv gets numpy, numba and ml_dtypes from this venv's site-packages through a ``.pth`` line:
directories a ``.pth`` file adds are not scanned for ``.pth`` files themselves, so this venv's editable
install of antiquant stays inactive there.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("setuptools", reason="the wheel is built without build isolation, by this venv's setuptools")

REPO = Path(__file__).resolve().parents[2]
# what a build of the checkout must not see: environments, caches and earlier builds
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
                                    ".pytest_cache", ".benchmarks", "*.nbi", "*.nbc")

RUN_OPERATOR = """
import numpy as np, antiquant
from antiquant import ascend_anti_quant, reference
x = np.arange(-64, 64, dtype=np.int8).reshape(8, 16)
scale = np.linspace(0.01, 0.5, 16, dtype=np.float32)
y = ascend_anti_quant(x, scale, dst_type="bfloat16")
assert reference.same_bits(y, reference.anti_quant(x, scale, dst_type=27)), "differs from the reference"
print(antiquant.__file__)
"""


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert run.returncode == 0, f"{args} failed:\n{run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout (a build writes build/ and *.egg-info into its source)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(tmp / "dist"), str(source)])
    (built,) = (tmp / "dist").glob("antiquant-*.whl")
    return built


def test_kernels_and_bench_are_packed_inside_antiquant(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"kernels", "bench", "tests"}, sorted(tops)
    assert {"antiquant/kernels/__init__.py", "antiquant/bench/__init__.py", "antiquant/core/reference.py"} <= set(names)


def test_the_installed_wheel_runs_without_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)])
    fresh = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                 .stdout.strip())
    (fresh / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}

    where = Path(_run([str(python), "-c", RUN_OPERATOR], cwd=outside, env=env).stdout.strip().splitlines()[-1])
    assert where.is_relative_to(fresh), f"antiquant was imported from {where}, not from the fresh venv"
    for name in ("kernels", "bench"):
        run = subprocess.run([str(python), "-c", f"import {name}"], cwd=outside, env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode != 0 and f"No module named '{name}'" in run.stderr, (name, run.stdout, run.stderr)
