"""The import paths the README has always shown still work, and planning imports neither Numba nor ml_dtypes."""

import json
import subprocess
import sys

import pytest

OLD_PATHS = ["antiquant.torch", "antiquant.dask", "antiquant.tiling", "antiquant.platforms", "antiquant.sim",
             "antiquant.reference", "antiquant.convert"]
# Where each old path lives now.
HOMES = {"antiquant.torch": "antiquant.integrations.torch", "antiquant.dask": "antiquant.integrations.dask",
         "antiquant.platforms": "antiquant.core.platforms", "antiquant.reference": "antiquant.core.reference"}


def _fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", OLD_PATHS)
def test_old_import_paths_are_the_modules_that_moved(path):
    import importlib
    module = importlib.import_module(path)
    assert module.__name__ == HOMES.get(path, path)
    assert importlib.import_module(HOMES.get(path, path)) is module  # one module object: its state is shared


def test_every_public_name_resolves():
    import antiquant
    for name in antiquant.__all__:
        assert getattr(antiquant, name) is not None, name
    assert set(antiquant.__all__) <= set(dir(antiquant))


def test_planning_loads_neither_numba_nor_ml_dtypes():
    """``import antiquant.tiling`` (and planning a call) stays light: Numba and ml_dtypes cost most of a
    second to import and only the kernels and the dtypes of real arrays need them."""
    seen = _fresh("import json, sys, antiquant.tiling as t, antiquant.sim\n"
                  "t.plan((64, 1024), x_dtype='int8', scale_size=1024, scale_dtype='float32', has_offset=True,"
                  " dst_type='bfloat16', sqrt_mode=False)\n"
                  "print(json.dumps({m: m in sys.modules for m in ('numba', 'ml_dtypes', 'llvmlite')}))")
    assert seen == {"numba": False, "ml_dtypes": False, "llvmlite": False}


def test_the_operator_loads_its_kernels_on_first_use():
    seen = _fresh("import json, sys, antiquant\n"
                  "before = 'numba' in sys.modules\n"
                  "import numpy as np\n"
                  "y = antiquant.ascend_anti_quant(np.ones((2, 8), np.int8), np.full(8, 0.5, np.float32))\n"
                  "print(json.dumps({'before': before, 'after': 'numba' in sys.modules, 'y': float(y[0, 0])}))")
    assert seen == {"before": False, "after": True, "y": 0.5}
