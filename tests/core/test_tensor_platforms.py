import dataclasses
import os
import shutil
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

from antiquant import AclTensor, DataType, platforms


@pytest.mark.parametrize("dtype,code", [(np.int8, DataType.INT8), (np.int32, DataType.INT32), (ml_dtypes.int4, DataType.INT4),
                                        (np.float32, DataType.FLOAT), (np.float16, DataType.FLOAT16),
                                        (ml_dtypes.bfloat16, DataType.BF16)])
def test_from_numpy_infers_dtype_and_is_a_view(dtype, code):
    a = np.zeros((3, 4), dtype)[:, ::2]
    t = AclTensor.from_numpy(a)
    assert t.dtype == code and t.shape == (3, 2) and t.array is a and not t.is_contiguous()


def test_from_numpy_rejects_unknown_and_mismatched():
    with pytest.raises(TypeError, match="no CANN DataType"):
        AclTensor.from_numpy(np.zeros(2, complex))
    with pytest.raises(TypeError, match="does not match"):
        AclTensor.from_numpy(np.zeros(2, np.float32), dtype=DataType.INT8)
    with pytest.raises(TypeError, match="numpy array"):
        AclTensor.from_numpy([1, 2])


def test_profiles():
    a2, b4, p310 = (platforms.get(n) for n in ("Ascend910B", "Ascend910B4", "Ascend310P"))
    assert (a2.vector_cores, b4.vector_cores, p310.vector_cores) == (48, 40, 8)
    assert a2.ub_bytes == 196_608 and p310.ub_bytes == 262_144
    assert a2.sys_workspace_bytes == 16 << 20
    assert p310.x_dtypes == (DataType.INT8,) and DataType.BF16 not in p310.y_dtypes
    for p in (a2, b4, p310):
        assert p.hbm_bytes_per_s > 0 and p.clock_hz > 0


def test_register_own_profile(platform_registry):
    mine = dataclasses.replace(platforms.get("Ascend910B"), name="Test-4core", vector_cores=4)
    platforms.register(mine, replace=True)
    assert platforms.get("Test-4core").vector_cores == 4
    with pytest.raises(ValueError, match="already registered"):
        platforms.register(mine)
    with pytest.raises(ValueError, match="vector_cores must be positive"):
        dataclasses.replace(mine, vector_cores=0)


def test_a_test_leaving_a_profile_registered_fails(tmp_path):
    """The guard in tests/conftest.py: a profile registered outside ``platform_registry`` fails its test."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copy(os.path.join(tests, "conftest.py"), tmp_path)
    (tmp_path / "test_leak.py").write_text(
        "import dataclasses\nfrom antiquant import platforms\n\n"
        "def _mine(name):\n    return dataclasses.replace(platforms.get('Ascend910B'), name=name)\n\n"
        "def test_leaks():\n    platforms.register(_mine('Leaked'))\n\n"
        "def test_cleans_up(platform_registry):\n    platform_registry.register(_mine('Kept-in'))\n\n"
        "def test_nothing_left():\n    assert 'Leaked' not in platforms.names() and 'Kept-in' not in platforms.names()\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "test_leak.py::test_leaks changed the platform registry (Leaked)" in run.stdout, run.stdout
    assert "3 passed, 1 error" in run.stdout, run.stdout
